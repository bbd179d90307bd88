#!/usr/bin/env python3
"""tcpgen: deterministic TCP connection scenarios for tcpshake-mon's integration tests.

Plain sockets, standard library only. Run the server side in the server
namespace and the client side in the client namespace:

    tcpgen.py server --addr 10.77.0.2 --port 8080 --mode client-close --count 50
    tcpgen.py client --addr 10.77.0.2 --port 8080 --mode client-close --count 50

Modes (what goes over the wire for each connection):
  client-close   request, response, the client closes first (client TIME-WAIT)
  server-close   request, response, the server closes first (server TIME-WAIT)
  client-reset   request, response, the client aborts: SO_LINGER {1,0} + close = RST
  server-reset   request, response, the server aborts with RST
  half-close     the client sends its request and shutdown(SHUT_WR); the server
                 reads to EOF, then sends its response after the client's FIN
                 (a half-closed connection) and closes
  reuse          server-close, twice per client port: the second connection
                 reuses the 4-tuple while the server holds it in TIME-WAIT
                 (client binds the same source port with SO_REUSEADDR)
  staged         N connections held open in stages driven by files in
                 --stage-dir: the client writes "established" once all are
                 open, waits for "go-close", half-closes all (SHUT_WR), writes
                 "half-closed"; the server, after each client FIN, waits for
                 "go-finish", then sends data after the FIN and closes
  fastopen       client-close with TCP Fast Open: the request rides in the
                 SYN (sendto MSG_FASTOPEN) once the client has a cookie; needs
                 net.ipv4.tcp_fastopen=3 on both sides
  trickle        the client sends one byte every --gap seconds for --rounds
                 rounds, then closes first (busy but slow connections)
  trickle-reset  trickle, until somebody else resets the server's socket
                 (a forged RST in the test): the server's read ends in
                 ECONNRESET, the client's next sends in a reset or a broken
                 pipe; a connection that ends without one is an error
  refused        (client only) connect to a port nobody listens on: RST
  self-connect   (client only) from --addr and a port of --sport-base on, to
                 that same address and port, where nothing listens: the
                 socket meets its own SYN (a simultaneous open with itself),
                 reads back its own request and closes (TIME-WAIT)
  timeout        (client only) connect to an address that never answers;
                 give up after --timeout seconds (parallel connects)
  hold           (server only) listen with a large backlog for --hold seconds
                 without accepting (targets for spoofed SYNs)

Every socket operation has a timeout and every loop is bounded. The side
prints a JSON summary on stdout and exits 0 only if every connection behaved
exactly as the mode says.
"""

import argparse
import json
import os
import socket
import struct
import sys
import threading
import time

STAGE_DIR = "."
REQ = b"Q" * 64
RESP = b"R" * 256
ACK_BYTE = b"K"


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("peer closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_to_eof(sock, limit=1 << 20):
    buf = b""
    while len(buf) <= limit:
        chunk = sock.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    raise ValueError("more than %d bytes before EOF" % limit)


def touch(path):
    open(path, "w").close()


def wait_file(path, timeout):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError("%s did not appear within %.0f s" % (path, timeout))
        time.sleep(0.02)


def abort(sock):
    """Close with SO_LINGER {on, 0}: the kernel sends a RST."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def expect_reset(sock):
    """The peer aborts: recv must end in ECONNRESET (not data, not a clean EOF)."""
    try:
        data = sock.recv(1)
    except ConnectionResetError:
        return
    raise AssertionError("expected a reset, got %r" % (data,))


# ---- server ----------------------------------------------------------------

def serve_one(conn, mode):
    if mode in ("client-close", "fastopen"):
        recv_exact(conn, len(REQ))
        conn.sendall(RESP)
        rest = recv_to_eof(conn)
        if rest:
            raise AssertionError("unexpected data before EOF")
        conn.close()
    elif mode == "trickle":
        recv_to_eof(conn)
        conn.close()
    elif mode == "trickle-reset":
        try:
            recv_to_eof(conn)
        except ConnectionResetError:
            conn.close()
            return
        raise AssertionError("the connection ended without a reset")
    elif mode in ("server-close", "reuse"):
        recv_exact(conn, len(REQ))
        conn.sendall(RESP)
        conn.close()
    elif mode == "client-reset":
        recv_exact(conn, len(REQ))
        conn.sendall(RESP)
        expect_reset(conn)
        conn.close()
    elif mode == "server-reset":
        recv_exact(conn, len(REQ))
        conn.sendall(RESP)
        recv_exact(conn, 1)          # the client has the response: abort now
        abort(conn)
    elif mode == "staged":
        recv_exact(conn, len(REQ))
        conn.sendall(RESP)
        if recv_to_eof(conn):
            raise AssertionError("unexpected data before EOF")
        wait_file(os.path.join(STAGE_DIR, "go-finish"), conn.gettimeout())
        conn.sendall(RESP)           # data after the peer's FIN
        conn.close()
    elif mode == "half-close":
        req = recv_to_eof(conn)      # the request, then the client's FIN
        if req != REQ:
            raise AssertionError("bad request (%d bytes)" % len(req))
        conn.sendall(RESP)           # data after the peer's FIN
        conn.close()
    else:
        raise ValueError("mode %s has no server side" % mode)


def run_server(a):
    fam = family_of(a.addr)
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, a.port))
    if a.mode == "fastopen":
        ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 64)
    ls.listen(a.backlog)
    if a.ready:
        open(a.ready, "w").close()
    summary = {"mode": a.mode, "accepted": 0, "ok": 0, "errors": {}}
    if a.mode == "hold":
        time.sleep(a.hold)
        ls.close()
        print(json.dumps(summary))
        return 0
    expected = a.count * (2 if a.mode == "reuse" else 1)
    deadline = time.monotonic() + a.timeout
    lock = threading.Lock()
    threads = []

    def handle(conn):
        try:
            conn.settimeout(max(0.1, min(a.conn_timeout, deadline - time.monotonic())))
            serve_one(conn, a.mode)
            with lock:
                summary["ok"] += 1
        except Exception as e:  # noqa: BLE001 - every failure is reported
            with lock:
                key = type(e).__name__
                summary["errors"][key] = summary["errors"].get(key, 0) + 1
            try:
                conn.close()
            except OSError:
                pass

    while summary["accepted"] < expected:
        left = deadline - time.monotonic()
        if left <= 0:
            summary["errors"]["accept-timeout"] = expected - summary["accepted"]
            break
        ls.settimeout(left)
        try:
            conn, _ = ls.accept()
        except socket.timeout:
            continue
        summary["accepted"] += 1
        t = threading.Thread(target=handle, args=(conn,), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    ls.close()
    print(json.dumps(summary))
    ok = summary["ok"] == expected and not summary["errors"]
    if not ok:
        print("server: %s" % json.dumps(summary), file=sys.stderr)
    return 0 if ok else 1


# ---- client ----------------------------------------------------------------

def new_socket(a, sport=None):
    fam = family_of(a.addr)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    try:
        if sport is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((a.bind_addr or ("::" if fam == socket.AF_INET6 else "0.0.0.0"), sport))
        elif a.bind_addr:
            s.bind((a.bind_addr, 0))
    except BaseException:
        s.close()
        raise
    return s


def connect_with_retry(a, sport):
    """Connect from a fixed port: the previous connection on this 4-tuple may
    still be in LAST-ACK for a moment (connect: EADDRNOTAVAIL; bind, now and
    then on 6.x kernels: EADDRINUSE); retry, bounded."""
    deadline = time.monotonic() + a.timeout
    while True:
        s = None
        try:
            s = new_socket(a, sport)
            s.connect((a.addr, a.port))
            return s
        except OSError as e:
            if s is not None:      # else bind failed, and new_socket closed it
                s.close()
            if e.errno not in (98, 99) or time.monotonic() > deadline:   # EADDRINUSE, EADDRNOTAVAIL
                raise
            time.sleep(0.02)


def client_one(a, sport=None):
    mode = a.mode
    if mode == "refused":
        s = new_socket(a, sport)
        try:
            s.connect((a.addr, a.port))
        except ConnectionRefusedError:
            return
        finally:
            s.close()
        raise AssertionError("connect to a closed port succeeded")
    if mode == "self-connect":
        s = new_socket(a, sport)
        try:
            s.connect((a.addr, sport))
            if s.getsockname()[:2] != s.getpeername()[:2]:
                raise AssertionError("connected to %s, not to itself" % (s.getpeername(),))
            s.sendall(REQ)
            if recv_exact(s, len(REQ)) != REQ:
                raise AssertionError("did not read back its own request")
        finally:
            s.close()
        return
    if mode == "timeout":
        s = new_socket(a, sport)
        try:
            s.connect((a.addr, a.port))
        except socket.timeout:
            return
        finally:
            s.close()
        raise AssertionError("connect to a black hole succeeded")

    if mode == "fastopen":
        s = new_socket(a)
        try:
            # TCP_FASTOPEN_CONNECT (30): connect() returns at once once a cookie
            # is cached, and the first send() puts the request in the SYN.
            s.setsockopt(socket.IPPROTO_TCP, 30, 1)
            s.connect((a.addr, a.port))
            s.sendall(REQ)
            if recv_exact(s, len(RESP)) != RESP:
                raise AssertionError("bad response")
        finally:
            s.close()
        return
    if sport is not None:
        s = connect_with_retry(a, sport)
    else:
        s = new_socket(a)
        try:
            s.connect((a.addr, a.port))
        except BaseException:
            s.close()
            raise
    try:
        if mode == "client-close":
            s.sendall(REQ)
            if recv_exact(s, len(RESP)) != RESP:
                raise AssertionError("bad response")
            s.close()
        elif mode in ("server-close", "reuse"):
            s.sendall(REQ)
            if recv_to_eof(s) != RESP:
                raise AssertionError("bad response")
            s.close()
        elif mode == "client-reset":
            s.sendall(REQ)
            recv_exact(s, len(RESP))
            abort(s)
        elif mode == "trickle":
            for _ in range(a.rounds):
                s.sendall(b"t")
                time.sleep(a.gap)
            s.close()
        elif mode == "trickle-reset":
            try:
                for _ in range(a.rounds):
                    s.sendall(b"t")
                    time.sleep(a.gap)
            except (ConnectionResetError, BrokenPipeError):
                s.close()
                return
            raise AssertionError("the server was not reset within %d rounds" % a.rounds)
        elif mode == "server-reset":
            s.sendall(REQ)
            recv_exact(s, len(RESP))
            s.sendall(ACK_BYTE)
            expect_reset(s)
            s.close()
        elif mode == "half-close":
            s.sendall(REQ)
            s.shutdown(socket.SHUT_WR)
            if recv_to_eof(s) != RESP:
                raise AssertionError("bad response")
            s.close()
        else:
            raise ValueError("unknown mode %s" % mode)
    except BaseException:
        s.close()
        raise


def run_staged_client(a):
    summary = {"mode": a.mode, "ok": 0, "errors": {}}
    socks = []
    try:
        for _ in range(a.count):
            s = new_socket(a)
            socks.append(s)
            s.connect((a.addr, a.port))
            s.sendall(REQ)
            if recv_exact(s, len(RESP)) != RESP:
                raise AssertionError("bad response")
        touch(os.path.join(a.stage_dir, "established"))
        wait_file(os.path.join(a.stage_dir, "go-close"), a.timeout)
        for s in socks:
            s.shutdown(socket.SHUT_WR)
        touch(os.path.join(a.stage_dir, "half-closed"))
        for s in socks:
            if recv_to_eof(s) != RESP:
                raise AssertionError("bad response after the half-close")
            s.close()
            summary["ok"] += 1
    except Exception as e:  # noqa: BLE001
        summary["errors"]["%s: %s" % (type(e).__name__, e)] = 1
    finally:
        for s in socks:
            s.close()
    print(json.dumps(summary))
    ok = summary["ok"] == a.count and not summary["errors"]
    if not ok:
        print("client: %s" % json.dumps(summary), file=sys.stderr)
    return 0 if ok else 1


def run_client(a):
    if a.mode == "staged":
        return run_staged_client(a)
    summary = {"mode": a.mode, "ok": 0, "errors": {}, "sports": []}
    lock = threading.Lock()

    def one(sport=None):
        try:
            client_one(a, sport)
            with lock:
                summary["ok"] += 1
        except Exception as e:  # noqa: BLE001
            with lock:
                key = "%s: %s" % (type(e).__name__, e)
                summary["errors"][key] = summary["errors"].get(key, 0) + 1

    rounds = 2 if a.mode == "reuse" else 1
    if a.mode == "reuse" and not a.sport_base:
        a.sport_base = 40000
    for r in range(rounds):
        ports = [a.sport_base + i if a.sport_base else None for i in range(a.count)]
        if a.parallel > 1:
            threads = []
            for p in ports:
                t = threading.Thread(target=one, args=(p,), daemon=True)
                threads.append(t)
            for i in range(0, len(threads), a.parallel):
                batch = threads[i:i + a.parallel]
                for t in batch:
                    t.start()
                for t in batch:
                    t.join(a.timeout * 3 + 5)
        else:
            for p in ports:
                one(p)
                if a.gap and a.mode != "trickle":
                    time.sleep(a.gap)
        if r + 1 < rounds:
            time.sleep(a.round_gap)
    summary["sports"] = [a.sport_base + i for i in range(a.count)] if a.sport_base else []
    print(json.dumps(summary))
    expected = a.count * rounds
    ok = summary["ok"] == expected and not summary["errors"]
    if not ok:
        print("client: %s" % json.dumps(summary), file=sys.stderr)
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="side", required=True)
    for side in ("server", "client"):  # noqa: C901
        q = sub.add_parser(side)
        q.add_argument("--addr", required=True, help="server address (bind or connect)")
        q.add_argument("--port", type=int, default=8080)
        q.add_argument("--mode", required=True)
        q.add_argument("--count", type=int, default=1)
        q.add_argument("--timeout", type=float, default=20.0,
                       help="client: per-operation timeout; server: overall deadline")
        q.add_argument("--stage-dir", default=".", help="staged: where the stage files live")
        if side == "server":
            q.add_argument("--ready", help="touch this file once listening")
            q.add_argument("--backlog", type=int, default=1024)
            q.add_argument("--hold", type=float, default=10.0)
            q.add_argument("--conn-timeout", type=float, default=10.0)
        else:
            q.add_argument("--bind-addr")
            q.add_argument("--sport-base", type=int, default=0)
            q.add_argument("--parallel", type=int, default=1)
            q.add_argument("--gap", type=float, default=0.0,
                           help="pause between connections (trickle: between bytes)")
            q.add_argument("--rounds", type=int, default=10, help="trickle: bytes to send")
            q.add_argument("--round-gap", type=float, default=0.3, help="reuse: pause between rounds")
    a = p.parse_args()
    if a.side == "client" and a.mode == "self-connect" and not a.sport_base:
        p.error("--mode self-connect needs --sport-base: the port it connects from and to")
    global STAGE_DIR
    STAGE_DIR = a.stage_dir
    if a.side == "server":
        a.timeout = min(a.timeout, 110.0)
        a.hold = min(a.hold, 110.0)
        return run_server(a)
    return run_client(a)


if __name__ == "__main__":
    sys.exit(main())
