#!/usr/bin/env bash
# Packets that lie, against real stacks (issue: spoofed, stale or repeated
# packets must not change what tcpshake-mon reports):
#   blind-rst     live connections trickle data while a blind injector sends
#                 RSTs "from the client" with wrong sequence numbers: the
#                 server kernel ignores them (TcpEstabResets stays 0), so must
#                 the monitor: every connection's graceful close counted,
#                 resets_ignored_total = RSTs injected
#   blind-data-rst  the same connections; the injector first sends forged
#                 client data 2^28 past the real position (out of the
#                 server's window, a jump of less than 2^30), then a RST
#                 right after it: the position a RST is checked against
#                 comes from the server's own ACKs, so every RST is ignored
#   port-reuse    the client vanishes while the server's socket is in
#                 FIN-WAIT-2 (its FIN acknowledged, the client's FIN never
#                 comes); the server kernel forgets it (tcp_fin_timeout), the
#                 client comes back from the same port: the new handshake
#                 supersedes the stale record, the new connection is tracked
#                 to its graceful close
#   orphan-pairs  spoofed SYN-ACK + ACK pairs with no SYN, from the network:
#                 nothing established, every SYN-ACK counted as unsolicited
#   syn-rst       a scan's SYNs with FIN or RST at a listening port (the
#                 server kernel drops them all: no attempt may start), then a
#                 SYN with RST (every other one with ACK too) at the exact
#                 next sequence number into each of a few live connections:
#                 the kernel checks RST before SYN and resets each socket
#                 (TcpEstabResets), so must the monitor
#   land          LAND SYNs (source = destination, the server's address and
#                 one port at both ends, a listening one first): the server
#                 kernel drops them (a martian source), so every one is an
#                 attempt nobody answers, timed out; none is a simultaneous
#                 open with itself
#   strays-crowded  a 1,024-flow table holds 400 live connections, so many
#                 buckets hold records in their alternative bucket: ACKs,
#                 FINs, RSTs and SYN-ACKs of no connection from the network
#                 (and the server's RSTs answering them) change nothing but
#                 the unsolicited SYN-ACKs, and every connection is tracked
#                 to its graceful close
. "$(dirname "$0")/lib.sh"

PORT=8080
SPOOFER=$IT_DIR/spoof.py

require_root_tools
require_scapy

# spoof CMD ARGS...: spoof.py in the client namespace, frames to the server veth.
spoof() {
	local cmd=$1
	shift
	timeout 60 ip netns exec "$NS_C" "$PY" "$SPOOFER" "$cmd" --peer-mac "$(mac "$NS_S" "$IF_S")" "$@"
}

# ---- forged RSTs against live connections ---------------------------------------

# forged_rsts INGRESS CMD PER GAP WHAT: 8 trickling connections while
# `spoof.py CMD` sends PER forgeries each (WHAT says which), GAP s apart;
# the server kernel ignores every RST, and so must the monitor.
forged_rsts() {
	local ingress=$1 tag=$2 per=$3 gap=$4 what=$5 n=8 sent
	note "scenario: $n connections trickling 1 byte / 0.2 s for 4 s; $per $what each, from the client side (--ingress $ingress)"
	sc_begin "$tag" --ingress "$ingress"
	server_start "$tag" --addr "$S4" --port $PORT --mode trickle --count $n --timeout 30
	client_start "$tag" --addr "$S4" --port $PORT --mode trickle --count $n --parallel $n \
		--gap 0.2 --rounds 20 --timeout 20
	sent=$(spoof "$tag" --dst "$S4" --dport $PORT --conns $n --per-conn "$per" --gap "$gap") ||
		die "[$tag] spoof.py $tag failed"
	client_wait "$tag"
	server_wait "$tag"
	wait_metric 10 $n tcpshake_closes_total 'kind="graceful"'
	sc_end
	check_eq "[$tag] RSTs injected" $((n * per)) "$sent"
	check_eq "[$tag] server TcpEstabResets delta (the kernel ignored them)" 0 "$(nstat_s TcpEstabResets)"
	check_eq "[$tag] closes_total{kind=\"graceful\"} = connections" $n "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] closes_total{kind=\"reset\"}" 0 "$(metric tcpshake_closes_total 'kind="reset"')"
	check_eq "[$tag] resets_ignored_total = RSTs injected" "$sent" "$(metric tcpshake_resets_ignored_total)"
	check_eq "[$tag] events outcome=closed" $n "$(event_count "$tag" outcome=closed)"
	check_eq "[$tag] events outcome=reset" 0 "$(event_count "$tag" outcome=reset)"
	check_handshakes $n
	check_quiet_gauges
}

sc_blind_rst() { forged_rsts "$1" blind-rst 5 0.15 "blind RSTs"; }

# Forged data first, then a RST where it ended.
sc_blind_data_rst() {
	forged_rsts "$1" blind-data-rst 3 0.3 "forged data segments 2^28 ahead, with a RST after"
}

# ---- port reuse after the peer vanished ---------------------------------------

# The client side of port-reuse, in the client namespace: a connection from
# port SPORT that the server closes; the client acknowledges the FIN, then
# "vanishes" (a black-hole route, socket aborted) until STAGE/go exists, then
# connects again from the same port and closes gracefully.
REUSE_CLIENT='
import os, socket, struct, sys, time
addr, port, sport, stage = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def connect():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(10)
    s.bind(("0.0.0.0", sport))
    s.connect((addr, port))
    return s
s = connect()
s.sendall(b"hello")
if s.recv(100) != b"":          # the server closes: we are in CLOSE-WAIT
    raise SystemExit("expected EOF")
open(stage + "/closed", "w").close()
deadline = time.time() + 20
while not os.path.exists(stage + "/vanish") and time.time() < deadline:
    time.sleep(0.05)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()                        # a RST the black-hole route drops
open(stage + "/gone", "w").close()
while not os.path.exists(stage + "/go") and time.time() < deadline:
    time.sleep(0.05)
s = connect()                    # same 4-tuple, new ISN
s.sendall(b"again")
s.shutdown(socket.SHUT_WR)
if s.recv(100) != b"":
    raise SystemExit("expected EOF")
s.close()
'

REUSE_SERVER='
import socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(8)
ls.settimeout(30)
c, _ = ls.accept()
c.recv(100)
c.close()                        # our FIN first: FIN-WAIT-2 once acknowledged
c, _ = ls.accept()
c.settimeout(10)
data = b""
while True:
    d = c.recv(100)
    if not d:
        break
    data += d
c.close()
'

stage_wait() { wait_for 20 "$1" test -e "$WORK/reuse/$1" || die "[$MON_TAG] the client never reached '$1'"; }
fin_wait2_gone() { [[ $(ip netns exec "$NS_S" ss -Htan state fin-wait-2 "( sport = :$PORT )" | wc -l) == 0 ]]; }

sc_port_reuse() {
	local tag=port-reuse sport=41234 spid cpid
	note "scenario: server closes, client acks then vanishes, the server's FIN-WAIT-2 expires, the client returns from port $sport (--ingress $1)"
	sc_begin "$tag" --ingress "$1"
	in_s sysctl -qw net.ipv4.tcp_fin_timeout=1
	mkdir -p "$WORK/reuse"
	ip netns exec "$NS_S" "$PY" -c "$REUSE_SERVER" "$S4" $PORT >"$WORK/reuse.server.log" 2>&1 &
	spid=$!
	track $spid
	wait_for 10 "listen" sh -c "ip netns exec '$NS_S' ss -Htln '( sport = :$PORT )' | grep -q ." ||
		die "[$tag] the server did not listen"
	ip netns exec "$NS_C" "$PY" -c "$REUSE_CLIENT" "$S4" $PORT $sport "$WORK/reuse" \
		>"$WORK/reuse.client.log" 2>&1 &
	cpid=$!
	track $cpid
	stage_wait closed
	# The client vanishes: nothing it sends to the server leaves its namespace.
	ip -n "$NS_C" route add blackhole "$S4/32"
	touch "$WORK/reuse/vanish"
	stage_wait gone
	wait_for 10 "fin-wait-2 expired" fin_wait2_gone || fail "[$tag] the server's FIN-WAIT-2 socket did not expire"
	sleep 1.5   # past tcp_fin_timeout of the tw socket too
	ip -n "$NS_C" route del blackhole "$S4/32"
	wait_exports 1
	check_eq "[$tag] the stale record: closing_connections (FIN-WAIT-2)" 1 "$(metric tcpshake_closing_connections)"
	touch "$WORK/reuse/go"
	local rc=0
	wait $cpid || rc=$?
	untrack $cpid
	((rc == 0)) || fail "[$tag] reuse client: exit $rc: $(tail -n 3 "$WORK/reuse.client.log" | tr '\n' ' ')"
	rc=0
	wait $spid || rc=$?
	untrack $spid
	((rc == 0)) || fail "[$tag] reuse server: exit $rc: $(tail -n 3 "$WORK/reuse.server.log" | tr '\n' ' ')"
	wait_metric 10 1 tcpshake_closes_total 'kind="graceful"'
	sc_end
	check_eq "[$tag] server TcpPassiveOpens delta" 2 "$(nstat_s TcpPassiveOpens)"
	check_eq "[$tag] handshakes_total" 2 "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] flows_expired_total{reason=\"superseded\"}" 1 "$(metric tcpshake_flows_expired_total 'reason="superseded"')"
	check_eq "[$tag] events outcome=superseded" 1 "$(event_count "$tag" outcome=superseded sport=$sport)"
	check_eq "[$tag] closes_total{kind=\"graceful\"} (the new connection)" 1 "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] events outcome=closed" 1 "$(event_count "$tag" outcome=closed)"
	check_eq "[$tag] handshake_failures_total (no phantom timeout)" 0 "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] time_wait_connections = ss time-wait" "$SS_TW" "$(metric tcpshake_time_wait_connections)"
	check_quiet_gauges
}

# ---- spoofed orphan SYN-ACK + ACK pairs -----------------------------------------

sc_orphan_pairs() {
	local m=50 tag=orphan-pairs sent
	note "scenario: $m spoofed SYN-ACK + ACK pairs, no SYN, from $SPOOF4_NET (--ingress $1)"
	sc_begin "$tag" --ingress "$1"
	sent=$(spoof orphan-pairs --count $m --src-net "$SPOOF4_NET" --dst "$S4" --dport $PORT) ||
		die "[$tag] spoof.py orphan-pairs failed"
	wait_metric 10 $m tcpshake_synacks_unsolicited_total
	sc_end
	check_eq "[$tag] pairs sent" $m "$sent"
	check_eq "[$tag] SYN-ACKs in the capture" $m "$(pcap_stat "$tag" synack)"
	check_eq "[$tag] synacks_unsolicited_total = SYN-ACKs in the capture" $m "$(metric tcpshake_synacks_unsolicited_total)"
	check_eq "[$tag] handshakes_total" 0 "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] handshake_failures_total" 0 "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] events" 0 "$(event_count "$tag")"
	check_eq "[$tag] half_open_connections" 0 "$(metric tcpshake_half_open_connections)"
	check_quiet_gauges
}

# ---- LAND SYNs -------------------------------------------------------------------

sc_land() {
	local k=20 tag=land sent
	note "scenario: $k LAND SYNs ($S4 to itself, ports $PORT.. at both ends), --syn-timeout 2 (--ingress $1)"
	sc_begin "$tag" --ingress "$1" --syn-timeout 2
	server_start "$tag" --addr "$S4" --port $PORT --mode hold --hold 4 --timeout 10
	sent=$(spoof land --count $k --dst "$S4" --dport $PORT) || die "[$tag] spoof.py land failed"
	wait_metric 10 $k tcpshake_handshake_failures_total 'reason="timeout"'
	sc_end
	server_wait "$tag"
	check_eq "[$tag] LAND SYNs sent" $k "$sent"
	check_eq "[$tag] TCP packets in the capture (the server answered none)" $k "$(pcap_stat "$tag" tcp_packets)"
	check_eq "[$tag] server TcpPassiveOpens delta" 0 "$(nstat_s TcpPassiveOpens)"
	check_eq "[$tag] server TcpOutRsts delta" 0 "$(nstat_s TcpOutRsts)"
	check_eq "[$tag] syn_packets_total = SYNs in the capture" "$(pcap_stat "$tag" syn)" "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] syn_packets_total" $k "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] handshake_failures_total{reason=\"timeout\"}" $k "$(metric tcpshake_handshake_failures_total 'reason="timeout"')"
	check_eq "[$tag] handshakes_total" 0 "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] simultaneous_opens_total" 0 "$(metric tcpshake_simultaneous_opens_total)"
	check_eq "[$tag] events outcome=timeout" $k "$(event_count "$tag" outcome=timeout)"
	check_quiet_gauges
}

# ---- SYNs with FIN or RST ----------------------------------------------------------

sc_syn_rst() {
	local n=6 m=300 tag=syn-rst sent resets
	note "scenario: $m SYNs with FIN or RST from $SPOOF4_NET at a listening port, then a SYN with RST at the next sequence number into each of $n trickling connections (--ingress $1)"
	sc_begin "$tag" --ingress "$1"
	server_start "$tag" --addr "$S4" --port $PORT --mode trickle-reset --count $n --timeout 30
	client_start "$tag" --addr "$S4" --port $PORT --mode trickle-reset --count $n --parallel $n \
		--gap 0.2 --rounds 75 --timeout 25
	wait_metric 15 $n tcpshake_established_connections
	sent=$(spoof syn-strays --count $m --src-net "$SPOOF4_NET" --dst "$S4" --dport $PORT) ||
		die "[$tag] spoof.py syn-strays failed"
	wait_exports 1
	check_eq "[$tag] syn_sent_connections after the scan (no attempt started)" 0 \
		"$(metric tcpshake_syn_sent_connections)"
	resets=$(spoof syn-rst-exact --dst "$S4" --dport $PORT --conns $n) ||
		die "[$tag] spoof.py syn-rst-exact failed"
	client_wait "$tag"
	server_wait "$tag"
	wait_metric 10 $n tcpshake_closes_total 'kind="reset"'
	sc_end
	check_eq "[$tag] scan segments sent" $m "$sent"
	check_eq "[$tag] SYNs with RST sent into the connections" $n "$resets"
	check_eq "[$tag] server TcpEstabResets delta (the kernel took each as a RST)" $n \
		"$(nstat_s TcpEstabResets)"
	check_eq "[$tag] closes_total{kind=\"reset\"} = server TcpEstabResets delta" \
		"$(nstat_s TcpEstabResets)" "$(metric tcpshake_closes_total 'kind="reset"')"
	check_eq "[$tag] events outcome=reset" $n "$(event_count "$tag" outcome=reset)"
	# The client's SYN with RST ended each, as in the server's kernel, not
	# the server's RST answering the client's next byte a moment later.
	check_eq "[$tag] events conn_state=RSTO (the originator's reset)" $n \
		"$(event_count "$tag" outcome=reset conn_state=RSTO)"
	# check_handshakes but its byte counts: each client sends one more byte
	# after its server socket is gone (how it learns of the reset), which
	# the capture's count of the stream includes and the connection, ended
	# at the RST, does not (test_links compares the bytes of resets).
	check_eq "[$tag] server TcpPassiveOpens delta" $n "$(nstat_s TcpPassiveOpens)"
	check_eq "[$tag] handshakes_total = TcpPassiveOpens delta" "$(nstat_s TcpPassiveOpens)" \
		"$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] handshakes_total = complete handshakes in the capture (tcp.completeness)" \
		"$(pcap_stat "$tag" completeness_handshakes)" "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] syn_packets_total = SYNs in the capture (the scan's and the resets' too)" \
		"$(pcap_stat "$tag" syn)" "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] synack_packets_total = SYN-ACKs in the capture" "$(pcap_stat "$tag" synack)" \
		"$(metric tcpshake_synack_packets_total)"
	check_eq "[$tag] events outcome=established" $n "$(event_count "$tag" outcome=established)"
	check_rtt "$tag"
	check_hist
	check_eq "[$tag] handshake_failures_total (the scan started no attempt)" 0 \
		"$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] syn_sent_connections" 0 "$(metric tcpshake_syn_sent_connections)"
	check_eq "[$tag] resets_ignored_total" 0 "$(metric tcpshake_resets_ignored_total)"
	check_eq "[$tag] closes_total{kind=\"graceful\"}" 0 "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_quiet_gauges
}

# ---- segments of no connection into crowded buckets ------------------------------

sc_strays_crowded() {
	local n=400 m=2000 tag=strays-crowded sent
	note "scenario: $n connections trickling in a 1,024-flow table, $m segments of no connection from $SPOOF4_NET meanwhile (--ingress $1)"
	sc_begin "$tag" --ingress "$1" --max-flows 1024
	server_start "$tag" --addr "$S4" --port $PORT --mode trickle --count $n --timeout 40
	client_start "$tag" --addr "$S4" --port $PORT --mode trickle --count $n --parallel $n \
		--gap 0.2 --rounds 40 --timeout 30
	wait_metric 15 $n tcpshake_established_connections
	check_eq "[$tag] connections established before the strays" $n \
		"$(metric tcpshake_established_connections)"
	sent=$(spoof strays --count $m --src-net "$SPOOF4_NET" --dst "$S4" --dport $PORT) ||
		die "[$tag] spoof.py strays failed"
	client_wait "$tag"
	server_wait "$tag"
	wait_metric 10 $n tcpshake_closes_total 'kind="graceful"'
	sc_end
	check_eq "[$tag] strays sent" $m "$sent"
	check_handshakes $n
	check_eq "[$tag] closes_total{kind=\"graceful\"} = connections" $n "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] closes_total{kind=\"reset\"}" 0 "$(metric tcpshake_closes_total 'kind="reset"')"
	check_eq "[$tag] synacks_unsolicited_total = stray SYN-ACKs" $((m / 4)) "$(metric tcpshake_synacks_unsolicited_total)"
	check_eq "[$tag] handshake_failures_total" 0 "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] resets_ignored_total" 0 "$(metric tcpshake_resets_ignored_total)"
	check_eq "[$tag] invalid_segments_total" 0 "$(metric tcpshake_invalid_segments_total)"
	check_eq "[$tag] flow_evictions_total" 0 "$(metric tcpshake_flow_evictions_total)"
	check_eq "[$tag] events outcome=closed" $n "$(event_count "$tag" outcome=closed)"
	check_quiet_gauges
}

run_sc blind-rst sc_blind_rst xdp
run_sc blind-data-rst sc_blind_data_rst tc
run_sc port-reuse sc_port_reuse tc
run_sc orphan-pairs sc_orphan_pairs xdp
run_sc syn-rst sc_syn_rst tc
run_sc land sc_land xdp
run_sc strays-crowded sc_strays_crowded xdp
net_down
finish
