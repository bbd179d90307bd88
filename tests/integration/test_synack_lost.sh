#!/usr/bin/env bash
# A server's SYN-ACK answered by an ICMP error, as the server's kernel sees
# it: tcp_v4_err() / tcp_v6_err() -> tcp_req_err() drop the half-open request
# at once (TcpExtListenDrops, one SYN-RECV socket fewer) when the error
# quotes the request's ISN and is IPv4 destination unreachable code 0 or 1,
# time exceeded or parameter problem, or IPv6 destination unreachable code 1
# or 4 and up, or parameter problem; other errors, and any quoting another
# sequence number (TcpExtOutOfWindowIcmps), leave it alone. The monitor on
# the server's veth must follow: the dropped attempt is back to "SYN not
# answered" (half_open_connections -1, syn_sent_connections +1), and fails
# as reason="unreachable" (the error's icmp_type / icmp_code in its event)
# only when --syn-timeout passes without another answer; an ignored error
# changes nothing. ICMP never counts in packets_total. Under --ingress xdp
# and tc:
#   spoofed  bare SYNs (synack_lost.py, scapy) from lib.sh's spoofed range,
#            routed back to the client namespace, which forwards (inside it
#            only) and answers the server's SYN-ACKs itself: `unreachable`
#            (IPv4 3/1, dropped) and `prohibit` (3/13, kept) routes, and for
#            IPv6 in fd77:99::/48 `prohibit` (1/1, dropped) and `unreachable`
#            (1/0, no route: kept); a third range is black-holed and its
#            first SYN-ACKs draw errors forged by synack_lost.py with a
#            dropping code but quoting ISN + 1000 (kept). Each IPv4
#            route-error attempt goes to a server address of its own:
#            ip_error() lets through a burst of 5 errors per address the
#            errored packet came from, then 1/s (its cost is a global
#            sysctl, left alone). tcp_synack_retries 1: the kept requests'
#            SYN-ACKs go again at 1 s (errors again) and the kernel drops
#            them at 3 s. While they last: half_open_connections = ss state
#            syn-recv (the kept ones), syn_sent_connections = the dropped
#            ones, no failure yet; then reason="unreachable" for the dropped
#            attempts (events = their 4-tuples, the capture's type/code) and
#            reason="timeout" for the kept ones, against ListenDrops,
#            OutOfWindowIcmps and the capture (errors quoting the ISN /
#            ISN + 1000).
#   real     a real connect() per family whose first SYN-ACK is lost to an
#            error: the client namespace forwards and, ahead of its local
#            table, has a policy rule (no iptables / nft needed) sending the
#            server port's packets to an `unreachable` route (IPv4: 3/1) or
#            `prohibit` (IPv6: 1/1), deleted as soon as the error has left.
#            The client retransmits its SYN at 1 s, the server answers with
#            a new SYN-ACK (a new ISN) and the handshake completes: one
#            handshake and one SYN retransmission per connect, handshake_s
#            from the first SYN, no failure of any reason and no invalid
#            segment even past --syn-timeout, against ListenDrops, the
#            client's ICMP counters and the capture (two SYN-ACKs of
#            different ISNs, the error quoting the first).
. "$(dirname "$0")/lib.sh"

SYN_TIMEOUT=3
HELPER=$IT_DIR/synack_lost.py
ENDPOINTS=$IT_DIR/endpoints.py    # the listener and the client
N=8                               # spoofed attempts per group and family

# Spoofed sources: lib.sh's SPOOF4_NET (routed from the server namespace to
# the client namespace) in three /26s, and fd77:99::/48, routed the same way
# here; the client namespace answers each group's SYN-ACKs.
DROP4_NET=10.77.99.0/26           # `unreachable` route: 3/1, the request dropped
KEEP4_NET=10.77.99.64/26          # `prohibit` route: 3/13, kept
FORGE4_NET=10.77.99.128/26        # blackhole; errors forged (3/1) at ISN + 1000: kept
SPOOF6_NET=fd77:99::/48
DROP6_NET=fd77:99:0:1::/64        # `prohibit` route: 1/1, dropped
KEEP6_NET=fd77:99:0:2::/64        # `unreachable` route: 1/0, kept
FORGE6_NET=fd77:99:0:3::/64       # blackhole; errors forged (1/1) at ISN + 1000: kept
SRV4=10.77.0.                     # server addresses 10.77.0.101-108: one per drop4 attempt,
DROP4_SRV=100                     # 10.77.0.111-118: one per keep4 attempt
KEEP4_SRV=110
P_DROP=8081
P_KEEP=8082
P_FORGE=8083
P_REAL4=8090
P_REAL6=8091
RULE_TABLE=92                     # the client namespace's table of the real scenario's rule

require_root_tools
require_scapy

# ---- helpers ----------------------------------------------------------------------

# serve_start TAG COUNT TIMEOUT PORT...: synack_lost.py serve in the server namespace.
serve_start() {
	local tag=$1 count=$2 timeout=$3 p args=()
	shift 3
	for p in "$@"; do
		args+=(--port "$p")
	done
	rm -f "$WORK/$tag.sready"
	timeout $((timeout + 10)) ip netns exec "$NS_S" "$PY" "$ENDPOINTS" serve "${args[@]}" --count "$count" \
		--timeout "$timeout" --ready "$WORK/$tag.sready" >"$WORK/$tag.server.log" 2>&1 &
	SERVER_PID=$!
	track "$SERVER_PID"
}

serve_ready() {
	wait_for 10 "listener" test -e "$WORK/$1.sready" || die "[$1] the listener did not start: $(cat "$WORK/$1.server.log")"
}

# cap_summary TAG NAME=CIDR[@PORT]...: synack_lost.py pcap into $WORK/TAG.kv
# (and the attempts into $WORK/TAG.flows.json).
cap_summary() {
	local tag=$1
	shift
	"$PY" "$HELPER" pcap --offset 1000 --flows "$WORK/$tag.flows.json" "$WORK/$tag.pcapng" "$@" \
		>"$WORK/$tag.kv" || die "[$tag] analysing the capture failed"
}

# cap_val TAG KEY, cap_vals TAG GROUP KEY...: cap_summary's values.
cap_val() { kv_val "$WORK/$1.kv" "$2"; }
cap_vals() { kv_vals "$WORK/$1.kv" "${@:2}"; }

# watch_server TAG MODE: after a scenario's own set-up, the monitor on the
# server's veth, the capture there and both namespaces' nstat snapshots.
watch_server() {
	mon_start "$1" --ingress "$2" --syn-timeout "$SYN_TIMEOUT"
	cap_start "$NS_S" "$IF_S" "$1"
	nstat_snap "$NS_S" "$1.s"
	nstat_snap "$NS_C" "$1.c"
	check_hook "$2"
}

# The monitor's TCP counters against the capture's (ICMP is not TCP).
check_tcp_counts() {
	local tag=$MON_TAG
	check_tcp_packets "$WORK/$tag.kv"
	check_eq "[$tag] synack_retransmits_total = SYN-ACK retransmissions in the capture (a known ISN again)" \
		"$(cap_val "$tag" synack_retrans)" "$(metric tcpshake_synack_retransmits_total)"
	check_eq "[$tag] invalid_segments_total / synacks_unsolicited_total" "0 0" \
		"$(metric tcpshake_invalid_segments_total) $(metric tcpshake_synacks_unsolicited_total)"
}

syn_recv_is() { [[ $(ss_count "$NS_S" syn-recv) == "$1" ]]; }

# ---- spoofed: SYN-ACKs to spoofed sources, errors from the client namespace ----------

# spoof_router_up: the client namespace routes the spoofed ranges (see the top).
spoof_router_up() {
	# Every SYN-ACK its error: no per-destination ICMPv6 limit, and room in
	# the namespace's ICMP budget (shared by both families) for the burst.
	in_c sysctl -qw net.ipv4.ip_forward=1 net.ipv6.icmp.ratelimit=0 net.ipv4.icmp_msgs_burst=1000 \
		net.ipv4.conf.all.send_redirects=0 "net.ipv4.conf.$IF_C.send_redirects=0"
	ip -n "$NS_S" route add "$SPOOF6_NET" via "$C6" dev "$IF_S"
	ip -n "$NS_C" route add unreachable "$DROP4_NET"
	ip -n "$NS_C" route add prohibit "$KEEP4_NET"
	ip -n "$NS_C" route add blackhole "$FORGE4_NET"
	ip -n "$NS_C" route add prohibit "$DROP6_NET"
	ip -n "$NS_C" route add unreachable "$KEEP6_NET"
	ip -n "$NS_C" route add blackhole "$FORGE6_NET"
	# Whatever else of the unowned ranges reaches the forwarding client
	# namespace still dies silently (lib.sh's promise).
	ip -n "$NS_C" route add blackhole "$SPOOF4_NET"
	ip -n "$NS_C" route add blackhole "$SPOOF4_WIDE_NET"
	ip -n "$NS_C" route add blackhole "$SPOOF6_NET"
	local i a mac_s
	mac_s=$(mac "$NS_S" "$IF_S")
	for ((i = 1; i <= N; i++)); do
		for a in $((DROP4_SRV + i)) $((KEEP4_SRV + i)); do
			ip -n "$NS_S" addr add "$SRV4$a/24" dev "$IF_S"
			ip -n "$NS_C" neigh replace "$SRV4$a" lladdr "$mac_s" dev "$IF_C" nud permanent
		done
	done
}

sc_spoofed() {
	local mode=$1 tag=spoofed-$1 i rc=0
	local ndrop=$((2 * N)) nkeep=$((4 * N))
	note "scenario: $((6 * N)) spoofed SYNs whose SYN-ACKs draw ICMP errors: 3/1 and 1/1 (dropped), 3/13 and 1/0 (kept), forged 3/1 and 1/1 at ISN + 1000 (kept), --syn-timeout $SYN_TIMEOUT (--ingress $mode)"
	net_up
	spoof_router_up
	in_s sysctl -qw net.ipv4.tcp_synack_retries=1
	serve_start "$tag" 0 30 "$P_DROP" "$P_KEEP" "$P_FORGE"
	watch_server "$tag" "$mode"
	serve_ready "$tag"

	local -a syns=()
	for ((i = 1; i <= N; i++)); do
		syns+=("${DROP4_NET%0/26}$i,$SRV4$((DROP4_SRV + i)),$P_DROP" "${KEEP4_NET%64/26}$((64 + i)),$SRV4$((KEEP4_SRV + i)),$P_KEEP"
			"${FORGE4_NET%128/26}$((128 + i)),$S4,$P_FORGE"
			"${DROP6_NET%/64}$i,$S6,$P_DROP" "${KEEP6_NET%/64}$i,$S6,$P_KEEP" "${FORGE6_NET%/64}$i,$S6,$P_FORGE")
	done
	timeout 40 ip netns exec "$NS_C" "$PY" "$HELPER" spoof --iface "$IF_C" --gw-mac "$(mac "$NS_S" "$IF_S")" \
		--src4 "$C4" --src6 "$C6" --forge "$FORGE4_NET" --forge "$FORGE6_NET" --offset 1000 --listen 5 \
		"${syns[@]}" >"$WORK/$tag.spoof.json" 2>"$WORK/$tag.spoof.log" || rc=$?
	((rc == 0)) || fail "[$tag] synack_lost.py spoof: exit $rc: $(tail -n 3 "$WORK/$tag.spoof.log" | tr '\n' ' ')"

	# While the kept requests last (the kernel drops them at ~3 s).
	wait_exports 2
	local ss_now gauge sent drops oow fails
	ss_now=$(ss_count "$NS_S" syn-recv)
	gauge=$(metric tcpshake_half_open_connections) || true
	sent=$(metric tcpshake_syn_sent_connections) || true
	fails=$(metric tcpshake_handshake_failures_total) || true
	drops=$(nstat_s TcpExtListenDrops)
	oow=$(nstat_s TcpExtOutOfWindowIcmps)
	check_eq "[$tag] server ss state syn-recv after the errors (the kept attempts)" $nkeep "$ss_now"
	check_eq "[$tag] server TcpExtListenDrops delta (the requests dropped)" $ndrop "$drops"
	check_eq "[$tag] server TcpExtOutOfWindowIcmps delta (the forged errors)" $((2 * N)) "$oow"
	check_eq "[$tag] half_open_connections = ss state syn-recv" "$ss_now" "$gauge"
	check_eq "[$tag] syn_sent_connections = the dropped requests (back to SYN not answered)" "$drops" "$sent"
	check_eq "[$tag] handshake_failures_total (none yet: nothing counted at the error)" 0 "$fails"

	wait_for 10 "syn-recv gone" syn_recv_is 0 || fail "[$tag] SYN-RECV sockets still there after 10 s"
	wait_metric 10 $nkeep tcpshake_handshake_failures_total 'reason="timeout"'
	wait_metric 5 $ndrop tcpshake_handshake_failures_total 'reason="unreachable"'
	sleep 1       # margin past the syn-timeout of anything else
	stop_pid "$SERVER_PID" TERM 5 || true
	untrack "$SERVER_PID"
	last_packet "$WORK/$tag.hping3.log"
	sc_end
	cap_summary "$tag" "drop4=$DROP4_NET" "keep4=$KEEP4_NET" "forge4=$FORGE4_NET" \
		"drop6=$DROP6_NET" "keep6=$KEEP6_NET" "forge6=$FORGE6_NET"

	# The kernel's side, in the capture: each SYN-ACK's error quoting its
	# ISN (ISN + 1000 forged), the dropped requests never retransmitted.
	check_eq "[$tag] errors forged at ISN + 1000" $((2 * N)) \
		"$(grep -c '"kind": "forged"' "$WORK/$tag.spoof.json")"
	local f
	for f in 4 6; do
		local c_drop=3/1 c_keep=3/13
		[[ $f == 6 ]] && { c_drop=1/1; c_keep=1/0; }
		check_eq "[$tag] drop$f: attempts / SYN-ACKs / errors / quoting the ISN / codes in the capture" \
			"$N $N $N $N $c_drop" "$(cap_vals "$tag" drop$f attempts synack icmp icmp_isn codes)"
		check_eq "[$tag] keep$f: attempts / SYN-ACKs (1 retransmission each) / errors / quoting the ISN / codes" \
			"$N $((2 * N)) $((2 * N)) $((2 * N)) $c_keep" "$(cap_vals "$tag" keep$f attempts synack icmp icmp_isn codes)"
		check_eq "[$tag] forge$f: attempts / SYN-ACKs / errors / quoting ISN + 1000 / codes" \
			"$N $((2 * N)) $N $N $c_drop" "$(cap_vals "$tag" forge$f attempts synack icmp icmp_off codes)"
	done

	# The monitor's.
	check_eq "[$tag] handshake_failures_total{reason=\"unreachable\"} = server TcpExtListenDrops delta" \
		"$drops" "$(metric tcpshake_handshake_failures_total 'reason="unreachable"')"
	check_eq "[$tag] handshake_failures_total{reason=\"unreachable\",port=\"$P_DROP\"}" $ndrop \
		"$(metric tcpshake_handshake_failures_total 'reason="unreachable"' "port=\"$P_DROP\"")"
	check_eq "[$tag] handshake_failures_total{reason=\"timeout\",port=\"$P_KEEP\"} (3/13, 1/0 ignored)" $((2 * N)) \
		"$(metric tcpshake_handshake_failures_total 'reason="timeout"' "port=\"$P_KEEP\"")"
	check_eq "[$tag] handshake_failures_total{reason=\"timeout\",port=\"$P_FORGE\"} (ISN + 1000 ignored)" $((2 * N)) \
		"$(metric tcpshake_handshake_failures_total 'reason="timeout"' "port=\"$P_FORGE\"")"
	check_eq "[$tag] handshake_failures_total (every reason)" $((6 * N)) "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] events outcome=unreachable, ipv4, icmp 3/1, dport $P_DROP" $N \
		"$(event_count "$tag" outcome=unreachable family=ipv4 icmp_type=3 icmp_code=1 dport=$P_DROP)"
	check_eq "[$tag] events outcome=unreachable, ipv6, icmp 1/1, dport $P_DROP" $N \
		"$(event_count "$tag" outcome=unreachable family=ipv6 icmp_type=1 icmp_code=1 dport=$P_DROP)"
	check_report "[$tag] outcome=unreachable events = the dropped attempts' 4-tuples, the capture's type/code" \
		"$PY" "$HELPER" events "$WORK/$tag.events" "$WORK/$tag.flows.json" drop4 drop6
	check_eq "[$tag] events outcome=timeout, icmp_type null, dports $P_KEEP and $P_FORGE" $nkeep \
		$(($(event_count "$tag" outcome=timeout icmp_type=null dport=$P_KEEP) + $(event_count "$tag" outcome=timeout icmp_type=null dport=$P_FORGE)))
	check_eq "[$tag] events" $((6 * N)) "$(event_count "$tag")"
	check_cmd "[$tag] every event line has the documented fields and types" \
		"$PY" "$ANALYZE" validate-events "$WORK/$tag.events"
	check_tcp_counts
	check_eq "[$tag] handshakes_total" 0 "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] events_lost_total" 0 "$(metric tcpshake_events_lost_total)"
	check_quiet_gauges
	check_eq "[$tag] syn_sent_connections" 0 "$(metric tcpshake_syn_sent_connections)"
	check_promtool
	check_read "$tag" --syn-timeout "$SYN_TIMEOUT" --local-net "$S4/32" \
		--local-net "${SRV4}96/27" --local-net "$S6/128"   # 10.77.0.101-118 too
}

# ---- real: a client's first SYN-ACK lost to an error -----------------------------------

# errors_sent: the client namespace sent an ICMP and an ICMPv6 destination unreachable.
errors_sent() {
	[[ $(nstat_c IcmpOutDestUnreachs) -ge 1 && $(nstat_c Icmp6OutDestUnreachs) -ge 1 ]]
}

sc_real() {
	local mode=$1 tag=real-$1 rc=0 cpid t0
	note "scenario: a real connect per family whose first SYN-ACK draws an ICMP error (3/1, 1/1): the SYN retransmitted at 1 s, a new SYN-ACK, one handshake (--ingress $mode)"
	net_up
	in_c sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 "net.ipv4.conf.$IF_C.send_redirects=0"
	# The local table after the rule, so that the rule's error routes win
	# for the client's own address (ip_error() sends only where the
	# interface forwards).
	ip -n "$NS_C" rule add pref 1000 lookup local
	ip -n "$NS_C" rule del pref 0
	ip -n "$NS_C" -6 rule add pref 1000 lookup local
	ip -n "$NS_C" -6 rule del pref 0
	ip -n "$NS_C" route add unreachable default table $RULE_TABLE
	serve_start "$tag" 2 20 "$P_REAL4" "$P_REAL6"
	watch_server "$tag" "$mode"
	serve_ready "$tag"

	ip -n "$NS_C" rule add pref 10 iif "$IF_C" ipproto tcp sport $P_REAL4 lookup $RULE_TABLE
	ip -n "$NS_C" -6 rule add pref 10 iif "$IF_C" ipproto tcp sport $P_REAL6 prohibit
	t0=$EPOCHREALTIME
	timeout 30 ip netns exec "$NS_C" "$PY" "$ENDPOINTS" connect --timeout 10 \
		"real4,$S4,$P_REAL4,,,talk" "real6,$S6,$P_REAL6,,,talk" \
		>"$WORK/$tag.client.json" 2>"$WORK/$tag.client.log" &
	cpid=$!
	track $cpid
	# The SYNs' retransmissions come at 1 s: the rules go well before.
	wait_for 3 "errors" errors_sent || fail "[$tag] the client namespace sent no error within 3 s"
	sleep 0.1
	ip -n "$NS_C" rule del pref 10
	ip -n "$NS_C" -6 rule del pref 10
	log "rules deleted $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s after the connects started"
	wait "$cpid" || fail "[$tag] client: $(tail -n 3 "$WORK/$tag.client.log" | tr '\n' ' ')"
	untrack "$cpid"
	local f
	for f in 4 6; do
		check_eq "[$tag] IPv$f connect: result, closed" "connected True" \
			"$("$PY" -c 'import json, sys
for r in map(json.loads, open(sys.argv[1])):
    if r["name"] == sys.argv[2]:
        print(r.get("result", r.get("error")), r.get("closed", False))' "$WORK/$tag.client.json" "real$f")"
	done
	# Past --syn-timeout after the first SYN-ACKs: an attempt the monitor
	# still took for unanswered, or a SYN-ACK it took for invalid, has
	# failed by now.
	sleep "$SYN_TIMEOUT"
	rc=0
	wait "$SERVER_PID" || rc=$?
	untrack "$SERVER_PID"
	((rc == 0)) || fail "[$tag] listener: exit $rc: $(tail -n 3 "$WORK/$tag.server.log" | tr '\n' ' ')"
	local drops icmp4 icmp6
	drops=$(nstat_s TcpExtListenDrops)
	icmp4=$(nstat_c IcmpOutDestUnreachs)
	icmp6=$(nstat_c Icmp6OutDestUnreachs)
	last_packet "$WORK/$tag.hping3.log"
	sc_end
	cap_summary "$tag" "real4=$C4/32@$P_REAL4" "real6=$C6/128@$P_REAL6"

	# The kernel's side.
	check_eq "[$tag] server TcpExtListenDrops delta (each first request dropped)" 2 "$drops"
	check_eq "[$tag] client IcmpOutDestUnreachs / Icmp6OutDestUnreachs deltas" "1 1" "$icmp4 $icmp6"
	check_eq "[$tag] server TcpPassiveOpens delta" 2 "$(nstat_s TcpPassiveOpens)"
	for f in 4 6; do
		local code=3/1
		[[ $f == 6 ]] && code=1/1
		check_eq "[$tag] real$f: attempts / SYNs / SYN-ACKs / their ISNs / errors / quoting the first ISN / codes / completed" \
			"1 2 2 2 1 1 $code 1" "$(cap_vals "$tag" "real$f" attempts syn synack synack_isns icmp icmp_isn codes completed)"
	done
	check_cmd "[$tag] each error quotes its flow's first SYN-ACK" "$PY" -c '
import json, sys
for f in json.load(open(sys.argv[1])):
    q = [e["quoted_seq"] for e in f["errors"]]
    if q != f["synack_isns"][:1]:
        sys.exit("%s:%d: errors quote %s, SYN-ACK ISNs %s" % (f["src"], f["sport"], q, f["synack_isns"]))
' "$WORK/$tag.flows.json"

	# The monitor's.
	check_eq "[$tag] handshakes_total = server TcpPassiveOpens delta" "$(nstat_s TcpPassiveOpens)" \
		"$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] handshakes_total{port=\"$P_REAL4\"} / {port=\"$P_REAL6\"}" "1 1" \
		"$(metric tcpshake_handshakes_total "port=\"$P_REAL4\"") $(metric tcpshake_handshakes_total "port=\"$P_REAL6\"")"
	check_eq "[$tag] handshake_failures_total (every reason)" 0 "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] syn_retransmits_total (one per connect)" 2 "$(metric tcpshake_syn_retransmits_total)"
	check_tcp_counts
	check_eq "[$tag] events outcome=established, syn_retransmits=1" 2 \
		"$(event_count "$tag" outcome=established syn_retransmits=1 synack_retransmits=0)"
	check_eq "[$tag] events outcome=closed, SF, syn_retransmits=1" 2 \
		"$(event_count "$tag" outcome=closed conn_state=SF syn_retransmits=1 synack_retransmits=0)"
	check_eq "[$tag] events (one per handshake, one per close)" 4 "$(event_count "$tag")"
	check_rtt "$tag"
	check_cmd "[$tag] every event line has the documented fields and types" \
		"$PY" "$ANALYZE" validate-events "$WORK/$tag.events"
	check_eq "[$tag] events_lost_total" 0 "$(metric tcpshake_events_lost_total)"
	check_quiet_gauges
	check_eq "[$tag] syn_sent_connections" 0 "$(metric tcpshake_syn_sent_connections)"
	check_promtool
	check_read "$tag" --syn-timeout "$SYN_TIMEOUT" --local-net "$S4/32" --local-net "$S6/128"
}

run_sc spoofed sc_spoofed xdp
run_sc spoofed sc_spoofed tc
run_sc real sc_real xdp
run_sc real sc_real tc
net_down
finish
