#!/usr/bin/env bash
# tcpshake-mon --read FILE against the live monitor, on the very same packets.
#
# One live run on the server's veth (vs, with VLAN 100 on top) carries every
# scenario of the other integration tests in turn: IPv4 and IPv6 graceful
# closes, VLAN-tagged IPv4 and IPv6, refused connects, resets by either
# side, half-closes, TIME-WAIT reuse and spoofed half-open SYNs (left
# pending). While the monitor watches, five captures record it: tshark
# (pcapng, the interface named "vs"), tcpdump on vs (pcap, ns timestamps),
# tcpdump on vs with snap lengths of 128 and 60 bytes, and tcpdump on "any"
# (Linux cooked SLL2). Then each capture is replayed
# and every counter, gauge, histogram count and event must equal the live
# run's exactly (replay_compare.py says what is left out and why):
#   pcapng, pcap, pcap on standard input (a file, then pcap and pcapng
#   through a pipe), pcap without --local-net (every packet's direction
#   unknown: transit), pcap cut to 128 bytes a packet,
#   SLL2 from "any"; with 60 bytes, every segment parsed whole or malformed
#   --expire-at-end: the pending half-open attempts end as timeouts instead
# Bad input: a cut-off last record (warning, exit 0, the packets before it),
# garbage, a directory, a missing file, an unsupported link type, empty
# standard input: exit 1 with one line.
. "$(dirname "$0")/lib.sh"

PORT=8080
CLOSED_PORT=8081
SPOOF=10.77.99.7
COMPARE=$IT_DIR/replay_compare.py
GENCAP=${GENCAP_BIN:-${BUILD:-$REPO/build}/tests/bench/gencap}
[[ -x $GENCAP ]] || die "$GENCAP is missing: run make check, or make $GENCAP"
HALF_OPEN=10

require_root_tools
require_hping3
command -v tcpdump >/dev/null || die "tcpdump is missing: run scripts/install-deps.sh"

TD_PIDS=()

# td_start NAME ARGS...: tcpdump in the server namespace writing $WORK/NAME;
# returns once it listens.
td_start() {
	local name=$1
	shift
	ip netns exec "$NS_S" tcpdump -n -U --time-stamp-precision=nano -w "$WORK/$name" "$@" \
		>"$WORK/$name.log" 2>&1 &
	TD_PIDS+=($!)
	track $!
	wait_for 10 "tcpdump" grep -q "listening on" "$WORK/$name.log" ||
		die "tcpdump $* did not start: $(cat "$WORK/$name.log")"
}

td_stop() {
	local pid
	for pid in "${TD_PIDS[@]}"; do
		stop_pid "$pid" INT 10 || die "tcpdump did not stop cleanly"
		untrack "$pid"
	done
	TD_PIDS=()
	! grep -qE '[1-9][0-9]* packets? dropped by kernel' "$WORK"/*.pcap.log ||
		die "a tcpdump capture dropped packets: $(grep -h dropped "$WORK"/*.pcap.log)"
}

# conns NAME ADDR MODE COUNT [client args]: a tcpgen server and client pair.
conns() {
	local name=$1 addr=$2 mode=$3 n=$4
	shift 4
	server_start "$name" --addr "$addr" --port $PORT --mode "$mode" --count "$n" --timeout 60
	client_run "$name" --addr "$addr" --port $PORT --mode "$mode" --count "$n" --timeout 10 "$@"
	server_wait "$name"
}

# replay NAME FILE [OPTION...]: tcpshake-mon --read FILE on the server's side
# (--local-net: its addresses), outputs under $WORK/NAME.*
replay() {
	replay_as "$1" "$2" --local-net "$S4" --local-net "$S6/128" --local-net "$VS4/32" --local-net "$VS6" \
		"${@:3}"
}

# replay_as NAME FILE [OPTION...]: the same, with OPTIONs alone.
replay_as() {
	local name=$1 file=$2 rc=0
	shift 2
	rm -f "$WORK/$name.prom" "$WORK/$name.events"
	"$TCPSHAKE" --read "$file" -q -i "$MON_INTERVAL" --prom-textfile "$WORK/$name.prom" --events "$WORK/$name.events" \
		"$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
	check_eq "[$name] tcpshake-mon --read exit status" 0 "$rc"
}

# same NAME [--any-iface]: replay NAME's textfile and events equal the live run's.
same() {
	local name=$1
	shift
	check_cmd "[$name] every counter, gauge and histogram count = live" \
		"$PY" "$COMPARE" prom "$WORK/live.prom" "$WORK/$name.prom" "$@"
	check_cmd "[$name] every event = live (all fields but times)" \
		"$PY" "$COMPARE" events "$WORK/live.events" "$WORK/$name.events" "$@"
}

# bad NAME WANT_RC FILE|-: one line on stderr, the exit status WANT_RC.
bad() {
	local name=$1 want=$2 file=$3 rc=0 lines
	shift 3
	"$TCPSHAKE" --read "$file" -q "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
	check_eq "[$name] exit status" "$want" "$rc"
	lines=$(wc -l <"$WORK/$name.err")
	check_eq "[$name] lines on stderr ($(head -c 160 "$WORK/$name.err"))" 1 "$lines"
}

# ---- the live run ------------------------------------------------------------

live_run() {
	note "live: IPv4, IPv6, VLAN, refused, resets, half-close, TIME-WAIT reuse, half-open"
	SC_NET_OPTS=--vlan sc_begin live --ingress tc
	# No SYN-ACK retransmissions to the spoofed sources: nothing is sent
	# after the captures stop, so the live monitor sees what they hold.
	in_s sysctl -qw net.ipv4.tcp_synack_retries=0
	td_start vs.pcap -i "$IF_S"
	# 128 bytes hold every header here (Ethernet, 802.1Q, IPv6, TCP with
	# options), not every payload; 60 bytes cut most TCP headers.
	td_start snap128.pcap -i "$IF_S" -s 128
	# TCP frames only: a cut frame of anything else (an MLD report with its
	# hop-by-hop header, sent whenever the kernel likes) is malformed to a
	# reader that cannot see past the cut, and not TCP to the live monitor.
	td_start snap60.pcap -i "$IF_S" -s 60 "tcp or (vlan and tcp)"
	td_start any.pcap -i any -y LINUX_SLL2 "ifindex $(ip -n "$NS_S" -o link show dev "$IF_S" | cut -d: -f1)"
	conns v4-close "$S4" client-close 20
	conns v6-close "$S6" server-close 10
	conns vlan4 "$VS4" client-close 10
	conns vlan6 "$VS6" server-close 5
	client_run refused --addr "$S4" --port $CLOSED_PORT --mode refused --count 10 --timeout 5
	conns client-reset "$S4" client-reset 8
	conns server-reset "$S6" server-reset 8
	conns half-close "$S4" half-close 8
	conns reuse "$S4" reuse 5 --sport-base 41000
	server_start hold --addr "$S4" --port $PORT --mode hold --hold 2
	timeout 30 ip netns exec "$NS_C" hping3 -I "$IF_C" -S -p $PORT -a $SPOOF -s 20000 \
		-c $HALF_OPEN -i u2000 -q "$S4" >"$WORK/hping3.log" 2>&1 || true
	server_wait hold
	# The capture's last packet: a lone RST to the closed port (the kernel
	# answers nothing), seconds after the spoofed SYNs. A replay ends at the
	# last packet and the live monitor later: this way both last intervals
	# are free of handshakes, and both judged the spoofed SYNs past their
	# grace time, so the flood detector's rates describe the same traffic.
	last_packet "$WORK/hping3.log" $CLOSED_PORT
	td_stop
	sc_end
	check_eq "[live] handshakes_total" $((20 + 10 + 10 + 5 + 8 + 8 + 8 + 10)) \
		"$(metric tcpshake_handshakes_total)"
	check_eq "[live] half_open_connections (spoofed SYNs, pending)" $HALF_OPEN \
		"$(metric tcpshake_half_open_connections)"
	check_ge "[live] 802.1Q-tagged TCP frames in the capture" 15 "$(pcap_stat live vlan_tagged)"
}

# ---- replays -----------------------------------------------------------------

replays() {
	note "replays of the live run's captures"
	replay pcapng "$CAP_FILE"
	same pcapng
	replay pcap "$WORK/vs.pcap"
	same pcap
	replay stdin - <"$WORK/vs.pcap"
	same stdin --any-iface
	check_eq "[stdin] events name the interface stdin" "$(wc -l <"$WORK/stdin.events")" \
		"$(grep -c '"iface":"stdin"' "$WORK/stdin.events")"
	# Files are mapped, pipes are read: both readers, both formats.
	replay pipe - < <(cat "$WORK/vs.pcap")
	same pipe --any-iface
	replay pipeng - < <(cat "$CAP_FILE")
	same pipeng
	# No --local-net, and a pcap records no direction: every packet is in
	# transit, as on a mirror port, and none is trusted as this host's.
	# Every connection here came in, so the answers are still the live
	# run's, "direction":"inbound" included.
	replay_as transit "$WORK/vs.pcap"
	same transit --any-iface
	replay snap128 "$WORK/snap128.pcap"
	same snap128 --any-iface
	check_cmd "[snap128] packets cut short by the snap length are reported" \
		grep -q "cut short by the capture's snap length" <("$TCPSHAKE" --read "$WORK/snap128.pcap" 2>&1 >/dev/null)
	# Cut headers are counted, never guessed at: each TCP segment is either
	# parsed whole or counted as malformed.
	replay snap60 "$WORK/snap60.pcap"
	check_eq "[snap60] packets_total + malformed_packets_total = live packets_total" \
		"$(metric tcpshake_packets_total)" \
		$(($(MON_TAG=snap60 metric tcpshake_packets_total) + $(MON_TAG=snap60 metric tcpshake_malformed_packets_total)))
	check_ge "[snap60] malformed_packets_total" 1 "$(MON_TAG=snap60 metric tcpshake_malformed_packets_total)"
	replay sll2 "$WORK/any.pcap"
	same sll2 --any-iface
	check_eq "[sll2] link type of the capture on any" "Linux cooked v2" \
		"$(tcpdump -r "$WORK/any.pcap" -c 1 2>&1 >/dev/null | sed -n 's/.*link-type LINUX_SLL2 (\(.*\)).*/\1/p')"

	replay expire "$CAP_FILE" --expire-at-end
	check_eq "[expire] half_open_connections with --expire-at-end" 0 \
		"$(MON_TAG=expire metric tcpshake_half_open_connections)"
	check_eq "[expire] failures{reason=\"timeout\"} = the pending half-open attempts" $HALF_OPEN \
		"$(MON_TAG=expire metric tcpshake_handshake_failures_total 'reason="timeout"')"
	check_eq "[expire] events outcome=timeout" $HALF_OPEN "$(event_count expire outcome=timeout)"
	check_eq "[expire] handshakes_total = live" "$(metric tcpshake_handshakes_total)" \
		"$(MON_TAG=expire metric tcpshake_handshakes_total)"
}

# ---- bad input -----------------------------------------------------------------

# backwards FILE: packets of FILE reported with earlier timestamps than before.
backwards() {
	"$TCPSHAKE" --read "$1" 2>&1 >/dev/null |
		sed -n 's/.*: \([0-9]*\) packets have timestamps earlier.*/\1/p' | grep . || echo 0
}

bad_input() {
	local size packets
	note "bad input"
	size=$(stat -c %s "$WORK/vs.pcap")
	head -c $((size - 7)) "$WORK/vs.pcap" >"$WORK/cut.pcap"
	bad cut 0 "$WORK/cut.pcap" --prom-textfile "$WORK/cut.prom"
	grep -q "warning:" "$WORK/cut.err" || fail "[cut] the one line is a warning: $(cat "$WORK/cut.err")"
	# The last record may or may not have been a TCP segment.
	packets=$(MON_TAG=cut metric tcpshake_packets_total)
	check_eq "[cut] packets_total = live's, less at most the cut-off last packet" 1 \
		"$(( $(metric tcpshake_packets_total) - packets <= 1 && packets > 0 ))"
	# One record takes the timestamp of the first: it steps back in time;
	# counted (on top of what the capture itself may hold: packets of
	# different CPUs are stamped a little out of order), and taken as the
	# time of the packets before. The record is one that was not counted
	# itself (not earlier than a record before it), and the first record is
	# strictly earlier than the latest before it, and the record after it
	# is not earlier (so the moved record's stamp decides no later count):
	# exactly one count more, whatever order the capture's own stamps came
	# in (a record 20 that was itself out of order once made this 0 more,
	# and so did a record 21 that was out of order only behind record 20).
	"$PY" - "$WORK/vs.pcap" "$WORK/back.pcap" <<'PYEOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
recs, i = [], 24
while i < len(d):
    cl = struct.unpack("<I", d[i + 8:i + 12])[0]
    recs.append(bytearray(d[i:i + 16 + cl]))
    i += 16 + cl
stamp = lambda r: struct.unpack("<II", r[:8])
latest = stamp(recs[0])
for k in range(1, len(recs) - 1):
    if k >= 20 and stamp(recs[k]) >= latest and stamp(recs[0]) < latest and \
            stamp(recs[k + 1]) >= stamp(recs[k]):
        recs[k][:8] = recs[0][:8]
        break
    latest = max(latest, stamp(recs[k]))
else:
    sys.exit("no record to move back in time")
open(sys.argv[2], "wb").write(d[:24] + b"".join(recs))
PYEOF
	check_eq "[backwards] packets with earlier timestamps, reported" \
		$(($(backwards "$WORK/vs.pcap") + 1)) "$(backwards "$WORK/back.pcap")"
	head -c 4000 /dev/urandom >"$WORK/garbage.bin"
	bad garbage 1 "$WORK/garbage.bin"
	bad directory 1 "$WORK"
	bad missing 1 "$WORK/no-such.pcap"
	# A pcap file header of link type 147 (DLT_USER0), no packets.
	printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x93\x00\x00\x00' \
		>"$WORK/user0.pcap"
	bad linktype 1 "$WORK/user0.pcap"
	bad empty-stdin 1 - </dev/null
	head -c 20 "$WORK/vs.pcap" >"$WORK/header-cut.pcap"
	bad header-cut 1 "$WORK/header-cut.pcap"
}

# ---- --seed ----------------------------------------------------------------------

# A capture with far more connections in flight than small tables hold
# (tests/bench/gencap.c: 4,096 at a time, 25,000 in all, all ending in
# TIME-WAIT) evicts records, and which ones depends on the hash seed: with
# --seed the answers are the same run after run, and another seed gives
# other evictions.
seeded() {
	local name=$1 seed=$2
	"$TCPSHAKE" --read "$WORK/many.pcap" -q --seed "$seed" --max-flows 1024 --handshake-slots 1024 \
		--prom-textfile "$WORK/$name.prom" --events "$WORK/$name.events" 2>"$WORK/$name.err" ||
		fail "[$name] --read --seed $seed failed: $(cat "$WORK/$name.err")"
	grep -v '^#' "$WORK/$name.prom" >"$WORK/$name.values"
}

seeds() {
	note "--seed: the same answers from the same capture and seed"
	"$GENCAP" "$WORK/many.pcap" 200000 >/dev/null
	seeded seed7a 7
	seeded seed7b 7
	seeded seed8 8
	check_ge "[seed] flow_evictions_total: the tables overflow" 1000 \
		"$(grep -h '^tcpshake_flow_evictions_total' "$WORK/seed7a.values" | awk '{ print $2 }')"
	check_cmd "[seed] every metric the same with the same seed" cmp "$WORK/seed7a.values" "$WORK/seed7b.values"
	check_cmd "[seed] every event the same with the same seed" cmp "$WORK/seed7a.events" "$WORK/seed7b.events"
	check_cmd "[seed] other events with another seed" \
		bash -c "! cmp -s '$WORK/seed7a.events' '$WORK/seed8.events'"
}

live_run
replays
bad_input
seeds
net_down
finish
