#!/bin/bash
# What hosts do to a monitor that runs for months, each in this test's own
# namespaces (lib.sh): the rules the man page states under FAULTS.
#  - iface: the watched interface goes down (one line, waits), comes back,
#    is renamed (one line, keeps watching), SIGINT still exits 0; deleted:
#    one line and exit 1 within seconds, no hang.
#  - kill9: after SIGKILL no program, map or link of that run is left and
#    no qdisc; the next run attaches.
#  - early_stop: SIGINT while the programs load (to a background job, which
#    starts with SIGINT ignored): exit 0, nothing attached, no output.
#  - lock: a second monitor on the interface is refused; an unprivileged
#    user can neither hold the lock file nor block it with the old abstract
#    socket name.
#  - foreign_tc: on the netlink tc path, a filter someone else adds to the
#    clsact qdisc we created survives our exit, and so does the qdisc.
#  - rotate: the events file is renamed and SIGHUP sent five times under
#    load; the files together hold exactly one event per connection.
#  - outputs: a full and a read-only textfile directory (tiny tmpfs), events
#    to /dev/full: one error line per failure streak, monitoring goes on,
#    recovers, write errors counted.
#  - epipe: `tcpshake-mon --events - IFACE | head -1` ends within seconds.
#  - slow_reader: an events FIFO nobody reads: the textfile and /healthz go on;
#    at exit what the pipe does not hold is counted in events_dropped_total.
#  - stalled_output: the FIFO's reader stops, then reads again: lines +
#    events_lost_total = 2 x connections, nothing silently lost.
#  - ringbuf: the monitor stopped (SIGSTOP) through a burst: events lost are
#    counted, lines + lost = connections, counters exact against nstat.
#  - http: a thousand connections and slowloris clients from one address:
#    the textfile loop goes on and another address still scrapes /metrics.
# SCENARIOS="iface lock" runs some of them.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_root_tools
HOOKS=${HOOKS_BIN:-$REPO/build/tests/hooks}
[[ -x $HOOKS ]] || die "$HOOKS is missing: run make test-bins"
PORT=8080

# lines FILE PATTERN: lines of FILE matching PATTERN (0 if none).
lines() { grep -c -- "$2" "$1" 2>/dev/null || true; }

# hooks_of: what is attached to the monitored interface ("hook:name ...").
hooks_of() { ip netns exec "$NS_S" "$HOOKS" "$IF_S" 2>/dev/null | sort | tr '\n' ' '; }

# alive_after S: the monitor is still running S seconds later.
alive_after() { sleep "$1"; kill -0 "$MON_PID" 2>/dev/null; }

# conns TAG N [MODE]: N connections from the client to the server, counted.
conns() {
	local tag=$1 n=$2 mode=${3:-client-close}
	server_start "$tag" --addr "$S4" --port "$PORT" --mode "$mode" --count "$n"
	client_run "$tag" --addr "$S4" --port "$PORT" --mode "$mode" --count "$n" --parallel 8
	server_wait "$tag"
}

# ---- the interface goes down, is renamed, is deleted ------------------------

sc_iface() {
	net_up
	mon_start iface
	local log=$WORK/iface.mon.log
	ip -n "$NS_S" link set "$IF_S" down
	wait_for 5 "down line" grep -q "interface $IF_S is down: waiting" "$log" &&
		pass "[iface] down: one line names it: $(grep 'is down' "$log")" ||
		fail "[iface] down: no line within 5 s: $(cat "$log")"
	alive_after 1.5 && pass "[iface] down: still running, waiting" || fail "[iface] down: the monitor exited"
	wait_exports 2
	check_eq "[iface] down: lines about it after 1.5 s more" 1 "$(lines "$log" 'is down')"
	ip -n "$NS_S" link set "$IF_S" up
	wait_for 5 "up line" grep -q "interface $IF_S is up again" "$log" &&
		pass "[iface] up again: one line" || fail "[iface] up again: no line: $(cat "$log")"
	wait_for 5 carrier link_up || die "the veth pair did not come back up"
	nstat_snap "$NS_S" iface.s
	conns iface1 20
	wait_exports 2
	check_eq "[iface] after down/up, handshakes_total = TcpPassiveOpens" \
		"$(nstat_s TcpPassiveOpens)" "$(metric tcpshake_handshakes_total)"
	ip -n "$NS_S" link set "$IF_S" down
	ip -n "$NS_S" link set "$IF_S" name vsx
	ip -n "$NS_S" link set vsx up
	wait_for 5 "renamed line" grep -q "interface $IF_S was renamed to vsx" "$log" &&
		pass "[iface] renamed: one line names both: $(grep renamed "$log")" ||
		fail "[iface] renamed: no line: $(cat "$log")"
	alive_after 1 && pass "[iface] renamed: still running" || fail "[iface] renamed: the monitor exited"
	conns iface2 20
	wait_exports 2
	check_eq "[iface] after the rename, still counted under iface=\"$IF_S\"" \
		"$(nstat_s TcpPassiveOpens)" "$(metric tcpshake_handshakes_total "iface=\"$IF_S\"")"
	mon_stop
	ip -n "$NS_S" link set vsx name "$IF_S" 2>/dev/null || true

	# Deleted: exit 1, one line, within seconds.
	net_up
	mon_start iface_del
	log=$WORK/iface_del.mon.log
	ip -n "$NS_S" link del "$IF_S"
	local rc=0
	stop_pid "$MON_PID" 0 5 || rc=$?
	# stop_pid with signal 0 only waits: 124 means it had to be killed.
	untrack "$MON_PID"
	MON_PID=
	check_eq "[iface] deleted: exit status" 1 "$rc"
	check_eq "[iface] deleted: lines naming it" 1 "$(lines "$log" "interface $IF_S was deleted")"
	check_eq "[iface] deleted: final textfile tcpshake_up" 0 "$(metric tcpshake_up)"
}

# ---- kill -9, then a new run --------------------------------------------------

# bpf_ids PID: "map:ID prog:ID link:ID" of every BPF object the process holds.
bpf_ids() {
	local f
	for f in /proc/"$1"/fdinfo/*; do
		awk '/^map_id:/ { print "map:" $2 } /^prog_id:/ { print "prog:" $2 } /^link_id:/ { print "link:" $2 }' "$f" 2>/dev/null
	done | sort -u | tr '\n' ' '
}

# still_there IDS: the objects of IDS that still exist.
still_there() {
	local id left=""
	for id in $1; do
		bpftool "${id%%:*}" show id "${id#*:}" >/dev/null 2>&1 && left+="$id "
	done
	echo "$left"
}

sc_kill9() {
	net_up
	mon_start kill9
	local ids left i
	ids=$(bpf_ids "$MON_PID")
	[[ $ids == *map:* && $ids == *prog:* && $ids == *link:* ]] ||
		fail "[kill9] the running monitor holds maps, programs and links: '$ids'"
	kill -KILL "$MON_PID"
	wait "$MON_PID" 2>/dev/null || true
	untrack "$MON_PID"
	MON_PID=
	# The kernel frees them after an RCU grace period: bounded wait.
	for ((i = 0; i < 100; i++)); do
		left=$(still_there "$ids")
		[[ -z $left ]] && break
		sleep 0.1
	done
	check_eq "[kill9] of $(wc -w <<<"$ids") BPF objects of the killed run, left" "" "$left"
	check_eq "[kill9] attached to $IF_S after SIGKILL" "" "$(hooks_of)"
	check_eq "[kill9] qdiscs on $IF_S besides the default" "" \
		"$(tc -n "$NS_S" qdisc show dev "$IF_S" | grep -v -e 'qdisc noqueue' || true)"
	mon_start kill9_again
	[[ $(hooks_of) == *tcpshake_tc_out* ]] && pass "[kill9] a new run attaches: $(hooks_of)" ||
		fail "[kill9] a new run attaches: '$(hooks_of)'"
	conns kill9 10
	wait_exports 2
	check_eq "[kill9] the new run counts: handshakes_total" 10 "$(metric tcpshake_handshakes_total)"
	mon_stop
}

# ---- SIGINT while the programs load --------------------------------------------

# catches_sigint PID: the process is the monitor (ip netns exec has exec'd)
# and has a handler for SIGINT (bit 2 of SigCgt).
catches_sigint() {
	[[ $(cat /proc/"$1"/comm 2>/dev/null) == tcpshake-mon ]] &&
		(( 0x$(awk '$1 == "SigCgt:" { print $2 }' /proc/"$1"/status 2>/dev/null) & 2 ))
}

# A background job of a script starts with SIGINT ignored; the monitor's
# handler must be in place before the second or more its programs take to
# load, or a stop asked for meanwhile is lost and it runs on.
sc_early_stop() {
	net_up
	local log=$WORK/early.mon.log prom=$WORK/early.prom ids i rc=0
	rm -f "$prom"
	ip netns exec "$NS_S" "$TCPSHAKE" -q -i 0.5 --prom-textfile "$prom" "$IF_S" >"$log" 2>&1 &
	MON_PID=$!
	track "$MON_PID"
	for ((i = 0; i < 1000; i++)); do
		catches_sigint "$MON_PID" && break
		kill -0 "$MON_PID" 2>/dev/null || break
		sleep 0.01
	done
	ids=$(bpf_ids "$MON_PID")
	catches_sigint "$MON_PID" || die "[early_stop] the monitor never caught SIGINT: $(cat "$log")"
	check_eq "[early_stop] programs loaded when SIGINT is first caught" "" "$(tr ' ' '\n' <<<"$ids" | grep prog: || true)"
	stop_pid "$MON_PID" INT 10 || rc=$?
	untrack "$MON_PID"
	MON_PID=
	check_eq "[early_stop] SIGINT while loading: exit status" 0 "$rc"
	check_eq "[early_stop] attached to $IF_S afterwards" "" "$(hooks_of)"
	[[ ! -e $prom ]] && pass "[early_stop] stopped before its outputs: no textfile" ||
		fail "[early_stop] a textfile was written after SIGINT during the load"
	check_eq "[early_stop] log lines" 0 "$(grep -vc '^$' "$log" || true)"
}

# ---- one monitor per interface; the lock is not squattable --------------------

sc_lock() {
	net_up
	local ino lockfile rc=0 err
	ino=$(stat -L -c %i "/run/netns/$NS_S")
	lockfile=/run/tcpshake-mon/$IF_S.net$ino.lock
	# An unprivileged user tries the old way (the abstract socket name) and
	# the new one (flock on the lock file) before the monitor starts.
	ip netns exec "$NS_S" setpriv --reuid=65534 --regid=65534 --clear-groups "$PY" -c '
import socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0tcpshake-mon/" + __import__("sys").argv[1])
time.sleep(30)' "$IF_S" 2>"$WORK/squat.err" &
	local squat=$!
	track "$squat"
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups flock -n "$lockfile" true 2>"$WORK/flock.err" || rc=$?
	((rc != 0)) && pass "[lock] user nobody cannot take $lockfile: $(head -1 "$WORK/flock.err")" ||
		fail "[lock] user nobody took the lock file"
	mon_start lock
	pass "[lock] the monitor starts although user nobody holds the old abstract socket name"
	[[ ! -s $WORK/squat.err ]] || fail "[lock] the squatter could not bind: $(cat "$WORK/squat.err")"
	check_eq "[lock] lock directory mode and owner" "700 root" "$(stat -c '%a %U' /run/tcpshake-mon)"
	check_eq "[lock] lock file mode and owner" "600 root" "$(stat -c '%a %U' "$lockfile")"
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups flock -n "$lockfile" true 2>/dev/null || rc=$?
	((rc != 0)) && pass "[lock] user nobody cannot open the held lock file" ||
		fail "[lock] user nobody could flock the held lock file"
	rc=0
	err=$(ip netns exec "$NS_S" "$TCPSHAKE" -q -d 2 "$IF_S" 2>&1) || rc=$?
	check_eq "[lock] a second monitor: exit status" 1 "$rc"
	[[ $err == *"interface $IF_S is already monitored by another tcpshake-mon: stop it first"* &&
		$(wc -l <<<"$err") == 1 ]] && pass "[lock] a second monitor: one line: $err" ||
		fail "[lock] a second monitor said: $err"
	stop_pid "$squat" KILL 2 || true
	untrack "$squat"
	mon_stop
	[[ ! -e $lockfile ]] && pass "[lock] the lock file is removed on exit" ||
		fail "[lock] $lockfile is left after exit"
}

# ---- someone else's tc filter on the clsact qdisc we created ------------------

sc_foreign_tc() {
	net_up
	cat >"$WORK/foreign_tc.bpf.c" <<'EOF'
__attribute__((section("tc"), used)) int foreign_tc(void *skb) { return 0; /* TC_ACT_OK */ }
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
	clang -O2 -target bpf -c "$WORK/foreign_tc.bpf.c" -o "$WORK/foreign_tc.o" || die "compiling foreign_tc"
	# Control: on its own, the netlink path leaves no qdisc behind.
	TCPSHAKE_TC_ATTACH=netlink mon_start foreign_tc0 --ingress tc -v
	check_eq "[foreign_tc] netlink path: attached" "tc_egress:tcpshake_tc_out tc_ingress:tcpshake_tc_in " "$(hooks_of)"
	mon_stop
	check_eq "[foreign_tc] alone: clsact qdiscs left" 0 "$(tc -n "$NS_S" qdisc show dev "$IF_S" | grep -c clsact || true)"

	TCPSHAKE_TC_ATTACH=netlink mon_start foreign_tc --ingress tc -v
	tc -n "$NS_S" filter add dev "$IF_S" ingress prio 1 handle 1 bpf da obj "$WORK/foreign_tc.o" sec tc ||
		die "adding the foreign filter"
	mon_stop
	check_eq "[foreign_tc] after our exit, attached" "tc_ingress:foreign_tc " "$(hooks_of)"
	check_eq "[foreign_tc] the clsact qdisc holding it" 1 "$(tc -n "$NS_S" qdisc show dev "$IF_S" | grep -c clsact || true)"
	check_eq "[foreign_tc] one line says why the qdisc stays" 1 \
		"$(lines "$WORK/foreign_tc.mon.log" 'left the clsact qdisc on')"
}

# ---- SIGHUP reopens the events file: rotation under load ----------------------

sc_rotate() {
	net_up
	local n=3000 i files total
	nstat_snap "$NS_S" rotate.s
	# Not -q: the reopen lines are info.
	mon_start rotate -v
	server_start rotate --addr "$S4" --port "$PORT" --mode client-close --count "$n"
	client_start rotate --addr "$S4" --port "$PORT" --mode client-close --count "$n" --parallel 8
	for ((i = 1; i <= 5; i++)); do
		sleep 0.3
		mv "$WORK/rotate.events" "$WORK/rotate.events.$i"
		kill -HUP "$MON_PID"
	done
	client_wait rotate
	server_wait rotate
	wait_exports 3
	kill -0 "$MON_PID" 2>/dev/null && pass "[rotate] alive after five SIGHUPs" || fail "[rotate] SIGHUP killed the monitor"
	check_eq "[rotate] 'reopened' lines" 5 "$(lines "$WORK/rotate.mon.log" 'reopened the event file')"
	files=$(ls "$WORK"/rotate.events*)
	total=$(cat $files | wc -l)
	local nonempty=0 f
	for f in $files; do [[ -s $f ]] && nonempty=$((nonempty + 1)); done
	check_ge "[rotate] event files with events (of 6)" 3 "$nonempty"
	# Two events per connection: established, then closed.
	check_eq "[rotate] events in all files = 2 x TcpPassiveOpens" "$((2 * $(nstat_s TcpPassiveOpens)))" "$total"
	check_eq "[rotate] outcome=closed events in all files" "$n" "$(cat $files | grep -c '"outcome":"closed"')"
	check_eq "[rotate] events lost" 0 "$(metric tcpshake_events_lost_total)"
	check_eq "[rotate] event lines, all valid JSON" "$total" "$(cat $files | "$PY" -c 'import json,sys; print(sum(1 for l in sys.stdin if json.loads(l)))')"
	mon_stop
}

# ---- outputs that fail ----------------------------------------------------------

sc_outputs() {
	net_up
	local dir=$WORK/tiny log=$WORK/outputs.log rc
	mkdir -p "$dir"
	# A 256 KiB tmpfs in a mount namespace of the monitor's own; nsenter and
	# unshare exec in place, so $! is the monitor.
	unshare -m --propagation private sh -c '
		mount -t tmpfs -o size=256k tiny "$1" || exit 97
		shift
		exec "$@"' sh "$dir" nsenter --net="/run/netns/$NS_S" "$TCPSHAKE" -i 0.2 \
		--prom-textfile "$dir/m.prom" --events /dev/full "$IF_S" >/dev/null 2>"$log" &
	MON_PID=$!
	track "$MON_PID"
	MON_TAG=outputs
	local mnt="nsenter --mount=/proc/$MON_PID/ns/mnt"
	wait_for 10 textfile $mnt test -s "$dir/m.prom" || die "[outputs] no textfile: $(cat "$log")"
	conns outputs 20
	# Fill the tmpfs: every write fails (ENOSPC) for a while.
	$mnt dd if=/dev/zero of="$dir/filler" bs=4k 2>/dev/null || true
	sleep 1.5
	kill -0 "$MON_PID" 2>/dev/null && pass "[outputs] disk full: still running" || fail "[outputs] disk full: exited"
	check_eq "[outputs] disk full: error lines for a streak of ~7 failed writes" 1 \
		"$(lines "$log" "cannot write $dir/m.prom (No space left on device)")"
	$mnt rm -f "$dir/filler"
	wait_for 5 recovered grep -q "writing $dir/m.prom works again" "$log" &&
		pass "[outputs] disk space back: recovery reported once" || fail "[outputs] no recovery line: $(cat "$log")"
	# Read-only: a second streak, a second line.
	$mnt mount -o remount,ro "$dir"
	sleep 1.5
	$mnt mount -o remount,rw "$dir"
	check_eq "[outputs] read-only: error lines for that streak" 1 \
		"$(lines "$log" "cannot write $dir/m.prom (Read-only file system)")"
	wait_for 5 recovered2 sh -c "[ \$(grep -c 'works again' '$log') -ge 2 ]" &&
		pass "[outputs] read-only ends: recovered again" || fail "[outputs] second recovery: $(cat "$log")"
	# The textfile is current again and counts everything; events to /dev/full
	# were all lost, counted, reported once.
	$mnt cat "$dir/m.prom" >"$WORK/outputs.prom"
	check_eq "[outputs] handshakes_total" 20 "$(metric tcpshake_handshakes_total)"
	check_eq "[outputs] events_write_errors_total = 2 events x 20 connections (all to /dev/full)" 40 \
		"$(metric tcpshake_events_write_errors_total)"
	check_eq "[outputs] event write error lines" 1 "$(lines "$log" 'cannot write events to /dev/full')"
	rc=0
	stop_pid "$MON_PID" INT 10 || rc=$?
	untrack "$MON_PID"
	MON_PID=
	check_eq "[outputs] SIGINT: exit status" 0 "$rc"
}

# ---- a closed pipe: --events - | head -1 ---------------------------------------

sc_epipe() {
	net_up
	local out=$WORK/epipe.out st=$WORK/epipe.status t0
	(
		set +e
		nsenter --net="/run/netns/$NS_S" "$TCPSHAKE" -q --events - "$IF_S" 2>"$WORK/epipe.err" | head -1 >"$out"
		echo "${PIPESTATUS[0]}" >"$st"
	) &
	local sub=$!
	track "$sub"
	wait_for 10 attached sh -c "ip netns exec '$NS_S' '$HOOKS' '$IF_S' | grep -q tcpshake_tc_out" ||
		die "[epipe] the monitor did not attach: $(cat "$WORK/epipe.err")"
	conns epipe 5
	t0=$SECONDS
	wait_for 10 "pipeline end" test -s "$st" && pass "[epipe] the pipeline ended $((SECONDS - t0)) s after the traffic" ||
		fail "[epipe] the pipeline still runs 10 s later"
	stop_pid "$sub" INT 5 || true
	untrack "$sub"
	check_eq "[epipe] lines head printed" 1 "$(wc -l <"$out")"
	check_eq "[epipe] monitor exit status" 1 "$(cat "$st" 2>/dev/null)"
	check_eq "[epipe] one line says why" 1 "$(lines "$WORK/epipe.err" 'closed by its reader (broken pipe): stopping')"
	check_eq "[epipe] attached after exit" "" "$(hooks_of)"
}

# ---- a reader that does not read -----------------------------------------------

healthz() { ip netns exec "$NS_S" curl -s -m 2 "http://127.0.0.1:9531/healthz"; }

sc_slow_reader() {
	net_up
	local fifo=$WORK/slow.fifo i t0 ok=0
	mkfifo "$fifo"
	exec 7<>"$fifo"            # holds the FIFO open, never reads it
	MON_TAG=slow
	ip netns exec "$NS_S" "$TCPSHAKE" -q -i 0.5 --prom-textfile "$WORK/slow.prom" --events "$fifo" \
		--listen 127.0.0.1:9531 "$IF_S" >"$WORK/slow.mon.log" 2>&1 &
	MON_PID=$!
	track "$MON_PID"
	wait_for 10 textfile test -s "$WORK/slow.prom" || die "[slow_reader] no textfile: $(cat "$WORK/slow.mon.log")"
	nstat_snap "$NS_S" slow.s
	# 1200 event lines fill the 64 KiB pipe many times over.
	conns slow 600
	# (before the /healthz requests: nstat counts those on lo too)
	local opens
	opens=$(nstat_s TcpPassiveOpens)
	for ((i = 0; i < 5; i++)); do
		t0=$(date +%s%N)
		[[ $(healthz) == ok ]] && (( ($(date +%s%N) - t0) < 1000000000 )) && ok=$((ok + 1))
		sleep 0.2
	done
	check_eq "[slow_reader] /healthz answered ok within 1 s, of 5 tries" 5 "$ok"
	wait_exports 3
	check_eq "[slow_reader] the textfile loop goes on: handshakes_total = TcpPassiveOpens" \
		"$opens" "$(metric tcpshake_handshakes_total)"
	local rc=0 took
	stop_pid "$MON_PID" INT 10 || rc=$?
	untrack "$MON_PID"
	MON_PID=
	check_eq "[slow_reader] SIGINT with a stuck reader: exit status (within 10 s)" 0 "$rc"
	# What the monitor wrote is still in the pipe (we hold it open, so cat
	# ends by its timeout); what it could not write is counted.
	took=$( { timeout 2 cat "$fifo" || true; } | wc -l)
	exec 7<&-
	check_ge "[slow_reader] events_dropped_total: queued at exit, never taken" 1 "$(metric tcpshake_events_dropped_total)"
	check_eq "[slow_reader] lines in the pipe + dropped + lost + write errors = 2 x 600 connections" 1200 \
		"$((took + $(metric tcpshake_events_dropped_total) + $(metric tcpshake_events_lost_total) + \
			$(metric tcpshake_events_write_errors_total)))"
}

# ---- the output stalls, then is read again -------------------------------------------

# The FIFO's reader stops while 5,000 connections make 10,000 events: the
# pipe and the 4 MiB queue fill, the events wait in a 64 KiB ring, which
# overflows. Then a reader comes: every event is a line or counted.
sc_stalled_output() {
	net_up
	local fifo=$WORK/stalled.fifo n=5000 reader lost
	rm -f "$fifo"
	mkfifo "$fifo"
	exec 7<>"$fifo"
	MON_TAG=stalled
	ip netns exec "$NS_S" "$TCPSHAKE" -q -i 0.5 --prom-textfile "$WORK/stalled.prom" --events "$fifo" \
		--events-buffer 64 "$IF_S" >"$WORK/stalled.mon.log" 2>&1 &
	MON_PID=$!
	track "$MON_PID"
	wait_for 10 textfile test -s "$WORK/stalled.prom" || die "[stalled_output] no textfile: $(cat "$WORK/stalled.mon.log")"
	nstat_snap "$NS_S" stalled.s
	conns stalled "$n"
	cat "$fifo" >"$WORK/stalled.lines" &
	reader=$!
	track "$reader"
	exec 7<&-
	wait_exports 3
	mon_stop
	wait_for 10 "the reader's end of file" sh -c "! kill -0 $reader" || true
	stop_pid "$reader" TERM 5 || true
	untrack "$reader"
	lost=$(metric tcpshake_events_lost_total)
	check_ge "[stalled_output] events_lost_total: the ring overflowed while the output stalled" 1 "$lost"
	check_eq "[stalled_output] events_dropped_total: the reader took the rest at exit" 0 \
		"$(metric tcpshake_events_dropped_total)"
	check_eq "[stalled_output] lines + events_lost_total = 2 x connections" "$((2 * n))" \
		"$(($(wc -l <"$WORK/stalled.lines") + lost))"
	check_eq "[stalled_output] handshakes_total = TcpPassiveOpens (exact)" "$(nstat_s TcpPassiveOpens)" \
		"$(metric tcpshake_handshakes_total)"
}

# ---- the ring buffer overflows ---------------------------------------------------

sc_ringbuf() {
	net_up
	local n=3000 lost lines_n
	nstat_snap "$NS_S" ringbuf.s
	mon_start ringbuf --events-buffer 64
	kill -STOP "$MON_PID"
	conns ringbuf "$n"
	kill -CONT "$MON_PID"
	wait_exports 3
	lost=$(metric tcpshake_events_lost_total) || true
	lines_n=$(wc -l <"$WORK/ringbuf.events")
	check_ge "[ringbuf] events lost while the reader was stopped" 1 "$lost"
	check_eq "[ringbuf] event lines + events lost = 2 x connections (established, closed)" \
		"$((2 * n))" "$((lines_n + lost))"
	check_eq "[ringbuf] handshakes_total = TcpPassiveOpens (exact)" "$(nstat_s TcpPassiveOpens)" "$(metric tcpshake_handshakes_total)"
	check_eq "[ringbuf] closes_total{graceful} = connections" "$n" "$(metric tcpshake_closes_total 'kind="graceful"')"
	mon_stop
}

# ---- HTTP under a thousand connections ---------------------------------------------

sc_http() {
	net_up
	local before after rc=0
	MON_TAG=http
	ip netns exec "$NS_S" "$TCPSHAKE" -q -i 0.5 --prom-textfile "$WORK/http.prom" --listen "$S4:9431" \
		"$IF_S" >"$WORK/http.mon.log" 2>&1 &
	MON_PID=$!
	track "$MON_PID"
	wait_for 10 textfile test -s "$WORK/http.prom" || die "[http] no textfile: $(cat "$WORK/http.mon.log")"
	# From the client's address: 1000 idle connections and 50 slowloris
	# clients dribbling header bytes, for 15 s at most.
	cat >"$WORK/flood.py" <<'EOF'
import resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
addr, port = sys.argv[1], int(sys.argv[2])
socks, slow = [], []
for i in range(1000):
    s = socket.socket(); s.setblocking(False)
    try: s.connect((addr, port))
    except BlockingIOError: pass
    socks.append(s)
for i in range(50):
    s = socket.socket(); s.settimeout(1)
    try:
        s.connect((addr, port)); s.send(b"GET /metrics HTTP/1.1\r\n"); slow.append(s)
    except OSError: pass
end = time.time() + 15
while time.time() < end:
    for s in slow:
        try: s.send(b"X")
        except OSError: pass
    time.sleep(0.5)
EOF
	ip netns exec "$NS_C" "$PY" "$WORK/flood.py" "$S4" 9431 >"$WORK/http.flood" 2>&1 &
	local flood=$!
	track "$flood"
	sleep 2
	before=$(prom_mtime)
	sleep 1.5
	after=$(prom_mtime)
	[[ $before != "$after" ]] && pass "[http] the textfile is rewritten during the flood" ||
		fail "[http] the textfile stopped during the flood"
	# Another address (the server's own loopback) still gets /metrics.
	ip netns exec "$NS_S" curl -s -m 3 "http://$S4:9431/metrics" -o "$WORK/http.scrape" || rc=$?
	check_eq "[http] a scrape from another address during the flood: curl status" 0 "$rc"
	check_eq "[http] its tcpshake_up" 1 "$(awk '/^tcpshake_up\{/ { print $2 }' "$WORK/http.scrape" 2>/dev/null | head -1)"
	stop_pid "$flood" KILL 2 || true
	untrack "$flood"
	rc=0
	stop_pid "$MON_PID" INT 10 || rc=$?
	untrack "$MON_PID"
	MON_PID=
	check_eq "[http] SIGINT after the flood: exit status" 0 "$rc"
	check_eq "[http] log lines about the flood (libmicrohttpd's go to -v)" 0 "$(grep -vc '^$' "$WORK/http.mon.log" || true)"
}

run_sc iface sc_iface
run_sc kill9 sc_kill9
run_sc early_stop sc_early_stop
run_sc lock sc_lock
run_sc foreign_tc sc_foreign_tc
run_sc rotate sc_rotate
run_sc outputs sc_outputs
run_sc epipe sc_epipe
run_sc slow_reader sc_slow_reader
run_sc stalled_output sc_stalled_output
run_sc ringbuf sc_ringbuf
run_sc http sc_http
net_down
finish
