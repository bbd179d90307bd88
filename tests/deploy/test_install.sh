#!/bin/bash
# make install into a scratch DESTDIR: binary, man page, systemd unit (with
# the PREFIX's path in ExecStart) and deploy files land where documented;
# the unit differs from deploy/ (which run.sh verifies) only by that path.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST=$(mktemp -d /tmp/tcpshake-install.XXXXXX)
trap 'rm -rf "$DEST"' EXIT
FAILED=0
ok() { printf 'ok   %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; FAILED=1; }

make -s install DESTDIR="$DEST" PREFIX=/usr >/dev/null
for f in usr/sbin/tcpshake-mon usr/share/man/man8/tcpshake-mon.8 \
	usr/lib/systemd/system/tcpshake-mon@.service \
	usr/share/tcpshake-mon/deploy/prometheus/tcpshake-alerts.yml \
	usr/share/tcpshake-mon/deploy/grafana/tcpshake-dashboard.json \
	usr/share/tcpshake-mon/deploy/kubernetes/daemonset.yaml; do
	[[ -s "$DEST/$f" ]] && ok "installed /$f" || bad "missing /$f"
done
[[ -x "$DEST/usr/sbin/tcpshake-mon" ]] && "$DEST/usr/sbin/tcpshake-mon" --version | grep -q '^tcpshake-mon ' &&
	ok "the installed binary runs: $("$DEST/usr/sbin/tcpshake-mon" --version)" || bad "installed binary"
grep -q '^ExecStart=/usr/sbin/tcpshake-mon ' "$DEST/usr/lib/systemd/system/tcpshake-mon@.service" &&
	ok "the unit's ExecStart follows PREFIX" || bad "ExecStart: $(grep ExecStart= "$DEST/usr/lib/systemd/system/tcpshake-mon@.service")"
diff <(sed 's|/usr/local/sbin/|/usr/sbin/|g' deploy/systemd/tcpshake-mon@.service) \
	"$DEST/usr/lib/systemd/system/tcpshake-mon@.service" >/dev/null &&
	ok "the installed unit is deploy/'s with only the binary's path changed" || bad "installed unit differs"
man -l "$DEST/usr/share/man/man8/tcpshake-mon.8" >/dev/null 2>&1 && ok "the installed man page renders" ||
	bad "man page does not render"
exit $FAILED
