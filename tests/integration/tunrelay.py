#!/usr/bin/env python3
"""tunrelay: a layer-3 wire between two network namespaces (stdlib only).

    tunrelay.py --ready FILE --timeout S NS_A TUN_A NS_B TUN_B

Attaches to the TUN devices TUN_A (in namespace NS_A) and TUN_B (in NS_B),
both created beforehand with `ip tuntap add mode tun`, and copies every IP
packet read from one to the other until --timeout seconds have passed or it
is signalled: a point-to-point link whose ends carry bare IP packets, no
link-layer header (ARPHRD_NONE, like WireGuard). This kernel has neither
ipip nor gre; tun is the layer-3 device every kernel has. Writes FILE once
both ends are attached. Never touches any other namespace.
"""

import argparse
import ctypes
import fcntl
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000

libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(name):
    fd = os.open("/var/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns(%s): %s" % (name, os.strerror(err)))
    finally:
        os.close(fd)


def open_tun(ns, name):
    enter_netns(ns)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready", required=True)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("ns_a")
    ap.add_argument("tun_a")
    ap.add_argument("ns_b")
    ap.add_argument("tun_b")
    a = ap.parse_args()
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    fa = open_tun(a.ns_a, a.tun_a)
    fb = open_tun(a.ns_b, a.tun_b)
    peer = {fa: fb, fb: fa}
    with open(a.ready, "w") as f:
        f.write("ready\n")
    end = time.monotonic() + a.timeout
    copied = 0
    while time.monotonic() < end:
        readable, _, _ = select.select([fa, fb], [], [], 0.2)
        for fd in readable:
            for _ in range(64):           # bounded burst per wake-up
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                try:
                    os.write(peer[fd], pkt)
                    copied += 1
                except (BlockingIOError, OSError):
                    pass                  # the far end is down (EIO) or full: a lost packet
    print(copied)
    return 0


if __name__ == "__main__":
    sys.exit(main())
