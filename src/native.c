// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Storage of the native platform (native.h) and its spill map: open
 * addressing with tombstones, capacity-limited like the kernel hash map. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include "native.h"
#include "tcpshake/flowhash.h"

struct native_tables native;
struct tcpshake_config cfg;
__u32 now_coarse;
__u32 next_port_slot;
__u32 hs_crowded;
__u32 hs_move_misses;
struct sweep_report report;
__u32 sketch_epoch;

enum { SLOT_FREE = 0, SLOT_USED, SLOT_DELETED };

#define HUGE_PAGE ((size_t)2 << 20)
#define LINE      ((size_t)64)

/* Every table lives in one anonymous mapping, aligned to and asked for in
 * transparent huge pages as a whole: each packet lands in random buckets
 * of several tables, and with 4 KiB pages nearly every one of those
 * lookups also misses the TLB, and the first touch of each page faults
 * (measured: thousands of faults, and the page walks, were a large part of
 * --read's time). The kernel zeroes pages when first touched, so a small
 * capture still pays only for the pages it touches; tables smaller than a
 * huge page (tests) keep small pages, rather than zeroing 2 MiB per open. */
static struct {
	char *base;
	size_t len;
} arena;

/* A table's place: a cache line aligned slice of n * size bytes at offset
 * *at of base, *at moved past it. With base NULL, only *at moves. */
static void *slice(char *base, size_t *at, size_t n, size_t size)
{
	size_t off = (*at + LINE - 1) & ~(LINE - 1);

	*at = off + n * size;
	return base ? base + off : NULL;
}

/* Places every table at base (NULL: nowhere, to learn the size); returns
 * the bytes they take. */
static size_t layout(char *base, __u32 hs_buckets, __u32 flow_buckets, __u32 slots,
		     __u32 port_slots)
{
	size_t at = 0;

	native.hs_heads = slice(base, &at, hs_buckets, sizeof(struct hs_head));
	native.hs_ways = slice(base, &at, hs_buckets, sizeof(struct hs_ways));
	native.flow_heads = slice(base, &at, flow_buckets, sizeof(struct flow_head));
	native.flow_ways = slice(base, &at, flow_buckets, sizeof(struct flow_ways));
	native.flow_gate = slice(base, &at, flow_buckets, sizeof(struct flow_gate));
	native.flow_away = slice(base, &at, flow_buckets, sizeof(struct flow_away));
	native.port_slot = slice(base, &at, MAX_IFACES * 65536u, sizeof(__u32));
	native.port_stats = slice(base, &at, port_slots, sizeof(struct service_stats));
	native.spill.keys = slice(base, &at, slots, sizeof(struct flow_key));
	native.spill.ways = slice(base, &at, slots, sizeof(struct way));
	native.spill.used = slice(base, &at, slots, 1);
	return at;
}

/* Maps len zeroed bytes at a huge page boundary: an oversized mapping,
 * its surplus unmapped again. 0 or -ENOMEM. */
static int arena_map(size_t len)
{
	size_t span = (len + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1), head;
	char *p = mmap(NULL, span + HUGE_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -ENOMEM;
	head = (HUGE_PAGE - (uintptr_t)p % HUGE_PAGE) % HUGE_PAGE;
	if (head)
		munmap(p, head);
	munmap(p + head + span, HUGE_PAGE - head);
	if (len >= HUGE_PAGE)
		madvise(p + head, span, MADV_HUGEPAGE);   /* a hint only */
	arena.base = p + head;
	arena.len = span;
	return 0;
}

int native_open(__u32 hs_buckets, __u32 flow_buckets, __u32 spill_max, __u32 port_slots)
{
	__u32 slots = 2;

	native_close();
	while (slots < 2 * (__u64)spill_max)
		slots <<= 1;
	if (!hs_buckets || !flow_buckets || !port_slots ||
	    arena_map(layout(NULL, hs_buckets, flow_buckets, slots, port_slots))) {
		native_close();
		return -ENOMEM;
	}
	layout(arena.base, hs_buckets, flow_buckets, slots, port_slots);
	native.hs_buckets = hs_buckets;
	native.flow_buckets = flow_buckets;
	native.port_slots = port_slots;
	native.sweep_slices = sweep_slice_count(hs_buckets, flow_buckets);
	native.spill.mask = slots - 1;
	native.spill.max = spill_max;
	now_coarse = 0;
	next_port_slot = 0;
	hs_crowded = 0;
	hs_move_misses = 0;
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
		.flow_gate = native.flow_gate,
		.flow_away = native.flow_away,
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
	memset(t.flow_gate, 0, t.flow_buckets * sizeof(struct flow_gate));
	memset(t.flow_away, 0, t.flow_buckets * sizeof(struct flow_away));
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
	hs_move_misses = 0;
	memset(&report, 0, sizeof(report));
}

void native_close(void)
{
	if (arena.base)
		munmap(arena.base, arena.len);
	memset(&arena, 0, sizeof(arena));
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
		prefetch_read(&s->used[slot]);
		prefetch_read(&s->keys[slot]);
		prefetch_way(&s->ways[slot]);
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
