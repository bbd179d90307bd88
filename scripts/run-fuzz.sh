#!/bin/bash
# Runs libFuzzer harnesses: each for FUZZ_SECONDS (default 20) on its seed
# corpus tests/fuzz/corpus/NAME/ plus what earlier runs found (kept in
# BUILD/fuzz/found/NAME/, never in the repository). A crash, leak, timeout
# or sanitizer report fails the run; the input that caused it is left in
# BUILD/fuzz/artifacts/ with the command that reproduces it.
# Usage: run-fuzz.sh BUILD_DIR [fuzz_NAME...] (default: every harness built).
set -u
build=$1
shift
seconds=${FUZZ_SECONDS:-20}
# A bound on inputs too, so a fast harness on a fast machine stops as well.
runs=${FUZZ_RUNS:-50000000}
harnesses=${*:-$(cd "$build/fuzz" 2>/dev/null && ls -d fuzz_* 2>/dev/null | grep -v '\.')}
if [ -z "$harnesses" ]; then
	echo "run-fuzz: no harness built in $build/fuzz: run 'make fuzz' or 'make check'" >&2
	exit 1
fi
mkdir -p "$build/fuzz/artifacts"
status=0
for h in $harnesses; do
	name=${h#fuzz_}
	bin=$build/fuzz/$h
	seeds=tests/fuzz/corpus/$name
	found=$build/fuzz/found/$name
	dict=tests/fuzz/$name.dict
	mkdir -p "$found"
	args=(-max_total_time="$seconds" -runs="$runs" -timeout=10 -rss_limit_mb=2048
	      -print_final_stats=1 -artifact_prefix="$build/fuzz/artifacts/$name-")
	[ -f "$dict" ] && args+=(-dict="$dict")
	dirs=("$found")
	[ -d "$seeds" ] && dirs+=("$seeds")
	echo "fuzz $name: ${seconds}s, corpus ${dirs[*]}"
	if ! "$bin" "${args[@]}" "${dirs[@]}" 2>"$build/fuzz/$name.log"; then
		tail -n 60 "$build/fuzz/$name.log"
		echo "run-fuzz: $name failed; reproduce with: $bin $build/fuzz/artifacts/$name-*" >&2
		status=1
		continue
	fi
	# One line of figures: executions, edges covered, corpus size.
	grep -E '^stat::(number_of_executed_units|new_units_added)|DONE|cov:' "$build/fuzz/$name.log" |
		tail -n 3
done
exit $status
