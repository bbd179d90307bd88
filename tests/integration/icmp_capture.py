#!/usr/bin/python3
"""icmp_capture: a capture's TCP segments and the ICMP errors that quote
TCP, read with tshark, for the ICMP tests (test_unreachable.sh,
test_synack_lost.sh through synack_lost.py).

  records(PCAP)  Segment and Error records in the capture's order: TCP
                 segments (not the headers errors quote), and ICMP / ICMPv6
                 errors (destination unreachable, time exceeded, parameter
                 problem) quoting a TCP header
  Groups         NAME=CIDR[@PORT] specifications, matched by address, port

As a command, `syn-errors PCAP NAME=CIDR[@PORT]...` prints the summary
test_unreachable.sh checks, errors about SYNs grouped by destination: TCP
segments, SYNs, their retransmissions (a known ISN again), SYN-ACKs, ICMP
errors; per group attempts (distinct ISNs), SYNs, errors, errors quoting
the ISN of a SYN seen before them, and the errors' type/code set. One
"KEY VALUE" line each: tcp_packets, neigh4.icmp, ...
"""

import ipaddress
import subprocess
import sys
from typing import NamedTuple

from analyze import F_ACK, F_SYN, norm

# tcp.seq without relative numbers: tcp.seq_raw is empty in ICMPv4 quotes.
FIELDS = ["ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport",
          "tcp.flags", "tcp.seq", "tcp.ack", "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code"]


class Segment(NamedTuple):
    src: str
    sport: int
    dst: str
    dport: int
    flags: int
    seq: int
    ack: int


class Error(NamedTuple):
    type: int
    code: int
    quote: Segment      # the quoted header: its sender, receiver and seq (flags and ack 0)


def first_int(v):
    return int(v.split(",")[0])


def records(pcap):
    cmd = ["tshark", "-n", "-r", pcap, "-o", "tcp.relative_sequence_numbers:FALSE", "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        src = [norm(x) for x in (v["ip.src"] or v["ipv6.src"]).split(",") if x]
        dst = [norm(x) for x in (v["ip.dst"] or v["ipv6.dst"]).split(",") if x]
        itype = v["icmp.type"] or v["icmpv6.type"]
        if itype:
            t, c = first_int(itype), first_int(v["icmp.code"] or v["icmpv6.code"])
            if t not in ((1, 3, 4) if v["icmpv6.type"] else (3, 11, 12)) or not v["tcp.srcport"]:
                continue       # neighbour discovery, MLD, an error about something else
            # The quote's header is the innermost: the last addresses.
            yield Error(t, c, Segment(src[-1], first_int(v["tcp.srcport"]), dst[-1],
                                      first_int(v["tcp.dstport"]), 0, first_int(v["tcp.seq"]), 0))
            continue
        if not v["tcp.flags"] or not src:
            continue
        yield Segment(src[0], int(v["tcp.srcport"]), dst[0], int(v["tcp.dstport"]),
                      int(v["tcp.flags"], 16), int(v["tcp.seq"]), int(v["tcp.ack"] or 0))


class Groups:
    """NAME=CIDR[@PORT] specifications, in order: the first that holds an
    address (and the port, when it names one) is its group."""

    def __init__(self, specs):
        self.groups = []
        for g in specs:
            name, cidr = g.split("=", 1)
            net, _, port = cidr.partition("@")
            self.groups.append((name, ipaddress.ip_network(net), int(port) if port else None))

    def names(self):
        return [n for n, _, _ in self.groups]

    def match(self, addr, port):
        a = ipaddress.ip_address(addr)
        for n, net, p in self.groups:
            if a.version == net.version and a in net and p in (None, port):
                return n
        return None


def syn_errors(pcap, specs):
    groups = Groups(specs)
    s = {"tcp_packets": 0, "syn": 0, "syn_retrans": 0, "synack": 0, "icmp_errors": 0}
    codes = {n: set() for n in groups.names()}
    for n in groups.names():
        for k in ("attempts", "syn", "icmp", "icmp_isn"):
            s[n + "." + k] = 0

    def bump(n, k):
        if n:
            s[n + "." + k] += 1

    isn = {}
    for r in records(pcap):
        if isinstance(r, Error):
            q = r.quote
            s["icmp_errors"] += 1
            n = groups.match(q.dst, q.dport)
            bump(n, "icmp")
            if n:
                codes[n].add("%d/%d" % (r.type, r.code))
            if isn.get((q.src, q.sport, q.dst, q.dport)) == q.seq:
                bump(n, "icmp_isn")
            continue
        s["tcp_packets"] += 1
        if r.flags & (F_SYN | F_ACK) == F_SYN | F_ACK:
            s["synack"] += 1
        if r.flags & (F_SYN | F_ACK) != F_SYN:
            continue
        s["syn"] += 1
        key = (r.src, r.sport, r.dst, r.dport)
        n = groups.match(r.dst, r.dport)
        bump(n, "syn")
        if isn.get(key) == r.seq:
            s["syn_retrans"] += 1
        else:
            isn[key] = r.seq
            bump(n, "attempts")
    for n in groups.names():
        s[n + ".codes"] = ",".join(sorted(codes[n])) or "none"
    for k in sorted(s):
        print(k, s[k])
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "syn-errors":
        sys.exit("usage: icmp_capture.py syn-errors PCAP NAME=CIDR[@PORT]...")
    sys.exit(syn_errors(sys.argv[2], sys.argv[3:]))
