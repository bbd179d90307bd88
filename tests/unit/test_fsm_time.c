// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * When a step of the state machine needs the clock (fsm_segment_needs_time):
 * the packet path reads it only then, and gives every other step the start
 * of the sweeper's tick instead. Held here for every step a random record
 * and segment can take, and for each packet of a connection's life.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>
#include "tcpshake/fsm.h"

#define SEC 1000000000ull
#define CASES 400000

static __u64 rng_state = 0x243f6a8885a308d3ull;

/* splitmix64: a fixed sequence, so a failure reproduces. */
static __u64 rnd(void)
{
	__u64 z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static __u32 pick(const __u32 *v, __u32 n)
{
	return v[rnd() % n];
}

/* A record in any state with any seen bits, its numbers few enough that
 * segments hit them (ISNs, positions, an ACK of exactly a FIN). */
static void random_conn(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->state = (__u8)(rnd() % CS_MAX);
	c->seen = (__u32)rnd() & ((SEEN_SELF << 1) - 1);
	c->isn_orig = 1000;
	c->isn_resp = 7000;
	c->isn_alt = rnd() & 1 ? 5000 : 0;
	c->pos_orig = 1001 + (__u32)(rnd() % 3) * 100;
	c->pos_resp = 7001 + (__u32)(rnd() % 3) * 100;
	c->t_syn = rnd() & 1 ? 1 * SEC : 0;
	c->t_synack = rnd() & 1 ? 2 * SEC : 0;
	c->t_established = rnd() & 1 ? 3 * SEC : 0;
	c->t_fin = rnd() & 1 ? 4 * SEC : 0;
	c->t_end = rnd() & 1 ? (rnd() & 1 ? 5 * SEC : 599 * SEC + 900000000ull) : 0;
	c->last_active = fsm_coarse(rnd() & 1 ? 5 * SEC : 700 * SEC);
	c->orig_is_a = rnd() & 1;
	c->service_port = 443;
	c->syn_len = rnd() & 1 ? 0 : 10;
	c->syn_retransmits = (__u8)(rnd() % 3);
	c->synack_retransmits = (__u8)(rnd() % 3);
	c->outcome = (__u8)(rnd() % OUT_MAX);
	c->fail_reason = (__u8)(rnd() % FAIL_MAX);
}

static void random_segment(struct segment *s)
{
	static const __u32 seqs[] = { 1000, 1001, 1101, 1201, 5000, 7000, 7001, 7101, 7201, 123456 };
	static const __u32 lens[] = { 0, 0, 1, 1448 };
	static const __u8 flags[] = { TCPF_SYN, TCPF_SYN | TCPF_ACK, TCPF_ACK, TCPF_ACK | TCPF_PSH,
				      TCPF_FIN | TCPF_ACK, TCPF_FIN, TCPF_RST, TCPF_RST | TCPF_ACK,
				      TCPF_SYN | TCPF_FIN, 0 };

	memset(s, 0, sizeof(*s));
	s->seq = pick(seqs, sizeof(seqs) / sizeof(seqs[0]));
	s->ack = pick(seqs, sizeof(seqs) / sizeof(seqs[0]));
	s->payload_len = pick(lens, sizeof(lens) / sizeof(lens[0]));
	s->flags = flags[rnd() % sizeof(flags)];
	s->from_orig = rnd() & 1;
	s->local = rnd() & 1;
	s->marks = rnd() & (PKT_HOST_RCV_KNOWN | PKT_ICMP_ERROR);
	s->host_rcv_nxt = pick(seqs, sizeof(seqs) / sizeof(seqs[0]));
	s->host_backlog = (__u32)(rnd() % 2) * 4096;
	s->has_gate_block = rnd() & 1;
	s->gate_block = (__u16)(rnd() % 4);
	s->gate_acked = rnd() & 1;
}

/* A step fsm_segment_needs_time() calls time-free takes the same effects
 * and leaves the same record (but last_active, the coarse time itself)
 * whether it runs at the time of the packet or at the start of an
 * earlier tick, what the packet path gives it; and it reports nothing
 * that would be stamped with that time (an event, TIME-WAIT's length). */
static void test_steps_without_time_are_time_free(void **unused)
{
	__u32 i, free_steps = 0, timed_steps = 0;

	(void)unused;
	for (i = 0; i < CASES; i++) {
		struct conn base, at_packet, at_tick;
		struct segment s;
		__u64 now = 600 * SEC + rnd() % SEC, tick_start;
		__u32 fx_packet, fx_tick;

		random_conn(&base);
		random_segment(&s);
		tick_start = (__u64)(fsm_coarse(now) - rnd() % 3) << FSM_COARSE_SHIFT;
		if (fsm_segment_needs_time(&base, &s)) {
			timed_steps++;
			continue;
		}
		free_steps++;
		at_packet = base;
		at_tick = base;
		fx_packet = fsm_segment(&at_packet, &s, now);
		fx_tick = fsm_segment(&at_tick, &s, tick_start);
		assert_int_equal(fx_packet, fx_tick);
		assert_false(fx_tick & (FX_EVENT | FX_TW_END));
		at_packet.last_active = at_tick.last_active = 0;
		if (memcmp(&at_packet, &at_tick, sizeof(at_packet)))
			fail_msg("case %u: state %u seen %#x flags %#x from_orig %u: the record depends on the time",
				 i, base.state, base.seen, s.flags, s.from_orig);
	}
	/* The generator reaches both kinds of step often. */
	assert_true(free_steps > CASES / 10);
	assert_true(timed_steps > CASES / 10);
}

static __u32 step(struct conn *c, int from_orig, __u8 flags, __u32 seq, __u32 ack, __u32 len,
		  __u64 now, int needs_time)
{
	struct segment s = { .seq = seq, .ack = ack, .payload_len = len, .flags = flags,
			     .from_orig = (__u8)from_orig };

	assert_int_equal(fsm_segment_needs_time(c, &s), needs_time);
	return fsm_segment(c, &s, now);
}

/* A connection's life, packet by packet: the handshake, the first FIN,
 * the ACK that closes need the clock; data, the ACK of the first FIN, the
 * second FIN and a copy of the SYN-ACK in TIME-WAIT do not. */
static void test_which_packets_need_the_clock(void **unused)
{
	struct segment syn = { .seq = 1000, .flags = TCPF_SYN, .from_orig = 1 };
	struct conn c;

	(void)unused;
	fsm_start_syn(&c, &syn, 1 * SEC);
	step(&c, 0, TCPF_SYN | TCPF_ACK, 7000, 1001, 0, 1 * SEC + 100, 1);
	step(&c, 1, TCPF_ACK, 1001, 7001, 0, 1 * SEC + 200, 1);
	assert_int_equal(c.state, CS_ESTABLISHED);
	step(&c, 1, TCPF_ACK | TCPF_PSH, 1001, 7001, 100, 2 * SEC, 0);
	step(&c, 0, TCPF_ACK, 7001, 1101, 0, 2 * SEC, 0);
	step(&c, 1, TCPF_FIN | TCPF_ACK, 1101, 7001, 0, 3 * SEC, 1);
	assert_int_equal(c.t_fin, 3 * SEC);
	step(&c, 0, TCPF_ACK, 7001, 1102, 0, 3 * SEC + 10, 0);
	assert_int_equal(c.state, CS_FIN_WAIT_2);
	step(&c, 0, TCPF_FIN | TCPF_ACK, 7001, 1102, 0, 3 * SEC + 20, 0);
	assert_int_equal(c.state, CS_LAST_ACK);
	assert_int_equal(c.t_fin, 3 * SEC);
	step(&c, 1, TCPF_ACK, 1102, 7002, 0, 3 * SEC + 30, 1);
	assert_int_equal(c.state, CS_TIME_WAIT);
	assert_int_equal(c.t_end, 3 * SEC + 30);
	step(&c, 0, TCPF_SYN | TCPF_ACK, 7000, 1001, 0, 4 * SEC, 0);
	step(&c, 0, TCPF_RST, 7002, 0, 0, 4 * SEC, 1);
}

/* A step given the start of an earlier tick than the last packet's keeps
 * the later time of that packet. */
static void test_last_active_moves_forward_only(void **unused)
{
	struct segment syn = { .seq = 1000, .flags = TCPF_SYN, .from_orig = 1 };
	struct conn c;

	(void)unused;
	fsm_start_syn(&c, &syn, 10 * SEC);
	assert_int_equal(c.last_active, fsm_coarse(10 * SEC));
	step(&c, 0, TCPF_SYN | TCPF_ACK, 7000, 1001, 0, 5 * SEC, 1);
	assert_int_equal(c.last_active, fsm_coarse(10 * SEC));
	step(&c, 1, TCPF_ACK, 1001, 7001, 0, 20 * SEC, 1);
	assert_int_equal(c.last_active, fsm_coarse(20 * SEC));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps_without_time_are_time_free),
		cmocka_unit_test(test_which_packets_need_the_clock),
		cmocka_unit_test(test_last_active_moves_forward_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
