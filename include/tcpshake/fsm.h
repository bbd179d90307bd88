/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The per-connection TCP state machine, as seen from the wire between the two
 * endpoints. Pure C: no BPF helpers, no globals, the clock is an argument.
 * The same functions run in the BPF programs, in the cmocka tests and in any
 * native consumer (offline replay).
 *
 * A record follows one connection attempt:
 *
 *   SYN (orig, seq=x)              -> SYN_SENT
 *   SYN-ACK (resp, seq=y, ack=x+1) -> SYN_RCVD      half-open
 *   ACK (orig, seq=x+1, ack=y+1)   -> ESTABLISHED   the only valid completion
 *   FIN (closer)                   -> FIN_WAIT_1
 *   ACK of that FIN                -> FIN_WAIT_2    (peer in CLOSE-WAIT)
 *   FIN (peer)                     -> LAST_ACK      (CLOSING if FINs cross)
 *   ACK of the peer's FIN          -> TIME_WAIT     closer waits 2MSL
 *
 * Every function returns FX_* effect bits; the caller (BPF table code or a
 * native driver) turns them into counters, histograms, events and table
 * operations. State changes are visible as the difference between the
 * record's state before and after the call.
 *
 * Packets may lie (docs/design.md, "Spoofed and stale packets"): a segment
 * only changes what is reported when a blind sender could not have forged
 * it. A handshake is validated by its ISNs; a RST from the network must lie
 * within FSM_RST_WINDOW of its sender's position (for a connection of this
 * host: where this host's ACKs put it), else it is doubted until
 * the connection goes on (ignored) or stays silent (believed); a FIN's ACK
 * must be exact; a new ISN, a reverse SYN or a SYN-ACK on an open tuple
 * change nothing until a validated answer confirms them.
 */
#ifndef TCPSHAKE_FSM_H
#define TCPSHAKE_FSM_H

#include "tcpshake/fsm_base.h"

/* ---- record creation ---- */

/* A SYN without a record: the sender is the originator. */
static inline void fsm_start_syn(struct conn *c, const struct segment *s, __u64 now)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->t_syn = now;
	c->isn_orig = s->seq;
	c->syn_len = s->payload_len > 0xffff ? 0xffff : (__u16)s->payload_len;
	c->pos_orig = s->seq + 1 + c->syn_len;
	c->state = CS_SYN_SENT;
	c->seen = SEEN_SYN | (s->local ? SEEN_EGRESS_ORIG : 0);
	c->last_active = fsm_coarse(now);
	/* A SYN to itself is the responder's SYN too (fsm_segment): the
	 * two SYNs of a simultaneous open, with one ISN. */
	if (s->self) {
		c->seen |= SEEN_SELF | SEEN_SIMOPEN_CAND | (s->local ? SEEN_EGRESS_RESP : 0);
		c->isn_resp = s->seq;
	}
}

/* A SYN-ACK without a record (its SYN was not seen, or was evicted): the
 * receiver is the originator; its ISN is what the SYN-ACK acknowledges. */
static inline void fsm_start_orphan_synack(struct conn *c, const struct segment *s, __u64 now)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->t_synack = now;
	c->isn_orig = s->ack - 1;
	c->isn_resp = s->seq;
	c->pos_orig = s->ack;
	c->pos_resp = s->seq + 1;
	c->state = CS_SYN_RCVD;
	c->seen = SEEN_SYNACK | SEEN_ORPHAN | (s->local ? SEEN_EGRESS_RESP : 0);
	c->last_active = fsm_coarse(now);
	/* Sent to itself: the originator's segments from here are the
	 * responder's too (fsm_again_as_peer), as in fsm_start_syn(). */
	if (s->self)
		c->seen |= SEEN_SELF | (s->local ? SEEN_EGRESS_ORIG : 0);
}

/* The SYN of fsm_starts_record(): without ACK, FIN or RST. One mask:
 * track_slow() tests it, and two branches on the flags there kept the
 * verifier from pruning what follows (each packet program's verified
 * instructions doubled). */
static inline int fsm_bare_syn(__u8 flags)
{
	return (flags & (TCPF_SYN | TCPF_ACK | TCPF_FIN | TCPF_RST)) == TCPF_SYN;
}

/* Whether a segment of a tuple with no record starts one: a SYN, or a
 * SYN-ACK (an orphan: its SYN was not seen). Not with RST: a listener
 * drops a SYN with RST, and a SYN-ACK with RST is a RST. Nor a SYN with
 * FIN: a listener drops it as well (Linux, tcp_rcv_state_process();
 * FreeBSD, net.inet.tcp.drop_synfin), so no handshake follows it, only a
 * scan. Once an attempt exists, its SYN with FIN is a copy of its SYN, as
 * the kernel's request socket takes it. */
static inline int fsm_starts_record(__u8 flags)
{
	return fsm_bare_syn(flags) ||
	       (flags & (TCPF_SYN | TCPF_ACK | TCPF_RST)) == (TCPF_SYN | TCPF_ACK);
}

/* When the record's story started: the SYN, or the SYN-ACK for orphans. */
static inline __u64 fsm_start_time(const struct conn *c)
{
	return c->t_syn ? c->t_syn : c->t_synack;
}

/* ---- failure and completion helpers ---- */

static inline __u32 fsm_fail(struct conn *c, __u8 reason, __u8 outcome, __u64 now)
{
	c->fail_reason = reason;
	c->outcome = outcome;
	c->t_end = now;
	c->state = CS_CLOSED;
	return FX_FAILED | FX_EVENT | FX_RELEASE;
}

/* An attempt that ends unanswered: unreachable if its last answer drew an
 * error that made the responder give it up (fsm_synack_error), invalid if
 * all we saw were bad answers. */
static inline __u32 fsm_fail_unanswered(struct conn *c, __u64 now)
{
	if (c->seen & SEEN_SYNACK_LOST)
		return fsm_fail(c, FAIL_UNREACHABLE, OUT_UNREACHABLE, now);
	if (c->seen & SEEN_INVALID)
		return fsm_fail(c, FAIL_INVALID, OUT_INVALID, now);
	return fsm_fail(c, FAIL_TIMEOUT, OUT_TIMEOUT, now);
}

static inline __u32 fsm_establish(struct conn *c, __u64 now)
{
	c->t_established = now;
	c->seen |= SEEN_ACK3;
	c->state = CS_ESTABLISHED;
	c->outcome = OUT_ESTABLISHED;
	return FX_HANDSHAKE | FX_EVENT;
}

/* Does ack acknowledge the originator's SYN (and Fast Open data, if any)? */
static inline int fsm_acks_syn(const struct conn *c, __u32 ack)
{
	return ack == c->isn_orig + 1 || (c->syn_len && ack == c->isn_orig + 1 + c->syn_len);
}

/* ---- handshake phase ---- */

static inline __u32 fsm_handshake_rst(struct conn *c, const struct segment *s, __u64 now)
{
	if (!s->from_orig) {
		/* SYN answered by RST: acceptable only if it acknowledges the SYN. */
		if (c->state == CS_SYN_SENT && !(c->seen & SEEN_SIMOPEN)) {
			if (!(s->flags & TCPF_ACK) || !fsm_acks_syn(c, s->ack))
				return 0;
			c->seen |= SEEN_RST_RESP;
			return fsm_fail(c, FAIL_REFUSED, OUT_REFUSED, now);
		}
		if (s->seq != c->isn_resp + 1 && s->seq != c->isn_resp)
			return 0;
		c->seen |= SEEN_RST_RESP;
		return fsm_fail(c, FAIL_RESET, OUT_RESET, now);
	}
	if (s->seq != c->isn_orig + 1 && s->seq != c->isn_orig + 1 + c->syn_len)
		return 0;
	c->seen |= SEEN_RST_ORIG;
	return fsm_fail(c, FAIL_RESET, OUT_RESET, now);
}

static inline __u32 fsm_handshake_syn(struct conn *c, const struct segment *s)
{
	if (s->from_orig) {
		if (s->seq == c->isn_orig || ((c->seen & SEEN_ALT_ISN) && s->seq == c->isn_alt)) {
			if (c->syn_retransmits < 255)
				c->syn_retransmits++;
			return FX_SYN_RETRANS;
		}
		/* A new ISN does not end the attempt: it may be forged. The
		 * SYN-ACK's ack decides which of the two was real. */
		c->isn_alt = s->seq;
		c->seen |= SEEN_ALT_ISN;
		return 0;
	}
	/* A SYN from the other side: the two SYNs crossed, or it is forged.
	 * Only the SYN-ACKs that follow can tell (fsm_handshake_synack). */
	if (c->seen & SEEN_SIMOPEN_CAND)
		return s->seq == c->isn_resp ? FX_SYN_RETRANS : 0;
	if (c->state != CS_SYN_SENT || (c->seen & SEEN_ORPHAN))
		return 0;
	c->seen |= SEEN_SIMOPEN_CAND;
	c->isn_resp = s->seq;
	return 0;
}

/* A SYN-ACK acknowledging the other ISN of the originator: the second SYN
 * was the real one. Before any valid SYN-ACK the attempt simply adopts it;
 * after one, it is a new attempt on the tuple. */
static inline __u32 fsm_adopt_alt_isn(struct conn *c)
{
	if (c->seen & SEEN_SYNACK)
		return FX_NEW_ATTEMPT;
	c->isn_orig = c->isn_alt;
	c->syn_len = 0;
	c->pos_orig = c->isn_alt + 1;
	c->seen &= ~SEEN_ALT_ISN;
	return 0;
}

/* After fsm_synack_error(), a SYN-ACK that acknowledges the SYN answers
 * it again: its request was kept after all (a copy of the SYN-ACK), or the
 * originator's next copy of its SYN made a new one (a new ISN). Half-open
 * again; the SYN-ACK stage still counts from the first SYN-ACK, as after
 * a retransmitted one. */
static inline __u32 fsm_synack_again(struct conn *c)
{
	if (!(c->seen & SEEN_SYNACK_LOST))
		return 0;
	c->seen &= ~SEEN_SYNACK_LOST;
	c->state = CS_SYN_RCVD;
	return FX_HALF_OPEN_MOVED;
}

static inline __u32 fsm_handshake_synack(struct conn *c, const struct segment *s, __u64 now)
{
	__u32 fx = 0;

	if (!s->from_orig) {
		if (c->seen & SEEN_SYNACK) {
			if (s->seq == c->isn_resp && fsm_acks_syn(c, s->ack)) {
				if (c->synack_retransmits < 255)
					c->synack_retransmits++;
				return FX_SYNACK_RETRANS | fsm_synack_again(c);
			}
			if ((c->seen & SEEN_ALT_ISN) && s->ack == c->isn_alt + 1)
				return fsm_adopt_alt_isn(c);
			if ((c->seen & SEEN_SYNACK_LOST) && fsm_acks_syn(c, s->ack)) {
				c->isn_resp = s->seq;
				c->pos_resp = s->seq + 1;
				return fsm_synack_again(c);
			}
			c->seen |= SEEN_INVALID;
			return FX_INVALID;
		}
		if (!fsm_acks_syn(c, s->ack)) {
			if (!(c->seen & SEEN_ALT_ISN) || s->ack != c->isn_alt + 1) {
				c->seen |= SEEN_INVALID;
				return FX_INVALID;
			}
			fsm_adopt_alt_isn(c);
		}
		/* The responder's SYN-ACK repeats its own SYN's ISN in a
		 * simultaneous open; any other reverse SYN was not its own. */
		if ((c->seen & SEEN_SIMOPEN_CAND) && s->seq != c->isn_resp)
			c->seen &= ~SEEN_SIMOPEN_CAND;
		c->isn_resp = s->seq;
		c->pos_resp = s->seq + 1;
		c->seen |= SEEN_SYNACK;
	} else {
		/* Only a simultaneous open has the originator send a SYN-ACK. */
		if (!(c->seen & SEEN_SIMOPEN_CAND) || s->seq != c->isn_orig ||
		    s->ack != c->isn_resp + 1) {
			c->seen |= SEEN_INVALID;
			return FX_INVALID;
		}
		if (c->seen & SEEN_SIMACK_ORIG)
			return FX_SYNACK_RETRANS;
		c->seen |= SEEN_SIMACK_ORIG;
		c->pos_resp = s->ack;
	}
	if (!c->t_synack) {
		c->t_synack = now;
		fx |= FX_SYNACK_FIRST;
	}
	/* A simultaneous open is one when both SYN-ACKs validate it. */
	if ((c->seen & SEEN_SIMOPEN_CAND) &&
	    (c->seen & (SEEN_SYNACK | SEEN_SIMACK_ORIG)) == (SEEN_SYNACK | SEEN_SIMACK_ORIG)) {
		c->seen |= SEEN_SIMOPEN;
		return fx | FX_SIMOPEN | fsm_establish(c, now);
	}
	c->state = CS_SYN_RCVD;
	return fx;
}

/* The third ACK: seq = x+1 (plus Fast Open data), ack = y+1, from the originator. */
static inline __u32 fsm_handshake_ack(struct conn *c, const struct segment *s, __u64 now)
{
	if (!s->from_orig || c->state != CS_SYN_RCVD)
		return 0;
	if (s->ack == c->isn_resp + 1 &&
	    (s->seq == c->isn_orig + 1 || s->seq == c->isn_orig + 1 + c->syn_len))
		return fsm_establish(c, now);
	c->seen |= SEEN_INVALID;
	return FX_INVALID;
}

/* ---- connection phase ---- */

static inline __u32 fsm_derive_close_state(__u32 seen)
{
	__u32 fin_closer = (seen & SEEN_CLOSE_RESP) ? SEEN_FIN_RESP : SEEN_FIN_ORIG;
	__u32 ack_closer = (seen & SEEN_CLOSE_RESP) ? SEEN_FINACK_RESP : SEEN_FINACK_ORIG;
	__u32 both_acked = SEEN_FINACK_ORIG | SEEN_FINACK_RESP;
	__u32 both_fins = SEEN_FIN_ORIG | SEEN_FIN_RESP;

	if ((seen & both_acked) == both_acked)
		return CS_TIME_WAIT;
	if ((seen & both_fins) == both_fins)
		return (seen & ack_closer) ? CS_LAST_ACK : CS_CLOSING;
	if (seen & fin_closer)
		return (seen & ack_closer) ? CS_FIN_WAIT_2 : CS_FIN_WAIT_1;
	return CS_ESTABLISHED;
}

/* Whether the sender's position comes from this host's ACKs alone: the
 * segment came from the network to a connection of this host (its peer's
 * segments left through egress). That is the receiver's RCV.NXT, which
 * RFC 5961 checks a RST against; the sender's own sequence numbers, which
 * a blind spoofer chooses, move nothing. */
static inline int fsm_position_from_acks(const struct conn *c, const struct segment *s)
{
	return !s->local && (c->seen & (s->from_orig ? SEEN_EGRESS_RESP : SEEN_EGRESS_ORIG));
}

/* A connection of this host: segments of one of its sides left through
 * egress. */
static inline int fsm_host_connection(const struct conn *c)
{
	return !!(c->seen & (SEEN_EGRESS_ORIG | SEEN_EGRESS_RESP));
}

/* 1 when a move from one sequence position to another passes base going
 * forward, -1 going back, else 0. A real move is less than FSM_POS_JUMP
 * (the data fast path samples a stream at least every FLOW_BLOCK_RUN
 * blocks, abi.h); a longer one (a forged FIN's) counts 0, so the real FIN
 * that puts the position back leaves the count as it was. */
static inline int fsm_wraps_passed(__u32 from, __u32 to, __u32 base)
{
	__u32 ahead = to - from, back = from - to;

	if (ahead < FSM_POS_JUMP)
		return base - from - 1 < ahead;
	if (back < FSM_POS_JUMP)
		return -(from - base < back);
	return 0;
}

/* Sets a side's sequence position and counts its passes over the side's
 * ISN + 1 in its wraps, so that its bytes (fsm_payload_sent) stay exact
 * past 4 GiB. A branch per side, not pointers to the side's fields: those
 * grew conn_step()'s frame by 32 bytes, past the programs' 512-byte call
 * chain (docs/design.md, "Payload bytes per connection"). */
static inline void fsm_move_pos(struct conn *c, int orig, __u32 to)
{
	if (orig) {
		c->wraps_orig += fsm_wraps_passed(c->pos_orig, to, c->isn_orig + 1);
		c->pos_orig = to;
	} else {
		c->wraps_resp += fsm_wraps_passed(c->pos_resp, to, c->isn_resp + 1);
		c->pos_resp = to;
	}
}

/* Moves a sampled sequence position forward (see FSM_POS_JUMP). */
static inline void fsm_advance(struct conn *c, int orig, __u32 to)
{
	__u32 pos = orig ? c->pos_orig : c->pos_resp;

	if (to - pos - 1 < FSM_POS_JUMP - 1)
		fsm_move_pos(c, orig, to);
}

/* The sender's position a RST is checked against: the record's, or the
 * start of the block the gate holds when that is ahead of it (by less than
 * FLOW_BLOCK_RUN blocks; further "ahead" is behind, modulo the block
 * numbers). Where the position comes from this host's ACKs, only a block
 * they set counts. */
static inline __u32 fsm_sender_position(const struct conn *c, const struct segment *s)
{
	__u32 pos = s->from_orig ? c->pos_orig : c->pos_resp;
	__u32 block = pos >> FLOW_BLOCK_SHIFT, ahead;

	if (!s->has_gate_block || (!s->gate_acked && fsm_position_from_acks(c, s)))
		return pos;
	ahead = (s->gate_block - block) & FLOW_BLOCK_MASK;
	if (ahead == 0 || ahead >= FLOW_BLOCK_RUN)
		return pos;
	return (block + ahead) << FLOW_BLOCK_SHIFT;
}

/* Could the sender of this RST have produced it? Our own host's RSTs are
 * real; one from the network must fall in its sender's window. */
static inline int fsm_rst_plausible(const struct conn *c, const struct segment *s)
{
	__u32 fin = s->from_orig ? SEEN_FIN_ORIG : SEEN_FIN_RESP;
	__u32 finack = s->from_orig ? SEEN_FINACK_ORIG : SEEN_FINACK_RESP;
	__u32 pos = fsm_sender_position(c, s), ahead = FSM_RST_WINDOW;

	if (s->local)
		return 1;
	if (fsm_position_from_acks(c, s)) {
		/* The receiving socket's RCV.NXT, where the host's kernel checks
		 * the RST itself, when the hook could read it: exact, and ahead
		 * of the ACKs by all it received and did not acknowledge yet (a
		 * delayed ACK, a receiver that does not read, megabytes). Else
		 * the position a FIN of the sender set counts once this host's
		 * ACK took it: the FIN too may be forged. */
		if (s->marks & PKT_HOST_RCV_KNOWN)
			pos = s->host_rcv_nxt;
		else if ((c->seen & (fin | finack)) == fin)
			return 0;
		/* Both trail the sender by what arrived and was not processed
		 * yet (a NAPI batch the XDP hook sees before the stack; what
		 * waits in the socket's backlog while its application holds
		 * it, which the kernel takes in before this RST), the ACKs also
		 * by a delayed ACK. */
		ahead = FSM_RST_AHEAD_OF_ACKS;
		if (s->marks & PKT_HOST_RCV_KNOWN)
			ahead += s->host_backlog < FSM_RST_BACKLOG_MAX ? s->host_backlog
								       : FSM_RST_BACKLOG_MAX;
	}
	/* Behind too: a RST answering a segment carries that segment's ack. */
	return s->seq - pos + FSM_RST_WINDOW < FSM_RST_WINDOW + ahead;
}

static inline __u32 fsm_reset(struct conn *c, int from_orig, __u64 when)
{
	if ((c->seen & (SEEN_FIN_ORIG | SEEN_FIN_RESP)) == (SEEN_FIN_ORIG | SEEN_FIN_RESP))
		c->seen |= SEEN_RST_AFTER_CLOSE;
	c->seen = (c->seen & ~SEEN_RST_DOUBT) | (from_orig ? SEEN_RST_ORIG : SEEN_RST_RESP);
	c->outcome = OUT_RESET;
	c->t_end = when;
	c->state = CS_CLOSED;
	return FX_RESET | FX_EVENT | FX_RELEASE;
}

/* A RST on an open connection: believed, or doubted. A doubted RST (one at
 * a time, stamped in t_end) is ignored as soon as the connection goes on,
 * and believed when it stays silent for the close timeout (fsm_expire). */
static inline __u32 fsm_open_rst(struct conn *c, const struct segment *s, __u64 now)
{
	if (fsm_rst_plausible(c, s)) {
		/* An abort (RST with ACK) carries its sender's next sequence
		 * number: the end of all it sent (frozen at its FIN). This
		 * host's own is exact; one from the network moves the position
		 * forward only. A RST without ACK answers a segment of a
		 * connection its sender no longer has and takes that segment's
		 * ack (RFC 793, 3.4): what its peer received, not what it sent
		 * (data lost on the way to the peer, a hole its peer waits on). */
		if ((s->flags & TCPF_ACK) &&
		    !(c->seen & (s->from_orig ? SEEN_FIN_ORIG : SEEN_FIN_RESP))) {
			if (s->local)
				fsm_move_pos(c, s->from_orig, s->seq);
			else
				fsm_advance(c, s->from_orig, s->seq);
			c->seen |= s->from_orig ? SEEN_RSTPOS_ORIG : SEEN_RSTPOS_RESP;
		}
		return fsm_reset(c, s->from_orig, now);
	}
	if (c->seen & SEEN_RST_DOUBT)
		return FX_RST_IGNORED;
	c->seen |= s->from_orig ? SEEN_RST_DOUBT_ORIG : SEEN_RST_DOUBT_RESP;
	c->t_end = now;
	return 0;
}

/* A segment after a doubted RST: from the RST's sender (whose stack would
 * be silent after a real one), or after the in-flight grace, it proves the
 * RST was not real. */
static inline __u32 fsm_contradict_rst(struct conn *c, const struct segment *s, __u64 now)
{
	int doubt_orig = !!(c->seen & SEEN_RST_DOUBT_ORIG);

	if (s->from_orig != doubt_orig && fsm_elapsed(now, c->t_end) <= FSM_RST_GRACE_NS)
		return 0;
	c->seen &= ~SEEN_RST_DOUBT;
	c->t_end = 0;
	return FX_RST_IGNORED;
}

/* Always inlined: as a BPF subprogram its frame would push the packet
 * path's call chain over the 512-byte stack limit. */
static inline __attribute__((always_inline)) __u32 fsm_open_segment(struct conn *c, const struct segment *s, __u64 now)
{
	__u32 own_fin = s->from_orig ? SEEN_FIN_ORIG : SEEN_FIN_RESP;
	__u32 own_finack = s->from_orig ? SEEN_FINACK_ORIG : SEEN_FINACK_RESP;
	__u32 peer_fin = s->from_orig ? SEEN_FIN_RESP : SEEN_FIN_ORIG;
	__u32 peer_finack = s->from_orig ? SEEN_FINACK_RESP : SEEN_FINACK_ORIG;
	__u32 fx = 0, state;

	if (s->flags & TCPF_RST)
		return fsm_open_rst(c, s, now);
	if (c->seen & SEEN_RST_DOUBT)
		fx |= fsm_contradict_rst(c, s, now);

	/* An ACK of exactly the peer's FIN (which takes one sequence number). */
	if ((s->flags & TCPF_ACK) && (c->seen & peer_fin) && !(c->seen & peer_finack) &&
	    s->ack == (s->from_orig ? c->pos_resp : c->pos_orig))
		c->seen |= peer_finack;
	/* Positions freeze at each side's FIN. */
	if (!(c->seen & own_fin) && !fsm_position_from_acks(c, s))
		fsm_advance(c, s->from_orig, s->seq + s->payload_len);
	if ((s->flags & TCPF_ACK) && !(c->seen & peer_fin))
		fsm_advance(c, !s->from_orig, s->ack);

	if (s->payload_len) {
		c->seen |= s->from_orig ? SEEN_DATA_ORIG : SEEN_DATA_RESP;
		if ((c->seen & peer_fin) && !(c->seen & own_fin) && !(c->seen & SEEN_HALFCLOSE)) {
			c->seen |= SEEN_HALFCLOSE;
			fx |= FX_HALF_CLOSE;
		}
	}

	/* A later FIN with another sequence number replaces one that nobody
	 * acknowledged: the first may have been forged. */
	if ((s->flags & TCPF_FIN) && (c->seen & own_fin) && !(c->seen & own_finack))
		fsm_move_pos(c, s->from_orig, s->seq + s->payload_len + 1);
	if ((s->flags & TCPF_FIN) && !(c->seen & own_fin)) {
		c->seen |= own_fin;
		fsm_move_pos(c, s->from_orig, s->seq + s->payload_len + 1);
		if (!(c->seen & peer_fin)) {
			c->t_fin = now;
			if (!s->from_orig)
				c->seen |= SEEN_CLOSE_RESP;
			fx |= FX_CLOSE_START;
		} else if (!(c->seen & peer_finack)) {
			/* The second FIN does not acknowledge the first: they crossed. */
			c->seen |= SEEN_SIMCLOSE;
			fx |= FX_SIMCLOSE;
		}
	}

	state = fsm_derive_close_state(c->seen);
	if (state == CS_TIME_WAIT) {
		c->t_end = now;
		c->outcome = OUT_CLOSED;
		fx |= FX_CLOSED | FX_EVENT;
	}
	c->state = state;
	return fx;
}

/* A SYN on an open or TIME-WAIT tuple. A copy of this connection's SYN-ACK
 * is a retransmission; another SYN-ACK may open a new connection, which
 * only its validated third ACK decides (fsm_supersede). */
static inline __u32 fsm_open_syn(struct conn *c, const struct segment *s)
{
	if (!(s->flags & TCPF_ACK))
		return 0;
	if ((!s->from_orig && s->seq == c->isn_resp && fsm_acks_syn(c, s->ack)) ||
	    (s->from_orig && (c->seen & SEEN_SIMOPEN) && s->seq == c->isn_orig &&
	     s->ack == c->isn_resp + 1)) {
		if (c->synack_retransmits < 255)
			c->synack_retransmits++;
		return FX_SYNACK_RETRANS;
	}
	return FX_CONTEST;
}

/* TIME-WAIT: a plausible RST ends it; a new handshake may reuse the tuple. */
static inline __u32 fsm_time_wait_segment(struct conn *c, const struct segment *s)
{
	if (s->marks & PKT_ICMP_ERROR)
		return 0;     /* fsm_icmp_error: no attempt */
	if (s->flags & TCPF_RST) {
		if (!fsm_rst_plausible(c, s))
			return FX_RST_IGNORED;
		c->state = CS_CLOSED;
		return FX_TW_END | FX_RELEASE;
	}
	if (s->flags & TCPF_SYN)
		return fsm_open_syn(c, s);
	return 0;
}

/* A new connection on this tuple got a valid SYN-ACK: this record's
 * packets must now all meet the slow path, which asks the handshake first. */
static inline void fsm_contest(struct conn *c)
{
	c->seen |= SEEN_CONTESTED;
}

/* The new connection's third ACK validated: this record is over. */
static inline __u32 fsm_supersede(struct conn *c, __u64 now)
{
	if (c->state == CS_TIME_WAIT) {
		c->state = CS_CLOSED;
		return FX_TW_END | FX_REUSE | FX_RELEASE;
	}
	c->outcome = OUT_SUPERSEDED;
	c->t_end = now;
	c->state = CS_CLOSED;
	return FX_SUPERSEDED | FX_EVENT | FX_RELEASE;
}

/* May data of this record skip it (the flow-table ESTABLISHED mark)? */
static inline int fsm_data_fast_path(const struct conn *c)
{
	return c->state == CS_ESTABLISHED && !(c->seen & (SEEN_CONTESTED | SEEN_RST_DOUBT));
}

/* A timed-out attempt: only copies of its SYN or SYN-ACK, or a new attempt. */
static inline __u32 fsm_failed_segment(struct conn *c, const struct segment *s)
{
	__u8 kind = s->flags & (TCPF_SYN | TCPF_ACK | TCPF_RST);

	if (kind == TCPF_SYN && s->from_orig) {
		if (s->seq != c->isn_orig)
			return FX_NEW_ATTEMPT;
		if (c->syn_retransmits < 255)
			c->syn_retransmits++;
		return FX_SYN_RETRANS;
	}
	if (kind == (TCPF_SYN | TCPF_ACK) && !s->from_orig && (c->seen & SEEN_SYNACK) &&
	    s->seq == c->isn_resp && fsm_acks_syn(c, s->ack)) {
		if (c->synack_retransmits < 255)
			c->synack_retransmits++;
		return FX_SYNACK_RETRANS;
	}
	return 0;
}

/* ---- the step function ---- */

/* Whether fsm_segment() uses the time beyond the coarse tick it keeps in
 * last_active: only such a step needs the clock read (about 40 ns a
 * packet on the BPF path). A step stamps or measures a time in a
 * handshake, on a RST (its end, its grace, TIME-WAIT's length), after a
 * doubted RST (fsm_contradict_rst), on the first FIN (t_fin) and on the
 * ACK that completes a close (t_end: it acknowledges the peer's FIN once
 * the sender's own FIN was acknowledged). Every other step (data and ACKs
 * of an open connection, a second FIN, a copy of a SYN-ACK, segments of
 * TIME-WAIT or of a failed attempt but a RST) is the same at any time
 * (tests/unit/test_fsm_time.c holds it; the time of the last packet
 * moves forward only: fsm_touch). */
static inline int fsm_segment_needs_time(const struct conn *c, const struct segment *s)
{
	__u32 own_finack = s->from_orig ? SEEN_FINACK_ORIG : SEEN_FINACK_RESP;
	__u32 peer_fin = s->from_orig ? SEEN_FIN_RESP : SEEN_FIN_ORIG;
	__u32 peer_finack = s->from_orig ? SEEN_FINACK_RESP : SEEN_FINACK_ORIG;

	if (c->seen & SEEN_SELF)
		return 1;     /* both sides' steps (fsm_again_as_peer): rare, not worth sorting */
	if (fsm_is_handshake(c->state) || (s->flags & TCPF_RST))
		return 1;
	if (!fsm_is_open(c->state) || (s->flags & TCPF_SYN))
		return 0;
	if (c->seen & SEEN_RST_DOUBT)
		return 1;
	if ((s->flags & TCPF_FIN) && !(c->seen & (SEEN_FIN_ORIG | SEEN_FIN_RESP)))
		return 1;
	return (c->seen & own_finack) && (c->seen & (peer_fin | peer_finack));
}

/* The coarse time of the last packet, forward only: a step that needs no
 * clock is given the start of the sweeper's current tick, which may trail
 * a time an earlier packet read from the clock (and a capture's
 * timestamps may be out of order). */
static inline void fsm_touch(struct conn *c, __u64 now)
{
	__u32 tick = fsm_coarse(now);

	if ((__s32)(tick - c->last_active) > 0)
		c->last_active = tick;
}

/* The error an ICMP-error segment carries in its ack (parse_icmp_error),
 * kept for the attempt's event. */
static inline void fsm_keep_icmp_error(struct conn *c, const struct segment *s)
{
	c->icmp_type = (__u8)(s->ack >> 8);
	c->icmp_code = (__u8)s->ack;
}

/* An ICMP error quoting the responder's SYN-ACK (fsm_icmp_error): that
 * SYN-ACK never reached the originator. Of a kind that makes the
 * responder's kernel drop its half-open request (PKT_ICMP_DROPS_REQUEST;
 * Linux: tcp_req_err(), by the ISN, and counted in ListenDrops), the
 * attempt waits for an answer again, as the originator's kernel does
 * (CS_SYN_SENT, SEEN_SYNACK_LOST): the half-open gauge follows the
 * responder's kernel, the answer to the originator's next copy of its SYN
 * completes it (fsm_synack_again), and with none it fails at the SYN
 * timeout as unreachable, by the error it keeps (fsm_fail_unanswered).
 * Any other error about it changes nothing: the request stays and sends
 * its SYN-ACK again. */
static inline __u32 fsm_synack_error(struct conn *c, const struct segment *s)
{
	if (c->state != CS_SYN_RCVD || !(s->marks & PKT_ICMP_DROPS_REQUEST) ||
	    s->seq != c->isn_resp)
		return 0;
	fsm_keep_icmp_error(c, s);
	c->seen |= SEEN_SYNACK_LOST;
	c->state = CS_SYN_SENT;
	return FX_HALF_OPEN_MOVED;
}

/* An ICMP error quoting segment s (destination unreachable and the others
 * parse.h's icmp_ends_attempt() names): the kernel of a SYN's sender
 * gives its attempt up at once when the quote is of its SYN, by the
 * sequence number (Linux checks SND.UNA <= seq <= SND.NXT, here the ISN),
 * before any valid SYN-ACK, with which it left SYN-SENT. Any other quote
 * is stale or forged and changes nothing but the time of the record's last
 * packet (Linux counts those OutOfWindowIcmps). One quoting the
 * responder's side is about its SYN-ACK: fsm_synack_error().
 * The error's direction says nothing of who sent the quoted segment: the
 * step is given one as from the network (s->local 0).
 * The failed attempt stays a tombstone (CS_FAILED), as a timed-out one:
 * an error that reaches a socket its owner holds is dropped by Linux
 * (TcpExtLockDroppedIcmps), which sends the SYN again; that copy is a
 * retransmission, not a second attempt. Accepted: should it then be
 * answered, the connection is taken for one older than the monitor. */
static inline __u32 fsm_icmp_error(struct conn *c, const struct segment *s, __u64 now)
{
	__u32 fx;

	if (!s->from_orig)
		return fsm_synack_error(c, s);
	if (c->state != CS_SYN_SENT || (c->seen & SEEN_SIMOPEN) || s->seq != c->isn_orig)
		return 0;
	/* fsm_step() touched it already; again, because without it clang
	 * lays conn_step()'s BPF frame out 8 bytes larger, past the budget
	 * of the chain of calls (track.h, update_try). */
	fsm_touch(c, now);
	fsm_keep_icmp_error(c, s);
	fx = fsm_fail(c, FAIL_UNREACHABLE, OUT_UNREACHABLE, now) & ~FX_RELEASE;
	c->state = CS_FAILED;
	return fx;
}

/* One side's step: segment s from the side s->from_orig names. */
static inline __u32 fsm_step(struct conn *c, const struct segment *s, __u64 now)
{
	__u8 syn = s->flags & TCPF_SYN, ack = s->flags & TCPF_ACK;
	__u32 fx;

	fsm_touch(c, now);
	if (s->local)
		c->seen |= s->from_orig ? SEEN_EGRESS_ORIG : SEEN_EGRESS_RESP;
	if (c->state == CS_TIME_WAIT)
		return fsm_time_wait_segment(c, s);
	/* Here, not first: a test before the stamp and the egress marks
	 * grows conn_step()'s BPF frame past the verifier's budget for the
	 * chain of calls (track.h, update_try). */
	if (s->marks & PKT_ICMP_ERROR)
		return fsm_icmp_error(c, s, now);
	if (c->state == CS_FAILED)
		return fsm_failed_segment(c, s);
	if (fsm_is_open(c->state)) {
		/* RST before SYN, as the stacks check them (Linux:
		 * tcp_validate_incoming()): a SYN with RST is a RST. */
		if (syn && !(s->flags & TCPF_RST))
			return fsm_open_syn(c, s);
		return fsm_open_segment(c, s, now);
	}
	if (!fsm_is_handshake(c->state))
		return 0;

	if (s->flags & TCPF_RST)
		return fsm_handshake_rst(c, s, now);
	if (syn && !ack)
		return fsm_handshake_syn(c, s);
	if (syn)
		return fsm_handshake_synack(c, s, now);

	fx = ack ? fsm_handshake_ack(c, s, now) : 0;
	/* The completing ACK may already carry data or a FIN. */
	if (fx & FX_HANDSHAKE)
		return fx | fsm_open_segment(c, s, now);
	/* A FIN before the handshake completed (Zeek's SH / SHR). */
	if (s->flags & TCPF_FIN)
		c->seen |= s->from_orig ? SEEN_FIN_ORIG : SEEN_FIN_RESP;
	return fx;
}

/* A socket connected to itself (Linux lets a connect() from port P meet
 * its own address and port P where nothing listens) sends each segment to
 * itself: it is the originator's and the responder's at once, and the
 * record takes it from both sides, the responder's second. So its
 * handshake is a simultaneous open with one ISN, and its close a
 * simultaneous close, as its kernel's states go. After the first step of
 * segment s on record c (effects fx): whether s is to be stepped again,
 * turned to the other side. A step that reported (one event a segment:
 * the record opened or ended), ended the record, starts another on the
 * tuple, or found a copy (counted once) is not taken twice. Call once per
 * segment. */
static inline int fsm_again_as_peer(const struct conn *c, struct segment *s, __u32 fx)
{
	if (!(c->seen & SEEN_SELF) ||
	    (fx & (FX_EVENT | FX_RELEASE | FX_NEW_ATTEMPT | FX_CONTEST | FX_SYN_RETRANS |
		   FX_SYNACK_RETRANS)))
		return 0;
	s->from_orig = !s->from_orig;
	return 1;
}

/* One segment: its step, and for a socket connected to itself the
 * peer's (fsm_again_as_peer; the BPF path, track.h's update_try(), makes
 * the same two calls, each a call of its own for the stack). */
static inline __u32 fsm_segment(struct conn *c, const struct segment *s, __u64 now)
{
	struct segment seg = *s;
	__u32 fx = fsm_step(c, &seg, now);

	if (fsm_again_as_peer(c, &seg, fx))
		fx |= fsm_step(c, &seg, now);
	return fx;
}

/* ---- timers (run periodically by the sweeper) ---- */

static inline __u32 fsm_expire(struct conn *c, __u64 now, const struct fsm_timeouts *t)
{
	__u32 state = c->state, fx;
	__s32 idle = (__s32)(fsm_coarse(now) - c->last_active);

	if (fsm_is_handshake(state)) {
		if (fsm_elapsed(now, fsm_start_time(c)) < t->syn_ns)
			return 0;
		/* Failed, but kept as a tombstone (see FSM_TOMBSTONE_NS). */
		fx = fsm_fail_unanswered(c, now) & ~FX_RELEASE;
		c->state = CS_FAILED;
		return fx;
	}
	if (state == CS_FAILED)
		return fsm_elapsed(now, c->t_end) < t->tombstone_ns ? 0 : FX_RELEASE;
	if (state == CS_TIME_WAIT) {
		if (fsm_elapsed(now, c->t_end) < t->time_wait_ns)
			return 0;
		c->state = CS_CLOSED;
		return FX_TW_END | FX_RELEASE;
	}
	if (!fsm_is_open(state))
		return 0;
	/* A doubted RST that nothing contradicted for the close timeout. */
	if (c->seen & SEEN_RST_DOUBT) {
		if (fsm_elapsed(now, c->t_end) < t->close_ns)
			return 0;
		return fsm_reset(c, !!(c->seen & SEEN_RST_DOUBT_ORIG), c->t_end);
	}
	/* Waiting for an ACK of a FIN: bounded by close_ns; otherwise idle time,
	 * in coarse ticks, with one tick of slack because the data path stamps
	 * activity with the tick of the sweeper's last pass. */
	if (state == CS_FIN_WAIT_1 || state == CS_CLOSING || state == CS_LAST_ACK) {
		if (fsm_elapsed(now, c->t_fin) < t->close_ns)
			return 0;
	} else if (idle < 0 ||
		   (__u64)idle <= ((t->idle_ns + (1ull << FSM_COARSE_SHIFT) - 1) >> FSM_COARSE_SHIFT) + 1) {
		return 0;
	}
	c->outcome = (c->seen & (SEEN_FIN_ORIG | SEEN_FIN_RESP)) ==
			     (SEEN_FIN_ORIG | SEEN_FIN_RESP) ? OUT_CLOSED : OUT_EXPIRED;
	c->t_end = now;
	c->state = CS_CLOSED;
	return FX_EXPIRED | FX_EVENT | FX_RELEASE;
}

/* ---- what a finished record reports ---- */

/* Payload bytes a side sent, from sequence numbers as Zeek counts them (its
 * SYN's Fast Open data included), into *bytes: 1 when the record holds
 * them exactly, else 0. Exact: an attempt that never completed (its SYN's
 * data, or none), a side whose FIN was seen (its position froze there), or
 * one that aborted with a RST believed at once (fsm_open_rst). Other
 * positions are samples, which the data fast path leaves behind a stream by
 * up to a coarse tick of its data, so they are not reported. */
static inline int fsm_payload_sent(const struct conn *c, int orig, __u64 *bytes)
{
	__u32 fin = orig ? SEEN_FIN_ORIG : SEEN_FIN_RESP;
	__u32 rstpos = orig ? SEEN_RSTPOS_ORIG : SEEN_RSTPOS_RESP;
	__u32 offset = (orig ? c->pos_orig - c->isn_orig : c->pos_resp - c->isn_resp) - 1;
	__s64 wraps = orig ? c->wraps_orig : c->wraps_resp;
	__s64 n;

	if (!c->t_established) {
		*bytes = orig ? c->syn_len : 0;
		return 1;
	}
	if (!(c->seen & (fin | rstpos)))
		return 0;
	n = wraps * (1ll << 32) + offset - ((c->seen & fin) ? 1 : 0);
	if (n < 0)
		return 0;
	*bytes = (__u64)n;
	return 1;
}

#endif /* TCPSHAKE_FSM_H */
