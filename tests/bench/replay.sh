#!/usr/bin/env bash
# make bench, offline part: tcpshake-mon --read against tshark on the same
# generated capture of short connections (tests/bench/gencap.c: 66-96 byte
# frames, 4096 connections in flight), side by side in one run, as ratios.
#
# Usage: tests/bench/replay.sh BUILD_DIR
#   REPLAY_PACKETS (default 3000000), REPLAY_RUNS: tcpshake-mon runs, the
#   fastest counts (default 3; tshark, at ~100 k packets/s, runs once).
# Prints packets/s (wall clock and CPU time) and max RSS of both, and the
# ratios; the target is >= 5 M packets/s on one core for tcpshake-mon. On a
# machine shared with other work, the CPU-time figure is the one to read.
set -euo pipefail
build=${1:-build}
packets=${REPLAY_PACKETS:-3000000}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/tcpshake-mon
gencap=$build/tests/bench/gencap
for t in "$bin" "$gencap"; do
	[[ -x $t ]] || { echo "replay bench: $t is missing: run make bench" >&2; exit 2; }
done
command -v tshark >/dev/null || { echo "replay bench: tshark is missing" >&2; exit 2; }
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
t_wall= t_cpu= t_rss=
for ((run = 0; run < ${REPLAY_RUNS:-3}; run++)); do
	measure tcpshake "$bin" --read "$work/short.pcap" -q --prom-textfile "$work/replay.prom"
	if [[ -z $t_cpu ]] || awk -v a="$CPU" -v b="$t_cpu" 'BEGIN { exit !(a < b) }'; then
		t_wall=$WALL t_cpu=$CPU t_rss=$RSS_KB
	fi
done
grep -q '^tcpshake_handshakes_total' "$work/replay.prom" ||
	{ echo "replay bench: tcpshake-mon wrote no handshakes" >&2; exit 1; }
measure tshark tshark -r "$work/short.pcap" -q -z conv,tcp
s_wall=$WALL s_cpu=$CPU s_rss=$RSS_KB

awk -v n="$packets" -v size="$size" -v tw="$t_wall" -v tc="$t_cpu" -v tr="$t_rss" \
    -v sw="$s_wall" -v sc="$s_cpu" -v sr="$s_rss" 'BEGIN {
	printf "replay: %d packets of short connections (%.0f MB pcap)\n", n, size / 1e6
	printf "  %-34s %12s %12s %10s\n", "", "pkt/s wall", "pkt/s cpu", "max RSS"
	printf "  %-34s %12.0f %12.0f %7.0f MB\n", "tcpshake-mon --read", n / tw, n / tc, tr / 1024
	printf "  %-34s %12.0f %12.0f %7.0f MB\n", "tshark -r -q -z conv,tcp", n / sw, n / sc, sr / 1024
	printf "  ratio tcpshake-mon / tshark: %.1fx faster (wall), %.1fx (cpu), %.2fx the RSS\n",
		sw / tw, sc / tc, tr / sr
	printf "  target >= 5 M packets/s on one core: %s (%.2f M/s cpu)\n",
		(n / tc >= 5e6 ? "met" : "NOT met"), n / tc / 1e6
}'
