#!/bin/sh
# Installs the Debian packages tcpshake-mon needs, and only those missing.
# Usage: install-deps.sh [run] [test] [bench]
#   run:   build and run the monitor (make run)
#   test:  the tools the test suite compares against (make check)
#   bench: what make bench measures with and compares against
# Idempotent; needs root to install (as root, or with sudo).
set -eu

# Building (compilers, libbpf, libraries) and running (iproute2 finds the
# default route for make run).
RUN_PACKAGES="make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev pkg-config
libmicrohttpd-dev libjson-c-dev iproute2"

# Ground truth and harnesses of the tests: cmocka, the sanitizer and
# libFuzzer runtimes of clang, packet tools, the Prometheus stack, man page
# linters, flock and ps.
TEST_PACKAGES="libcmocka-dev libclang-rt-14-dev ethtool tshark tcpdump hping3 netcat-openbsd
python3 python3-scapy python3-yaml mandoc groff man-db prometheus
prometheus-node-exporter systemd curl util-linux procps"

# make bench: iperf3 (throughput), libbpf-tools (tcpstates, the tool the
# monitor is compared with) and valgrind (instructions per packet class).
BENCH_PACKAGES="iperf3 libbpf-tools valgrind"

[ $# -eq 0 ] && set -- run
wanted=""
for group in "$@"; do
	case $group in
	run) wanted="$wanted $RUN_PACKAGES" ;;
	test) wanted="$wanted $TEST_PACKAGES" ;;
	bench) wanted="$wanted $BENCH_PACKAGES" ;;
	*) echo "install-deps: unknown package set '$group' (run, test, bench)" >&2; exit 2 ;;
	esac
done

missing=""
for p in $wanted; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run the make command as root, or with sudo" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture: answer no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
# policy-rc.d keeps the prometheus packages from starting daemons of their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
