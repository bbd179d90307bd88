/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The two direct-mapped tables, the spill map, and how records in them are
 * updated by several CPUs at once. Nothing here counts or reports: functions
 * return what happened and the caller (track.h, sweep.h) accounts for it.
 *
 * Ways. A way is owned through its tag in the bucket header: TAG_FREE ->
 * TAG_BUSY (claimed), then key and record are written, then the tag is
 * published (a fingerprint, bit 0 set) with a plain store after a compiler
 * barrier; releasing is a compare-and-swap back to TAG_FREE. On x86 stores
 * become visible in order, so a reader that matches a tag finds the key in
 * place; on weaker orders it may briefly miss a record being created.
 *
 * Records. Each record carries a version word, even while nobody writes it.
 * An update reads the version, copies the record, computes the new record
 * from the copy, and takes the version from v to v + 1 with a compare-and-
 * swap, which succeeds only if nobody committed since the copy was taken;
 * then it writes the record and releases the version as v + 2. A failed
 * swap means another CPU's transition came first: the update is recomputed
 * from the new record (record_update in track.h), so no transition is ever
 * overwritten by a stale copy. New records start with a fresh version
 * derived from the clock, so an update computed from a record that was
 * released and replaced meanwhile fails its swap.
 */
#ifndef TCPSHAKE_TABLES_H
#define TCPSHAKE_TABLES_H

#ifndef TCPSHAKE_PLATFORM
#error "include a platform first: platform.bpf.h (kernel) or native.h (user space)"
#endif
#include "tcpshake/bytes.h"
#include "tcpshake/fsm.h"
#include "tcpshake/flowhash.h"

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

/* ---- record versions ---- */

/* The version a new record starts with: even, and as good as random (the
 * clock's low bits and a per-flow salt such as its fingerprint or ISN), so
 * it matches a version the way's previous record held with odds of about
 * 2^-31. */
static __always_inline __u32 version_fresh(__u64 now, __u32 salt)
{
	return ((__u32)now * 2654435761u ^ salt) & ~1u;
}

/* A writer holds a record for the time of one 88-byte copy; a reader that
 * finds it odd waits this many version reads (a few microseconds, room for
 * a hardware interrupt on the writer's CPU) before the try counts as lost.
 * Packets never interrupt a writer on their own CPU: packet programs run in
 * softirq context, and the sweeper commits with interrupts off
 * (commit_guard_enter). What remains is a writer's vCPU descheduled by the
 * hypervisor mid-commit: the reader gives up, counted. */
#define RECORD_WAIT_READS 1024

/* How often an update is recomputed when other CPUs keep committing to the
 * same record first; each retry is counted, giving up is counted too. */
#define UPDATE_TRIES 4

/* An update given up (update_conflicts), per CPU as packet programs count. */
static __always_inline void count_update_given_up(__u32 iface)
{
	struct iface_stats *st = stats_of(iface);

	if (st)
		st->update_conflicts++;
}

/* A reader's wait for an even version (loop() callback). */
struct version_wait {
	const __u32 *version;
	__u32 v;
};

static long version_wait_read(__u64 i, void *ctx)
{
	struct version_wait *vw = ctx;

	(void)i;
	vw->v = *(volatile const __u32 *)vw->version;
	return !(vw->v & 1);
}

/* Copies the record and returns the version it was copied at; odd when a
 * CPU is still writing it after the wait (the copy is then not to be used).
 * The wait is a loop() callback: the verifier checks its read once, not
 * RECORD_WAIT_READS times, which also made inlining this affordable (3k
 * instructions per packet program; a global call costs about 9 ns and
 * every update of a record makes one). */
static __always_inline __u32 record_read(const struct way *w, struct conn *c)
{
	__u32 v;

	v = *(volatile const __u32 *)&w->conn.version;
	if (v & 1) {
		struct version_wait vw = { .version = &w->conn.version, .v = v };

		loop(RECORD_WAIT_READS, version_wait_read, &vw);
		v = vw.v;
	}
	__asm__ __volatile__("" ::: "memory");   /* the version before the fields */
	*c = w->conn;
	return v;
}

#define CONN_VERSION_AT  __builtin_offsetof(struct conn, version)
#define CONN_VERSION_END (CONN_VERSION_AT + sizeof(__u32))

/* A writer's copy of every field of c into w but the version, which stays
 * odd meanwhile, then the version: the fields before it. */
static __always_inline void record_write(struct way *w, const struct conn *c, __u32 version)
{
	__builtin_memcpy(&w->conn, c, CONN_VERSION_AT);
	__builtin_memcpy((__u8 *)&w->conn + CONN_VERSION_END, (const __u8 *)c + CONN_VERSION_END,
			 sizeof(struct conn) - CONN_VERSION_END);
	__asm__ __volatile__("" ::: "memory");   /* the fields before the version */
	*(volatile __u32 *)&w->conn.version = version;
}

/* Makes c the record of w if nobody committed since version v was read;
 * false when another CPU came first. */
static __always_inline bool record_commit(struct way *w, __u32 v, struct conn *c)
{
	if (sync_cas(&w->conn.version, v, v + 1) != v)
		return false;
	/* c's version is set after the copy: stored right before it, natively
	 * the copy's wide load of it would wait for that store to reach the
	 * cache. */
	record_write(w, c, v + 2);
	c->version = v + 2;
	return true;
}

/* A writer's wait to seize a way (loop() callback): one more try. */
struct seize_wait {
	__u32 *version;
	int done;
};

static long seize_try(__u64 i, void *ctx)
{
	struct seize_wait *sw = ctx;
	__u32 v = *(volatile const __u32 *)sw->version;

	(void)i;
	sw->done = !(v & 1) && sync_cas(sw->version, v, v + 1) == v;
	return sw->done;
}

/* Makes the way's version odd for a writer; 0 when a commit on it did not
 * end within RECORD_WAIT_READS more tries (its writer stalled). The first
 * try inline, the wait a loop() callback: verified once, not on each of
 * flow_insert()'s paths, and no call when the way is free. */
static __always_inline int record_seize(struct way *w)
{
	struct seize_wait sw = { .version = &w->conn.version };
	__u32 v = *(volatile const __u32 *)&w->conn.version;

	if (!(v & 1) && sync_cas(&w->conn.version, v, v + 1) == v)
		return 1;
	loop(RECORD_WAIT_READS, seize_try, &sw);
	return sw.done;
}

/* Writes a new record into a way that held another one: first the version
 * is made odd by compare-and-swap, as a commit does, so a CPU still
 * updating the previous record (it found the way before it was released)
 * fails its commit and reads again, then sees the new key; then key and
 * fields, the version last. A plain copy could interleave with such a
 * commit, and the way would hold the old flow's fields under the new key. */
static __always_inline void record_replace(struct way *w, const struct way *src)
{
	/* A writer stalled mid-commit (its vCPU descheduled) may still write
	 * over the new record: an update given up, counted. */
	if (!record_seize(w))
		count_update_given_up(src->key.iface);
	__asm__ __volatile__("" ::: "memory");   /* odd before the fields */
	w->key = src->key;
	record_write(w, &src->conn, src->conn.version);
}

/* Did a step change anything that must be written back? */
static __always_inline bool record_changed(const struct conn *a, const struct conn *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	__u32 i;

	for (i = 0; i < sizeof(struct conn) / sizeof(__u64); i++)
		if (x[i] != y[i])
			return true;
	return false;
}

/* The header's note of a handshake record's first valid SYN-ACK. */
static __always_inline __u32 hs_synack_tick(const struct conn *c)
{
	return c->t_synack ? fsm_coarse(c->t_synack) + 1 : 0;
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

/* The fast-path gate of flow way i (abi.h, FLOW_BLOCK_SHIFT): opened by a
 * sample in the sweeper's current tick, it lets data through until the
 * next tick, a jump, or the end of a run of FLOW_BLOCK_RUN blocks. How a
 * sample treats the gate's blocks: */
enum gate_sample {
	GATE_KEEP,       /* a FIN, or an ACK from the network: the blocks
			  * stand (the record's positions only moved forward),
			  * and the gate's line is cold for them */
	GATE_BLOCKS,     /* data, or an ACK this host sent: the gate's line
			  * is in hand (flow_gate_pass); the blocks start
			  * again from the record's positions */
	GATE_NEW,        /* a new record: a new epoch in the header, whose line
			  * it writes anyway, empties the gate without touching
			  * its line */
};

static __always_inline __u32 flow_gate_tick(__u32 tick)
{
	return (tick << FLOW_EPOCH_BITS) & ~FLOW_SAMPLED_HOST;
}

/* The block of a sequence number. */
static __always_inline __u32 flow_block_of(__u32 seq)
{
	return (seq >> FLOW_BLOCK_SHIFT) & FLOW_BLOCK_MASK;
}

/* Where endpoint a's or b's field sits in a gate word. */
static __always_inline __u32 flow_gate_shift(bool from_a)
{
	return from_a ? FLOW_GATE_FIELD_BITS : 0;
}

/* The gate's fields of a record: each endpoint's position, marked
 * FLOW_GATE_ACKED where it comes from this host's ACKs (fsm.h,
 * fsm_position_from_acks: the endpoint's peer is this host). */
static __always_inline __u32 flow_gate_blocks(const struct conn *c)
{
	__u32 a = c->orig_is_a ? c->pos_orig : c->pos_resp;
	__u32 b = c->orig_is_a ? c->pos_resp : c->pos_orig;
	__u32 acked_orig = (c->seen & SEEN_EGRESS_RESP) ? FLOW_GATE_ACKED : 0;
	__u32 acked_resp = (c->seen & SEEN_EGRESS_ORIG) ? FLOW_GATE_ACKED : 0;
	__u32 acked_a = c->orig_is_a ? acked_orig : acked_resp;
	__u32 acked_b = c->orig_is_a ? acked_resp : acked_orig;

	return (FLOW_GATE_SET | acked_a | flow_block_of(a)) << flow_gate_shift(true) |
	       (FLOW_GATE_SET | acked_b | flow_block_of(b)) << flow_gate_shift(false);
}

/* The header's word is stored only when it changes, so a stream sampled
 * again and again within a tick leaves the header clean. Plain stores: a
 * gate word lost to a concurrent packet holds an earlier block, which only
 * samples sooner, and a header word seen half-updated only samples
 * sooner. */
static __always_inline void flow_gate_open(struct flow_head *h, struct flow_gate *g, int i,
					   __u32 tick, enum gate_sample how, __u32 blocks, bool host)
{
	__u32 old, epoch, want;

	if (i < 0 || i >= FLOW_WAYS)
		return;
	old = h->sampled[i];
	epoch = (old + (how == GATE_NEW)) & FLOW_EPOCH_MASK;
	want = flow_gate_tick(tick) | epoch | (host ? FLOW_SAMPLED_HOST : 0);
	if (old != want)
		h->sampled[i] = want;
	if (how == GATE_BLOCKS && g)
		g->blocks[i] = epoch << FLOW_GATE_EPOCH_SHIFT | blocks;
}

/* The gate word of way i as its record knows it: the stored one, or an
 * empty one of the record's epoch when the stored one is of another. */
static __always_inline __u32 flow_gate_word(const struct flow_head *h, const struct flow_gate *g, int i)
{
	__u32 epoch = h->sampled[i] & FLOW_EPOCH_MASK, word = g->blocks[i];

	return word >> FLOW_GATE_EPOCH_SHIFT == epoch ? word : epoch << FLOW_GATE_EPOCH_SHIFT;
}

/* The field of endpoint a or b in a gate word. */
static __always_inline __u32 flow_gate_field(__u32 word, bool from_a)
{
	return (word >> flow_gate_shift(from_a)) & FLOW_GATE_FIELD_MASK;
}

/* Whether a segment [seq, seq + len) ends in another block than it starts
 * in. On a stream seen whole each segment starts where the one before
 * ended, so only such a segment can move its sender's block: the others
 * (pure ACKs, and all but about len / 128 KiB of the data) pass on the
 * header's tick alone and never load the gate's line. */
static __always_inline bool flow_block_crossed(__u32 seq, __u32 len)
{
	return flow_block_of(seq) != flow_block_of(seq + len);
}

/* Moves the field at shift of a gate word to block: 1 when the segment
 * passes (the word updated where the block was the field's first or the
 * next of its run), 0 for a sample (a jump, or the end of a run: the
 * record takes the position, so a gate on a stream never runs a run ahead
 * of it). A block the field holds, or one behind it, passes unchanged. */
static __always_inline int flow_gate_move(__u32 *word, __u32 shift, __u32 block)
{
	__u32 field = (*word >> shift) & FLOW_GATE_FIELD_MASK;
	__u32 held = field & FLOW_BLOCK_MASK, ahead = (block - held) & FLOW_BLOCK_MASK;

	if (field & FLOW_GATE_SET) {
		if (ahead == 0 || ahead >= FLOW_BLOCK_RUN)
			return 1;
		if (ahead > 1 || ((block ^ held) & FLOW_BLOCK_RUN))
			return 0;
	}
	*word = (*word & ~(FLOW_GATE_FIELD_MASK << shift)) |
		(FLOW_GATE_SET | (field & FLOW_GATE_ACKED) | block) << shift;
	return 1;
}

/* While the tick is current, a segment from the network that stays inside
 * one block passes; one that crosses into another passes when it ends in
 * its sender's block or behind it, and, as its sender's first crossing or
 * one into the next block of the same run, stores its block and passes. A
 * jump, or the end of a run, goes to a sample. A sender whose block this
 * host's ACKs keep (FLOW_GATE_ACKED) moves nothing: its crossings pass.
 * A segment this host sends (egress) moves its own block the same way, and
 * its ACK its peer's, which it marks FLOW_GATE_ACKED: so every egress
 * segment loads the gate's line, no ingress one but a crossing. */
static __always_inline bool flow_gate_pass(const struct flow_head *h, struct flow_gate *g, int i,
					   __u32 tick, const struct packet *p, __u32 egress)
{
	bool crossed = flow_block_crossed(p->seq, p->payload_len);
	__u32 word, next, own, peer, field;

	if (i < 0 || i >= FLOW_WAYS)
		return false;
	if ((h->sampled[i] & ~(FLOW_EPOCH_MASK | FLOW_SAMPLED_HOST)) != flow_gate_tick(tick))
		return false;
	if (egress != DIR_EGRESS && (!crossed || (h->sampled[i] & FLOW_SAMPLED_HOST)))
		return true;
	if (!g)
		return false;
	word = next = flow_gate_word(h, g, i);
	own = flow_gate_shift(p->from_a);
	if (crossed) {
		/* Marked by an egress ACK before a sample set the header bit. */
		if (egress != DIR_EGRESS && ((word >> own) & FLOW_GATE_ACKED))
			return true;
		if (!flow_gate_move(&next, own, flow_block_of(p->seq + p->payload_len)))
			return false;
	}
	if (egress == DIR_EGRESS && (p->flags & TCPF_ACK)) {
		peer = flow_gate_shift(!p->from_a);
		field = (next >> peer) & FLOW_GATE_FIELD_MASK;
		if (!(field & FLOW_GATE_ACKED))
			next = (next & ~(FLOW_GATE_FIELD_MASK << peer)) |
			       (FLOW_GATE_SET | FLOW_GATE_ACKED | flow_block_of(p->ack)) << peer;
		else if (!flow_gate_move(&next, peer, flow_block_of(p->ack)))
			return false;
	}
	if (next != word)
		g->blocks[i] = next;
	return true;
}

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
