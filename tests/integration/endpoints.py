#!/usr/bin/python3
"""endpoints: the real sockets of the ICMP tests (test_unreachable.sh,
test_synack_lost.sh), stdlib only. Subcommands:

  serve    a listener on [::]:PORT (IPv4 too) for each --port, backlog
           128: accepts --count connections, reads each to EOF and closes
           it, then exits 0 (1 if --timeout passed first); with --count 0
           it only listens until --timeout. Creates --ready once listening.
  connect  one thread per TARGET NAME,DST,PORT,SRC,TTL,MODE (SRC and TTL
           may be empty): connect() within --timeout s; MODE "fail" only
           reports how that ended, "talk" also sends 16 bytes, waits
           --hold s, half-closes and reads to EOF. One JSON line per
           target, by name: name, dst, dport, src, sport, result (errno
           name, "timeout" or "connected"), elapsed (s), closed; exits 1
           if a target did not finish.
"""

import argparse
import errno
import json
import socket
import sys
import threading
import time


def cmd_serve(a):
    listeners = []
    for port in a.port:
        ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("::", port))
        ls.listen(128)
        listeners.append(ls)
    open(a.ready, "w").close()
    deadline = time.monotonic() + a.timeout
    if a.count == 0:
        time.sleep(a.timeout)
        return 0
    done, threads, lock = [0], [], threading.Lock()

    def serve(c):
        c.settimeout(10)
        try:
            while c.recv(4096):
                pass
        finally:
            c.close()
            with lock:
                done[0] += 1

    def accept(ls):
        ls.settimeout(0.2)
        while time.monotonic() < deadline and len(threads) < a.count:
            try:
                c, _ = ls.accept()
            except socket.timeout:
                continue
            t = threading.Thread(target=serve, args=(c,), daemon=True)
            t.start()
            threads.append(t)

    acceptors = [threading.Thread(target=accept, args=(ls,), daemon=True) for ls in listeners]
    for t in acceptors:
        t.start()
    for t in acceptors:
        t.join(max(0.0, deadline - time.monotonic()) + 1)
    for t in list(threads):
        t.join(max(0.0, deadline - time.monotonic()) + 1)
    if done[0] != a.count:
        sys.exit("endpoints serve: %d of %d connections served within %g s" % (done[0], a.count, a.timeout))
    return 0


def connect_one(spec, timeout, hold):
    name, dst, port, src, ttl, mode = spec.split(",")
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    r = {"name": name, "dst": dst, "dport": int(port)}
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        if src:
            s.bind((src, 0))
        if ttl and fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, int(ttl))
        elif ttl:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, int(ttl))
        t = time.monotonic()
        try:
            s.connect((dst, int(port)))
            r["result"] = "connected"
        except socket.timeout:
            r["result"] = "timeout"
        except OSError as e:
            r["result"] = errno.errorcode.get(e.errno, str(e.errno))
        r["elapsed"] = round(time.monotonic() - t, 4)
        r["src"], r["sport"] = s.getsockname()[:2]
        if r["result"] == "connected" and mode == "talk":
            s.sendall(b"x" * 16)
            time.sleep(hold)
            s.shutdown(socket.SHUT_WR)
            while s.recv(4096):
                pass
            r["closed"] = True
    except Exception as e:
        r["error"] = repr(e)
    finally:
        s.close()
    return r


def cmd_connect(a):
    results = {}

    def one(spec):
        r = connect_one(spec, a.timeout, a.hold)
        results[r["name"]] = r

    threads = [threading.Thread(target=one, args=(t,), daemon=True) for t in a.target]
    for t in threads:
        t.start()
    for t in threads:
        t.join(a.timeout + a.hold + 10)
    for name in sorted(results):
        print(json.dumps(results[name]))
    if len(results) != len(threads):
        sys.exit("endpoints connect: %d of %d targets did not finish" % (len(threads) - len(results), len(threads)))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sv = sub.add_parser("serve")
    sv.add_argument("--port", type=int, action="append", required=True)
    sv.add_argument("--count", type=int, default=0)
    sv.add_argument("--timeout", type=float, default=30)
    sv.add_argument("--ready", required=True)
    cn = sub.add_parser("connect")
    cn.add_argument("target", nargs="+", metavar="NAME,DST,PORT,SRC,TTL,MODE")
    cn.add_argument("--timeout", type=float, required=True)
    cn.add_argument("--hold", type=float, default=0)
    a = p.parse_args()
    return {"serve": cmd_serve, "connect": cmd_connect}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
