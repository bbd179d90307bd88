/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The native platform of the tracking core: the same accessors as
 * bpf/platform.bpf.h, over tables in process memory, so bpf/track.h and
 * bpf/sweep.h run unchanged in user space (offline replay, deterministic
 * tests). One instance per process, one "CPU": the clock is whatever the
 * caller sets in native.now (capture timestamps), events go to a callback.
 */
#ifndef TCPSHAKE_NATIVE_H
#define TCPSHAKE_NATIVE_H
#define TCPSHAKE_PLATFORM 1

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "tcpshake/abi.h"
#include "tcpshake/parse.h"
#include "tcpshake/sketch.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
/* Global BPF functions are plain static functions here. */
#define CORE_GLOBAL static

struct native_spill {
	struct flow_key *keys;
	struct way *ways;
	__u8 *used;             /* 0 free, 1 used, 2 deleted */
	__u32 mask;             /* slots - 1, twice the capacity */
	__u32 count;
	__u32 max;              /* capacity, like the kernel map's max_entries */
};

typedef void (*native_event_fn)(const struct event *e, void *ctx);

struct native_tables {
	struct hs_head *hs_heads;
	struct hs_ways *hs_ways;
	struct flow_head *flow_heads;
	struct flow_ways *flow_ways;
	struct flow_gate *flow_gate;
	struct flow_away *flow_away;
	__u32 hs_buckets, flow_buckets;
	struct native_spill spill;
	struct iface_stats stats[MAX_IFACES];
	struct hist hists[MAX_IFACES * H_MAX];
	__u32 *port_slot;                       /* MAX_IFACES * 65536 */
	struct port_owner port_owner[PORT_SLOTS_MAX];
	struct service_stats *port_stats;
	__u32 port_slots;
	struct syn_sketch sketches[MAX_IFACES];  /* the one CPU's */
	struct event event;                     /* the one event being written */
	struct scratch scratch;                 /* the slow path's (one "CPU") */
	struct half_open_evictions half_open_evictions[MAX_IFACES];
	native_event_fn on_event;
	void *event_ctx;
	__u64 now;                              /* the clock, set by the caller */
	__u32 loop_max;                         /* 0: LOOP_MAX_ITER, as bpf_loop */
	__u32 sweep_slices;                     /* sweeper runs per pass, as the loader's */
};

/* The globals of the BPF object, as process globals. */
extern struct native_tables native;
extern struct tcpshake_config cfg;
extern __u32 now_coarse;
extern __u32 next_port_slot;
extern __u32 hs_crowded;
extern __u32 hs_move_misses;
extern struct sweep_report report;
extern __u32 sketch_epoch;

/* Allocates the tables (zeroed); 0 or -ENOMEM. cfg must be set by the caller. */
int native_open(__u32 hs_buckets, __u32 flow_buckets, __u32 spill_max, __u32 port_slots);
void native_close(void);
/* Back to the state native_open() left: empty tables, zero counters, clock
 * 0; the allocations and the event sink stay (one run after another). */
void native_reset(void);

/* One packet through the core, as the kernel programs run it (egress: seen
 * leaving the interface); the clock is native.now. */
void native_track(const void *data, const void *data_end, __u32 ifindex, __u32 egress);
/* native_track() in two halves, so that replay can parse packets ahead of
 * tracking them and meanwhile load what they will touch (cache misses of
 * several packets then overlap instead of adding up). */
struct native_segment {
	struct packet p;        /* with its interface slot */
	__u64 hash;             /* flow_hash of its key */
};

/* Parses a frame as native_track() does (a malformed one is counted):
 * 1 for a TCP segment in *s, else 0. */
int native_parse(const void *data, const void *data_end, __u32 not_captured, __u32 ifindex,
		 struct native_segment *s);
/* The rest of native_track() for a parsed segment. */
void native_track_segment(struct native_segment *s, __u32 egress);
/* Hints to load the cache line at p, to read it or to write it. GCC models
 * __builtin_prefetch as touching no memory, so a function whose only
 * effects are prefetches is pure to it, and a call whose result is unused
 * is deleted: GCC 12 dropped prefetch_insert() whole, and the way a
 * completing handshake takes was never loaded ahead. An empty volatile asm
 * is an effect the compiler must keep. */
static inline void prefetch_read(const void *p)
{
	__builtin_prefetch(p, 0);
	__asm__ __volatile__("" : : "r"(p));
}

static inline void prefetch_write(const void *p)
{
	__builtin_prefetch(p, 1);
	__asm__ __volatile__("" : : "r"(p));
}

/* Both lines of a table way, to be written. */
static inline void prefetch_way(const struct way *w)
{
	prefetch_write(w);
	prefetch_write((const char *)w + 64);
}

/* Hints, in three steps some segments apart: the bucket headers a segment
 * will read; once those are in cache, the ways it will compare and update,
 * and what it reads to find the rest; once that is in cache, the rest
 * (native_prefetch_ways() says which): */
enum {
	PREFETCH_LATER_ALT = 1,      /* its record in the alternative bucket */
	PREFETCH_LATER_INSERT = 2,   /* the way its record moves to, not at home */
};
void native_prefetch_heads(const struct native_segment *s);
unsigned int native_prefetch_ways(const struct native_segment *s);
void native_prefetch_later(const struct native_segment *s, unsigned int what);

/* The core's clock from now on (offline: the current packet's capture time). */
void native_set_clock(__u64 now_ns);
/* One sweeper pass at native.now: timeouts, gauges. */
void native_sweep(void);

struct way *native_spill_lookup(const struct flow_key *key);
/* The first spill slot probed for key, and a hint to load it. */
__u32 native_spill_slot(const struct flow_key *key);
void native_spill_prefetch(__u32 slot);
int native_spill_insert(const struct flow_key *key, const struct way *w);
int native_spill_delete(const struct flow_key *key);

static inline struct hs_head *hs_head_at(__u32 idx)
{
	return idx < native.hs_buckets ? &native.hs_heads[idx] : NULL;
}

static inline struct hs_ways *hs_ways_at(__u32 idx)
{
	return idx < native.hs_buckets ? &native.hs_ways[idx] : NULL;
}

static inline struct flow_head *flow_head_at(__u32 idx)
{
	return idx < native.flow_buckets ? &native.flow_heads[idx] : NULL;
}

static inline struct flow_ways *flow_ways_at(__u32 idx)
{
	return idx < native.flow_buckets ? &native.flow_ways[idx] : NULL;
}

static inline struct flow_gate *flow_gate_at(__u32 idx)
{
	return idx < native.flow_buckets ? &native.flow_gate[idx] : NULL;
}

static inline struct flow_away *flow_away_at(__u32 idx)
{
	return idx < native.flow_buckets ? &native.flow_away[idx] : NULL;
}

/* One open-addressing table stands for the kernel's SPILL_PARTS maps: a
 * record's part does not choose where it lives, and part p of the walk is
 * the p-th range of slots (records never move: deletion leaves a marker). */
static inline struct way *spill_lookup(__u32 part __attribute__((unused)), const struct flow_key *key)
{
	return native_spill_lookup(key);
}

static inline int spill_insert(__u32 part __attribute__((unused)), const struct flow_key *key,
			       const struct way *w)
{
	return native_spill_insert(key, w);
}

static inline int spill_delete(__u32 part __attribute__((unused)), const struct flow_key *key)
{
	return native_spill_delete(key);
}

typedef long (*spill_visit_fn)(void *map, const struct flow_key *key, struct way *w, void *ctx);

/* Visits every record of one part's slots; a visitor may delete the record
 * it is given. */
static inline void spill_for_each_in_part(__u32 part, spill_visit_fn fn, void *ctx)
{
	struct native_spill *s = &native.spill;
	__u64 slots = (__u64)s->mask + 1;
	__u32 i = (__u32)(slots * part / SPILL_PARTS), end = (__u32)(slots * (part + 1) / SPILL_PARTS);

	if (!s->used || part >= SPILL_PARTS)
		return;
	for (; i < end; i++)
		if (s->used[i] == 1 && fn(NULL, &s->keys[i], &s->ways[i], ctx))
			break;
}

static inline struct iface_stats *stats_of(__u32 iface)
{
	return iface < MAX_IFACES ? &native.stats[iface] : NULL;
}

static inline struct half_open_evictions *half_open_evictions_of(__u32 iface)
{
	return iface < MAX_IFACES ? &native.half_open_evictions[iface] : NULL;
}

/* One thread: nothing interrupts a commit (platform.bpf.h). */
struct commit_guard {
	int unused;
};

static inline struct commit_guard *commit_guard_enter(void)
{
	return NULL;
}

static inline void commit_guard_leave(struct commit_guard *g)
{
	(void)g;
}

/* What CPUs update concurrently in the kernel (platform.bpf.h, sync_cas
 * and the rest) has one writer here: plain reads and writes, same results.
 * A locked instruction would also wait for every store before it, such as
 * a record just copied into a way whose line is still being fetched. */
static inline __u32 sync_cas(__u32 *p, __u32 old, __u32 new)
{
	__u32 v = *p;

	if (v == old)
		*p = new;
	return v;
}

static inline __u32 sync_add(__u32 *p, __u32 v)
{
	__u32 old = *p;

	*p = old + v;
	return old;
}

static inline void sync_sub(__u32 *p, __u32 v)
{
	*p -= v;
}

static inline void sync_add64(__u64 *p, __u64 v)
{
	*p += v;
}

static inline struct scratch *scratch_of_cpu(void)
{
	return &native.scratch;
}

static inline struct hist *hist_at(__u32 idx)
{
	return idx < MAX_IFACES * H_MAX ? &native.hists[idx] : NULL;
}

static inline __u32 *port_slot_at(__u32 idx)
{
	return idx < MAX_IFACES * 65536u ? &native.port_slot[idx] : NULL;
}

static inline struct port_owner *port_owner_at(__u32 slot)
{
	return slot < PORT_SLOTS_MAX ? &native.port_owner[slot] : NULL;
}

static inline struct service_stats *port_stats_at(__u32 slot)
{
	return slot < native.port_slots ? &native.port_stats[slot] : NULL;
}

static inline struct syn_sketch *syn_sketch_of(__u32 iface)
{
	return iface < MAX_IFACES ? &native.sketches[iface] : NULL;
}

static inline struct event *event_reserve(void)
{
	return native.on_event ? &native.event : NULL;
}

static inline void event_submit(struct event *e, __u64 now)
{
	(void)now;
	native.on_event(e, native.event_ctx);
}

static inline __u64 clock_ns(void)
{
	return native.now;
}

/* No host here: what a capture shows is all there is of a connection (the
 * kernel's accessor reads the receiving socket, bpf/host_socket.h). */
static inline int host_rcv_nxt(void *ctx __attribute__((unused)),
			       struct packet *p __attribute__((unused)))
{
	return 0;
}

/* The kernel's bpf_loop limit, kept natively so both platforms fail alike;
 * tests may lower native.loop_max to exercise chunked walks cheaply. */
static inline __u32 loop_max_iter(void)
{
	return native.loop_max ? native.loop_max : 1u << 23;
}

static inline long loop(__u32 n, long (*fn)(__u64 i, void *ctx), void *ctx)
{
	__u32 i;

	if (n > loop_max_iter())
		return -E2BIG;  /* as bpf_loop */

	for (i = 0; i < n; i++)
		if (fn(i, ctx))
			return i + 1;
	return n;
}

#endif /* TCPSHAKE_NATIVE_H */
