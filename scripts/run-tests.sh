#!/bin/bash
# Runs the test layers: unit (cmocka), bpf (BPF_PROG_TEST_RUN), integration
# (network namespaces, real TCP), deploy (promtool, systemd-analyze, ...).
# Usage: run-tests.sh BUILD_DIR [LAYER...]; exits non-zero if any test fails.
set -u
build=$1
shift
layers=${*:-unit bpf integration deploy}
failed=()
passed=0

run() {
	local name=$1
	shift
	local start=$SECONDS
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
		echo "--- PASS $name ($((SECONDS - start))s)"
	else
		failed+=("$name")
		echo "--- FAIL $name ($((SECONDS - start))s)"
	fi
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
		done ;;
	integration)
		for t in tests/integration/test_*.sh; do
			[ -f "$t" ] && run "integration/$(basename "$t" .sh)" bash "$t"
		done ;;
	deploy)
		run "deploy/run.sh" bash tests/deploy/run.sh
		run "deploy/test_install" bash tests/deploy/test_install.sh ;;
	*)
		echo "unknown test layer: $layer" >&2
		exit 2 ;;
	esac
done

echo
echo "passed: $passed, failed: ${#failed[@]}"
for f in "${failed[@]}"; do
	echo "  FAILED: $f"
done
[ ${#failed[@]} -eq 0 ]
