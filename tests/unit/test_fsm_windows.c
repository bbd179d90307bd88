// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The state machine's windows, with an injected clock: which RST is
 * plausible at which position (the data gate's block, this host's ACKs,
 * the host socket's RCV.NXT), which ACK acknowledges a FIN exactly, and the
 * payload bytes a connection reports when it closes, resets or fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>
#include "tcpshake/fsm.h"
#include "fsm_dialogue.h"

/* A RST from the originator at seq, with the data gate's block of its
 * sender (abi.h, FLOW_BLOCK_SHIFT). */
static __u32 rst_with_gate(struct conn *c, __u32 seq, __u32 block)
{
	struct segment s = { .seq = seq, .flags = TCPF_RST, .from_orig = 1, .has_gate_block = 1,
			     .gate_block = (__u16)(block & FLOW_BLOCK_MASK) };

	return fsm_segment(c, &s, 2 * SEC);
}

/* The gate's block stands for the sender's position when it is ahead of
 * the record's, by less than FLOW_BLOCK_RUN blocks, across the sequence
 * numbers' wrap too; a block behind, or "ahead" by more, changes nothing. */
static void test_rst_position_from_the_gate(void **state)
{
	const __u32 block = 1u << FLOW_BLOCK_SHIFT;
	static const __u32 isns[] = { 1000, 0xfffe0000u };
	struct conn c;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(isns) / sizeof(isns[0]); i++) {
		__u32 x = isns[i], b = (x + 1) >> FLOW_BLOCK_SHIFT;
		/* Three blocks on from the record's position: in the window
		 * only with the gate's block. */
		__u32 far = ((b + 3) << FLOW_BLOCK_SHIFT) + block / 2;

		assert_true(far - (x + 1) > FSM_RST_WINDOW);
		handshake(&c, x, 7000);
		assert_int_equal(seg(&c, ORIG, F_RST, far, 0, 0, 2 * SEC), 0);   /* doubted */
		handshake(&c, x, 7000);
		assert_true(rst_with_gate(&c, far, b + 3) & FX_RESET);
		/* The gate's block is a floor: a block beyond it is not. */
		handshake(&c, x, 7000);
		assert_int_equal(rst_with_gate(&c, far + block, b + 3), 0);
		/* Behind the record, or a run or more ahead: the record's. */
		handshake(&c, x, 7000);
		assert_true(rst_with_gate(&c, x + 1 + 10, b - 1) & FX_RESET);
		handshake(&c, x, 7000);
		assert_int_equal(rst_with_gate(&c, far, b + FLOW_BLOCK_RUN), 0);
		handshake(&c, x, 7000);
		assert_true(rst_with_gate(&c, x + 1 + 10, b + FLOW_BLOCK_RUN) & FX_RESET);
	}
}

/* RFC 5961 in spirit: a RST from the network must fit its sender's window;
 * one that does not is doubted until the connection goes on or goes
 * silent for the close timeout. */
static void test_rst_plausibility(void **state)
{
	struct segment local_rst = { .seq = 1, .flags = TCPF_RST, .from_orig = 1, .local = 1 };
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_DATA, 1001, 7001, 100, 2 * SEC);
	/* Behind and ahead within the window: believed. */
	assert_true(seg(&c, ORIG, F_RST, 1101 - 1000, 0, 0, 2 * SEC) & FX_RESET);
	handshake(&c, 1000, 7000);
	assert_true(seg(&c, RESP, F_RST, 7001 + FSM_RST_WINDOW - 1, 0, 0, 2 * SEC) & FX_RESET);

	/* Outside: doubted, then contradicted by the doubted sender. */
	handshake(&c, 1000, 7000);
	assert_int_equal(seg(&c, RESP, F_RST, 7001 + FSM_RST_WINDOW, 0, 0, 2 * SEC), 0);
	assert_true(c.seen & SEEN_RST_DOUBT_RESP);
	assert_int_equal(seg(&c, RESP, F_RST, 0x80000000u, 0, 0, 2 * SEC), FX_RST_IGNORED);
	assert_false(fsm_data_fast_path(&c));
	assert_int_equal(seg(&c, RESP, F_DATA, 7001, 1001, 10, 2 * SEC), FX_RST_IGNORED);
	assert_false(c.seen & SEEN_RST_DOUBT);
	assert_int_equal(c.state, CS_ESTABLISHED);

	/* The receiver's segments within the grace may have been in flight. */
	assert_int_equal(seg(&c, RESP, F_RST, 0x80000000u, 0, 0, 3 * SEC), 0);
	assert_int_equal(seg(&c, ORIG, F_DATA, 1001, 7011, 0, 3 * SEC + FSM_RST_GRACE_NS), 0);
	assert_int_equal(seg(&c, ORIG, F_DATA, 1001, 7011, 0, 3 * SEC + FSM_RST_GRACE_NS + 1),
			 FX_RST_IGNORED);

	/* Silence: believed after the close timeout, dated at the RST. */
	assert_int_equal(seg(&c, RESP, F_RST, 0x80000000u, 0, 0, 4 * SEC), 0);
	assert_int_equal(fsm_expire(&c, 4 * SEC + timeouts.close_ns - 1, &timeouts), 0);
	assert_true(fsm_expire(&c, 4 * SEC + timeouts.close_ns, &timeouts) & FX_RESET);
	assert_int_equal(c.t_end, 4 * SEC);
	assert_true(c.seen & SEEN_RST_RESP);

	/* This host's own RSTs are always believed. */
	handshake(&c, 1000, 7000);
	assert_true(fsm_segment(&c, &local_rst, 2 * SEC) & FX_RESET);
}

/* The ACK of a FIN must be exact; a later FIN corrects an unacked one. */
static void test_fin_ack_is_exact(void **state)
{
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_FIN, 5000000, 7001, 0, 2 * SEC);       /* forged */
	assert_int_equal(c.state, CS_FIN_WAIT_1);
	seg(&c, RESP, F_ACK, 7001, 5000002, 0, 2 * SEC);       /* not exact */
	assert_int_equal(c.state, CS_FIN_WAIT_1);
	seg(&c, ORIG, F_FIN, 1001, 7001, 0, 3 * SEC);          /* the real FIN */
	assert_int_equal(c.pos_orig, 1002);
	seg(&c, RESP, F_ACK, 7001, 1002, 0, 3 * SEC);
	assert_int_equal(c.state, CS_FIN_WAIT_2);
}

/* A segment of a connection this host serves: the client's from the
 * network, the server's through egress. */
static __u32 seg_at(struct conn *c, int from_orig, __u8 flags, __u32 seq, __u32 ack, __u32 len,
		    __u64 now)
{
	struct segment s = { .seq = seq, .ack = ack, .payload_len = len, .flags = flags,
			     .from_orig = (__u8)from_orig, .local = !from_orig };

	return fsm_segment(c, &s, now);
}

/* A client RST from the network at seq, with the gate's block of the
 * client's position, set by the server's ACKs or not. */
static __u32 client_rst_gate(struct conn *c, __u32 seq, __u32 block, int acked)
{
	struct segment s = { .seq = seq, .flags = TCPF_RST, .from_orig = 1, .has_gate_block = 1,
			     .gate_block = (__u16)(block & FLOW_BLOCK_MASK), .gate_acked = (__u8)acked };

	return fsm_segment(c, &s, 2 * SEC);
}

/* RFC 5961 for connections of this host: the remote's position is where
 * this host's ACKs put it (its RCV.NXT). Data a blind spoofer sends "from
 * the client", however far it jumps, moves nothing, so its RST at the end
 * of that data is doubted; the server's ACKs move the position, and a RST
 * there is believed. A transit connection (no egress) still takes the
 * position from the sender's own segments: nothing there is unforgeable. */
static void test_rst_window_from_this_hosts_acks(void **state)
{
	const __u32 forged = 1001 + (1u << 28);
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	assert_int_equal(seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC), 0);
	assert_true(c.seen & SEEN_EGRESS_RESP);
	assert_false(c.seen & SEEN_EGRESS_ORIG);
	/* Forged client data far ahead, then a RST at its end: doubted. */
	seg_at(&c, ORIG, F_DATA, forged, 7001, 100, 2 * SEC);
	assert_int_equal(c.pos_orig, 1001);
	assert_int_equal(seg_at(&c, ORIG, F_RST, forged + 100, 0, 0, 2 * SEC), 0);
	assert_true(c.seen & SEEN_RST_DOUBT_ORIG);
	/* The server goes on: the RST was not real. */
	assert_int_equal(seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC + 2 * FSM_RST_GRACE_NS),
			 FX_RST_IGNORED);
	assert_int_equal(c.state, CS_ESTABLISHED);

	/* Real data: the server's ACK moves the client's position, and the
	 * client's RST there is believed. */
	seg_at(&c, ORIG, F_DATA, 1001, 7001, 3000000, 3 * SEC);
	assert_int_equal(c.pos_orig, 1001);
	seg_at(&c, RESP, F_ACK, 7001, 3001001, 0, 3 * SEC);
	assert_int_equal(c.pos_orig, 3001001);
	assert_true(seg_at(&c, ORIG, F_RST, 3001001, 0, 0, 3 * SEC) & FX_RESET);

	/* A RST may be ahead of the server's ACKs by what it has not
	 * acknowledged yet: up to FSM_RST_AHEAD_OF_ACKS. */
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	assert_true(seg_at(&c, ORIG, F_RST, 1001 + FSM_RST_AHEAD_OF_ACKS - 1, 0, 0, 2 * SEC) &
		    FX_RESET);
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	assert_int_equal(seg_at(&c, ORIG, F_RST, 1001 + FSM_RST_AHEAD_OF_ACKS, 0, 0, 2 * SEC), 0);
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	assert_int_equal(seg_at(&c, ORIG, F_RST, 1001 - FSM_RST_WINDOW - 1, 0, 0, 2 * SEC), 0);

	/* The gate's block (three blocks on) counts when the server's ACKs
	 * set it. */
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	assert_int_equal(client_rst_gate(&c, 3u << FLOW_BLOCK_SHIFT, 3, 0), 0);
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	assert_true(client_rst_gate(&c, 3u << FLOW_BLOCK_SHIFT, 3, 1) & FX_RESET);

	/* A client FIN sets its position only once the server acknowledged it. */
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	seg_at(&c, ORIG, F_FIN, forged, 7001, 0, 2 * SEC);
	assert_int_equal(seg_at(&c, ORIG, F_RST, forged + 1, 0, 0, 2 * SEC), 0);
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	seg_at(&c, ORIG, F_FIN, 1001, 7001, 0, 2 * SEC);
	seg_at(&c, RESP, F_ACK, 7001, 1002, 0, 2 * SEC);
	assert_int_equal(c.state, CS_FIN_WAIT_2);
	assert_true(seg_at(&c, ORIG, F_RST, 1002, 0, 0, 2 * SEC) & FX_RESET);

	/* The server's own RSTs need no window. */
	handshake(&c, 1000, 7000);
	assert_true(seg_at(&c, RESP, F_RST, 0x80000000u, 0, 0, 2 * SEC) & FX_RESET);

	/* Transit: the same forged data moves the position (accepted,
	 * docs/design.md). */
	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_DATA, forged, 7001, 100, 2 * SEC);
	assert_int_equal(c.pos_orig, forged + 100);
	assert_true(seg(&c, ORIG, F_RST, forged + 100, 0, 0, 2 * SEC) & FX_RESET);
}

/* A client RST from the network at seq, with the server socket's RCV.NXT
 * and backlog bytes as the hook read them from the server's kernel. */
static __u32 client_rst_socket(struct conn *c, __u32 seq, __u32 rcv_nxt, __u32 backlog)
{
	struct segment s = { .seq = seq, .flags = TCPF_RST, .from_orig = 1, .marks = PKT_HOST_RCV_KNOWN,
			     .host_rcv_nxt = rcv_nxt, .host_backlog = backlog };

	return fsm_segment(c, &s, 2 * SEC);
}

static __u32 client_rst_rcv_nxt(struct conn *c, __u32 seq, __u32 rcv_nxt)
{
	return client_rst_socket(c, seq, rcv_nxt, 0);
}

/* A connection of this host whose RST the kernel checks at its socket's
 * RCV.NXT: the server received 3 MB it has not acknowledged (a delayed
 * ACK, an application that does not read), then the client aborts. The
 * ACKs alone would doubt that RST; the socket's RCV.NXT, which only data
 * the kernel took in order moves, believes it, and still doubts a RST
 * anywhere else: after forged data, at a forged FIN. */
static void test_rst_window_from_the_hosts_socket(void **state)
{
	const __u32 unacked = 1001 + 3000000, forged = 1001 + (1u << 28);
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	seg_at(&c, ORIG, F_DATA, 1001, 7001, 3000000, 2 * SEC);
	assert_int_equal(seg_at(&c, ORIG, F_RST, unacked, 0, 0, 2 * SEC), 0);
	assert_true(c.seen & SEEN_RST_DOUBT_ORIG);
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	seg_at(&c, ORIG, F_DATA, 1001, 7001, 3000000, 2 * SEC);
	assert_true(client_rst_rcv_nxt(&c, unacked, unacked) & FX_RESET);
	assert_int_equal(c.outcome, OUT_RESET);
	/* Ahead of RCV.NXT by a NAPI batch the stack has not taken yet, or
	 * behind it (a RST answering a segment): believed; further: doubted. */
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	assert_true(client_rst_rcv_nxt(&c, unacked + FSM_RST_AHEAD_OF_ACKS - 1, unacked) & FX_RESET);
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	assert_int_equal(client_rst_rcv_nxt(&c, unacked + FSM_RST_AHEAD_OF_ACKS, unacked), 0);
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	assert_int_equal(client_rst_rcv_nxt(&c, unacked - FSM_RST_WINDOW - 1, unacked), 0);
	/* Forged data does not move the kernel's RCV.NXT: the RST after it
	 * is doubted, as with the ACKs alone. */
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	seg_at(&c, ORIG, F_DATA, forged, 7001, 100, 2 * SEC);
	assert_int_equal(client_rst_rcv_nxt(&c, forged + 100, 1001), 0);
	assert_true(c.seen & SEEN_RST_DOUBT_ORIG);
	/* A FIN the kernel took (RCV.NXT past it) needs no ACK of it; a
	 * forged FIN moves nothing. */
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	seg_at(&c, ORIG, F_FIN, 1001, 7001, 0, 2 * SEC);
	assert_true(client_rst_rcv_nxt(&c, 1002, 1002) & FX_RESET);
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	seg_at(&c, ORIG, F_FIN, forged, 7001, 0, 2 * SEC);
	assert_int_equal(client_rst_rcv_nxt(&c, forged + 1, 1001), 0);
	/* Segments waiting in the socket's backlog (its application holds
	 * it) move RCV.NXT before the RST: the window ahead grows by them, up
	 * to FSM_RST_BACKLOG_MAX. */
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	assert_int_equal(client_rst_socket(&c, unacked + FSM_RST_AHEAD_OF_ACKS + 65536, unacked,
					   65536), 0);
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	assert_true(client_rst_socket(&c, unacked + FSM_RST_AHEAD_OF_ACKS + 65535, unacked, 65536) &
		    FX_RESET);
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_ACK, 7001, 1001, 0, 2 * SEC);
	assert_int_equal(client_rst_socket(&c, unacked + FSM_RST_AHEAD_OF_ACKS + FSM_RST_BACKLOG_MAX,
					   unacked, 0xffffffffu), 0);
	/* Transit (no egress): a socket's number means nothing there. */
	handshake(&c, 1000, 7000);
	assert_int_equal(client_rst_rcv_nxt(&c, 1001 + (1u << 24), 1001 + (1u << 24)), 0);
}

/* ---- payload bytes (fsm_payload_sent) ---- */

static __u64 sent(const struct conn *c, int orig)
{
	__u64 n = 0;

	return fsm_payload_sent(c, orig, &n) ? n : ~0ull;   /* ~0: unknown (null) */
}

/* Each side's count is exact once its FIN froze its position, and unknown
 * before: the record holds samples then. */
static void test_payload_bytes_of_a_close(void **state)
{
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	assert_int_equal(sent(&c, ORIG), ~0ull);
	assert_int_equal(sent(&c, RESP), ~0ull);
	seg(&c, ORIG, F_DATA, 1001, 7001, 500, 2 * SEC);
	seg(&c, RESP, F_DATA, 7001, 1501, 3000, 2 * SEC);
	seg(&c, ORIG, F_FIN, 1501, 10001, 0, 3 * SEC);
	assert_int_equal(sent(&c, ORIG), 500);
	assert_int_equal(sent(&c, RESP), ~0ull);
	seg(&c, RESP, F_FIN, 10001, 1502, 0, 3 * SEC);
	assert_int_equal(seg(&c, ORIG, F_ACK, 1502, 10002, 0, 3 * SEC) & FX_CLOSED, FX_CLOSED);
	assert_int_equal(sent(&c, ORIG), 500);
	assert_int_equal(sent(&c, RESP), 3000);
}

/* Past 4 GiB: samples 2^29 apart carry the position over the ISN several
 * times; the FIN's count is the whole transfer. A FIN that carries data
 * counts it. */
static void test_payload_bytes_past_4_gib(void **state)
{
	const __u32 x = 0xfffff000u, step = 1u << 29;
	__u32 seq = x + 1;
	struct conn c;
	int i;

	(void)state;
	handshake(&c, x, 7000);
	for (i = 0; i < 21; i++) {
		seg(&c, ORIG, F_DATA, seq + step - 1448, 7001, 1448, 2 * SEC);
		seq += step;
	}
	assert_int_equal(c.wraps_orig, 2);
	seg(&c, ORIG, F_FIN, seq, 7001, 100, 3 * SEC);
	assert_int_equal(sent(&c, ORIG), 21ull * step + 100);
	/* A client that only sent a FIN sent nothing. */
	handshake(&c, x, 7000);
	seg(&c, ORIG, F_FIN, x + 1, 7001, 0, 3 * SEC);
	assert_int_equal(sent(&c, ORIG), 0);
	assert_int_equal(c.wraps_orig, 0);
}

/* A FIN nobody acknowledged is replaced by a later one: a forged FIN far
 * ahead (past the ISN) leaves no wrap behind. */
static void test_payload_bytes_after_a_forged_fin(void **state)
{
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_FIN, 1000 + 0xc0000000u, 7001, 0, 2 * SEC);
	seg(&c, ORIG, F_FIN, 1000 + 0x80000000u, 7001, 0, 2 * SEC);
	seg(&c, ORIG, F_FIN, 1001 + 4000, 7001, 0, 2 * SEC);
	assert_int_equal(c.wraps_orig, 0);
	assert_int_equal(sent(&c, ORIG), 4000);
}

/* An abort (RST with ACK) believed at once ends its sender's data: its
 * sequence number, or the position when that is ahead (data seen after the
 * RST was made). Its receiver's count stays unknown; a doubted RST fixes
 * nothing, and neither does a RST without ACK, which repeats the ack of
 * the segment it answers. This host's own abort is exact even where
 * forged ACKs pushed its position ahead. */
static void test_payload_bytes_of_a_reset(void **state)
{
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_DATA, 1001, 7001, 700, 2 * SEC);
	assert_true(seg(&c, ORIG, F_RSTACK, 1701, 7001, 0, 2 * SEC) & FX_RESET);
	assert_int_equal(sent(&c, ORIG), 700);
	assert_int_equal(sent(&c, RESP), ~0ull);

	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_DATA, 1001, 7001, 700, 2 * SEC);
	assert_true(seg(&c, ORIG, F_RSTACK, 1001, 7001, 0, 2 * SEC) & FX_RESET);
	assert_int_equal(sent(&c, ORIG), 700);

	handshake(&c, 1000, 7000);
	seg(&c, ORIG, F_DATA, 1001, 7001, 700, 2 * SEC);
	assert_true(seg(&c, ORIG, F_RST, 1701, 0, 0, 2 * SEC) & FX_RESET);
	assert_int_equal(sent(&c, ORIG), ~0ull);

	handshake(&c, 1000, 7000);
	assert_int_equal(seg(&c, ORIG, F_RST, 1001 + (1u << 20), 0, 0, 2 * SEC), 0);
	assert_true(c.seen & SEEN_RST_DOUBT_ORIG);
	assert_true(fsm_expire(&c, 2 * SEC + timeouts.close_ns, &timeouts) & FX_RESET);
	assert_int_equal(sent(&c, ORIG), ~0ull);

	/* The server is this host (its segments are local): a forged client
	 * ACK moves its position, its own RST puts it back. */
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_DATA, 7001, 1001, 100, 2 * SEC);
	seg_at(&c, ORIG, F_ACK, 1001, 7101 + 50000, 0, 2 * SEC);
	assert_int_equal(c.pos_resp, 7101 + 50000);
	assert_true(seg_at(&c, RESP, F_RSTACK, 7101, 1001, 0, 2 * SEC) & FX_RESET);
	assert_int_equal(sent(&c, RESP), 100);
	/* This host's RST without ACK answers a segment of a socket it no
	 * longer has: its sequence number is not its position. */
	handshake(&c, 1000, 7000);
	seg_at(&c, RESP, F_DATA, 7001, 1001, 100, 2 * SEC);
	assert_true(seg_at(&c, RESP, F_RST, 7001, 0, 0, 2 * SEC) & FX_RESET);
	assert_int_equal(c.pos_resp, 7101);
	assert_int_equal(sent(&c, RESP), ~0ull);
}

/* A client aborts an upload whose last 300 kB were lost before the
 * server's hook: its abort is far ahead of the server socket's RCV.NXT,
 * doubted (the server's kernel answers it with a challenge ACK); the
 * client, whose socket is gone, answers that ACK with a RST at the hole,
 * which ends the connection. What the client sent is unknown: the RST
 * that ended it says what the server received. */
static void test_reset_after_a_lost_tail(void **state)
{
	const __u32 hole = 1001 + 5000000, abort_seq = hole + 300000;
	struct segment abort_rst = { .seq = abort_seq, .ack = 7001, .flags = F_RSTACK, .from_orig = 1,
				     .marks = PKT_HOST_RCV_KNOWN, .host_rcv_nxt = hole };
	struct segment answer = { .seq = hole, .flags = F_RST, .from_orig = 1,
				  .marks = PKT_HOST_RCV_KNOWN, .host_rcv_nxt = hole };
	struct conn c;

	(void)state;
	handshake(&c, 1000, 7000);
	seg_at(&c, ORIG, F_DATA, 1001, 7001, 5000000, 2 * SEC);
	seg_at(&c, RESP, F_ACK, 7001, hole, 0, 2 * SEC);
	assert_int_equal(fsm_segment(&c, &abort_rst, 2 * SEC), 0);
	assert_true(c.seen & SEEN_RST_DOUBT_ORIG);
	assert_int_equal(seg_at(&c, RESP, F_ACK, 7001, hole, 0, 2 * SEC + 10000), 0);
	assert_int_equal(fsm_segment(&c, &answer, 2 * SEC + 20000), FX_RESET | FX_EVENT | FX_RELEASE);
	assert_int_equal(c.outcome, OUT_RESET);
	assert_int_equal(sent(&c, ORIG), ~0ull);
	assert_int_equal(sent(&c, RESP), ~0ull);
}

/* An attempt that never completed sent its SYN's data and nothing else; an
 * established event knows nothing final yet. */
static void test_payload_bytes_of_attempts(void **state)
{
	struct segment s = { .seq = 1000, .flags = TCPF_SYN, .payload_len = 10, .from_orig = 1 };
	struct conn c;

	(void)state;
	fsm_start_syn(&c, &s, SEC);
	assert_true(seg(&c, RESP, F_RSTACK, 0, 1011, 0, SEC) & FX_FAILED);
	assert_int_equal(sent(&c, ORIG), 10);
	assert_int_equal(sent(&c, RESP), 0);
	fsm_start_syn(&c, &s, SEC);
	assert_int_equal(seg(&c, RESP, F_SYNACK, 7000, 1011, 0, SEC), FX_SYNACK_FIRST);
	assert_true(seg(&c, ORIG, F_ACK, 1011, 7001, 0, SEC) & FX_HANDSHAKE);
	assert_int_equal(sent(&c, ORIG), ~0ull);
	seg(&c, ORIG, F_FIN, 1011, 7001, 0, 2 * SEC);
	assert_int_equal(sent(&c, ORIG), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rst_plausibility),
		cmocka_unit_test(test_rst_position_from_the_gate),
		cmocka_unit_test(test_fin_ack_is_exact),
		cmocka_unit_test(test_rst_window_from_this_hosts_acks),
		cmocka_unit_test(test_rst_window_from_the_hosts_socket),
		cmocka_unit_test(test_payload_bytes_of_a_close),
		cmocka_unit_test(test_payload_bytes_past_4_gib),
		cmocka_unit_test(test_payload_bytes_after_a_forged_fin),
		cmocka_unit_test(test_payload_bytes_of_a_reset),
		cmocka_unit_test(test_reset_after_a_lost_tail),
		cmocka_unit_test(test_payload_bytes_of_attempts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
