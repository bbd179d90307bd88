/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Dialogues with the state machine (fsm.h) for its unit tests: segments
 * from either end at an injected time, and a valid handshake.
 */
#ifndef TCPSHAKE_TEST_FSM_DIALOGUE_H
#define TCPSHAKE_TEST_FSM_DIALOGUE_H

#include <linux/types.h>
#include "tcpshake/fsm.h"

#define ORIG 1
#define RESP 0
#define MS 1000000ull
#define SEC 1000000000ull

#define F_SYN    TCPF_SYN
#define F_SYNACK (TCPF_SYN | TCPF_ACK)
#define F_ACK    TCPF_ACK
#define F_FIN    (TCPF_FIN | TCPF_ACK)
#define F_RST    TCPF_RST
#define F_RSTACK (TCPF_RST | TCPF_ACK)
#define F_DATA   (TCPF_ACK | TCPF_PSH)

static const struct fsm_timeouts timeouts = {
	.syn_ns = 30 * SEC, .time_wait_ns = 60 * SEC, .close_ns = 120 * SEC, .idle_ns = 3600 * SEC,
	.tombstone_ns = FSM_TOMBSTONE_NS,
};

static inline __u32 seg(struct conn *c, int from_orig, __u8 flags, __u32 seq, __u32 ack, __u32 len,
		 __u64 now)
{
	struct segment s = { .seq = seq, .ack = ack, .payload_len = len, .flags = flags,
			     .from_orig = (__u8)from_orig };

	return fsm_segment(c, &s, now);
}

static inline void start(struct conn *c, __u32 isn, __u64 now)
{
	struct segment s = { .seq = isn, .flags = TCPF_SYN, .from_orig = 1 };

	fsm_start_syn(c, &s, now);
}

/* x = client ISN, y = server ISN: SYN(x), SYN-ACK(y, x+1), ACK(x+1, y+1). */
static inline void handshake(struct conn *c, __u32 x, __u32 y)
{
	start(c, x, 1 * SEC);
	seg(c, RESP, F_SYNACK, y, x + 1, 0, 1 * SEC + 100000);
	seg(c, ORIG, F_ACK, x + 1, y + 1, 0, 1 * SEC + 250000);
	assert_int_equal(c->state, CS_ESTABLISHED);
}

#endif /* TCPSHAKE_TEST_FSM_DIALOGUE_H */
