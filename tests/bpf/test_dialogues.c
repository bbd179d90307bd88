// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The real BPF programs, fed crafted TCP dialogues with BPF_PROG_TEST_RUN.
 * Table-driven: each dialogue runs through XDP and through tc ingress (with
 * tc egress for the other direction), as a local server and, where it
 * matters, as a local client; every counter, gauge, histogram count, table
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

enum op { END = 0, C2S, S2C, SLEEP, SWEEP, JUNK };

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
#define HANDSHAKE       SYN_C(X), SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 1)
#define CLOSE_C_FIRST   FIN_C(X + 1, Y + 1), ACK_S(Y + 1, X + 2), FIN_S(Y + 1, X + 2), ACK_C(X + 2, Y + 2)

struct expect {
	__u64 syn, syn_retrans, synack, synack_retrans, handshakes, fail[FAIL_MAX];
	__u64 graceful, resets, reuses, evictions, invalid, unparsed, simopen, simclose;
	__u64 half_closes, expired;
	__s64 syn_sent, half_open, established, closing, time_wait;
	int hs_used, flow_used;
	__u64 hist[H_MAX];
	const char *events[6];
};

struct dialogue {
	const char *name;
	int family;
	int vlans;
	bool local_client;
	__u64 syn_timeout_ns, time_wait_ns;
	struct step steps[20];
	struct expect want;
};

#define H(...) .hist = { __VA_ARGS__ }
#define EV(...) .events = { __VA_ARGS__ }
/* Histogram counts in enum hist_id order. */
#define HS_HISTS 1, 1, 1, 0, 0, 0

static const struct dialogue dialogues[] = {
	{ "handshake", 4, 0, false, 0, 0, { HANDSHAKE },
	  { .syn = 1, .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1,
	    H(HS_HISTS), EV("established") } },
	{ "handshake ipv6 qinq", 6, 2, false, 0, 0, { HANDSHAKE },
	  { .syn = 1, .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1,
	    H(HS_HISTS), EV("established") } },
	{ "handshake as local client", 4, 1, true, 0, 0, { HANDSHAKE },
	  { .syn = 1, .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1,
	    H(HS_HISTS), EV("established") } },
	{ "half-open", 4, 0, false, 0, 0, { SYN_C(X), SYNACK_S(Y, X + 1) },
	  { .syn = 1, .synack = 1, .half_open = 1, .hs_used = 1, H(1) } },
	{ "wrong synack ack, then the right one", 4, 0, false, 0, 0,
	  { SYN_C(X), SYNACK_S(Y, X + 5), SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 1) },
	  { .syn = 1, .synack = 2, .invalid = 1, .handshakes = 1, .established = 1, .flow_used = 1,
	    H(HS_HISTS), EV("established") } },
	{ "wrong third ack", 4, 0, false, 0, 0, { SYN_C(X), SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 7) },
	  { .syn = 1, .synack = 1, .invalid = 1, .half_open = 1, .hs_used = 1, H(1) } },
	{ "sequence wrap-around", 4, 0, false, 0, 0,
	  { SYN_C(0xffffffffu), SYNACK_S(0xfffffffeu, 0), ACK_C(0, 0xffffffffu),
	    FIN_C(0, 0xffffffffu), ACK_S(0xffffffffu, 1), FIN_S(0xffffffffu, 1), ACK_C(1, 0) },
	  { .syn = 1, .synack = 1, .handshakes = 1, .graceful = 1, .time_wait = 1, .flow_used = 1,
	    H(1, 1, 1, 1, 0, 1), EV("established", "closed") } },
	{ "refused", 4, 0, false, 0, 0, { SYN_C(X), RSTACK_S(X + 1) },
	  { .syn = 1, .fail = { [FAIL_REFUSED] = 1 }, EV("refused") } },
	{ "rst that does not ack the syn", 4, 0, false, 0, 0, { SYN_C(X), RSTACK_S(X + 9) },
	  { .syn = 1, .syn_sent = 1, .hs_used = 1 } },
	{ "reset after syn-ack", 4, 0, false, 0, 0, { SYN_C(X), SYNACK_S(Y, X + 1), RST_C(X + 1) },
	  { .syn = 1, .synack = 1, .fail = { [FAIL_RESET] = 1 }, H(1), EV("reset") } },
	{ "timeout", 4, 0, false, 20 * MS, 0, { SYN_C(X), PAUSE(40), SWEEP_ },
	  { .syn = 1, .fail = { [FAIL_TIMEOUT] = 1 }, .hs_used = 1 /* tombstone */, EV("timeout") } },
	{ "invalid answer, then timeout", 4, 0, false, 20 * MS, 0,
	  { SYN_C(X), SYNACK_S(Y, X + 3), PAUSE(40), SWEEP_ },
	  { .syn = 1, .synack = 1, .invalid = 1, .fail = { [FAIL_INVALID] = 1 }, .hs_used = 1,
	    EV("invalid") } },
	{ "syn retransmitted after the timeout", 4, 0, false, 20 * MS, 0,
	  { SYN_C(X), PAUSE(40), SWEEP_, SYN_C(X), PAUSE(40), SWEEP_, SYN_C(X) },
	  { .syn = 3, .syn_retrans = 2, .fail = { [FAIL_TIMEOUT] = 1 }, .hs_used = 1,
	    EV("timeout") } },
	{ "syn-ack retransmitted after the timeout", 4, 0, false, 20 * MS, 0,
	  { SYN_C(X), SYNACK_S(Y, X + 1), PAUSE(40), SWEEP_, SYNACK_S(Y, X + 1), SYNACK_S(Y, X + 1),
	    ACK_C(X + 1, Y + 1) },
	  { .syn = 1, .synack = 3, .synack_retrans = 2, .fail = { [FAIL_TIMEOUT] = 1 }, .hs_used = 1,
	    H(1), EV("timeout") } },
	{ "new attempt over a tombstone", 4, 0, false, 20 * MS, 0,
	  { SYN_C(X), PAUSE(40), SWEEP_, SYN_C(X + 5000), SYNACK_S(Y, X + 5001),
	    ACK_C(X + 5001, Y + 1) },
	  { .syn = 2, .synack = 1, .handshakes = 1, .fail = { [FAIL_TIMEOUT] = 1 }, .established = 1,
	    .flow_used = 1, H(HS_HISTS), EV("timeout", "established") } },
	{ "syn and syn-ack retransmissions", 4, 0, false, 0, 0,
	  { SYN_C(X), SYN_C(X), SYN_C(X), SYNACK_S(Y, X + 1), SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 1) },
	  { .syn = 3, .syn_retrans = 2, .synack = 2, .synack_retrans = 1, .handshakes = 1,
	    .established = 1, .flow_used = 1, H(HS_HISTS), EV("established") } },
	{ "new isn replaces an attempt", 4, 0, false, 0, 0, { SYN_C(X), SYN_C(X + 100000) },
	  { .syn = 2, .fail = { [FAIL_TIMEOUT] = 1 }, .syn_sent = 1, .hs_used = 1, EV("timeout") } },
	{ "client closes first", 4, 0, false, 0, 0, { HANDSHAKE, CLOSE_C_FIRST },
	  { .syn = 1, .synack = 1, .handshakes = 1, .graceful = 1, .time_wait = 1, .flow_used = 1,
	    H(1, 1, 1, 1, 0, 1), EV("established", "closed") } },
	{ "time-wait ends after 2MSL", 6, 0, false, 0, 20 * MS,
	  { HANDSHAKE, CLOSE_C_FIRST, PAUSE(40), SWEEP_ },
	  { .syn = 1, .synack = 1, .handshakes = 1, .graceful = 1, H(1, 1, 1, 1, 1, 1),
	    EV("established", "closed") } },
	{ "server closes first, fin acks fin", 4, 0, false, 0, 0,
	  { HANDSHAKE, FIN_S(Y + 1, X + 1), FIN_C(X + 1, Y + 2), ACK_S(Y + 2, X + 2) },
	  { .syn = 1, .synack = 1, .handshakes = 1, .graceful = 1, .time_wait = 1, .flow_used = 1,
	    H(1, 1, 1, 1, 0, 1), EV("established", "closed") } },
	{ "simultaneous close", 4, 0, false, 0, 0,
	  { HANDSHAKE, FIN_C(X + 1, Y + 1), FIN_S(Y + 1, X + 1), ACK_S(Y + 2, X + 2), ACK_C(X + 2, Y + 2) },
	  { .syn = 1, .synack = 1, .handshakes = 1, .graceful = 1, .simclose = 1, .time_wait = 1,
	    .flow_used = 1, H(1, 1, 1, 1, 0, 1), EV("established", "closed") } },
	{ "half-close", 4, 0, false, 0, 0,
	  { HANDSHAKE, FIN_C(X + 1, Y + 1), ACK_S(Y + 1, X + 2), DATA_S(Y + 1, X + 2, 500),
	    DATA_S(Y + 501, X + 2, 500) },
	  { .syn = 1, .synack = 1, .handshakes = 1, .half_closes = 1, .closing = 1, .flow_used = 1,
	    H(HS_HISTS), EV("established") } },
	{ "established reset", 4, 0, false, 0, 0, { HANDSHAKE, DATA_C(X + 1, Y + 1, 100), RST_S(Y + 1) },
	  { .syn = 1, .synack = 1, .handshakes = 1, .resets = 1, H(1, 1, 1, 0, 0, 1),
	    EV("established", "reset") } },
	{ "time-wait tuple reused", 4, 0, false, 0, 0,
	  { HANDSHAKE, CLOSE_C_FIRST, SYN_C(X + 90000), SYNACK_S(Y + 7, X + 90001),
	    ACK_C(X + 90001, Y + 8) },
	  { .syn = 2, .synack = 2, .handshakes = 2, .graceful = 1, .reuses = 1, .established = 1,
	    .flow_used = 1, H(2, 2, 2, 1, 1, 1), EV("established", "closed", "established") } },
	{ "simultaneous open", 4, 0, false, 0, 0,
	  { SYN_C(X), SYN_S(Y), SYNACK_S(Y, X + 1), SYNACK_C(X, Y + 1) },
	  { .syn = 2, .synack = 2, .simopen = 1, .handshakes = 1, .established = 1, .flow_used = 1,
	    H(1, 1, 1), EV("established") } },
	{ "syn-ack without syn", 4, 0, false, 0, 0, { SYNACK_S(Y, X + 1), ACK_C(X + 1, Y + 1) },
	  { .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1, H(0, 1, 0),
	    EV("established") } },
	{ "mid-stream data is ignored", 4, 0, false, 0, 0,
	  { DATA_C(X + 1, Y + 1, 100), ACK_S(Y + 1, X + 101), FIN_C(X + 101, Y + 1) },
	  { 0 } },
	{ "malformed packet", 4, 0, false, 0, 0, { JUNK_, HANDSHAKE },
	  { .unparsed = 1, .syn = 1, .synack = 1, .handshakes = 1, .established = 1, .flow_used = 1,
	    H(HS_HISTS), EV("established") } },
};

static enum hook hook_for(const struct dialogue *d, enum op dir, enum hook ingress)
{
	bool from_local = (dir == C2S) == d->local_client;

	return from_local ? HOOK_TC_OUT : ingress;
}

static void run_dialogue(const struct dialogue *d, enum hook ingress, enum backend backend)
{
	struct harness_config hc = { .syn_timeout_ns = d->syn_timeout_ns,
				     .time_wait_ns = d->time_wait_ns, .events = true,
				     .backend = backend };
	struct harness h;
	const struct step *s;
	int i;

	assert_int_equal(harness_load(&h, &hc), 0);
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
			assert_int_equal(harness_sweep(&h), 0);
			continue;
		}
		c.src = d->family == 4 ? "10.1.0.2" : "fd00::2";
		c.dst = d->family == 4 ? "10.1.0.1" : "fd00::1";
		c.sport = 40000;
		c.dport = 80;
		if (s->op == S2C) {
			c.src = d->family == 4 ? "10.1.0.1" : "fd00::1";
			c.dst = d->family == 4 ? "10.1.0.2" : "fd00::2";
			c.sport = 80;
			c.dport = 40000;
		}
		if (s->op == JUNK) {
			c.flags = TCPF_SYN;
			c.bad_doff = 3;
		}
		hook = hook_for(d, s->op == S2C ? S2C : C2S, ingress);
		ret = harness_run_craft(&h, hook, &c);
		/* The observer never changes traffic. */
		if (ret != (hook == HOOK_XDP_IN ? 2 /* XDP_PASS */ : -1 /* TC_ACT_UNSPEC */))
			fail_msg("%s: step %ld returned %d", d->name, (long)(s - d->steps), ret);
	}

	{
		const struct expect *w = &d->want;
		struct iface_stats st;
		struct hist hist;

		harness_stats(&h, &st);
#define CHECK(got, want) do { if ((__s64)(got) != (__s64)(want)) \
	fail_msg("%s via %s: %s = %lld, want %lld", d->name, \
		 backend == BACKEND_NATIVE ? "native" : ingress == HOOK_XDP_IN ? "xdp" : "tc", #got, (long long)(got), (long long)(want)); } while (0)
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
		CHECK(harness_gauge(&h, CS_SYN_SENT), w->syn_sent);
		CHECK(harness_gauge(&h, CS_SYN_RCVD), w->half_open);
		CHECK(harness_gauge(&h, CS_ESTABLISHED), w->established);
		CHECK(harness_gauge(&h, CS_FIN_WAIT_1) + harness_gauge(&h, CS_FIN_WAIT_2) +
		      harness_gauge(&h, CS_CLOSING) + harness_gauge(&h, CS_LAST_ACK), w->closing);
		CHECK(harness_gauge(&h, CS_TIME_WAIT), w->time_wait);
		CHECK(harness_hs_used(&h), w->hs_used);
		CHECK(harness_flow_used(&h), w->flow_used);
		for (i = 0; i < H_MAX; i++) {
			__u64 n = 0;
			int k;

			harness_hist(&h, (enum hist_id)i, &hist);
			for (k = 0; k < HIST_SLOTS; k++)
				n += hist.count[k];
			CHECK(n, w->hist[i]);
		}
		harness_events(&h);
		for (i = 0; i < 6; i++) {
			const char *got = i < h.nr_ev ? outcome_name(h.ev[i].conn.outcome) : NULL;

			if ((got == NULL) != (w->events[i] == NULL) ||
			    (got && strcmp(got, w->events[i])))
				fail_msg("%s: event %d is %s, want %s", d->name, i, got ? got : "none",
					 w->events[i] ? w->events[i] : "none");
		}
		CHECK(st.events_lost, 0);
#undef CHECK
	}
	harness_close(&h);
}

static void test_dialogues_xdp(void **unused)
{
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(dialogues) / sizeof(dialogues[0]); i++)
		run_dialogue(&dialogues[i], HOOK_XDP_IN, BACKEND_KERNEL);
}

static void test_dialogues_tc(void **unused)
{
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(dialogues) / sizeof(dialogues[0]); i++)
		run_dialogue(&dialogues[i], HOOK_TC_IN, BACKEND_KERNEL);
}

/* The same core compiled natively (offline replay's engine): same answers. */
static void test_dialogues_native(void **unused)
{
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(dialogues) / sizeof(dialogues[0]); i++)
		run_dialogue(&dialogues[i], HOOK_TC_IN, BACKEND_NATIVE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dialogues_xdp),
		cmocka_unit_test(test_dialogues_tc),
		cmocka_unit_test(test_dialogues_native),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
