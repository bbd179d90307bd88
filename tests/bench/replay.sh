#!/usr/bin/env bash
# make bench, offline part: tcpshake-mon --read against tshark on the same
# generated capture of short connections (tests/bench/gencap.c: 66-96 byte
# frames, 4096 connections in flight), side by side in one run, as ratios.
#
# Usage: tests/bench/replay.sh BUILD_DIR
#   REPLAY_PACKETS (default 3000000), REPLAY_RUNS: rounds of tcpshake-mon
#   and the libpcap read floor, interleaved, the fastest of each counts
#   (default 7; tshark, at ~100 k packets/s, runs once).
# Prints packets/s (wall clock and CPU time) and max RSS, and the ratios;
# per round, the median of tcpshake-mon's rate and of its ratio to the
# floor with a bootstrap 95 % confidence interval (tests/bench/stats.py).
# The target is >= 5 M packets/s on one core for tcpshake-mon, set where
# libpcap alone read about 7 M/s: this VM's speed moves by a third within
# an hour, so the ratio to the floor measured in the same rounds (`tcpdump
# -r FILE -w /dev/null`: libpcap's reader, each packet written to nowhere)
# says more than the absolute figure; 5/7 = 0.71 of the floor is the target
# in those terms. On a machine shared with other work, read the CPU times.
set -euo pipefail
build=${1:-build}
packets=${REPLAY_PACKETS:-3000000}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/tcpshake-mon
gencap=$build/tests/bench/gencap
for t in "$bin" "$gencap"; do
	[[ -x $t ]] || { echo "replay bench: $t is missing: run make bench" >&2; exit 2; }
done
for t in tshark tcpdump; do
	command -v $t >/dev/null || { echo "replay bench: $t is missing" >&2; exit 2; }
done
work=$(mktemp -d /tmp/tcpshake-bench-replay.XXXXXX)
trap 'rm -rf "$work"' EXIT

"$gencap" "$work/short.pcap" "$packets"
size=$(stat -c %s "$work/short.pcap")

# measure NAME CMD...: run once; sets WALL, CPU, RSS_KB. Times come from
# bash's own clock (millisecond precision; /usr/bin/time's are 10 ms, 2 % of
# a run here), the peak RSS from /usr/bin/time -v, whose own CPU time (about
# a millisecond) is counted too.
measure() {
	local name=$1 times TIMEFORMAT='%3R %3U %3S'
	shift
	times=$({ time /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" \
		2>"$work/$name.err"; } 2>&1) ||
		{ echo "replay bench: $name failed: $(tail -n 3 "$work/$name.err")" >&2; exit 1; }
	read -r WALL user sys <<<"$times"
	CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
	RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/$name.time")
}

# The page cache holds the file for both: read it once first.
cat "$work/short.pcap" >/dev/null
# is_less A B: whether A < B.
is_less() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

t_wall= t_cpu= t_rss= f_wall= f_cpu= ratios= rates=
for ((run = 0; run < ${REPLAY_RUNS:-7}; run++)); do
	measure tcpshake "$bin" --read "$work/short.pcap" -q --prom-textfile "$work/replay.prom"
	if [[ -z $t_cpu ]] || is_less "$CPU" "$t_cpu"; then
		t_wall=$WALL t_cpu=$CPU t_rss=$RSS_KB
	fi
	round_cpu=$CPU
	rates="$rates $(awk -v n="$packets" -v t="$CPU" 'BEGIN { print n / t }')"
	measure floor tcpdump -r "$work/short.pcap" -w /dev/null
	if [[ -z $f_cpu ]] || is_less "$CPU" "$f_cpu"; then
		f_wall=$WALL f_cpu=$CPU
	fi
	ratios="$ratios $(awk -v f="$CPU" -v t="$round_cpu" 'BEGIN { print f / t }')"
done
grep -q '^tcpshake_handshakes_total' "$work/replay.prom" ||
	{ echo "replay bench: tcpshake-mon wrote no handshakes" >&2; exit 1; }
measure tshark tshark -r "$work/short.pcap" -q -z conv,tcp
s_wall=$WALL s_cpu=$CPU s_rss=$RSS_KB

# shellcheck disable=SC2086  # one argument per round
read -r rate_med rate_lo rate_hi < <(python3 "$root/tests/bench/stats.py" median $rates)
# shellcheck disable=SC2086
read -r ratio_med ratio_lo ratio_hi < <(python3 "$root/tests/bench/stats.py" median $ratios)
awk -v n="$packets" -v size="$size" -v tw="$t_wall" -v tc="$t_cpu" -v tr="$t_rss" \
    -v sw="$s_wall" -v sc="$s_cpu" -v sr="$s_rss" -v fw="$f_wall" -v fc="$f_cpu" \
    -v ratios="$ratios" -v rm="$rate_med" -v rl="$rate_lo" -v rh="$rate_hi" \
    -v qm="$ratio_med" -v ql="$ratio_lo" -v qh="$ratio_hi" 'BEGIN {
	printf "replay: %d packets of short connections (%.0f MB pcap)\n", n, size / 1e6
	printf "  %-34s %12s %12s %10s\n", "", "pkt/s wall", "pkt/s cpu", "max RSS"
	printf "  %-34s %12.0f %12.0f %7.0f MB\n", "tcpshake-mon --read", n / tw, n / tc, tr / 1024
	printf "  %-34s %12.0f %12.0f\n", "libpcap read floor (tcpdump -r -w)", n / fw, n / fc
	printf "  %-34s %12.0f %12.0f %7.0f MB\n", "tshark -r -q -z conv,tcp", n / sw, n / sc, sr / 1024
	k = split(ratios, r, " ")
	printf "  tcpshake-mon per round (cpu): median %.2f M/s, 95%% CI %.2f..%.2f (%d rounds)\n",
		rm / 1e6, rl / 1e6, rh / 1e6, k
	printf "  ratio tcpshake-mon / libpcap read floor (cpu): %.2fx of its speed, best against best;\n", fc / tc
	printf "    per round %.2fx median, 95%% CI %.2f..%.2f; target >= 0.71x (5 M where the floor is 7 M)\n",
		qm, ql, qh
	printf "  ratio tcpshake-mon / tshark: %.1fx faster (wall), %.1fx (cpu), %.2fx the RSS\n",
		sw / tw, sc / tc, tr / sr
	printf "  target >= 5 M packets/s on one core: %s (%.2f M/s cpu)\n",
		(n / tc >= 5e6 ? "met" : "NOT met"), n / tc / 1e6
}'
