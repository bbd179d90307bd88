#!/usr/bin/env bash
# Handshakes that never complete, against the kernel's own view:
#   half-open     spoofed SYNs (hping3, from a range routed back into the
#                 client namespace where nobody owns it, so the SYN-ACKs die):
#                 half_open_connections = ss state syn-recv in the server
#                 namespace while they last = unanswered SYN-ACKs in the
#                 capture; then each attempt times out exactly once
#   syncookies    the same with net.ipv4.tcp_syncookies=2 in the server
#                 namespace: no SYN-RECV sockets, but the gauge still counts
#                 the unanswered (cookie) SYN-ACKs = TcpExtSyncookiesSent
#   late-synack   the kernel retransmits a SYN-ACK after the attempt timed out
#                 (--syn-timeout 2, tcp_synack_retries 2): still one attempt,
#                 one timeout
#   timeout       real connects to a black-hole address, given up by the
#                 client kernel before the monitor's --syn-timeout:
#                 failures{reason="timeout"} = client TcpAttemptFails,
#                 syn_retransmits = client TcpRetransSegs = capture
#   late-syn      the client kernel retransmits a SYN after the monitor's
#                 syn-timeout: still one attempt, one timeout
#   syn-scan      raw SYNs from the client's real address: its kernel resets
#                 every SYN-ACK: failures{reason="reset"} = server
#                 TcpExtEmbryonicRsts = client TcpOutRsts
#   invalid       crafted (scapy) SYN-ACKs and third ACKs with wrong ack
#                 numbers: failures{reason="invalid"} after the syn-timeout,
#                 invalid_segments_total; and RSTs before the third ACK from
#                 either side: failures{reason="reset"}
. "$(dirname "$0")/lib.sh"

PORT=8080
SPOOF=10.77.99.7

require_root_tools
require_hping3
require_scapy

# spoof_syns N SPORT: N SYNs from $SPOOF, source ports SPORT.. , to the server.
spoof_syns() {
	timeout 30 ip netns exec "$NS_C" hping3 -I "$IF_C" -S -p $PORT -a $SPOOF -s "$2" -c "$1" -i u2000 -q "$S4" \
		>"$WORK/$MON_TAG.hping3.log" 2>&1 || true
	local sent
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$WORK/$MON_TAG.hping3.log")
	[[ $sent == "$1" ]] || die "[$MON_TAG] hping3 sent ${sent:-nothing} of $1 SYNs: $(tr '\n' ' ' <"$WORK/$MON_TAG.hping3.log")"
}

# syn_schedule RETRIES: the client kernel's SYN retransmissions: exponential
# backoff from 1 s (0, 1, 3, 7 s...), RETRIES of them, then ETIMEDOUT.
syn_schedule() {
	in_c sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0 2>/dev/null || true
	in_c sysctl -qw "net.ipv4.tcp_syn_retries=$1"
}

# craft ARGS...: craft.py in the client namespace (bounded).
craft() {
	timeout 90 ip netns exec "$NS_C" "$PY" "$CRAFT" --server-ns "$NS_S" "$@" >/dev/null
}

syn_recv_is() { [[ $(ss_count "$NS_S" syn-recv) == "$1" ]]; }

# ---- half-open from spoofed SYNs ------------------------------------------------

sc_half_open() {
	local m=40 tag=half-open
	note "scenario: $m spoofed SYNs, SYN-ACKs unanswered; tcp_synack_retries 1, --syn-timeout 5 (--ingress $1)"
	SC_NET_OPTS='' sc_begin "$tag" --ingress "$1" --syn-timeout 5
	# One SYN-ACK retransmission (after 1 s), then the kernel gives up (~3 s):
	# every SYN-ACK is sent before the monitor's 5 s syn-timeout.
	in_s sysctl -qw net.ipv4.tcp_synack_retries=1
	server_start "$tag" --addr "$S4" --port $PORT --mode hold --hold 30
	spoof_syns $m 20000
	wait_for 5 "syn-recv" syn_recv_is $m || true
	wait_exports 2
	local ss_now gauge
	ss_now=$(ss_count "$NS_S" syn-recv)
	gauge=$(metric tcpshake_half_open_connections) || true
	check_eq "[$tag] server ss state syn-recv while they last" "$m" "$ss_now"
	check_eq "[$tag] half_open_connections = ss state syn-recv" "$ss_now" "$gauge"
	check_eq "[$tag] handshakes_total" 0 "$(metric tcpshake_handshakes_total)"
	HALF_OPEN_SEEN=$gauge
	# Kernel gone (SYN-RECV dropped), monitor's syn-timeout passed.
	wait_for 10 "syn-recv gone" syn_recv_is 0 || fail "[$tag] SYN-RECV sockets still there after 10 s"
	wait_metric 10 $m tcpshake_handshake_failures_total 'reason="timeout"'
	stop_pid "$SERVER_PID" TERM 5 || true
	untrack "$SERVER_PID"
	sc_end
	check_eq "[$tag] unanswered SYN-ACKs in the capture" "$m" "$(pcap_stat "$tag" unanswered_synack)"
	check_eq "[$tag] half_open_connections (while they lasted) = unanswered SYN-ACKs in the capture" \
		"$(pcap_stat "$tag" unanswered_synack)" "$HALF_OPEN_SEEN"
	check_eq "[$tag] syn_packets_total = SYNs in the capture" "$(pcap_stat "$tag" syn)" "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] synack_packets_total = SYN-ACKs in the capture" "$(pcap_stat "$tag" synack)" "$(metric tcpshake_synack_packets_total)"
	check_eq "[$tag] synack_retransmits_total = SYN-ACK retransmissions in the capture" "$(pcap_stat "$tag" synack_retrans)" "$(metric tcpshake_synack_retransmits_total)"
	check_eq "[$tag] handshake_failures_total{reason=\"timeout\"} (each attempt once)" "$m" "$(metric tcpshake_handshake_failures_total 'reason="timeout"')"
	check_eq "[$tag] handshake_failures_total (all reasons)" "$m" "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] half_open_connections after the syn-timeout" 0 "$(metric tcpshake_half_open_connections)"
	check_eq "[$tag] events outcome=timeout from $SPOOF, synack_retransmits=1" "$m" \
		"$(event_count "$tag" outcome=timeout src=$SPOOF dport=$PORT synack_retransmits=1 handshake_s=null)"
	check_eq "[$tag] events (timeouts only)" "$m" "$(event_count "$tag")"
	check_hist
}

# ---- the same with syncookies forced ----------------------------------------

sc_syncookies() {
	local m=40 tag=syncookies
	note "scenario: $m spoofed SYNs with net.ipv4.tcp_syncookies=2 in the server namespace, --syn-timeout 3 (--ingress $1)"
	SC_NET_OPTS='' sc_begin "$tag" --ingress "$1" --syn-timeout 3
	in_s sysctl -qw net.ipv4.tcp_syncookies=2
	nstat_snap "$NS_S" "$tag.s"
	server_start "$tag" --addr "$S4" --port $PORT --mode hold --hold 30
	spoof_syns $m 21000
	wait_exports 2
	local cookies
	cookies=$(nstat_s TcpExtSyncookiesSent)
	check_eq "[$tag] server TcpExtSyncookiesSent delta" "$m" "$cookies"
	check_eq "[$tag] server ss state syn-recv (syncookies: no state)" 0 "$(ss_count "$NS_S" syn-recv)"
	HALF_OPEN_SEEN=$(metric tcpshake_half_open_connections) || true
	check_eq "[$tag] half_open_connections = TcpExtSyncookiesSent delta" "$cookies" "$HALF_OPEN_SEEN"
	wait_metric 10 $m tcpshake_handshake_failures_total 'reason="timeout"'
	stop_pid "$SERVER_PID" TERM 5 || true
	untrack "$SERVER_PID"
	sc_end
	check_eq "[$tag] unanswered SYN-ACKs in the capture" "$m" "$(pcap_stat "$tag" unanswered_synack)"
	check_eq "[$tag] half_open_connections (while they lasted) = unanswered SYN-ACKs in the capture" \
		"$(pcap_stat "$tag" unanswered_synack)" "$HALF_OPEN_SEEN"
	check_eq "[$tag] synack_packets_total = SYN-ACKs in the capture" "$(pcap_stat "$tag" synack)" "$(metric tcpshake_synack_packets_total)"
	check_eq "[$tag] synack_retransmits_total (cookies are never retransmitted)" 0 "$(metric tcpshake_synack_retransmits_total)"
	check_eq "[$tag] handshake_failures_total{reason=\"timeout\"}" "$m" "$(metric tcpshake_handshake_failures_total 'reason="timeout"')"
	check_eq "[$tag] half_open_connections after the syn-timeout" 0 "$(metric tcpshake_half_open_connections)"
	check_hist
}

# ---- a SYN-ACK retransmitted after the monitor's syn-timeout ----------------

sc_late_synack() {
	local m=20 tag=late-synack
	note "scenario: $m spoofed SYNs, SYN-ACKs retransmitted after 1 s and 3 s, --syn-timeout 2 (--ingress $1)"
	SC_NET_OPTS='' sc_begin "$tag" --ingress "$1" --syn-timeout 2
	in_s sysctl -qw net.ipv4.tcp_synack_retries=2
	server_start "$tag" --addr "$S4" --port $PORT --mode hold --hold 30
	spoof_syns $m 22000
	wait_for 5 "syn-recv" syn_recv_is $m || true
	# The kernel retransmits at ~1 s and ~3 s and drops the request at ~7 s.
	wait_for 12 "syn-recv gone" syn_recv_is 0 || fail "[$tag] SYN-RECV sockets still there after 12 s"
	sleep 1       # margin past the syn-timeout of anything the last SYN-ACK started
	stop_pid "$SERVER_PID" TERM 5 || true
	untrack "$SERVER_PID"
	sc_end
	check_eq "[$tag] SYN-ACKs in the capture (1 + 2 retransmissions each)" $((3 * m)) "$(pcap_stat "$tag" synack)"
	check_eq "[$tag] synack_retransmits_total = SYN-ACK retransmissions in the capture" "$(pcap_stat "$tag" synack_retrans)" "$(metric tcpshake_synack_retransmits_total)"
	check_eq "[$tag] handshake_failures_total{reason=\"timeout\"} = attempts (SYNs sent)" "$m" "$(metric tcpshake_handshake_failures_total 'reason="timeout"')"
	check_eq "[$tag] events outcome=timeout" "$m" "$(event_count "$tag" outcome=timeout)"
	check_eq "[$tag] half_open_connections at the end" 0 "$(metric tcpshake_half_open_connections)"
}

# ---- real connects that are never answered ---------------------------------

sc_timeout() {
	local n=20 tag=timeout
	note "scenario: $n connects to a black-hole address, SYNs at 0 and 1 s, the client kernel gives up at 3 s, --syn-timeout 2 (--ingress $1)"
	sc_begin "$tag" --ingress "$1" --syn-timeout 2
	# Classic exponential SYN backoff (6.5+ kernels start linear unless told
	# otherwise), one retransmission: SYNs at 0 and 1 s, ETIMEDOUT at 3 s,
	# counted by the client kernel in TcpAttemptFails.
	syn_schedule 1
	client_run "$tag" --addr "$BLACKHOLE4" --port $PORT --mode timeout --count $n --parallel $n --timeout 10
	wait_metric 10 $n tcpshake_handshake_failures_total 'reason="timeout"'
	sc_end
	local retrans
	retrans=$(pcap_stat "$tag" syn_retrans)
	check_eq "[$tag] client TcpAttemptFails delta" "$n" "$(nstat_c TcpAttemptFails)"
	check_eq "[$tag] handshake_failures_total{reason=\"timeout\"} = client TcpAttemptFails delta" \
		"$(nstat_c TcpAttemptFails)" "$(metric tcpshake_handshake_failures_total 'reason="timeout"')"
	check_eq "[$tag] never-answered attempts in the capture" "$n" "$(pcap_stat "$tag" syn_only)"
	check_eq "[$tag] SYN retransmissions in the capture" "$n" "$retrans"
	check_eq "[$tag] client TcpRetransSegs delta = SYN retransmissions in the capture" "$retrans" "$(nstat_c TcpRetransSegs)"
	check_eq "[$tag] syn_retransmits_total = SYN retransmissions in the capture" "$retrans" "$(metric tcpshake_syn_retransmits_total)"
	check_eq "[$tag] syn_packets_total = SYNs in the capture" "$(pcap_stat "$tag" syn)" "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] handshake_failures_total (all reasons)" "$n" "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] syn_sent_connections" 0 "$(metric tcpshake_syn_sent_connections)"
	check_eq "[$tag] events outcome=timeout, S0, no SYN-ACK" "$n" \
		"$(event_count "$tag" outcome=timeout conn_state=S0 dst=$BLACKHOLE4 syn_to_synack_s=null syn_retransmits=1)"
	check_eq "[$tag] events: sum of syn_retransmits = SYN retransmissions in the capture" "$retrans" \
		"$(event_sum "$tag" syn_retransmits outcome=timeout)"
}

# ---- a SYN retransmitted after the monitor's syn-timeout --------------------

sc_late_syn() {
	local n=10 tag=late-syn
	note "scenario: $n connects to a black-hole address, SYNs at 0, 1 and 3 s, --syn-timeout 2 (--ingress $1)"
	sc_begin "$tag" --ingress "$1" --syn-timeout 2
	# SYNs at 0, 1 and 3 s, ETIMEDOUT at 7 s: the third SYN (same ISN) comes
	# after the monitor's 2 s syn-timeout.
	syn_schedule 2
	client_run "$tag" --addr "$BLACKHOLE4" --port $PORT --mode timeout --count $n --parallel $n --timeout 15
	sleep 1       # margin past the syn-timeout of anything the last SYN started
	sc_end
	check_eq "[$tag] client TcpAttemptFails delta" "$n" "$(nstat_c TcpAttemptFails)"
	check_eq "[$tag] handshake_failures_total{reason=\"timeout\"} = client TcpAttemptFails delta (one per attempt)" \
		"$(nstat_c TcpAttemptFails)" "$(metric tcpshake_handshake_failures_total 'reason="timeout"')"
	check_eq "[$tag] syn_retransmits_total = SYN retransmissions in the capture" "$(pcap_stat "$tag" syn_retrans)" "$(metric tcpshake_syn_retransmits_total)"
	check_eq "[$tag] events outcome=timeout" "$n" "$(event_count "$tag" outcome=timeout)"
}

# ---- a SYN scan from a real address: the client kernel resets the SYN-ACKs ----

sc_syn_scan() {
	local m=30 tag=syn-scan
	note "scenario: $m raw SYNs from the client's own address (hping3): its kernel answers each SYN-ACK with a RST (--ingress $1)"
	sc_begin "$tag" --ingress "$1"
	server_start "$tag" --addr "$S4" --port $PORT --mode hold --hold 30
	timeout 30 ip netns exec "$NS_C" hping3 -I "$IF_C" -S -p $PORT -s 25000 -c $m -i u2000 -q "$S4" >"$WORK/$tag.hping3.log" 2>&1 || true
	wait_exports 2
	stop_pid "$SERVER_PID" TERM 5 || true
	untrack "$SERVER_PID"
	sc_end
	check_eq "[$tag] server TcpExtEmbryonicRsts delta" "$m" "$(nstat_s TcpExtEmbryonicRsts)"
	check_eq "[$tag] client TcpOutRsts delta" "$m" "$(nstat_c TcpOutRsts)"
	check_eq "[$tag] handshake_failures_total{reason=\"reset\"} = server TcpExtEmbryonicRsts delta" \
		"$(nstat_s TcpExtEmbryonicRsts)" "$(metric tcpshake_handshake_failures_total 'reason="reset"')"
	check_eq "[$tag] handshake_failures_total (all reasons)" "$m" "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] RSTs in the capture" "$m" "$(pcap_stat "$tag" rst)"
	check_eq "[$tag] syn_packets_total = SYNs in the capture" "$(pcap_stat "$tag" syn)" "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] synack_packets_total = SYN-ACKs in the capture" "$(pcap_stat "$tag" synack)" "$(metric tcpshake_synack_packets_total)"
	check_eq "[$tag] handshakes_total" 0 "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] closes_total (nothing was established)" 0 "$(metric tcpshake_closes_total)"
	check_eq "[$tag] events outcome=reset, handshake_s=null" "$m" "$(event_count "$tag" outcome=reset handshake_s=null src=$C4)"
	check_quiet_gauges
	check_hist
}

# ---- crafted invalid answers ------------------------------------------------

sc_invalid() {
	local m=5 tag=invalid
	note "scenario: crafted: $m SYN-ACKs and $m third ACKs with wrong ack numbers, 3 x $m RSTs before the third ACK, --syn-timeout 3 (--ingress $1)"
	sc_begin "$tag" --ingress "$1" --syn-timeout 3
	local kind base=32000
	for kind in reset-orig-early reset-orig reset-resp; do
		craft $kind --count $m --sport-base $base >/dev/null ||
			die "[$tag] craft.py $kind failed"
		base=$((base + 1000))
	done
	craft invalid-synack --count $m --sport-base 30000 >/dev/null ||
		die "[$tag] craft.py invalid-synack failed"
	craft invalid-ack --count $m --sport-base 31000 >/dev/null ||
		die "[$tag] craft.py invalid-ack failed"
	wait_exports 2
	# Well within the 3 s syn-timeout of the invalid-ack flows.
	check_eq "[$tag] invalid_segments_total (one per crafted flow)" $((2 * m)) "$(metric tcpshake_invalid_segments_total)"
	check_eq "[$tag] half_open_connections (valid SYN-ACK, wrong third ACK)" "$m" "$(metric tcpshake_half_open_connections)"
	wait_metric 10 $((2 * m)) tcpshake_handshake_failures_total 'reason="invalid"'
	sc_end
	check_eq "[$tag] handshake_failures_total{reason=\"invalid\"}" $((2 * m)) "$(metric tcpshake_handshake_failures_total 'reason="invalid"')"
	check_eq "[$tag] handshake_failures_total{reason=\"reset\"} (RST before the third ACK, either side)" $((3 * m)) "$(metric tcpshake_handshake_failures_total 'reason="reset"')"
	check_eq "[$tag] handshake_failures_total (all reasons)" $((5 * m)) "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] events outcome=reset" $((3 * m)) "$(event_count "$tag" outcome=reset)"
	check_eq "[$tag] invalid_segments_total" $((2 * m)) "$(metric tcpshake_invalid_segments_total)"
	check_eq "[$tag] handshakes_total" 0 "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] syn_packets_total = SYNs in the capture" "$(pcap_stat "$tag" syn)" "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] synack_packets_total = SYN-ACKs in the capture" "$(pcap_stat "$tag" synack)" "$(metric tcpshake_synack_packets_total)"
	check_eq "[$tag] events outcome=invalid" $((2 * m)) "$(event_count "$tag" outcome=invalid)"
	check_quiet_gauges
	check_hist
	check_promtool
}

run_sc half-open sc_half_open tc
run_sc syncookies sc_syncookies xdp
run_sc late-synack sc_late_synack tc
run_sc timeout sc_timeout xdp
run_sc late-syn sc_late_syn xdp
run_sc syn-scan sc_syn_scan xdp
run_sc invalid sc_invalid tc
net_down
finish
