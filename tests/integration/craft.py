#!/usr/bin/python3
"""craft: hand-built TCP segments on both ends of the test veth pair (scapy).

Run inside the client namespace; the process enters the server namespace
itself (setns) for the server end, so one process sends both directions in
a known order:

    ip netns exec NS_C /usr/bin/python3 craft.py --server-ns NS_S SCENARIO ...

Frames are written with AF_PACKET sockets: the client's go in through the
server veth's ingress hook (XDP or tc), the server's leave through its tc
egress hook. Addresses are unowned (a spoofed client range and a black-hole
server address), so neither kernel answers: only the monitor sees them.

Scenarios (each for --count flows, source ports from --sport-base):
  invalid-synack   SYN, then a SYN-ACK whose ack is not ISN+1
  invalid-ack      SYN, valid SYN-ACK, then a third ACK whose ack is not ISN+1
  syn-only         SYN, never answered
  reset-orig-early SYN, then a RST from the originator (before any SYN-ACK)
  reset-orig       SYN, SYN-ACK, then a RST from the originator
  reset-resp       SYN, SYN-ACK, then a RST from the responder
  handshake        SYN, SYN-ACK, ACK, data both ways, FIN/ACK from the client,
                   FIN/ACK from the server: one complete graceful connection
  simultaneous     SYN crosses SYN, SYN-ACK crosses SYN-ACK (simultaneous
                   open), then FIN crosses FIN (simultaneous close)
Options: --vlan ID (802.1Q tag in every frame), --qinq OUTER (802.1ad outer
tag as well), --family 6 (IPv6), --v6-ext (an IPv6 destination-options
extension header in every segment).
"""

import argparse
import ctypes
import os
import socket
import sys
import time

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether

CLONE_NEWNET = 0x40000000
GAP = 0.02   # between frames: the two directions take different paths


def enter_netns(name):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/%s" % name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns(%s): %s" % (name, os.strerror(err)))
    finally:
        os.close(fd)


class End:
    """One end of the veth pair: an AF_PACKET socket and its MAC address."""

    def __init__(self, ifname):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        self.sock.bind((ifname, 0))
        self.mac = ":".join("%02x" % b for b in self.sock.getsockname()[4][:6])
        self.peer_mac = None
        self.ip = None
        self.port = None
        self.isn = 0
        self.nxt = 0       # next sequence number to send


class Crafter:
    def __init__(self, a, client, server):
        self.a = a
        self.c = client
        self.s = server
        self.sent = 0

    def frame(self, src, dst, flags, seq, ack, payload=b""):
        a = self.a
        eth = Ether(src=src.mac, dst=src.peer_mac)
        if a.qinq:
            eth = eth / Dot1AD(vlan=a.qinq) / Dot1Q(vlan=a.vlan or 1)
        elif a.vlan:
            eth = eth / Dot1Q(vlan=a.vlan)
        if a.family == 6:
            ip = IPv6(src=src.ip, dst=dst.ip)
            if a.v6_ext:
                ip = ip / IPv6ExtHdrDestOpt()
        else:
            ip = IP(src=src.ip, dst=dst.ip)
        tcp = TCP(sport=src.port, dport=dst.port, flags=flags, seq=seq & 0xFFFFFFFF,
                  ack=ack & 0xFFFFFFFF, window=65535)
        return eth / ip / tcp / payload if payload else eth / ip / tcp

    def send(self, src, dst, flags, seq, ack, payload=b""):
        src.sock.send(bytes(self.frame(src, dst, flags, seq, ack, payload)))
        self.sent += 1
        time.sleep(GAP)

    # ---- scenarios ----

    def flow(self, i):
        c, s = self.c, self.s
        c.port = self.a.sport_base + i
        s.port = self.a.dport
        c.isn = 1000000 + 7919 * i
        s.isn = 3000000000 + 104729 * i     # wraps past 2^32 for large i: fine
        return c, s

    def invalid_synack(self, i):
        c, s = self.flow(i)
        self.send(c, s, "S", c.isn, 0)
        self.send(s, c, "SA", s.isn, c.isn + 1 + 1000)        # ack is not ISN+1

    def invalid_ack(self, i):
        c, s = self.flow(i)
        self.send(c, s, "S", c.isn, 0)
        self.send(s, c, "SA", s.isn, c.isn + 1)
        self.send(c, s, "A", c.isn + 1, s.isn + 1 + 1000)     # ack is not ISN+1

    def syn_only(self, i):
        c, s = self.flow(i)
        self.send(c, s, "S", c.isn, 0)

    def reset_orig_early(self, i):
        c, s = self.flow(i)
        self.send(c, s, "S", c.isn, 0)
        self.send(c, s, "R", c.isn + 1, 0)

    def reset_orig(self, i):
        c, s = self.flow(i)
        self.send(c, s, "S", c.isn, 0)
        self.send(s, c, "SA", s.isn, c.isn + 1)
        self.send(c, s, "R", c.isn + 1, 0)

    def reset_resp(self, i):
        c, s = self.flow(i)
        self.send(c, s, "S", c.isn, 0)
        self.send(s, c, "SA", s.isn, c.isn + 1)
        self.send(s, c, "R", s.isn + 1, 0)

    def handshake(self, i):
        c, s = self.flow(i)
        self.send(c, s, "S", c.isn, 0)
        self.send(s, c, "SA", s.isn, c.isn + 1)
        self.send(c, s, "A", c.isn + 1, s.isn + 1)
        self.send(c, s, "PA", c.isn + 1, s.isn + 1, b"hello")
        self.send(s, c, "PA", s.isn + 1, c.isn + 6, b"world!")
        self.send(c, s, "FA", c.isn + 6, s.isn + 7)
        self.send(s, c, "A", s.isn + 7, c.isn + 7)
        self.send(s, c, "FA", s.isn + 7, c.isn + 7)
        self.send(c, s, "A", c.isn + 7, s.isn + 8)

    def simultaneous(self, i):
        c, s = self.flow(i)
        self.send(c, s, "S", c.isn, 0)
        self.send(s, c, "S", s.isn, 0)
        self.send(c, s, "SA", c.isn, s.isn + 1)
        self.send(s, c, "SA", s.isn, c.isn + 1)
        # FIN crosses FIN: neither acknowledges the other's FIN.
        self.send(c, s, "FA", c.isn + 1, s.isn + 1)
        self.send(s, c, "FA", s.isn + 1, c.isn + 1)
        self.send(c, s, "A", c.isn + 2, s.isn + 2)
        self.send(s, c, "A", s.isn + 2, c.isn + 2)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", choices=["invalid-synack", "invalid-ack", "syn-only", "handshake",
                                        "simultaneous", "reset-orig-early", "reset-orig",
                                        "reset-resp"])
    p.add_argument("--server-ns", required=True)
    p.add_argument("--client-if", default="vc")
    p.add_argument("--server-if", default="vs")
    p.add_argument("--client-ip", help="default 10.77.99.20 / fd77:99::20 (unowned)")
    p.add_argument("--server-ip", help="default 10.77.98.1 / fd77:98::1 (black hole)")
    p.add_argument("--family", type=int, choices=[4, 6], default=4)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--sport-base", type=int, default=30000)
    p.add_argument("--dport", type=int, default=8080)
    p.add_argument("--vlan", type=int, default=0)
    p.add_argument("--qinq", type=int, default=0)
    p.add_argument("--v6-ext", action="store_true")
    a = p.parse_args()
    if not 0 < a.count <= 1000:
        p.error("--count must be 1..1000")

    client = End(a.client_if)            # in the client namespace (we start there)
    enter_netns(a.server_ns)
    server = End(a.server_if)
    client.peer_mac, server.peer_mac = server.mac, client.mac
    if a.family == 6:
        client.ip = a.client_ip or "fd77:99::20"
        server.ip = a.server_ip or "fd77:98::1"
    else:
        client.ip = a.client_ip or "10.77.99.20"
        server.ip = a.server_ip or "10.77.98.1"

    cr = Crafter(a, client, server)
    step = getattr(cr, a.scenario.replace("-", "_"))
    deadline = time.monotonic() + 60
    for i in range(a.count):
        if time.monotonic() > deadline:
            print("craft: out of time after %d flows" % i, file=sys.stderr)
            return 1
        step(i)
    print("sent %d frames" % cr.sent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
