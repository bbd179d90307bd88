# shellcheck shell=bash
# Shared helpers of the integration tests (source it, don't run it).
#
# Every test builds its own little network: a client namespace and a server
# namespace joined by one veth pair (vc <-> vs), IPv4 /24 and IPv6 ULA
# addresses, optionally 802.1Q sub-interfaces on both ends. tcpshake-mon runs
# in the server namespace on the server's veth. Nothing is ever created,
# attached or changed in the root namespace; every process we start is
# tracked by PID and stopped, and the namespaces are deleted, by the EXIT trap.
#
# Output: one line per check ("ok    ..." / "FAIL  ..."), then a summary line.
# A failed check does not stop the test (the other numbers are still worth
# seeing); a broken setup step does (die).

set -euo pipefail

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$IT_DIR/../.." && pwd)
TCPSHAKE=${TCPSHAKE_BIN:-$REPO/tcpshake-mon}
PY=/usr/bin/python3            # Debian's: has python3-scapy (plain python3 may be pyenv's)
TCPGEN=$IT_DIR/tcpgen.py       # real sockets, stdlib only
CRAFT=$IT_DIR/craft.py         # scapy-built segments (invalid, VLAN, simultaneous open)
ANALYZE=$IT_DIR/analyze.py     # pcap (via tshark) and event-file analysis

# Addresses, all inside our own namespaces. SPOOF4 is routed from the server
# namespace back to the client namespace where nobody owns it (SYN-ACKs to it
# die silently), and so is SPOOF4_WIDE_NET (floods from many distinct
# sources); BLACKHOLE4/6 are routed from the client namespace to the
# server namespace, which does not forward (SYNs to them are never answered
# by TCP; the IPv6 ones get ICMPv6 no-route, which ends a real socket's
# attempt: test_unreachable.sh routes them to a blackhole where it needs
# silence).
C4=10.77.0.1
S4=10.77.0.2
C6=fd77::1
S6=fd77::2
VLAN_ID=100
VC4=10.77.100.1
VS4=10.77.100.2
VC6=fd77:100::1
VS6=fd77:100::2
SPOOF4_NET=10.77.99.0/24
SPOOF4_WIDE_NET=10.77.128.0/17
BLACKHOLE4_NET=10.77.98.0/24
BLACKHOLE4=10.77.98.1
BLACKHOLE6_NET=fd77:98::/64
BLACKHOLE6=fd77:98::1

IF_C=vc
IF_S=vs
NS_C=
NS_S=
NS_C2=           # optional second client (net_add_client2), behind vs2
C2_4=10.78.0.1
S2_4=10.78.0.2
NET_SEQ=0

WORK=$(mktemp -d "/tmp/tcpshake-it.$(basename "${0%.sh}").XXXXXX")
export NSTAT_HISTORY=$WORK/nstat.history   # never the user's nstat history

CHECKS_OK=0
CHECKS_FAILED=0
FAILED_NAMES=()
PIDS=()          # every background process we started (cleanup kills these)
NSES=()          # every namespace we created
MON_PID=
MON_TAG=
CAP_PID=
CAP_FILE=
T_START=$SECONDS

log() { printf '      %s\n' "$*"; }
note() { printf '%s\n' "--    $*"; }

# die MSG: a setup step failed; the test cannot go on. In a subshell, as in
# x=$(run_iperf ...), standard output is captured: the line goes to standard
# error, and the caller stops on the status (set -e).
die() {
	if ((BASH_SUBSHELL)); then
		printf 'FAIL  %s\n' "$*" >&2
	else
		printf 'FAIL  %s\n' "$*"
	fi
	CHECKS_FAILED=$((CHECKS_FAILED + 1))
	FAILED_NAMES+=("$*")
	exit 1
}

pass() {
	printf 'ok    %s\n' "$*"
	CHECKS_OK=$((CHECKS_OK + 1))
}

# fail MSG: record a failed check and go on.
fail() {
	printf 'FAIL  %s\n' "$*"
	CHECKS_FAILED=$((CHECKS_FAILED + 1))
	FAILED_NAMES+=("$*")
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [[ "$2" == "$3" ]]; then
		pass "$1 = $3"
	else
		fail "$1: expected $2, got $3"
	fi
}

# check_ge NAME MIN ACTUAL
check_ge() {
	if [[ "$3" =~ ^-?[0-9]+$ ]] && (($3 >= $2)); then
		pass "$1 = $3 (>= $2)"
	else
		fail "$1: expected >= $2, got $3"
	fi
}

# check_cmd NAME CMD...: the command must succeed; its output is shown on failure.
check_cmd() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name"
		printf '%s\n' "$out" | head -n 30 | sed 's/^/      /'
	fi
}

# check_report NAME CMD...: check_cmd for a command that reports what it
# compared: its first line joins the pass line, the rest follows indented.
check_report() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name: $(head -n 1 <<<"$out")"
		tail -n +2 <<<"$out" | sed 's/^/      /'
	else
		fail "$name"
		printf '%s\n' "$out" | head -n 30 | sed 's/^/      /'
	fi
}

# ---- cleanup ----------------------------------------------------------------

# stop_pid PID SIGNAL TIMEOUT_S: signal a process we started and wait for it,
# SIGKILL if it does not go (and then its children too, e.g. tshark's
# dumpcap). Returns the exit status (or 124 when it had to be killed).
stop_pid() {
	local pid=$1 sig=$2 timeout=$3 i rc=0 kids
	[[ -n $pid ]] || return 0
	kids=$(pgrep -P "$pid" 2>/dev/null || true)
	kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		for i in $kids; do
			kill -KILL "$i" 2>/dev/null || true
		done
		return 124
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

cleanup() {
	local rc=$? pid ns
	set +e
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && stop_pid "$pid" INT 5
	done
	for ns in "${NSES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if ((rc == 0 && CHECKS_FAILED == 0)) && [[ -z ${KEEP_WORK:-} ]]; then
		rm -rf "$WORK"
	else
		echo "--    artifacts kept in $WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# track PID: remember a background process for cleanup.
track() { PIDS+=("$1"); }

untrack() {
	local p keep=()
	for p in "${PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# finish: the summary line; exit status 1 if any check failed.
finish() {
	echo "--    checks: $CHECKS_OK ok, $CHECKS_FAILED failed ($((SECONDS - T_START))s)"
	if ((CHECKS_FAILED)); then
		local f
		for f in "${FAILED_NAMES[@]}"; do
			echo "--    failed: $f"
		done
		exit 1
	fi
	exit 0
}

# ---- environment ------------------------------------------------------------

require_root_tools() {
	[[ $(id -u) -eq 0 ]] || die "integration tests need root (network namespaces, BPF)"
	[[ -x $TCPSHAKE ]] || die "$TCPSHAKE is missing: run make first"
	local t
	for t in ip tshark ss nstat promtool ethtool bpftool; do
		command -v "$t" >/dev/null || die "$t is missing: run scripts/install-deps.sh"
	done
	[[ -x $PY ]] || die "$PY is missing"
}

require_scapy() {
	"$PY" -c 'import scapy.all' 2>/dev/null || die "python3-scapy is missing ($PY -c 'import scapy')"
}

require_hping3() {
	command -v hping3 >/dev/null || die "hping3 is missing: run scripts/install-deps.sh"
}

# ---- bounded waiting --------------------------------------------------------

# wait_for TIMEOUT_S DESCRIPTION CMD...: poll CMD every 50 ms until it succeeds.
wait_for() {
	local timeout=$1 what=$2 i
	shift 2
	for ((i = 0; i < timeout * 20; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# ---- namespaces -------------------------------------------------------------

in_c() { ip netns exec "$NS_C" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }

# net_up [--vlan]: fresh client and server namespaces joined by vc <-> vs.
# Deletes the previous pair of this test, if any, so every scenario starts
# from zero (no TIME-WAIT sockets, counters or routes left over).
net_up() {
	local vlan=0
	[[ ${1:-} == --vlan ]] && vlan=1
	net_down
	NET_SEQ=$((NET_SEQ + 1))
	NS_C=tcpshake-it-$$-$NET_SEQ-c
	NS_S=tcpshake-it-$$-$NET_SEQ-s
	ip netns add "$NS_C" || die "ip netns add $NS_C"
	NSES+=("$NS_C")
	ip netns add "$NS_S" || die "ip netns add $NS_S"
	NSES+=("$NS_S")
	# Created directly inside the namespaces: never visible in the root one.
	ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_S" netns "$NS_S" ||
		die "creating the veth pair"
	local ns
	for ns in "$NS_C" "$NS_S"; do
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
		# Never forward (a new namespace may inherit forwarding from the root
		# one): the unowned ranges below rely on it.
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=0
	done
	in_c sysctl -qw "net.ipv4.conf.$IF_C.rp_filter=0"
	in_s sysctl -qw "net.ipv4.conf.$IF_S.rp_filter=0"
	ip -n "$NS_C" addr add "$C4/24" dev "$IF_C"
	ip -n "$NS_S" addr add "$S4/24" dev "$IF_S"
	ip -n "$NS_C" addr add "$C6/64" dev "$IF_C" nodad
	ip -n "$NS_S" addr add "$S6/64" dev "$IF_S" nodad
	ip -n "$NS_C" link set "$IF_C" up
	ip -n "$NS_S" link set "$IF_S" up
	# Unowned ranges: see the address block at the top.
	ip -n "$NS_S" route add "$SPOOF4_NET" via "$C4" dev "$IF_S"
	ip -n "$NS_S" route add "$SPOOF4_WIDE_NET" via "$C4" dev "$IF_S"
	ip -n "$NS_C" route add "$BLACKHOLE4_NET" via "$S4" dev "$IF_C"
	ip -n "$NS_C" route add "$BLACKHOLE6_NET" via "$S6" dev "$IF_C"
	((vlan)) && vlan_setup
	# Static neighbour entries: no ARP / neighbour discovery inside measured
	# handshakes, and next hops of the unowned ranges resolve at once.
	local mac_c mac_s
	mac_c=$(mac "$NS_C" "$IF_C")
	mac_s=$(mac "$NS_S" "$IF_S")
	ip -n "$NS_C" neigh replace "$S4" lladdr "$mac_s" dev "$IF_C" nud permanent
	ip -n "$NS_C" neigh replace "$S6" lladdr "$mac_s" dev "$IF_C" nud permanent
	ip -n "$NS_S" neigh replace "$C4" lladdr "$mac_c" dev "$IF_S" nud permanent
	ip -n "$NS_S" neigh replace "$C6" lladdr "$mac_c" dev "$IF_S" nud permanent
	if ((vlan)); then
		ip -n "$NS_C" neigh replace "$VS4" lladdr "$mac_s" dev "$VLAN_IF_C" nud permanent
		ip -n "$NS_C" neigh replace "$VS6" lladdr "$mac_s" dev "$VLAN_IF_C" nud permanent
		ip -n "$NS_S" neigh replace "$VC4" lladdr "$mac_c" dev "$VLAN_IF_S" nud permanent
		ip -n "$NS_S" neigh replace "$VC6" lladdr "$mac_c" dev "$VLAN_IF_S" nud permanent
	fi
	wait_for 5 "carrier" link_up || die "the veth pair did not come up"
	return 0
}

# net_add_client2: a second client namespace joined to the server namespace
# by its own veth pair (vc2 <-> vs2), IPv4 $C2_4 -> $S2_4.
net_add_client2() {
	NS_C2=tcpshake-it-$$-$NET_SEQ-c2
	ip netns add "$NS_C2" || die "ip netns add $NS_C2"
	NSES+=("$NS_C2")
	ip link add vc2 netns "$NS_C2" type veth peer name vs2 netns "$NS_S" || die "creating vc2/vs2"
	ip -n "$NS_C2" link set lo up
	ip -n "$NS_C2" addr add "$C2_4/24" dev vc2
	ip -n "$NS_S" addr add "$S2_4/24" dev vs2
	ip -n "$NS_C2" link set vc2 up
	ip -n "$NS_S" link set vs2 up
	ip -n "$NS_C2" neigh replace "$S2_4" lladdr "$(mac "$NS_S" vs2)" dev vc2 nud permanent
	ip -n "$NS_S" neigh replace "$C2_4" lladdr "$(mac "$NS_C2" vc2)" dev vs2 nud permanent
	wait_for 5 "carrier" sh -c "ip -n '$NS_S' -o link show dev vs2 | grep -q 'state UP'" ||
		die "vc2/vs2 did not come up"
}

# vlan_setup: VLAN $VLAN_ID between the namespaces, addresses VC4/VS4 and
# VC6/VS6 on it. 802.1Q sub-interfaces (vc.100, vs.100) where the kernel has
# them; kernels built without CONFIG_VLAN_8021Q get the same frames from a tc
# program on each veth end that pushes the tag on egress and pops it on
# ingress (vlan_tag.bpf.c; all traffic of the pair is then tagged). Either
# way tx VLAN offload is off, so the tag is written into the frame itself
# and the far end's XDP hook sees real tagged frames. Sets VLAN_MODE.
vlan_setup() {
	in_c ethtool -K "$IF_C" txvlan off >/dev/null || die "ethtool -K $IF_C txvlan off"
	in_s ethtool -K "$IF_S" txvlan off >/dev/null || die "ethtool -K $IF_S txvlan off"
	if ip -n "$NS_C" link add link "$IF_C" name "$IF_C.$VLAN_ID" type vlan id "$VLAN_ID" 2>/dev/null; then
		VLAN_MODE=subif
		VLAN_IF_C=$IF_C.$VLAN_ID
		VLAN_IF_S=$IF_S.$VLAN_ID
		ip -n "$NS_S" link add link "$IF_S" name "$VLAN_IF_S" type vlan id "$VLAN_ID" ||
			die "creating $VLAN_IF_S"
		ip -n "$NS_C" link set "$VLAN_IF_C" up
		ip -n "$NS_S" link set "$VLAN_IF_S" up
	else
		VLAN_MODE=bpf
		VLAN_IF_C=$IF_C
		VLAN_IF_S=$IF_S
		local src=$IT_DIR/vlan_tag.bpf.c inc
		inc=/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
		if [[ ! -s $WORK/vlan_push.o ]]; then
			clang -O2 -target bpf -I"$inc" -DVLAN_ID="$VLAN_ID" -DVLAN_PUSH -c "$src" -o "$WORK/vlan_push.o" ||
				die "compiling vlan_tag.bpf.c (push)"
			clang -O2 -target bpf -I"$inc" -DVLAN_ID="$VLAN_ID" -c "$src" -o "$WORK/vlan_pop.o" ||
				die "compiling vlan_tag.bpf.c (pop)"
		fi
		local ns dev
		for ns in "$NS_C" "$NS_S"; do
			dev=$IF_C
			[[ $ns == "$NS_S" ]] && dev=$IF_S
			tc -n "$ns" qdisc add dev "$dev" clsact || die "tc clsact on $ns/$dev"
			tc -n "$ns" filter add dev "$dev" egress bpf direct-action obj "$WORK/vlan_push.o" sec tc ||
				die "tc vlan push filter on $ns/$dev"
			tc -n "$ns" filter add dev "$dev" ingress bpf direct-action obj "$WORK/vlan_pop.o" sec tc ||
				die "tc vlan pop filter on $ns/$dev"
		done
	fi
	ip -n "$NS_C" addr add "$VC4/24" dev "$VLAN_IF_C"
	ip -n "$NS_S" addr add "$VS4/24" dev "$VLAN_IF_S"
	ip -n "$NS_C" addr add "$VC6/64" dev "$VLAN_IF_C" nodad
	ip -n "$NS_S" addr add "$VS6/64" dev "$VLAN_IF_S" nodad
}

# net_down: stop what runs in the current namespaces, delete them.
net_down() {
	[[ -n $MON_PID ]] && { stop_pid "$MON_PID" INT 5 || true; untrack "$MON_PID"; MON_PID=; }
	[[ -n $CAP_PID ]] && { stop_pid "$CAP_PID" INT 5 || true; untrack "$CAP_PID"; CAP_PID=; }
	[[ -n $NS_C ]] && ip netns del "$NS_C" 2>/dev/null
	[[ -n $NS_S ]] && ip netns del "$NS_S" 2>/dev/null
	[[ -n $NS_C2 ]] && ip netns del "$NS_C2" 2>/dev/null
	NS_C=
	NS_S=
	NS_C2=
	return 0
}

# mac NS IFACE
mac() { ip -n "$1" -o link show dev "$2" | sed -n 's|.*link/ether \([0-9a-f:]*\).*|\1|p'; }

link_up() {
	ip -n "$NS_C" -o link show dev "$IF_C" | grep -q 'state UP' &&
		ip -n "$NS_S" -o link show dev "$IF_S" | grep -q 'state UP'
}

# ---- the monitor ------------------------------------------------------------

# The namespace and interface the monitor watches (MON_SIDE=server|client).
mon_ns() { if [[ ${MON_SIDE:-server} == client ]]; then echo "$NS_C"; else echo "$NS_S"; fi; }
mon_if() { if [[ ${MON_SIDE:-server} == client ]]; then echo "$IF_C"; else echo "$IF_S"; fi; }

# mon_start TAG [OPTION...]: tcpshake-mon in the server namespace on vs,
# exporting every $MON_INTERVAL s to $WORK/TAG.prom, events to $WORK/TAG.events.
# Ready when the textfile exists. MON_SIDE=client watches the client's veth
# (vc, in the client namespace) instead.
MON_INTERVAL=0.5
mon_start() {
	MON_TAG=$1
	shift
	local prom=$WORK/$MON_TAG.prom
	rm -f "$prom" "$WORK/$MON_TAG.events"
	# shellcheck disable=SC2046
	ip netns exec "$(mon_ns)" "$TCPSHAKE" -q -i "$MON_INTERVAL" --prom-textfile "$prom" \
		--events "$WORK/$MON_TAG.events" "$@" "$(mon_if)" ${MON_MORE_IFACES:-} \
		>"$WORK/$MON_TAG.mon.log" 2>&1 &
	MON_PID=$!
	track "$MON_PID"
	if ! wait_for 15 "textfile" test -s "$prom"; then
		sed 's/^/      /' "$WORK/$MON_TAG.mon.log"
		die "tcpshake-mon ($*) did not write $prom within 15 s"
	fi
	kill -0 "$MON_PID" 2>/dev/null || die "tcpshake-mon exited right after start"
}

# mon_stop: SIGINT, wait (bounded); the final textfile must say tcpshake_up 0.
mon_stop() {
	local rc=0
	stop_pid "$MON_PID" INT 10 || rc=$?
	untrack "$MON_PID"
	MON_PID=
	if ((rc == 0)); then
		pass "[$MON_TAG] tcpshake-mon exits 0 on SIGINT"
	else
		fail "[$MON_TAG] tcpshake-mon exit status on SIGINT: expected 0, got $rc"
		sed 's/^/      /' "$WORK/$MON_TAG.mon.log" | tail -n 20
	fi
	check_eq "[$MON_TAG] final textfile tcpshake_up" 0 "$(metric tcpshake_up)"
}

# prom_mtime: modification time of the textfile, nanoseconds (rewritten by rename).
prom_mtime() { stat -c %.9Y "$WORK/$MON_TAG.prom" 2>/dev/null || echo 0; }

# wait_exports N: wait until the monitor rewrote its textfile N more times, so
# the numbers read next were collected after everything before this call.
wait_exports() {
	local n=${1:-2} last now i k=0
	last=$(prom_mtime)
	for ((i = 0; i < 200 && k < n; i++)); do
		sleep 0.05
		now=$(prom_mtime)
		if [[ $now != "$last" ]]; then
			k=$((k + 1))
			last=$now
		fi
	done
	((k >= n)) || die "[$MON_TAG] the textfile was not rewritten $n times within 10 s"
}

# metric NAME [LABEL=\"VALUE\"...]: sum of the samples of NAME in the current
# textfile whose labels contain every given label pair (e.g. 'kind="reset"').
# No such sample (a renamed metric, a wrong label) is an error, never 0:
# it prints "missing:NAME{LABELS}" (so any comparison fails and says why)
# and returns 1.
metric() {
	local name=$1
	shift
	awk -v name="$name" -v filters="$*" '
		BEGIN { n = split(filters, f, " "); sum = 0; found = 0 }
		/^#/ { next }
		{
			split($0, parts, " ")
			series = parts[1]
			mname = series; sub(/\{.*/, "", mname)
			if (mname != name) next
			labels = series; if (labels !~ /\{/) labels = ""
			for (i = 1; i <= n; i++) if (index(labels, f[i]) == 0) next
			sum += parts[2]
			found = 1
		}
		END {
			if (!found) { printf "missing:%s{%s}\n", name, filters; exit 1 }
			if (sum == int(sum)) printf "%d\n", sum; else printf "%.9f\n", sum
		}
	' "$WORK/$MON_TAG.prom"
}

# ---- a process's own accounts -------------------------------------------------

# cpu_ticks PID: utime + stime of a process (and its threads), clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# prog_ids PID: ids of the BPF programs PID holds open (its fdinfo).
prog_ids() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -un
}

# kv_val FILE KEY: KEY's value in FILE, lines of "KEY VALUE" (a capture's
# summary), or "missing:KEY".
kv_val() {
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print "missing:" k }' "$1"
}

# kv_vals FILE GROUP KEY...: kv_val of GROUP.KEY for each KEY, space-separated.
kv_vals() {
	local file=$1 g=$2 k out=()
	shift 2
	for k in "$@"; do
		out+=("$(kv_val "$file" "$g.$k")")
	done
	echo "${out[*]}"
}

# ---- kernel counters ----------------------------------------------------------

# nstat_snap NS NAME: save the namespace's absolute SNMP counters.
nstat_snap() {
	ip netns exec "$1" nstat -asz 2>/dev/null | awk '!/^#/ { print $1, $2 }' >"$WORK/nstat.$2"
}

# nstat_delta NS NAME COUNTER...: the sum of the COUNTERs now minus their sum
# in snapshot NAME (a counter the kernel does not list reads 0).
nstat_delta() {
	local ns=$1 name=$2 now before
	shift 2
	local sum='BEGIN { split(cs, c, " "); for (i in c) want[c[i]] = 1 } $1 in want { s += $2 } END { print s + 0 }'
	now=$(ip netns exec "$ns" nstat -asz 2>/dev/null | awk -v cs="$*" "$sum")
	before=$(awk -v cs="$*" "$sum" "$WORK/nstat.$name")
	echo $((now - before))
}

# ss_count NS STATE: sockets of NS in STATE (ss state names, e.g. time-wait).
ss_count() {
	ip netns exec "$1" ss -Htan state "$2" | wc -l
}

# ---- packet capture -----------------------------------------------------------

# cap_start NS IFACE NAME: tshark capture to $WORK/NAME.pcapng; returns once
# dumpcap has opened the interface and written the file header.
cap_start() {
	CAP_FILE=$WORK/$3.pcapng
	rm -f "$CAP_FILE"
	ip netns exec "$1" tshark -n -i "$2" -w "$CAP_FILE" -q >"$WORK/$3.tshark.log" 2>&1 &
	CAP_PID=$!
	track "$CAP_PID"
	if ! wait_for 15 "capture" cap_ready "$WORK/$3.tshark.log"; then
		sed 's/^/      /' "$WORK/$3.tshark.log"
		die "tshark did not start capturing on $1/$2 within 15 s"
	fi
	sleep 0.2
}

cap_ready() {
	grep -q "Capturing on" "$1" && [[ -s $CAP_FILE ]]
}

# cap_stop: let the capture drain, SIGINT, wait; the capture must report no drops.
cap_stop() {
	local log=${CAP_FILE%.pcapng}.tshark.log rc=0
	sleep 0.5
	stop_pid "$CAP_PID" INT 10 || rc=$?
	untrack "$CAP_PID"
	CAP_PID=
	((rc == 0)) || die "tshark exited with status $rc (see $log)"
	if grep -qiE '[1-9][0-9]* packets? dropped' "$log"; then
		die "the capture dropped packets: $(grep -i dropped "$log")"
	fi
}

# ---- traffic ----------------------------------------------------------------

# server_start NAME tcpgen-server-args...: tcpgen server in the server namespace;
# returns once it listens. SERVER_PID is set.
server_start() {
	local name=$1 ready=$WORK/$1.ready
	shift
	rm -f "$ready"
	ip netns exec "$NS_S" "$PY" "$TCPGEN" server --ready "$ready" "$@" \
		>"$WORK/$name.server.json" 2>"$WORK/$name.server.log" &
	SERVER_PID=$!
	track "$SERVER_PID"
	wait_for 10 "server" test -e "$ready" || {
		cat "$WORK/$name.server.log" >&2
		die "tcpgen server $name did not start listening"
	}
}

# server_wait NAME: the server must finish (its own timeout bounds it) with status 0.
server_wait() {
	local rc=0
	wait "$SERVER_PID" || rc=$?
	untrack "$SERVER_PID"
	if ((rc != 0)); then
		fail "[$1] tcpgen server: exit status $rc: $(tail -n 3 "$WORK/$1.server.log" | tr '\n' ' ')"
	fi
	return 0
}

# client_run NAME tcpgen-client-args...: tcpgen client in the client namespace.
client_run() {
	local name=$1 rc=0
	shift
	timeout 120 ip netns exec "$NS_C" "$PY" "$TCPGEN" client "$@" \
		>"$WORK/$name.client.json" 2>"$WORK/$name.client.log" || rc=$?
	if ((rc != 0)); then
		fail "[$name] tcpgen client: exit status $rc: $(tail -n 3 "$WORK/$name.client.log" | tr '\n' ' ')"
	fi
	return 0
}

# client_start NAME tcpgen-client-args...: the client in the background (CLIENT_PID).
client_start() {
	local name=$1
	shift
	ip netns exec "$NS_C" "$PY" "$TCPGEN" client "$@" \
		>"$WORK/$name.client.json" 2>"$WORK/$name.client.log" &
	CLIENT_PID=$!
	track "$CLIENT_PID"
}

# client_wait NAME: the background client must finish with status 0.
client_wait() {
	local rc=0
	wait "$CLIENT_PID" || rc=$?
	untrack "$CLIENT_PID"
	if ((rc != 0)); then
		fail "[$1] tcpgen client: exit status $rc: $(tail -n 3 "$WORK/$1.client.log" | tr '\n' ' ')"
	fi
	return 0
}

# ---- analysis -----------------------------------------------------------------

# pcap_stat NAME KEY: one number from analyze.py's summary of $WORK/NAME.pcapng.
pcap_stat() {
	local json=$WORK/$1.pcap.json
	if [[ ! -s $json ]]; then
		"$PY" "$ANALYZE" pcap "$WORK/$1.pcapng" >"$json" || die "analyzing $1.pcapng failed"
	fi
	"$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$json" "$2"
}

# event_count TAG [FIELD=VALUE...]: events of $WORK/TAG.events matching all pairs.
event_count() {
	local tag=$1
	shift
	"$PY" "$ANALYZE" count-events "$WORK/$tag.events" "$@"
}

# event_sum TAG FIELD [FIELD=VALUE...]: sum of FIELD over the matching events.
event_sum() {
	local tag=$1
	shift
	"$PY" "$ANALYZE" sum-events "$WORK/$tag.events" "$@"
}

# check_rtt NAME: every established event's handshake_s matches tshark's
# tcp.analysis.initial_rtt for the same 4-tuple (5 % or 100 us; rare
# scheduling outliers below 5 ms, at most 10 %, are listed but tolerated
# unless RTT_STRICT=1: see analyze.py).
check_rtt() {
	check_report "[$1] handshake_s of every established event = tshark initial_rtt (5 % or 100 us)" \
		"$PY" "$ANALYZE" rtt "$WORK/$1.pcapng" "$WORK/$1.events"
}

# check_bytes NAME: every orig_bytes / resp_bytes of a final event that is not
# null = that side's payload in the capture; closed connections have both.
check_bytes() {
	check_report "[$1] orig_bytes / resp_bytes of the final events = the capture's payload by sequence numbers" \
		"$PY" "$ANALYZE" bytes "$WORK/$1.pcapng" "$WORK/$1.events"
}

# check_hist: the textfile's histograms hold exactly the durations of the events.
check_hist() {
	check_cmd "[$MON_TAG] histogram buckets, counts and sums = the events' durations" \
		"$PY" "$ANALYZE" hist "$WORK/$MON_TAG.prom" "$WORK/$MON_TAG.events"
}

# check_promtool: the textfile passes promtool check metrics.
check_promtool() {
	check_cmd "[$MON_TAG] promtool check metrics < textfile" \
		sh -c "promtool check metrics < '$WORK/$MON_TAG.prom'"
}

# ---- scenarios ----------------------------------------------------------------

# check_hook MODE: the ingress hook tcpshake-mon attached is the one asked for
# (XDP program on vs for xdp; no XDP program for tc).
check_hook() {
	local out
	out=$(ip netns exec "$(mon_ns)" bpftool net show dev "$(mon_if)" 2>/dev/null | sed -n '/^xdp:/,/^tc:/p')
	case $1 in
	xdp) if grep -qE 'driver|generic' <<<"$out"; then
			pass "[$MON_TAG] --ingress xdp: an XDP program is attached to $(mon_if)"
		else
			fail "[$MON_TAG] --ingress xdp: no XDP program on $(mon_if): $out"
		fi ;;
	tc) if grep -qE 'driver|generic' <<<"$out"; then
			fail "[$MON_TAG] --ingress tc: an XDP program is attached to $(mon_if): $out"
		else
			pass "[$MON_TAG] --ingress tc: no XDP program on $(mon_if)"
		fi ;;
	esac
}

# sc_begin TAG [tcpshake-mon option...]: fresh namespaces (net_up with
# $SC_NET_OPTS), monitor, capture on the monitored veth (vs, or vc with
# MON_SIDE=client), kernel counter snapshots of both ends.
sc_begin() {
	local tag=$1
	shift
	# shellcheck disable=SC2086
	net_up ${SC_NET_OPTS:-}
	mon_start "$tag" "$@"
	cap_start "$(mon_ns)" "$(mon_if)" "$tag"
	nstat_snap "$NS_S" "$tag.s"
	nstat_snap "$NS_C" "$tag.c"
}

# sc_end: the last packets are exported (two textfile rewrites), TIME-WAIT
# sockets are counted (SS_TW), capture and monitor stop.
sc_end() {
	wait_exports 2
	SS_TW_C=$(ss_count "$NS_C" time-wait)
	SS_TW_S=$(ss_count "$NS_S" time-wait)
	SS_TW=$((SS_TW_C + SS_TW_S))
	cap_stop
	mon_stop
}

# nstat_s / nstat_c COUNTER...: delta since sc_begin in the server / client namespace.
nstat_s() { nstat_delta "$NS_S" "$MON_TAG.s" "$@"; }
nstat_c() { nstat_delta "$NS_C" "$MON_TAG.c" "$@"; }

# last_packet LOG [PORT]: a lone RST from the client to a closed port of
# the server (9, or PORT), the capture's last packet, answered by nothing;
# hping3's output into LOG. A replay ends at its last packet and the live
# monitor later: past --syn-timeout after the last SYN, neither's last
# interval holds a SYN, and every attempt has ended in both, so the rates
# and gauges they export describe the same traffic.
last_packet() {
	timeout 10 ip netns exec "$NS_C" hping3 -I "$IF_C" -R -p "${2:-9}" -s 20001 -c 1 -q "$S4" \
		>>"$1" 2>&1 || true
	sleep 0.5
}

# check_read TAG [OPTION...]: $WORK/TAG.pcapng through --read with OPTIONs
# (the same parser and core natively): every counter, gauge and histogram
# count, and every event, as the live monitor's ($WORK/TAG.prom, .events).
check_read() {
	local tag=$1 r=$1-read rc=0
	shift
	"$TCPSHAKE" --read "$WORK/$tag.pcapng" -q -i "$MON_INTERVAL" --prom-textfile "$WORK/$r.prom" \
		--events "$WORK/$r.events" "$@" >"$WORK/$r.out" 2>&1 || rc=$?
	check_eq "[$r] tcpshake-mon --read exit status" 0 "$rc"
	check_cmd "[$r] every counter, gauge and histogram count = live" \
		"$PY" "$IT_DIR/replay_compare.py" prom "$WORK/$tag.prom" "$WORK/$r.prom"
	check_cmd "[$r] every event = live (all fields but times)" \
		"$PY" "$IT_DIR/replay_compare.py" events "$WORK/$tag.events" "$WORK/$r.events"
}

# check_tcp_packets KV: the monitor's TCP counters against a capture's summary
# (kv_val's KEY VALUE lines: tcp_packets, syn, syn_retrans, synack), for
# captures with ICMP errors, which are not TCP packets.
check_tcp_packets() {
	local tag=$MON_TAG kv=$1
	check_eq "[$tag] packets_total = TCP segments in the capture (the ICMP errors not counted)" \
		"$(kv_val "$kv" tcp_packets)" "$(metric tcpshake_packets_total)"
	check_eq "[$tag] syn_packets_total = SYNs in the capture" "$(kv_val "$kv" syn)" \
		"$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] syn_retransmits_total = SYN retransmissions in the capture" \
		"$(kv_val "$kv" syn_retrans)" "$(metric tcpshake_syn_retransmits_total)"
	check_eq "[$tag] synack_packets_total = SYN-ACKs in the capture" "$(kv_val "$kv" synack)" \
		"$(metric tcpshake_synack_packets_total)"
}

# check_quiet_gauges: nothing left open at the end of a scenario.
check_quiet_gauges() {
	check_eq "[$MON_TAG] half_open_connections" 0 "$(metric tcpshake_half_open_connections)"
	check_eq "[$MON_TAG] established_connections" 0 "$(metric tcpshake_established_connections)"
	check_eq "[$MON_TAG] closing_connections" 0 "$(metric tcpshake_closing_connections)"
}

# check_handshakes N: handshakes_total = server TcpPassiveOpens delta = the
# capture's complete handshakes = N, and the event/initial_rtt comparison.
check_handshakes() {
	local n=$1 tag=$MON_TAG
	check_eq "[$tag] server TcpPassiveOpens delta" "$n" "$(nstat_s TcpPassiveOpens)"
	check_eq "[$tag] handshakes_total = TcpPassiveOpens delta" "$(nstat_s TcpPassiveOpens)" "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] handshakes_total = complete handshakes in the capture (tcp.completeness)" \
		"$(pcap_stat "$tag" completeness_handshakes)" "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] syn_packets_total = SYNs in the capture" "$(pcap_stat "$tag" syn)" "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] synack_packets_total = SYN-ACKs in the capture" "$(pcap_stat "$tag" synack)" "$(metric tcpshake_synack_packets_total)"
	check_eq "[$tag] events outcome=established" "$n" "$(event_count "$tag" outcome=established)"
	check_cmd "[$tag] every event line has the documented fields and types" "$PY" "$ANALYZE" validate-events "$WORK/$tag.events"
	check_rtt "$tag"
	check_bytes "$tag"
	check_hist
}

# metric_ge MIN NAME [FILTER...]: the metric (current textfile) is >= MIN.
metric_ge() {
	local min=$1 v
	shift
	v=$(metric "$@")
	[[ $v =~ ^[0-9]+$ ]] && ((v >= min))
}

# wait_metric TIMEOUT_S MIN NAME [FILTER...]: wait (bounded) until the metric
# reaches MIN; the checks that follow say what it really was.
wait_metric() {
	local timeout=$1
	shift
	wait_for "$timeout" "metric" metric_ge "$@" || true
}

# run_sc NAME CMD...: run one scenario, unless $SCENARIOS (space-separated
# names) is set and does not name it: SCENARIOS="timeout invalid" bash test_x.sh
run_sc() {
	local name=$1
	shift
	if [[ -n ${SCENARIOS:-} && " $SCENARIOS " != *" $name "* ]]; then
		return 0
	fi
	"$@"
}
