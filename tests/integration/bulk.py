#!/usr/bin/env python3
"""bulk: connections that move megabytes, so the stacks use GSO and GRO
super-packets (stdlib only).

    bulk.py server --addr A --port P --count N --up BYTES --down BYTES [--reset] --ready FILE
    bulk.py client --addr A --port P --count N --up BYTES --down BYTES [--reset]

Per connection the client sends --up bytes, the server answers with --down
bytes, the client closes first once it has them all, the server closes on
the client's FIN (a graceful close, client TIME-WAIT). With --reset the
client aborts instead (SO_LINGER {1, 0}: a RST at the end of its data) and
the server closes on the reset. With --unread BYTES (and --reset) the client
sends that much more after the response, which the server does not read
for UNREAD_PAUSE s, and aborts 5 ms later: the server's kernel has taken
it in but, its window not moving (a fixed receive buffer, UNREAD_RCVBUF),
acknowledged little of it, so the RST is far ahead of the server's last
ACK. With --abort-upload the client aborts right after sending --up
bytes, while the server is still reading them as fast as it can (a RST
that may meet segments waiting in the socket's backlog), and the server
reads until the reset. Every socket call has a timeout; exit status 0
only if every connection moved every byte.
"""

import argparse
import socket
import struct
import sys
import time

TIMEOUT = 20.0
UNREAD_PAUSE = 0.3
UNREAD_RCVBUF = 2 << 20   # the kernel doubles it; holds the unread megabyte
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)   # root: past rmem_max


def recv_exact(s, n):
    got = 0
    while got < n:
        chunk = s.recv(min(1 << 20, n - got))
        if not chunk:
            raise EOFError("peer closed after %d of %d bytes" % (got, n))
        got += len(chunk)


def send_n(s, byte, n):
    """n bytes of byte, a megabyte at a time (gigabytes need no buffer)."""
    chunk = memoryview(byte * min(n, 1 << 20))
    while n:
        s.sendall(chunk[:min(n, len(chunk))])
        n -= min(n, len(chunk))


def read_until_reset(s, most):
    got = 0
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise ValueError("a FIN where a RST was due")
            got += len(chunk)
            if got > most:
                raise ValueError("more than the %d bytes sent" % most)
    except ConnectionResetError:
        pass


def server(a):
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.unread:
        # A fixed receive buffer, set before the handshake: the window
        # stops growing, so unread bytes shrink it and the kernel delays
        # its ACKs. Left to autotuning, the buffer may still be growing
        # when the unread megabyte comes, and the kernel then acknowledges
        # every segment of it at once: no RST far ahead.
        ls.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, UNREAD_RCVBUF)
    ls.bind((a.addr, a.port))
    ls.listen(16)
    ls.settimeout(60)
    open(a.ready, "w").close()
    for _ in range(a.count):
        c, _ = ls.accept()
        c.settimeout(TIMEOUT)
        if a.abort_upload:
            read_until_reset(c, a.up)
            c.close()
            continue
        recv_exact(c, a.up)
        send_n(c, b"D", a.down)
        if a.unread:
            time.sleep(UNREAD_PAUSE)
        try:
            # The unread bytes the kernel holds come first, then the reset.
            while a.unread and c.recv(1 << 20):
                pass
            if c.recv(1):
                raise ValueError("data after the response")
            if a.reset:
                raise ValueError("a FIN where a RST was due")
        except ConnectionResetError:
            if not a.reset:
                raise
        c.close()
    return 0


def client(a):
    for _ in range(a.count):
        s = socket.create_connection((a.addr, a.port), timeout=TIMEOUT)
        send_n(s, b"U", a.up)
        if a.abort_upload:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            continue
        recv_exact(s, a.down)
        if a.unread:
            send_n(s, b"V", a.unread)
            time.sleep(0.005)
        if a.reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        if a.unread:
            time.sleep(UNREAD_PAUSE)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["server", "client"])
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--up", type=int, default=1 << 20)
    ap.add_argument("--down", type=int, default=4 << 20)
    ap.add_argument("--reset", action="store_true")
    ap.add_argument("--unread", type=int, default=0)
    ap.add_argument("--abort-upload", action="store_true")
    ap.add_argument("--ready", default="/dev/null")
    a = ap.parse_args()
    return server(a) if a.role == "server" else client(a)


if __name__ == "__main__":
    sys.exit(main())
