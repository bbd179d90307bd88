#!/usr/bin/env bash
# The connection lifecycle, scenario by scenario, each in fresh namespaces
# with a fresh monitor (--ingress tc and xdp alternate), every number checked
# against the kernel's own counters (nstat, ss) and a tshark capture of the
# same run:
#   client-close   graceful closes, TIME-WAIT gauge = ss (client side holds it)
#   server-close   the same with the server holding TIME-WAIT
#   refused        failures{reason="refused"} = server TcpOutRsts = client TcpAttemptFails
#   client-reset   closes{kind="reset"} = client TcpOutRsts (SO_LINGER {1,0})
#   server-reset   closes{kind="reset"} = server TcpOutRsts
#   half-close     half_closes_total (data after the peer's FIN)
#   reuse          time_wait_reuses_total: new SYN on a 4-tuple in TIME-WAIT
#   gauges         established / closing gauges = ss while connections are
#                  held open, then half-closed (CLOSE-WAIT / FIN-WAIT-2)
#   tw-expiry      --time-wait 2: the TIME-WAIT gauge empties, time_wait_seconds
#   outbound       the monitor on the client's veth: direction=outbound,
#                  handshakes = client TcpActiveOpens - TcpAttemptFails
#   idle           --idle-timeout: idle connections expire, busy ones do not
#   sweep-race     state changes while the sweeper runs are not expired by it
. "$(dirname "$0")/lib.sh"

PORT=8080
CLOSED_PORT=8081

require_root_tools

# ---- graceful closes -----------------------------------------------------------

sc_close() {
	local who=$1 mode=$2 n=50 tag=$1-close
	note "scenario: $n connections, the $who closes first (--ingress $mode)"
	sc_begin "$tag" --ingress "$mode"
	server_start "$tag" --addr "$S4" --port $PORT --mode "$who-close" --count $n --timeout 60
	client_run "$tag" --addr "$S4" --port $PORT --mode "$who-close" --count $n --timeout 10
	server_wait "$tag"
	sc_end
	check_handshakes $n
	check_eq "[$tag] closes_total{kind=\"graceful\"} = graceful closes in the capture" \
		"$(pcap_stat "$tag" graceful_closes)" "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] graceful closes in the capture" "$n" "$(pcap_stat "$tag" graceful_closes)"
	check_eq "[$tag] closes_total{kind=\"reset\"}" 0 "$(metric tcpshake_closes_total 'kind="reset"')"
	if [[ $who == client ]]; then
		check_eq "[$tag] ss time-wait in the client namespace" "$n" "$SS_TW_C"
	else
		check_eq "[$tag] ss time-wait in the server namespace" "$n" "$SS_TW_S"
	fi
	check_eq "[$tag] time_wait_connections = ss state time-wait (both namespaces)" "$SS_TW" "$(metric tcpshake_time_wait_connections)"
	check_quiet_gauges
	check_eq "[$tag] close_seconds_count" "$n" "$(metric tcpshake_close_seconds_count)"
	check_eq "[$tag] connection_seconds_count" "$n" "$(metric tcpshake_connection_seconds_count)"
	check_eq "[$tag] time_wait_seconds_count (nothing left TIME-WAIT yet)" 0 "$(metric tcpshake_time_wait_seconds_count)"
	local initiator=originator
	[[ $who == server ]] && initiator=responder
	check_eq "[$tag] events outcome=closed, SF, close_initiator=$initiator" "$n" \
		"$(event_count "$tag" outcome=closed conn_state=SF close_initiator=$initiator half_close=false)"
	check_eq "[$tag] simultaneous_closes_total" 0 "$(metric tcpshake_simultaneous_closes_total)"
	check_eq "[$tag] half_closes_total" 0 "$(metric tcpshake_half_closes_total)"
}

# ---- refused ---------------------------------------------------------------

sc_refused() {
	local n=30 tag=refused
	note "scenario: $n connects to a closed port (--ingress $1)"
	sc_begin "$tag" --ingress "$1"
	client_run "$tag" --addr "$S4" --port $CLOSED_PORT --mode refused --count $n --timeout 5
	sc_end
	check_eq "[$tag] server TcpOutRsts delta" "$n" "$(nstat_s TcpOutRsts)"
	check_eq "[$tag] client TcpAttemptFails delta" "$n" "$(nstat_c TcpAttemptFails)"
	check_eq "[$tag] handshake_failures_total{reason=\"refused\"} = server TcpOutRsts delta" \
		"$(nstat_s TcpOutRsts)" "$(metric tcpshake_handshake_failures_total 'reason="refused"')"
	check_eq "[$tag] refused attempts in the capture (SYN answered by RST)" "$n" "$(pcap_stat "$tag" refused)"
	check_eq "[$tag] handshake_failures_total (all reasons)" "$n" "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] handshakes_total" 0 "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] syn_packets_total = SYNs in the capture" "$(pcap_stat "$tag" syn)" "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] synack_packets_total" 0 "$(metric tcpshake_synack_packets_total)"
	check_eq "[$tag] closes_total" 0 "$(metric tcpshake_closes_total)"
	check_quiet_gauges
	check_eq "[$tag] syn_sent_connections" 0 "$(metric tcpshake_syn_sent_connections)"
	check_eq "[$tag] events outcome=refused, REJ, dport $CLOSED_PORT" "$n" \
		"$(event_count "$tag" outcome=refused conn_state=REJ dport=$CLOSED_PORT handshake_s=null)"
	check_eq "[$tag] events (refused only)" "$n" "$(event_count "$tag")"
	check_hist
}

# ---- resets ----------------------------------------------------------------

sc_reset() {
	local who=$1 n=20 tag=$1-reset
	note "scenario: $n connections reset by the $who after a request/response (--ingress $2)"
	sc_begin "$tag" --ingress "$2"
	server_start "$tag" --addr "$S4" --port $PORT --mode "$who-reset" --count $n --timeout 60
	client_run "$tag" --addr "$S4" --port $PORT --mode "$who-reset" --count $n --timeout 10
	server_wait "$tag"
	sc_end
	check_handshakes $n
	local rsts side state
	if [[ $who == client ]]; then
		rsts=$(nstat_c TcpOutRsts) side=orig state=RSTO
	else
		rsts=$(nstat_s TcpOutRsts) side=resp state=RSTR
	fi
	check_eq "[$tag] $who TcpOutRsts delta" "$n" "$rsts"
	check_eq "[$tag] closes_total{kind=\"reset\"} = $who TcpOutRsts delta" "$rsts" "$(metric tcpshake_closes_total 'kind="reset"')"
	check_eq "[$tag] resets by the $who in the capture" "$n" "$(pcap_stat "$tag" "resets_$side")"
	check_eq "[$tag] server TcpEstabResets delta" "$n" "$(nstat_s TcpEstabResets)"
	check_eq "[$tag] closes_total{kind=\"graceful\"}" 0 "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] handshake_failures_total" 0 "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] connection_seconds_count" "$n" "$(metric tcpshake_connection_seconds_count)"
	check_quiet_gauges
	check_eq "[$tag] time_wait_connections" 0 "$(metric tcpshake_time_wait_connections)"
	check_eq "[$tag] events outcome=reset, $state" "$n" "$(event_count "$tag" outcome=reset conn_state=$state)"
}

# ---- half-close --------------------------------------------------------------

sc_half_close() {
	local n=20 tag=half-close
	note "scenario: $n half-closed connections: the client shuts down its side, the server keeps sending (--ingress $1)"
	sc_begin "$tag" --ingress "$1"
	server_start "$tag" --addr "$S4" --port $PORT --mode half-close --count $n --timeout 60
	client_run "$tag" --addr "$S4" --port $PORT --mode half-close --count $n --timeout 10
	server_wait "$tag"
	sc_end
	check_handshakes $n
	check_eq "[$tag] half-closed connections in the capture (data after the peer's FIN)" "$n" "$(pcap_stat "$tag" half_closes)"
	check_eq "[$tag] half_closes_total = half-closes in the capture" "$(pcap_stat "$tag" half_closes)" "$(metric tcpshake_half_closes_total)"
	check_eq "[$tag] closes_total{kind=\"graceful\"} = graceful closes in the capture" \
		"$(pcap_stat "$tag" graceful_closes)" "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] time_wait_connections = ss state time-wait (both namespaces)" "$SS_TW" "$(metric tcpshake_time_wait_connections)"
	check_quiet_gauges
	check_eq "[$tag] events outcome=closed, half_close=true, close_initiator=originator" "$n" \
		"$(event_count "$tag" outcome=closed half_close=true close_initiator=originator)"
}

# ---- gauges while connections are open and closing ------------------------------

stage_file() { [[ -e $WORK/stage/$1 ]]; }

# ss_count_is NS STATE N
ss_count_is() { [[ $(ss_count "$1" "$2") == "$3" ]]; }

# events_are TAG N FILTER...: exactly N matching events in the file now.
events_are() {
	local tag=$1 n=$2
	shift 2
	[[ $(event_count "$tag" "$@") == "$n" ]]
}

sc_gauges() {
	local n=30 tag=gauges
	note "scenario: $n connections held open, then half-closed by the client, then finished by the server (--ingress $1)"
	sc_begin "$tag" --ingress "$1"
	rm -rf "$WORK/stage"
	mkdir -p "$WORK/stage"
	server_start "$tag" --addr "$S4" --port $PORT --mode staged --count $n --timeout 90 --conn-timeout 60 --stage-dir "$WORK/stage"
	client_start "$tag" --addr "$S4" --port $PORT --mode staged --count $n --timeout 60 --stage-dir "$WORK/stage"
	wait_for 20 "established" stage_file established || die "[$tag] the client did not open $n connections"
	wait_exports 2
	local estab
	estab=$(ss_count "$NS_S" established)
	check_eq "[$tag] server ss state established" "$n" "$estab"
	check_eq "[$tag] established_connections = ss state established (server)" "$estab" "$(metric tcpshake_established_connections)"
	check_eq "[$tag] closing_connections while open" 0 "$(metric tcpshake_closing_connections)"
	check_eq "[$tag] half_open_connections while open" 0 "$(metric tcpshake_half_open_connections)"
	# Events are a live stream: each handshake's event is in the file within a
	# few export intervals, not only when the monitor exits.
	wait_for 5 "events" events_are "$tag" "$n" outcome=established || true
	check_eq "[$tag] established events in the file within 5 s (while the connections are open)" "$n" "$(event_count "$tag" outcome=established)"

	touch "$WORK/stage/go-close"
	wait_for 20 "half-closed" stage_file half-closed || die "[$tag] the client did not half-close"
	wait_for 10 "close-wait" ss_count_is "$NS_S" close-wait $n || true
	wait_exports 2
	local cw fw2
	cw=$(ss_count "$NS_S" close-wait)
	fw2=$(ss_count "$NS_C" fin-wait-2)
	check_eq "[$tag] server ss state close-wait" "$n" "$cw"
	check_eq "[$tag] client ss state fin-wait-2" "$n" "$fw2"
	check_eq "[$tag] closing_connections = ss state close-wait (server)" "$cw" "$(metric tcpshake_closing_connections)"
	check_eq "[$tag] established_connections once half-closed" 0 "$(metric tcpshake_established_connections)"

	touch "$WORK/stage/go-finish"
	client_wait "$tag"
	server_wait "$tag"
	sc_end
	check_handshakes $n
	check_eq "[$tag] half_closes_total = half-closes in the capture" "$(pcap_stat "$tag" half_closes)" "$(metric tcpshake_half_closes_total)"
	check_eq "[$tag] closes_total{kind=\"graceful\"} = graceful closes in the capture" "$(pcap_stat "$tag" graceful_closes)" "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] time_wait_connections = ss state time-wait (both namespaces)" "$SS_TW" "$(metric tcpshake_time_wait_connections)"
	check_quiet_gauges
}

# ---- TIME-WAIT expiry ----------------------------------------------------------

sc_tw_expiry() {
	local n=10 tag=tw-expiry
	note "scenario: $n connections, client closes first, --time-wait 2: TIME-WAIT ends after 2 s (--ingress $1)"
	sc_begin "$tag" --ingress "$1" --time-wait 2
	server_start "$tag" --addr "$S4" --port $PORT --mode client-close --count $n --timeout 60
	client_run "$tag" --addr "$S4" --port $PORT --mode client-close --count $n --timeout 10
	server_wait "$tag"
	wait_exports 2
	check_eq "[$tag] time_wait_connections right after the closes = ss state time-wait (client)" \
		"$(ss_count "$NS_C" time-wait)" "$(metric tcpshake_time_wait_connections)"
	sleep 2
	wait_exports 2
	sc_end
	check_eq "[$tag] time_wait_connections after --time-wait" 0 "$(metric tcpshake_time_wait_connections)"
	check_eq "[$tag] time_wait_seconds_count" "$n" "$(metric tcpshake_time_wait_seconds_count)"
	check_eq "[$tag] time_wait_seconds_sum (2 s each)" "$((2 * n))" "$(metric tcpshake_time_wait_seconds_sum)"
	check_eq "[$tag] closes_total{kind=\"graceful\"}" "$n" "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_quiet_gauges
}

# ---- packets during a sweep -------------------------------------------------

# The sweeper expires records once per interval. Records that packets create
# or move while a sweep is running (a SYN, a FIN, the last ACK starting
# TIME-WAIT) must not be expired by that sweep. Short intervals and big
# tables make sweeps take a noticeable share of the time, so many of the
# connections' state changes happen during one.
sc_sweep_race() {
	local n=300 tag=sweep-race
	note "scenario: $n connections over ~1.5 s with -i 0.1, 1M-entry tables (sweeps run often and long) (--ingress $1)"
	sc_begin "$tag" --ingress "$1" -i 0.1 --handshake-slots 1048576 --max-flows 1048576
	server_start "$tag" --addr "$S4" --port $PORT --mode client-close --count $n --timeout 60
	client_run "$tag" --addr "$S4" --port $PORT --mode client-close --count $n --timeout 10 --gap 0.003
	server_wait "$tag"
	sc_end
	check_eq "[$tag] handshakes_total = server TcpPassiveOpens delta" "$(nstat_s TcpPassiveOpens)" "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] handshake_failures_total" 0 "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] closes_total{kind=\"graceful\"} = graceful closes in the capture" \
		"$(pcap_stat "$tag" graceful_closes)" "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] flows_expired_total" 0 "$(metric tcpshake_flows_expired_total)"
	check_eq "[$tag] time_wait_connections = ss state time-wait (both namespaces)" "$SS_TW" "$(metric tcpshake_time_wait_connections)"
	check_eq "[$tag] time_wait_seconds_count (no TIME-WAIT can have ended: --time-wait 60)" 0 "$(metric tcpshake_time_wait_seconds_count)"
	check_eq "[$tag] events outcome=closed, SF" "$n" "$(event_count "$tag" outcome=closed conn_state=SF)"
	check_quiet_gauges
}

# ---- the monitor on the client side: outbound connections ---------------------

sc_outbound() {
	local n=30 r=10 tag=outbound
	note "scenario: monitor on the client's veth: $n outbound connections, $r refused (--ingress $1)"
	MON_SIDE=client sc_begin "$tag" --ingress "$1"
	MON_SIDE=client check_hook "$1"
	server_start "$tag" --addr "$S4" --port $PORT --mode client-close --count $n --timeout 60
	client_run "$tag" --addr "$S4" --port $PORT --mode client-close --count $n --timeout 10
	server_wait "$tag"
	client_run "$tag-refused" --addr "$S4" --port $CLOSED_PORT --mode refused --count $r --timeout 5
	MON_SIDE=client sc_end
	check_eq "[$tag] client TcpActiveOpens delta" $((n + r)) "$(nstat_c TcpActiveOpens)"
	check_eq "[$tag] handshakes_total = client TcpActiveOpens - TcpAttemptFails deltas" \
		$(($(nstat_c TcpActiveOpens) - $(nstat_c TcpAttemptFails))) "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] handshakes_total = complete handshakes in the capture on $IF_C" \
		"$(pcap_stat "$tag" completeness_handshakes)" "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] handshake_failures_total{reason=\"refused\"} = client TcpAttemptFails delta" \
		"$(nstat_c TcpAttemptFails)" "$(metric tcpshake_handshake_failures_total 'reason="refused"')"
	check_eq "[$tag] syn_packets_total = SYNs in the capture" "$(pcap_stat "$tag" syn)" "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] synack_packets_total = SYN-ACKs in the capture" "$(pcap_stat "$tag" synack)" "$(metric tcpshake_synack_packets_total)"
	check_eq "[$tag] closes_total{kind=\"graceful\"}" "$n" "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] time_wait_connections = ss state time-wait (both namespaces)" "$SS_TW" "$(metric tcpshake_time_wait_connections)"
	check_eq "[$tag] events direction=outbound, outcome=established" "$n" "$(event_count "$tag" direction=outbound outcome=established src=$C4)"
	check_eq "[$tag] events direction=outbound, outcome=refused" "$r" "$(event_count "$tag" direction=outbound outcome=refused conn_state=REJ)"
	check_eq "[$tag] events direction=inbound" 0 "$(event_count "$tag" direction=inbound)"
	check_rtt "$tag"
	check_hist
	check_quiet_gauges
}

# ---- idle connections --------------------------------------------------------

sc_idle() {
	local busy=5 idle=10 tag=idle
	note "scenario: --idle-timeout 2: $idle connections idle for 4.5 s expire, $busy sending a byte every 0.1 s for 3 s do not (--ingress $1)"
	sc_begin "$tag" --ingress "$1" --idle-timeout 2
	rm -rf "$WORK/stage"
	mkdir -p "$WORK/stage"
	server_start "$tag" --addr "$S4" --port $PORT --mode staged --count $idle --timeout 90 --conn-timeout 60 --stage-dir "$WORK/stage"
	client_start "$tag" --addr "$S4" --port $PORT --mode staged --count $idle --timeout 60 --stage-dir "$WORK/stage"
	wait_for 20 "established" stage_file established || die "[$tag] the client did not open $idle connections"
	local spid=$SERVER_PID cpid=$CLIENT_PID
	server_start "$tag-busy" --addr "$S4" --port $((PORT + 2)) --mode trickle --count $busy --timeout 60
	client_run "$tag-busy" --addr "$S4" --port $((PORT + 2)) --mode trickle --count $busy --parallel $busy --gap 0.1 --rounds 30 --timeout 10
	server_wait "$tag-busy"
	sleep 1.5     # the idle ones have now been idle for 4.5 s
	wait_exports 2
	check_eq "[$tag] flows_expired_total (idle connections only)" "$idle" "$(metric tcpshake_flows_expired_total)"
	touch "$WORK/stage/go-close" "$WORK/stage/go-finish"
	SERVER_PID=$spid CLIENT_PID=$cpid
	client_wait "$tag"
	server_wait "$tag"
	sc_end
	check_eq "[$tag] events outcome=expired (the idle connections)" "$idle" "$(event_count "$tag" outcome=expired dport=$PORT)"
	check_eq "[$tag] events outcome=expired among the busy connections" 0 "$(event_count "$tag" outcome=expired dport=$((PORT + 2)))"
	check_eq "[$tag] events outcome=closed (the busy connections)" "$busy" "$(event_count "$tag" outcome=closed dport=$((PORT + 2)) conn_state=SF)"
	check_eq "[$tag] closes_total{kind=\"graceful\"} (the busy connections)" "$busy" "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] handshakes_total" $((busy + idle)) "$(metric tcpshake_handshakes_total)"
	check_quiet_gauges
}

# ---- TIME-WAIT reuse ---------------------------------------------------------

sc_reuse() {
	local n=10 tag=tw-reuse
	note "scenario: $n 4-tuples reused while the server holds them in TIME-WAIT (--ingress $1)"
	sc_begin "$tag" --ingress "$1"
	server_start "$tag" --addr "$S4" --port $PORT --mode reuse --count $n --timeout 60
	client_run "$tag" --addr "$S4" --port $PORT --mode reuse --count $n --timeout 10 --sport-base 41000
	server_wait "$tag"
	sc_end
	check_handshakes $((2 * n))
	check_eq "[$tag] SYNs on the 4-tuple of a closed connection in the capture" "$n" "$(pcap_stat "$tag" reused_tuples)"
	check_eq "[$tag] time_wait_reuses_total = reused 4-tuples in the capture" "$(pcap_stat "$tag" reused_tuples)" "$(metric tcpshake_time_wait_reuses_total)"
	check_eq "[$tag] closes_total{kind=\"graceful\"}" $((2 * n)) "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] ss time-wait in the server namespace (second round only)" "$n" "$SS_TW_S"
	check_eq "[$tag] time_wait_connections = ss state time-wait (both namespaces)" "$SS_TW" "$(metric tcpshake_time_wait_connections)"
	check_eq "[$tag] time_wait_seconds_count (TIME-WAITs ended by reuse)" "$n" "$(metric tcpshake_time_wait_seconds_count)"
	check_quiet_gauges
	check_eq "[$tag] handshake_failures_total" 0 "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] events outcome=closed, close_initiator=responder" $((2 * n)) \
		"$(event_count "$tag" outcome=closed conn_state=SF close_initiator=responder)"
	check_promtool
}

run_sc client-close sc_close client tc
run_sc server-close sc_close server xdp
run_sc refused sc_refused tc
run_sc client-reset sc_reset client xdp
run_sc server-reset sc_reset server tc
run_sc half-close sc_half_close xdp
run_sc reuse sc_reuse tc
run_sc gauges sc_gauges xdp
run_sc tw-expiry sc_tw_expiry tc
run_sc sweep-race sc_sweep_race tc
run_sc outbound sc_outbound xdp
run_sc idle sc_idle tc
net_down
finish
