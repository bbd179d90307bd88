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
#include "account.h"

/* How often an update is recomputed when other CPUs keep committing to the
 * same record first; each retry is counted, giving up is counted too. */
#define UPDATE_TRIES 4

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

/* A new record for a packet: from a SYN, or from a SYN-ACK whose SYN was
 * never seen (orphan). */
static __always_inline void start_conn(struct conn *c, const struct packet *p, __u64 now,
				       __u32 egress)
{
	struct segment s = {};
	bool orphan = p->flags & TCPF_ACK;

	make_segment(&s, p, !orphan);
	if (orphan)
		fsm_start_orphan_synack(c, &s, now);
	else
		fsm_start_syn(c, &s, now);
	/* The originator is the SYN's sender, or the SYN-ACK's receiver. */
	c->orig_is_a = orphan ? !p->from_a : p->from_a;
	c->service_port = be16_to_host(c->orig_is_a ? p->key.port_b : p->key.port_a);
	/* Locally initiated: our SYN went out, or the SYN-ACK came in. */
	if (orphan != !!egress)
		c->seen |= SEEN_LOCAL_ORIG;
	c->version = version_fresh(now, (__u32)p->seq);
}

/* What one update of a record did: its effects and the record as
 * committed, which is what gets accounted (the way itself may already have
 * moved on under another CPU). */
struct update {
	__u32 fx;
	__u32 pad;
	struct way w;     /* key and committed record */
};

/* One try at applying a packet to a record: 1 when done (committed, or
 * nothing to write, or the way holds another flow now), 0 when another CPU
 * committed first and the step must be recomputed. */
CORE_GLOBAL int update_try(struct way *w, const struct packet *p, __u64 now, struct update *u)
{
	struct segment s = {};
	__u32 v;

	if (!w || !p || !u)
		return 1;
	u->fx = 0;
	v = record_read(w, &u->w.conn);
	if (v & 1)
		return 0;
	if (!flow_key_equal(&w->key, &p->key))
		return 1;
	u->w.key = p->key;
	make_segment(&s, p, p->from_a == u->w.conn.orig_is_a);
	u->fx = fsm_segment(&u->w.conn, &s, now);
	/* Compared with the live record: had it changed since the copy, the
	 * commit below would fail anyway. */
	if (!record_changed(&u->w.conn, &w->conn))
		return 1;
	if (record_commit(w, v, &u->w.conn))
		return 1;
	u->fx = 0;
	return 0;
}

/* A SYN with a new ISN over an unfinished attempt or a tombstone: the old
 * attempt ends unanswered (its final record is left in u for accounting)
 * and a new attempt takes the way. Same return convention as update_try. */
CORE_GLOBAL int restart_try(struct way *w, const struct packet *p, __u64 now, __u32 egress,
			    struct update *u)
{
	struct conn fresh;
	__u32 v;

	if (!w || !p || !u)
		return 1;
	u->fx = 0;
	v = record_read(w, &u->w.conn);
	if (v & 1)
		return 0;
	if (!flow_key_equal(&w->key, &p->key) ||
	    (!fsm_is_handshake(u->w.conn.state) && u->w.conn.state != CS_FAILED))
		return 1;
	u->w.key = p->key;
	start_conn(&fresh, p, now, egress);
	if (!record_commit(w, v, &fresh))
		return 0;
	if (u->w.conn.state != CS_FAILED)
		u->fx = fsm_fail_unanswered(&u->w.conn, now) & ~FX_RELEASE;
	return 1;
}

static __always_inline void count_update_retries(__u32 iface, __u32 retries, bool gave_up)
{
	struct iface_stats *st = stats_of(iface);

	if (!st)
		return;
	st->update_retries += retries;
	if (gave_up)
		st->update_conflicts++;
}

/* Applies a packet to a record and accounts for it; returns the effects. */
static __always_inline __u32 record_update(struct way *w, const struct packet *p, __u64 now,
					   struct update *u)
{
	__u32 i;

	for (i = 0; i < UPDATE_TRIES; i++) {
		if (update_try(w, p, now, u))
			break;
	}
	if (i)
		count_update_retries(p->key.iface, i, i == UPDATE_TRIES);
	if (i == UPDATE_TRIES)
		return 0;
	if (u->fx)
		account(&u->w.key, &u->w.conn, u->fx, now);
	return u->fx;
}

static __always_inline void record_restart(struct way *w, const struct packet *p, __u64 now,
					   __u32 egress, struct update *u)
{
	__u32 i;

	for (i = 0; i < UPDATE_TRIES; i++) {
		if (restart_try(w, p, now, egress, u))
			break;
	}
	if (i)
		count_update_retries(p->key.iface, i, i == UPDATE_TRIES);
	if (i < UPDATE_TRIES && u->fx)
		account(&u->w.key, &u->w.conn, u->fx, now);
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
	b.w->way[i].key = p->key;
	start_conn(&b.w->way[i].conn, p, now, egress);
	b.h->birth[i] = (__u32)(now >> 10);
	b.h->iface[i] = p->key.iface;
	way_publish(&b.h->tag[i], tag);
}

/* Everything that is not a fast path. */
CORE_GLOBAL int track_slow(const struct packet *p, __u64 hash, __u32 egress)
{
	struct flow_ref fb = flow_bucket_of(hash);
	struct hs_ref b = hs_bucket_of(hash);
	struct update u;
	struct way *w;
	__u32 tag, fx;
	__u64 now;
	int i;

	if (!p || !fb.h || !fb.w || !b.h || !b.w)
		return 0;
	/* Start both header loads now, so their cache misses overlap. */
	__asm__ __volatile__("" : : "r"(*(volatile __u32 *)&fb.h->tag[0]),
			     "r"(*(volatile __u32 *)&b.h->tag[0]));
	tag = flow_tag(hash);
	/* A bare SYN never looks at established flows: floods stay away. */
	if ((p->flags & (TCPF_SYN | TCPF_ACK)) != TCPF_SYN) {
		w = flow_lookup(fb, tag, &p->key, &i);
		if (w) {
			fx = record_update(w, p, clock_ns(), &u);
			if (fx & FX_RELEASE)
				flow_release(fb, i, tag, &p->key);
			else
				flow_mark(fb.h, i, tag, u.w.conn.state);
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
	fx = record_update(&b.w->way[i], p, now, &u);
	if (fx & FX_NEW_ATTEMPT) {
		__u32 t = b.h->tag[i];

		record_restart(&b.w->way[i], p, now, egress, &u);
		b.h->birth[i] = (__u32)(now >> 10);
		/* A live attempt again: no tombstone mark. */
		if (tag_is_tombstone(t) && (t & ~TAG_TOMBSTONE) == tag)
			__sync_val_compare_and_swap(&b.h->tag[i], t, tag);
	}
	if (fx & FX_HANDSHAKE) {
		__u32 evicted = flow_insert(&u.w, hash, now);

		if (evicted < MAX_IFACES)
			account_eviction(evicted);
	}
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
		flood_syn(&p, egress);
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
