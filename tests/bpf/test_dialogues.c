// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The real BPF programs, fed crafted TCP dialogues with BPF_PROG_TEST_RUN.
 * Table-driven: each dialogue runs through XDP and through tc ingress (with
 * tc egress for the other direction), as a local server and, where it
 * matters, as a local client; then natively, the same way and in transit
 * (no direction known); every counter, gauge, histogram count, table
 * occupancy and ring-buffer event is checked, and every verdict must pass
 * the packet on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "harness.h"
#include "names.h"
#include "tcpshake/parse.h"

#define X 1000u          /* client ISN */
#define Y 5000u          /* server ISN */
#define MS 1000000ull

/* ICMP_S: an ICMP error from the server's side quoting the client's
 * segment of the step's flags and seq; ICMP_C the other way round. Port
 * unreachable, or the type << 8 | code in the step's ack. */
enum op { END = 0, C2S, S2C, SLEEP, SWEEP, JUNK, ICMP_S, ICMP_C };

struct step {
	enum op op;
	__u8 flags;
	__u32 seq, ack;
	__u16 payload;
	int ms;
};

#define SYN_C(s)        { C2S, TCPF_SYN, s, 0, 0, 0 }
#define SYN_S(s)        { S2C, TCPF_SYN, s, 0, 0, 0 }
#define SYNACK_S(s, a)  { S2C, TCPF_SYN | TCPF_ACK, s, a, 0, 0 }
#define SYNACK_C(s, a)  { C2S, TCPF_SYN | TCPF_ACK, s, a, 0, 0 }
#define ACK_C(s, a)     { C2S, TCPF_ACK, s, a, 0, 0 }
#define ACK_S(s, a)     { S2C, TCPF_ACK, s, a, 0, 0 }
#define DATA_C(s, a, n) { C2S, TCPF_ACK | TCPF_PSH, s, a, n, 0 }
#define DATA_S(s, a, n) { S2C, TCPF_ACK | TCPF_PSH, s, a, n, 0 }
#define FIN_C(s, a)     { C2S, TCPF_FIN | TCPF_ACK, s, a, 0, 0 }
#define FIN_S(s, a)     { S2C, TCPF_FIN | TCPF_ACK, s, a, 0, 0 }
#define RST_C(s)        { C2S, TCPF_RST, s, 0, 0, 0 }
#define RST_S(s)        { S2C, TCPF_RST, s, 0, 0, 0 }
#define RSTACK_S(a)     { S2C, TCPF_RST | TCPF_ACK, 0, a, 0, 0 }
#define PAUSE(ms)       { SLEEP, 0, 0, 0, 0, ms }
#define SWEEP_          { SWEEP, 0, 0, 0, 0, 0 }
#define JUNK_           { JUNK, 0, 0, 0, 0, 0 }
#define UNREACH_S(s)    { ICMP_S, TCPF_SYN, s, 0, 0, 0 }   /* about the client's SYN */
#define UNREACH_C(s)    { ICMP_C, TCPF_SYN | TCPF_ACK, s, 0, 0, 0 }
/* About the server's SYN-ACK: an error of type and code. */
#define ICMPERR_C(s, type, code) { ICMP_C, TCPF_SYN | TCPF_ACK, s, (type) << 8 | (code), 0, 0 }
#define HANDSHAKE       SYN_C(X), SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 1)
#define CLOSE_C_FIRST   FIN_C(X + 1, Y + 1), ACK_S(Y + 1, X + 2), FIN_S(Y + 1, X + 2), ACK_C(X + 2, Y + 2)

struct expect {
	__u64 syn, syn_retrans, synack, synack_retrans, handshakes, fail[FAIL_MAX];
	__u64 graceful, resets, reuses, evictions, invalid, unparsed, simopen, simclose;
	__u64 half_closes, expired, superseded, rst_ignored, unsolicited;
	__s64 syn_sent, half_open, established, closing, time_wait;
	int hs_used, flow_used;
	__u64 hist[H_MAX];
	const char *events[6];
};

/* Where a dialogue runs: through the hooks, which know each packet's
 * direction, and natively with none known (offline replay's transit),
 * where the answers must be the same unless the dialogue says otherwise. */
enum where { EVERYWHERE = 0, DIRECTION_KNOWN, IN_TRANSIT };

struct dialogue {
	const char *name;
	enum where where;
	int family;
	int vlans;
	bool local_client;
	bool self_connect;   /* every segment from 10.1.0.1:80 (fd00::1) to itself */
	__u64 syn_timeout_ns, time_wait_ns, close_timeout_ns;
	struct step steps[24];
	struct expect want;
};

#define H(...) .hist = { __VA_ARGS__ }
#define EV(...) .events = { __VA_ARGS__ }
/* Histogram counts in enum hist_id order. */
#define HS_HISTS 1, 1, 1, 0, 0, 0

static const struct dialogue dialogues[] = {
	{ .name = "handshake", .family = 4,
	  .steps = { HANDSHAKE },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1, H(HS_HISTS), EV("established") } },
	{ .name = "handshake ipv6 qinq", .family = 6, .vlans = 2,
	  .steps = { HANDSHAKE },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1, H(HS_HISTS), EV("established") } },
	{ .name = "handshake as local client", .family = 4, .vlans = 1, .local_client = true,
	  .steps = { HANDSHAKE },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1, H(HS_HISTS), EV("established") } },
	{ .name = "half-open", .family = 4,
	  .steps = { SYN_C(X), SYNACK_S(Y, X + 1) },
	  .want = { .syn = 1, .synack = 1, .half_open = 1, .hs_used = 1, H(1) } },
	{ .name = "wrong synack ack, then the right one", .family = 4,
	  .steps = { SYN_C(X), SYNACK_S(Y, X + 5), SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 1) },
	  .want = { .syn = 1, .synack = 2, .invalid = 1, .handshakes = 1, .established = 1, .flow_used = 1, H(HS_HISTS), EV("established") } },
	{ .name = "wrong third ack", .family = 4,
	  .steps = { SYN_C(X), SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 7) },
	  .want = { .syn = 1, .synack = 1, .invalid = 1, .half_open = 1, .hs_used = 1, H(1) } },
	{ .name = "sequence wrap-around", .family = 4,
	  .steps = { SYN_C(0xffffffffu), SYNACK_S(0xfffffffeu, 0), ACK_C(0, 0xffffffffu), FIN_C(0, 0xffffffffu), ACK_S(0xffffffffu, 1), FIN_S(0xffffffffu, 1), ACK_C(1, 0) },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .graceful = 1, .time_wait = 1, .flow_used = 1, H(1, 1, 1, 1, 0, 1), EV("established", "closed") } },
	{ .name = "refused", .family = 4,
	  .steps = { SYN_C(X), RSTACK_S(X + 1) },
	  .want = { .syn = 1, .fail = { [FAIL_REFUSED] = 1 }, EV("refused") } },
	{ .name = "syn answered by icmp port unreachable", .family = 4,
	  .steps = { SYN_C(X), SYN_C(X), UNREACH_S(X) },
	  .want = { .syn = 2, .syn_retrans = 1, .fail = { [FAIL_UNREACHABLE] = 1 }, .hs_used = 1, EV("unreachable") } },
	/* The error reached a socket its owner held: Linux dropped it and
	 * sends the SYN again, a retransmission of the failed attempt. */
	{ .name = "ipv6 syn of the local client answered by icmpv6, twice", .family = 6, .local_client = true,
	  .steps = { SYN_C(X), UNREACH_S(X), SYN_C(X), UNREACH_S(X) },
	  .want = { .syn = 2, .syn_retrans = 1, .fail = { [FAIL_UNREACHABLE] = 1 }, .hs_used = 1, EV("unreachable") } },
	{ .name = "icmp quoting another sequence number", .family = 4,
	  .steps = { SYN_C(X), UNREACH_S(X + 1000), UNREACH_S(X - 1), UNREACH_C(Y) },
	  .want = { .syn = 1, .syn_sent = 1, .hs_used = 1 } },
	{ .name = "icmp after the syn-ack is stale", .family = 4,
	  .steps = { SYN_C(X), SYNACK_S(Y, X + 1), UNREACH_S(X), UNREACH_C(Y), ACK_C(X + 1, Y + 1),
		     UNREACH_S(X) },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1, H(HS_HISTS), EV("established") } },
	/* Linux drops the request on host unreachable (3/1) and IPv6's
	 * administratively prohibited (1/1): waiting for an answer again,
	 * which the client's next SYN gets, with a new ISN. */
	{ .name = "syn-ack lost to icmp host unreachable: waiting again", .family = 4,
	  .steps = { SYN_C(X), SYNACK_S(Y, X + 1), ICMPERR_C(Y, 3, 1) },
	  .want = { .syn = 1, .synack = 1, .syn_sent = 1, .hs_used = 1, H(1) } },
	{ .name = "syn-ack lost to icmp, answered again", .family = 4,
	  .steps = { SYN_C(X), SYNACK_S(Y, X + 1), ICMPERR_C(Y, 3, 1), ACK_C(X + 1, Y + 1),
		     SYN_C(X), SYNACK_S(Y + 7777, X + 1), ACK_C(X + 1, Y + 7778) },
	  .want = { .syn = 2, .syn_retrans = 1, .synack = 2, .handshakes = 1, .established = 1, .flow_used = 1, H(HS_HISTS), EV("established") } },
	{ .name = "ipv6 syn-ack lost to icmpv6 prohibited, answered again", .family = 6, .vlans = 1,
	  .steps = { SYN_C(X), SYNACK_S(Y, X + 1), ICMPERR_C(Y, 1, 1), SYN_C(X), SYNACK_S(Y + 7777, X + 1),
		     SYNACK_S(Y + 7777, X + 1), ACK_C(X + 1, Y + 7778) },
	  .want = { .syn = 2, .syn_retrans = 1, .synack = 3, .synack_retrans = 1, .handshakes = 1, .established = 1, .flow_used = 1, H(HS_HISTS), EV("established") } },
	{ .name = "syn-ack lost to icmp, unanswered", .family = 4, .syn_timeout_ns = 20 * MS,
	  .steps = { SYN_C(X), SYNACK_S(Y, X + 1), ICMPERR_C(Y, 11, 0), PAUSE(40), SWEEP_ },
	  .want = { .syn = 1, .synack = 1, .fail = { [FAIL_UNREACHABLE] = 1 }, .hs_used = 1, H(1), EV("unreachable") } },
	{ .name = "syn-ack's icmp that keeps the request, or of another isn", .family = 4,
	  .steps = { SYN_C(X), SYNACK_S(Y, X + 1), ICMPERR_C(Y, 3, 13), ICMPERR_C(Y, 3, 3), ICMPERR_C(Y + 1, 3, 1) },
	  .want = { .syn = 1, .synack = 1, .half_open = 1, .hs_used = 1, H(1) } },
	{ .name = "ipv6 syn-ack's icmpv6 no route keeps the request", .family = 6,
	  .steps = { SYN_C(X), SYNACK_S(Y, X + 1), ICMPERR_C(Y, 1, 0), ICMPERR_C(Y, 1, 3), ICMPERR_C(Y, 3, 0) },
	  .want = { .syn = 1, .synack = 1, .half_open = 1, .hs_used = 1, H(1) } },
	{ .name = "icmp of no attempt", .family = 4,
	  .steps = { UNREACH_S(X), UNREACH_C(Y) },
	  .want = { 0 } },
	{ .name = "rst that does not ack the syn", .family = 4,
	  .steps = { SYN_C(X), RSTACK_S(X + 9) },
	  .want = { .syn = 1, .syn_sent = 1, .hs_used = 1 } },
	{ .name = "reset after syn-ack", .family = 4,
	  .steps = { SYN_C(X), SYNACK_S(Y, X + 1), RST_C(X + 1) },
	  .want = { .syn = 1, .synack = 1, .fail = { [FAIL_RESET] = 1 }, H(1), EV("reset") } },
	{ .name = "timeout", .family = 4, .syn_timeout_ns = 20 * MS,
	  .steps = { SYN_C(X), PAUSE(40), SWEEP_ },
	  .want = { .syn = 1, .fail = { [FAIL_TIMEOUT] = 1 }, .hs_used = 1 /* tombstone */, EV("timeout") } },
	{ .name = "invalid answer, then timeout", .family = 4, .syn_timeout_ns = 20 * MS,
	  .steps = { SYN_C(X), SYNACK_S(Y, X + 3), PAUSE(40), SWEEP_ },
	  .want = { .syn = 1, .synack = 1, .invalid = 1, .fail = { [FAIL_INVALID] = 1 }, .hs_used = 1, EV("invalid") } },
	{ .name = "land syn times out", .family = 4, .self_connect = true, .syn_timeout_ns = 20 * MS,
	  .steps = { SYN_C(X), PAUSE(40), SWEEP_ },
	  .want = { .syn = 1, .fail = { [FAIL_TIMEOUT] = 1 }, .hs_used = 1 /* tombstone */, EV("timeout") } },
	{ .name = "syn retransmitted after the timeout", .family = 4, .syn_timeout_ns = 20 * MS,
	  .steps = { SYN_C(X), PAUSE(40), SWEEP_, SYN_C(X), PAUSE(40), SWEEP_, SYN_C(X) },
	  .want = { .syn = 3, .syn_retrans = 2, .fail = { [FAIL_TIMEOUT] = 1 }, .hs_used = 1, EV("timeout") } },
	{ .name = "syn-ack retransmitted after the timeout", .family = 4, .syn_timeout_ns = 20 * MS,
	  .steps = { SYN_C(X), SYNACK_S(Y, X + 1), PAUSE(40), SWEEP_, SYNACK_S(Y, X + 1), SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 1) },
	  .want = { .syn = 1, .synack = 3, .synack_retrans = 2, .fail = { [FAIL_TIMEOUT] = 1 }, .hs_used = 1, H(1), EV("timeout") } },
	{ .name = "new attempt over a tombstone", .family = 4, .syn_timeout_ns = 20 * MS,
	  .steps = { SYN_C(X), PAUSE(40), SWEEP_, SYN_C(X + 5000), SYNACK_S(Y, X + 5001), ACK_C(X + 5001, Y + 1) },
	  .want = { .syn = 2, .synack = 1, .handshakes = 1, .fail = { [FAIL_TIMEOUT] = 1 }, .established = 1, .flow_used = 1, H(HS_HISTS), EV("timeout", "established") } },
	{ .name = "syn and syn-ack retransmissions", .family = 4,
	  .steps = { SYN_C(X), SYN_C(X), SYN_C(X), SYNACK_S(Y, X + 1), SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 1) },
	  .want = { .syn = 3, .syn_retrans = 2, .synack = 2, .synack_retrans = 1, .handshakes = 1, .established = 1, .flow_used = 1, H(HS_HISTS), EV("established") } },
	/* Spoofed, stale or repeated packets (docs/design.md). */
	{ .name = "a second isn waits for the syn-ack", .family = 4,
	  .steps = { SYN_C(X), SYN_C(X + 100000) },
	  .want = { .syn = 2, .syn_sent = 1, .hs_used = 1 } },
	{ .name = "a second isn, and the syn-ack acks it", .family = 4,
	  .steps = { SYN_C(X), SYN_C(X + 100000), SYNACK_S(Y, X + 100001), ACK_C(X + 100001, Y + 1) },
	  .want = { .syn = 2, .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1,
		    H(HS_HISTS), EV("established") } },
	{ .name = "a forged second isn leaves the attempt alone", .family = 4,
	  .steps = { SYN_C(X), SYN_C(X + 100000), SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 1) },
	  .want = { .syn = 2, .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1,
		    H(HS_HISTS), EV("established") } },
	{ .name = "a forged reverse syn is no simultaneous open", .family = 4,
	  .steps = { SYN_C(X), SYN_S(Y + 777), SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 1) },
	  .want = { .syn = 2, .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1,
		    H(HS_HISTS), EV("established") } },
	{ .name = "a blind rst is ignored, the close still counts", .family = 4,
	  .steps = { HANDSHAKE, DATA_C(X + 1, Y + 1, 100), RST_C(X + 5000000), RST_C(X + 9000000),
		     DATA_C(X + 101, Y + 1, 10), DATA_S(Y + 1, X + 111, 100),
		     FIN_C(X + 111, Y + 101), ACK_S(Y + 101, X + 112), FIN_S(Y + 101, X + 112),
		     ACK_C(X + 112, Y + 102) },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .graceful = 1, .rst_ignored = 2,
		    .time_wait = 1, .flow_used = 1, H(1, 1, 1, 1, 0, 1), EV("established", "closed") } },
	{ .name = "a doubted rst, contradicted after the in-flight grace", .family = 4,
	  .steps = { HANDSHAKE, RST_C(X + 5000000), PAUSE(5), DATA_S(Y + 1, X + 1, 100) },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .rst_ignored = 1, .established = 1,
		    .flow_used = 1, H(HS_HISTS), EV("established") } },
	{ .name = "a doubted rst followed by silence is believed", .family = 4,
	  .close_timeout_ns = 20 * MS,
	  .steps = { HANDSHAKE, RST_C(X + 5000000), PAUSE(40), SWEEP_ },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .resets = 1, H(1, 1, 1, 0, 0, 1),
		    EV("established", "reset") } },
	{ .name = "a rst in its sender's window ends the connection", .family = 4,
	  .steps = { HANDSHAKE, DATA_C(X + 1, Y + 1, 100), RST_C(X + 60101) },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .resets = 1, H(1, 1, 1, 0, 0, 1),
		    EV("established", "reset") } },
	{ .name = "a blind rst leaves time-wait alone", .family = 4,
	  .steps = { HANDSHAKE, CLOSE_C_FIRST, RST_C(X + 7777777) },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .graceful = 1, .rst_ignored = 1,
		    .time_wait = 1, .flow_used = 1, H(1, 1, 1, 1, 0, 1), EV("established", "closed") } },
	/* A listener drops a SYN with FIN or RST: no attempt starts. With
	 * RST, it is a RST (RST before SYN, as stacks check them). */
	{ .name = "a syn with fin or rst starts nothing", .family = 4,
	  .steps = { { C2S, TCPF_SYN | TCPF_FIN, X, 0, 0, 0 }, { C2S, TCPF_SYN | TCPF_RST, X + 7, 0, 0, 0 },
		     { C2S, TCPF_SYN | TCPF_FIN | TCPF_RST, X + 9, 0, 0, 0 } },
	  .want = { .syn = 3 } },
	{ .name = "a syn with rst in the window resets the connection", .family = 4,
	  .steps = { HANDSHAKE, DATA_C(X + 1, Y + 1, 100), { C2S, TCPF_SYN | TCPF_RST, X + 101, 0, 0, 0 } },
	  .want = { .syn = 2, .synack = 1, .handshakes = 1, .resets = 1, H(1, 1, 1, 0, 0, 1),
		    EV("established", "reset") } },
	{ .name = "a syn-ack with rst in the window resets the connection", .family = 4,
	  .steps = { HANDSHAKE, { S2C, TCPF_SYN | TCPF_ACK | TCPF_RST, Y + 1, X + 1, 0, 0 } },
	  .want = { .syn = 1, .synack = 2, .handshakes = 1, .resets = 1, H(1, 1, 1, 0, 0, 1),
		    EV("established", "reset") } },
	{ .name = "an unsolicited syn-ack from the network starts nothing", .family = 4,
	  .local_client = true,
	  .steps = { SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 1), RST_C(X + 1) },
	  .want = { .synack = 1, .unsolicited = 1 } },
	{ .name = "a syn-ack retransmitted after the handshake", .family = 4,
	  .steps = { HANDSHAKE, SYNACK_S(Y, X + 1), DATA_C(X + 1, Y + 1, 10) },
	  .want = { .syn = 1, .synack = 2, .synack_retrans = 1, .handshakes = 1, .established = 1,
		    .flow_used = 1, H(HS_HISTS), EV("established") } },
	{ .name = "port reuse over a stale established record", .family = 4,
	  .steps = { HANDSHAKE, DATA_C(X + 1, Y + 1, 100), SYN_C(X + 900000),
		     SYNACK_S(Y + 500000, X + 900001), ACK_C(X + 900001, Y + 500001),
		     DATA_C(X + 900001, Y + 500001, 10), FIN_C(X + 900011, Y + 500001),
		     ACK_S(Y + 500001, X + 900012), FIN_S(Y + 500001, X + 900012),
		     ACK_C(X + 900012, Y + 500002) },
	  .want = { .syn = 2, .synack = 2, .handshakes = 2, .superseded = 1, .graceful = 1,
		    .time_wait = 1, .flow_used = 1, H(2, 2, 2, 1, 0, 1),
		    EV("established", "established", "superseded", "closed") } },
	{ .name = "port reuse over a stale fin-wait-2 record", .family = 4,
	  .steps = { HANDSHAKE, FIN_C(X + 1, Y + 1), ACK_S(Y + 1, X + 2), SYN_C(X + 900000),
		     SYNACK_S(Y + 500000, X + 900001), ACK_C(X + 900001, Y + 500001) },
	  .want = { .syn = 2, .synack = 2, .handshakes = 2, .superseded = 1, .established = 1,
		    .flow_used = 1, H(2, 2, 2), EV("established", "established", "superseded") } },
	{ .name = "time-wait is reused only by a validated third ack", .family = 4,
	  .steps = { HANDSHAKE, CLOSE_C_FIRST, SYN_C(X + 90000), SYNACK_S(Y + 7, X + 90001) },
	  .want = { .syn = 2, .synack = 2, .handshakes = 1, .graceful = 1, .half_open = 1,
		    .time_wait = 1, .hs_used = 1, .flow_used = 1, H(2, 1, 1, 1, 0, 1),
		    EV("established", "closed") } },
	{ .name = "client closes first", .family = 4,
	  .steps = { HANDSHAKE, CLOSE_C_FIRST },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .graceful = 1, .time_wait = 1, .flow_used = 1, H(1, 1, 1, 1, 0, 1), EV("established", "closed") } },
	{ .name = "time-wait ends after 2MSL", .family = 6, .time_wait_ns = 20 * MS,
	  .steps = { HANDSHAKE, CLOSE_C_FIRST, PAUSE(40), SWEEP_ },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .graceful = 1, H(1, 1, 1, 1, 1, 1), EV("established", "closed") } },
	{ .name = "server closes first, fin acks fin", .family = 4,
	  .steps = { HANDSHAKE, FIN_S(Y + 1, X + 1), FIN_C(X + 1, Y + 2), ACK_S(Y + 2, X + 2) },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .graceful = 1, .time_wait = 1, .flow_used = 1, H(1, 1, 1, 1, 0, 1), EV("established", "closed") } },
	{ .name = "simultaneous close", .family = 4,
	  .steps = { HANDSHAKE, FIN_C(X + 1, Y + 1), FIN_S(Y + 1, X + 1), ACK_S(Y + 2, X + 2), ACK_C(X + 2, Y + 2) },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .graceful = 1, .simclose = 1, .time_wait = 1, .flow_used = 1, H(1, 1, 1, 1, 0, 1), EV("established", "closed") } },
	{ .name = "half-close", .family = 4,
	  .steps = { HANDSHAKE, FIN_C(X + 1, Y + 1), ACK_S(Y + 1, X + 2), DATA_S(Y + 1, X + 2, 500), DATA_S(Y + 501, X + 2, 500) },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .half_closes = 1, .closing = 1, .flow_used = 1, H(HS_HISTS), EV("established") } },
	{ .name = "established reset", .family = 4,
	  .steps = { HANDSHAKE, DATA_C(X + 1, Y + 1, 100), RST_S(Y + 1) },
	  .want = { .syn = 1, .synack = 1, .handshakes = 1, .resets = 1, H(1, 1, 1, 0, 0, 1), EV("established", "reset") } },
	{ .name = "time-wait tuple reused", .family = 4,
	  .steps = { HANDSHAKE, CLOSE_C_FIRST, SYN_C(X + 90000), SYNACK_S(Y + 7, X + 90001), ACK_C(X + 90001, Y + 8) },
	  .want = { .syn = 2, .synack = 2, .handshakes = 2, .graceful = 1, .reuses = 1, .established = 1, .flow_used = 1, H(2, 2, 2, 1, 1, 1), EV("established", "closed", "established") } },
	{ .name = "simultaneous open", .family = 4,
	  .steps = { SYN_C(X), SYN_S(Y), SYNACK_S(Y, X + 1), SYNACK_C(X, Y + 1) },
	  .want = { .syn = 2, .synack = 2, .simopen = 1, .handshakes = 1, .established = 1, .flow_used = 1, H(1, 1, 1), EV("established") } },
	/* A socket connected to itself, as Linux's own packets go (a capture
	 * on lo): a simultaneous open and close with one ISN. */
	{ .name = "socket connected to itself", .family = 4, .local_client = true, .self_connect = true,
	  .steps = { SYN_C(X), SYNACK_C(X, X + 1), ACK_C(X + 1, X + 1), DATA_C(X + 1, X + 1, 2),
		     ACK_C(X + 3, X + 3), FIN_C(X + 3, X + 3), ACK_C(X + 4, X + 4) },
	  .want = { .syn = 1, .synack = 1, .simopen = 1, .handshakes = 1, .graceful = 1, .simclose = 1,
		    .time_wait = 1, .flow_used = 1, H(1, 1, 1, 1, 0, 1), EV("established", "closed") } },
	{ .name = "socket connected to itself, ipv6", .family = 6, .local_client = true, .self_connect = true,
	  .steps = { SYN_C(X), SYNACK_C(X, X + 1), SYNACK_C(X, X + 1), ACK_C(X + 1, X + 1), FIN_C(X + 1, X + 1),
		     ACK_C(X + 2, X + 2) },
	  .want = { .syn = 1, .synack = 2, .synack_retrans = 1, .simopen = 1, .handshakes = 1, .graceful = 1, .simclose = 1,
		    .time_wait = 1, .flow_used = 1, H(1, 1, 1, 1, 0, 1), EV("established", "closed") } },
	/* A forged LAND SYN (source = destination) from the network: a host
	 * drops it, and the attempt is one nobody answers. */
	{ .name = "land syn", .family = 4, .self_connect = true,
	  .steps = { SYN_C(X), SYN_C(X) },
	  .want = { .syn = 2, .syn_retrans = 1, .syn_sent = 1, .hs_used = 1 } },
	/* This host's SYN-ACK (the SYN before the monitor): a connection. */
	{ .name = "syn-ack without syn", .family = 4, .where = DIRECTION_KNOWN,
	  .steps = { SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 1) },
	  .want = { .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1, H(0, 1, 0), EV("established") } },
	/* In transit nothing says it is anybody's but the network's. */
	{ .name = "syn-ack without syn, in transit", .family = 4, .where = IN_TRANSIT,
	  .steps = { SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 1) },
	  .want = { .synack = 1, .unsolicited = 1 } },
	{ .name = "mid-stream data is ignored", .family = 4,
	  .steps = { DATA_C(X + 1, Y + 1, 100), ACK_S(Y + 1, X + 101), FIN_C(X + 101, Y + 1) },
	  .want = { 0 } },
	{ .name = "malformed packet", .family = 4,
	  .steps = { JUNK_, HANDSHAKE },
	  .want = { .unparsed = 1, .syn = 1, .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1, H(HS_HISTS), EV("established") } },
};

static enum hook hook_for(const struct dialogue *d, enum op dir, enum hook ingress)
{
	bool from_local = (dir == C2S) == d->local_client;

	if (ingress == HOOK_TRANSIT)
		return HOOK_TRANSIT;

	return from_local ? HOOK_TC_OUT : ingress;
}

/* Dialogues with the same timeouts share one loaded object (the verifier
 * takes seconds per load), reset between them. */
static bool same_config(const struct dialogue *a, const struct dialogue *b)
{
	return a->syn_timeout_ns == b->syn_timeout_ns && a->time_wait_ns == b->time_wait_ns &&
	       a->close_timeout_ns == b->close_timeout_ns;
}

static void run_dialogue(struct harness *h, const struct dialogue *d, enum hook ingress,
			 enum backend backend)
{
	const struct step *s;
	int i;

	for (s = d->steps; s->op != END; s++) {
		struct craft c = { .family = d->family, .vlans = d->vlans, .flags = s->flags,
				   .seq = s->seq, .ack = s->ack, .payload = s->payload };
		enum hook hook;
		int ret;

		if (s->op == SLEEP) {
			struct timespec ts = { 0, s->ms * 1000000L };

			nanosleep(&ts, NULL);
			continue;
		}
		if (s->op == SWEEP) {
			assert_int_equal(harness_sweep(h), 0);
			continue;
		}
		c.src = d->family == 4 ? "10.1.0.2" : "fd00::2";
		c.dst = d->family == 4 ? "10.1.0.1" : "fd00::1";
		c.sport = 40000;
		c.dport = 80;
		if (s->op == S2C || s->op == ICMP_C) {
			c.src = d->family == 4 ? "10.1.0.1" : "fd00::1";
			c.dst = d->family == 4 ? "10.1.0.2" : "fd00::2";
			c.sport = 80;
			c.dport = 40000;
		}
		if (d->self_connect) {
			c.src = c.dst = d->family == 4 ? "10.1.0.1" : "fd00::1";
			c.sport = c.dport = 80;
		}
		if (s->op == JUNK) {
			c.flags = TCPF_SYN;
			c.bad_doff = 3;
		}
		if (s->op == ICMP_S || s->op == ICMP_C) {
			/* From the receiver of the quoted segment: port unreachable. */
			__u8 buf[512];
			__u8 type = s->ack ? (__u8)(s->ack >> 8) : d->family == 4 ? 3 : 1;
			__u8 code = s->ack ? (__u8)s->ack : d->family == 4 ? 3 : 4;
			size_t len;

			c.ack = 0;
			len = craft_icmp_error(buf, sizeof(buf), &c, c.dst, NULL, type, code, 8);

			hook = hook_for(d, s->op == ICMP_S ? S2C : C2S, ingress);
			ret = harness_run(h, hook, buf, len, 1, NULL);
		} else {
			hook = hook_for(d, s->op == S2C ? S2C : C2S, ingress);
			ret = harness_run_craft(h, hook, &c);
		}
		/* The observer never changes traffic. */
		if (ret != (hook == HOOK_XDP_IN ? 2 /* XDP_PASS */ : -1 /* TC_ACT_UNSPEC */))
			fail_msg("%s: step %ld returned %d", d->name, (long)(s - d->steps), ret);
	}

	{
		const struct expect *w = &d->want;
		struct iface_stats st;
		struct hist hist;

		harness_stats(h, &st);
/* got is evaluated once: reading a gauge runs the sweeper. */
#define CHECK(got, want) do { __s64 got_ = (__s64)(got), want_ = (__s64)(want); \
	if (got_ != want_) \
		fail_msg("%s via %s: %s = %lld, want %lld", d->name, \
			 ingress == HOOK_TRANSIT ? "native, in transit" : \
			 backend == BACKEND_NATIVE ? "native" : \
			 ingress == HOOK_XDP_IN ? "xdp" : "tc", #got, (long long)got_, \
			 (long long)want_); } while (0)
		CHECK(st.syn_packets, w->syn);
		CHECK(st.syn_retransmits, w->syn_retrans);
		CHECK(st.synack_packets, w->synack);
		CHECK(st.synack_retransmits, w->synack_retrans);
		CHECK(st.handshakes, w->handshakes);
		for (i = 0; i < FAIL_MAX; i++)
			CHECK(st.failures[i], w->fail[i]);
		CHECK(st.closes_graceful, w->graceful);
		CHECK(st.closes_reset, w->resets);
		CHECK(st.time_wait_reuses, w->reuses);
		CHECK(st.flow_evictions, w->evictions);
		CHECK(st.invalid_segments, w->invalid);
		CHECK(st.unparsed, w->unparsed);
		CHECK(st.simultaneous_opens, w->simopen);
		CHECK(st.simultaneous_closes, w->simclose);
		CHECK(st.half_closes, w->half_closes);
		CHECK(st.flows_expired, w->expired);
		CHECK(st.flows_superseded, w->superseded);
		CHECK(st.resets_ignored, w->rst_ignored);
		CHECK(st.synacks_unsolicited, w->unsolicited);
		CHECK(harness_gauge(h, CS_SYN_SENT), w->syn_sent);
		CHECK(harness_gauge(h, CS_SYN_RCVD), w->half_open);
		CHECK(harness_gauge(h, CS_ESTABLISHED), w->established);
		CHECK(harness_gauge(h, CS_FIN_WAIT_1) + harness_gauge(h, CS_FIN_WAIT_2) +
		      harness_gauge(h, CS_CLOSING) + harness_gauge(h, CS_LAST_ACK), w->closing);
		CHECK(harness_gauge(h, CS_TIME_WAIT), w->time_wait);
		CHECK(harness_hs_used(h), w->hs_used);
		CHECK(harness_flow_used(h), w->flow_used);
		for (i = 0; i < H_MAX; i++) {
			__u64 n = 0;
			int k;

			harness_hist(h, (enum hist_id)i, &hist);
			for (k = 0; k < HIST_SLOTS; k++)
				n += hist.count[k];
			CHECK(n, w->hist[i]);
		}
		harness_events(h);
		for (i = 0; i < 6; i++) {
			const char *got = i < h->nr_ev ? outcome_name(h->ev[i].conn.outcome) : NULL;

			if ((got == NULL) != (w->events[i] == NULL) ||
			    (got && strcmp(got, w->events[i])))
				fail_msg("%s: event %d is %s, want %s", d->name, i, got ? got : "none",
					 w->events[i] ? w->events[i] : "none");
		}
		/* In transit no side is this host's: every event inbound. */
		for (i = 0; i < h->nr_ev && ingress == HOOK_TRANSIT; i++)
			CHECK(h->ev[i].conn.seen & (SEEN_EGRESS_ORIG | SEEN_EGRESS_RESP), 0);
		CHECK(st.events_lost, 0);
#undef CHECK
	}
}

static bool runs_through(const struct dialogue *d, enum hook ingress)
{
	return d->where != (ingress == HOOK_TRANSIT ? DIRECTION_KNOWN : IN_TRANSIT);
}

/* Every dialogue that runs through the given hooks (of one kind: the first
 * names it) of one backend, loading once per distinct configuration (one
 * object holds the XDP and tc programs). */
static void run_all(const enum hook *hooks, int nr_hooks, enum backend backend)
{
	const size_t n = sizeof(dialogues) / sizeof(dialogues[0]);
	bool done[sizeof(dialogues) / sizeof(dialogues[0])] = { false };
	int k, resets_checked = 0;
	size_t i, j;

	for (i = 0; i < n; i++) {
		struct harness_config hc = { .syn_timeout_ns = dialogues[i].syn_timeout_ns,
					     .time_wait_ns = dialogues[i].time_wait_ns,
					     .close_timeout_ns = dialogues[i].close_timeout_ns,
					     .events = true, .backend = backend };
		bool fresh = true;
		struct harness h;

		if (done[i] || !runs_through(&dialogues[i], hooks[0]))
			continue;
		assert_int_equal(harness_load(&h, &hc), 0);
		for (j = i; j < n; j++) {
			if (done[j] || !same_config(&dialogues[i], &dialogues[j]) ||
			    !runs_through(&dialogues[j], hooks[0]))
				continue;
			for (k = 0; k < nr_hooks; k++) {
				if (!fresh)
					assert_int_equal(harness_reset(&h), 0);
				fresh = false;
				run_dialogue(&h, &dialogues[j], hooks[k], backend);
			}
			done[j] = true;
		}
		/* The reset leaves no port claimed (it zeroes the port index by
		 * the claimed slots only: here is the check that it is all). */
		if (backend == BACKEND_KERNEL && harness_port_slots_set(&h) > 0) {
			assert_int_equal(harness_reset(&h), 0);
			assert_int_equal(harness_port_slots_set(&h), 0);
			resets_checked++;
		}
		harness_close(&h);
	}
	if (backend == BACKEND_KERNEL)
		assert_true(resets_checked > 0);
}

/* Ingress through XDP and through tc (egress is always tc). */
static void test_dialogues_kernel(void **unused)
{
	static const enum hook hooks[] = { HOOK_XDP_IN, HOOK_TC_IN };

	(void)unused;
	run_all(hooks, 2, BACKEND_KERNEL);
}

/* The same core compiled natively (offline replay's engine): same answers. */
static void test_dialogues_native(void **unused)
{
	static const enum hook hooks[] = { HOOK_TC_IN };

	(void)unused;
	run_all(hooks, 1, BACKEND_NATIVE);
}

/* Natively with no packet's direction known, as --read runs a capture
 * that records none without --local-net: nothing is this host's, so
 * nothing is trusted as its packets are (a blind RST is doubted, not
 * believed), and the answers are the same but where a dialogue says. */
static void test_dialogues_transit(void **unused)
{
	static const enum hook hooks[] = { HOOK_TRANSIT };

	(void)unused;
	run_all(hooks, 1, BACKEND_NATIVE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dialogues_kernel),
		cmocka_unit_test(test_dialogues_native),
		cmocka_unit_test(test_dialogues_transit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
