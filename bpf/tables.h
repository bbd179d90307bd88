/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The two direct-mapped tables and the spill map; how several CPUs update a
 * record in them is record.h, the data fast path's gate flow_gate.h.
 * Nothing here counts or reports: functions return what happened and the
 * caller (track.h, sweep.h) accounts for it.
 *
 * Ways. A way is owned through its tag in the bucket header: TAG_FREE ->
 * TAG_BUSY (claimed), then key and record are written, then the tag is
 * published (a fingerprint, bit 0 set) with a plain store after a compiler
 * barrier; releasing is a compare-and-swap back to TAG_FREE. On x86 stores
 * become visible in order, so a reader that matches a tag finds the key in
 * place; on weaker orders it may briefly miss a record being created.
 */
#ifndef TCPSHAKE_TABLES_H
#define TCPSHAKE_TABLES_H

#ifndef TCPSHAKE_PLATFORM
#error "include a platform first: platform.bpf.h (kernel) or native.h (user space)"
#endif
#include "tcpshake/bytes.h"
#include "tcpshake/fsm.h"
#include "tcpshake/flowhash.h"
#include "record.h"

/* A handshake bucket: its header and its ways, two lookups with the same
 * index. An attempt goes to its home bucket, or, when that has fewer than
 * two free ways and the table is not crowded (the sweeper's judgement: a
 * flood fills every bucket, and reading a second one would double a flood
 * SYN's cost), to its alternative bucket if that is less loaded, counted
 * in the home header's elsewhere; when both are full, an attempt at home
 * in either may move to its own alternative to make room (hs_move.h).
 * hs_lookup() points h and w at the bucket where it found the attempt;
 * home_h stays the home header. */
struct hs_ref {
	struct hs_head *h;
	struct hs_ways *w;
	struct hs_head *home_h;
	__u32 home, alt;          /* bucket indexes; alt == home: no alternative */
	bool in_alt;
};

/* The alternative of bucket idx for an attempt with tag: symmetric (the
 * alternative of the alternative is home), so a way's header tells whose
 * attempt an away way holds. */
static __always_inline __u32 hs_alt_index(__u32 tag, __u32 idx)
{
	return (idx ^ ((tag >> 8) | 1)) & cfg.hs_mask;
}

/* A flow's home bucket, where it goes and is looked for first; when that is
 * full, its alternative bucket, then the spill map. away counts the
 * records of the home bucket held in each (abi.h); lookups only pay for a
 * second place whose count is not zero. flow_lookup() points h and w at
 * the bucket where it found the record. */
struct flow_ref {
	struct flow_head *h;
	struct flow_ways *w;
	struct flow_away *away;   /* the home bucket's counts */
	__u32 home, alt;          /* bucket indexes; alt == home: no alternative */
	__u32 spill_part;         /* where the spill map would hold it (abi.h) */
	__u32 found;              /* the bucket h and w are (home or alt) */
};

/* An attempt's home bucket. */
static __always_inline __u32 hs_home_index(__u64 hash)
{
	return (__u32)hash & cfg.hs_mask;
}

static __always_inline struct hs_ref hs_bucket_of(__u64 hash)
{
	__u32 idx = hs_home_index(hash);
	struct hs_ref b = {
		.h = hs_head_at(idx),
		.w = hs_ways_at(idx),
		.home = idx,
		.alt = hs_alt_index(flow_tag(hash), idx),
	};

	b.home_h = b.h;
	return b;
}

/* The alternative bucket differs from the home one in at least its lowest
 * bit (a table of one bucket has none), chosen by other bits of the hash,
 * so two flows sharing a home rarely share an alternative. */
static __always_inline __u32 flow_alt_index(__u64 hash, __u32 home)
{
	return (home ^ ((__u32)(hash >> 40) | 1)) & cfg.flow_mask;
}

/* A flow's home bucket. */
static __always_inline __u32 flow_home_index(__u64 hash)
{
	return (__u32)(hash >> 8) & cfg.flow_mask;
}

static __always_inline struct flow_ref flow_bucket_of(__u64 hash)
{
	__u32 idx = flow_home_index(hash);
	struct flow_ref b = {
		.h = flow_head_at(idx),
		.w = flow_ways_at(idx),
		.away = flow_away_at(idx),
		.home = idx,
		.found = idx,
		.alt = flow_alt_index(hash, idx),
		.spill_part = (__u32)hash & (SPILL_PARTS - 1),
	};

	return b;
}

/* ---- tags ---- */

static __always_inline bool tag_is_record(__u32 t)
{
	return t & TAG_LIVE;
}

static __always_inline bool tag_is_tombstone(__u32 t)
{
	return (t & (TAG_LIVE | TAG_TOMBSTONE)) == (TAG_LIVE | TAG_TOMBSTONE);
}

static __always_inline void way_publish(__u32 *tag, __u32 value)
{
	__asm__ __volatile__("" ::: "memory");   /* key and record first, then the tag */
	*(volatile __u32 *)tag = value;
}

/* True for the one caller that released the way. */
static __always_inline bool way_release(__u32 *tag, __u32 value)
{
	return sync_cas(tag, value, TAG_FREE) == value;
}

/* The header's note of a handshake record's first valid SYN-ACK, while it
 * is half-open: none once that SYN-ACK was lost (fsm_synack_error). */
static __always_inline __u32 hs_synack_tick(const struct conn *c)
{
	return c->t_synack && !(c->seen & SEEN_SYNACK_LOST) ? fsm_coarse(c->t_synack) + 1 : 0;
}

/* ---- lookups ---- */

static __always_inline int hs_find(struct hs_ref b, __u32 tag, const struct flow_key *key)
{
	int i;

	for (i = 0; i < HS_WAYS; i++) {
		__u32 t = b.h->tag[i];

		if (tag_is_record(t) && (t & ~TAG_TOMBSTONE) == tag &&
		    flow_key_equal(&b.w->way[i].key, key))
			return i;
	}
	return -1;
}

/* The way of an attempt: in its home bucket, else in its alternative when
 * the home bucket counts attempts there (b then points at it); -1. */
static __always_inline int hs_lookup(struct hs_ref *b, __u32 tag, const struct flow_key *key)
{
	struct hs_ref a;
	int i = hs_find(*b, tag, key);

	if (i >= 0)
		return i;
	/* The home ways before the count: an attempt moving out is counted,
	 * published in the alternative, then sealed at home (hs_move.h);
	 * read in the other order, a lookup could miss it. */
	__asm__ __volatile__("" ::: "memory");
	if (!b->h || !b->h->elsewhere || b->alt == b->home)
		return i;
	a.h = hs_head_at(b->alt);
	a.w = hs_ways_at(b->alt);
	if (!a.h || !a.w)
		return -1;
	i = hs_find(a, tag, key);
	if (i >= 0) {
		b->h = a.h;
		b->w = a.w;
		b->in_alt = true;
	}
	return i;
}

/* Whether bucket header h has a way of fingerprint tag: an attempt, or the
 * tombstone of one. */
static __always_inline bool hs_has_tag(const struct hs_head *h, __u32 tag)
{
	__u32 i, hit = 0;

	for (i = 0; i < HS_WAYS; i++)
		hit |= (h->tag[i] & ~TAG_TOMBSTONE) == tag;
	return hit;
}

/* Whether bucket header h may hold an attempt of fingerprint tag: a way
 * with that tag, or attempts held in its alternative (a false yes costs its
 * caller the slow path's loads, nothing else). The ways before the count,
 * as hs_lookup() reads them. */
static __always_inline bool hs_may_hold(const struct hs_head *h, __u32 tag)
{
	bool hit = hs_has_tag(h, tag);

	__asm__ __volatile__("" ::: "memory");
	return hit || h->elsewhere;
}

/* hs_may_hold() for the attempt of tag whose home is bucket home, settled
 * by the alternative header when the home bucket counts attempts there:
 * read in hs_lookup()'s order (the home ways, the count, then the
 * alternative's ways), so an attempt moving out is seen in one of the two
 * (hs_move.h). A tag in the alternative that is another tuple's is a
 * false yes, as at home. */
static __always_inline bool hs_may_hold_either(__u32 home, __u32 tag)
{
	const struct hs_head *h = hs_head_at(home), *a;
	__u32 alt = hs_alt_index(tag, home);

	if (!h || hs_has_tag(h, tag))
		return true;
	__asm__ __volatile__("" ::: "memory");
	if (!h->elsewhere)
		return false;
	a = hs_head_at(alt);
	return alt == home || !a || hs_has_tag(a, tag);
}

/* Way i of bucket idx held another bucket's attempt and no longer does:
 * that bucket counts one attempt elsewhere fewer. t: the way's tag then. */
static __always_inline void hs_left_alt(__u32 t, __u32 idx)
{
	struct hs_head *home = hs_head_at(hs_alt_index(t, idx));

	if (home)
		sync_sub(&home->elsewhere, 1);
}

/* Releases way i of the bucket b points at (an attempt that ended). */
static __always_inline void hs_release(const struct hs_ref *b, int i, __u32 tag)
{
	if (i < 0 || i >= HS_WAYS)
		return;
	if (way_release(&b->h->tag[i], tag) && b->in_alt && b->home_h)
		sync_sub(&b->home_h->elsewhere, 1);
}

static __always_inline int flow_find(const struct flow_head *h, const struct flow_ways *w,
				     __u32 tag, const struct flow_key *key)
{
	int i;

	for (i = 0; i < FLOW_WAYS; i++) {
		__u32 t = h->tag[i];

		if (tag_is_record(t) && (t & ~TAG_ESTABLISHED) == tag &&
		    flow_key_equal(&w->way[i].key, key))
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

/* Keeps a flow way's ESTABLISHED mark in step with its record
 * (fsm_data_fast_path); a compare-and-swap, so a way released and reused
 * meanwhile is left alone. */
static __always_inline void flow_mark(struct flow_head *h, int way, __u32 tag, bool fast)
{
	__u32 want = fast ? tag | TAG_ESTABLISHED : tag, t;

	if (way < 0 || way >= FLOW_WAYS)
		return;
	t = h->tag[way];
	if ((t & ~TAG_ESTABLISHED) == tag && t != want)
		sync_cas(&h->tag[way], t, want);
}

#include "flow_gate.h"

/* ---- claiming ways ---- */

/* The way a new handshake record goes to: a free one, else a tombstone,
 * else the oldest unfinished handshake, whose loss the caller counts
 * (*evicted_iface < MAX_IFACES). Reads the bucket header only and takes the
 * way with plain stores: an atomic here would stall on the previous SYN's
 * buffered writes, which is most of a SYN's cost under a flood. A way being
 * claimed by another CPU (TAG_BUSY) is never chosen. The race this accepts:
 * two CPUs putting new SYNs of one bucket into the same way in the same
 * instant; with the table full both count an eviction (one for the old
 * record, one for the record the other CPU overwrote), so only a race on a
 * free way loses a record uncounted. */
static __always_inline int hs_claim(const struct hs_head *h, __u32 birth, __u32 *evicted_iface)
{
	__s32 oldest = -0x7fffffff - 1;
	int i, victim = -1, tomb = -1;

	for (i = 0; i < HS_WAYS; i++) {
		__u32 t = h->tag[i];
		__s32 age = (__s32)(birth - h->birth[i]);

		if (t == TAG_FREE)
			return i;
		if (!tag_is_record(t))
			continue;
		if (tag_is_tombstone(t))
			tomb = i;
		if (age >= oldest) {
			oldest = age;
			victim = i;
		}
	}
	if (tomb >= 0)
		return tomb;
	if (victim >= 0)
		*evicted_iface = h->iface[victim & (HS_WAYS - 1)];
	return victim;
}

/* Free ways among n tags, counted without a branch per way: the verifier
 * would walk every combination, 2^n paths. */
static __always_inline __u32 free_ways(const __u32 *tag, __u32 n)
{
	__u32 i, used = 0;

	_Static_assert(TAG_FREE == 0, "a free way's tag is zero");
	for (i = 0; i < n; i++)
		used += (__u32)nonzero_bit(tag[i]);
	return n - used;
}

static __always_inline __u32 hs_free_ways(const struct hs_head *h)
{
	return free_ways(h->tag, HS_WAYS);
}

/* A free way of a handshake bucket, taken with a plain store like
 * hs_claim's (the same accepted race); -1 if none. */
static __always_inline int hs_claim_free(struct hs_head *h)
{
	int i;

	for (i = 0; i < HS_WAYS; i++) {
		if (h->tag[i] == TAG_FREE) {
			h->tag[i] = TAG_BUSY;
			return i;
		}
	}
	return -1;
}

static __always_inline __u32 flow_free_ways(const struct flow_head *h)
{
	return free_ways(h->tag, FLOW_WAYS);
}

/* Whether a new record stays in its home bucket, which has free ways
 * free: up to half full it does, where the data fast path looks first;
 * past that it goes to a less loaded alternative (two choices keep the
 * buckets even). flow_insert() decides by it, flow_insert_load_ahead()
 * foresees it. */
static __always_inline bool flow_home_keeps(__u32 free)
{
	return free >= FLOW_WAYS / 2;
}

/* A free way among n tags, taken with a compare-and-swap (FREE -> BUSY);
 * -1 if none. */
static __always_inline int claim_free_way(__u32 *tag, __u32 n)
{
	__u32 i;

	for (i = 0; i < n; i++) {
		if (tag[i] == TAG_FREE && sync_cas(&tag[i], TAG_FREE, TAG_BUSY) == TAG_FREE)
			return (int)i;
	}
	return -1;
}

static __always_inline int flow_claim_free(struct flow_head *h)
{
	return claim_free_way(h->tag, FLOW_WAYS);
}

/* Another bucket's record released from a way of bucket idx: its home
 * bucket holds one record fewer elsewhere. */
static __always_inline void flow_left_alt(const struct flow_key *key, __u32 idx)
{
	struct flow_ref home = flow_bucket_of(flow_hash(key, cfg.hash_seed));

	if (home.home != idx && home.away)
		sync_sub(&home.away->alt, 1);
}

/* The oldest TIME-WAIT way of a bucket (its tag in *vtag), or -1. */
static __always_inline int flow_oldest_time_wait(const struct flow_head *h, const struct flow_ways *w,
						 __u32 *vtag)
{
	__u64 oldest = ~0ull;
	int i, victim = -1;

	*vtag = 0;
	for (i = 0; i < FLOW_WAYS; i++) {
		__u32 t = h->tag[i];

		if (tag_is_record(t) && w->way[i].conn.state == CS_TIME_WAIT &&
		    w->way[i].conn.t_end < oldest) {
			oldest = w->way[i].conn.t_end;
			victim = i;
			*vtag = t;
		}
	}
	return victim;
}

/* Last resort when bucket and spill map are full: the oldest TIME-WAIT way.
 * Its interface is returned in *evicted_iface for the caller to count. */
static __always_inline int flow_claim_time_wait(struct flow_ref b, __u32 *evicted_iface)
{
	__u32 vtag;
	int victim = flow_oldest_time_wait(b.h, b.w, &vtag);

	if (victim < 0 || victim >= FLOW_WAYS)
		return -1;
	if (sync_cas(&b.h->tag[victim], vtag, TAG_BUSY) != vtag)
		return -1;
	*evicted_iface = b.w->way[victim].key.iface;
	flow_left_alt(&b.w->way[victim].key, b.home);   /* a guest of this bucket */
	return victim;
}

/* Starts loading the way flow_insert() takes for a record of bucket b
 * when it stays home (flow_home_keeps(): the first free way): a
 * handshake that completes then copies into lines already on their way,
 * not after its handshake record's miss. Loads whose values nothing waits
 * for; the header is in hand (flow_lookup read it). */
static __always_inline void flow_insert_load_ahead(const struct flow_ref *b)
{
	const struct way *w;
	__u32 i;

	if (!b->h || !b->w || !flow_home_keeps(flow_free_ways(b->h)))
		return;
	for (i = 0; i < FLOW_WAYS; i++) {
		if (b->h->tag[i] == TAG_FREE)
			break;
	}
	if (i >= FLOW_WAYS)
		return;
	w = &b->w->way[i];
	__asm__ __volatile__("" : : "r"(*(volatile const __u32 *)&w->key),
			     "r"(*(volatile const __u32 *)((const __u8 *)w + 64)),
			     "r"(*(volatile const __u32 *)&w->conn.version));
}

/* Moves a completed handshake into the flow table. Returns the interface
 * of a record that had to be dropped for lack of space (the new one, or a
 * TIME-WAIT record it replaced), else MAX_IFACES. */
CORE_GLOBAL __u32 flow_insert(struct way *src, __u64 hash, __u64 now)
{
	struct flow_ref b = flow_bucket_of(hash);
	__u32 evicted = MAX_IFACES;
	struct flow_head *h;
	struct flow_ways *w;
	__u32 home_free;
	int i;

	if (!src)   /* global functions verify their pointers themselves */
		return MAX_IFACES;
	if (!b.h || !b.w || !b.away)
		return src->key.iface;
	h = b.h;
	w = b.w;
	src->conn.version = version_fresh(now, flow_tag(hash));
	i = -1;
	home_free = flow_free_ways(b.h);
	if (b.alt != b.home && !flow_home_keeps(home_free)) {
		struct flow_head *ah = flow_head_at(b.alt);
		struct flow_ways *aw = flow_ways_at(b.alt);

		if (ah && aw && flow_free_ways(ah) > home_free) {
			i = flow_claim_free(ah);
			if (i >= 0) {
				h = ah;
				w = aw;
			}
		}
	}
	if (i < 0)
		i = flow_claim_free(h);
	if (i < 0 && b.alt != b.home && h == b.h) {
		h = flow_head_at(b.alt);
		w = flow_ways_at(b.alt);
		i = h && w ? flow_claim_free(h) : -1;
	}
	/* Counted before the record is published: a lookup that can see the
	 * record then knows to look there. */
	if (i >= 0 && h != b.h)
		sync_add(&b.away->alt, 1);
	if (i < 0) {
		if (spill_insert(b.spill_part, &src->key, src) == 0) {
			sync_add(&b.away->spill, 1);
			return MAX_IFACES;
		}
		h = b.h;
		w = b.w;
		i = flow_claim_time_wait(b, &evicted);
	}
	if (i < 0 || i >= FLOW_WAYS || !h || !w)
		return src->key.iface;
	record_replace(&w->way[i], src);
	flow_gate_open(h, NULL, i, now_coarse, GATE_NEW, 0, fsm_host_connection(&src->conn));
	way_publish(&h->tag[i], fsm_data_fast_path(&src->conn) ?
		    flow_tag(hash) | TAG_ESTABLISHED : flow_tag(hash));
	return evicted;
}

/* The flow-table record of a key: a way of its home bucket, of its
 * alternative bucket (b then points there), or the spill map (*way < 0). */
static __always_inline struct way *flow_lookup(struct flow_ref *b, __u32 tag,
					       const struct flow_key *key, int *way)
{
	struct flow_head *h;
	struct flow_ways *w;
	int i = flow_find(b->h, b->w, tag, key);

	*way = i;
	if (i >= 0 && i < FLOW_WAYS)
		return &b->w->way[i];
	if (!b->away)
		return 0;
	if (b->away->alt && b->alt != b->home) {
		h = flow_head_at(b->alt);
		w = flow_ways_at(b->alt);
		i = h && w ? flow_find(h, w, tag, key) : -1;
		if (i >= 0 && i < FLOW_WAYS) {
			b->h = h;
			b->w = w;
			b->found = b->alt;
			*way = i;
			return &w->way[i];
		}
	}
	return b->away->spill ? spill_lookup(b->spill_part, key) : 0;
}

/* What flow_find_established_any() finds when no way holds an established
 * record of the tag: whether the table may still hold a record of it. */
enum flow_miss {
	FLOW_MISS_MAY_HOLD = -1,  /* in another state, spilled, or not known */
	FLOW_MISS_NONE = -2,      /* no record: neither its home header nor, when
				   * the home bucket has records there, its
				   * alternative header has a way of the tag in any
				   * state, and the home bucket has none spilled */
};

/* Whether header h has a way of fingerprint tag, in any state. */
static __always_inline bool flow_head_has(const struct flow_head *h, __u32 tag)
{
	__u32 i, hit = 0;

	for (i = 0; i < FLOW_WAYS; i++)
		hit |= (h->tag[i] & ~TAG_ESTABLISHED) == tag;
	return hit;
}

/* The data fast path's way for tag: in its home bucket, else in the
 * alternative one when the home bucket has records there; *h and *bucket
 * are set to the bucket found. Else an enum flow_miss. Only the header of
 * each bucket is looked up, and the home bucket's counts of records away
 * only on a miss: the ways, the gate and the spill map are the caller's
 * to reach. */
static __always_inline int flow_find_established_any(__u64 hash, __u32 tag, struct flow_head **h,
						     __u32 *bucket)
{
	__u32 home = flow_home_index(hash), alt;
	const struct flow_away *away;
	bool maybe;
	int i;

	*bucket = home;
	*h = flow_head_at(home);
	if (!*h)
		return FLOW_MISS_MAY_HOLD;
	i = flow_find_established(*h, tag);
	if (i >= 0)
		return i;
	away = flow_away_at(home);
	if (!away)
		return FLOW_MISS_MAY_HOLD;
	maybe = flow_head_has(*h, tag) || away->spill;
	if (!away->alt)
		return maybe ? FLOW_MISS_MAY_HOLD : FLOW_MISS_NONE;
	alt = flow_alt_index(hash, home);
	if (alt == home)
		return FLOW_MISS_MAY_HOLD;
	*bucket = alt;
	*h = flow_head_at(alt);
	if (!*h)
		return FLOW_MISS_MAY_HOLD;
	i = flow_find_established(*h, tag);
	if (i >= 0)
		return i;
	return maybe || flow_head_has(*h, tag) ? FLOW_MISS_MAY_HOLD : FLOW_MISS_NONE;
}

static __always_inline void flow_release(struct flow_ref b, int way, __u32 tag,
					 const struct flow_key *key)
{
	if (way >= 0 && way < FLOW_WAYS) {
		__u32 t = b.h->tag[way];

		if ((t & ~TAG_ESTABLISHED) == tag && way_release(&b.h->tag[way], t) &&
		    b.found != b.home && b.away)
			sync_sub(&b.away->alt, 1);
		return;
	}
	if (spill_delete(b.spill_part, key) == 0 && b.away)
		sync_sub(&b.away->spill, 1);
}

#endif /* TCPSHAKE_TABLES_H */
