// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ICMP errors about the responder's SYN-ACK (fsm_synack_error): of a kind
 * that makes the responder's kernel drop its half-open request, the
 * attempt waits for an answer again; the answer to the originator's next
 * SYN completes it, and with none it fails as unreachable at the SYN
 * timeout. (Errors about the SYN: test_fsm.c, test_unreachable.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>
#include "tcpshake/fsm.h"
#include "fsm_dialogue.h"

#define HOST_UNREACH (3 << 8 | 1)      /* IPv4: Linux drops the request */
#define ADMIN_PROHIBITED (3 << 8 | 13) /* IPv4: Linux keeps it */

/* An ICMP error of type << 8 | code (error) quoting the segment of
 * sequence number seq from the originator (about_orig) or the responder;
 * drops: marked as one that drops the quoted SYN-ACK's request. */
static __u32 icmp(struct conn *c, int about_orig, __u32 seq, __u32 error, int drops, __u64 now)
{
	struct segment s = { .seq = seq, .ack = error, .flags = TCPF_SYN,
			     .from_orig = (__u8)about_orig,
			     .marks = PKT_ICMP_ERROR | (drops ? PKT_ICMP_DROPS_REQUEST : 0) };

	return fsm_segment(c, &s, now);
}

/* SYN(1000) at 1 s, SYN-ACK(7000) 100 us later: half-open. */
static void half_open(struct conn *c)
{
	start(c, 1000, SEC);
	assert_int_equal(seg(c, RESP, F_SYNACK, 7000, 1001, 0, SEC + 100000), FX_SYNACK_FIRST);
	assert_int_equal(c->state, CS_SYN_RCVD);
}

/* Only an error of a dropping kind that quotes the SYN-ACK's ISN takes the
 * attempt back to waiting; the others change nothing but the time of the
 * last packet. */
static void test_only_a_dropping_error_of_the_isn(void **state)
{
	struct conn c, before;

	(void)state;
	half_open(&c);
	before = c;
	assert_int_equal(icmp(&c, RESP, 7000, ADMIN_PROHIBITED, 0, 2 * SEC), 0);
	assert_int_equal(icmp(&c, RESP, 7001, HOST_UNREACH, 1, 2 * SEC), 0);
	assert_int_equal(icmp(&c, RESP, 6999, HOST_UNREACH, 1, 2 * SEC), 0);
	before.last_active = fsm_coarse(2 * SEC);
	assert_memory_equal(&c, &before, sizeof(c));

	assert_int_equal(icmp(&c, RESP, 7000, HOST_UNREACH, 1, 2 * SEC), FX_HALF_OPEN_MOVED);
	assert_int_equal(c.state, CS_SYN_SENT);
	assert_true(c.seen & SEEN_SYNACK_LOST);
	assert_true(c.seen & SEEN_SYNACK);     /* Zeek saw it: conn_state stays S1 */
	assert_int_equal(c.icmp_type, 3);
	assert_int_equal(c.icmp_code, 1);
	assert_int_equal(c.t_synack, SEC + 100000);
	assert_int_equal(c.t_end, 0);
	/* Again: nothing is half-open now. */
	before = c;
	assert_int_equal(icmp(&c, RESP, 7000, HOST_UNREACH, 1, 2 * SEC), 0);
	assert_memory_equal(&c, &before, sizeof(c));

	/* Established, the error is stale. */
	half_open(&c);
	assert_true(seg(&c, ORIG, F_ACK, 1001, 7001, 0, SEC + 200000) & FX_HANDSHAKE);
	before = c;
	assert_int_equal(icmp(&c, RESP, 7000, HOST_UNREACH, 1, SEC + 300000), 0);
	assert_memory_equal(&c, &before, sizeof(c));
}

/* The originator's kernel never got the SYN-ACK: its next SYN is a
 * retransmission, the responder's new request answers it with a new ISN,
 * and that answer's third ACK completes the handshake, timed from the
 * first SYN-ACK as after a retransmitted one. An ACK of the lost SYN-ACK
 * completes nothing: the responder has no request for it. */
static void test_answered_again_with_a_new_isn(void **state)
{
	struct conn c;
	__u32 fx;

	(void)state;
	half_open(&c);
	icmp(&c, RESP, 7000, HOST_UNREACH, 1, SEC + 150000);
	assert_int_equal(seg(&c, ORIG, F_ACK, 1001, 7001, 0, SEC + 200000), 0);
	assert_int_equal(c.state, CS_SYN_SENT);
	assert_int_equal(seg(&c, ORIG, F_SYN, 1000, 0, 0, 2 * SEC), FX_SYN_RETRANS);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 90000, 999, 0, 2 * SEC), FX_INVALID);
	assert_int_equal(c.state, CS_SYN_SENT);

	fx = seg(&c, RESP, F_SYNACK, 90000, 1001, 0, 2 * SEC + 100000);
	assert_int_equal(fx, FX_HALF_OPEN_MOVED);
	assert_int_equal(c.state, CS_SYN_RCVD);
	assert_false(c.seen & SEEN_SYNACK_LOST);
	assert_int_equal(c.isn_resp, 90000);
	assert_int_equal(c.t_synack, SEC + 100000);
	assert_int_equal(c.synack_retransmits, 0);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 90000, 1001, 0, 3 * SEC), FX_SYNACK_RETRANS);
	assert_int_equal(seg(&c, ORIG, F_ACK, 1001, 7001, 0, 3 * SEC), FX_INVALID);

	fx = seg(&c, ORIG, F_ACK, 1001, 90001, 0, 3 * SEC + 100000);
	assert_true(fx & FX_HANDSHAKE);
	assert_int_equal(c.state, CS_ESTABLISHED);
	assert_int_equal(c.outcome, OUT_ESTABLISHED);
	assert_int_equal(c.syn_retransmits, 1);
	assert_int_equal(c.fail_reason, 0);
}

/* A request the responder kept after all sends its SYN-ACK again: that
 * copy is a retransmission, and the attempt half-open again. */
static void test_copy_of_the_synack(void **state)
{
	struct conn c;

	(void)state;
	half_open(&c);
	icmp(&c, RESP, 7000, HOST_UNREACH, 1, 2 * SEC);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 7000, 1001, 0, 3 * SEC),
			 FX_SYNACK_RETRANS | FX_HALF_OPEN_MOVED);
	assert_int_equal(c.state, CS_SYN_RCVD);
	assert_false(c.seen & SEEN_SYNACK_LOST);
	assert_int_equal(c.synack_retransmits, 1);
	assert_true(seg(&c, ORIG, F_ACK, 1001, 7001, 0, 3 * SEC) & FX_HANDSHAKE);
}

/* Unanswered until the SYN timeout: unreachable, with the error, from
 * the sweeper; answered again and then unanswered, a timeout. An error
 * about the SYN meanwhile ends it at once, as its sender's kernel does. */
static void test_unanswered_is_unreachable(void **state)
{
	struct conn c;
	__u32 fx;

	(void)state;
	half_open(&c);
	icmp(&c, RESP, 7000, HOST_UNREACH, 1, 2 * SEC);
	assert_int_equal(fsm_expire(&c, SEC + timeouts.syn_ns - 1, &timeouts), 0);
	fx = fsm_expire(&c, SEC + timeouts.syn_ns, &timeouts);
	assert_int_equal(fx, FX_FAILED | FX_EVENT);
	assert_int_equal(c.state, CS_FAILED);
	assert_int_equal(c.fail_reason, FAIL_UNREACHABLE);
	assert_int_equal(c.outcome, OUT_UNREACHABLE);
	assert_int_equal(c.icmp_type, 3);
	assert_int_equal(c.icmp_code, 1);
	/* A tombstone: the originator's late SYN is a retransmission. */
	assert_int_equal(seg(&c, ORIG, F_SYN, 1000, 0, 0, 40 * SEC), FX_SYN_RETRANS);

	half_open(&c);
	icmp(&c, RESP, 7000, (11 << 8) | 0, 1, 2 * SEC);
	seg(&c, RESP, F_SYNACK, 90000, 1001, 0, 3 * SEC);
	assert_int_equal(fsm_expire(&c, SEC + timeouts.syn_ns, &timeouts), FX_FAILED | FX_EVENT);
	assert_int_equal(c.fail_reason, FAIL_TIMEOUT);

	half_open(&c);
	icmp(&c, RESP, 7000, HOST_UNREACH, 1, 2 * SEC);
	assert_int_equal(icmp(&c, ORIG, 1000, (3 << 8) | 3, 0, 3 * SEC), FX_FAILED | FX_EVENT);
	assert_int_equal(c.fail_reason, FAIL_UNREACHABLE);
	assert_int_equal(c.icmp_code, 3);
}

/* An orphan (its SYN unseen) goes back to waiting as well, and fails
 * from its SYN-ACK's time. */
static void test_orphan(void **state)
{
	struct conn c;
	struct segment s = { .seq = 7000, .ack = 1001, .flags = F_SYNACK, .from_orig = 0 };

	(void)state;
	fsm_start_orphan_synack(&c, &s, SEC);
	assert_int_equal(icmp(&c, RESP, 7000, HOST_UNREACH, 1, 2 * SEC), FX_HALF_OPEN_MOVED);
	assert_int_equal(c.state, CS_SYN_SENT);
	assert_int_equal(fsm_expire(&c, SEC + timeouts.syn_ns, &timeouts), FX_FAILED | FX_EVENT);
	assert_int_equal(c.fail_reason, FAIL_UNREACHABLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_a_dropping_error_of_the_isn),
		cmocka_unit_test(test_answered_again_with_a_new_isn),
		cmocka_unit_test(test_copy_of_the_synack),
		cmocka_unit_test(test_unanswered_is_unreachable),
		cmocka_unit_test(test_orphan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
