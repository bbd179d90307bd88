#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus/NAME/).

The seeds are committed; this script says what they are and regenerates
them after a change of an input encoding: python3 tests/fuzz/seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16

# ---- fuzz_track: see the comments of fuzz_track.c for the encoding ----


def world(hs=2, flows=1, spill=1, events=True, two_ifaces=False, seed=1):
    """Geometry byte (log2 buckets, spill capacity, events) and world byte."""
    g = {1: 0, 2: 1, 4: 2, 8: 3}
    b0 = g[hs] | g[flows] << 2 | spill << 4 | (0x80 if events else 0)
    return bytes([b0, (seed << 1 | two_ifaces) & 0xff])


def seg(server, flags, seq=0, ack=0, payload=0, flow=0, egress=False, iface=1,
        encap=0, transit=False, far_seq=None):
    """A crafted segment; seq and ack are offsets from the sender's and the
    receiver's ISN (-2..12), or far_seq the sequence number itself; transit:
    of no known direction (offline replay's DIR_UNKNOWN)."""
    a = (flow & 3) | server << 2 | egress << 3 | (iface - 1) << 4 | encap << 5 | (flow & 4) << 5
    modes = (15 if far_seq is not None else seq + 2) | (ack + 2) << 4
    out = bytes([0x00, a, flags, modes, payload | (0x80 if transit else 0)])
    return out + (struct.pack('<I', far_seq) if far_seq is not None else b'')


def c(flags, seq=0, ack=0, **kw):
    return seg(0, flags, seq, ack, **kw)


def s(flags, seq=0, ack=0, **kw):
    return seg(1, flags, seq, ack, **kw)


def damaged(server, flags, seq, ack, d, e, cut, **kw):
    return b'\x60' + seg(server, flags, seq, ack, **kw)[1:] + bytes([d, e, cut])


def icmp(server, flags, seq=0, kind=0, whole=False, **kw):
    """An ICMP error from the receiver of the crafted segment it quotes
    (kind: 0 host / no-route unreachable, 1 port unreachable, 2 not an
    error that ends anything, 3 time exceeded, 4 not an error at all);
    8 bytes of TCP quoted, or 20 (whole)."""
    return b'\x78' + seg(server, flags, seq, **kw)[1:] + bytes([kind << 1 | whole])


def raw(frame):
    return bytes([0x80, len(frame)]) + frame


def ms(n):
    """Clock forward n milliseconds (10 ms steps up to 1.27 s, then 0.5 s)."""
    out = b''
    while n >= 1270:
        steps = min(127, n // 500)
        out += bytes([0xA0, 128 + steps])
        n -= steps * 500
    return out + (bytes([0xA0, n // 10]) if n >= 10 else b'')


SWEEP = b'\xC0'


def new_isn(flow, server, isn):
    return bytes([0xE0 | (flow & 3) | server << 2 | (flow & 4) << 1]) + struct.pack('<I', isn)


def handshake(**kw):
    return c(SYN, **kw) + ms(10) + s(SYN | ACK, 0, 1, **kw) + ms(10) + c(ACK, 1, 1, **kw)


def close_client_first(**kw):
    return (c(FIN | ACK, 1, 1, **kw) + s(ACK, 1, 2, **kw) + s(FIN | ACK, 1, 2, **kw) +
            c(ACK, 2, 2, **kw))


TRACK = {
    'graceful_close': world() + handshake() + c(PSH | ACK, 1, 1, payload=40) +
    s(PSH | ACK, 1, 1, payload=60) + SWEEP + close_client_first() + SWEEP + ms(5000) + SWEEP,
    'refused': world() + c(SYN) + s(RST | ACK, 0, 1) + SWEEP,
    # flow 7 is a socket connected to itself: Linux's own segments (a
    # capture on lo); then a LAND SYN that nobody answers
    'self_connect': world() + c(SYN, flow=7) + c(SYN | ACK, 0, 1, flow=7) + c(ACK, 1, 1, flow=7) +
    c(PSH | ACK, 1, 1, payload=2, flow=7) + c(ACK, 3, 3, flow=7) + c(FIN | ACK, 3, 3, flow=7) +
    c(ACK, 4, 4, flow=7) + SWEEP + ms(61000) + SWEEP,
    'land_syn': world() + c(SYN, flow=7, encap=1) + ms(31000) + SWEEP,
    # FINs before the handshake, then a second ISN: the ACK that opens the
    # record would also close it from the other side (one event a segment)
    'self_fins_first': world() + c(SYN, -2, payload=32, flow=7) + c(ACK, 3, 3, flow=7) +
    c(FIN | ACK, -1, 2, flow=7) + c(SYN, flow=7) + c(SYN | ACK, 0, 1, flow=7) +
    c(ACK, 1, 1, flow=7) + SWEEP,
    # A SYN answered by ICMP errors: the second, after the SYN again, is
    # the one Linux took (the first reached a socket its owner held)
    'icmp_unreachable': world() + c(SYN) + icmp(0, SYN) + ms(1000) + c(SYN) + icmp(0, SYN, kind=3) +
    ms(4000) + SWEEP + ms(121000) + SWEEP,
    # stale and forged: another number, after the SYN-ACK, and a v6 one
    'icmp_stale': world() + c(SYN, encap=1) + icmp(0, SYN, 3, kind=1, encap=1) +
    s(SYN | ACK, 0, 1, encap=1) + icmp(0, SYN, kind=1, whole=True, encap=1) +
    icmp(1, SYN | ACK, encap=1) + c(ACK, 1, 1, encap=1) + icmp(0, SYN, encap=1) + SWEEP,
    # The SYN-ACK drew a host unreachable, so the server dropped its
    # request; the SYN again gets a SYN-ACK of a new ISN, which completes.
    # Then one that stays lost, over IPv6 (port unreachable drops it too).
    'icmp_synack_lost': world() + c(SYN) + s(SYN | ACK, 0, 1) + icmp(1, SYN | ACK) + ms(1000) +
    c(SYN) + new_isn(0, 1, 0x5eed) + s(SYN | ACK, 0, 1) + c(ACK, 1, 1) + SWEEP +
    c(SYN, flow=1, encap=1) + s(SYN | ACK, 0, 1, flow=1, encap=1) +
    icmp(1, SYN | ACK, kind=1, flow=1, encap=1) + ms(31000) + SWEEP,
    'syn_timeout': world() + c(SYN) + ms(1000) + c(SYN) + ms(3000) + SWEEP + c(SYN) +
    ms(7000) + SWEEP,
    'synack_timeout': world() + c(SYN) + s(SYN | ACK, 0, 1) + s(SYN | ACK, 0, 1) + ms(4000) +
    SWEEP,
    'simultaneous_open': world() + c(SYN) + s(SYN) + c(SYN | ACK, 0, 1) + s(SYN | ACK, 0, 1) +
    SWEEP + close_client_first(),
    'reset_established': world() + handshake() + s(RST, 1) + SWEEP,
    'invalid_synack': world() + c(SYN) + s(SYN | ACK, 0, 5) + ms(4000) + SWEEP,
    'invalid_ack': world() + c(SYN) + s(SYN | ACK, 0, 1) + c(ACK, 1, 7) + ms(4000) + SWEEP,
    'time_wait_reuse': world() + handshake() + close_client_first() + SWEEP +
    new_isn(0, 0, 90000) + new_isn(0, 1, 70000) + handshake() + SWEEP,
    'server_closes_first': world() + handshake() + s(FIN | ACK, 1, 1) + c(ACK, 1, 2) +
    c(PSH | ACK, 1, 2, payload=10) + c(FIN | ACK, 1, 2, payload=0) + s(ACK, 2, 2) + SWEEP,
    'simultaneous_close': world() + handshake() + c(FIN | ACK, 1, 1) + s(FIN | ACK, 1, 1) +
    c(ACK, 2, 2) + s(ACK, 2, 2) + SWEEP,
    'idle_expiry': world() + handshake() + SWEEP + ms(30000) + SWEEP,
    'orphan_synack': world() + s(SYN | ACK, 0, 1) + c(ACK, 1, 1) + SWEEP,
    # Nothing says which way any packet went: a blind RST is doubted, the
    # peer's ACK contradicts it, the close counts, and no side is this host's.
    'transit': world() + handshake(transit=True) + c(RST, far_seq=0x7777777, transit=True) +
    ms(10) + s(ACK, 1, 1, transit=True) + close_client_first(transit=True) + SWEEP +
    s(SYN | ACK, 0, 1, flow=1, transit=True) + c(ACK, 1, 1, flow=1, transit=True) + SWEEP,
    'fast_open': world() + c(SYN, payload=20) + s(SYN | ACK, 0, 1) + c(ACK, 1, 1) + SWEEP,
    'ipv6_vlan_local_client': world(events=True) +
    handshake(encap=3, egress=True, flow=1) + close_client_first(encap=3, flow=1) + SWEEP,
    'two_ifaces': world(two_ifaces=True) + handshake(iface=1) + handshake(iface=2, flow=2) +
    s(RST, 1, iface=2, flow=2) + SWEEP,
    'tiny_tables_evictions': world(hs=1, flows=1, spill=0) +
    b''.join(c(SYN, flow=f) for f in range(4)) + b''.join(c(SYN, flow=f, encap=1)
                                                         for f in range(4)) +
    b''.join(handshake(flow=f) for f in range(4)) + SWEEP,
    # 16 connections for one flow bucket of 8 ways and a spill of 3: the
    # spill fills, then a new one needs a TIME-WAIT victim or is dropped.
    'spill': world(hs=8, flows=1, spill=3) +
    b''.join(handshake(flow=f, encap=e) for f in range(8) for e in (0, 1)) + SWEEP +
    close_client_first(flow=5, encap=1) + SWEEP + ms(30000) + SWEEP,
    'time_wait_eviction': world(hs=8, flows=1, spill=0) +
    b''.join(handshake(flow=f) + close_client_first(flow=f) for f in range(8)) +
    b''.join(handshake(flow=f, encap=1) for f in range(3)) + SWEEP,
    # Capture timestamps out of order: the SYN-ACK stamped before its SYN.
    'clock_backwards': world() + ms(1000) + c(SYN) + b'\xA1\x01' + s(SYN | ACK, 0, 1) +
    b'\xA1\x02' + c(ACK, 1, 1) + close_client_first() + SWEEP,
    # A simultaneous open on the tuple of an open connection (once a second
    # flow record: /work/brief/fuzz-findings/track-duplicate-flow-record.md).
    'simopen_on_open_tuple': world(hs=4, flows=1, spill=3) + handshake() + c(FIN | ACK, 1, 1) +
    c(SYN) + s(SYN) + c(SYN | ACK, 0, 1) + s(SYN | ACK, 0, 1, payload=4) + SWEEP,
    # 16 attempts in 4 handshake buckets of 4 ways: a SYN finds both its
    # buckets full and an attempt moves to its other bucket (bpf/hs_move.h);
    # every handshake then completes where its attempt went.
    'cuckoo_move': world(hs=4, flows=4, seed=0) +
    b''.join(c(SYN, flow=f, encap=e) for e in (0, 1) for f in range(8)) + SWEEP +
    b''.join(s(SYN | ACK, 0, 1, flow=f, encap=e) + c(ACK, 1, 1, flow=f, encap=e)
             for e in (0, 1) for f in range(8)) + SWEEP,
    'no_events': world(events=False) + handshake() + close_client_first() + SWEEP,
    'malformed': world() + damaged(0, SYN, 0, 0, 0x15, 0x03, 0) +
    damaged(0, SYN, 0, 0, 0x20, 0x30, 0) + damaged(0, SYN, 0, 0, 0x00, 0, 30) +
    damaged(0, SYN, 0, 0, 0xc0, 0x02, 0, encap=1) +
    damaged(0, SYN, 0, 0, 0x80, 0x80, 0, encap=1) +
    raw(b'\x02' * 14) + raw(bytes(12) + b'\x81\x00\x00\x01\x81\x00\x00\x02\x08\x00') + SWEEP,
}

# ---- fuzz_options: NUL-separated arguments after argv[0] ----

OPTIONS = {
    'defaults': b'',
    'all_long': b'\0'.join([b'--interval', b'0.5', b'--duration=3', b'--ingress', b'tc',
                            b'--syn-timeout', b'5', b'--time-wait=60', b'--close-timeout', b'9',
                            b'--idle-timeout', b'100', b'--max-ports', b'8', b'--max-flows',
                            b'4096', b'--handshake-slots', b'2048', b'--events-buffer', b'64',
                            b'--events', b'-', b'--json', b'--prom-textfile', b'/tmp/x.prom',
                            b'--listen', b'[::1]:9100', b'-q', b'-v', b'eth0', b'lo']),
    'short': b'\0'.join([b'-i', b'1', b'-d2', b'-qv', b'eth0']),
    'missing_value': b'--events',
    'bad_value': b'--json=1\0--max-flows\0-5',
    'unknown': b'-x\0--nope\0eth0',
    'help': b'--help',
    'version': b'-V',
    'twice': b'eth0\0eth0',
    'many': b'\0'.join(b'if%d' % i for i in range(20)),
    'dashdash': b'--\0-i\0eth0',
}

# ---- fuzz_export: see fuzz_export.c ----


def export(names, counters=b'', ports=b''):
    out = bytes([len(names)])
    for n in names:
        out += bytes([len(n)]) + n
    return out + bytes([len(ports) // 3]) + ports + counters


EXPORT = {
    'plain': export([b'eth0'], ports=b'\x00\x01\xbb\x00\x00\x00', counters=bytes(range(64))),
    'quotes': export([b'eth"0', b'back\\slash'], ports=b'\x01\x00\x50'),
    'newline': export([b'a\nb', b'\r\t']),
    'invalid_utf8': export([b'\xff\xfe', b'\xc3', b'\xe2\x82', b'ok\xc3\xa9'],
                           ports=b'\x03\xff\xff'),
    # UTF-8 before RFC 3629 (5- and 6-byte forms, beyond U+10FFFF): invalid now.
    'old_utf8': export([b'\xfd\x8f\x8f\x8f\x8f\x8f', b'\xf5\x80\x80\x80', b'\xf4\x90\x80\x80']),
    'long': export([b'x' * 15, b'}' * 15, b'{' * 15, b'=' * 15]),
    'empty_name': export([b'']),
    'counters_high': export([b'eth0'], counters=b'\xff' * 256),
}


def write(name, seeds):
    d = os.path.join(HERE, 'corpus', name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    for k, v in seeds.items():
        with open(os.path.join(d, k), 'wb') as f:
            f.write(v)


if __name__ == '__main__':
    write('track', TRACK)
    write('options', OPTIONS)
    write('export', EXPORT)
