#!/usr/bin/python3
"""synack_lost: helpers of test_synack_lost.sh (SYN-ACKs answered by ICMP
errors). Subcommands:

  spoof   (scapy, in the client namespace) sends bare SYNs SRC,DST,DPORT
          from spoofed sources as Ethernet frames on --iface to --gw-mac,
          source ports from --sport-base, then answers the first SYN-ACK
          of each attempt whose destination is inside a --forge CIDR with
          an ICMP host unreachable (IPv4 3/1) or ICMPv6 administratively
          prohibited (1/1) from --src4 / --src6, quoting the SYN-ACK as
          received but with sequence number ISN + --offset. One JSON line
          per SYN and per error; exits 0 once every such attempt had its
          error, 1 if --listen seconds passed first.
  pcap    the ground truth of a capture (tshark): TCP segments (not the
          headers ICMP errors quote), SYNs, their retransmissions (a known
          ISN again), SYN-ACKs, theirs, ICMP errors quoting TCP; per group
          NAME=CIDR[@PORT] (the client's address, the server's port):
          attempts (distinct SYN ISNs), SYNs, SYN-ACKs, distinct SYN-ACK
          ISNs, errors, errors quoting a SYN-ACK's ISN / its ISN + --offset,
          the errors' type/code set, attempts whose third ACK acknowledged
          their last SYN-ACK (completed). One "KEY VALUE" line each
          (tcp_packets, drop4.icmp, ...); --flows FILE writes each
          attempt's 4-tuple, group and errors as JSON.
  events  the --events file's "outcome":"unreachable" events against the
          flows of GROUP... (pcap --flows): one event per attempt of the
          groups, none other, icmp_type/icmp_code = the attempt's error.
"""

import argparse
import ipaddress
import json
import os
import sys
import time

from analyze import F_ACK, F_RST, F_SYN, norm
from icmp_capture import Error, Groups, records


# ---- spoof ----------------------------------------------------------------------


def cmd_spoof(a):
    from scapy.layers.inet import ICMP, IP, TCP
    from scapy.layers.inet6 import ICMPv6DestUnreach, IPv6
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    from icmp_reply import incoming_frames, packet_socket, quote

    if len(a.syn) > 64 or not 0 < a.listen <= 30:
        sys.exit("synack_lost spoof: at most 64 SYNs, --listen up to 30 s")
    forge = [ipaddress.ip_network(c) for c in a.forge]
    sock = packet_socket(a.iface, 0.1)
    own_mac = open("/sys/class/net/%s/address" % a.iface).read().strip()
    pending = {}     # (client, sport, server, dport) of the attempts to forge an error for
    for i, spec in enumerate(a.syn):
        src, dst, dport = spec.split(",")
        src, dst, sport, dport = norm(src), norm(dst), a.sport_base + i, int(dport)
        isn = int.from_bytes(os.urandom(4), "big")
        l3 = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
        frame = Ether(src=own_mac, dst=a.gw_mac) / l3 / TCP(sport=sport, dport=dport, flags="S", seq=isn,
                                                               window=64240, options=[("MSS", 1400)])
        sock.send(bytes(frame))
        if any(ipaddress.ip_address(src) in n for n in forge):
            pending[(src, sport, dst, dport)] = True
        print(json.dumps({"kind": "syn", "src": src, "sport": sport, "dst": dst, "dport": dport, "isn": isn}),
              flush=True)
        time.sleep(a.gap)
    for frame in incoming_frames(sock, time.monotonic() + a.listen):
        if not pending:
            break
        ip = frame.getlayer(IP) or frame.getlayer(IPv6)
        if ip is None or TCP not in ip or int(ip[TCP].flags) & (F_SYN | F_ACK) != F_SYN | F_ACK:
            continue
        tcp = ip[TCP]
        key = (norm(ip.dst), tcp.dport, norm(ip.src), tcp.sport)
        if not pending.pop(key, None):
            continue
        q = quote(ip, tcp.seq + a.offset)
        eth = Ether(src=own_mac, dst=frame.src)
        if ip.version == 4:
            err = eth / IP(src=a.src4, dst=ip.src) / ICMP(type=3, code=1) / Raw(q)
            tc = (3, 1)
        else:
            err = eth / IPv6(src=a.src6, dst=ip.src) / ICMPv6DestUnreach(code=1) / Raw(q)
            tc = (1, 1)
        sock.send(bytes(err))
        print(json.dumps({"kind": "forged", "src": key[0], "sport": key[1], "dst": key[2], "dport": key[3],
                          "isn": tcp.seq, "quoted_seq": (tcp.seq + a.offset) & 0xFFFFFFFF,
                          "icmp_type": tc[0], "icmp_code": tc[1]}), flush=True)
    for k in pending:
        print("synack_lost spoof: no SYN-ACK for %s:%d -> %s:%d within %g s" % (k + (a.listen,)),
              file=sys.stderr)
    return 1 if pending else 0


# ---- pcap -----------------------------------------------------------------------

def cmd_pcap(a):
    groups = Groups(a.group)
    s = {"tcp_packets": 0, "syn": 0, "syn_retrans": 0, "synack": 0, "synack_retrans": 0, "icmp_errors": 0}
    codes = {n: set() for n in groups.names()}
    for n in groups.names():
        for k in ("attempts", "syn", "synack", "synack_isns", "icmp", "icmp_isn", "icmp_off", "completed"):
            s[n + "." + k] = 0
    flows = {}   # (client, cport, server, sport) -> dict

    def flow(key):
        f = flows.get(key)
        if f is None:
            f = flows[key] = {"group": groups.match(key[0], key[3]), "src": key[0], "sport": key[1],
                              "dst": key[2], "dport": key[3], "isn": None, "synack_isns": [], "errors": [],
                              "completed": False}
        return f

    def bump(f, k):
        if f["group"]:
            s[f["group"] + "." + k] += 1

    for r in records(a.file):
        if isinstance(r, Error):
            # The quote: the server's SYN-ACK, sent from q.src to q.dst.
            q = r.quote
            s["icmp_errors"] += 1
            f = flow((q.dst, q.dport, q.src, q.sport))
            bump(f, "icmp")
            if f["group"]:
                codes[f["group"]].add("%d/%d" % (r.type, r.code))
            if q.seq in f["synack_isns"]:
                bump(f, "icmp_isn")
            elif (q.seq - a.offset) % 2**32 in f["synack_isns"]:
                bump(f, "icmp_off")
            f["errors"].append({"type": r.type, "code": r.code, "quoted_seq": q.seq})
            continue
        s["tcp_packets"] += 1
        if r.flags & (F_SYN | F_ACK) == F_SYN | F_ACK:
            s["synack"] += 1
            f = flow((r.dst, r.dport, r.src, r.sport))
            bump(f, "synack")
            if r.seq in f["synack_isns"]:
                s["synack_retrans"] += 1
            else:
                f["synack_isns"].append(r.seq)
                bump(f, "synack_isns")
            continue
        if r.flags & (F_SYN | F_ACK) == F_SYN:
            s["syn"] += 1
            f = flow((r.src, r.sport, r.dst, r.dport))
            bump(f, "syn")
            if f["isn"] == r.seq:
                s["syn_retrans"] += 1
            else:
                f["isn"] = r.seq
                bump(f, "attempts")
            continue
        key = (r.src, r.sport, r.dst, r.dport)
        if r.flags & F_ACK and not r.flags & F_RST and key in flows and not flows[key]["completed"]:
            f = flows[key]
            if f["synack_isns"] and r.ack == (f["synack_isns"][-1] + 1) % 2**32:
                f["completed"] = True
                bump(f, "completed")
    for n in groups.names():
        s[n + ".codes"] = ",".join(sorted(codes[n])) or "none"
    for k in sorted(s):
        print(k, s[k])
    if a.flows:
        with open(a.flows, "w") as fh:
            json.dump([f for f in flows.values() if f["group"]], fh)
    return 0


# ---- events ---------------------------------------------------------------------


def cmd_events(a):
    flows = [f for f in json.load(open(a.flows)) if f["group"] in a.groups]
    want = {(f["src"], f["sport"], f["dst"], f["dport"]): f for f in flows}
    got = {}
    bad = []
    for e in map(json.loads, filter(str.strip, open(a.events))):
        if e.get("outcome") != "unreachable":
            continue
        k = (norm(e["src"]), e["sport"], norm(e["dst"]), e["dport"])
        if k in got:
            bad.append("  a second event for %s" % (k,))
        got[k] = e
    for k, e in got.items():
        f = want.get(k)
        if f is None:
            bad.append("  an event for %s, not an attempt of %s" % (k, " ".join(a.groups)))
        elif not f["errors"]:
            bad.append("  %s: the capture has no error for it" % (k,))
        elif (e["icmp_type"], e["icmp_code"]) not in {(x["type"], x["code"]) for x in f["errors"]}:
            bad.append("  %s: icmp %s/%s, the capture has %s" % (
                k, e["icmp_type"], e["icmp_code"], sorted({"%d/%d" % (x["type"], x["code"]) for x in f["errors"]})))
    for k in want:
        if k not in got:
            bad.append("  no event for the attempt %s" % (k,))
    print("%d unreachable events, %d attempts of %s" % (len(got), len(want), " ".join(a.groups)))
    for b in bad[:20]:
        print(b)
    return 1 if bad or not want else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("spoof")
    sp.add_argument("syn", nargs="+", metavar="SRC,DST,DPORT")
    sp.add_argument("--iface", required=True)
    sp.add_argument("--gw-mac", required=True)
    sp.add_argument("--src4", required=True)
    sp.add_argument("--src6", required=True)
    sp.add_argument("--forge", action="append", default=[], metavar="CIDR")
    sp.add_argument("--offset", type=int, default=1000)
    sp.add_argument("--sport-base", type=int, default=40000)
    sp.add_argument("--gap", type=float, default=0.002)
    sp.add_argument("--listen", type=float, default=5)
    pc = sub.add_parser("pcap")
    pc.add_argument("file")
    pc.add_argument("group", nargs="*", metavar="NAME=CIDR[@PORT]")
    pc.add_argument("--offset", type=int, default=1000)
    pc.add_argument("--flows")
    ev = sub.add_parser("events")
    ev.add_argument("events")
    ev.add_argument("flows")
    ev.add_argument("groups", nargs="+")
    a = p.parse_args()
    return {"spoof": cmd_spoof, "pcap": cmd_pcap, "events": cmd_events}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
