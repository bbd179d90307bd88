#!/usr/bin/python3
"""icmp_reply: answer connection attempts seen on an interface with forged
ICMP port-unreachable errors quoting their SYNs (scapy frames).

Run in the server namespace on the monitored veth:

    ip netns exec NS_S icmp_reply.py --iface vs --src4 10.77.0.2 --src6 fd77::2 \\
        --ready FILE RULE...

RULE is DST,DPORT,OFFSET,WHEN: the first SYN arriving for DST:DPORT is
answered once, to its sender, by an ICMP (IPv4 type 3 code 3) or ICMPv6
(type 1 code 4) port unreachable from --src4 / --src6, quoting the whole SYN
as received but with sequence number ISN + OFFSET (the quoted TCP checksum
recomputed, the quoted IP header untouched). WHEN is "syn" (answer at once)
or "ack" (answer once the client's third ACK, seq ISN + 1, has come: the
attempt is over by then). Prints one JSON line per error sent; exits 0 once
every rule has fired, 1 if --timeout came first.
"""

import argparse
import ipaddress
import json
import socket
import sys
import time

from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.inet6 import ICMPv6DestUnreach, IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
F_SYN, F_ACK = 0x02, 0x10


class Rule:
    def __init__(self, text):
        dst, dport, offset, when = text.split(",")
        self.dst = str(ipaddress.ip_address(dst))
        self.dport = int(dport)
        self.offset = int(offset)
        if when not in ("syn", "ack"):
            raise ValueError("WHEN must be syn or ack: %r" % text)
        self.when = when
        self.syn = None      # (frame, ip layer, client port, isn) of the first SYN
        self.done = False


def packet_socket(iface, timeout):
    """A raw socket of every frame on iface, receives timing out after timeout s."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((iface, 0))
    sock.settimeout(timeout)
    return sock


def incoming_frames(sock, deadline):
    """The Ethernet frames sock receives (not those this host sends) until
    the time.monotonic() deadline."""
    while time.monotonic() < deadline:
        try:
            data, addr = sock.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] != PACKET_OUTGOING:
            yield Ether(data)


def quote(ip, seq):
    """The received IP packet ip as an error quotes it, its TCP sequence number seq."""
    q = ip.copy()
    q[TCP].seq = seq & 0xFFFFFFFF
    del q[TCP].chksum
    return bytes(q)


def answer(sock, a, rule):
    frame, ip, _, isn = rule.syn
    body = quote(ip, isn + rule.offset)
    eth = Ether(src=frame.dst, dst=frame.src)
    if ip.version == 4:
        err = eth / IP(src=a.src4, dst=ip.src) / ICMP(type=3, code=3) / Raw(body)
    else:
        err = eth / IPv6(src=a.src6, dst=ip.src) / ICMPv6DestUnreach(code=4) / Raw(body)
    sock.send(bytes(err))
    rule.done = True
    print(json.dumps({"dst": rule.dst, "dport": rule.dport, "src": str(ipaddress.ip_address(ip.src)),
                      "sport": rule.syn[2], "isn": isn, "quoted_seq": (isn + rule.offset) & 0xFFFFFFFF,
                      "when": rule.when}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("rules", nargs="+", type=Rule, metavar="RULE")
    p.add_argument("--iface", required=True)
    p.add_argument("--src4", required=True)
    p.add_argument("--src6", required=True)
    p.add_argument("--ready", help="file to create once capturing")
    p.add_argument("--timeout", type=float, default=20)
    a = p.parse_args()
    if len(a.rules) > 16 or not 0 < a.timeout <= 60:
        p.error("at most 16 rules, --timeout up to 60 s")

    sock = packet_socket(a.iface, 0.2)
    if a.ready:
        open(a.ready, "w").close()
    for frame in incoming_frames(sock, time.monotonic() + a.timeout):
        if all(r.done for r in a.rules):
            break
        ip = frame.getlayer(IP) or frame.getlayer(IPv6)
        if ip is None or (ip.proto if ip.version == 4 else ip.nh) != socket.IPPROTO_TCP:
            continue
        tcp = ip[TCP]
        dst = str(ipaddress.ip_address(ip.dst))
        flags = int(tcp.flags)
        for r in a.rules:
            if r.done or r.dst != dst or r.dport != tcp.dport:
                continue
            if r.syn is None and flags & (F_SYN | F_ACK) == F_SYN:
                r.syn = (frame, ip, tcp.sport, tcp.seq)
                if r.when == "syn":
                    answer(sock, a, r)
            elif (r.syn is not None and r.when == "ack" and tcp.sport == r.syn[2]
                  and flags & (F_SYN | F_ACK) == F_ACK and tcp.seq == (r.syn[3] + 1) & 0xFFFFFFFF):
                answer(sock, a, r)
    missing = [r for r in a.rules if not r.done]
    for r in missing:
        print("icmp_reply: no %s for %s:%d within %g s" % ("SYN" if r.syn is None else "third ACK",
                                                          r.dst, r.dport, a.timeout), file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
