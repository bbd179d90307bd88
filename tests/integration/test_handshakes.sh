#!/usr/bin/env bash
# Handshake counting is exact against the real kernel, with tc and with XDP
# on the ingress side. N real connections (spread over several export
# intervals) between two namespaces, then:
#   handshakes_total             = server nstat TcpPassiveOpens delta
#                                = client nstat TcpActiveOpens delta
#                                = complete handshakes in a tshark capture on
#                                  vs (tcp.completeness bits SYN|SYN-ACK|ACK) = N
#   syn/synack packet counters   = SYN / SYN-ACK packets in the capture
#   packets_total                = TCP packets in the capture
#   the per-port label, histogram counts, gauges back to 0, TIME-WAIT = ss,
#   one "established" and one "closed" event per connection, each event's
#   handshake_s = tshark's initial_rtt of the same 4-tuple, and promtool
#   accepts the textfile. Then the same for TCP Fast Open connections (data in
#   the SYN; TcpExtTCPFastOpenPassive).
. "$(dirname "$0")/lib.sh"

N=${HANDSHAKES_N:-200}
PORT=8080

require_root_tools

run_mode() {
	local mode=$1 tag=hs-$1
	note "scenario: $N connections to port $PORT, client closes first, --ingress $mode"
	sc_begin "$tag" --ingress "$mode"
	check_hook "$mode"
	server_start "$tag" --addr "$S4" --port $PORT --mode client-close --count "$N" --timeout 60
	client_run "$tag" --addr "$S4" --port $PORT --mode client-close --count "$N" --timeout 10 --gap 0.004
	server_wait "$tag"
	local active
	active=$(nstat_c TcpActiveOpens)
	sc_end

	check_handshakes "$N"
	check_eq "[$tag] handshakes_total = client TcpActiveOpens delta" "$active" "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] complete handshakes in the capture, ack-validated" "$N" "$(pcap_stat "$tag" validated_handshakes)"
	check_eq "[$tag] syn_retransmits_total = SYN retransmissions in the capture" "$(pcap_stat "$tag" syn_retrans)" "$(metric tcpshake_syn_retransmits_total)"
	check_eq "[$tag] synack_retransmits_total = SYN-ACK retransmissions in the capture" "$(pcap_stat "$tag" synack_retrans)" "$(metric tcpshake_synack_retransmits_total)"
	check_eq "[$tag] packets_total = TCP packets in the capture" "$(pcap_stat "$tag" tcp_packets)" "$(metric tcpshake_packets_total)"
	check_eq "[$tag] handshakes_total{port=\"$PORT\"} (free label capacity: the only port in use)" "$N" "$(metric tcpshake_handshakes_total "port=\"$PORT\"")"
	check_eq "[$tag] handshake_seconds_count{port=\"$PORT\"}" "$N" "$(metric tcpshake_handshake_seconds_count "port=\"$PORT\"")"
	check_eq "[$tag] handshake_seconds_count (sum over port)" "$N" "$(metric tcpshake_handshake_seconds_count)"
	check_eq "[$tag] syn_to_synack_seconds_count" "$N" "$(metric tcpshake_syn_to_synack_seconds_count)"
	check_eq "[$tag] synack_to_ack_seconds_count" "$N" "$(metric tcpshake_synack_to_ack_seconds_count)"
	check_eq "[$tag] handshake_failures_total" 0 "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] closes_total{kind=\"graceful\"} = closes in the capture" "$(pcap_stat "$tag" graceful_closes)" "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] closes_total{kind=\"reset\"}" 0 "$(metric tcpshake_closes_total 'kind="reset"')"
	check_quiet_gauges
	check_eq "[$tag] time_wait_connections = ss state time-wait (both namespaces)" "$SS_TW" "$(metric tcpshake_time_wait_connections)"
	check_eq "[$tag] flow_evictions_total" 0 "$(metric tcpshake_flow_evictions_total)"
	check_eq "[$tag] events_lost_total" 0 "$(metric tcpshake_events_lost_total)"
	check_eq "[$tag] invalid_segments_total" 0 "$(metric tcpshake_invalid_segments_total)"
	check_eq "[$tag] events outcome=established, inbound, S1, dport $PORT" "$N" "$(event_count "$tag" outcome=established direction=inbound conn_state=S1 dport=$PORT)"
	check_eq "[$tag] events outcome=closed, SF, closed by the originator" "$N" "$(event_count "$tag" outcome=closed conn_state=SF close_initiator=originator)"
	check_promtool
}

# TCP Fast Open: the request rides in the SYN, the SYN-ACK acknowledges it,
# the third ACK's sequence number is ISN + 1 + data.
run_fastopen() {
	local n=50 tag=fastopen
	note "scenario: $n TCP Fast Open connections (net.ipv4.tcp_fastopen=3 in both namespaces, --ingress xdp)"
	sc_begin "$tag" --ingress xdp
	in_c sysctl -qw net.ipv4.tcp_fastopen=3
	in_s sysctl -qw net.ipv4.tcp_fastopen=3
	server_start "$tag" --addr "$S4" --port $PORT --mode fastopen --count $n --timeout 60
	client_run "$tag" --addr "$S4" --port $PORT --mode fastopen --count $n --timeout 10
	server_wait "$tag"
	sc_end
	local tfo
	tfo=$(nstat_s TcpExtTCPFastOpenPassive)
	check_eq "[$tag] server TcpExtTCPFastOpenPassive delta (all but the cookie request)" $((n - 1)) "$tfo"
	check_handshakes "$n"
	check_eq "[$tag] invalid_segments_total" 0 "$(metric tcpshake_invalid_segments_total)"
	check_eq "[$tag] handshake_failures_total" 0 "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] closes_total{kind=\"graceful\"} = graceful closes in the capture" "$(pcap_stat "$tag" graceful_closes)" "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_quiet_gauges
}

run_sc tc run_mode tc
run_sc xdp run_mode xdp
run_sc fastopen run_fastopen
net_down
finish
