#!/bin/bash
# Soak: tcpshake-mon under steady churn for MINUTES (make soak MINUTES=30).
# Not part of make check.
#
# In this script's own namespaces (lib.sh): a client opens >= 1000
# connections/s to a server, of every 10: 8 complete, 1 refused, 1 reset by
# the client; hping3 adds half-open handshakes (SYNs from SPOOF4_NET, whose
# SYN-ACKs die in the client namespace). Every 10 s it samples the
# monitor's RSS, table entries and gauges, and prints the series. At the end
# the counters must equal the kernel's (nstat) and, after a warm-up of one
# TIME-WAIT period, RSS, table entries and gauges must stay flat: no sample
# above the warm series' first by more than the allowance below. Prints a
# verdict; exits 1 if any check failed.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
require_root_tools
require_hping3

MINUTES=${1:-${MINUTES:-30}}
[[ $MINUTES =~ ^[0-9]+$ ]] && ((MINUTES >= 2)) || die "MINUTES must be a whole number >= 2"
SECONDS_TOTAL=$((MINUTES * 60))
RATE=${SOAK_RATE:-1200}          # client connections per second
HALF_OPEN_RATE=100               # spoofed SYNs per second
SAMPLE_S=10
WARMUP_S=90                      # > TIME-WAIT (60 s): the gauges have filled up
PORT=8080
CLOSED_PORT=8081
CHURN=$REPO/tests/soak/churn.py

net_up
# Enough ports and backlog for the rate; inside the namespaces only.
in_c sysctl -qw net.ipv4.ip_local_port_range="10000 65000" net.ipv4.tcp_tw_reuse=1
in_s sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=8192 net.ipv4.tcp_syncookies=0
nstat_snap "$NS_S" soak.s
nstat_snap "$NS_C" soak.c
# Events are formatted and written (the writer thread and its queue are
# part of what must stay flat), to /dev/null: a file would grow ~1 MB/s.
# The handshake table holds ~3000 live half-opens (100/s for the 30 s SYN
# timeout) next to the handshakes in flight; at the default size a few of
# its 4-way buckets would overflow and evict, so it gets room.
mon_start soak -i 1 --events /dev/null --handshake-slots 262144
note "soak: $MINUTES min, $RATE conn/s (8 complete, 1 refused, 1 reset per 10) + $HALF_OPEN_RATE half-open/s"

ip netns exec "$NS_S" "$PY" "$CHURN" server --addr "$S4" --port "$PORT" --seconds $((SECONDS_TOTAL + 20)) \
	--ready "$WORK/server.ready" >"$WORK/server.json" 2>"$WORK/server.log" &
SERVER_PID=$!
track "$SERVER_PID"
wait_for 10 server test -e "$WORK/server.ready" || die "the churn server did not start"
ip netns exec "$NS_C" "$PY" "$CHURN" client --addr "$S4" --port "$PORT" --closed-port "$CLOSED_PORT" \
	--seconds "$SECONDS_TOTAL" --workers 4 --rate "$RATE" >"$WORK/client.json" 2>"$WORK/client.log" &
CLIENT_PID=$!
track "$CLIENT_PID"
# Half-opens: SYNs to the server from an unowned address, source port rising.
ip netns exec "$NS_C" timeout "$SECONDS_TOTAL" hping3 -q -S -p "$PORT" -a 10.77.99.7 \
	-i u$((1000000 / HALF_OPEN_RATE)) "$S4" >"$WORK/hping.log" 2>&1 &
HPING_PID=$!
track "$HPING_PID"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$MON_PID/status" 2>/dev/null || echo 0; }

SERIES=$WORK/series.tsv
printf 't_s\trss_kb\tflow_entries\ths_entries\testablished\thalf_open\ttime_wait\tsyn_sent\thandshakes\n' >"$SERIES"
t0=$SECONDS
next=$SAMPLE_S
while ((SECONDS - t0 < SECONDS_TOTAL)); do
	sleep $((next - (SECONDS - t0) > 0 ? next - (SECONDS - t0) : 0))
	kill -0 "$MON_PID" 2>/dev/null || die "tcpshake-mon died during the soak: $(tail -5 "$WORK/soak.mon.log")"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$((SECONDS - t0))" "$(rss_kb)" \
		"$(metric tcpshake_table_entries 'table="flow"')" "$(metric tcpshake_table_entries 'table="handshake"')" \
		"$(metric tcpshake_established_connections)" "$(metric tcpshake_half_open_connections)" \
		"$(metric tcpshake_time_wait_connections)" "$(metric tcpshake_syn_sent_connections)" \
		"$(metric tcpshake_handshakes_total)" | tee -a "$SERIES" | sed 's/^/      /'
	next=$((next + SAMPLE_S))
done

client_wait soak
stop_pid "$HPING_PID" INT 5 || true
untrack "$HPING_PID"
stop_pid "$SERVER_PID" TERM 5 || true
untrack "$SERVER_PID"
wait_exports 3

note "client: $(cat "$WORK/client.json")"
rate=$("$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["per_second"]))' "$WORK/client.json")
check_ge "client connections per second (complete + refused + reset)" 1000 "$rate"
check_eq "client: connections that misbehaved" 0 \
	"$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["errors"])' "$WORK/client.json")"

# Counters against the kernel's, for the whole run.
check_eq "handshakes_total = server TcpPassiveOpens" "$(nstat_s TcpPassiveOpens)" "$(metric tcpshake_handshakes_total)"
check_eq "handshake_failures_total{refused} = client TcpAttemptFails" "$(nstat_c TcpAttemptFails)" \
	"$(metric tcpshake_handshake_failures_total 'reason="refused"')"
check_eq "closes_total{reset} = server TcpEstabResets" "$(nstat_s TcpEstabResets)" \
	"$(metric tcpshake_closes_total 'kind="reset"')"
check_eq "flow_evictions_total" 0 "$(metric tcpshake_flow_evictions_total)"
check_eq "update_conflicts_total" 0 "$(metric tcpshake_update_conflicts_total)"
check_ge "half-open handshakes seen (syn_packets_total - handshakes)" 1 \
	"$(($(metric tcpshake_syn_packets_total) - $(metric tcpshake_handshakes_total)))"

# Flatness after the warm-up: every later sample within the allowance of
# the first warm sample (RSS: 10 % + 2 MiB; counts: 30 % + 200). The
# handshake table is judged apart: an attempt that timed out stays as a
# tombstone until a new SYN takes its way (by design: see sweep.h), so its
# entries grow towards the capacity and stay there; they must never pass it.
"$PY" - "$SERIES" "$WARMUP_S" >"$WORK/flat.txt" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
warm = [r for r in rows if int(r["t_s"]) >= int(sys.argv[2])]
if len(warm) < 2:
    print("FAIL too few samples after the warm-up"); sys.exit()
for col, rel, add in (("rss_kb", 0.10, 2048), ("flow_entries", 0.30, 200),
                      ("established", 0.30, 200), ("half_open", 0.30, 200), ("time_wait", 0.30, 200),
                      ("syn_sent", 0.30, 200)):
    vals = [int(r[col]) for r in warm]
    limit = vals[0] * (1 + rel) + add
    verdict = "ok" if max(vals) <= limit else "FAIL"
    print(f"{verdict} {col}: first warm {vals[0]}, min {min(vals)}, max {max(vals)}, last {vals[-1]} (limit {int(limit)})")
EOF
while read -r verdict rest; do
	if [[ $verdict == ok ]]; then pass "flat after ${WARMUP_S}s: $rest"; else fail "flat after ${WARMUP_S}s: $rest"; fi
done <"$WORK/flat.txt"

hs_cap=$(metric tcpshake_table_capacity 'table="handshake"')
hs_max=$(awk -F'\t' 'NR > 1 && $4 > m { m = $4 } END { print m + 0 }' "$SERIES")
hs_first=$(awk -F'\t' 'NR == 2 { print $4 }' "$SERIES")
if ((hs_max <= hs_cap)); then
	pass "handshake table entries bounded: $hs_first -> max $hs_max of capacity $hs_cap (tombstones of timed-out attempts included)"
else
	fail "handshake table entries $hs_max above the capacity $hs_cap"
fi
note "other counters: $(grep -E '^tcpshake_(time_wait_reuses|update_retries|flow_evictions|update_conflicts|events_lost)_total' \
	"$WORK/soak.prom" | sed 's/{iface="vs"}//' | tr '\n' ' ')"

mon_stop
if ((CHECKS_FAILED)); then
	note "VERDICT: FAIL ($CHECKS_FAILED of $((CHECKS_OK + CHECKS_FAILED)) checks) after $MINUTES min"
else
	note "VERDICT: PASS, $MINUTES min at $rate conn/s: counters equal nstat, RSS, tables and gauges flat"
fi
net_down
finish
