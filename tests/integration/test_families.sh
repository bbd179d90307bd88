#!/usr/bin/env bash
# Address families and encapsulations, checked like the IPv4 lifecycle:
#   ipv6       real IPv6 connections (and refused connects) between the namespaces
#   vlan       real IPv4 and IPv6 connections over 802.1Q sub-interfaces (tx VLAN
#              offload off, so the tag is in the frames), monitor on the parent
#              veth, with XDP and with tc ingress
#   two-ifaces one monitor on two veths (two client namespaces): every series
#              and event is attributed to the right interface
#   crafted    scapy-built segments the kernel never makes: a QinQ (802.1ad +
#              802.1Q) handshake and close, IPv6 with a destination-options
#              extension header, and a simultaneous open + simultaneous close
. "$(dirname "$0")/lib.sh"

PORT=8080
CLOSED_PORT=8081

require_root_tools
require_scapy

# ---- IPv6 ------------------------------------------------------------------

sc_ipv6() {
	local n=50 r=10 tag=ipv6-$1
	note "scenario: $n IPv6 connections (server closes first) and $r refused IPv6 connects (--ingress $1)"
	sc_begin "$tag" --ingress "$1"
	server_start "$tag" --addr "$S6" --port $PORT --mode server-close --count $n --timeout 60
	client_run "$tag" --addr "$S6" --port $PORT --mode server-close --count $n --timeout 10
	server_wait "$tag"
	client_run "$tag-refused" --addr "$S6" --port $CLOSED_PORT --mode refused --count $r --timeout 5
	sc_end
	check_handshakes $n
	check_eq "[$tag] events family=ipv6, outcome=closed, SF, src $C6" "$n" \
		"$(event_count "$tag" family=ipv6 outcome=closed conn_state=SF src=$C6 dst=$S6 close_initiator=responder)"
	check_eq "[$tag] closes_total{kind=\"graceful\"} = graceful closes in the capture" \
		"$(pcap_stat "$tag" graceful_closes)" "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] time_wait_connections = ss state time-wait (both namespaces)" "$SS_TW" "$(metric tcpshake_time_wait_connections)"
	check_eq "[$tag] server TcpOutRsts delta (refused connects)" "$r" "$(nstat_s TcpOutRsts)"
	check_eq "[$tag] handshake_failures_total{reason=\"refused\"} = server TcpOutRsts delta" \
		"$(nstat_s TcpOutRsts)" "$(metric tcpshake_handshake_failures_total 'reason="refused"')"
	check_eq "[$tag] refused attempts in the capture" "$r" "$(pcap_stat "$tag" refused)"
	check_eq "[$tag] events family=ipv6, outcome=refused, REJ" "$r" "$(event_count "$tag" family=ipv6 outcome=refused conn_state=REJ)"
	check_eq "[$tag] packets_total = TCP packets in the capture" "$(pcap_stat "$tag" tcp_packets)" "$(metric tcpshake_packets_total)"
	check_quiet_gauges
}

# ---- 802.1Q ------------------------------------------------------------------

sc_vlan() {
	local n=40 n6=20 tag=vlan-$1
	note "scenario: $n IPv4 and $n6 IPv6 connections over VLAN $VLAN_ID, monitor on the parent veth (--ingress $1)"
	SC_NET_OPTS=--vlan sc_begin "$tag" --ingress "$1"
	note "VLAN $VLAN_ID by $([[ $VLAN_MODE == subif ]] && echo "802.1Q sub-interfaces" || echo "tc tag push/pop programs (this kernel has no 802.1Q sub-interfaces)")"
	server_start "$tag" --addr "$VS4" --port $PORT --mode client-close --count $n --timeout 60
	client_run "$tag" --addr "$VS4" --port $PORT --mode client-close --count $n --timeout 10
	server_wait "$tag"
	server_start "$tag-6" --addr "$VS6" --port $PORT --mode server-close --count $n6 --timeout 60
	client_run "$tag-6" --addr "$VS6" --port $PORT --mode server-close --count $n6 --timeout 10
	server_wait "$tag-6"
	sc_end
	check_ge "[$tag] 802.1Q-tagged TCP frames in the capture on $IF_S" $((n + n6)) "$(pcap_stat "$tag" vlan_tagged)"
	check_handshakes $((n + n6))
	check_eq "[$tag] closes_total{kind=\"graceful\"} = graceful closes in the capture" \
		"$(pcap_stat "$tag" graceful_closes)" "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] graceful closes in the capture" $((n + n6)) "$(pcap_stat "$tag" graceful_closes)"
	check_eq "[$tag] time_wait_connections = ss state time-wait (both namespaces)" "$SS_TW" "$(metric tcpshake_time_wait_connections)"
	check_eq "[$tag] packets_total = TCP packets in the capture" "$(pcap_stat "$tag" tcp_packets)" "$(metric tcpshake_packets_total)"
	check_eq "[$tag] malformed_packets_total" 0 "$(metric tcpshake_malformed_packets_total)"
	check_eq "[$tag] events outcome=closed from $VC4" "$n" "$(event_count "$tag" outcome=closed src=$VC4 family=ipv4)"
	check_eq "[$tag] events outcome=closed from $VC6" "$n6" "$(event_count "$tag" outcome=closed src=$VC6 family=ipv6)"
	check_quiet_gauges
}

# ---- two interfaces, one monitor -------------------------------------------

sc_two_ifaces() {
	local n1=30 n2=20 tag=two-ifaces-$1
	note "scenario: one monitor on vs and vs2 (two client namespaces): $n1 + $n2 connections, $n2 refused on vs2 (--ingress $1)"
	net_up
	net_add_client2
	MON_MORE_IFACES=vs2 mon_start "$tag" --ingress "$1"
	cap_start "$NS_S" "$IF_S" "$tag"
	nstat_snap "$NS_S" "$tag.s"
	nstat_snap "$NS_C" "$tag.c"
	nstat_snap "$NS_C2" "$tag.c2"
	server_start "$tag" --addr 0.0.0.0 --port $PORT --mode client-close --count $((n1 + n2)) --timeout 60
	client_run "$tag" --addr "$S4" --port $PORT --mode client-close --count $n1 --timeout 10
	local save=$NS_C
	NS_C=$NS_C2
	client_run "$tag-2" --addr "$S2_4" --port $PORT --mode client-close --count $n2 --timeout 10
	client_run "$tag-2r" --addr "$S2_4" --port $CLOSED_PORT --mode refused --count $n2 --timeout 5
	NS_C=$save
	server_wait "$tag"
	sc_end
	check_eq "[$tag] server TcpPassiveOpens delta" $((n1 + n2)) "$(nstat_s TcpPassiveOpens)"
	check_eq "[$tag] handshakes_total{iface=\"vs\"} = client 1 TcpActiveOpens delta" \
		"$(nstat_delta "$NS_C" "$tag.c" TcpActiveOpens)" "$(metric tcpshake_handshakes_total 'iface="vs"')"
	check_eq "[$tag] handshakes_total{iface=\"vs2\"} = client 2 TcpActiveOpens - TcpAttemptFails deltas" \
		$(($(nstat_delta "$NS_C2" "$tag.c2" TcpActiveOpens) - $(nstat_delta "$NS_C2" "$tag.c2" TcpAttemptFails))) \
		"$(metric tcpshake_handshakes_total 'iface="vs2"')"
	check_eq "[$tag] handshakes_total{iface=\"vs\"} = complete handshakes in the capture on vs" \
		"$(pcap_stat "$tag" completeness_handshakes)" "$(metric tcpshake_handshakes_total 'iface="vs"')"
	check_eq "[$tag] syn_packets_total{iface=\"vs\"} = SYNs in the capture on vs" \
		"$(pcap_stat "$tag" syn)" "$(metric tcpshake_syn_packets_total 'iface="vs"')"
	check_eq "[$tag] handshake_failures_total{iface=\"vs\"}" 0 "$(metric tcpshake_handshake_failures_total 'iface="vs"')"
	check_eq "[$tag] handshake_failures_total{iface=\"vs2\",reason=\"refused\"} = client 2 TcpAttemptFails delta" \
		"$(nstat_delta "$NS_C2" "$tag.c2" TcpAttemptFails)" "$(metric tcpshake_handshake_failures_total 'iface="vs2"' 'reason="refused"')"
	check_eq "[$tag] closes_total{iface=\"vs\",kind=\"graceful\"}" "$n1" "$(metric tcpshake_closes_total 'iface="vs"' 'kind="graceful"')"
	check_eq "[$tag] closes_total{iface=\"vs2\",kind=\"graceful\"}" "$n2" "$(metric tcpshake_closes_total 'iface="vs2"' 'kind="graceful"')"
	check_eq "[$tag] time_wait_connections{iface=\"vs\"} + {iface=\"vs2\"} = ss state time-wait (all namespaces)" \
		$((SS_TW + $(ss_count "$NS_C2" time-wait))) "$(metric tcpshake_time_wait_connections)"
	check_eq "[$tag] events iface=vs, outcome=closed, from $C4" "$n1" "$(event_count "$tag" iface=vs outcome=closed src=$C4)"
	check_eq "[$tag] events iface=vs2, outcome=closed, from $C2_4" "$n2" "$(event_count "$tag" iface=vs2 outcome=closed src=$C2_4)"
	check_eq "[$tag] events iface=vs2, outcome=refused" "$n2" "$(event_count "$tag" iface=vs2 outcome=refused)"
	check_eq "[$tag] handshakes_total{iface=\"vs\",port=\"$PORT\"}" "$n1" "$(metric tcpshake_handshakes_total 'iface="vs"' "port=\"$PORT\"")"
	check_eq "[$tag] handshakes_total{iface=\"vs2\",port=\"$PORT\"}" "$n2" "$(metric tcpshake_handshakes_total 'iface="vs2"' "port=\"$PORT\"")"
	check_quiet_gauges
	check_hist
	check_promtool
}

# ---- crafted encapsulations and simultaneous open/close --------------------

craft() {
	timeout 90 ip netns exec "$NS_C" "$PY" "$CRAFT" --server-ns "$NS_S" "$@" >/dev/null ||
		die "[$MON_TAG] craft.py $* failed"
}

sc_crafted() {
	local k=3 tag=crafted-$1
	note "scenario: crafted: $k QinQ handshakes, $k IPv6 + extension header handshakes, $k simultaneous opens/closes (--ingress $1)"
	sc_begin "$tag" --ingress "$1"
	craft handshake --count $k --sport-base 32000 --qinq 300 --vlan $VLAN_ID
	craft handshake --count $k --sport-base 33000 --family 6 --v6-ext --vlan $VLAN_ID
	craft simultaneous --count $k --sport-base 34000
	sc_end
	check_eq "[$tag] VLAN-tagged frames in the capture (QinQ and 802.1Q)" $((2 * 9 * k)) "$(pcap_stat "$tag" vlan_tagged)"
	check_eq "[$tag] packets_total = TCP packets in the capture" "$(pcap_stat "$tag" tcp_packets)" "$(metric tcpshake_packets_total)"
	check_eq "[$tag] malformed_packets_total" 0 "$(metric tcpshake_malformed_packets_total)"
	check_eq "[$tag] complete handshakes in the capture (tcp.completeness, simultaneous opens included)" $((3 * k)) "$(pcap_stat "$tag" completeness_handshakes)"
	check_eq "[$tag] handshakes_total = complete handshakes in the capture" "$(pcap_stat "$tag" completeness_handshakes)" "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] simultaneous_opens_total" "$k" "$(metric tcpshake_simultaneous_opens_total)"
	check_eq "[$tag] simultaneous_closes_total" "$k" "$(metric tcpshake_simultaneous_closes_total)"
	check_eq "[$tag] closes_total{kind=\"graceful\"}" $((3 * k)) "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] time_wait_connections (crafted closes)" $((3 * k)) "$(metric tcpshake_time_wait_connections)"
	check_eq "[$tag] invalid_segments_total" 0 "$(metric tcpshake_invalid_segments_total)"
	check_eq "[$tag] handshake_failures_total" 0 "$(metric tcpshake_handshake_failures_total)"
	check_quiet_gauges
	check_cmd "[$tag] every event line has the documented fields and types" "$PY" "$ANALYZE" validate-events "$WORK/$tag.events"
	check_eq "[$tag] events: QinQ flows closed (SF, originator)" "$k" \
		"$(event_count "$tag" outcome=closed family=ipv4 conn_state=SF close_initiator=originator simultaneous_open=false)"
	check_eq "[$tag] events: IPv6 + extension header flows closed (SF)" "$k" \
		"$(event_count "$tag" outcome=closed family=ipv6 conn_state=SF)"
	check_eq "[$tag] events: simultaneous open and close" "$k" \
		"$(event_count "$tag" outcome=closed simultaneous_open=true simultaneous_close=true)"
	check_promtool
}

run_sc ipv6-tc sc_ipv6 tc
run_sc ipv6-xdp sc_ipv6 xdp
run_sc vlan-xdp sc_vlan xdp
run_sc vlan-tc sc_vlan tc
run_sc two-ifaces-xdp sc_two_ifaces xdp
run_sc crafted-xdp sc_crafted xdp
run_sc crafted-tc sc_crafted tc
net_down
finish
