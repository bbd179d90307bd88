#!/usr/bin/env bash
# What the monitor says it costs (tcpshake_self_*, tcpshake_bpf_*), against
# the kernel's own accounts of the same process and programs:
#  - --bpf-stats turns the kernel's BPF run-time statistics on while it runs
#    (bpftool shows run counts), and they are off again after it exits (a
#    monitor started next without it gets none);
#  - each program's runs and run time lie between what bpftool reported
#    just before the textfile's numbers were read and just after; the two
#    packet hooks ran at least once per TCP segment the monitor counted;
#  - CPU time lies between /proc/PID/stat's before and after (its user and
#    system times are each truncated to clock ticks, getrusage's are not: up
#    to two ticks), resident memory is /proc/PID/status's VmRSS, and map memory
#    is the sum of memlock over the BPF maps the process holds (fdinfo);
#  - without the statistics, the two program metrics are not exported at
#    all (a frozen zero would look free), the others are;
#  - the --json lines carry the same figures, held against the same accounts
#    (bpf_programs null without the statistics);
#  - --bpf-stats is refused with --read (exit 2).
# Traffic runs between namespaces created here; the trap removes them.
# run-tests: alone (--bpf-stats and the checks without it read the
# kernel's statistics switch, which every monitor on the machine shares)
source "$(dirname "$0")/lib.sh"
require_root_tools
PORT=8080
N=20
STATS_WAS=$(cat /proc/sys/kernel/bpf_stats_enabled)
TCK=$(getconf CLK_TCK)

# prog_stat ID FIELD: a field of a program's bpftool record (name, run_cnt,
# run_time_ns; 0 when absent, as the run counts are without statistics).
prog_stat() {
	bpftool prog show id "$1" -j | "$PY" -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], 0))' "$2"
}

# mon_progs: "id name" of the BPF programs the monitor holds.
mon_progs() {
	local id
	for id in $(prog_ids "$MON_PID"); do
		echo "$id $(prog_stat "$id" name)"
	done
}

# map_memlock PID: memlock summed over the distinct BPF maps PID holds.
map_memlock() {
	awk 'function add() { if (id != "" && !(id in seen)) { seen[id] = 1; s += ml } id = ""; ml = "" }
		FNR == 1 { add() }
		$1 == "map_id:" { id = $2 } $1 == "memlock:" { ml = $2 }
		END { add(); printf "%d\n", s }' /proc/"$1"/fdinfo/*
}

# between NAME LO VALUE HI: LO <= VALUE <= HI (decimals allowed).
between() {
	if awk -v lo="$2" -v v="$3" -v hi="$4" 'BEGIN { exit !(v ~ /^[0-9.]+$/ && lo <= v && v <= hi) }'; then
		pass "$1 = $3 (kernel: $2 .. $4)"
	else
		fail "$1: $3, outside the kernel's $2 .. $4"
	fi
}

# progs_snap RUNS NS: each of "${progs[@]}"'s run count and run time (ns)
# now, by bpftool, into the associative arrays named RUNS and NS.
progs_snap() {
	local -n runs_out=$1 ns_out=$2
	local p
	for p in "${progs[@]}"; do
		runs_out[$p]=$(prog_stat "${p% *}" run_cnt)
		ns_out[$p]=$(prog_stat "${p% *}" run_time_ns)
	done
}

# check_process_cost WHAT CPU_SECONDS RSS_BYTES MAP_BYTES: the monitor's own
# figures against the kernel's, read before ($t0 ticks) and after ($t1, $rss,
# $memlock). /proc/PID/stat truncates user and system time to clock ticks
# each, getrusage does not: up to two ticks.
check_process_cost() {
	between "$1 CPU seconds (user + system)" \
		"$(awk -v t="$t0" -v k="$TCK" 'BEGIN { printf "%.6f", (t - 1) / k }')" "$2" \
		"$(awk -v t="$t1" -v k="$TCK" 'BEGIN { printf "%.6f", (t + 2) / k }')"
	between "$1 resident memory (VmRSS $rss, within 5 %)" \
		"$(awk -v r="$rss" 'BEGIN { printf "%d", r * 0.95 }')" "$3" \
		"$(awk -v r="$rss" 'BEGIN { printf "%d", r * 1.05 }')"
	check_eq "$1 BPF map memory = memlock of the process's BPF maps (fdinfo)" "$memlock" "$4"
}

net_up
# ---- with --bpf-stats, after real connections ----
mon_start stats --bpf-stats
server_start stats --addr "$S4" --port $PORT --mode client-close --count $N --timeout 60
client_run stats --addr "$S4" --port $PORT --mode client-close --count $N --timeout 10 --gap 0.004
server_wait stats
wait_exports 2

mapfile -t progs < <(mon_progs)
((${#progs[@]} >= 3)) || fail "[stats] the monitor holds ${#progs[@]} BPF programs, expected its tc pair and sweeper"
declare -A runs0 ns0 runs1 ns1
progs_snap runs0 ns0
t0=$(cpu_ticks "$MON_PID")
wait_exports 2         # the numbers of the last write were read after the line above
cp "$WORK/stats.prom" "$WORK/stats-then.prom"
t1=$(cpu_ticks "$MON_PID")
rss=$(awk '$1 == "VmRSS:" { print $2 * 1024 }' /proc/"$MON_PID"/status)
memlock=$(map_memlock "$MON_PID")
progs_snap runs1 ns1

MON_TAG=stats-then     # metric reads the copy: the values bracketed above
hook_runs=0
for p in "${progs[@]}"; do
	name=${p#* }
	runs=$(metric tcpshake_bpf_program_runs_total "program=\"$name\"")
	secs=$(metric tcpshake_bpf_program_run_seconds_total "program=\"$name\"")
	between "[stats] runs_total{program=$name}" "${runs0[$p]}" "$runs" "${runs1[$p]}"
	between "[stats] run_seconds_total{program=$name}" \
		"$(awk -v n="${ns0[$p]}" 'BEGIN { printf "%.9f", n / 1e9 }')" "$secs" \
		"$(awk -v n="${ns1[$p]}" 'BEGIN { printf "%.9f", n / 1e9 }')"
	[[ $name == tcpshake_sweep ]] || hook_runs=$((hook_runs + runs))
done
check_ge "[stats] packet hook runs >= TCP segments counted" "$(metric tcpshake_packets_total)" "$hook_runs"
check_ge "[stats] TCP segments counted for $N connections" $((7 * N)) "$(metric tcpshake_packets_total)"

cpu=$(awk -v u="$(metric tcpshake_self_cpu_seconds_total 'mode="user"')" \
	-v s="$(metric tcpshake_self_cpu_seconds_total 'mode="system"')" 'BEGIN { printf "%.6f", u + s }')
check_process_cost "[stats] tcpshake_self_* and tcpshake_bpf_map_memory_bytes:" "$cpu" \
	"$(metric tcpshake_self_resident_memory_bytes)" "$(metric tcpshake_bpf_map_memory_bytes)"
check_promtool
MON_TAG=stats
mon_stop

# ---- without the statistics (and --bpf-stats released them at exit) ----
if [[ $STATS_WAS == 0 ]]; then
	mon_start plain
	server_start plain --addr "$S4" --port $PORT --mode client-close --count 5 --timeout 60
	client_run plain --addr "$S4" --port $PORT --mode client-close --count 5 --timeout 10 --gap 0.004
	server_wait plain
	wait_exports 2
	check_ge "[plain] TCP segments counted" 35 "$(metric tcpshake_packets_total)"
	mapfile -t progs < <(mon_progs)
	kept=0
	for p in "${progs[@]}"; do
		kept=$((kept + $(prog_stat "${p% *}" run_cnt)))
	done
	check_eq "[plain] runs the kernel counted for ${#progs[@]} programs after --bpf-stats exited" 0 "$kept"
	metric tcpshake_self_cpu_seconds_total >/dev/null &&
		metric tcpshake_self_resident_memory_bytes >/dev/null &&
		metric tcpshake_bpf_map_memory_bytes >/dev/null &&
		pass "[plain] CPU, resident and map memory are exported" ||
		fail "[plain] a self-cost metric is missing"
	if grep -q '^tcpshake_bpf_program_' "$WORK/plain.prom"; then
		fail "[plain] program run metrics exported while the kernel keeps no statistics"
	else
		pass "[plain] no program run metrics while the kernel keeps no statistics"
	fi
	mon_stop
else
	note "kernel.bpf_stats_enabled is 1 here: the checks without statistics are skipped"
fi

# ---- the same figures in the --json lines ----
# json_lines: lines the --json monitor has written.
json_lines() { wc -l <"$WORK/json.out"; }
json_lines_ge() { (($(json_lines) >= $1)); }
# json_field KEY...: a field of the --json line kept in $WORK/json.line
# (nested keys; "null" for null).
json_field() {
	"$PY" -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    v = v[k]
print("null" if v is None else format(v, ".9f") if isinstance(v, float) else v)' "$@" <"$WORK/json.line"
}
# json_start NAME [OPTION...]: the monitor with --json on vs, its lines in $WORK/json.out.
json_start() {
	local name=$1
	shift
	# Gone first: the shell truncates it only in the child, after $! is
	# known, and the waits below must not count the last run's lines.
	rm -f "$WORK/json.out"
	ip netns exec "$NS_S" "$TCPSHAKE" --json -i 0.5 "$@" "$IF_S" >"$WORK/json.out" 2>"$WORK/$name.log" &
	MON_PID=$!
	track "$MON_PID"
	wait_for 15 "a --json line" test -s "$WORK/json.out" || die "[$name] tcpshake-mon --json wrote no line in 15 s"
}
json_stop() {
	local rc=0
	stop_pid "$MON_PID" INT 10 || rc=$?
	untrack "$MON_PID"
	MON_PID=
	check_eq "[$1] tcpshake-mon --json exits 0 on SIGINT" 0 "$rc"
}

json_start json --bpf-stats
server_start json --addr "$S4" --port $PORT --mode client-close --count 5 --timeout 60
client_run json --addr "$S4" --port $PORT --mode client-close --count 5 --timeout 10 --gap 0.004
server_wait json
mapfile -t progs < <(mon_progs)
progs_snap runs0 ns0
t0=$(cpu_ticks "$MON_PID")
n0=$(json_lines)
# Two lines more: the second's figures were read after the first was out.
wait_for 10 "two more --json lines" json_lines_ge $((n0 + 2)) || die "[json] no new line in 10 s"
t1=$(cpu_ticks "$MON_PID")
rss=$(awk '$1 == "VmRSS:" { print $2 * 1024 }' /proc/"$MON_PID"/status)
memlock=$(map_memlock "$MON_PID")
progs_snap runs1 ns1
head -n $((n0 + 2)) "$WORK/json.out" | tail -n 1 >"$WORK/json.line"
cpu=$(awk -v u="$(json_field self_cpu_seconds user)" -v s="$(json_field self_cpu_seconds system)" \
	'BEGIN { printf "%.6f", u + s }')
check_process_cost "[json] self_cpu_seconds, self_resident_bytes, bpf_map_bytes:" "$cpu" \
	"$(json_field self_resident_bytes)" "$(json_field bpf_map_bytes)"
for p in "${progs[@]}"; do
	name=${p#* }
	between "[json] bpf_programs.$name.runs" "${runs0[$p]}" "$(json_field bpf_programs "$name" runs)" "${runs1[$p]}"
	between "[json] bpf_programs.$name.run_seconds" \
		"$(awk -v n="${ns0[$p]}" 'BEGIN { printf "%.9f", n / 1e9 }')" \
		"$(json_field bpf_programs "$name" run_seconds)" \
		"$(awk -v n="${ns1[$p]}" 'BEGIN { printf "%.9f", n / 1e9 }')"
done
check_ge "[json] handshakes counted on the same line" 5 "$(json_field handshakes)"
json_stop json
if [[ $STATS_WAS == 0 ]]; then
	json_start json-plain
	wait_for 5 "a second --json line" json_lines_ge 2 || die "[json-plain] no second line in 5 s"
	tail -n 1 "$WORK/json.out" >"$WORK/json.line"
	check_eq "[json-plain] bpf_programs while the kernel keeps no statistics" null "$(json_field bpf_programs)"
	check_ge "[json-plain] bpf_map_bytes without the statistics" 1 "$(json_field bpf_map_bytes)"
	json_stop json-plain
fi

# ---- offline: no BPF, so no --bpf-stats ----
rc=0
"$TCPSHAKE" --read /dev/null --bpf-stats >"$WORK/read.out" 2>&1 || rc=$?
check_eq "--read with --bpf-stats: exit status" 2 "$rc"
grep -q -- "--bpf-stats cannot be used with --read" "$WORK/read.out" &&
	pass "--read with --bpf-stats: one line says why" ||
	fail "--read with --bpf-stats said: $(head -2 "$WORK/read.out")"
finish
