#!/usr/bin/env python3
"""churn: steady TCP connection churn for tcpshake-mon's soak test.

    churn.py server --addr A --port P --seconds S
    churn.py client --addr A --port P --closed-port Q --seconds S --workers N --rate R

The server accepts, reads the request, answers and closes (server-side
TIME-WAIT). Each client worker loops until the time is up, paced to its
share of --rate connections per second, in a fixed mix: of every 10
connections, 8 complete a request/response exchange, 1 is refused (a port
nobody listens on: RST) and 1 is reset by the client after the handshake
(SO_LINGER {1,0}). Every socket has a timeout; every loop is bounded by the
deadline. The client prints a JSON summary of what it did.
"""
import argparse
import json
import multiprocessing
import socket
import struct
import sys
import time

REQ = b"Q" * 32
RESP = b"R" * 64


def server(a):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, a.port))
    ls.listen(4096)
    ls.settimeout(0.5)
    if a.ready:
        open(a.ready, "w").close()
    end = time.time() + a.seconds
    n = 0
    while time.time() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        try:
            c.settimeout(2)
            c.recv(len(REQ))
            c.sendall(RESP)
        except OSError:
            pass
        c.close()
        n += 1
    print(json.dumps({"accepted": n}))


def worker(a, share, out):
    done = {"ok": 0, "refused": 0, "reset": 0, "errors": 0}
    start = time.time()
    end = start + a.seconds
    i = 0
    while True:
        now = time.time()
        if now >= end:
            break
        due = start + i / share
        if due > now:
            time.sleep(min(due - now, end - now))
            continue
        kind = i % 10
        i += 1
        s = socket.socket()
        s.settimeout(2)
        try:
            if kind == 8:
                try:
                    s.connect((a.addr, a.closed_port))
                    done["errors"] += 1
                except ConnectionRefusedError:
                    done["refused"] += 1
            elif kind == 9:
                s.connect((a.addr, a.port))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                done["reset"] += 1
            else:
                s.connect((a.addr, a.port))
                s.sendall(REQ)
                got = b""
                while len(got) < len(RESP):
                    b = s.recv(len(RESP) - len(got))
                    if not b:
                        break
                    got += b
                done["ok" if got == RESP else "errors"] += 1
        except OSError:
            done["errors"] += 1
        finally:
            s.close()
    out.put(done)


def client(a):
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(a, a.rate / a.workers, q))
             for _ in range(a.workers)]
    for p in procs:
        p.start()
    total = {"ok": 0, "refused": 0, "reset": 0, "errors": 0}
    for _ in procs:
        d = q.get(timeout=a.seconds + 30)
        for k in total:
            total[k] += d[k]
    for p in procs:
        p.join(5)
    total["seconds"] = a.seconds
    total["per_second"] = round(sum(total[k] for k in ("ok", "refused", "reset")) / a.seconds, 1)
    print(json.dumps(total))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="side", required=True)
    for side in ("server", "client"):
        q = sub.add_parser(side)
        q.add_argument("--addr", required=True)
        q.add_argument("--port", type=int, default=8080)
        q.add_argument("--seconds", type=float, required=True)
        if side == "server":
            q.add_argument("--ready")
        else:
            q.add_argument("--closed-port", type=int, default=9)
            q.add_argument("--workers", type=int, default=4)
            q.add_argument("--rate", type=float, default=1200)
    a = ap.parse_args()
    server(a) if a.side == "server" else client(a)


if __name__ == "__main__":
    sys.exit(main())
