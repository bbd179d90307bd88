/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The two direct-mapped tables and the spill map.
 *
 * A way is owned through its tag: TAG_FREE -> TAG_BUSY by compare-and-swap
 * (only one CPU wins), then key and record are written, then the
 * fingerprint is published with an atomic exchange (a full barrier), so a
 * reader that matches the tag finds the key already in place. Releasing is a
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

static __always_inline struct hs_bucket *hs_bucket_of(__u64 hash)
{
	__u32 idx = (__u32)hash & cfg.hs_mask;

	return bpf_map_lookup_elem(&hs_table, &idx);
}

static __always_inline struct flow_bucket *flow_bucket_of(__u64 hash)
{
	__u32 idx = (__u32)(hash >> 8) & cfg.flow_mask;

	return bpf_map_lookup_elem(&flow_table, &idx);
}

static __always_inline void way_publish(__u32 *tag, __u32 value)
{
	__sync_lock_test_and_set(tag, value);
}

static __always_inline void way_release(__u32 *tag, __u32 value)
{
	__sync_val_compare_and_swap(tag, value, TAG_FREE);
}

static __always_inline int hs_find(struct hs_bucket *b, __u32 tag, const struct flow_key *key)
{
	int i;

#pragma unroll
	for (i = 0; i < HS_WAYS; i++) {
		if (b->tag[i] == tag && flow_key_equal(&b->way[i].key, key))
			return i;
	}
	return -1;
}

static __always_inline int flow_find(struct flow_bucket *b, __u32 tag, const struct flow_key *key)
{
	int i;

#pragma unroll
	for (i = 0; i < FLOW_WAYS; i++) {
		if (b->tag[i] == tag && flow_key_equal(&b->way[i].key, key))
			return i;
	}
	return -1;
}

/* Take a free way of a handshake bucket, or overwrite the oldest unfinished
 * handshake. Returns the way index or -1 (the new record is then lost and
 * counted). */
static __always_inline int hs_claim(struct hs_bucket *b, bool atomic)
{
	__u64 oldest = ~0ull;
	int i, victim = -1;
	__u32 vtag = 0;

#pragma unroll
	for (i = 0; i < HS_WAYS; i++) {
		__u32 t = b->tag[i];

		if (t == TAG_FREE) {
			if (__sync_val_compare_and_swap(&b->tag[i], TAG_FREE, TAG_BUSY) == TAG_FREE)
				return i;
			continue;
		}
		if (t != TAG_BUSY && fsm_start_time(&b->way[i].conn) < oldest) {
			oldest = fsm_start_time(&b->way[i].conn);
			victim = i;
			vtag = t;
		}
	}
	if (victim < 0 || victim >= HS_WAYS)
		return -1;
	if (__sync_val_compare_and_swap(&b->tag[victim], vtag, TAG_BUSY) != vtag)
		return -1;
	account_eviction(b->way[victim].key.iface, b->way[victim].conn.state, atomic);
	return victim;
}

static __always_inline int flow_claim_free(struct flow_bucket *b)
{
	int i;

#pragma unroll
	for (i = 0; i < FLOW_WAYS; i++) {
		if (b->tag[i] == TAG_FREE &&
		    __sync_val_compare_and_swap(&b->tag[i], TAG_FREE, TAG_BUSY) == TAG_FREE)
			return i;
	}
	return -1;
}

/* Last resort when bucket and spill map are full: the oldest TIME-WAIT way. */
static __always_inline int flow_claim_time_wait(struct flow_bucket *b)
{
	__u64 oldest = ~0ull;
	int i, victim = -1;
	__u32 vtag = 0;

#pragma unroll
	for (i = 0; i < FLOW_WAYS; i++) {
		__u32 t = b->tag[i];

		if (t != TAG_FREE && t != TAG_BUSY && b->way[i].conn.state == CS_TIME_WAIT &&
		    b->way[i].conn.t_end < oldest) {
			oldest = b->way[i].conn.t_end;
			victim = i;
			vtag = t;
		}
	}
	if (victim < 0 || victim >= FLOW_WAYS)
		return -1;
	if (__sync_val_compare_and_swap(&b->tag[victim], vtag, TAG_BUSY) != vtag)
		return -1;
	account_eviction(b->way[victim].key.iface, CS_TIME_WAIT, false);
	return victim;
}

/* Move a completed handshake into the flow table. */
static __always_inline void flow_insert(const struct way *src, __u64 hash)
{
	struct flow_bucket *b = flow_bucket_of(hash);
	int i;

	if (!b)
		return;
	i = flow_claim_free(b);
	if (i < 0 && bpf_map_update_elem(&spill, &src->key, src, BPF_NOEXIST) == 0) {
		__sync_fetch_and_add(&b->spilled, 1);
		return;
	}
	if (i < 0)
		i = flow_claim_time_wait(b);
	if (i < 0 || i >= FLOW_WAYS) {
		account_eviction(src->key.iface, src->conn.state, false);
		return;
	}
	b->way[i].key = src->key;
	b->way[i].conn = src->conn;
	way_publish(&b->tag[i], flow_tag(hash));
}

/* The flow-table record of a key: a way of its bucket, or the spill map. */
static __always_inline struct way *flow_lookup(struct flow_bucket *b, __u32 tag,
					       const struct flow_key *key, int *way)
{
	int i = flow_find(b, tag, key);

	*way = i;
	if (i >= 0 && i < FLOW_WAYS)
		return &b->way[i];
	if (!b->spilled)
		return 0;
	return bpf_map_lookup_elem(&spill, key);
}

static __always_inline void flow_release(struct flow_bucket *b, int way, __u32 tag,
					 const struct flow_key *key)
{
	if (way >= 0 && way < FLOW_WAYS) {
		way_release(&b->tag[way], tag);
		return;
	}
	if (bpf_map_delete_elem(&spill, key) == 0)
		__sync_fetch_and_sub(&b->spilled, 1);
}

#endif /* TCPSHAKE_TABLES_H */
