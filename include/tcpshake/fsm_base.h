/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the state machine's steps share (fsm.h): the segment a step takes,
 * the effect bits it returns, the windows and timeouts it checks against,
 * and the clocks it keeps. Pure C, as fsm.h.
 */
#ifndef TCPSHAKE_FSM_BASE_H
#define TCPSHAKE_FSM_BASE_H

#include "tcpshake/abi.h"
#include "tcpshake/bytes.h"
#include "tcpshake/tcp.h"

/* Where a packet was seen: its direction tells whether this host sent it.
 * Offline replay may not know (DIR_UNKNOWN), and then trusts nothing. */
enum direction { DIR_INGRESS = 0, DIR_EGRESS = 1, DIR_UNKNOWN = 2 };

/* One TCP segment, reduced to what the state machine needs. */
struct segment {
	__u32 seq;
	__u32 ack;
	__u32 payload_len;
	__u8  flags;        /* TCP flag byte */
	__u8  from_orig;    /* sent by the originator (the SYN sender) */
	__u8  local;        /* sent by this host (seen on egress): not forged */
	__u8  has_gate_block;
	/* With has_gate_block: the block of the sender's sequence numbers its
	 * data last reached, as the data fast path's gate holds it (abi.h,
	 * FLOW_BLOCK_SHIFT), which may be ahead of the record's position;
	 * gate_acked when this host's ACKs put it there (FLOW_GATE_ACKED). */
	__u16 gate_block;
	__u8  gate_acked;
	/* A RST from the network to a connection of this host: the receiving
	 * socket's RCV.NXT as the host's kernel holds it (host_rcv_nxt), which
	 * is where the kernel itself checks the RST (RFC 5961), and the bytes
	 * waiting in its backlog, which move RCV.NXT before the RST is seen:
	 * marks has PKT_HOST_RCV_KNOWN then. PKT_ICMP_ERROR: not the segment
	 * but an ICMP error quoting it (its seq and side; ack holds the
	 * error's type << 8 | code; PKT_ICMP_DROPS_REQUEST: fsm_icmp_error). */
	__u8  marks;
	/* Both endpoints are one address and port (SEEN_SELF): read where a
	 * record starts only, the record keeps it. */
	__u8  self;
	__u32 host_rcv_nxt;
	__u32 host_backlog;
};

/* Effects of one step. */
#define FX_SYN_RETRANS     (1u << 0)   /* SYN with the known ISN again */
#define FX_SYNACK_RETRANS  (1u << 1)   /* SYN-ACK with the known ISN again */
#define FX_INVALID         (1u << 2)   /* SYN-ACK / third ACK with a wrong ack */
#define FX_SYNACK_FIRST    (1u << 3)   /* first valid SYN-ACK: syn_to_synack sample */
#define FX_HANDSHAKE       (1u << 4)   /* handshake completed (state ESTABLISHED) */
#define FX_SIMOPEN         (1u << 5)   /* SYN crossed SYN */
#define FX_FAILED          (1u << 6)   /* attempt failed, see fail_reason */
#define FX_NEW_ATTEMPT     (1u << 7)   /* segment opens a new attempt on this tuple */
#define FX_CLOSE_START     (1u << 8)   /* first FIN */
#define FX_HALF_CLOSE      (1u << 9)   /* data after the peer's FIN */
#define FX_SIMCLOSE        (1u << 10)  /* FIN crossed FIN */
#define FX_CLOSED          (1u << 11)  /* graceful close complete, TIME-WAIT starts */
#define FX_RESET           (1u << 12)  /* established connection reset */
#define FX_TW_END          (1u << 13)  /* TIME-WAIT over (2MSL, RST or reuse) */
#define FX_REUSE           (1u << 14)  /* TIME-WAIT tuple reused by a new handshake */
#define FX_EXPIRED         (1u << 15)  /* idle connection expired without a close */
#define FX_EVENT           (1u << 16)  /* report the record now */
#define FX_RELEASE         (1u << 17)  /* record finished: free its slot */
#define FX_RST_IGNORED     (1u << 18)  /* a RST not believed (resets_ignored) */
#define FX_CONTEST         (1u << 19)  /* SYN-ACK of a new connection on an open tuple */
#define FX_SUPERSEDED      (1u << 20)  /* open record replaced by a new handshake */
#define FX_HALF_OPEN_MOVED (1u << 21)  /* left SYN-RECEIVED on its SYN-ACK's ICMP error,
                                        * or entered it again: the table's note follows */
#define FX_ALL             ((1u << 22) - 1)

/* A RST from the network is believed when its sequence number is less than
 * this far from its sender's position. The position is the record's, or
 * the start of the later block the data fast path's gate saw the sender's
 * data cross into (abi.h, FLOW_BLOCK_SHIFT), which data seen whole did not
 * pass: so a real RST is within it (after a crossing the monitor missed,
 * it is doubted until the close timeout); a blind RST lands in it with
 * probability 2^-14. */
#define FSM_RST_WINDOW (1u << 17)
_Static_assert(FSM_RST_WINDOW >= (1u << FLOW_BLOCK_SHIFT), "a real RST must fit the window");
/* Where the sender's position comes from this host (a connection of this
 * host, fsm_position_from_acks: its kernel's RCV.NXT, else its ACKs), a RST
 * may be this far ahead of it: both trail what arrived by up to a NAPI
 * batch (64 frames, about 92 KiB on a NIC with a 1500-byte MTU), the ACKs
 * also by a delayed ACK; a blind RST then lands in the window with
 * probability 3 * 2^-15. */
#define FSM_RST_AHEAD_OF_ACKS (2 * FSM_RST_WINDOW)
/* At most this much of a socket's backlog widens the window ahead of its
 * RCV.NXT: the kernel's own limit is the socket's receive and send
 * buffers, megabytes. */
#define FSM_RST_BACKLOG_MAX (1u << 26)
/* After a doubted RST, segments of its receiver within this time may have
 * been in flight before it; later ones prove the connection went on. */
#define FSM_RST_GRACE_NS 1000000ull
/* A sampled position moves forward only, by less than this (serial
 * arithmetic): a stale or forged segment cannot move it backwards. */
#define FSM_POS_JUMP (1u << 30)

/* Timeouts used by fsm_expire(). */
struct fsm_timeouts {
	__u64 syn_ns;         /* attempt without completion */
	__u64 time_wait_ns;   /* 2MSL */
	__u64 close_ns;       /* FIN or last ACK never acknowledged */
	__u64 idle_ns;        /* open connection without packets */
	__u64 tombstone_ns;   /* a timed-out attempt still absorbs retransmissions */
};

/* Linux retransmits an unanswered SYN for 63 s and a SYN-ACK for 31 s: a
 * timed-out attempt is kept that long again, so late copies of its SYN or
 * SYN-ACK count as retransmissions, not as new attempts. */
#define FSM_TOMBSTONE_NS (120ull * 1000000000ull)

/* now - then, or 0 when then is later: records may be stamped by other
 * CPUs after a sweeper pass read its clock. */
static inline __u64 fsm_elapsed(__u64 now, __u64 then)
{
	return now > then ? now - then : 0;
}

static inline int fsm_is_handshake(__u32 state)
{
	return state == CS_SYN_SENT || state == CS_SYN_RCVD;
}

static inline int fsm_is_open(__u32 state)
{
	return state >= CS_ESTABLISHED && state < CS_TIME_WAIT;
}

/* The coarse clock kept in conn.last_active: monotonic ns >> 30, ticks of
 * 1.07 s. A shift, because a division costs real time on the packet path. */
#define FSM_COARSE_SHIFT 30

static inline __u32 fsm_coarse(__u64 now_ns)
{
	return (__u32)(now_ns >> FSM_COARSE_SHIFT);
}

#endif /* TCPSHAKE_FSM_BASE_H */
