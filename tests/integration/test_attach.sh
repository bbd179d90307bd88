#!/bin/bash
# Attaching, detaching and refusing: the monitor's contract with the host.
#  - SIGINT/SIGTERM: exit 0, nothing of ours left attached; SIGKILL: the
#    kernel drops our links, nothing left either.
#  - A foreign XDP program is never replaced (error naming --ingress tc);
#    --ingress auto falls back to tc and leaves it alone.
#  - A tcpshake XDP program left attached without a link (an older run) is
#    recognised and replaced, not duplicated; so is a leftover tc filter.
#  - One monitor per interface.
#  - One-line errors and exit codes: bad options (2), unknown interface (1),
#    interface down (1), missing capabilities (1).
#  - Least privilege: an unprivileged user with CAP_BPF, CAP_NET_ADMIN and
#    CAP_PERFMON runs it.
# Everything happens in a network namespace (and a mount namespace for
# bpffs) created here and removed in the trap.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${TCPSHAKE_BIN:-./tcpshake-mon}
HOOKS=${HOOKS_BIN:-build/tests/hooks}     # what is attached, tcx included
NS=tsattach$$
WORK=$(mktemp -d /tmp/tcpshake-attach.XXXXXX)
PIDS=()
FAILED=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

ok() { printf 'ok   %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; FAILED=1; }
# nsenter execs in place, so $! is the monitor itself (ip netns exec forks).
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }

# "hook:name" of every BPF program attached to dev in the namespace, sorted.
attached() {
	in_ns "$HOOKS" "$1" 2>/dev/null | sort | tr '\n' ' ' || true
}

# Starts the monitor in the namespace (the last argument is the interface);
# returns once its egress program is attached. Sets MON to its PID.
start_mon() {
	local dev=${!#}
	# Not through in_ns: a backgrounded function is a subshell, and $! would
	# be that shell, not the monitor.
	nsenter --net="/run/netns/$NS" "$BIN" --interval 0.2 "$@" >"$WORK/mon.out" 2>"$WORK/mon.err" &
	MON=$!
	PIDS+=("$MON")
	local i
	for i in $(seq 1 50); do
		[[ "$(attached "$dev")" == *tcx_egress:tcpshake_tc_out* ]] && return 0
		kill -0 "$MON" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Waits (at most 5 s) for MON to exit, then kills it; sets MON_RC.
wait_mon() {
	local i
	for i in $(seq 1 50); do
		kill -0 "$MON" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$MON" 2>/dev/null; then
		bad "the monitor did not exit within 5 s; killed"
		kill -KILL "$MON"
	fi
	MON_RC=0
	wait "$MON" || MON_RC=$?
}

ip netns add "$NS"
in_ns ip link add va type veth peer name vb
in_ns ip link set lo up
in_ns ip link set va up
in_ns ip link set vb up
in_ns ip link add vdown type veth peer name vdown2

[[ -x $HOOKS ]] || { echo "FAIL $HOOKS missing: run make check"; exit 1; }

# xdp_run_until SIGNAL LABEL: the monitor with XDP ingress on va attaches
# XDP ingress and tc egress, and exits 0 on SIGNAL. Returns 1 if it did not
# start.
xdp_run_until() {
	local sig=$1 label=$2
	if ! start_mon --ingress xdp va; then
		bad "$label: the monitor did not start: $(cat "$WORK/mon.err")"
		return 1
	fi
	[[ "$(attached va)" == "tcx_egress:tcpshake_tc_out xdp:tcpshake_xdp " ]] &&
		ok "$label: XDP ingress and tc egress attached" ||
		bad "$label: attached programs are '$(attached va)'"
	kill -"$sig" "$MON"
	wait_mon
	[[ $MON_RC == 0 ]] && ok "$label: exit status 0" ||
		bad "$label: exit status $MON_RC: $(cat "$WORK/mon.err")"
}

# ---- clean exits ----
for sig in INT TERM; do
	if xdp_run_until "$sig" "SIG$sig"; then
		[[ -z "$(attached va)" ]] && ok "SIG$sig: nothing left attached" ||
			bad "SIG$sig: left attached: $(attached va)"
	fi
done

start_mon va || bad "monitor did not start: $(cat "$WORK/mon.err")"
kill -KILL "$MON" 2>/dev/null || true
wait_mon
[[ -z "$(attached va)" ]] && ok "SIGKILL: the kernel dropped our links, nothing left" ||
	bad "SIGKILL: left attached: $(attached va)"

# ---- no kernel BTF needed ----
# The programs use only the UAPI context structs (bpf/kernel.bpf.h): no CO-RE,
# so libbpf never reads the kernel's BTF. Hidden behind an empty tmpfs in a
# private mount namespace, as on a kernel built without it, the monitor must
# still load and attach, and exit 0.
cat >"$WORK/nobtf" <<EOF
#!/bin/bash
exec unshare -m bash -c 'mount -t tmpfs nobtf /sys/kernel/btf && [[ ! -e /sys/kernel/btf/vmlinux ]] && exec "\$0" "\$@"' "$(realpath "$BIN")" "\$@"
EOF
chmod +x "$WORK/nobtf"
BIN=$WORK/nobtf xdp_run_until INT "without /sys/kernel/btf/vmlinux" || true

# ---- one monitor per interface ----
start_mon va || bad "monitor did not start: $(cat "$WORK/mon.err")"
rc=0
in_ns "$BIN" --quiet --duration 1 va 2>"$WORK/second.err" || rc=$?
[[ $rc == 1 ]] && grep -q 'already monitored by another tcpshake-mon' "$WORK/second.err" &&
	ok "a second monitor on the interface is refused: $(tail -1 "$WORK/second.err")" ||
	bad "second monitor: status $rc, '$(cat "$WORK/second.err")'"
kill -INT "$MON" 2>/dev/null || true
wait_mon

# ---- a foreign XDP program is never replaced ----
cat >"$WORK/foreign.bpf.c" <<'EOF'
__attribute__((section("xdp"), used)) int foreign_pass(void *ctx) { return 2; /* XDP_PASS */ }
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
clang -O2 -target bpf -c "$WORK/foreign.bpf.c" -o "$WORK/foreign.bpf.o"
in_ns ip link set dev va xdpgeneric obj "$WORK/foreign.bpf.o" sec xdp
rc=0
in_ns "$BIN" --quiet --duration 1 --ingress xdp va 2>"$WORK/foreign.err" || rc=$?
[[ $rc == 1 ]] && grep -q 'never replaces it: use --ingress tc' "$WORK/foreign.err" &&
	ok "--ingress xdp refuses a foreign XDP program: $(tail -1 "$WORK/foreign.err")" ||
	bad "foreign XDP: status $rc, '$(cat "$WORK/foreign.err")'"
[[ "$(attached va)" == "xdp:foreign_pass " ]] && ok "the foreign program is still attached, alone" ||
	bad "the foreign program is gone: $(attached va)"
if start_mon --ingress auto va; then
	[[ "$(attached va)" == "tcx_egress:tcpshake_tc_out tcx_ingress:tcpshake_tc_in xdp:foreign_pass " ]] &&
		ok "--ingress auto uses tc next to the foreign XDP program" ||
		bad "auto beside foreign XDP: '$(attached va)'"
	kill -INT "$MON"
	wait_mon
fi
[[ "$(attached va)" == "xdp:foreign_pass " ]] && ok "after exit only the foreign program remains" ||
	bad "after exit: '$(attached va)'"
in_ns ip link set dev va xdpgeneric off

# ---- leftovers of an earlier run are replaced, not duplicated ----
# A tcpshake XDP program attached the old way (netlink, no link), and a
# tcpshake tc filter at our handle: load the object with bpftool in a
# private mount namespace with its own bpffs.
unshare -m bash -c "
	set -e
	mount -t bpf bpf /sys/fs/bpf
	bpftool prog loadall ${BUILD:-build}/tcpshake.bpf.o /sys/fs/bpf/left >/dev/null
	nsenter --net=/run/netns/$NS ip link set dev va xdpgeneric pinned /sys/fs/bpf/left/tcpshake_xdp
	nsenter --net=/run/netns/$NS tc qdisc add dev va clsact
	nsenter --net=/run/netns/$NS tc filter add dev va egress prio 1989 handle 1989 bpf da \
		pinned /sys/fs/bpf/left/tcpshake_tc_out
" 2>"$WORK/leftover.err" || bad "could not plant leftovers: $(cat "$WORK/leftover.err")"
before=$(attached va)
if [[ "$before" == "tc_egress:tcpshake_tc_out xdp:tcpshake_xdp " ]]; then
	if start_mon --ingress xdp va; then
		grep -q 'removed a tcpshake XDP program left' "$WORK/mon.err" &&
			ok "a leftover tcpshake XDP program is recognised and replaced" ||
			bad "leftover XDP not reported: $(cat "$WORK/mon.err")"
		grep -q 'removed a tcpshake tc filter left' "$WORK/mon.err" &&
			ok "a leftover tcpshake tc filter is recognised and removed" ||
			bad "leftover tc filter not reported: $(cat "$WORK/mon.err")"
		[[ "$(attached va)" == "tcx_egress:tcpshake_tc_out xdp:tcpshake_xdp " ]] &&
			ok "exactly one of each tcpshake program while running: $(attached va)" ||
			bad "while running: '$(attached va)'"
		kill -INT "$MON"
		wait_mon
	fi
	[[ -z "$(attached va)" ]] && ok "nothing left after exit" ||
		bad "after exit: '$(attached va)'"
else
	bad "leftovers not in place: '$before'"
fi
in_ns tc qdisc del dev va clsact 2>/dev/null || true

# ---- one-line errors and exit codes ----
expect() {
	local want=$1 pattern=$2
	shift 2
	local rc=0 err
	err=$("$@" 2>&1 >/dev/null) || rc=$?
	if [[ $rc == "$want" && "$err" == *"$pattern"* && $(wc -l <<<"$err") == 1 ]]; then
		ok "exit $rc, one line: $err"
	else
		bad "'$*': exit $rc (want $want), stderr '$err'"
	fi
}
# --duration: a check that wrongly passes ends the run instead of hanging.
expect 2 "invalid value 'fast' for --ingress" in_ns "$BIN" -d 2 --ingress fast va
expect 2 "invalid value '0' for --interval" in_ns "$BIN" -d 2 --interval 0 va
expect 2 "unknown option '--frobnicate'" in_ns "$BIN" -d 2 --frobnicate va
expect 2 "invalid value 'nope' for --listen" in_ns "$BIN" -d 2 --listen nope va
# Long options are named as typed in --help, never by getopt's internal value.
expect 2 "missing value for option '--events'" in_ns "$BIN" -d 2 va --events
expect 2 "missing value for option '--prom-textfile'" in_ns "$BIN" -d 2 va --prom
expect 2 "option '--json' takes no value" in_ns "$BIN" -d 2 --json=1 va
expect 2 "ambiguous option '--i': did you mean --interval or --ingress or --idle-timeout?" \
	in_ns "$BIN" -d 2 --i 1 va
expect 1 "unknown interface 'nosuch0'" in_ns "$BIN" -d 2 nosuch0
expect 1 "interface vdown is down" in_ns "$BIN" -d 2 vdown
expect 1 "must run as root or with CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON" \
	in_ns setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	--bounding-set=-all "$BIN" -d 2 va

# ---- least privilege ----
cp "$BIN" "$WORK/tcpshake-mon"
mkdir "$WORK/lp"
chmod 755 "$WORK" "$WORK/tcpshake-mon"
chmod 777 "$WORK/lp"
# The lock directory systemd's RuntimeDirectory= would give the unit's user.
install -d -m 0700 -o 65534 -g 65534 "$WORK/lprun"
rc=0
RUNTIME_DIRECTORY=$WORK/lprun in_ns setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all,+bpf,+net_admin,+perfmon --ambient-caps=-all,+bpf,+net_admin,+perfmon \
	--bounding-set=-all,+bpf,+net_admin,+perfmon \
	"$WORK/tcpshake-mon" --quiet --duration 1 --prom-textfile "$WORK/lp/m.prom" va \
	2>"$WORK/lp.err" || rc=$?
[[ $rc == 0 ]] && grep -q '^tcpshake_up{iface="va"} 0' "$WORK/lp/m.prom" 2>/dev/null &&
	ok "user nobody with CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON only: runs, exports, exits 0" ||
	bad "least privilege: status $rc, '$(cat "$WORK/lp.err")'"
[[ -z "$(attached va)" ]] && ok "nothing left attached at the end" || bad "left: $(attached va)"

exit $FAILED
