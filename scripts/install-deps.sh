#!/bin/sh
# Installs the Debian packages tcpshake-mon needs to build, run and test,
# and only those that are missing. Idempotent; needs root to install.
set -eu

PACKAGES="make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev pkg-config
libcmocka-dev libmicrohttpd-dev libjson-c-dev libpcap-dev iproute2 ethtool
tshark tcpdump hping3 netcat-openbsd python3 python3-scapy python3-yaml mandoc groff man-db
prometheus prometheus-node-exporter systemd curl"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run as root (sudo make ...)" >&2
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
