#!/bin/bash
# tcpshake-mon in a real monitoring stack, every component started here:
#  - /metrics over HTTP and the textfile pass `promtool check metrics`;
#    content type, /healthz, default loopback bind;
#  - a real node_exporter's textfile collector serves the monitor's values;
#  - a real Prometheus server scrapes --listen and its query API returns the
#    handshake count of real TCP traffic (= the server's nstat);
#  - an unwritable textfile directory: one clear error, monitoring goes on,
#    the file appears once the directory exists;
#  - every tcpshake_* name the alert rules and dashboard use is exported.
# Monitor, servers and traffic live in namespaces created here (the
# server namespace's loopback carries the scrapes); the trap stops every
# process by PID and deletes the namespaces.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${TCPSHAKE_BIN:-./tcpshake-mon}
NS_S=tsprom_s$$
NS_C=tsprom_c$$
WORK=$(mktemp -d /tmp/tcpshake-prom.XXXXXX)
PIDS=()
FAILED=0
N=60

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	sleep 0.5
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$NS_S" 2>/dev/null || true
	ip netns del "$NS_C" 2>/dev/null || true
	[[ $FAILED == 0 || -n ${KEEP_WORK:-} ]] || echo "kept $WORK"
	[[ $FAILED != 0 || -n ${KEEP_WORK:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT

ok() { printf 'ok   %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; FAILED=1; }
in_s() { nsenter --net="/run/netns/$NS_S" "$@"; }
in_c() { nsenter --net="/run/netns/$NS_C" "$@"; }
# Background processes are started with nsenter itself, which execs in
# place, so $! is the process to stop (a backgrounded function would be a
# subshell, and $! that shell).
S="nsenter --net=/run/netns/$NS_S"
C="nsenter --net=/run/netns/$NS_C"

# wait_for SECONDS COMMAND...: polls every 0.2 s.
wait_for() {
	local limit=$1 i
	shift
	for i in $(seq 1 $((limit * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# Sum of a metric's samples (any labels) in an exposition on stdin;
# "missing:NAME" and status 1 when there is none (never a silent 0).
sum_metric() {
	awk -v m="$1" '$1 ~ "^"m"($|\\{)" { s += $NF; found = 1 }
		END { if (!found) { printf "missing:%s\n", m; exit 1 } printf "%d\n", s }'
}

for tool in promtool prometheus prometheus-node-exporter curl; do
	command -v "$tool" >/dev/null || { echo "FAIL $tool is missing: run make deps"; exit 1; }
done

ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add ps type veth peer name pc
ip link set ps netns "$NS_S"
ip link set pc netns "$NS_C"
in_s ip addr add 10.79.0.1/24 dev ps
in_c ip addr add 10.79.0.2/24 dev pc
for ns in "$NS_S" "$NS_C"; do
	ip -n "$ns" link set lo up
done
in_s ip link set ps up
in_c ip link set pc up

mkdir -p "$WORK/textfiles"
# --bpf-stats: the dashboard's cost panel reads the programs' run time.
$S "$BIN" --quiet --interval 0.5 --bpf-stats --listen 9431 --prom-textfile "$WORK/textfiles/tcpshake.prom" \
	ps 2>"$WORK/mon.err" &
PIDS+=($!)
wait_for 10 test -s "$WORK/textfiles/tcpshake.prom" || bad "no textfile: $(cat "$WORK/mon.err")"

# ---- HTTP endpoint ----
in_s curl -s -D "$WORK/headers" -o "$WORK/http.prom" http://127.0.0.1:9431/metrics
grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' "$WORK/headers" &&
	ok "/metrics content type is text/plain; version=0.0.4" ||
	bad "/metrics headers: $(tr -d '\r' <"$WORK/headers" | tr '\n' ' ')"
promtool check metrics <"$WORK/http.prom" >"$WORK/promtool-http.out" 2>&1 &&
	ok "promtool check metrics accepts the HTTP exposition" ||
	bad "promtool on /metrics: $(head -5 "$WORK/promtool-http.out")"
promtool check metrics <"$WORK/textfiles/tcpshake.prom" >"$WORK/promtool-tf.out" 2>&1 &&
	ok "promtool check metrics accepts the textfile" ||
	bad "promtool on the textfile: $(head -5 "$WORK/promtool-tf.out")"
[[ "$(in_s curl -s -o /dev/null -w '%{http_code} ' http://127.0.0.1:9431/healthz)$(in_s curl -s http://127.0.0.1:9431/healthz)" == "200 ok" ]] &&
	ok "/healthz answers 200 ok" || bad "/healthz: $(in_s curl -s -i http://127.0.0.1:9431/healthz | head -1)"
[[ "$(in_s curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9431/nope)" == 404 ]] &&
	ok "unknown paths answer 404" || bad "unknown path did not answer 404"
in_s ss -Hltn 'sport = :9431' | awk '{print $4}' | grep -qx '127.0.0.1:9431' &&
	ok "--listen PORT binds loopback only" || bad "listening on: $(in_s ss -Hltn 'sport = :9431')"
[[ -f deploy/prometheus/tcpshake-alerts.yml ]] && bash tests/deploy/check_metric_refs.sh "$WORK/http.prom" \
	>"$WORK/refs.out" 2>&1 && ok "every metric the alerts and dashboard use is exported" ||
	bad "metric references: $(cat "$WORK/refs.out")"

# ---- node_exporter and Prometheus, on the server namespace's loopback ----
$S prometheus-node-exporter --web.listen-address=127.0.0.1:9100 --collector.disable-defaults \
	--collector.textfile --collector.textfile.directory="$WORK/textfiles" >"$WORK/node.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tcpshake
    static_configs:
      - targets: ['127.0.0.1:9431']
EOF
$S prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
	--web.listen-address=127.0.0.1:9090 >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
wait_for 30 in_s curl -sf http://127.0.0.1:9090/-/ready || bad "Prometheus did not get ready: $(tail -3 "$WORK/prometheus.log")"
wait_for 15 in_s curl -sf http://127.0.0.1:9100/metrics || bad "node_exporter did not start: $(tail -3 "$WORK/node.log")"

# ---- real traffic: N connections to a real server ----
# Ground truth: the connections the server accepted. (nstat would also
# count the scrapes on this namespace's loopback, which the monitor on the
# veth rightly never sees.)
$S python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.79.0.1", 8080)); s.listen(128); s.settimeout(20)
n = 0
for _ in range(int(sys.argv[1])):
    c, _ = s.accept(); c.recv(16); c.sendall(b"ok"); c.close(); n += 1
print(n)
' "$N" >"$WORK/accepted" &
SRV=$!
PIDS+=($SRV)
# ss exits 0 with or without a match: wait for its output instead.
listening() { [[ -n "$(in_s ss -Hltn "sport = :$1")" ]]; }
wait_for 10 listening 8080 || bad "the test server did not start listening"
in_c timeout 30 python3 -c '
import socket, sys
for _ in range(int(sys.argv[1])):
    c = socket.create_connection(("10.79.0.1", 8080), timeout=5); c.sendall(b"hi"); c.recv(16); c.close()
' "$N"
wait "$SRV" || true
passive=$(cat "$WORK/accepted")
[[ $passive == "$N" ]] && ok "ground truth: the server accepted $N connections" ||
	bad "the server accepted '$passive', expected $N"

query() {
	in_s curl -s --data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query |
		python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else -1)'
}
got=-1
for i in $(seq 1 50); do
	got=$(query 'sum(tcpshake_handshakes_total{iface="ps"})' 2>/dev/null || echo -1)
	[[ $got == "$passive" ]] && break
	sleep 0.3
done
[[ $got == "$passive" ]] && ok "Prometheus scraped --listen: sum(tcpshake_handshakes_total) = $got" ||
	bad "Prometheus query returned $got, expected $passive"
got=$(query 'tcpshake_handshakes_total{iface="ps",port="8080"}')
[[ $got == "$passive" ]] && ok "per-port series: tcpshake_handshakes_total{port=\"8080\"} = $got" ||
	bad "port 8080 series: $got"
got=$(query 'sum(tcpshake_handshake_seconds_count{iface="ps"})')
[[ $got == "$passive" ]] && ok "handshake histogram count = $got" || bad "histogram count: $got"
got=$(query 'histogram_quantile(0.5, sum by (le) (tcpshake_handshake_seconds_bucket{iface="ps"})) > 0')
[[ $got != -1 ]] && ok "histogram_quantile over the buckets works" || bad "histogram_quantile: no result"
got=$(query 'tcpshake_up{iface="ps"}')
[[ $got == 1 ]] && ok "tcpshake_up = 1" || bad "tcpshake_up = $got"

# node_exporter serves what the textfile says.
sleep 1
tf=$(sum_metric tcpshake_handshakes_total <"$WORK/textfiles/tcpshake.prom") || true
ne=$(in_s curl -s http://127.0.0.1:9100/metrics | sum_metric tcpshake_handshakes_total) || true
[[ $ne == "$tf" && $tf == "$passive" ]] &&
	ok "node_exporter's textfile collector serves tcpshake_handshakes_total = $ne" ||
	bad "node_exporter says $ne, the textfile $tf, accepted $passive"
node=$(in_s curl -s http://127.0.0.1:9100/metrics)
grep -q '^node_textfile_scrape_error 0' <<<"$node" && ok "node_exporter reports no textfile error" ||
	bad "node_exporter textfile error: $(grep '^node_textfile_scrape_error' <<<"$node")"

# ---- the textfile directory missing, then created ----
$C "$BIN" --quiet --interval 0.3 --duration 8 --prom-textfile "$WORK/later/tcpshake.prom" \
	--listen 0.0.0.0:9432 pc 2>"$WORK/later.err" &
LATE=$!
PIDS+=($LATE)
# Running (listening, and its first export failed), however slow the load.
for ((i = 0; i < 150; i++)); do
	grep -q 'cannot write' "$WORK/later.err" && in_c ss -Hltn 'sport = :9432' | grep -q . && break
	kill -0 "$LATE" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$LATE" 2>/dev/null && ok "with an unwritable textfile directory the monitor keeps running" ||
	bad "the monitor stopped: $(cat "$WORK/later.err")"
in_c ss -Hltn 'sport = :9432' | awk '{print $4}' | grep -qx '0.0.0.0:9432' &&
	ok "an explicit --listen 0.0.0.0:9432 binds all addresses" ||
	bad "0.0.0.0 listener: $(in_c ss -Hltn 'sport = :9432')"
mkdir "$WORK/later"
rc=0
wait "$LATE" || rc=$?
errors=$(grep -c 'cannot write' "$WORK/later.err" || true)
[[ $rc == 0 && $errors == 1 && -s "$WORK/later/tcpshake.prom" ]] &&
	ok "one clear error ($(grep 'cannot write' "$WORK/later.err")), then the file appears" ||
	bad "textfile retry: exit $rc, $errors errors, file $(ls "$WORK/later" 2>&1)"
grep -q '^tcpshake_up{iface="pc"} 0' "$WORK/later/tcpshake.prom" &&
	ok "the textfile written at exit says tcpshake_up 0" || bad "final textfile lacks tcpshake_up 0"

exit $FAILED
