// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The state machine, path by path, with an injected clock: every transition
 * of the handshake and close diagrams, bad sequence/ack numbers,
 * retransmissions, wrap-around, RST in each state, simultaneous open and
 * close, half-close, 2MSL expiry and reuse. (RST windows and payload bytes:
 * test_fsm_windows.c.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>
#include "tcpshake/fsm.h"
#include "fsm_dialogue.h"

/* ---- three-way handshake ---- */

static void test_handshake_valid(void **state)
{
	struct conn c;
	__u32 fx;

	(void)state;
	start(&c, 1000, 5 * SEC);
	assert_int_equal(c.state, CS_SYN_SENT);
	assert_int_equal(c.seen, SEEN_SYN);

	fx = seg(&c, RESP, F_SYNACK, 7000, 1001, 0, 5 * SEC + 80000);
	assert_int_equal(fx, FX_SYNACK_FIRST);
	assert_int_equal(c.state, CS_SYN_RCVD);
	assert_int_equal(c.isn_resp, 7000);
	assert_true(c.t_synack - c.t_syn == 80000);

	fx = seg(&c, ORIG, F_ACK, 1001, 7001, 0, 5 * SEC + 200000);
	assert_true(fx & FX_HANDSHAKE);
	assert_true(fx & FX_EVENT);
	assert_int_equal(c.state, CS_ESTABLISHED);
	assert_int_equal(c.outcome, OUT_ESTABLISHED);
	assert_true(c.t_established - c.t_syn == 200000);
	assert_true(c.seen & SEEN_ACK3);
	assert_int_equal(c.last_active, fsm_coarse(5 * SEC + 200000));
}

static void test_synack_wrong_ack_is_invalid(void **state)
{
	struct conn c;

	(void)state;
	start(&c, 1000, SEC);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 7000, 1000, 0, SEC), FX_INVALID);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 7000, 1002, 0, SEC), FX_INVALID);
	assert_int_equal(c.state, CS_SYN_SENT);
	assert_true(c.seen & SEEN_INVALID);
	/* The genuine SYN-ACK still completes the handshake. */
	assert_int_equal(seg(&c, RESP, F_SYNACK, 7000, 1001, 0, SEC), FX_SYNACK_FIRST);
	assert_true(seg(&c, ORIG, F_ACK, 1001, 7001, 0, SEC) & FX_HANDSHAKE);
}

static void test_third_ack_wrong_numbers_is_invalid(void **state)
{
	struct conn c;

	(void)state;
	start(&c, 1000, SEC);
	seg(&c, RESP, F_SYNACK, 7000, 1001, 0, SEC);
	assert_int_equal(seg(&c, ORIG, F_ACK, 1001, 7000, 0, SEC), FX_INVALID);  /* ack = y */
	assert_int_equal(seg(&c, ORIG, F_ACK, 1001, 7002, 0, SEC), FX_INVALID);  /* ack = y+2 */
	assert_int_equal(seg(&c, ORIG, F_ACK, 1005, 7001, 0, SEC), FX_INVALID);  /* seq != x+1 */
	assert_int_equal(c.state, CS_SYN_RCVD);
	/* An ACK from the responder is not a third ACK, and not invalid either. */
	assert_int_equal(seg(&c, RESP, F_ACK, 7001, 1001, 0, SEC), 0);
	assert_true(seg(&c, ORIG, F_ACK, 1001, 7001, 0, SEC) & FX_HANDSHAKE);
}

static void test_ack_before_synack_is_ignored(void **state)
{
	struct conn c;

	(void)state;
	start(&c, 1000, SEC);
	assert_int_equal(seg(&c, ORIG, F_ACK, 1001, 7001, 0, SEC), 0);
	assert_int_equal(c.state, CS_SYN_SENT);
	assert_false(c.seen & SEEN_INVALID);
}

static void test_syn_retransmission(void **state)
{
	struct conn c;

	(void)state;
	start(&c, 1000, SEC);
	assert_int_equal(seg(&c, ORIG, F_SYN, 1000, 0, 0, 2 * SEC), FX_SYN_RETRANS);
	assert_int_equal(seg(&c, ORIG, F_SYN, 1000, 0, 0, 4 * SEC), FX_SYN_RETRANS);
	assert_int_equal(c.syn_retransmits, 2);
	assert_int_equal(c.state, CS_SYN_SENT);
	assert_true(c.t_syn == SEC);          /* latency counts from the first SYN */
	seg(&c, RESP, F_SYNACK, 7000, 1001, 0, 4 * SEC + 1000);
	/* The client retransmits again before it sees the SYN-ACK. */
	assert_int_equal(seg(&c, ORIG, F_SYN, 1000, 0, 0, 4 * SEC + 2000), FX_SYN_RETRANS);
	assert_int_equal(c.state, CS_SYN_RCVD);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 7000, 1001, 0, 5 * SEC), FX_SYNACK_RETRANS);
	assert_int_equal(c.synack_retransmits, 1);
	assert_true(seg(&c, ORIG, F_ACK, 1001, 7001, 0, 5 * SEC) & FX_HANDSHAKE);
	assert_int_equal(c.syn_retransmits, 3);
}

static void test_synack_with_other_isn_is_invalid(void **state)
{
	struct conn c;

	(void)state;
	start(&c, 1000, SEC);
	seg(&c, RESP, F_SYNACK, 7000, 1001, 0, SEC);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 9999, 1001, 0, SEC), FX_INVALID);
	assert_int_equal(c.isn_resp, 7000);
}

/* A second ISN mid-handshake may be forged: the SYN-ACK's ack decides. */
static void test_syn_with_new_isn_waits_for_the_synack(void **state)
{
	struct conn c;

	(void)state;
	start(&c, 1000, SEC);
	assert_int_equal(seg(&c, ORIG, F_SYN, 5555, 0, 0, 2 * SEC), 0);
	assert_int_equal(c.isn_orig, 1000);
	assert_int_equal(seg(&c, ORIG, F_SYN, 5555, 0, 0, 2 * SEC), FX_SYN_RETRANS);
	/* Acking the second ISN: the attempt adopts it. */
	assert_int_equal(seg(&c, RESP, F_SYNACK, 7000, 5556, 0, 3 * SEC), FX_SYNACK_FIRST);
	assert_int_equal(c.isn_orig, 5555);
	assert_int_equal(c.state, CS_SYN_RCVD);

	/* Acking the first: the second changes nothing. */
	start(&c, 1000, SEC);
	seg(&c, ORIG, F_SYN, 5555, 0, 0, 2 * SEC);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 7000, 1001, 0, 3 * SEC), FX_SYNACK_FIRST);
	assert_int_equal(c.isn_orig, 1000);
	/* After a valid SYN-ACK, an answer to the other ISN is a new attempt. */
	seg(&c, ORIG, F_SYN, 8888, 0, 0, 4 * SEC);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 9000, 8889, 0, 4 * SEC), FX_NEW_ATTEMPT);
}

static void test_wraparound(void **state)
{
	struct conn c;

	(void)state;
	/* x = 2^32 - 1: the SYN-ACK acknowledges 0. */
	start(&c, 0xffffffffu, SEC);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 0xfffffffeu, 0, 0, SEC), FX_SYNACK_FIRST);
	assert_true(seg(&c, ORIG, F_ACK, 0, 0xffffffffu, 0, SEC) & FX_HANDSHAKE);
	/* Close across the wrap: the client's FIN at 0xfffffff0 + 31 bytes. */
	seg(&c, ORIG, F_FIN, 0xfffffff0u, 0xffffffffu, 31, 2 * SEC);
	assert_int_equal(c.pos_orig, 0x10u);
	assert_int_equal(c.state, CS_FIN_WAIT_1);
	seg(&c, RESP, F_ACK, 0xffffffffu, 0x0fu, 0, 2 * SEC);   /* not yet */
	assert_int_equal(c.state, CS_FIN_WAIT_1);
	seg(&c, RESP, F_ACK, 0xffffffffu, 0x10u, 0, 2 * SEC);
	assert_int_equal(c.state, CS_FIN_WAIT_2);
}

static void test_fast_open(void **state)
{
	struct segment s = { .seq = 1000, .flags = TCPF_SYN, .payload_len = 10, .from_orig = 1 };
	struct conn c;

	(void)state;
	fsm_start_syn(&c, &s, SEC);
	assert_int_equal(c.syn_len, 10);
	/* The server accepted the SYN data: ack = x + 1 + 10. */
	assert_int_equal(seg(&c, RESP, F_SYNACK, 7000, 1011, 0, SEC), FX_SYNACK_FIRST);
	assert_true(seg(&c, ORIG, F_ACK, 1011, 7001, 0, SEC) & FX_HANDSHAKE);
}

/* ---- handshake failures ---- */

static void test_refused(void **state)
{
	struct conn c;
	__u32 fx;

	(void)state;
	start(&c, 1000, SEC);
	assert_int_equal(seg(&c, RESP, F_RST, 0, 0, 0, SEC), 0);            /* no ACK */
	assert_int_equal(seg(&c, RESP, F_RSTACK, 0, 1005, 0, SEC), 0);      /* wrong ack */
	fx = seg(&c, RESP, F_RSTACK, 0, 1001, 0, SEC + 50000);
	assert_int_equal(fx, FX_FAILED | FX_EVENT | FX_RELEASE);
	assert_int_equal(c.fail_reason, FAIL_REFUSED);
	assert_int_equal(c.outcome, OUT_REFUSED);
	assert_int_equal(c.state, CS_CLOSED);
	assert_true(c.t_end - c.t_syn == 50000);
}

static void close_to_time_wait(struct conn *c);

/* An ICMP error quoting the segment of sequence number seq from the
 * originator (about_orig) or the responder: port unreachable. */
static __u32 icmp_error(struct conn *c, int about_orig, __u32 seq, __u64 now)
{
	struct segment s = { .seq = seq, .ack = 3 << 8 | 3, .from_orig = (__u8)about_orig,
			     .marks = PKT_ICMP_ERROR };

	return fsm_segment(c, &s, now);
}

/* An ICMP error quoting the SYN ends the attempt at once, as the SYN
 * sender's kernel does; one quoting another number, the SYN-ACK, or a
 * SYN already answered changes nothing but the time of the last packet. */
static void test_unreachable(void **state)
{
	struct conn c, before;
	__u32 fx;

	(void)state;
	start(&c, 1000, SEC);
	before = c;
	assert_int_equal(icmp_error(&c, ORIG, 1001, 5 * SEC), 0);     /* not the ISN */
	assert_int_equal(icmp_error(&c, ORIG, 999, 5 * SEC), 0);
	assert_int_equal(icmp_error(&c, RESP, 1000, 5 * SEC), 0);     /* about the other side */
	before.last_active = fsm_coarse(5 * SEC);
	assert_memory_equal(&c, &before, sizeof(c));
	fx = icmp_error(&c, ORIG, 1000, SEC + 30000);
	assert_int_equal(fx, FX_FAILED | FX_EVENT);
	assert_int_equal(c.fail_reason, FAIL_UNREACHABLE);
	assert_int_equal(c.outcome, OUT_UNREACHABLE);
	assert_int_equal(c.icmp_type, 3);
	assert_int_equal(c.icmp_code, 3);
	assert_true(c.t_end - c.t_syn == 30000);
	/* A tombstone, as after a timeout: the SYN again (its error reached
	 * a socket its owner held, and Linux dropped it) is a retransmission,
	 * and its own error changes nothing; the sweeper releases it. */
	assert_int_equal(c.state, CS_FAILED);
	assert_int_equal(seg(&c, ORIG, F_SYN, 1000, 0, 0, 2 * SEC), FX_SYN_RETRANS);
	assert_int_equal(icmp_error(&c, ORIG, 1000, 2 * SEC), 0);
	assert_int_equal(c.syn_retransmits, 1);
	assert_int_equal(fsm_expire(&c, SEC + 30000 + FSM_TOMBSTONE_NS, &timeouts), FX_RELEASE);

	/* After a retransmitted SYN: still the ISN. */
	start(&c, 7000, SEC);
	seg(&c, ORIG, F_SYN, 7000, 0, 0, 2 * SEC);
	assert_int_equal(icmp_error(&c, ORIG, 7000, 3 * SEC), FX_FAILED | FX_EVENT);
	assert_int_equal(c.fail_reason, FAIL_UNREACHABLE);

	/* Answered: the SYN's sender left SYN-SENT, the error is stale. */
	start(&c, 2000, SEC);
	seg(&c, RESP, F_SYNACK, 5000, 2001, 0, SEC + 100000);
	assert_int_equal(c.state, CS_SYN_RCVD);
	before = c;
	assert_int_equal(icmp_error(&c, ORIG, 2000, 2 * SEC), 0);
	assert_int_equal(icmp_error(&c, RESP, 5000, 2 * SEC), 0);
	before.last_active = fsm_coarse(2 * SEC);
	assert_memory_equal(&c, &before, sizeof(c));
	handshake(&c, 3000, 6000);
	before = c;
	assert_int_equal(icmp_error(&c, ORIG, 3000, 2 * SEC), 0);
	assert_int_equal(icmp_error(&c, ORIG, 3001, 2 * SEC), 0);
	before.last_active = fsm_coarse(2 * SEC);
	assert_memory_equal(&c, &before, sizeof(c));
	/* Nor in TIME-WAIT, where a SYN could reopen the tuple. */
	close_to_time_wait(&c);
	before = c;
	assert_int_equal(icmp_error(&c, ORIG, 1000, c.t_end), 0);
	assert_int_equal(icmp_error(&c, RESP, 7000, c.t_end), 0);
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_reset_during_handshake(void **state)
{
	struct conn c;

	(void)state;
	/* The client answers the SYN-ACK with RST (e.g. a SYN scan). */
	start(&c, 1000, SEC);
	seg(&c, RESP, F_SYNACK, 7000, 1001, 0, SEC);
	assert_int_equal(seg(&c, ORIG, F_RST, 1234, 0, 0, SEC), 0);         /* wrong seq */
	assert_true(seg(&c, ORIG, F_RST, 1001, 0, 0, SEC) & FX_FAILED);
	assert_int_equal(c.fail_reason, FAIL_RESET);
	assert_true(c.seen & SEEN_RST_ORIG);

	/* The server resets its half-open connection. */
	start(&c, 1000, SEC);
	seg(&c, RESP, F_SYNACK, 7000, 1001, 0, SEC);
	assert_true(seg(&c, RESP, F_RST, 7001, 0, 0, SEC) & FX_FAILED);
	assert_int_equal(c.fail_reason, FAIL_RESET);
	assert_true(c.seen & SEEN_RST_RESP);

	/* The client gives up before any answer. */
	start(&c, 1000, SEC);
	assert_true(seg(&c, ORIG, F_RST, 1001, 0, 0, SEC) & FX_FAILED);
	assert_int_equal(c.fail_reason, FAIL_RESET);
}

static void test_timeout_and_invalid_expiry(void **state)
{
	struct conn c;

	(void)state;
	start(&c, 1000, SEC);
	assert_int_equal(fsm_expire(&c, 30 * SEC, &timeouts), 0);
	/* Failed, and kept as a tombstone rather than released. */
	assert_int_equal(fsm_expire(&c, 31 * SEC, &timeouts), FX_FAILED | FX_EVENT);
	assert_int_equal(c.state, CS_FAILED);
	assert_int_equal(c.fail_reason, FAIL_TIMEOUT);
	assert_int_equal(c.outcome, OUT_TIMEOUT);

	/* SYN-ACK seen, no third ACK: still a timeout. */
	start(&c, 1000, SEC);
	seg(&c, RESP, F_SYNACK, 7000, 1001, 0, SEC);
	assert_true(fsm_expire(&c, 31 * SEC, &timeouts) & FX_FAILED);
	assert_int_equal(c.fail_reason, FAIL_TIMEOUT);

	/* Only bad answers: invalid. */
	start(&c, 1000, SEC);
	seg(&c, RESP, F_SYNACK, 7000, 4242, 0, SEC);
	assert_true(fsm_expire(&c, 31 * SEC, &timeouts) & FX_FAILED);
	assert_int_equal(c.fail_reason, FAIL_INVALID);
	assert_int_equal(c.outcome, OUT_INVALID);
}

static void test_tombstone_absorbs_late_retransmissions(void **state)
{
	struct conn c;

	(void)state;
	/* A SYN answered by a SYN-ACK that is never acknowledged: after the
	 * timeout, Linux still retransmits both for up to a minute. */
	start(&c, 1000, SEC);
	seg(&c, RESP, F_SYNACK, 7000, 1001, 0, 2 * SEC);
	assert_true(fsm_expire(&c, 31 * SEC, &timeouts) & FX_FAILED);
	assert_int_equal(seg(&c, ORIG, F_SYN, 1000, 0, 0, 32 * SEC), FX_SYN_RETRANS);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 7000, 1001, 0, 33 * SEC), FX_SYNACK_RETRANS);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 7777, 1001, 0, 33 * SEC), 0);
	assert_int_equal(seg(&c, ORIG, F_ACK, 1001, 7001, 0, 34 * SEC), 0);   /* no late success */
	assert_int_equal(c.state, CS_FAILED);
	assert_int_equal(c.syn_retransmits, 1);
	assert_int_equal(c.synack_retransmits, 1);
	/* A new ISN is a new attempt. */
	assert_int_equal(seg(&c, ORIG, F_SYN, 5555, 0, 0, 35 * SEC), FX_NEW_ATTEMPT);
	/* Two minutes after the failure the tombstone goes. */
	assert_int_equal(fsm_expire(&c, 31 * SEC + FSM_TOMBSTONE_NS - 1, &timeouts), 0);
	assert_int_equal(fsm_expire(&c, 31 * SEC + FSM_TOMBSTONE_NS, &timeouts), FX_RELEASE);
}

static void test_expiry_ignores_later_stamps(void **state)
{
	struct conn c;

	(void)state;
	/* The sweeper read its clock before another CPU stamped the record:
	 * now < t must never look like a huge elapsed time. */
	start(&c, 1000, 50 * SEC);
	assert_int_equal(fsm_expire(&c, 49 * SEC, &timeouts), 0);
	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_FIN, 1001, 7001, 0, 10 * SEC);
	seg(&c, RESP, F_FIN, 7001, 1002, 0, 10 * SEC);
	seg(&c, ORIG, F_ACK, 1002, 7002, 0, 10 * SEC);
	assert_int_equal(fsm_expire(&c, 9 * SEC, &timeouts), 0);
	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_FIN, 1001, 7001, 0, 10 * SEC);
	assert_int_equal(fsm_expire(&c, 9 * SEC, &timeouts), 0);
}

static void test_fin_during_handshake(void **state)
{
	struct conn c;

	(void)state;
	start(&c, 1000, SEC);
	assert_int_equal(seg(&c, ORIG, F_FIN, 1001, 0, 0, SEC), 0);
	assert_true(c.seen & SEEN_FIN_ORIG);
	assert_int_equal(c.state, CS_SYN_SENT);
}

static void test_third_ack_with_data_and_fin(void **state)
{
	struct conn c;
	__u32 fx;

	(void)state;
	start(&c, 1000, SEC);
	seg(&c, RESP, F_SYNACK, 7000, 1001, 0, SEC);
	fx = seg(&c, ORIG, F_FIN, 1001, 7001, 20, SEC);
	assert_true(fx & FX_HANDSHAKE);
	assert_true(fx & FX_CLOSE_START);
	assert_int_equal(c.state, CS_FIN_WAIT_1);
	assert_int_equal(c.pos_orig, 1022);
	assert_true(c.seen & SEEN_DATA_ORIG);
}

/* ---- simultaneous open, orphan SYN-ACK ---- */

static void test_simultaneous_open(void **state)
{
	struct conn c;
	__u32 fx;

	(void)state;
	start(&c, 1000, SEC);
	/* A reverse SYN is only a candidate until both SYN-ACKs validate it. */
	assert_int_equal(seg(&c, RESP, F_SYN, 5000, 0, 0, SEC), 0);
	assert_true(c.seen & SEEN_SIMOPEN_CAND);
	assert_false(c.seen & SEEN_SIMOPEN);
	assert_int_equal(seg(&c, RESP, F_SYN, 5000, 0, 0, SEC), FX_SYN_RETRANS);
	/* Each side answers the other's SYN with a SYN-ACK carrying its own ISN. */
	fx = seg(&c, RESP, F_SYNACK, 5000, 1001, 0, SEC + 1000);
	assert_int_equal(fx, FX_SYNACK_FIRST);
	assert_int_equal(c.state, CS_SYN_RCVD);
	fx = seg(&c, ORIG, F_SYNACK, 1000, 5001, 0, SEC + 2000);
	assert_true(fx & FX_HANDSHAKE);
	assert_true(fx & FX_SIMOPEN);
	assert_true(c.seen & SEEN_SIMOPEN);
	assert_int_equal(c.state, CS_ESTABLISHED);
	/* A SYN-ACK from the originator outside a simultaneous open is invalid. */
	start(&c, 1000, SEC);
	assert_int_equal(seg(&c, ORIG, F_SYNACK, 1000, 5001, 0, SEC), FX_INVALID);
}

/* A segment of a socket connected to itself (one address and port at
 * both ends), as its kernel sends it. */
static __u32 self_seg(struct conn *c, __u8 flags, __u32 seq, __u32 ack, __u32 len, __u64 now)
{
	struct segment s = { .seq = seq, .ack = ack, .payload_len = len, .flags = flags,
			     .from_orig = 1, .self = 1 };

	return fsm_segment(c, &s, now);
}

/* The segments of Linux's self-connect (a capture on lo): SYN x, SYN-ACK
 * (x, x+1), an ACK, 2 bytes, their ACK, FIN, its ACK; ss then shows the
 * socket in TIME-WAIT. */
static void test_self_connect(void **state)
{
	struct segment syn = { .seq = 1000, .flags = TCPF_SYN, .from_orig = 1, .self = 1 };
	struct conn c;
	__u32 fx;

	(void)state;
	fsm_start_syn(&c, &syn, SEC);
	assert_int_equal(c.state, CS_SYN_SENT);
	assert_true(c.seen & SEEN_SIMOPEN_CAND);
	/* A copy of the SYN is counted once, though it is both sides'. */
	assert_int_equal(self_seg(&c, F_SYN, 1000, 0, 0, SEC + 10), FX_SYN_RETRANS);
	assert_int_equal(c.syn_retransmits, 1);
	fx = self_seg(&c, F_SYNACK, 1000, 1001, 0, SEC + 15);
	assert_int_equal(fx & (FX_SYNACK_FIRST | FX_SIMOPEN | FX_HANDSHAKE | FX_INVALID),
			 FX_SYNACK_FIRST | FX_SIMOPEN | FX_HANDSHAKE);
	assert_int_equal(c.state, CS_ESTABLISHED);
	assert_int_equal(c.isn_resp, 1000);
	/* A copy of that SYN-ACK: a retransmission, once. */
	assert_int_equal(self_seg(&c, F_SYNACK, 1000, 1001, 0, SEC + 16), FX_SYNACK_RETRANS);
	assert_int_equal(c.synack_retransmits, 1);
	assert_int_equal(self_seg(&c, F_ACK, 1001, 1001, 0, SEC + 29), 0);
	assert_int_equal(self_seg(&c, F_DATA, 1001, 1001, 2, SEC + 43), 0);
	assert_int_equal(self_seg(&c, F_ACK, 1003, 1003, 0, SEC + 47), 0);
	fx = self_seg(&c, F_FIN, 1003, 1003, 0, SEC + 127);
	assert_true(fx & FX_CLOSE_START);
	assert_true(fx & FX_SIMCLOSE);
	assert_int_equal(c.state, CS_CLOSING);
	assert_true(self_seg(&c, F_ACK, 1004, 1004, 0, SEC + 130) & FX_CLOSED);
	assert_int_equal(c.state, CS_TIME_WAIT);
	assert_true(c.seen & SEEN_SIMCLOSE);
	assert_true(c.t_end == SEC + 130);
	/* Each byte it sent, it also received: both sides' two bytes. */
	assert_int_equal(c.pos_orig - c.isn_orig, 4);
	assert_int_equal(c.pos_resp - c.isn_resp, 4);
}

/* The same socket's SYN-ACK without its SYN (the monitor started between
 * them): the close still comes out as its kernel's, simultaneous. */
static void test_self_connect_orphan(void **state)
{
	struct segment synack = { .seq = 1000, .ack = 1001, .flags = TCPF_SYN | TCPF_ACK,
				  .local = 1, .self = 1 };
	struct conn c;

	(void)state;
	fsm_start_orphan_synack(&c, &synack, SEC);
	assert_true(c.seen & SEEN_SELF);
	assert_true(self_seg(&c, F_ACK, 1001, 1001, 0, SEC + 10) & FX_HANDSHAKE);
	assert_true(self_seg(&c, F_FIN, 1001, 1001, 0, SEC + 20) & FX_SIMCLOSE);
	assert_true(self_seg(&c, F_ACK, 1002, 1002, 0, SEC + 30) & FX_CLOSED);
	assert_int_equal(c.state, CS_TIME_WAIT);
}

/* A forged LAND SYN (source = destination) at a host that drops it: an
 * attempt nobody answers, timed out like any other. */
static void test_land_syn(void **state)
{
	struct segment syn = { .seq = 42, .flags = TCPF_SYN, .from_orig = 1, .self = 1 };
	struct conn c;

	(void)state;
	fsm_start_syn(&c, &syn, SEC);
	assert_int_equal(fsm_expire(&c, 30 * SEC, &timeouts), 0);
	assert_int_equal(fsm_expire(&c, 31 * SEC + 1, &timeouts), FX_FAILED | FX_EVENT);
	assert_int_equal(c.fail_reason, FAIL_TIMEOUT);
	assert_false(c.seen & SEEN_SIMOPEN);
}

static void test_orphan_synack(void **state)
{
	struct segment s = { .seq = 7000, .ack = 1001, .flags = TCPF_SYN | TCPF_ACK };
	struct conn c;

	(void)state;
	fsm_start_orphan_synack(&c, &s, 2 * SEC);
	assert_int_equal(c.state, CS_SYN_RCVD);
	assert_int_equal(c.isn_orig, 1000);
	assert_true(c.seen & SEEN_ORPHAN);
	assert_true(fsm_start_time(&c) == 2 * SEC);
	assert_true(seg(&c, ORIG, F_ACK, 1001, 7001, 0, 3 * SEC) & FX_HANDSHAKE);
	assert_true(c.t_syn == 0);   /* no SYN: no SYN-based latency */
}

/* ---- the four-way close ---- */

static void test_close_client_first(void **state)
{
	struct conn c;
	__u32 fx;

	(void)state;
	handshake(&c, 1000, 7000);
	/* 1: client FIN (seq=u) -> FIN-WAIT-1 */
	fx = seg(&c, ORIG, F_FIN, 1101, 7201, 0, 10 * SEC);
	assert_int_equal(fx, FX_CLOSE_START);
	assert_int_equal(c.state, CS_FIN_WAIT_1);
	assert_true(c.t_fin == 10 * SEC);
	/* 2: server ACK (ack=u+1) -> FIN-WAIT-2 / CLOSE-WAIT */
	assert_int_equal(seg(&c, RESP, F_ACK, 7201, 1102, 0, 10 * SEC + 1000), 0);
	assert_int_equal(c.state, CS_FIN_WAIT_2);
	/* 3: server FIN (seq=w) -> LAST-ACK */
	assert_int_equal(seg(&c, RESP, F_FIN, 7201, 1102, 0, 11 * SEC), 0);
	assert_int_equal(c.state, CS_LAST_ACK);
	/* 4: client ACK (ack=w+1) -> TIME-WAIT */
	fx = seg(&c, ORIG, F_ACK, 1102, 7202, 0, 11 * SEC + 500);
	assert_int_equal(fx, FX_CLOSED | FX_EVENT);
	assert_int_equal(c.state, CS_TIME_WAIT);
	assert_int_equal(c.outcome, OUT_CLOSED);
	assert_true(c.t_end - c.t_fin == SEC + 500);
	assert_false(c.seen & SEEN_CLOSE_RESP);
	assert_false(c.seen & SEEN_SIMCLOSE);
}

static void test_close_server_first_with_finack(void **state)
{
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	seg(&c, RESP, F_FIN, 7001, 1001, 100, 10 * SEC);       /* data + FIN */
	assert_int_equal(c.state, CS_FIN_WAIT_1);
	assert_true(c.seen & SEEN_CLOSE_RESP);
	assert_int_equal(c.pos_resp, 7102);
	/* The client's FIN also acknowledges the server's: straight to LAST-ACK. */
	seg(&c, ORIG, F_FIN, 1001, 7102, 0, 10 * SEC + 10);
	assert_int_equal(c.state, CS_LAST_ACK);
	assert_true(seg(&c, RESP, F_ACK, 7102, 1002, 0, 10 * SEC + 20) & FX_CLOSED);
	assert_int_equal(c.state, CS_TIME_WAIT);
}

static void test_simultaneous_close(void **state)
{
	struct conn c;
	__u32 fx;

	(void)state;
	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_FIN, 1001, 7001, 0, 10 * SEC);
	/* The server's FIN does not acknowledge the client's: they crossed. */
	fx = seg(&c, RESP, F_FIN, 7001, 1001, 0, 10 * SEC + 5);
	assert_int_equal(fx, FX_SIMCLOSE);
	assert_int_equal(c.state, CS_CLOSING);
	seg(&c, RESP, F_ACK, 7002, 1002, 0, 10 * SEC + 10);
	assert_int_equal(c.state, CS_LAST_ACK);
	assert_true(seg(&c, ORIG, F_ACK, 1002, 7002, 0, 10 * SEC + 20) & FX_CLOSED);
	assert_true(c.seen & SEEN_SIMCLOSE);
}

static void test_half_close(void **state)
{
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_FIN, 1001, 7001, 0, 10 * SEC);
	seg(&c, RESP, F_ACK, 7001, 1002, 0, 10 * SEC);
	/* A retransmission from the closer itself is not a half-close. */
	assert_int_equal(seg(&c, ORIG, F_ACK, 900, 7001, 50, 10 * SEC), 0);
	/* The server keeps sending after the client's FIN. */
	assert_int_equal(seg(&c, RESP, F_ACK, 7001, 1002, 1000, 11 * SEC), FX_HALF_CLOSE);
	assert_int_equal(seg(&c, RESP, F_ACK, 8001, 1002, 1000, 11 * SEC), 0);   /* once */
	assert_int_equal(c.state, CS_FIN_WAIT_2);
	seg(&c, ORIG, F_ACK, 1002, 9001, 0, 11 * SEC);
	seg(&c, RESP, F_FIN, 9001, 1002, 0, 12 * SEC);
	assert_true(seg(&c, ORIG, F_ACK, 1002, 9002, 0, 12 * SEC) & FX_CLOSED);
	assert_true(c.seen & SEEN_HALFCLOSE);
}

static void test_stale_ack_does_not_ack_fin(void **state)
{
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_FIN, 1501, 7001, 0, 10 * SEC);
	seg(&c, RESP, F_ACK, 7001, 1400, 0, 10 * SEC);    /* acks older data only */
	assert_int_equal(c.state, CS_FIN_WAIT_1);
	seg(&c, ORIG, F_FIN, 1501, 7001, 0, 10 * SEC);    /* FIN retransmission */
	assert_int_equal(c.pos_orig, 1502);
	assert_int_equal(c.state, CS_FIN_WAIT_1);
}

/* ---- RST in every state ---- */

static void test_rst_in_each_open_state(void **state)
{
	static const int steps_before_rst[] = { 0, 1, 2, 3 };
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(steps_before_rst) / sizeof(steps_before_rst[0]); i++) {
		struct conn c;
		__u32 fx;

		handshake(&c, 1000, 7000);
		if (steps_before_rst[i] >= 1)
			seg(&c, ORIG, F_FIN, 1001, 7001, 0, 10 * SEC);     /* FIN-WAIT-1 */
		if (steps_before_rst[i] >= 2)
			seg(&c, RESP, F_ACK, 7001, 1002, 0, 10 * SEC);     /* FIN-WAIT-2 */
		if (steps_before_rst[i] >= 3)
			seg(&c, RESP, F_FIN, 7001, 1002, 0, 10 * SEC);     /* LAST-ACK */
		fx = seg(&c, RESP, F_RST, 7002, 0, 0, 11 * SEC);
		assert_int_equal(fx, FX_RESET | FX_EVENT | FX_RELEASE);
		assert_int_equal(c.outcome, OUT_RESET);
		assert_int_equal(c.state, CS_CLOSED);
		assert_int_equal(!!(c.seen & SEEN_RST_AFTER_CLOSE), steps_before_rst[i] == 3);
	}
}

/* ---- TIME-WAIT: 2MSL, RST, reuse ---- */

static void close_to_time_wait(struct conn *c)
{
	handshake(c, 1000, 7000);
	seg(c, ORIG, F_FIN, 1001, 7001, 0, 10 * SEC);
	seg(c, RESP, F_FIN, 7001, 1002, 0, 10 * SEC);
	seg(c, ORIG, F_ACK, 1002, 7002, 0, 10 * SEC);
	assert_int_equal(c->state, CS_TIME_WAIT);
}

static void test_time_wait_expiry(void **state)
{
	struct conn c;

	(void)state;
	close_to_time_wait(&c);
	assert_int_equal(seg(&c, RESP, F_FIN, 7001, 1002, 0, 20 * SEC), 0);   /* FIN retransmitted */
	assert_int_equal(c.state, CS_TIME_WAIT);
	assert_int_equal(fsm_expire(&c, 69 * SEC, &timeouts), 0);
	assert_int_equal(fsm_expire(&c, 70 * SEC, &timeouts), FX_TW_END | FX_RELEASE);
	assert_int_equal(c.state, CS_CLOSED);
}

static void test_time_wait_rst_and_reuse(void **state)
{
	struct conn c;

	(void)state;
	close_to_time_wait(&c);
	assert_int_equal(seg(&c, ORIG, F_RST, 1002, 0, 0, 15 * SEC), FX_TW_END | FX_RELEASE);

	/* A RST far from its sender's position is not believed. */
	close_to_time_wait(&c);
	assert_int_equal(seg(&c, ORIG, F_RST, 1002 + (1u << 20), 0, 0, 15 * SEC), FX_RST_IGNORED);
	assert_int_equal(c.state, CS_TIME_WAIT);

	close_to_time_wait(&c);
	/* Neither a SYN nor its SYN-ACK ends TIME-WAIT: the new connection's
	 * validated third ACK does (fsm_supersede). */
	assert_int_equal(seg(&c, ORIG, F_SYN, 99999, 0, 0, 15 * SEC), 0);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 5, 100000, 0, 15 * SEC), FX_CONTEST);
	assert_int_equal(c.state, CS_TIME_WAIT);
	assert_int_equal(fsm_supersede(&c, 15 * SEC), FX_TW_END | FX_REUSE | FX_RELEASE);
}

/* ---- idle and stuck connections ---- */

static void test_idle_expiry(void **state)
{
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	c.last_active = fsm_coarse(100 * SEC);
	/* Idle time is measured in coarse ticks of 2^30 ns (1.07 s), plus one
	 * tick for the lag of the data path's activity stamp. */
	assert_int_equal(fsm_expire(&c, 3700 * SEC, &timeouts), 0);
	assert_int_equal(fsm_expire(&c, 3704 * SEC, &timeouts), FX_EXPIRED | FX_EVENT | FX_RELEASE);
	/* Short idle timeouts: never expire a flow stamped within the last 2 s. */
	{
		struct fsm_timeouts two = timeouts;

		two.idle_ns = 2 * SEC;
		handshake(&c, 1000, 7000);
		c.last_active = fsm_coarse(100 * SEC);
		assert_int_equal(fsm_expire(&c, 102 * SEC, &two), 0);
		assert_true(fsm_expire(&c, 106 * SEC, &two) & FX_EXPIRED);
	}
	assert_int_equal(c.outcome, OUT_EXPIRED);
	/* A clock behind the stamp (a race between CPUs) never expires anything. */
	handshake(&c, 1000, 7000);
	c.last_active = fsm_coarse(5000 * SEC);
	assert_int_equal(fsm_expire(&c, 100 * SEC, &timeouts), 0);
}

static void test_unacknowledged_fin_expiry(void **state)
{
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_FIN, 1001, 7001, 0, 10 * SEC);
	assert_int_equal(fsm_expire(&c, 129 * SEC, &timeouts), 0);
	assert_true(fsm_expire(&c, 130 * SEC, &timeouts) & FX_EXPIRED);
	assert_int_equal(c.outcome, OUT_EXPIRED);
	/* Both FINs seen, last ACK never: it did close. */
	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_FIN, 1001, 7001, 0, 10 * SEC);
	seg(&c, RESP, F_FIN, 7001, 1002, 0, 10 * SEC);
	assert_int_equal(c.state, CS_LAST_ACK);
	assert_true(fsm_expire(&c, 200 * SEC, &timeouts) & FX_EXPIRED);
	assert_int_equal(c.outcome, OUT_CLOSED);
}

static void test_syn_on_open_connection_is_ignored(void **state)
{
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	assert_int_equal(seg(&c, ORIG, F_SYN, 1000, 0, 0, 2 * SEC), 0);
	/* A late copy of the SYN-ACK is a retransmission, not a new attempt. */
	assert_int_equal(seg(&c, RESP, F_SYNACK, 7000, 1001, 0, 2 * SEC), FX_SYNACK_RETRANS);
	/* Another SYN-ACK may open a new connection on the tuple. */
	assert_int_equal(seg(&c, RESP, F_SYNACK, 9000, 5001, 0, 2 * SEC), FX_CONTEST);
	assert_int_equal(c.state, CS_ESTABLISHED);
}

/* RST before SYN, as the stacks check them: a SYN with RST in the window
 * ends an open connection like any RST; out of it, it is doubted. */
static void test_syn_with_rst_on_open_connection_is_a_rst(void **state)
{
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	assert_int_equal(seg(&c, ORIG, TCPF_SYN | TCPF_RST, 1001 + 0x40000000, 0, 0, 2 * SEC), 0);
	assert_int_equal(c.state, CS_ESTABLISHED);    /* doubted (fsm_open_rst()) */
	assert_int_equal(seg(&c, ORIG, TCPF_SYN | TCPF_RST, 1001, 0, 0, 2 * SEC),
			 FX_RESET | FX_EVENT | FX_RELEASE);
	assert_int_equal(c.outcome, OUT_RESET);
	handshake(&c, 1000, 7000);
	assert_int_equal(seg(&c, RESP, TCPF_SYN | TCPF_ACK | TCPF_RST, 7001, 1001, 0, 2 * SEC),
			 FX_RESET | FX_EVENT | FX_RELEASE);
}

/* What starts a record on a tuple without one: a SYN or a SYN-ACK, with
 * or without the flags a stack ignores there (ECE, CWR, PSH, URG; a
 * SYN-ACK's FIN), but never with RST, and a SYN not with FIN, which a
 * listener drops. */
static void test_what_starts_a_record(void **state)
{
	static const __u8 ignored[] = { 0, TCPF_PSH, 0x20 /* URG */, 0x40 /* ECE */, 0x80 /* CWR */,
					0xc0 };
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(ignored); i++) {
		__u8 f = ignored[i];

		assert_true(fsm_starts_record(TCPF_SYN | f));
		assert_true(fsm_starts_record(TCPF_SYN | TCPF_ACK | f));
		assert_true(fsm_starts_record(TCPF_SYN | TCPF_ACK | TCPF_FIN | f));
		assert_false(fsm_starts_record(TCPF_SYN | TCPF_FIN | f));
		assert_false(fsm_starts_record(TCPF_SYN | TCPF_RST | f));
		assert_false(fsm_starts_record(TCPF_SYN | TCPF_FIN | TCPF_RST | f));
		assert_false(fsm_starts_record(TCPF_SYN | TCPF_ACK | TCPF_RST | f));
		assert_false(fsm_starts_record(TCPF_ACK | f));
		assert_false(fsm_starts_record(TCPF_FIN | f));
		assert_false(fsm_starts_record(TCPF_RST | f));
		assert_false(fsm_starts_record(f));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_valid),
		cmocka_unit_test(test_synack_wrong_ack_is_invalid),
		cmocka_unit_test(test_third_ack_wrong_numbers_is_invalid),
		cmocka_unit_test(test_ack_before_synack_is_ignored),
		cmocka_unit_test(test_syn_retransmission),
		cmocka_unit_test(test_synack_with_other_isn_is_invalid),
		cmocka_unit_test(test_syn_with_new_isn_waits_for_the_synack),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_fast_open),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_reset_during_handshake),
		cmocka_unit_test(test_timeout_and_invalid_expiry),
		cmocka_unit_test(test_tombstone_absorbs_late_retransmissions),
		cmocka_unit_test(test_expiry_ignores_later_stamps),
		cmocka_unit_test(test_fin_during_handshake),
		cmocka_unit_test(test_third_ack_with_data_and_fin),
		cmocka_unit_test(test_simultaneous_open),
		cmocka_unit_test(test_self_connect),
		cmocka_unit_test(test_self_connect_orphan),
		cmocka_unit_test(test_land_syn),
		cmocka_unit_test(test_orphan_synack),
		cmocka_unit_test(test_close_client_first),
		cmocka_unit_test(test_close_server_first_with_finack),
		cmocka_unit_test(test_simultaneous_close),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_stale_ack_does_not_ack_fin),
		cmocka_unit_test(test_rst_in_each_open_state),
		cmocka_unit_test(test_time_wait_expiry),
		cmocka_unit_test(test_time_wait_rst_and_reuse),
		cmocka_unit_test(test_idle_expiry),
		cmocka_unit_test(test_unacknowledged_fin_expiry),
		cmocka_unit_test(test_syn_on_open_connection_is_ignored),
		cmocka_unit_test(test_syn_with_rst_on_open_connection_is_a_rst),
		cmocka_unit_test(test_what_starts_a_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
