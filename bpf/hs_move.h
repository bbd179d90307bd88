/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One cuckoo step in the handshake table. When a new attempt finds its
 * home bucket full and its alternative bucket full too, it would evict the
 * oldest live attempt. Instead, an attempt of either bucket that is at
 * home moves to its own alternative bucket (hs_alt_index of its tag) if
 * that has a free way, and the new attempt takes the way it left. Two
 * choices alone evict about 45 of 20,000 attempts at the default
 * geometry; with this step, none (docs/design.md). Only that SYN pays for
 * it: a SYN with a free way, a tombstone or a crowded table (hs_crowded,
 * a flood) never gets here.
 *
 * A move takes the source way as a writer of the version protocol
 * (tables.h), so it cannot lose a concurrent update:
 *   1. claim a free way of the destination (compare-and-swap FREE -> BUSY);
 *   2. copy the source's record into the destination (record_read: at an
 *      even version v) and, if it is an unfinished handshake, swap the
 *      source's version from v to v + 1; an update that committed since
 *      the copy makes the swap fail and the copy is taken again (up to
 *      UPDATE_TRIES times). From here no update can commit to the source:
 *      one that copied it at v fails its swap, a later one waits for the
 *      odd version (record_read);
 *   3. give the destination the key, a fresh version and its header
 *      (birth, interface, SYN-ACK tick, guest mark); count the attempt in
 *      its home's elsewhere; publish the tag;
 *   4. seal the source: a key no packet has (family 0) and state NONE,
 *      then release the version as v + 2;
 *   5. take the source way for the new attempt (compare-and-swap of its
 *      tag to BUSY).
 * An update that lost to the move finds the sealed record (or, a moment
 * later, the new attempt's key; record_holds() in track.h, which also
 * covers a key read torn between the two): update_try() reports the
 * record gone, and track_slow() looks the attempt up again (hs_follow), in
 * the destination, published before the seal.
 *
 * Attempts only move away from home, the order lookups read the buckets
 * in (hs_lookup, and hs_may_hold_either for a segment of no connection:
 * home, then the alternative if elsewhere is not zero), so
 * a lookup never misses a moving attempt: one that reads the home way
 * after the seal reads, after it (a compiler barrier in hs_lookup), the
 * count and the destination tag, both stored before the seal (x86 keeps
 * stores and loads in order; on weaker orders a lookup may miss, as for
 * a record being created, tables.h). A move home could not promise that: a lookup may read the
 * home bucket before the attempt arrives and its guest way after it left.
 *
 * The sweeper's expiry goes through the same version and leaves a sealed
 * record alone (fsm_expire of state NONE does nothing); it does not count
 * it either, and frees a sealed way still published (sweep_way), which
 * only the race below leaves.
 *
 * Only handshakes in progress move (SYN-SENT, SYN-RCVD): a completed one
 * is about to be released by the CPU that completed it, a failed one is a
 * tombstone that new SYNs take anyway.
 *
 * Races accepted: a move that loses its swap UPDATE_TRIES times, or waits
 * in vain for a writer (a descheduled vCPU), gives up, counted as an update
 * given up (update_conflicts), and the SYN evicts as before. The SYN fast
 * path takes ways with plain stores (tables.h, hs_claim): a second CPU's
 * SYN overwriting the source or the destination in the same instant is the
 * accepted race of two SYNs in one way, with the same cost (an attempt
 * lost, or counted evicted while it lives on moved). The header notes an
 * update writes after its commit (birth, SYN-ACK tick in track_slow) may
 * land on the source way after it moved: they are hints (eviction order,
 * half-open accounting), and the moved copy's SYN-ACK tick is recomputed
 * from its record.
 */
#ifndef TCPSHAKE_HS_MOVE_H
#define TCPSHAKE_HS_MOVE_H

#include "tables.h"

/* Failed cuckoo steps after which the table counts as crowded (hs_crowded)
 * until the sweeper's next pass says what it is: a flood fills every
 * bucket well within one sweep interval, and each of its SYNs would scan
 * eight buckets in vain until then. Fewer failures are local clusters,
 * which the step's absence would turn into evictions. */
#define HS_MOVE_MISSES_MAX 64

/* Moves the attempt of way i of its home bucket home (tag t) to a free
 * way of its alternative bucket alt and leaves way i BUSY for the caller;
 * 0 when it did not (nothing changed then, but maybe the version). A
 * global function: verified once, not once for each way hs_move_out()
 * may pick. */
CORE_GLOBAL int hs_move(__u32 home, int i, __u32 t, __u32 alt, __u64 now)
{
	struct hs_head *sh = hs_head_at(home), *dh = hs_head_at(alt);
	struct hs_ways *sw = hs_ways_at(home), *dw = hs_ways_at(alt);
	struct way *s, *d;
	__u32 v = 1, n;
	int j;

	if (!sh || !sw || !dh || !dw || i < 0 || i >= HS_WAYS)
		return 0;
	/* A move is rare: it can afford the atomic the SYN fast path avoids. */
	j = claim_free_way(dh->tag, HS_WAYS);
	if (j < 0 || j >= HS_WAYS)
		return 0;
	s = &sw->way[i];
	d = &dw->way[j];
	/* The record is copied into the destination as an update copies it
	 * (record_read), then the version swap proves the copy current; an
	 * update committing first (it comes first) means a new copy. */
	for (n = 0; n < UPDATE_TRIES; n++) {
		v = record_read(s, &d->conn);
		if (v & 1)
			continue;
		if (!fsm_is_handshake(d->conn.state))
			break;
		if (sync_cas(&s->conn.version, v, v + 1) == v)
			break;
		v = 1;
	}
	if ((v & 1) || !fsm_is_handshake(d->conn.state)) {
		way_release(&dh->tag[j], TAG_BUSY);
		/* Lost to updates, or to a stalled writer: an update given up. */
		if (v & 1)
			count_update_given_up(sh->iface[i]);
		return 0;
	}
	/* The source is ours; it must still hold the attempt chosen, at home. */
	if (sh->tag[i] != t || sh->away[i]) {
		*(volatile __u32 *)&s->conn.version = v + 2;
		way_release(&dh->tag[j], TAG_BUSY);
		return 0;
	}
	d->key = s->key;
	d->conn.version = version_fresh(now, t);
	dh->birth[j] = sh->birth[i];
	dh->iface[j] = d->key.iface;
	dh->synack_tick[j] = hs_synack_tick(&d->conn);
	dh->away[j] = 1;
	/* Counted before the attempt is published (tables.h). */
	sync_add(&sh->elsewhere, 1);
	way_publish(&dh->tag[j], t);
	s->key.family = 0;
	s->conn.state = CS_NONE;
	__asm__ __volatile__("" ::: "memory");   /* the seal before the version */
	*(volatile __u32 *)&s->conn.version = v + 2;
	/* Taken meanwhile: by the sweeper, or by another CPU's SYN (the
	 * accepted race), whose way it is now. */
	return sync_cas(&sh->tag[i], t, TAG_BUSY) == t;
}

/* Both buckets of a new attempt are full (home, alt): moves one of their
 * attempts that is at home to its alternative bucket, the one with the
 * most free ways, and returns the way it left, BUSY, in the new attempt's
 * home bucket (0 .. HS_WAYS - 1) or alternative (HS_WAYS + way); -1 when
 * no attempt could move. A global function: the SYN fast path inlines
 * only its call. */
CORE_GLOBAL int hs_move_out(__u32 home, __u32 alt, __u64 now)
{
	__u32 k, from = 0, to = 0, tag = 0, most = 0;
	int i, way = -1;

	for (k = 0; k < 2; k++) {
		__u32 idx = k ? alt : home;
		struct hs_head *h = hs_head_at(idx);

		if (!h)
			return -1;
		for (i = 0; i < HS_WAYS; i++) {
			__u32 t = h->tag[i], other = hs_alt_index(t, idx), n;
			struct hs_head *oh;

			if (!tag_is_record(t) || tag_is_tombstone(t) || h->away[i] || other == idx)
				continue;
			oh = hs_head_at(other);
			n = oh ? hs_free_ways(oh) : 0;
			if (n > most) {
				most = n;
				from = idx;
				way = i;
				to = other;
				tag = t;
			}
		}
	}
	if (way < 0 || !hs_move(from, way, tag, to, now))
		return -1;
	return from == home ? way : HS_WAYS + way;
}

#endif /* TCPSHAKE_HS_MOVE_H */
