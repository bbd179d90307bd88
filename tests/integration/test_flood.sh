#!/usr/bin/env bash
# SYN-flood detection against real floods and real clients (issue 13):
#   unanswered  spoofed SYNs (synflood, 12k/s for 10 s, sources random in
#               SPOOF4_WIDE_NET) to a black-hole address, over real client
#               churn (connchurn, 400/s): syn_flood_active 1 within 2 s of the
#               first SYN, 1 until the last, 0 within 5 s of it;
#               alerts_total >= 1; one start and one end event naming the
#               flooded port, the end one the flood's distinct sources within
#               10 % of synflood's count; stderr lines; the clients'
#               handshakes and closes exact (client count = server and client
#               nstat = metrics); monitor alive, RSS flat
#   cookies     the same flood at the clients' own service, with a small
#               backlog and net.ipv4.tcp_syncookies=1 so that every SYN gets
#               a (cookie) SYN-ACK: the same, plus the port's own flood state,
#               and the half-open gauge and the distinct-source estimate
#               sampled during the flood within 10 % of a capture's counts;
#               tcpshake-mon --read of that capture reports the flood too
#               (alerts_total, start and end events near the live ones)
#   no-alert    no flood state for legitimate churn at the machine's maximum
#               connection rate, for a sudden 10x rise of it, and for a slow
#               spoofed trickle below --flood-min-rate (its default, from --help)
#   alert-exec  the --alert-exec program gets the alert JSON (= the event) on
#               stdin and TCPSHAKE_* variables; a failing, a slow and a
#               hanging program (killed at --alert-timeout) never stall the
#               textfile, rewritten every interval throughout
# Every instant is wall-clock: synflood reports its first and last SYN, the
# textfile's mtime says when a sample was exported.
# run-tests: alone (its rates and its no-alert churn at the machine's
# maximum connection rate need both CPUs to themselves)
. "$(dirname "$0")/lib.sh"

SYNFLOOD=${SYNFLOOD_BIN:-${BUILD:-$REPO/build}/tests/synflood}
CHURN=${CONNCHURN_BIN:-${BUILD:-$REPO/build}/tests/connchurn}
FLOOD_PORT=8080          # the attacked service (cookies) / black-holed port
CHURN_PORT=8081          # the real clients' service (unanswered, no-alert; FLOOD_PORT for cookies)
FLOOD_RATE=12000         # SYN/s, the issue's >= 10k with a margin
FLOOD_S=10
INTERVAL=$MON_INTERVAL   # mon_start's export interval
CHURN_RATE=400           # connections/s of real clients during the floods

require_root_tools
[[ -x $SYNFLOOD && -x $CHURN ]] || die "$SYNFLOOD or $CHURN is missing: run make test-integration"

# ---- traffic ----------------------------------------------------------------

# flood_net_up: fresh namespaces (net_up); every local port and TIME-WAIT
# reuse in the client namespace, for fast churn.
flood_net_up() {
	net_up
	in_c sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
}

# churn_server NAME SECONDS [BACKLOG]: connchurn server on $S4:$CHURN_PORT
# (CHURN_SRV_PID).
churn_server() {
	ip netns exec "$NS_S" "$CHURN" server --addr "$S4" --port "$CHURN_PORT" --duration "$2" \
		--backlog "${3:-4096}" \
		>"$WORK/$1.churn-server.json" 2>"$WORK/$1.churn-server.log" &
	CHURN_SRV_PID=$!
	track "$CHURN_SRV_PID"
	wait_for 5 "churn server" grep -q listening "$WORK/$1.churn-server.log" ||
		die "[$1] connchurn server did not start: $(cat "$WORK/$1.churn-server.log")"
}

# churn_start NAME SECONDS RATE [PARALLEL]: connchurn client in the background
# (CHURN_PID); RATE 0 = as fast as the machine goes.
churn_start() {
	ip netns exec "$NS_C" "$CHURN" client --addr "$S4" --port "$CHURN_PORT" --duration "$2" \
		--rate "$3" --parallel "${4:-64}" >"$WORK/$1.churn.json" 2>"$WORK/$1.churn.log" &
	CHURN_PID=$!
	track "$CHURN_PID"
}

# churn_wait NAME: the client must finish (its duration bounds it) with every
# connection complete.
churn_wait() {
	local rc=0
	wait "$CHURN_PID" || rc=$?
	untrack "$CHURN_PID"
	((rc == 0)) || fail "[$1] connchurn client: exit status $rc: $(cat "$WORK/$1.churn.json" "$WORK/$1.churn.log")"
	return 0
}

# flood_start NAME DST RATE SECONDS: synflood in the client namespace, sources
# from SPOOF4_WIDE_NET, to DST:$FLOOD_PORT, in the background (FLOOD_PID).
flood_start() {
	ip netns exec "$NS_C" "$SYNFLOOD" --src "$SPOOF4_WIDE_NET" --dst "$2" --dport $FLOOD_PORT \
		--rate "$3" --duration "$4" >"$WORK/$1.flood.json" 2>"$WORK/$1.flood.log" &
	FLOOD_PID=$!
	track "$FLOOD_PID"
}

flood_wait() {
	local rc=0
	wait "$FLOOD_PID" || rc=$?
	untrack "$FLOOD_PID"
	((rc == 0)) || die "[$1] synflood: exit status $rc: $(cat "$WORK/$1.flood.json" "$WORK/$1.flood.log")"
}

# jget FILE KEY: one value of a one-line JSON object.
jget() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# ---- sampling the monitor -----------------------------------------------------

# metric_iface NAME: the interface-level sample of NAME (the series without a
# port label), empty if there is none.
metric_iface() {
	awk -v name="$1" '!/^#/ && $1 ~ "^" name "({|$)" && $1 !~ /port="/ { print $2; exit }' "$WORK/$MON_TAG.prom"
}

# metric_port NAME PORT: the sample of NAME with port label PORT.
metric_port() {
	awk -v name="$1" -v port="port=\"$2\"" '!/^#/ && $1 ~ "^" name "{" && index($1, port) { print $2; exit }' \
		"$WORK/$MON_TAG.prom"
}

# dash CMD...: CMD's output, or "-" when it prints nothing (keeps columns).
dash() {
	local v
	v=$("$@")
	echo "${v:--}"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$MON_PID/status" 2>/dev/null || echo 0; }

# sample_row: "active alerts sources half_open port_active" of the current
# textfile in one read ("-" for a missing series): the interface's flood
# state, floods, distinct-source estimate, the half-open total and the flood
# state of $FLOOD_PORT.
sample_row() {
	awk -v port="port=\"$FLOOD_PORT\"" '
		function put(k, v) { val[k] = v; seen[k] = 1 }
		/^#/ { next }
		{
			name = $1; sub(/\{.*/, "", name)
			if (name == "tcpshake_half_open_connections") { half += $2; seen["half"] = 1 }
			if ($1 ~ /port="/) {
				if (name == "tcpshake_syn_flood_active" && index($1, port)) put("port_active", $2)
				next
			}
			if (name == "tcpshake_syn_flood_active") put("active", $2)
			if (name == "tcpshake_syn_flood_alerts_total") put("alerts", $2)
			if (name == "tcpshake_syn_sources_estimate") put("sources", $2)
		}
		END {
			if (seen["half"]) put("half", half)
			n = split("active alerts sources half port_active", k, " ")
			for (i = 1; i <= n; i++) printf "%s%s", (seen[k[i]] ? val[k[i]] : "-"), (i < n ? " " : "\n")
		}' "$WORK/$MON_TAG.prom"
}

# sample_for SECONDS: append one line per textfile rewrite to $WORK/TAG.samples:
#   mtime active alerts sources half_open rss_kb port_active
# (bounded by SECONDS; polls every 50 ms; a row read while the file was
# replaced is read again).
sample_for() {
	local end last now row again i a b c d e
	end=$(date +%s.%N)
	end=$(awk -v e="$end" -v s="$1" 'BEGIN { printf "%.3f", e + s }')
	last=$(prom_mtime)
	for ((i = 0; i < 2400; i++)); do
		now=$(prom_mtime)
		if [[ $now != "$last" ]]; then
			row=$(sample_row)
			again=$(prom_mtime)
			if [[ $again == "$now" ]]; then
				last=$now
				read -r a b c d e <<<"$row"
				printf '%s %s %s %s %s %s %s\n' "$now" "$a" "$b" "$c" "$d" "$(dash rss_kb)" "$e" \
					>>"$WORK/$MON_TAG.samples"
				continue
			fi
		fi
		awk -v e="$end" -v n="$(date +%s.%N)" 'BEGIN { exit !(n >= e) }' && break
		sleep 0.05
	done
}

# samples_awk PROGRAM: awk over the samples with columns named.
samples_awk() {
	awk "{ t = \$1; active = \$2; alerts = \$3; sources = \$4; half = \$5; rss = \$6; port_active = \$7 } $1" \
		"$WORK/$MON_TAG.samples"
}

# check_flood_timeline TAG START END: the flood state went to 1 within 2 s of
# START, stayed 1 until END, went to 0 within 5 s of END, and never flapped.
check_flood_timeline() {
	local tag=$1 start=$2 end=$3 on off flaps
	on=$(samples_awk "active == 1 && t >= $start { printf \"%.3f\", t - $start; exit }")
	off=$(samples_awk "t > $end && active == 0 { printf \"%.3f\", t - $end; exit }")
	flaps=$(samples_awk "t >= $start + ${on:-0} && t <= $end && active != 1 { n++ } END { print n + 0 }")
	log "[$tag] first SYN $(date -d "@$start" +%T.%N | cut -c1-12), last $(date -d "@$end" +%T.%N | cut -c1-12); flood state on after ${on:-never} s, off ${off:-never} s after the last SYN"
	if [[ -n $on ]] && awk -v x="$on" 'BEGIN { exit !(x <= 2) }'; then
		pass "[$tag] syn_flood_active = 1 within 2 s of the first SYN (${on} s)"
	else
		fail "[$tag] syn_flood_active = 1 within 2 s of the first SYN: ${on:-never} s"
	fi
	check_eq "[$tag] samples with syn_flood_active != 1 between detection and the last SYN" 0 "$flaps"
	if [[ -n $off ]] && awk -v x="$off" 'BEGIN { exit !(x <= 5) }'; then
		pass "[$tag] syn_flood_active = 0 within 5 s of the last SYN (${off} s)"
	else
		fail "[$tag] syn_flood_active = 0 within 5 s of the last SYN: ${off:-never} s"
	fi
}

# check_rss_flat TAG: the monitor's RSS at the end is within 2 MiB + 5 % of
# its RSS before the flood (first sample), and never above that during it.
check_rss_flat() {
	local tag=$1 before max last
	before=$(samples_awk 'NR == 1 { print rss }')
	max=$(samples_awk '{ if (rss > m) m = rss } END { print m + 0 }')
	last=$(samples_awk 'END { print rss }')
	log "[$tag] monitor RSS: ${before} kB before the flood, max ${max} kB, ${last} kB after"
	local limit=$((before + before / 20 + 2048))
	if ((max <= limit)); then
		pass "[$tag] monitor RSS flat: max $max kB <= $limit kB (before + 5 % + 2 MiB)"
	else
		fail "[$tag] monitor RSS grew: max $max kB > $limit kB (before $before kB)"
	fi
}

# check_churn_exact TAG: the real clients' handshakes and closes as the
# monitor counts them = the client's own count = server/client nstat.
check_churn_exact() {
	local tag=$1 ok
	ok=$(jget "$WORK/$tag.churn.json" ok)
	check_ge "[$tag] real connections completed by the client" 1 "$ok"
	check_eq "[$tag] server TcpPassiveOpens delta = client's count" "$ok" "$(nstat_s TcpPassiveOpens)"
	check_eq "[$tag] client TcpActiveOpens delta = client's count" "$ok" "$(nstat_c TcpActiveOpens)"
	check_eq "[$tag] handshakes_total = client's count" "$ok" "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] handshakes_total{port=\"$CHURN_PORT\"} = client's count" "$ok" \
		"$(metric tcpshake_handshakes_total "port=\"$CHURN_PORT\"")"
	check_eq "[$tag] client TcpEstabResets delta (every close graceful)" 0 "$(nstat_c TcpEstabResets)"
	check_eq "[$tag] closes_total = client's count" "$ok" "$(metric tcpshake_closes_total)"
}

# check_flood_outputs TAG: alerts_total, the stderr lines and the events.
check_flood_outputs() {
	local tag=$1
	check_ge "[$tag] syn_flood_alerts_total" 1 "$(metric_iface tcpshake_syn_flood_alerts_total)"
	check_eq "[$tag] syn_flood events phase=start" 1 "$(event_count "$tag" type=syn_flood phase=start)"
	check_eq "[$tag] syn_flood events phase=end" 1 "$(event_count "$tag" type=syn_flood phase=end)"
	local lines
	lines=$(grep -ci 'flood' "$WORK/$tag.mon.log" || true)
	check_ge "[$tag] stderr lines about the flood (start and end)" 2 "$lines"
	{ grep -i flood "$WORK/$tag.mon.log" || true; } | head -n 4 | cut -c1-200 | sed 's/^/      /'
}

# within_pct PCT VALUE TRUTH: |VALUE - TRUTH| <= PCT % of TRUTH (and TRUTH > 0).
within_pct() {
	awk -v p="$1" -v v="$2" -v t="$3" 'BEGIN { d = v - t; if (d < 0) d = -d; exit !(t > 0 && d <= t * p / 100) }'
}

# check_flood_event TAG FLOOD_JSON: the start and end events name the flooded
# port first, the end event the flood's distinct sources within 10 % of
# those synflood used.
check_flood_event() {
	local tag=$1 f=$2 distinct est top phase
	distinct=$(jget "$f" distinct_sources)
	est=$(event_sum "$tag" flood_sources type=syn_flood phase=end)
	if within_pct 10 "$est" "$distinct"; then
		pass "[$tag] end event flood_sources = $est, synflood's distinct sources $distinct (within 10 %)"
	else
		fail "[$tag] end event flood_sources = $est, synflood's distinct sources $distinct: not within 10 %"
	fi
	for phase in start end; do
		top=$("$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("type") == "syn_flood" and e.get("phase") == sys.argv[2]:
        print(e["top_ports"][0]["port"] if e["top_ports"] else "none")' "$WORK/$tag.events" $phase)
		check_eq "[$tag] $phase event: top destination port (the flood's)" "$FLOOD_PORT" "$top"
	done
}

# replay_flood TAG: tcpshake-mon --read of the scenario's capture, on capture
# time, reports the flood as the live run did: alerts_total, one start and one
# end event, each within 2 s of the live run's (both detectors decide within
# 2 s of the flood's start, on ticks of different phase), the stderr lines.
replay_flood() {
	local tag=$1 rtag=$1.replay rc=0
	"$TCPSHAKE" --read "$CAP_FILE" -q -i "$INTERVAL" --prom-textfile "$WORK/$rtag.prom" \
		--events "$WORK/$rtag.events" >"$WORK/$rtag.out" 2>"$WORK/$rtag.err" || rc=$?
	check_eq "[$rtag] tcpshake-mon --read of the capture: exit status" 0 "$rc"
	check_ge "[$rtag] syn_flood_alerts_total" 1 "$(MON_TAG=$rtag metric_iface tcpshake_syn_flood_alerts_total)"
	check_eq "[$rtag] syn_flood events phase=start" 1 "$(event_count "$rtag" type=syn_flood phase=start)"
	check_eq "[$rtag] syn_flood events phase=end" 1 "$(event_count "$rtag" type=syn_flood phase=end)"
	check_ge "[$rtag] stderr lines about the flood (start and end)" 2 "$(grep -ci 'flood' "$WORK/$rtag.err" || true)"
	check_cmd "[$rtag] start and end events within 2 s of the live run's" "$PY" -c '
import datetime, json, sys
def when(path, phase):
    for line in open(path):
        e = json.loads(line)
        if e.get("type") == "syn_flood" and e.get("phase") == phase:
            return datetime.datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()
    sys.exit("no %s event in %s" % (phase, path))
for phase in ("start", "end"):
    live, replay = when(sys.argv[1], phase), when(sys.argv[2], phase)
    print("%s: live %.3f, replay %.3f" % (phase, live, replay))
    if abs(live - replay) > 2:
        sys.exit("%s events %.3f s apart" % (phase, replay - live))' "$WORK/$tag.events" "$WORK/$rtag.events"
}

# ---- 1: an unanswered spoofed flood over real churn ----------------------------

# sc_flood KIND: KIND=unanswered (SYNs to a black-hole address) or cookies (SYNs
# to a listener with a full SYN queue and syncookies=1).
sc_flood() {
	local kind=$1 tag=$1 dst=$BLACKHOLE4 t0=$SECONDS
	note "scenario: $kind spoofed flood, $FLOOD_RATE SYN/s for $FLOOD_S s from $SPOOF4_WIDE_NET, over $CHURN_RATE real connections/s"
	flood_net_up
	local CHURN_PORT=$CHURN_PORT backlog=4096
	if [[ $kind == cookies ]]; then
		# The flood hits the real clients' service. Its small backlog fills
		# the SYN queue within milliseconds (those first requests linger a
		# minute, their SYN-ACKs retransmitted): from then on every SYN, the
		# clients' too, gets a cookie SYN-ACK and the kernel keeps no state.
		dst=$S4
		CHURN_PORT=$FLOOD_PORT
		backlog=64
		in_s sysctl -qw net.ipv4.tcp_syncookies=1
	fi
	mon_start "$tag"
	[[ $kind == cookies ]] && cap_start "$NS_S" "$IF_S" "$tag"
	nstat_snap "$NS_S" "$tag.s"
	nstat_snap "$NS_C" "$tag.c"
	churn_server "$tag" 40 $backlog
	churn_start "$tag" $((FLOOD_S + 8)) $CHURN_RATE
	sample_for 2
	flood_start "$tag" "$dst" $FLOOD_RATE $FLOOD_S
	if [[ $kind == cookies ]]; then
		# Half-open samples during the flood: their instants are the textfile
		# mtimes, compared with the capture afterwards.
		HALF_T=()
		HALF_V=()
		HALF_S=()
		sample_for 4
		half_sample
		sample_for 4
		half_sample
	fi
	sample_for $((FLOOD_S + 1))
	flood_wait "$tag"
	sample_for 6
	churn_wait "$tag"
	stop_pid "$CHURN_SRV_PID" INT 5 || true
	untrack "$CHURN_SRV_PID"
	wait_exports 2
	if kill -0 "$MON_PID" 2>/dev/null; then
		pass "[$tag] tcpshake-mon still running after the flood"
	else
		fail "[$tag] tcpshake-mon died during the flood"
	fi

	local f=$WORK/$tag.flood.json start end sent rate
	start=$(jget "$f" start)
	end=$(jget "$f" end)
	sent=$(jget "$f" ok)
	rate=$(jget "$f" rate)
	log "[$tag] synflood: $sent SYNs in $(jget "$f" seconds) s ($rate/s), $(jget "$f" distinct_sources) distinct sources"
	check_ge "[$tag] flood rate reached (SYN/s)" 10000 "$rate"
	check_ge "[$tag] syn_packets_total >= SYNs sent" "$sent" "$(metric tcpshake_syn_packets_total)"
	check_flood_timeline "$tag" "$start" "$end"
	if [[ $kind == cookies ]]; then
		# An answered port is a service port with a label of its own; a
		# black-holed one never answers, so only the interface judges it.
		local port_on
		port_on=$(samples_awk "t >= $start && t <= $end && port_active == 1 { n++ } END { print n + 0 }")
		check_ge "[$tag] samples with syn_flood_active{port=\"$FLOOD_PORT\"} = 1 during the flood" 1 "$port_on"
		check_ge "[$tag] syn_flood_alerts_total{port=\"$FLOOD_PORT\"}" 1 \
			"$(metric_port tcpshake_syn_flood_alerts_total $FLOOD_PORT)"
	fi
	[[ $kind == unanswered ]] &&
		check_eq "[$tag] syn_flood_alerts_total{port=\"$CHURN_PORT\"} (the real clients' port)" 0 \
			"$(metric_port tcpshake_syn_flood_alerts_total $CHURN_PORT)"
	check_rss_flat "$tag"
	if [[ $kind == cookies ]]; then
		check_ge "[$tag] server TcpExtSyncookiesSent delta >= 95 % of the SYNs" $((sent * 95 / 100)) \
			"$(nstat_s TcpExtSyncookiesSent)"
		cap_stop
		check_half_open "$tag"
		# A full accept queue drops a client's third ACK (it retransmits):
		# not the monitor's doing, but worth seeing next to the counts.
		log "[$tag] server TcpExtListenOverflows delta: $(nstat_s TcpExtListenOverflows)"
	fi
	mon_stop
	check_flood_outputs "$tag"
	check_flood_event "$tag" "$f"
	[[ $kind == cookies ]] && replay_flood "$tag"
	check_churn_exact "$tag"
	note "[$tag] wall time $((SECONDS - t0)) s"
}

# half_sample: append the half-open gauge, the distinct-source estimate and
# the instant of their export to HALF_V, HALF_S, HALF_T (the same textfile:
# its mtime unchanged around the reads).
half_sample() {
	local i t1 v src t2
	for ((i = 0; i < 20; i++)); do
		t1=$(prom_mtime)
		v=$(metric tcpshake_half_open_connections)
		src=$(metric_iface tcpshake_syn_sources_estimate)
		t2=$(prom_mtime)
		if [[ $t1 == "$t2" ]]; then
			HALF_T+=("$t1")
			HALF_V+=("$v")
			HALF_S+=("${src:-0}")
			return 0
		fi
	done
	die "[$MON_TAG] the textfile changed under every read"
}

# check_half_open TAG: each half-open sample within 10 % of the capture's count
# of attempts half-open at that instant (valid SYN-ACK, not completed, within
# the monitor's syn-timeout of 30 s); each distinct-source estimate (of the
# last interval) within 10 % of the capture's distinct SYN sources in the
# interval before that instant.
check_half_open() {
	local tag=$1 i truth src json
	json=$("$PY" "$ANALYZE" halfopen "$CAP_FILE" 30 "$INTERVAL" "${HALF_T[@]}") ||
		die "[$tag] analyze.py halfopen failed"
	for i in "${!HALF_T[@]}"; do
		truth=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["halfopen"][sys.argv[2]])' "$json" "${HALF_T[$i]}")
		src=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["sources"][sys.argv[2]])' "$json" "${HALF_T[$i]}")
		# The flood outgrows the handshake table (default 32768 slots): the
		# gauge counts evicted half-open attempts too (halfopen.h).
		if within_pct 10 "${HALF_V[$i]}" "$truth"; then
			pass "[$tag] half_open_connections at sample $((i + 1)) = ${HALF_V[$i]}, capture $truth (within 10 %)"
		else
			fail "[$tag] half_open_connections at sample $((i + 1)) = ${HALF_V[$i]}, capture $truth: not within 10 %"
		fi
		if within_pct 10 "${HALF_S[$i]}" "$src"; then
			pass "[$tag] syn_sources_estimate at sample $((i + 1)) = ${HALF_S[$i]}, capture: $src distinct SYN sources in the last $INTERVAL s (within 10 %)"
		else
			fail "[$tag] syn_sources_estimate at sample $((i + 1)) = ${HALF_S[$i]}, capture: $src distinct SYN sources in the last $INTERVAL s: not within 10 %"
		fi
	done
}

# ---- 3: no alert for legitimate surges or a trickle ---------------------------

sc_no_alert() {
	local tag=no-alert t0=$SECONDS
	note "scenario: churn at the machine's maximum rate, at a thirtieth of it, a sudden 10x+ rise; a spoofed trickle below the floor"
	flood_net_up
	mon_start "$tag"
	nstat_snap "$NS_S" "$tag.s"
	nstat_snap "$NS_C" "$tag.c"
	churn_server "$tag" 40
	# The machine's maximum: unpaced, as fast as the slots free up.
	churn_start "$tag.max" 3 0
	sample_for 3.5
	churn_wait "$tag.max"
	local max
	max=$(jget "$WORK/$tag.max.churn.json" rate)
	log "[$tag] maximum churn: $max connections/s ($(jget "$WORK/$tag.max.churn.json" ok) in 3 s)"
	# A thirtieth of it for a while (what the baseline learns), then unpaced
	# again: on this shared machine the second maximum can be well below the
	# first (TIME-WAIT sockets, other load), and the rise must still be 10x.
	churn_start "$tag.base" 4 $((max / 30))
	sample_for 4.2
	churn_wait "$tag.base"
	churn_start "$tag.rise" 3 0
	sample_for 3.5
	churn_wait "$tag.rise"
	local base rise
	base=$(jget "$WORK/$tag.base.churn.json" rate)
	rise=$(jget "$WORK/$tag.rise.churn.json" rate)
	log "[$tag] before the rise $base/s, after it $rise/s"
	check_ge "[$tag] the sudden rise, connections/s (10x before)" $((base * 10)) "$rise"
	# A spoofed trickle: a quarter of the floor, unanswered, 5 s.
	local floor
	floor=$("$TCPSHAKE" --help 2>&1 | tr -s ' \n' ' ' | sed -n 's/.*--flood-min-rate N [^(]*(default \([0-9]*\)).*/\1/p')
	[[ $floor =~ ^[0-9]+$ ]] || die "[$tag] no default in tcpshake-mon --help for --flood-min-rate"
	flood_start "$tag" "$BLACKHOLE4" $((floor / 4)) 5
	sample_for 5.5
	flood_wait "$tag"
	sample_for 1
	stop_pid "$CHURN_SRV_PID" INT 5 || true
	untrack "$CHURN_SRV_PID"
	wait_exports 2
	local total
	total=$(($(jget "$WORK/$tag.max.churn.json" ok) + $(jget "$WORK/$tag.base.churn.json" ok) + $(jget "$WORK/$tag.rise.churn.json" ok)))
	log "[$tag] trickle: $(jget "$WORK/$tag.flood.json" ok) SYNs at $(jget "$WORK/$tag.flood.json" rate)/s (floor $floor/s)"
	check_ge "[$tag] syn_packets_total >= real connections + trickle SYNs" \
		$((total + $(jget "$WORK/$tag.flood.json" ok))) "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] samples with syn_flood_active = 1" 0 "$(samples_awk '$2 == 1 { n++ } END { print n + 0 }')"
	check_eq "[$tag] samples without syn_flood_active" 0 "$(samples_awk '$2 == "-" { n++ } END { print n + 0 }')"
	check_eq "[$tag] syn_flood_alerts_total" 0 "$(metric_iface tcpshake_syn_flood_alerts_total)"
	check_eq "[$tag] server TcpPassiveOpens delta = the clients' count" "$total" "$(nstat_s TcpPassiveOpens)"
	check_eq "[$tag] handshakes_total = the clients' count" "$total" "$(metric tcpshake_handshakes_total)"
	mon_stop
	check_eq "[$tag] syn_flood events" 0 "$(event_count "$tag" type=syn_flood)"
	note "[$tag] wall time $((SECONDS - t0)) s"
}

# ---- 4: --alert-exec ------------------------------------------------------------

ALERT_TIMEOUT=2

# The --alert-exec program: saves its stdin, its TCPSHAKE_* variables and its
# PID, then behaves as the N-th word of MODES says for its N-th run (fail:
# exit 3; slow: 1.5 s, under --alert-timeout; hang: ignores SIGTERM and
# sleeps far past it; ok). A file marks every run that got to its end.
write_alert_program() {
	cat >"$1" <<'PROG'
#!/bin/sh
dir=$1 modes=$2
n=$(($(cat "$dir/count" 2>/dev/null || echo 0) + 1))
echo "$n" >"$dir/count"
cat >"$dir/alert.$n.json"
env | grep '^TCPSHAKE_' | sort >"$dir/env.$n"
echo "$$ $(date +%s.%N)" >"$dir/pid.$n"
mode=$(echo "$modes" | cut -d, -f"$n")
case $mode in
fail) touch "$dir/done.$n"; exit 3 ;;
slow) sleep 1.5 ;;
hang) trap '' TERM; exec sleep 30 ;;
esac
touch "$dir/done.$n"
PROG
	chmod 755 "$1"
}

# alert_json N FIELD: FIELD of the JSON the N-th run got on stdin.
alert_json() {
	"$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$ALERT_DIR/alert.$1.json" "$2" 2>/dev/null || echo unreadable
}

# alert_env N NAME: variable NAME as the N-th run saw it.
alert_env() { sed -n "s/^$2=//p" "$ALERT_DIR/env.$1"; }

# the textfile's longest pause between two rewrites in the samples, seconds
max_gap() { samples_awk 'NR > 1 { g = t - p; if (g > m) m = g } { p = t } END { printf "%.3f", m }'; }

sc_alert_exec() {
	local tag=alert-exec n t0=$SECONDS
	ALERT_DIR=$WORK/alerts
	mkdir -p "$ALERT_DIR"
	write_alert_program "$WORK/alert.sh"
	note "scenario: --alert-exec program failing, slow, hanging, then fine, over two 2 s floods (--alert-timeout $ALERT_TIMEOUT, --flood-hold 1)"
	flood_net_up
	mon_start "$tag" --flood-hold 1 --alert-timeout $ALERT_TIMEOUT \
		--alert-exec "$WORK/alert.sh $ALERT_DIR fail,slow,hang,ok"
	sample_for 1
	for n in 1 2; do
		flood_start "$tag.$n" "$BLACKHOLE4" 5000 2
		sample_for 2.2
		flood_wait "$tag.$n"
		# The end (hold 1 s) and the program's runs: the hang until its kill.
		sample_for 3.5
	done
	wait_exports 2
	check_eq "[$tag] syn_flood_alerts_total (two floods)" 2 "$(metric_iface tcpshake_syn_flood_alerts_total)"
	mon_stop
	local runs
	runs=$(cat "$ALERT_DIR/count" 2>/dev/null || echo 0)
	check_eq "[$tag] runs of the program (start and end of two floods)" 4 "$runs"
	check_eq "[$tag] syn_flood events" 4 "$(event_count "$tag" type=syn_flood)"
	local phases=(start end start end)
	for n in 1 2 3 4; do
		[[ -s $ALERT_DIR/alert.$n.json ]] || { fail "[$tag] run $n got nothing on stdin"; continue; }
		check_eq "[$tag] run $n: stdin JSON type" syn_flood "$(alert_json $n type)"
		check_eq "[$tag] run $n: stdin JSON phase" "${phases[$((n - 1))]}" "$(alert_json $n phase)"
		check_eq "[$tag] run $n: stdin JSON iface" "$IF_S" "$(alert_json $n iface)"
		check_eq "[$tag] run $n: TCPSHAKE_EVENT" syn_flood "$(alert_env $n TCPSHAKE_EVENT)"
		check_eq "[$tag] run $n: TCPSHAKE_PHASE" "${phases[$((n - 1))]}" "$(alert_env $n TCPSHAKE_PHASE)"
		check_eq "[$tag] run $n: TCPSHAKE_IFACE" "$IF_S" "$(alert_env $n TCPSHAKE_IFACE)"
	done
	# The program got the very object the event stream has.
	check_cmd "[$tag] each run's stdin = the matching syn_flood event of --events" "$PY" -c '
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if "\"syn_flood\"" in l]
for n, e in enumerate(events, 1):
    got = json.load(open("%s/alert.%d.json" % (sys.argv[2], n)))
    if got != e:
        sys.exit("run %d: %s != %s" % (n, got, e))' "$WORK/$tag.events" "$ALERT_DIR"
	check_eq "[$tag] runs that got to their end (fail, slow, ok; not the hang)" "1 2 4" \
		"$(for n in 1 2 3 4; do [[ -e $ALERT_DIR/done.$n ]] && printf '%s ' $n; done | sed 's/ $//')"
	local hang_pid
	hang_pid=$(awk '{ print $1 }' "$ALERT_DIR/pid.3" 2>/dev/null)
	if [[ -n $hang_pid ]] && kill -0 "$hang_pid" 2>/dev/null; then
		fail "[$tag] the hanging program (PID $hang_pid) still runs after --alert-timeout"
		kill -KILL "$hang_pid" 2>/dev/null || true
	else
		pass "[$tag] the hanging program was killed"
	fi
	check_ge "[$tag] log: the failing program's exit status" 1 "$(grep -c 'exit status 3' "$WORK/$tag.mon.log" || true)"
	check_ge "[$tag] log: the hanging program killed after the timeout" 1 "$(grep -c 'killed' "$WORK/$tag.mon.log" || true)"
	local gap
	gap=$(max_gap)
	log "[$tag] $(wc -l <"$WORK/$tag.samples") textfile rewrites sampled, longest pause $gap s (interval $INTERVAL s)"
	if awk -v g="$gap" -v i="$INTERVAL" 'BEGIN { exit !(g > 0 && g <= 3 * i) }'; then
		pass "[$tag] the textfile kept its interval through every run (longest pause $gap s <= 3 x $INTERVAL s)"
	else
		fail "[$tag] the textfile stalled: longest pause $gap s > 3 x $INTERVAL s"
	fi
	note "[$tag] wall time $((SECONDS - t0)) s"
}

run_sc unanswered sc_flood unanswered
run_sc cookies sc_flood cookies
run_sc no-alert sc_no_alert
run_sc alert-exec sc_alert_exec
net_down
finish
