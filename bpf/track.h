/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one core behind every hook: parse, find the connection's record, run
 * the state machine, account. Two fast paths are inlined into each program:
 *   - data on an established flow: one flow-bucket read, no clock, no
 *     helper call, at most one store (the activity stamp);
 *   - a new SYN: one handshake-bucket header read, one clock read, one way
 *     written; nothing shared with established flows is touched.
 * Everything else (handshake and close packets, retransmissions) goes to
 * track_slow(), a global function the verifier checks once.
 */
#ifndef TCPSHAKE_TRACK_H
#define TCPSHAKE_TRACK_H

#include "tcpshake/parse.h"
#include "tables.h"

static __always_inline __u32 iface_slot(__u32 ifindex)
{
	__u32 i;

	for (i = 0; i < MAX_IFACES; i++) {
		if (i >= cfg.nr_ifaces)
			break;
		if (cfg.ifindex[i] == ifindex)
			return i;
	}
	return 0;
}

static __always_inline void make_segment(struct segment *s, const struct packet *p, __u8 from_orig)
{
	s->seq = p->seq;
	s->ack = p->ack;
	s->payload_len = p->payload_len;
	s->flags = p->flags;
	s->from_orig = from_orig;
}

/* One state-machine step on a record in a table. The state word moves by
 * compare-and-swap: if another CPU moved it first, this packet's effects are
 * dropped rather than counted twice. Returns the effects. */
CORE_GLOBAL int step(struct way *w, const struct packet *p, __u64 now)
{
	struct segment s = {};
	struct conn c;
	__u32 old, fx;

	if (!w || !p)
		return 0;
	c = w->conn;
	old = c.state;
	make_segment(&s, p, p->from_a == c.orig_is_a);
	fx = fsm_segment(&c, &s, now);
	return way_commit(w, &c, old, fx, now) ? (int)fx : 0;
}

/* A new record in a claimed way: from a SYN, or from a SYN-ACK whose SYN
 * was never seen (orphan). The caller publishes the way's tag. */
static __always_inline void start_record(struct way *w, const struct packet *p, __u64 now,
					 __u32 egress)
{
	struct segment s = {};
	bool orphan = p->flags & TCPF_ACK;

	make_segment(&s, p, !orphan);
	w->key = p->key;
	if (orphan)
		fsm_start_orphan_synack(&w->conn, &s, now);
	else
		fsm_start_syn(&w->conn, &s, now);
	/* The originator is the SYN's sender, or the SYN-ACK's receiver. */
	w->conn.orig_is_a = orphan ? !p->from_a : p->from_a;
	w->conn.service_port = be16_to_host(w->conn.orig_is_a ? p->key.port_b : p->key.port_a);
	/* Locally initiated: our SYN went out, or the SYN-ACK came in. */
	if (orphan != !!egress)
		w->conn.seen |= SEEN_LOCAL_ORIG;
}

/* Claim a way of the handshake bucket and start a record in it. */
static __always_inline void new_handshake(struct hs_ref b, const struct packet *p, __u32 tag,
					  __u64 now, __u32 egress)
{
	__u32 evicted = MAX_IFACES;
	int i = hs_claim(b.h, (__u32)(now >> 10), &evicted);

	if (i < 0 || i >= HS_WAYS)
		return;
	if (evicted < MAX_IFACES)
		account_eviction(evicted);
	b.h->tag[i] = TAG_BUSY;
	start_record(&b.w->way[i], p, now, egress);
	b.h->birth[i] = (__u32)(now >> 10);
	b.h->iface[i] = p->key.iface;
	way_publish(&b.h->tag[i], tag);
}

/* A SYN with a new ISN on a tuple with an unfinished attempt: the old
 * attempt ends unanswered and the new one takes over the way. A tombstone
 * (an attempt that already failed) is simply replaced. */
CORE_GLOBAL int restart_attempt(struct way *w, const struct packet *p, __u64 now, __u32 egress)
{
	struct conn c;
	__u32 old, fx;

	if (!w || !p)
		return 0;
	c = w->conn;
	old = c.state;
	if (old == CS_FAILED) {
		if (__sync_val_compare_and_swap(&w->conn.state, CS_FAILED, CS_CLOSED) == CS_FAILED)
			start_record(w, p, now, egress);
		return 0;
	}
	fx = fsm_fail_unanswered(&c, now);
	if (way_commit(w, &c, old, fx, now))
		start_record(w, p, now, egress);
	return 0;
}

/* Everything that is not a fast path. */
CORE_GLOBAL int track_slow(const struct packet *p, __u64 hash, __u32 egress)
{
	struct flow_ref fb = flow_bucket_of(hash);
	struct hs_ref b = hs_bucket_of(hash);
	struct way *w;
	__u32 tag;
	__u64 now;
	int i, fx;

	if (!p || !fb.h || !fb.w || !b.h || !b.w)
		return 0;
	/* Start both header loads now, so their cache misses overlap. */
	__asm__ __volatile__("" : : "r"(*(volatile __u32 *)&fb.h->tag[0]), "r"(*(volatile __u32 *)&b.h->tag[0]));
	tag = flow_tag(hash);
	/* A bare SYN never looks at established flows: floods stay away. */
	if ((p->flags & (TCPF_SYN | TCPF_ACK)) != TCPF_SYN) {
		w = flow_lookup(fb, tag, &p->key, &i);
		if (w) {
			fx = step(w, p, clock_ns());
			if (fx & FX_RELEASE)
				flow_release(fb, i, tag, &p->key);
			else
				flow_mark(fb.h, i, tag, w->conn.state);
			/* A SYN-ACK goes on: it may reuse a TIME-WAIT tuple. */
			if (!(p->flags & TCPF_SYN))
				return 0;
		}
	}
	i = hs_find(b, tag, &p->key);
	if (i < 0 || i >= HS_WAYS) {
		/* A SYN or SYN-ACK without a record starts one. */
		if ((p->flags & (TCPF_SYN | TCPF_RST)) == TCPF_SYN)
			new_handshake(b, p, tag, clock_ns(), egress);
		return 0;
	}
	now = clock_ns();
	fx = step(&b.w->way[i], p, now);
	if (fx & FX_NEW_ATTEMPT) {
		restart_attempt(&b.w->way[i], p, now, egress);
		b.h->birth[i] = (__u32)(now >> 10);
		b.h->tag[i] = tag;        /* a live attempt again, no tombstone mark */
	}
	if (fx & FX_HANDSHAKE)
		flow_insert(&b.w->way[i], hash);
	if (fx & (FX_HANDSHAKE | FX_RELEASE))
		way_release(&b.h->tag[i], tag);
	return 0;
}

static __always_inline void track(const void *data, const void *data_end, __u32 ifindex,
				  __u32 egress)
{
	__u32 iface = iface_slot(ifindex), tag;
	struct iface_stats *st = stats_of(iface);
	struct packet p;
	__u64 hash;
	int r, i;

	if (!st)
		return;
	r = parse_packet(data, data_end, &p);
	if (r != PARSE_TCP) {
		if (r == PARSE_MALFORMED)
			st->unparsed++;
		return;
	}
	p.key.iface = (__u8)iface;
	st->packets++;
	hash = flow_hash(&p.key, cfg.hash_seed);
	tag = flow_tag(hash);

	if ((p.flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN) {
		/* Fast path: a SYN for a tuple without an attempt in progress.
		 * The clock is read first: its latency then overlaps the bucket's
		 * cache miss instead of adding to it. */
		__u64 now = clock_ns();
		struct hs_ref b = hs_bucket_of(hash);

		st->syn_packets++;
		if (!b.h || !b.w)
			return;
		if (hs_find(b, tag, &p.key) < 0) {
			new_handshake(b, &p, tag, now, egress);
			return;
		}
	} else if (p.flags & TCPF_SYN) {
		st->synack_packets++;
	} else if (!(p.flags & (TCPF_FIN | TCPF_RST))) {
		struct flow_ref fb = flow_bucket_of(hash);

		/* Fast path: data of an established connection stamps activity
		 * in the bucket header: one cache line read and written. */
		i = fb.h ? flow_find_established(fb.h, tag) : -1;
		if (i >= 0 && i < FLOW_WAYS) {
			fb.h->active[i] = now_coarse;
			return;
		}
	}
	track_slow(&p, hash, egress);
}

#endif /* TCPSHAKE_TRACK_H */
