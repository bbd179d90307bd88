#!/bin/bash
# Runs the test layers: unit (cmocka), bpf (BPF_PROG_TEST_RUN), integration
# (network namespaces, real TCP), deploy (promtool, systemd-analyze, ...),
# fuzz (each libFuzzer harness about 20 s on its corpus).
# Usage: run-tests.sh BUILD_DIR [LAYER...]; exits non-zero if any test fails.
set -u
build=$1
shift
layers=${*:-unit bpf integration deploy fuzz}
failed=()
passed=0
# Where the test scripts find the build's other artefacts (an absolute
# path: some scripts change directory).
export BUILD=$(cd "$build" && pwd)
export HOOKS_BIN=${HOOKS_BIN:-$BUILD/tests/hooks}

# Sanitizer reports of instrumented binaries (make SANITIZE=1, the fuzz
# harnesses) go to files: a report fails the run even when it came from a
# monitor that a test script only signalled and never checked.
san_dir=$build/sanitizer-reports
rm -rf "$san_dir"
mkdir -p "$san_dir"
chmod 1777 "$san_dir"    # tests also run the monitor as other users
san_dir=$(cd "$san_dir" && pwd)
export ASAN_OPTIONS="detect_leaks=1:log_path=$san_dir/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$san_dir/ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

# record NAME STATUS SECONDS: counts a finished test and prints its verdict.
record() {
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
		echo "--- PASS $1 ($3s)"
	else
		failed+=("$1")
		echo "--- FAIL $1 ($3s)"
	fi
}

run() {
	local name=$1
	shift
	local start=$SECONDS rc=0
	echo "=== $name"
	"$@" || rc=$?
	record "$name" "$rc" $((SECONDS - start))
}

# run_pool JOBS SCRIPT...: the integration scripts JOBS at a time, the next
# one started as soon as one ends; each one's output is printed whole when
# it ends. They can share the machine: each builds and removes namespaces
# of its own names (lib.sh), and one that cannot says so (see below).
run_pool() {
	local jobs=$1 t pid rc
	shift
	local -A name_of=() start_of=()
	local out
	out=$(mktemp -d "${TMPDIR:-/tmp}/tcpshake-tests.XXXXXX")
	for t in "$@" ""; do
		while (( ${#name_of[@]} >= jobs )) || { [ -z "$t" ] && (( ${#name_of[@]} > 0 )); }; do
			rc=0
			wait -n -p pid "${!name_of[@]}" || rc=$?
			echo "=== ${name_of[$pid]}"
			cat "$out/${name_of[$pid]#*/}.log"
			record "${name_of[$pid]}" "$rc" $((SECONDS - start_of[$pid]))
			unset "name_of[$pid]" "start_of[$pid]"
		done
		[ -n "$t" ] || break
		bash "$t" >"$out/$(basename "$t" .sh).log" 2>&1 </dev/null &
		name_of[$!]=integration/$(basename "$t" .sh)
		start_of[$!]=$SECONDS
	done
	rm -rf "$out"
}

# fuzz_outcome PREFIX: prints a finished harness's log, returns its status.
fuzz_outcome() {
	cat "$1.log"
	return "$(cat "$1.rc")"
}

for layer in $layers; do
	case $layer in
	unit)
		for t in "$build"/tests/unit/test_*; do
			[ -x "$t" ] && run "unit/$(basename "$t")" "$t"
		done
		for t in tests/unit/test_*.sh; do
			[ -f "$t" ] && run "unit/$(basename "$t" .sh)" bash "$t" ./tcpshake-mon
		done ;;
	bpf)
		for t in "$build"/tests/bpf/test_*; do
			[ -x "$t" ] && run "bpf/$(basename "$t")" "$t"
		done
		# make bench's programs, which run the core as the hooks do:
		# the verifier must still take them.
		run "bpf/bench_load" "$build/tests/bpf/bench" load
		run "bpf/evbench_load" "$build/tests/bench/evbench" --load ;;
	integration)
		# A script whose header says "# run-tests: alone" (it measures
		# rates, or holds state the kernel keeps for every program) runs
		# by itself first; the others two at a time, one per CPU here.
		alone=()
		shared=()
		for t in tests/integration/test_*.sh; do
			if grep -q '^# run-tests: alone' "$t"; then
				alone+=("$t")
			else
				shared+=("$t")
			fi
		done
		for t in "${alone[@]}"; do
			run "integration/$(basename "$t" .sh)" bash "$t"
		done
		run_pool 2 "${shared[@]}" ;;
	deploy)
		run "deploy/run.sh" bash tests/deploy/run.sh
		run "deploy/test_install" bash tests/deploy/test_install.sh ;;
	fuzz)
		# Two harnesses at a time (one per CPU here): the layer takes
		# half the time. Each one's output is printed whole when both
		# are done, and its status is what run reports.
		fuzzers=()
		for t in "$build"/fuzz/fuzz_*; do
			[ -x "$t" ] && fuzzers+=("$(basename "$t")")
		done
		for ((i = 0; i < ${#fuzzers[@]}; i += 2)); do
			for f in "${fuzzers[@]:i:2}"; do
				(env FUZZ_SECONDS="${FUZZ_SECONDS:-20}" scripts/run-fuzz.sh "$build" "$f" \
					>"$build/fuzz/$f.log" 2>&1
				 echo $? >"$build/fuzz/$f.rc") &
			done
			wait
			for f in "${fuzzers[@]:i:2}"; do
				run "fuzz/$f" fuzz_outcome "$build/fuzz/$f"
			done
		done ;;
	*)
		echo "unknown test layer: $layer" >&2
		exit 2 ;;
	esac
done

reports=$(find "$san_dir" -type f)
if [ -n "$reports" ]; then
	echo "sanitizer reports (each fails the run):"
	for r in $reports; do
		cat "$r"
	done
	failed+=("sanitizer reports in $san_dir")
fi

echo
echo "passed: $passed, failed: ${#failed[@]}"
for f in "${failed[@]}"; do
	echo "  FAILED: $f"
done
[ ${#failed[@]} -eq 0 ]
