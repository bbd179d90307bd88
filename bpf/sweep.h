/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The sweeper: a BPF program the loader runs once per interval, in slices
 * (struct sweep_slice). It walks both tables and the spill map, ends what timed out (unanswered attempts,
 * TIME-WAIT after 2MSL, idle connections) through the same state machine and
 * accounting as the packet path, and reports table occupancy.
 */
#ifndef TCPSHAKE_SWEEP_H
#define TCPSHAKE_SWEEP_H

#include "track.h"

struct sweep_ctx {
	__u64 now;
	struct fsm_timeouts t;
	__u32 base;       /* first bucket of the chunk being walked */
};

/* A late retransmission of a SYN whose connection is already established
 * must not end as a failed attempt. */
static __always_inline bool is_stale_duplicate(const struct way *w)
{
	__u64 hash = flow_hash(&w->key, cfg.hash_seed);
	struct flow_ref fb = flow_bucket_of(hash);
	struct way *f;
	int wi;

	if (!fb.h || !fb.w)
		return false;
	f = flow_lookup(&fb, flow_tag(hash), &w->key, &wi);
	return f && f->conn.isn_orig == w->conn.isn_orig;
}

/* The state machine's timers, a function of its own for the verifier (as
 * conn_step() in track.h). */
CORE_GLOBAL __u32 conn_expire(struct conn *c, const struct sweep_ctx *x)
{
	if (!c || !x)
		return 0;
	return fsm_expire(c, x->now, &x->t);
}

/* Ends the record if one of its timers ran out, under the same version
 * protocol as packet updates; returns the effects, accounted. The record's
 * own activity stamp is current: the data fast path sends the first packet
 * of every sweeper tick to the slow path (flow_gate_pass). */
CORE_GLOBAL __u32 expire_way(struct way *w, const struct sweep_ctx *x)
{
	struct commit_guard *g;
	struct conn orig, c;
	__u32 fx = 0, v, i;
	bool done;

	if (!w || !x)   /* global functions verify their pointers themselves */
		return 0;

	for (i = 0; i < UPDATE_TRIES; i++) {
		v = record_read(w, &orig);
		if (v & 1)
			continue;
		c = orig;
		fx = conn_expire(&c, x);
		if (!fx)
			return 0;
		if (fsm_is_handshake(orig.state) && is_stale_duplicate(w)) {
			fx = FX_RELEASE;
			c.state = CS_CLOSED;
		}
		g = commit_guard_enter();   /* no packet may interrupt the write */
		done = record_commit(w, v, &c);
		commit_guard_leave(g);
		if (done)
			break;
	}
	if (i == UPDATE_TRIES)
		return 0;
	if (fx & ~FX_RELEASE)
		account_swept(&w->key, &c, fx, x->now);
	return fx;
}

/* A live record: count it by interface and state (these are the gauges). */
static __always_inline void report_entry(__u64 *counts, const struct way *w)
{
	__u32 iface = w->key.iface, state = w->conn.state;

	/* Keep the checked copies in registers: another CPU may change the
	 * record, and the verifier must see the bound on what is used. */
	__asm__ __volatile__("" : "+r"(iface), "+r"(state));
	if (iface >= MAX_IFACES)
		return;
	counts[iface]++;
	if (state < CS_MAX)
		report.states[iface][state]++;
	flood_count_half_open(w);
}

/* One way of either table: expire it, or count it as live. A record
 * released from bucket idx that lives there as its alternative bucket
 * leaves its home's count (tables.h): a flow's home is found from its key,
 * an attempt's (away set) from its tag. */
static __always_inline void sweep_way(__u32 *tag, struct way *w, __u64 *counts,
				      struct sweep_ctx *x, const __u8 *away, __u32 idx)
{
	__u32 t = *tag;

	if (!tag_is_record(t))
		return;
	if (expire_way(w, x) & FX_RELEASE) {
		/* Read before the release: then the way may be reused at once. */
		struct flow_key key = w->key;
		bool guest = away && *away;

		if (!way_release(tag, t))
			return;
		if (!away)
			flow_left_alt(&key, idx);
		else if (guest)
			hs_left_alt(t, idx);
		return;
	}
	/* A way an attempt moved out of (hs_move.h): the attempt counts where
	 * it went. Its mover takes the way for a new attempt at once, so one
	 * still published is left over from two SYNs racing for it (tables.h)
	 * and is freed, as the mover would have, leaving its home's count if
	 * it was a guest. */
	if (w->conn.state == CS_NONE) {
		if (away && way_release(tag, t) && *away)
			hs_left_alt(t, idx);
		return;
	}
	/* A timed-out attempt stays as a tombstone, marked so SYNs take it first. */
	if (w->conn.state == CS_FAILED && !tag_is_tombstone(t))
		sync_cas(tag, t, t | TAG_TOMBSTONE);
	report_entry(counts, w);
}

static long sweep_hs_bucket(__u64 idx, void *ctx)
{
	__u32 key = (__u32)idx + ((struct sweep_ctx *)ctx)->base;
	struct hs_head *h = hs_head_at(key);
	struct hs_ways *w = hs_ways_at(key);
	int i;

	if (!h || !w)
		return 1;
	for (i = 0; i < HS_WAYS; i++)
		sweep_way(&h->tag[i], &w->way[i], report.hs_entries, ctx, &h->away[i], key);
	return 0;
}

static long sweep_flow_bucket(__u64 idx, void *ctx)
{
	__u32 key = (__u32)idx + ((struct sweep_ctx *)ctx)->base;
	struct flow_head *h = flow_head_at(key);
	struct flow_ways *w = flow_ways_at(key);
	int i;

	if (!h || !w)
		return 1;
	for (i = 0; i < FLOW_WAYS; i++)
		sweep_way(&h->tag[i], &w->way[i], report.flow_entries, ctx, NULL, key);
	return 0;
}

static long sweep_spill_elem(void *map __attribute__((unused)), const struct flow_key *key,
			     struct way *w, void *ctx)
{
	struct sweep_ctx *x = ctx;

	if (expire_way(w, x) & FX_RELEASE) {
		__u64 hash = flow_hash(key, cfg.hash_seed);
		struct flow_ref b = flow_bucket_of(hash);

		if (spill_delete(b.spill_part, key) == 0 && b.away)
			sync_sub(&b.away->spill, 1);
		return 0;
	}
	report_entry(report.flow_entries, w);
	report.spill_entries++;
	return 0;
}

/* One spill part of the current slice (bpf_loop callback; base is the
 * slice's first part). */
static long sweep_spill_part(__u64 i, void *ctx)
{
	struct sweep_ctx *x = ctx;

	spill_for_each_in_part(x->base + (__u32)i, sweep_spill_elem, x);
	return 0;
}

static __always_inline void clear_report(void)
{
	volatile __u64 *w = (volatile __u64 *)&report;   /* volatile: no memset call */
	__u32 i;

	for (i = 0; i < sizeof(report) / sizeof(__u64); i++)
		w[i] = 0;
}

/* Walks buckets [first, end) in one bpf_loop (a slice is far below its
 * limit, abi.h); a walk cut short (an error, a slice too large, or a bucket
 * that cannot be looked up) is reported. */
static __always_inline void sweep_range(__u32 first, __u32 end, long (*fn)(__u64, void *),
					struct sweep_ctx *x)
{
	__u32 n = end > first ? end - first : 0;

	x->base = first;
	if (n > loop_max_iter() || loop(n, fn, x) != n)
		report.walk_errors++;
}

/* Handshake records (tombstones included) after a pass. */
static __always_inline __u64 hs_fill(void)
{
	__u64 n = 0;
	__u32 i;

	for (i = 0; i < MAX_IFACES; i++)
		n += report.hs_entries[i];
	return n;
}

/* The first bucket of slice i of count over n buckets. */
static __always_inline __u32 slice_start(__u32 n, __u32 i, __u32 count)
{
	return (__u32)((__u64)n * i / count);
}

/* One run of the sweeper over slice index of count (struct sweep_slice):
 * the same share of both tables' buckets. Returns -1 for a slice that does
 * not exist. Slices run in order from 0; the report is complete after the
 * last one (abi.h). */
static __always_inline int sweep_slice(__u32 index, __u32 count)
{
	__u32 hs = cfg.hs_mask + 1, flows = cfg.flow_mask + 1;
	struct sweep_ctx x = {
		.now = clock_ns(),
		.t = {
			.syn_ns = cfg.syn_timeout_ns,
			.time_wait_ns = cfg.time_wait_ns,
			.close_ns = cfg.close_timeout_ns,
			.idle_ns = (__u64)cfg.idle_timeout_s * 1000000000ull,
			.tombstone_ns = cfg.tombstone_ns,
		},
	};

	if (!count || index >= count)
		return -1;
	now_coarse = fsm_coarse(x.now);
	if (index == 0)
		clear_report();
	sweep_range(slice_start(hs, index, count), slice_start(hs, index + 1, count),
		    sweep_hs_bucket, &x);
	sweep_range(slice_start(flows, index, count), slice_start(flows, index + 1, count),
		    sweep_flow_bucket, &x);
	sweep_range(slice_start(SPILL_PARTS, index, count), slice_start(SPILL_PARTS, index + 1, count),
		    sweep_spill_part, &x);
	if (index == count - 1) {
		report.runs++;
		hs_crowded = hs_fill() * 4 > 3ull * hs * HS_WAYS;
		hs_move_misses = 0;
	}
	return 0;
}

#endif /* TCPSHAKE_SWEEP_H */
