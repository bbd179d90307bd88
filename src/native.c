// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Storage of the native platform (native.h) and its spill map: open
 * addressing with tombstones, capacity-limited like the kernel hash map. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "native.h"
#include "tcpshake/flowhash.h"

struct native_tables native;
struct tcpshake_config cfg;
__u32 now_coarse;
__u32 next_port_slot;
__u32 hs_crowded;
struct sweep_report report;
__u32 sketch_epoch;

enum { SLOT_FREE = 0, SLOT_USED, SLOT_DELETED };

#define HUGE_PAGE ((uintptr_t)2 << 20)

/* Zeroed tables. Large ones are asked for in transparent huge pages: every
 * packet lands in a random bucket, and with 4 KiB pages nearly every one of
 * those lookups also misses the TLB (measured: the largest cost of --read
 * before this). calloc maps large blocks fresh, so pages are zeroed by the
 * kernel when first touched and a small capture touches few of them. */
static void *zalloc(size_t n, size_t size)
{
	uintptr_t start, end;
	void *p;

	if (!n)
		return NULL;
	p = calloc(n, size);
	if (!p || n * size < 2 * HUGE_PAGE)
		return p;
	start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	end = ((uintptr_t)p + n * size) & ~(HUGE_PAGE - 1);
	if (end > start)
		madvise((void *)start, end - start, MADV_HUGEPAGE);   /* a hint only */
	return p;
}

int native_open(__u32 hs_buckets, __u32 flow_buckets, __u32 spill_max, __u32 port_slots)
{
	__u32 slots = 2;

	native_close();
	while (slots < 2 * (__u64)spill_max)
		slots <<= 1;
	native.hs_buckets = hs_buckets;
	native.flow_buckets = flow_buckets;
	native.port_slots = port_slots;
	native.sweep_slices = sweep_slice_count(hs_buckets, flow_buckets);
	native.hs_heads = zalloc(hs_buckets, sizeof(struct hs_head));
	native.hs_ways = zalloc(hs_buckets, sizeof(struct hs_ways));
	native.flow_heads = zalloc(flow_buckets, sizeof(struct flow_head));
	native.flow_ways = zalloc(flow_buckets, sizeof(struct flow_ways));
	native.flow_spilled = zalloc(flow_buckets, sizeof(__u32));
	native.port_slot = zalloc(MAX_IFACES * 65536u, sizeof(__u32));
	native.port_stats = zalloc(port_slots, sizeof(struct service_stats));
	native.spill.keys = zalloc(slots, sizeof(struct flow_key));
	native.spill.ways = zalloc(slots, sizeof(struct way));
	native.spill.used = zalloc(slots, 1);
	native.spill.mask = slots - 1;
	native.spill.max = spill_max;
	if (!native.hs_heads || !native.hs_ways || !native.flow_heads || !native.flow_ways ||
	    !native.flow_spilled || !native.port_slot || !native.port_stats || !native.spill.keys ||
	    !native.spill.ways || !native.spill.used) {
		native_close();
		return -ENOMEM;
	}
	now_coarse = 0;
	next_port_slot = 0;
	hs_crowded = 0;
	sketch_epoch = 0;
	memset(&report, 0, sizeof(report));
	return 0;
}

void native_reset(void)
{
	/* What native_open() allocated and sized, and the event sink, stay;
	 * every other field (counters, histograms, scratch, clock, ...) is
	 * zeroed whole, so a field added later starts from zero too. */
	struct native_tables t = {
		.hs_heads = native.hs_heads, .hs_ways = native.hs_ways,
		.flow_heads = native.flow_heads, .flow_ways = native.flow_ways,
		.flow_spilled = native.flow_spilled,
		.hs_buckets = native.hs_buckets, .flow_buckets = native.flow_buckets,
		.spill = native.spill,
		.port_slot = native.port_slot, .port_stats = native.port_stats,
		.port_slots = native.port_slots, .sweep_slices = native.sweep_slices,
		.on_event = native.on_event, .event_ctx = native.event_ctx,
	};
	__u32 slots = t.spill.mask + 1;

	memset(t.hs_heads, 0, t.hs_buckets * sizeof(struct hs_head));
	memset(t.hs_ways, 0, t.hs_buckets * sizeof(struct hs_ways));
	memset(t.flow_heads, 0, t.flow_buckets * sizeof(struct flow_head));
	memset(t.flow_ways, 0, t.flow_buckets * sizeof(struct flow_ways));
	memset(t.flow_spilled, 0, t.flow_buckets * sizeof(__u32));
	memset(t.port_slot, 0, MAX_IFACES * 65536u * sizeof(__u32));
	memset(t.port_stats, 0, t.port_slots * sizeof(struct service_stats));
	memset(t.spill.keys, 0, slots * sizeof(struct flow_key));
	memset(t.spill.ways, 0, slots * sizeof(struct way));
	memset(t.spill.used, 0, slots);
	t.spill.count = 0;
	native = t;
	now_coarse = 0;
	next_port_slot = 0;
	hs_crowded = 0;
	memset(&report, 0, sizeof(report));
}

void native_close(void)
{
	free(native.hs_heads);
	free(native.hs_ways);
	free(native.flow_heads);
	free(native.flow_ways);
	free(native.flow_spilled);
	free(native.port_slot);
	free(native.port_stats);
	free(native.spill.keys);
	free(native.spill.ways);
	free(native.spill.used);
	memset(&native, 0, sizeof(native));
}

void native_set_clock(__u64 now_ns)
{
	native.now = now_ns;
}

__u32 native_spill_slot(const struct flow_key *key)
{
	return (__u32)flow_hash(key, 0x5bd1e995u) & native.spill.mask;
}

void native_spill_prefetch(__u32 slot)
{
	struct native_spill *s = &native.spill;

	if (slot <= s->mask && s->used) {
		__builtin_prefetch(&s->used[slot]);
		__builtin_prefetch(&s->keys[slot]);
	}
}

/* The slot of key, or of the first reusable slot on its probe path. */
static __u32 spill_probe(const struct flow_key *key, bool *found)
{
	struct native_spill *s = &native.spill;
	__u32 i = native_spill_slot(key), reuse = ~0u, n;

	*found = false;
	for (n = 0; n <= s->mask; n++, i = (i + 1) & s->mask) {
		if (s->used[i] == SLOT_FREE)
			return reuse != ~0u ? reuse : i;
		if (s->used[i] == SLOT_DELETED) {
			if (reuse == ~0u)
				reuse = i;
		} else if (flow_key_equal(&s->keys[i], key)) {
			*found = true;
			return i;
		}
	}
	return reuse;
}

struct way *native_spill_lookup(const struct flow_key *key)
{
	bool found;
	__u32 i;

	if (!native.spill.count)
		return NULL;
	i = spill_probe(key, &found);
	return found ? &native.spill.ways[i] : NULL;
}

int native_spill_insert(const struct flow_key *key, const struct way *w)
{
	struct native_spill *s = &native.spill;
	bool found;
	__u32 i;

	if (s->count >= s->max)
		return -E2BIG;
	i = spill_probe(key, &found);
	if (found)
		return -EEXIST;
	if (i == ~0u)
		return -E2BIG;
	s->keys[i] = *key;
	s->ways[i] = *w;
	s->used[i] = SLOT_USED;
	s->count++;
	return 0;
}

int native_spill_delete(const struct flow_key *key)
{
	struct native_spill *s = &native.spill;
	bool found;
	__u32 i;

	if (!s->count)
		return -ENOENT;
	i = spill_probe(key, &found);
	if (!found)
		return -ENOENT;
	s->used[i] = SLOT_DELETED;
	s->count--;
	return 0;
}
