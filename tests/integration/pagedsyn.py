#!/usr/bin/env python3
"""pagedsyn: SYNs whose IP and TCP headers are not in the skb's linear area.

    pagedsyn.py IFACE SRC_MAC DST_MAC SRC_IP DST_IP DST_PORT COUNT SIZE

Sends COUNT IPv4 SYNs of SIZE bytes (Ethernet frame; SIZE >= 4096, so the
kernel builds a paged skb) from IFACE through an AF_PACKET socket with a
virtio-net header whose hdr_len is 14: the kernel then puts only the
Ethernet header in the linear area and the IP and TCP headers in page
fragments, as drivers with header split or GRO sometimes deliver them.
Source ports 20000..20000+COUNT-1, ISN 1000 + port, checksums correct.
Stdlib only; run it in the sending namespace.
"""

import socket
import struct
import sys

SOL_PACKET = 263
PACKET_VNET_HDR = 15


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src_mac, dst_mac, src, dst, sport, dport, size):
    payload = b"P" * (size - 14 - 20 - 20)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000 + sport, 0, 5 << 4, 0x02, 65535, 0, 0) + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), sport, 0, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) + b"\x08\x00"
    return eth + ip + tcp


def main(argv):
    iface, src_mac, dst_mac, src, dst, dport, count, size = argv[1:9]
    count, size, dport = int(count), int(size), int(dport)
    if size < 4096:
        sys.exit("SIZE must be at least 4096: smaller frames get a linear skb")
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.bind((iface, 0))
    # struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
    vnet = struct.pack("=BBHHHH", 0, 0, 14, 0, 0, 0)
    for i in range(count):
        s.send(vnet + frame(src_mac, dst_mac, src, dst, 20000 + i, dport, size))
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
