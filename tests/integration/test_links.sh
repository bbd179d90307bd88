#!/usr/bin/env bash
# Links that are not a plain Ethernet veth, each with real TCP stacks:
#   tun        a layer-3 link (bare IP packets, no Ethernet header, like
#              WireGuard): TUN devices in the two namespaces joined by a
#              user-space relay (tunrelay.py); monitor on the server's tun,
#              tc ingress and generic XDP; IPv4 and IPv6
#   loopback   the monitor on the server namespace's lo, where every packet
#              leaves and re-enters the same interface: each counted once;
#              with sockets connected to themselves (a simultaneous open
#              and close with one endpoint)
#   paged      SYNs whose IP and TCP headers lie outside the skb's linear
#              area (pagedsyn.py): tc pulls them in, none is unparsed
#   gso        megabyte transfers both ways (bulk.py) over the veth with TSO
#              and GRO: GSO super-packets whose IP length exceeds the MTU
#              are neither unparsed nor mistaken for liars
#   gso-reset  the same ended by the client's RST: believed at once
#   unread-reset  the client's RST after a megabyte the server's kernel
#              holds unread and mostly unacknowledged: the RST is checked
#              at the server socket's RCV.NXT, believed at once; IPv4, IPv6
#   abort-upload  clients that abort 16 MB uploads their server is reading
#              as fast as it can: RSTs that may meet segments in the
#              socket's backlog, believed at once
#   large      a connection moving more than 4 GiB each way: sequence
#              numbers wrap, orig_bytes / resp_bytes still count every byte
. "$(dirname "$0")/lib.sh"

PORT=8080
CLOSED_PORT=8081
SELF_PORT=20000     # self-connect: ports SELF_PORT.. meet themselves
TUN_C=tunc
TUN_S=tuns
T4_C=10.79.0.1
T4_S=10.79.0.2
T6_C=fd79::1
T6_S=fd79::2
HOOKS=${HOOKS_BIN:-$REPO/build/tests/hooks}
RELAY=$IT_DIR/tunrelay.py
PAGED=$IT_DIR/pagedsyn.py
BULK=$IT_DIR/bulk.py

require_root_tools
[[ -x $HOOKS ]] || die "$HOOKS is missing: run make check"

# unparsed_total: tcpshake_unparsed_packets_total over every reason.
unparsed_total() { metric tcpshake_unparsed_packets_total; }

# cap_start_dumpcap NS IFACE NAME: cap_start with dumpcap, not tshark: when
# tshark starts it probes extcap sources, and androiddump connects to
# 127.0.0.1:5037 (adb), traffic on exactly the lo we watch. Headers only
# (256 bytes) and a 64 MiB buffer, so bulk transfers lose no packet.
cap_start_dumpcap() {
	CAP_FILE=$WORK/$3.pcapng
	rm -f "$CAP_FILE"
	ip netns exec "$1" dumpcap -n -s 256 -B 64 -i "$2" -w "$CAP_FILE" -q >"$WORK/$3.tshark.log" 2>&1 &
	CAP_PID=$!
	track "$CAP_PID"
	wait_for 15 "capture" test -s "$CAP_FILE" || die "dumpcap did not start capturing on $1/$2 within 15 s"
	sleep 0.2
}

# check_handshake_counts N: lib.sh's check_handshakes without its RTT
# comparison, whose 100 us tolerance the relay's and the capture's
# scheduling on a loaded machine can exceed (a timing test, not a count).
check_handshake_counts() {
	local n=$1 tag=$MON_TAG
	check_eq "[$tag] server TcpPassiveOpens delta" "$n" "$(nstat_s TcpPassiveOpens)"
	check_eq "[$tag] handshakes_total = TcpPassiveOpens delta" "$(nstat_s TcpPassiveOpens)" "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] handshakes_total = complete handshakes in the capture (tcp.completeness)" \
		"$(pcap_stat "$tag" completeness_handshakes)" "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] syn_packets_total = SYNs in the capture" "$(pcap_stat "$tag" syn)" "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] synack_packets_total = SYN-ACKs in the capture" "$(pcap_stat "$tag" synack)" "$(metric tcpshake_synack_packets_total)"
	check_eq "[$tag] events outcome=established" "$n" "$(event_count "$tag" outcome=established)"
	check_cmd "[$tag] every event line has the documented fields and types" "$PY" "$ANALYZE" validate-events "$WORK/$tag.events"
	check_bytes "$tag"
	check_hist
}

# hooks_on NS IFACE: our programs attached to IFACE, sorted, one line.
hooks_on() { ip netns exec "$1" "$HOOKS" "$2" 2>/dev/null | sort | tr '\n' ' '; }

# ---- layer 3: tun ----------------------------------------------------------

tun_up() {
	ip -n "$NS_C" tuntap add dev $TUN_C mode tun || die "creating $TUN_C"
	ip -n "$NS_S" tuntap add dev $TUN_S mode tun || die "creating $TUN_S"
	ip -n "$NS_C" addr add $T4_C peer $T4_S dev $TUN_C
	ip -n "$NS_S" addr add $T4_S peer $T4_C dev $TUN_S
	ip -n "$NS_C" addr add $T6_C/64 dev $TUN_C nodad
	ip -n "$NS_S" addr add $T6_S/64 dev $TUN_S nodad
	"$PY" "$RELAY" --ready "$WORK/relay.ready" --timeout 300 "$NS_C" $TUN_C "$NS_S" $TUN_S \
		>"$WORK/relay.log" 2>&1 &
	track $!
	RELAY_PID=$!
	wait_for 10 "relay" test -e "$WORK/relay.ready" || die "tunrelay.py did not attach: $(cat "$WORK/relay.log")"
	ip -n "$NS_C" link set $TUN_C up
	ip -n "$NS_S" link set $TUN_S up
	wait_for 5 "tun carrier" sh -c "ip -n '$NS_S' -o link show dev $TUN_S | grep -q 'LOWER_UP'" ||
		die "$TUN_S did not come up"
}

tun_down() {
	stop_pid "$RELAY_PID" INT 5 || true
	untrack "$RELAY_PID"
	rm -f "$WORK/relay.ready"
}

sc_tun() {
	local n=30 n6=10 r=5 tag=tun-$1 save_if=$IF_S
	note "scenario: $n IPv4 + $n6 IPv6 connections and $r refused connects over a layer-3 tun link, monitor on $TUN_S (--ingress $1)"
	net_up
	tun_up
	IF_S=$TUN_S
	mon_start "$tag" --ingress "$1"
	cap_start "$NS_S" "$TUN_S" "$tag"
	nstat_snap "$NS_S" "$tag.s"
	nstat_snap "$NS_C" "$tag.c"
	case $1 in
	xdp) check_eq "[$tag] hooks on $TUN_S: generic XDP ingress, tc egress" "tcx_egress:tcpshake_tc_out xdp:tcpshake_xdp " "$(hooks_on "$NS_S" $TUN_S)" ;;
	tc)  check_eq "[$tag] hooks on $TUN_S: tc ingress and egress" "tcx_egress:tcpshake_tc_out tcx_ingress:tcpshake_tc_in " "$(hooks_on "$NS_S" $TUN_S)" ;;
	esac
	server_start "$tag" --addr "$T4_S" --port $PORT --mode client-close --count $n --timeout 60
	client_run "$tag" --addr "$T4_S" --port $PORT --mode client-close --count $n --timeout 10
	server_wait "$tag"
	server_start "$tag-6" --addr "$T6_S" --port $PORT --mode server-close --count $n6 --timeout 60
	client_run "$tag-6" --addr "$T6_S" --port $PORT --mode server-close --count $n6 --timeout 10
	server_wait "$tag-6"
	client_run "$tag-refused" --addr "$T4_S" --port $CLOSED_PORT --mode refused --count $r --timeout 5
	sc_end
	IF_S=$save_if
	tun_down
	check_handshake_counts $((n + n6))
	check_eq "[$tag] handshakes_total = client TcpActiveOpens - TcpAttemptFails deltas" \
		$(($(nstat_c TcpActiveOpens) - $(nstat_c TcpAttemptFails))) "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] packets_total = TCP packets in the capture on $TUN_S" "$(pcap_stat "$tag" tcp_packets)" "$(metric tcpshake_packets_total)"
	check_eq "[$tag] closes_total{kind=\"graceful\"} = graceful closes in the capture" \
		"$(pcap_stat "$tag" graceful_closes)" "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] graceful closes in the capture" $((n + n6)) "$(pcap_stat "$tag" graceful_closes)"
	check_eq "[$tag] handshake_failures_total{reason=\"refused\"} = server TcpOutRsts delta" \
		"$(nstat_s TcpOutRsts)" "$(metric tcpshake_handshake_failures_total 'reason="refused"')"
	check_eq "[$tag] refused attempts" $r "$(metric tcpshake_handshake_failures_total 'reason="refused"')"
	check_eq "[$tag] events outcome=closed family=ipv4 from $T4_C" "$n" "$(event_count "$tag" outcome=closed family=ipv4 src=$T4_C)"
	check_eq "[$tag] events outcome=closed family=ipv6 from $T6_C" "$n6" "$(event_count "$tag" outcome=closed family=ipv6 src=$T6_C)"
	check_eq "[$tag] time_wait_connections = ss state time-wait (both namespaces)" "$SS_TW" "$(metric tcpshake_time_wait_connections)"
	check_eq "[$tag] unparsed_packets_total (every reason)" 0 "$(unparsed_total)"
	check_quiet_gauges
	check_promtool
}

# ---- loopback ----------------------------------------------------------------

sc_loopback() {
	local n=40 r=10 k4=3 k6=2 k tag=loopback-$1 save_if=$IF_S save_c
	k=$((k4 + k6))      # sockets connected to themselves, both families
	note "scenario: $n connections and $r refused connects over 127.0.0.1, $k4 sockets connected to themselves over 127.0.0.1 and $k6 over ::1, monitor on the server namespace's lo (--ingress $1)"
	net_up
	save_c=$NS_C
	IF_S=lo
	mon_start "$tag" --ingress "$1" -v
	check_eq "[$tag] hooks on lo: tc egress only" "tcx_egress:tcpshake_tc_out " "$(hooks_on "$NS_S" lo)"
	check_cmd "[$tag] the monitor says why lo gets no ingress hook" grep -q "loopback.*egress only" "$WORK/$tag.mon.log"
	cap_start_dumpcap "$NS_S" lo "$tag"
	nstat_snap "$NS_S" "$tag.s"
	nstat_snap "$NS_S" "$tag.c"
	NS_C=$NS_S          # client and server share the namespace and its lo
	server_start "$tag" --addr 127.0.0.1 --port $PORT --mode client-close --count $n --timeout 60
	client_run "$tag" --addr 127.0.0.1 --port $PORT --mode client-close --count $n --timeout 10
	server_wait "$tag"
	client_run "$tag-refused" --addr 127.0.0.1 --port $CLOSED_PORT --mode refused --count $r --timeout 5
	client_run "$tag-self" --addr 127.0.0.1 --bind-addr 127.0.0.1 --mode self-connect --sport-base $SELF_PORT --count $k4 --timeout 5
	client_run "$tag-self6" --addr ::1 --bind-addr ::1 --mode self-connect --sport-base $SELF_PORT --count $k6 --timeout 5
	sc_end
	NS_C=$save_c
	IF_S=$save_if
	check_eq "[$tag] TcpPassiveOpens delta" "$n" "$(nstat_s TcpPassiveOpens)"
	check_eq "[$tag] TcpActiveOpens - TcpAttemptFails delta (the self-connected too)" $((n + k)) \
		$(($(nstat_s TcpActiveOpens) - $(nstat_s TcpAttemptFails)))
	check_eq "[$tag] handshakes_total = TcpActiveOpens - TcpAttemptFails delta" \
		$(($(nstat_s TcpActiveOpens) - $(nstat_s TcpAttemptFails))) "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] handshakes_total = complete handshakes in the capture" "$(pcap_stat "$tag" completeness_handshakes)" "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] packets_total = TCP packets in the capture on lo" "$(pcap_stat "$tag" tcp_packets)" "$(metric tcpshake_packets_total)"
	check_eq "[$tag] syn_packets_total = SYNs in the capture" "$(pcap_stat "$tag" syn)" "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] syn_packets_total" $((n + r + k)) "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] syn_retransmits_total" 0 "$(metric tcpshake_syn_retransmits_total)"
	check_eq "[$tag] synack_packets_total" $((n + k)) "$(metric tcpshake_synack_packets_total)"
	check_eq "[$tag] self-connected sockets (the clients' counts)" "$k" \
		"$("$PY" -c 'import json,sys; print(sum(json.load(open(f))["ok"] for f in sys.argv[1:]))' \
			"$WORK/$tag-self.client.json" "$WORK/$tag-self6.client.json")"
	check_eq "[$tag] simultaneous_opens_total = the self-connected" "$k" "$(metric tcpshake_simultaneous_opens_total)"
	check_eq "[$tag] simultaneous_closes_total = the self-connected" "$k" "$(metric tcpshake_simultaneous_closes_total)"
	check_eq "[$tag] events of a simultaneous open, closed" "$k" "$(event_count "$tag" outcome=closed simultaneous_open=true simultaneous_close=true)"
	check_eq "[$tag] closes_total{kind=\"graceful\"}" $((n + k)) "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] handshake_failures_total{reason=\"refused\"} = TcpOutRsts delta" \
		"$(nstat_s TcpOutRsts)" "$(metric tcpshake_handshake_failures_total 'reason="refused"')"
	check_eq "[$tag] refused attempts" "$r" "$(metric tcpshake_handshake_failures_total 'reason="refused"')"
	check_eq "[$tag] time_wait_connections = ss state time-wait" "$(ss_count "$NS_S" time-wait)" "$(metric tcpshake_time_wait_connections)"
	check_eq "[$tag] events outcome=established" $((n + k)) "$(event_count "$tag" outcome=established)"
	check_eq "[$tag] events outcome=closed" $((n + k)) "$(event_count "$tag" outcome=closed)"
	check_eq "[$tag] unparsed_packets_total (every reason)" 0 "$(unparsed_total)"
	check_quiet_gauges
	check_hist
}

# ---- headers outside the linear area -----------------------------------------

sc_paged() {
	local k=20 size=6000 tag=paged-tc
	note "scenario: $k SYNs of $size bytes whose IP/TCP headers are paged, monitor on $IF_S (--ingress tc)"
	net_up
	in_c ip link set dev "$IF_C" mtu 9000
	in_s ip link set dev "$IF_S" mtu 9000
	mon_start "$tag" --ingress tc
	cap_start "$NS_S" "$IF_S" "$tag"
	nstat_snap "$NS_S" "$tag.s"
	timeout 30 ip netns exec "$NS_C" "$PY" "$PAGED" "$IF_C" "$(mac "$NS_C" "$IF_C")" "$(mac "$NS_S" "$IF_S")" \
		"$C4" "$S4" $CLOSED_PORT $k $size >/dev/null || die "pagedsyn.py failed"
	wait_metric 5 $k tcpshake_syn_packets_total
	sc_end
	check_eq "[$tag] SYNs in the capture" "$k" "$(pcap_stat "$tag" syn)"
	check_eq "[$tag] syn_packets_total" "$k" "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] packets_total = TCP packets in the capture" "$(pcap_stat "$tag" tcp_packets)" "$(metric tcpshake_packets_total)"
	check_eq "[$tag] unparsed_packets_total (every reason)" 0 "$(unparsed_total)"
	check_eq "[$tag] malformed_packets_total" 0 "$(metric tcpshake_malformed_packets_total)"
	check_eq "[$tag] server TcpOutRsts delta (the SYNs reached TCP whole)" "$k" "$(nstat_s TcpOutRsts)"
}

# ---- GSO / GRO super-packets ---------------------------------------------------

# veth_drops: frames either end of the veth pair dropped on their way out,
# in its queue discipline or at its peer's receive ring or backlog.
veth_drops() {
	local ns_dev
	for ns_dev in "$NS_C:$IF_C" "$NS_S:$IF_S"; do
		ip -n "${ns_dev%%:*}" -s -j link show "${ns_dev#*:}"
		echo
		ip -n "${ns_dev%%:*}" -s -j qdisc show dev "${ns_dev#*:}"
		echo
	done | "$PY" -c 'import json, sys
print(sum(e["stats64"]["tx"]["dropped"] if "stats64" in e else e.get("drops", 0)
          for line in sys.stdin if line.strip() for e in json.loads(line)))'
}

# bulk_transfers TAG N UP DOWN [bulk.py option...]: after mon_start TAG, a
# capture named TAG and N bulk.py connections moving UP bytes up and DOWN
# down, to the scenario's end (sc_end). Both ends of the veth get a queue
# discipline, as a NIC's driver has: the peer of a veth with a native XDP
# program takes frames into a ring of 256, and without a qdisc (a veth's
# default) a full ring drops them, before the hook and the capture, where
# with one it stops the queue (Linux 6.16). No frame is lost, which the
# scenarios' counts assume (a client's last segments lost before its
# abort: design.md, "Payload bytes per connection"): checked.
bulk_transfers() {
	local tag=$1 n=$2 up=$3 down=$4
	shift 4
	in_c tc qdisc replace dev "$IF_C" root pfifo limit 10000 || die "adding a qdisc to $IF_C"
	in_s tc qdisc replace dev "$IF_S" root pfifo limit 10000 || die "adding a qdisc to $IF_S"
	cap_start_dumpcap "$NS_S" "$IF_S" "$tag"
	nstat_snap "$NS_S" "$tag.s"
	nstat_snap "$NS_C" "$tag.c"
	rm -f "$WORK/$tag.ready"
	in_s "$PY" "$BULK" server --addr "${BULK_ADDR:-$S4}" --port $PORT --count "$n" --up "$up" --down "$down" \
		"$@" --ready "$WORK/$tag.ready" >"$WORK/$tag.server.log" 2>&1 &
	SERVER_PID=$!
	track "$SERVER_PID"
	wait_for 10 "bulk server" test -e "$WORK/$tag.ready" || die "bulk.py server did not start"
	timeout 120 ip netns exec "$NS_C" "$PY" "$BULK" client --addr "${BULK_ADDR:-$S4}" --port $PORT --count "$n" \
		--up "$up" --down "$down" "$@" >"$WORK/$tag.client.log" 2>&1 ||
		fail "[$tag] bulk.py client: $(tail -n 2 "$WORK/$tag.client.log")"
	server_wait "$tag"
	sc_end
	check_eq "[$tag] frames the veth pair dropped" 0 "$(veth_drops)"
	check_eq "[$tag] segments the server's kernel dropped after the hook" 0 "$(server_rcv_drops)"
}

# server_rcv_drops: segments the server's kernel dropped on receipt, after
# the hook and the capture saw them (a full socket backlog or receive queue).
server_rcv_drops() {
	nstat_s TcpExtTCPBacklogDrop TcpExtTCPRcvQDrop TcpExtTCPOFODrop TcpExtRcvPruned \
		TcpExtTCPZeroWindowDrop
}

sc_gso() {
	local n=4 tag=gso-$1 big
	note "scenario: $n connections moving 1 MB up and 2 MB down over the veth (TSO on), monitor on $IF_S (--ingress $1)"
	net_up
	mon_start "$tag" --ingress "$1"
	bulk_transfers "$tag" $n $((1 << 20)) $((2 << 20))
	big=$(tshark -n -r "$WORK/$tag.pcapng" -Y "ip.len > 1500" 2>/dev/null | wc -l)
	check_ge "[$tag] super-packets (IP length > MTU) in the capture" 1 "$big"
	check_handshake_counts $n
	check_eq "[$tag] closes_total{kind=\"graceful\"} = graceful closes in the capture" \
		"$(pcap_stat "$tag" graceful_closes)" "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] graceful closes" $n "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] time_wait_connections = ss state time-wait (both namespaces)" "$SS_TW" "$(metric tcpshake_time_wait_connections)"
	# XDP sees the segments GRO merges afterwards; tc and the capture see the same skbs.
	[[ $1 == tc ]] && check_eq "[$tag] packets_total = TCP packets in the capture" "$(pcap_stat "$tag" tcp_packets)" "$(metric tcpshake_packets_total)"
	check_eq "[$tag] unparsed_packets_total (every reason)" 0 "$(unparsed_total)"
	check_eq "[$tag] flows_expired_total" 0 "$(metric tcpshake_flows_expired_total)"
	check_quiet_gauges
}

# The same transfers ended by the client's RST at the end of its megabyte:
# the monitor believes it at once (its data passed the data gate, whose
# block is the position the RST is checked against, design.md), and
# ignores none.
sc_gso_reset() {
	local n=4 tag=gso-reset-$1
	note "scenario: $n connections moving 1 MB up and 64 kB down, then the client's RST (--ingress $1)"
	net_up
	mon_start "$tag" --ingress "$1"
	bulk_transfers "$tag" $n $((1 << 20)) $((64 << 10)) --reset
	check_handshake_counts $n
	check_eq "[$tag] client TcpOutRsts delta" $n "$(nstat_c TcpOutRsts)"
	check_eq "[$tag] closes_total{kind=\"reset\"} = client TcpOutRsts delta" "$(nstat_c TcpOutRsts)" \
		"$(metric tcpshake_closes_total 'kind="reset"')"
	check_eq "[$tag] connections reset in the capture" $n "$(pcap_stat "$tag" resets)"
	check_eq "[$tag] resets_ignored_total" 0 "$(metric tcpshake_resets_ignored_total)"
	check_eq "[$tag] closes_total{kind=\"graceful\"}" 0 "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_quiet_gauges
}

# rst_lead_max TAG SERVER: over the capture's connections, the most a
# client RST was ahead of the last ACK of SERVER (address) before it
# (bytes, modulo 2^32).
rst_lead_max() {
	tshark -n -r "$WORK/$1.pcapng" -Y tcp -T fields -E separator=/t -e tcp.stream -e ip.src \
		-e ipv6.src -e tcp.flags.ack -e tcp.flags.reset -e tcp.seq_raw -e tcp.ack_raw 2>/dev/null |
		awk -F '\t' -v server="$2" '
			{ src = $2 != "" ? $2 : $3 }
			src == server && $4 == 1 { ack[$1] = $7; next }
			src != server && $5 == 1 && ($1 in ack) {
				lead = ($6 - ack[$1] + 4294967296) % 4294967296
				if (lead > max) max = lead
			}
			END { print max + 0 }'
}

# check_resets_at_once N: the server's kernel took N RSTs, and the monitor
# reported each as a reset at once: none ignored, doubted or left open.
check_resets_at_once() {
	local n=$1 tag=$MON_TAG
	check_eq "[$tag] server TcpEstabResets delta" $n "$(nstat_s TcpEstabResets)"
	check_eq "[$tag] closes_total{kind=\"reset\"} = server TcpEstabResets delta" "$(nstat_s TcpEstabResets)" \
		"$(metric tcpshake_closes_total 'kind="reset"')"
	check_eq "[$tag] resets_ignored_total" 0 "$(metric tcpshake_resets_ignored_total)"
	check_eq "[$tag] closes_total{kind=\"graceful\"}" 0 "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_quiet_gauges
}

# A client that aborts an upload its server has stopped reading (a client
# timeout against a stuck server): after 8 MB up, it sends 1 MB more,
# which the server's kernel takes in without reading, its window not
# moving, so it acknowledges little of it, and aborts 5 ms later. The
# server's kernel accepts the RST (it is at its RCV.NXT: TcpEstabResets);
# its ACKs alone would put the RST megabytes ahead and doubt it for the
# close timeout. The monitor reads the server socket's RCV.NXT and
# believes it at once, as the kernel does.
sc_unread_reset() {
	local n=4 tag=unread-reset$2-$1 server=$S4 lead
	[[ $2 == 6 ]] && server=$S6
	note "scenario: $n IPv$2 connections moving 8 MB up, then 1 MB the server does not read and the client's RST (--ingress $1)"
	net_up
	mon_start "$tag" --ingress "$1"
	BULK_ADDR=$server bulk_transfers "$tag" $n $((8 << 20)) 1 --reset --unread $((1 << 20))
	check_handshake_counts $n
	lead=$(rst_lead_max "$tag" "$server")
	check_ge "[$tag] some RST in the capture is more than FSM_RST_AHEAD_OF_ACKS (256 KiB) ahead of the server's last ACK (bytes)" \
		262145 "$lead"
	check_resets_at_once $n
}

# Clients that abort their uploads right after the last byte, while the
# server still reads as fast as it can: the application holds the socket
# inside recv(), segments wait in its backlog, which RCV.NXT does not count
# yet, and the kernel takes them in before the RST. The monitor widens the
# RST's window by the backlog it reads from the socket, so each reset is
# believed at once, none ignored.
sc_abort_upload() {
	local n=16 tag=abort-upload-$1
	note "scenario: $n connections each aborting a 16 MB upload the server is reading (--ingress $1)"
	net_up
	mon_start "$tag" --ingress "$1"
	bulk_transfers "$tag" $n $((16 << 20)) 1 --reset --abort-upload
	check_handshake_counts $n
	check_resets_at_once $n
}

# One connection past 4 GiB each way: sequence numbers wrap, and the
# closed event still counts every byte the applications moved (the
# applications' own counts are the reference: the capture's analysis would
# take longer than the transfer).
sc_large() {
	local tag=large-$1 up=$(((1 << 32) + 12345)) down=$(((1 << 32) + 777))
	note "scenario: one connection moving $up bytes up and $down down, closed gracefully (--ingress $1)"
	net_up
	mon_start "$tag" --ingress "$1"
	bulk_transfers "$tag" 1 "$up" "$down"
	check_eq "[$tag] handshakes_total" 1 "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] graceful closes" 1 "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] events outcome=closed" 1 "$(event_count "$tag" outcome=closed)"
	check_eq "[$tag] orig_bytes of the closed event = the bytes the client sent" "$up" \
		"$(event_sum "$tag" orig_bytes outcome=closed)"
	check_eq "[$tag] resp_bytes of the closed event = the bytes the server sent" "$down" \
		"$(event_sum "$tag" resp_bytes outcome=closed)"
	check_quiet_gauges
}

RELAY_PID=
run_sc gso-tc sc_gso tc
run_sc gso-xdp sc_gso xdp
run_sc gso-reset-tc sc_gso_reset tc
run_sc gso-reset-xdp sc_gso_reset xdp
run_sc unread-reset4-tc sc_unread_reset tc 4
run_sc unread-reset4-xdp sc_unread_reset xdp 4
run_sc unread-reset6-tc sc_unread_reset tc 6
run_sc unread-reset6-xdp sc_unread_reset xdp 6
run_sc abort-upload-tc sc_abort_upload tc
run_sc abort-upload-xdp sc_abort_upload xdp
run_sc large-tc sc_large tc
run_sc tun-tc sc_tun tc
run_sc tun-xdp sc_tun xdp
run_sc loopback-tc sc_loopback tc
run_sc loopback-xdp sc_loopback xdp
run_sc paged-tc sc_paged
net_down
finish
