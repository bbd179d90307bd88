#!/usr/bin/env bash
# Connection attempts answered by ICMP errors end at once, as in the
# attempting kernel: handshake_failures_total{reason="unreachable"} and
# "outcome":"unreachable" events (conn_state S0), never a timeout later;
# forged or late errors change nothing. Under --ingress xdp and tc:
#   kernel-icmp   the server namespace routes for the client, which connects
#                 to prefixes it cannot reach: on-link behind a second link
#                 where nobody answers ARP / ND (the neighbour timer sends
#                 ICMP host / address unreachable, 3/1 and 1/3), `unreachable`
#                 and `prohibit` routes (3/1, 3/13; 1/0, 1/1) and a TTL /
#                 hop limit of 1 (11/0; 3/0); one on-link attempt whose
#                 first SYN the router loses (drop_first_syn.bpf.c), so its
#                 retransmission draws the error 1 s later and the monitor
#                 counts it once, retransmitted, inbound live and offline.
#                 Each connect fails with its
#                 errno; the capture's errors each quote their SYN's ISN;
#                 the client kernel's TcpAttemptFails counts the neighbour
#                 ones exactly. The others are made inside connect() itself
#                 (veth hands packets on in the same softirq run), so they
#                 mostly reach the socket while connect() still holds it: the
#                 kernel counts TcpExtLockDroppedIcmps and keeps the attempt.
#                 IPv4 still fails the waiting connect at once (tcp_v4_err
#                 queues the error on the socket's error queue even without
#                 IP_RECVERR: POLLERR, SO_ERROR = the soft error; closed in
#                 SYN-SENT, no TcpAttemptFails); IPv6 retransmits the SYN
#                 after 1 s and ends at the error answering it. The monitor:
#                 one unreachable failure and event per connect (the SYN
#                 retransmitted after the first error is a retransmission of
#                 the ended attempt, not another one), nothing but TCP in
#                 packets_total, no timeout past --syn-timeout.
#   forged        ICMP port unreachable sent from the server namespace (scapy,
#                 icmp_reply.py) to attempts at black-holed addresses:
#                 quoting ISN + 1000 the kernel ignores it (OutOfWindowIcmps)
#                 and the attempt times out, so must the monitor; quoting the
#                 ISN it ends the attempt (ECONNREFUSED, TcpAttemptFails);
#                 quoting the ISN of an established connection's SYN (after
#                 its third ACK) it changes nothing. IPv4 and IPv6.
. "$(dirname "$0")/lib.sh"

SYN_TIMEOUT=2
ICMP_REPLY=$IT_DIR/icmp_reply.py
ENDPOINTS=$IT_DIR/endpoints.py    # the listener and the client (connect: one JSON line per target)

# The server namespace as a router (kernel-icmp only). The client reaches
# each prefix via the server; none is owned by anybody.
C4_ROUTE_ERR=10.77.0.         # client addresses 10.77.0.11-18: one per IPv4 route-error attempt
LINK4=10.77.93.1/24            # the server's end of vr0 <-> vr1, where nobody answers
LINK6=fd77:93::1/64
NEIGH4_NET=10.77.96.0/24       # on-link via vr0: neighbour resolution fails
NEIGH6_NET=fd77:96::/64
LOST4_NET=10.77.92.0/24        # the same, but the router loses the first SYN (drop_first_syn.bpf.c)
UNREACH4_NET=10.77.97.0/24     # `unreachable` routes
UNREACH6_NET=fd77:97::/64
PROHIBIT4_NET=10.77.95.0/24    # `prohibit` routes
PROHIBIT6_NET=fd77:95::/64
TTL4_NET=10.77.94.0/24         # on-link via vr0, reached with TTL / hop limit 1
TTL6_NET=fd77:94::/64

require_root_tools
require_scapy

# ---- helpers ----------------------------------------------------------------------

# client_table TAG: the client's JSON lines as $WORK/TAG.client.tsv
# (name result elapsed closed), for results_count.
client_table() {
	"$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    if l.strip():
        r = json.loads(l)
        print(r["name"], r.get("result", r.get("error", "?")).replace(" ", "_"), r.get("elapsed", -1),
              r.get("closed", False))
' "$WORK/$1.client.json" >"$WORK/$1.client.tsv" || die "[$1] reading the client's results failed"
}

# results_count TAG FILTER...: client results (client_table) matching every
# filter: name^=PREFIX, result=R, closed=True, elapsed<S, elapsed>S.
results_count() {
	local tag=$1
	shift
	awk -v filters="$*" '
		BEGIN { n = split(filters, f, " ") }
		{
			for (i = 1; i <= n; i++) {
				if (f[i] ~ /^name\^=/ && index($1, substr(f[i], 7)) != 1) next
				if (f[i] ~ /^result=/ && $2 != substr(f[i], 8)) next
				if (f[i] ~ /^closed=/ && $4 != substr(f[i], 8)) next
				if (f[i] ~ /^elapsed</ && !($3 >= 0 && $3 < substr(f[i], 9) + 0)) next
				if (f[i] ~ /^elapsed>/ && !($3 > substr(f[i], 9) + 0)) next
			}
			c++
		}
		END { print c + 0 }
	' "$WORK/$tag.client.tsv"
}

# cap_summary TAG NAME=CIDR[@PORT]...: the capture's ground truth, errors
# about SYNs grouped by destination (icmp_capture.py syn-errors), of
# $WORK/TAG.pcapng into $WORK/TAG.icmp.kv.
cap_summary() {
	local tag=$1
	shift
	"$PY" "$IT_DIR/icmp_capture.py" syn-errors "$WORK/$tag.pcapng" "$@" >"$WORK/$tag.icmp.kv" ||
		die "[$tag] analysing the capture failed"
}
# cap_val TAG KEY, cap_vals TAG GROUP KEY...: cap_summary's values (type/code
# sets comma-separated).
cap_val() { kv_val "$WORK/$1.icmp.kv" "$2"; }
cap_vals() { kv_vals "$WORK/$1.icmp.kv" "${@:2}"; }

# FORGED_PY FILE DPORT OFFSET: icmp_reply.py's errors for DPORT quoting ISN + OFFSET.
FORGED_PY='
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(sum(1 for r in rows if r["dport"] == int(sys.argv[2])
          and r["quoted_seq"] == (r["isn"] + int(sys.argv[3])) % 2**32))
'

# The unreachable events are exactly the failed connects (src, sport, dst, dport).
EVENTS_PY='
import ipaddress, json, sys
from collections import Counter
events, client, names = sys.argv[1], sys.argv[2], sys.argv[3].split()
norm = lambda a: str(ipaddress.ip_address(a))
got = sorted((norm(e["src"]), e["sport"], norm(e["dst"]), e["dport"]) for e in map(json.loads, open(events))
             if e.get("outcome") == "unreachable")
want = sorted((norm(r["src"]), r["sport"], norm(r["dst"]), r["dport"]) for r in map(json.loads, open(client))
              if any(r["name"].startswith(n) for n in names))
print("%d events, %d attempts" % (len(got), len(want)))
extra, missing = Counter(got) - Counter(want), Counter(want) - Counter(got)
for t, k in list(extra.items())[:10]:
    print("  %d more event(s) than attempts: %s" % (k, t))
for t, k in list(missing.items())[:10]:
    print("  %d attempt(s) without an event: %s" % (k, t))
sys.exit(0 if got == want else 1)
'
check_unreachable_events() {
	check_report "[$MON_TAG] outcome=unreachable events = the failed connects' 4-tuples ($2)" \
		"$PY" -c "$EVENTS_PY" "$WORK/$MON_TAG.events" "$WORK/$1.client.json" "$2"
}

# Each unreachable event's icmp_type/icmp_code is the error the capture
# holds for its destination: GROUP=CIDR=CODES (cap_val's type/code sets).
EVCODES_PY='
import ipaddress, json, sys
groups = [(n, ipaddress.ip_network(c), set(codes.split(","))) for n, c, codes in
          (g.split("=") for g in sys.argv[2:])]
bad = 0
for e in map(json.loads, open(sys.argv[1])):
    if e.get("outcome") != "unreachable":
        continue
    got = "%s/%s" % (e["icmp_type"], e["icmp_code"])
    for n, net, codes in groups:
        if ipaddress.ip_address(e["dst"]) in net:
            if got not in codes:
                bad += 1
                print("  %s -> %s: icmp %s, the capture has %s" % (e["src"], e["dst"], got, sorted(codes)))
            break
    else:
        bad += 1
        print("  %s: no group" % e["dst"])
sys.exit(1 if bad else 0)
'

# check_client TAG NAME COUNT RESULT MAX_S [MIN_S]: COUNT targets NAME* ended in RESULT within [MIN_S, MAX_S).
check_client() {
	local tag=$1 name=$2 n=$3 result=$4 max=$5 min=${6:-}
	local what="$n connects ($name) end in $result within ${min:+$min..}$max s"
	check_eq "[$tag] $what" "$n" "$(results_count "$tag" "name^=$name" "result=$result" "elapsed<$max" ${min:+"elapsed>$min"})"
}

# The monitor side common to both scenarios: what the capture says about TCP.
check_tcp_counts() { check_tcp_packets "$WORK/$MON_TAG.icmp.kv"; }

# check_group TAG GROUP ATTEMPTS CODES [ANSWERED]: in the capture, GROUP's
# attempts, each error of CODES quoting its SYN's ISN, and by ANSWERED:
#   every-syn      one error per SYN (a route or TTL error is made as the
#                  SYN is forwarded);
#   every-attempt  one error per SYN but for SYNs the neighbour timer did
#                  not answer, at least one per attempt. The timer answers
#                  the SYNs it queued while resolution failed; once, in CI
#                  under load, one IPv4 SYN drew none and its connect ended
#                  at its retransmission's error. The monitor's answer is
#                  the same either way: the capture's.
check_group() {
	local tag=$1 g=$2 n=$3 codes=$4 answered=${5:-every-syn} syn icmp
	syn=$(cap_val "$tag" "$g.syn")
	icmp=$(cap_val "$tag" "$g.icmp")
	check_eq "[$tag] $g: attempts in the capture" "$n" "$(cap_val "$tag" "$g.attempts")"
	case $answered in
	every-syn)
		check_eq "[$tag] $g: ICMP errors in the capture = its SYNs ($syn)" "$syn" "$icmp" ;;
	every-attempt)
		check_ge "[$tag] $g: ICMP errors in the capture (at least one per attempt)" "$n" "$icmp"
		check_ge "[$tag] $g: SYNs in the capture (at least one per error)" "$icmp" "$syn"
		((icmp == syn)) || log "$g: $((syn - icmp)) of $syn SYNs drew no error" ;;
	*) die "check_group: ANSWERED is every-syn or every-attempt, not '$answered'" ;;
	esac
	check_eq "[$tag] $g: the errors' type/code" "$codes" "$(cap_val "$tag" "$g.codes")"
	check_eq "[$tag] $g: errors quoting their SYN's ISN" "$icmp" "$(cap_val "$tag" "$g.icmp_isn")"
}

# ---- kernel-icmp: a router that cannot deliver ------------------------------------

router_up() {
	in_s sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 \
		net.ipv4.conf.all.send_redirects=0 "net.ipv4.conf.$IF_S.send_redirects=0"
	# A second link of the server namespace, nobody behind it: vr1 has no
	# address, so ARP and neighbour solicitations from vr0 go unanswered and
	# each neighbour fails after one probe of 20 ms.
	ip link add vr0 netns "$NS_S" type veth peer name vr1 netns "$NS_S" || die "creating vr0/vr1"
	ip -n "$NS_S" link set vr0 up
	ip -n "$NS_S" link set vr1 up
	ip -n "$NS_S" addr add "$LINK4" dev vr0
	ip -n "$NS_S" addr add "$LINK6" dev vr0 nodad
	in_s sysctl -qw net.ipv4.neigh.vr0.mcast_solicit=1 net.ipv4.neigh.vr0.retrans_time_ms=20 \
		net.ipv6.neigh.vr0.mcast_solicit=1 net.ipv6.neigh.vr0.retrans_time_ms=20
	ip -n "$NS_S" route add "$NEIGH4_NET" dev vr0
	ip -n "$NS_S" route add "$NEIGH6_NET" dev vr0
	ip -n "$NS_S" route add "$LOST4_NET" dev vr0
	ip -n "$NS_S" route add "$TTL4_NET" dev vr0
	ip -n "$NS_S" route add "$TTL6_NET" dev vr0
	ip -n "$NS_S" route add unreachable "$UNREACH4_NET"
	ip -n "$NS_S" route add unreachable "$UNREACH6_NET"
	ip -n "$NS_S" route add prohibit "$PROHIBIT4_NET"
	ip -n "$NS_S" route add prohibit "$PROHIBIT6_NET"
	local net
	for net in "$NEIGH4_NET" "$LOST4_NET" "$TTL4_NET" "$UNREACH4_NET" "$PROHIBIT4_NET"; do
		ip -n "$NS_C" route add "$net" via "$S4" dev "$IF_C"
	done
	for net in "$NEIGH6_NET" "$TTL6_NET" "$UNREACH6_NET" "$PROHIBIT6_NET"; do
		ip -n "$NS_C" route add "$net" via "$S6" dev "$IF_C"
	done
	local i mac_c
	mac_c=$(mac "$NS_C" "$IF_C")
	for ((i = 11; i <= 18; i++)); do
		ip -n "$NS_C" addr add "$C4_ROUTE_ERR$i/24" dev "$IF_C"
		ip -n "$NS_S" neigh replace "$C4_ROUTE_ERR$i" lladdr "$mac_c" dev "$IF_S" nud permanent
	done
}

# lose_first_syn ADDR: the server namespace drops the first SYN to ADDR that
# comes in on its veth (after the monitor's hook and the capture saw it),
# so that SYN draws no error and the client retransmits it.
lose_first_syn() {
	local inc
	inc=/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
	clang -O2 -target bpf -I"$inc" -DDROP_DST="$(ip4_int "$1")" -c "$IT_DIR/drop_first_syn.bpf.c" \
		-o "$WORK/drop_first_syn.o" || die "compiling drop_first_syn.bpf.c"
	tc -n "$NS_S" qdisc add dev "$IF_S" clsact || die "tc clsact on $NS_S/$IF_S"
	tc -n "$NS_S" filter add dev "$IF_S" ingress bpf direct-action obj "$WORK/drop_first_syn.o" sec tc ||
		die "tc drop_first_syn filter on $NS_S/$IF_S"
}

# ip4_int ADDR: the address as an integer.
ip4_int() {
	local IFS=. a
	read -r -a a <<<"$1"
	echo $(((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]))
}

# targets NAME PREFIX COUNT PORT [SRC [TTL]]: COUNT "fail" targets PREFIX1..
# (PREFIX ends in . or ::); SRC BASE+K: one source address each, BASE K, BASE K+1, ...
targets() {
	local name=$1 prefix=$2 n=$3 port=$4 src=${5:-} ttl=${6:-} i s
	for ((i = 1; i <= n; i++)); do
		s=$src
		[[ $s == *+* ]] && s=${s%+*}$((${s##*+} + i - 1))
		printf '%s%02d,%s%d,%s,%s,%s,fail\n' "$name" "$i" "$prefix" "$i" "$port" "$s" "$ttl"
	done
}

sc_kernel_icmp() {
	local mode=$1 tag=kernel-icmp-$1 port=8080
	# Phase A: errors from the neighbour timer, after connect() returned;
	# one more IPv4 attempt whose first SYN the router loses: it ends at the
	# error for its retransmission, 1 s later.
	local na4=4 na6=4 nl4=1
	# Phase B: errors made while connect() sends its SYN. Each IPv4 route
	# error attempt comes from a client address of its own: ip_error() lets
	# through a burst of 5 errors per source address, then 1/s (its cost is a
	# global sysctl, left alone), and the per-destination ICMP limit shares
	# that token bucket: with icmp_ratelimit=0 it empties it whenever a
	# jiffy has passed since the last error to the address, so one route
	# error right after any other error to the same client is not sent.
	local nu4=5 np4=3 nt4=3 nu6=5 np6=3 nt6=3
	local na=$((na4 + na6 + nl4)) nb4=$((nu4 + np4 + nt4)) nb6=$((nu6 + np6 + nt6))
	local n=$((na + nb4 + nb6)) af lock icmp_b
	local -a tg
	note "scenario: $n connects the server namespace (a router) answers with ICMP errors: neighbour failures, unreachable / prohibit routes, TTL 1, IPv4 and IPv6, --syn-timeout $SYN_TIMEOUT (--ingress $mode)"
	sc_begin "$tag" --ingress "$mode" --syn-timeout "$SYN_TIMEOUT"
	check_hook "$mode"
	router_up
	lose_first_syn "${LOST4_NET%0/24}1"

	{
		targets neigh4- "${NEIGH4_NET%0/24}" $na4 $port
		targets neigh6- "${NEIGH6_NET%/64}" $na6 $port
		targets lost4- "${LOST4_NET%0/24}" $nl4 $port
	} >"$WORK/$tag.a.targets"
	mapfile -t tg <"$WORK/$tag.a.targets"
	timeout 60 ip netns exec "$NS_C" "$PY" "$ENDPOINTS" connect --timeout 5 "${tg[@]}" \
		>"$WORK/$tag.client.json" 2>"$WORK/$tag.client.log" ||
		fail "[$tag] client (phase A): $(tail -n 3 "$WORK/$tag.client.log" | tr '\n' ' ')"
	af=$(nstat_c TcpAttemptFails)
	lock=$(nstat_c TcpExtLockDroppedIcmps)
	nstat_snap "$NS_C" "$tag.c.b"

	{
		targets unreach4- "${UNREACH4_NET%0/24}" $nu4 $port "${C4_ROUTE_ERR}+11"
		targets prohibit4- "${PROHIBIT4_NET%0/24}" $np4 $port "${C4_ROUTE_ERR}+$((11 + nu4))"
		targets ttl4- "${TTL4_NET%0/24}" $nt4 $port "$C4" 1
		targets unreach6- "${UNREACH6_NET%/64}" $nu6 $port
		targets prohibit6- "${PROHIBIT6_NET%/64}" $np6 $port
		targets ttl6- "${TTL6_NET%/64}" $nt6 $port "" 1
	} >"$WORK/$tag.b.targets"
	mapfile -t tg <"$WORK/$tag.b.targets"
	timeout 60 ip netns exec "$NS_C" "$PY" "$ENDPOINTS" connect --timeout 5 "${tg[@]}" \
		>>"$WORK/$tag.client.json" 2>>"$WORK/$tag.client.log" ||
		fail "[$tag] client (phase B): $(tail -n 3 "$WORK/$tag.client.log" | tr '\n' ' ')"
	client_table "$tag"
	local af_b lock_b
	af_b=$(nstat_delta "$NS_C" "$tag.c.b" TcpAttemptFails)
	lock_b=$(nstat_delta "$NS_C" "$tag.c.b" TcpExtLockDroppedIcmps)

	wait_metric 5 $n tcpshake_handshake_failures_total 'reason="unreachable"'
	sleep "$SYN_TIMEOUT"   # and sc_end's two exports: past --syn-timeout after the last SYN
	last_packet "$WORK/$tag.hping3.log"
	sc_end
	cap_summary "$tag" neigh4=$NEIGH4_NET neigh6=$NEIGH6_NET lost4=$LOST4_NET unreach4=$UNREACH4_NET \
		unreach6=$UNREACH6_NET prohibit4=$PROHIBIT4_NET prohibit6=$PROHIBIT6_NET \
		ttl4=$TTL4_NET ttl6=$TTL6_NET
	log "phase B: client TcpAttemptFails $af_b, TcpExtLockDroppedIcmps $lock_b"

	# The kernel's side.
	# A neighbour error comes 20 ms after the SYN, or after its retransmission
	# at 1 s when the timer did not answer the SYN (check_group).
	check_client "$tag" neigh4- $na4 EHOSTUNREACH 2.5
	check_client "$tag" neigh6- $na6 EHOSTUNREACH 2.5
	log "neighbour errors within 0.5 s: $(results_count "$tag" name^=neigh result=EHOSTUNREACH "elapsed<0.5") of $((na4 + na6))"
	check_client "$tag" lost4- $nl4 EHOSTUNREACH 2.5 0.9
	check_eq "[$tag] phase A: client TcpAttemptFails delta (the kernel ended each attempt)" $na "$af"
	check_eq "[$tag] phase A: client TcpExtLockDroppedIcmps delta" 0 "$lock"
	check_client "$tag" unreach4- $nu4 EHOSTUNREACH 0.5
	check_client "$tag" prohibit4- $np4 EHOSTUNREACH 0.5
	check_client "$tag" ttl4- $nt4 EHOSTUNREACH 0.5
	check_client "$tag" unreach6- $nu6 ENETUNREACH 2.5
	check_client "$tag" prohibit6- $np6 EACCES 2.5
	check_client "$tag" ttl6- $nt6 EHOSTUNREACH 2.5
	icmp_b=0
	local g
	for g in unreach4 prohibit4 ttl4 unreach6 prohibit6 ttl6; do
		icmp_b=$((icmp_b + $(cap_val "$tag" "$g.icmp")))
	done
	check_eq "[$tag] phase B: client TcpAttemptFails + TcpExtLockDroppedIcmps = its ICMP errors in the capture" \
		"$icmp_b" $((af_b + lock_b))
	check_ge "[$tag] phase B: client TcpAttemptFails (every IPv6 attempt ended by an error)" $nb6 "$af_b"
	check_group "$tag" neigh4 $na4 "3/1" every-attempt
	check_group "$tag" neigh6 $na6 "1/3" every-attempt
	check_eq "[$tag] lost4: attempts / SYNs / errors / errors quoting the ISN / codes in the capture" \
		"$nl4 $((2 * nl4)) $nl4 $nl4 3/1" "$(cap_vals "$tag" lost4 attempts syn icmp icmp_isn codes)"
	check_group "$tag" unreach4 $nu4 "3/1"
	check_group "$tag" prohibit4 $np4 "3/13"
	check_group "$tag" ttl4 $nt4 "11/0"
	check_group "$tag" unreach6 $nu6 "1/0"
	check_group "$tag" prohibit6 $np6 "1/1"
	check_group "$tag" ttl6 $nt6 "3/0"
	local icmp_groups=0
	for g in neigh4 neigh6 lost4 unreach4 unreach6 prohibit4 prohibit6 ttl4 ttl6; do
		icmp_groups=$((icmp_groups + $(cap_val "$tag" "$g.icmp")))
	done
	check_eq "[$tag] ICMP errors in the capture = the groups' (none about another SYN)" \
		"$icmp_groups" "$(cap_val "$tag" icmp_errors)"

	# The monitor's.
	check_eq "[$tag] handshake_failures_total{reason=\"unreachable\"} = connects" $n \
		"$(metric tcpshake_handshake_failures_total 'reason="unreachable"')"
	check_eq "[$tag] handshake_failures_total{reason=\"timeout\"} (${SYN_TIMEOUT}+ s after the last SYN)" 0 \
		"$(metric tcpshake_handshake_failures_total 'reason="timeout"')"
	check_eq "[$tag] handshake_failures_total (every reason)" $n "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] events outcome=unreachable, S0, inbound, dport $port" $n \
		"$(event_count "$tag" outcome=unreachable conn_state=S0 direction=inbound dport=$port)"
	check_eq "[$tag] events" $n "$(event_count "$tag")"
	check_cmd "[$tag] every event line has the documented fields and types" \
		"$PY" "$ANALYZE" validate-events "$WORK/$tag.events"
	check_unreachable_events "$tag" "neigh4- neigh6- lost4- unreach4- prohibit4- ttl4- unreach6- prohibit6- ttl6-"
	check_eq "[$tag] lost4: events outcome=unreachable, inbound, one SYN retransmission" $nl4 \
		"$(event_count "$tag" outcome=unreachable direction=inbound syn_retransmits=1 \
			dst="${LOST4_NET%0/24}1")"
	local cidr specs=()
	for g in neigh4 neigh6 lost4 unreach4 unreach6 prohibit4 prohibit6 ttl4 ttl6; do
		cidr=${g^^}_NET
		specs+=("$g=${!cidr}=$(cap_val "$tag" "$g.codes")")
	done
	check_report "[$tag] each event's icmp_type/icmp_code = the error in the capture" \
		"$PY" -c "$EVCODES_PY" "$WORK/$tag.events" "${specs[@]}"
	check_tcp_counts
	check_eq "[$tag] syn_packets_total" $((n + $(cap_val "$tag" syn_retrans))) "$(metric tcpshake_syn_packets_total)"
	check_eq "[$tag] handshakes_total" 0 "$(metric tcpshake_handshakes_total)"
	check_eq "[$tag] events_lost_total" 0 "$(metric tcpshake_events_lost_total)"
	check_quiet_gauges
	check_eq "[$tag] syn_sent_connections" 0 "$(metric tcpshake_syn_sent_connections)"
	check_promtool

	check_read "$tag" --syn-timeout "$SYN_TIMEOUT" --local-net "$S4/32" --local-net "$S6/128"
}

# ---- forged: errors nobody routed -------------------------------------------------

sc_forged() {
	local mode=$1 tag=forged-$1 ready=$WORK/forged-$1.ready sready=$WORK/forged-$1.sready hpid spid
	local pf=8081 px=8082 pl=8083 wait_s=2.5
	note "scenario: ICMP port unreachable forged by the server namespace: quoting ISN + 1000 (ignored: a timeout), the ISN (an unreachable failure), after the third ACK (ignored), IPv4 and IPv6 (--ingress $mode)"
	# sc_begin's steps, the listener and icmp_reply.py (scapy takes a while
	# to load) started while the monitor loads.
	net_up
	# lib.sh's BLACKHOLE6 is answered (ICMPv6 no route, from the server
	# namespace even without forwarding): a blackhole route makes it one.
	ip -n "$NS_S" route add blackhole "$BLACKHOLE6_NET"
	rm -f "$ready" "$sready"
	ip netns exec "$NS_S" "$PY" "$ENDPOINTS" serve --port $pl --count 2 --timeout 20 --ready "$sready" >"$WORK/$tag.server.log" 2>&1 &
	spid=$!
	track $spid
	timeout 60 ip netns exec "$NS_S" "$PY" "$ICMP_REPLY" --iface "$IF_S" --src4 "$S4" --src6 "$S6" \
		--ready "$ready" --timeout 30 \
		"$BLACKHOLE4,$pf,1000,syn" "$BLACKHOLE6,$pf,1000,syn" \
		"$BLACKHOLE4,$px,0,syn" "$BLACKHOLE6,$px,0,syn" \
		"$S4,$pl,0,ack" "$S6,$pl,0,ack" >"$WORK/$tag.icmp_reply.json" 2>"$WORK/$tag.icmp_reply.log" &
	hpid=$!
	track $hpid
	mon_start "$tag" --ingress "$mode" --syn-timeout "$SYN_TIMEOUT"
	cap_start "$NS_S" "$IF_S" "$tag"
	nstat_snap "$NS_S" "$tag.s"
	nstat_snap "$NS_C" "$tag.c"
	check_hook "$mode"
	wait_for 20 "icmp_reply" test -e "$ready" || die "[$tag] icmp_reply.py did not start: $(cat "$WORK/$tag.icmp_reply.log")"
	wait_for 10 "server" test -e "$sready" || die "[$tag] the listener did not start"
	timeout 60 ip netns exec "$NS_C" "$PY" "$ENDPOINTS" connect --timeout $wait_s --hold 0.5 \
		"forged4,$BLACKHOLE4,$pf,,,fail" "forged6,$BLACKHOLE6,$pf,,,fail" \
		"exact4,$BLACKHOLE4,$px,,,fail" "exact6,$BLACKHOLE6,$px,,,fail" \
		"late4,$S4,$pl,,,talk" "late6,$S6,$pl,,,talk" \
		>"$WORK/$tag.client.json" 2>"$WORK/$tag.client.log" ||
		fail "[$tag] client: $(tail -n 3 "$WORK/$tag.client.log" | tr '\n' ' ')"
	client_table "$tag"
	local rc=0
	wait $hpid || rc=$?
	untrack $hpid
	((rc == 0)) || fail "[$tag] icmp_reply.py: exit $rc: $(tail -n 3 "$WORK/$tag.icmp_reply.log" | tr '\n' ' ')"
	rc=0
	wait $spid || rc=$?
	untrack $spid
	((rc == 0)) || fail "[$tag] listener: exit $rc: $(tail -n 3 "$WORK/$tag.server.log" | tr '\n' ' ')"
	local oow af lock
	oow=$(nstat_c TcpExtOutOfWindowIcmps)
	af=$(nstat_c TcpAttemptFails)
	lock=$(nstat_c TcpExtLockDroppedIcmps)
	wait_metric 10 2 tcpshake_handshake_failures_total 'reason="timeout"'
	sc_end
	cap_summary "$tag" "forged4=$BLACKHOLE4/32@$pf" "forged6=$BLACKHOLE6/128@$pf" \
		"exact4=$BLACKHOLE4/32@$px" "exact6=$BLACKHOLE6/128@$px" "late4=$S4/32@$pl" "late6=$S6/128@$pl"

	# The kernel's side.
	check_eq "[$tag] errors forged, quoting ISN + 1000 (port $pf)" 2 \
		"$("$PY" -c "$FORGED_PY" "$WORK/$tag.icmp_reply.json" $pf 1000)"
	check_eq "[$tag] errors forged, quoting the ISN (ports $px, $pl)" 4 \
		"$(($("$PY" -c "$FORGED_PY" "$WORK/$tag.icmp_reply.json" $px 0) + $("$PY" -c "$FORGED_PY" "$WORK/$tag.icmp_reply.json" $pl 0)))"
	check_client "$tag" forged 2 timeout 10 2.4
	check_client "$tag" exact 2 ECONNREFUSED 0.5
	check_eq "[$tag] connects (late) established and closed" 2 \
		"$(results_count "$tag" name^=late result=connected closed=True)"
	check_eq "[$tag] client TcpExtOutOfWindowIcmps delta (ISN + 1000, and the ISN after the handshake)" 4 "$oow"
	check_eq "[$tag] client TcpAttemptFails delta (the attempts answered at their ISN)" 2 "$af"
	check_eq "[$tag] client TcpExtLockDroppedIcmps delta" 0 "$lock"
	# The SYN of each attempt, its retransmissions (forged: at 1 s and 2 s,
	# 6.x kernels back off linearly at first), one error each.
	local f code
	for f in 4 6; do
		code=3/3
		[[ $f == 6 ]] && code=1/4
		check_eq "[$tag] forged$f: attempts / errors / errors quoting the ISN / codes in the capture" \
			"1 1 0 $code" "$(cap_vals "$tag" forged$f attempts icmp icmp_isn codes)"
		check_eq "[$tag] exact$f: attempts / SYNs / errors / errors quoting the ISN / codes in the capture" \
			"1 1 1 1 $code" "$(cap_vals "$tag" exact$f attempts syn icmp icmp_isn codes)"
		check_eq "[$tag] late$f: attempts / SYNs / errors / errors quoting the ISN / codes in the capture" \
			"1 1 1 1 $code" "$(cap_vals "$tag" late$f attempts syn icmp icmp_isn codes)"
	done

	# The monitor's.
	check_eq "[$tag] handshake_failures_total{reason=\"unreachable\"} (the ISN quoted before a SYN-ACK)" 2 \
		"$(metric tcpshake_handshake_failures_total 'reason="unreachable"')"
	check_eq "[$tag] handshake_failures_total{reason=\"timeout\"} (ISN + 1000 changed nothing)" 2 \
		"$(metric tcpshake_handshake_failures_total 'reason="timeout"')"
	check_eq "[$tag] handshake_failures_total (every reason)" 4 "$(metric tcpshake_handshake_failures_total)"
	check_eq "[$tag] events outcome=unreachable, S0, dport $px" 2 \
		"$(event_count "$tag" outcome=unreachable conn_state=S0 dport=$px)"
	check_eq "[$tag] events outcome=unreachable" 2 "$(event_count "$tag" outcome=unreachable)"
	check_eq "[$tag] events outcome=timeout, S0, dport $pf" 2 "$(event_count "$tag" outcome=timeout conn_state=S0 dport=$pf)"
	check_unreachable_events "$tag" "exact"
	check_eq "[$tag] handshakes_total{port=\"$pl\"} (the error after the third ACK changed nothing)" 2 \
		"$(metric tcpshake_handshakes_total "port=\"$pl\"")"
	check_eq "[$tag] closes_total{kind=\"graceful\"}" 2 "$(metric tcpshake_closes_total 'kind="graceful"')"
	check_eq "[$tag] events outcome=closed, SF, dport $pl" 2 "$(event_count "$tag" outcome=closed conn_state=SF dport=$pl)"
	check_cmd "[$tag] every event line has the documented fields and types" \
		"$PY" "$ANALYZE" validate-events "$WORK/$tag.events"
	check_tcp_counts
	check_eq "[$tag] events_lost_total" 0 "$(metric tcpshake_events_lost_total)"
	check_quiet_gauges
	check_promtool
}

run_sc kernel-icmp sc_kernel_icmp xdp
run_sc kernel-icmp sc_kernel_icmp tc
run_sc forged sc_forged xdp
run_sc forged sc_forged tc
net_down
finish
