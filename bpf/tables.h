/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The two direct-mapped tables and the spill map.
 *
 * A way is owned through its tag: TAG_FREE -> TAG_BUSY by compare-and-swap
 * (only one CPU wins), then key and record are written, then the
 * fingerprint is published by a plain store after a compiler barrier. On
 * x86 stores become visible in order, so a reader that matches the tag finds
 * the key in place; on weaker orders a reader may briefly miss a record being
 * created, which costs it nothing but that one lookup. Releasing is a
 * compare-and-swap back to TAG_FREE.
 *
 * Races we accept, and why: record fields (not the state word) may be
 * updated by two CPUs at once when both directions of one connection are
 * processed in the same instant; the state word itself only moves by
 * compare-and-swap, so every transition is counted exactly once. A way can
 * be released and reused while another CPU still reads it; that reader then
 * fails the key comparison or acts on a record that was finished anyway.
 */
#ifndef TCPSHAKE_TABLES_H
#define TCPSHAKE_TABLES_H

#include "account.h"
#include "tcpshake/flowhash.h"

/* A bucket: its header and its ways, two lookups with the same index (both
 * are array lookups the verifier turns into address arithmetic). */
struct hs_ref {
	struct hs_head *h;
	struct hs_ways *w;
};

struct flow_ref {
	struct flow_head *h;
	struct flow_ways *w;
	__u32 *spilled;
};

static __always_inline struct hs_ref hs_bucket_of(__u64 hash)
{
	__u32 idx = (__u32)hash & cfg.hs_mask;
	struct hs_ref b = {
		.h = hs_head_at(idx),
		.w = hs_ways_at(idx),
	};

	return b;
}

static __always_inline struct flow_ref flow_bucket_of(__u64 hash)
{
	__u32 idx = (__u32)(hash >> 8) & cfg.flow_mask;
	struct flow_ref b = {
		.h = flow_head_at(idx),
		.w = flow_ways_at(idx),
		.spilled = flow_spilled_at(idx),
	};

	return b;
}

static __always_inline void way_publish(__u32 *tag, __u32 value)
{
	__asm__ __volatile__("" ::: "memory");   /* key and record first, then the tag */
	*(volatile __u32 *)tag = value;
}

static __always_inline void way_release(__u32 *tag, __u32 value)
{
	__sync_val_compare_and_swap(tag, value, TAG_FREE);
}

/* Makes c (computed from the way's record, whose state was `old`) the way's
 * record and accounts its effects, unless another CPU moved the state word
 * first: then nothing happens and false is returned. */
static __always_inline bool way_commit(struct way *w, const struct conn *c, __u32 old, __u32 fx,
				       __u64 now)
{
	if (c->state != old && __sync_val_compare_and_swap(&w->conn.state, old, c->state) != old)
		return false;
	w->conn = *c;
	account(&w->key, c, fx, now);
	return true;
}

static __always_inline int hs_find(struct hs_ref b, __u32 tag, const struct flow_key *key)
{
	int i;

	for (i = 0; i < HS_WAYS; i++) {
		if ((b.h->tag[i] & ~TAG_TOMBSTONE) == tag && flow_key_equal(&b.w->way[i].key, key))
			return i;
	}
	return -1;
}

static __always_inline int flow_find(struct flow_ref b, __u32 tag, const struct flow_key *key)
{
	int i;

	for (i = 0; i < FLOW_WAYS; i++) {
		if ((b.h->tag[i] & ~TAG_ESTABLISHED) == tag && flow_key_equal(&b.w->way[i].key, key))
			return i;
	}
	return -1;
}

/* The data fast path: a way whose tag matches with the ESTABLISHED mark,
 * decided from the header alone. The key is not compared: a false match
 * (two 31-bit fingerprints equal in one bucket) can only give some flow an
 * activity stamp it did not earn, which delays its idle expiry. */
static __always_inline int flow_find_established(const struct flow_head *h, __u32 tag)
{
	int i;

	for (i = 0; i < FLOW_WAYS; i++) {
		if (h->tag[i] == (tag | TAG_ESTABLISHED))
			return i;
	}
	return -1;
}

/* Keeps a flow way's ESTABLISHED mark in step with its record's state. */
static __always_inline void flow_mark(struct flow_head *h, int way, __u32 tag, __u32 state)
{
	if (way >= 0 && way < FLOW_WAYS && h->tag[way] != TAG_FREE && h->tag[way] != TAG_BUSY)
		h->tag[way] = state == CS_ESTABLISHED ? tag | TAG_ESTABLISHED : tag;
}

/* The way a new handshake record goes to: a free one, else a tombstone,
 * else the oldest unfinished handshake, whose loss is counted. Reads the
 * bucket header only and takes the way with plain stores: an atomic here
 * would stall on the previous SYN's buffered writes, which is most of a
 * SYN's cost under a flood. The race this accepts: two CPUs putting new
 * SYNs of one bucket into the same way in the same instant; with the table
 * full both count an eviction (one for the old record, one for the record
 * the other CPU overwrote), so only a race on a free way loses a record
 * uncounted. */
static __always_inline int hs_claim(const struct hs_head *h, __u32 birth, __u32 *evicted_iface)
{
	__s32 oldest = -0x7fffffff - 1;
	int i, victim = 0, tomb = -1;

	for (i = 0; i < HS_WAYS; i++) {
		__u32 t = h->tag[i];
		__s32 age = (__s32)(birth - h->birth[i]);

		if (t == TAG_FREE)
			return i;
		if (t & TAG_TOMBSTONE)
			tomb = i;
		if (age >= oldest) {
			oldest = age;
			victim = i;
		}
	}
	if (tomb >= 0)
		return tomb;
	*evicted_iface = h->iface[victim & (HS_WAYS - 1)];
	return victim;
}

static __always_inline int flow_claim_free(struct flow_head *h)
{
	int i;

	for (i = 0; i < FLOW_WAYS; i++) {
		if (h->tag[i] == TAG_FREE &&
		    __sync_val_compare_and_swap(&h->tag[i], TAG_FREE, TAG_BUSY) == TAG_FREE)
			return i;
	}
	return -1;
}

/* Last resort when bucket and spill map are full: the oldest TIME-WAIT way. */
static __always_inline int flow_claim_time_wait(struct flow_ref b)
{
	__u64 oldest = ~0ull;
	int i, victim = -1;
	__u32 vtag = 0;

	for (i = 0; i < FLOW_WAYS; i++) {
		__u32 t = b.h->tag[i];

		if (t != TAG_FREE && t != TAG_BUSY && b.w->way[i].conn.state == CS_TIME_WAIT &&
		    b.w->way[i].conn.t_end < oldest) {
			oldest = b.w->way[i].conn.t_end;
			victim = i;
			vtag = t;
		}
	}
	if (victim < 0 || victim >= FLOW_WAYS)
		return -1;
	if (__sync_val_compare_and_swap(&b.h->tag[victim], vtag, TAG_BUSY) != vtag)
		return -1;
	account_eviction(b.w->way[victim].key.iface);
	return victim;
}

/* Move a completed handshake into the flow table. */
static __always_inline void flow_insert(const struct way *src, __u64 hash)
{
	struct flow_ref b = flow_bucket_of(hash);
	int i;

	if (!b.h || !b.w || !b.spilled)
		return;
	i = flow_claim_free(b.h);
	if (i < 0 && spill_insert(&src->key, src) == 0) {
		__sync_fetch_and_add(b.spilled, 1);
		return;
	}
	if (i < 0)
		i = flow_claim_time_wait(b);
	if (i < 0 || i >= FLOW_WAYS) {
		account_eviction(src->key.iface);
		return;
	}
	b.w->way[i].key = src->key;
	b.w->way[i].conn = src->conn;
	b.h->active[i] = src->conn.last_active;
	way_publish(&b.h->tag[i], src->conn.state == CS_ESTABLISHED ?
		    flow_tag(hash) | TAG_ESTABLISHED : flow_tag(hash));
}

/* The flow-table record of a key: a way of its bucket, or the spill map. */
static __always_inline struct way *flow_lookup(struct flow_ref b, __u32 tag,
					       const struct flow_key *key, int *way)
{
	int i = flow_find(b, tag, key);

	*way = i;
	if (i >= 0 && i < FLOW_WAYS)
		return &b.w->way[i];
	if (!b.spilled || !*b.spilled)
		return 0;
	return spill_lookup(key);
}

static __always_inline void flow_release(struct flow_ref b, int way, __u32 tag,
					 const struct flow_key *key)
{
	if (way >= 0 && way < FLOW_WAYS) {
		__u32 t = b.h->tag[way];

		if ((t & ~TAG_ESTABLISHED) == tag)
			way_release(&b.h->tag[way], t);
		return;
	}
	if (spill_delete(key) == 0 && b.spilled)
		__sync_fetch_and_sub(b.spilled, 1);
}

#endif /* TCPSHAKE_TABLES_H */
