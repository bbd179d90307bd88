#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_capture into tests/fuzz/corpus/capture/:
every link type and file format --read takes, from one small Ethernet pcap
of complete connections (tests/bench/gencap.c FILE 24 2):

    seeds_capture.py SMALL.pcap [OUTDIR]
"""
import os
import struct
import sys


def records(path):
    d = open(path, "rb").read()
    out, i = [], 24
    while i < len(d):
        sec, frac, cl, _ = struct.unpack("<IIII", d[i:i + 16])
        out.append((sec, frac, d[i + 16:i + 16 + cl]))
        i += 16 + cl
    return out


def pcap(path, linktype, frames, magic=0xA1B23C4D, endian="<"):
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for sec, frac, fr in frames:
        out += struct.pack(endian + "IIII", sec, frac, len(fr), len(fr)) + fr
    open(path, "wb").write(out)


def block(btype, body):
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def opt(code, val):
    return struct.pack("<HH", code, len(val)) + val + b"\0" * (-len(val) % 4)


def sll2(eth, ptype):
    return eth[12:14] + b"\0\0" + struct.pack(">I", 3) + b"\0\x01" + bytes([ptype, 6]) + eth[6:12] + b"\0\0"


def sll(eth, ptype):
    return struct.pack(">HHH", ptype, 1, 6) + eth[6:12] + b"\0\0" + eth[12:14]


def main():
    recs = records(sys.argv[1])
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "corpus", "capture")
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)
    pcap(p("ethernet-ns.pcap"), 1, recs)
    pcap(p("ethernet-us-be.pcap"), 1, [(s, f // 1000, e) for s, f, e in recs], 0xA1B2C3D4, ">")
    # the modified format: 24-byte records (ifindex, protocol, packet type, pad)
    mod = struct.pack("<IHHiIII", 0xA1B2CD34, 2, 4, 0, 0, 65535, 1)
    for s_, f, e in recs:
        mod += struct.pack("<IIIIIHBB", s_, f // 1000, len(e), len(e), 2, 0x0800, 0, 0) + e
    open(p("modified.pcap"), "wb").write(mod)
    pcap(p("raw-ip.pcap"), 101, [(s, f, e[14:]) for s, f, e in recs])
    pcap(p("null-loopback.pcap"), 0, [(s, f, struct.pack("<I", 2) + e[14:]) for s, f, e in recs])
    pcap(p("linux-sll.pcap"), 113, [(s, f, sll(e, 4 * (k % 2)) + e[14:]) for k, (s, f, e) in enumerate(recs)])
    pcap(p("linux-sll2.pcap"), 276, [(s, f, sll2(e, 4 * (k % 2)) + e[14:]) for k, (s, f, e) in enumerate(recs)])
    # pcapng: a named Ethernet interface with ns timestamps and an unnamed
    # raw-IP one (default us), direction flags, an end time, a second section
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    ng = shb + block(1, struct.pack("<HHI", 1, 0, 0) + opt(2, b"eth0") + opt(9, b"\x09") + opt(0, b""))
    ng += block(1, struct.pack("<HHI", 101, 0, 0) + opt(0, b""))
    for k, (s, f, e) in enumerate(recs):
        iface = k % 2
        ts = s * 10**9 + f
        fr = e if iface == 0 else e[14:]
        if iface:
            ts //= 1000
        body = struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(fr), len(fr))
        body += fr + b"\0" * (-len(fr) % 4) + opt(2, struct.pack("<I", 1 + k % 2)) + opt(0, b"")
        ng += block(6, body)
    end = (recs[-1][0] + 5) * 10**9
    ng += block(5, struct.pack("<III", 0, 0, 0) + opt(3, struct.pack("<II", end >> 32, end & 0xFFFFFFFF)) + opt(0, b""))
    open(p("two-ifaces.pcapng"), "wb").write(ng + shb + ng[len(shb):len(shb) + 40])
    open(p("truncated.pcapng"), "wb").write(ng[:-30])
    open(p("truncated.pcap"), "wb").write(open(p("ethernet-ns.pcap"), "rb").read()[:-9])


if __name__ == "__main__":
    main()
