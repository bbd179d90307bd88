/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The kernel platform of the tracking core: the maps and globals of the
 * tcpshake BPF object, and the accessors the core (tables.h, track.h,
 * account.h, sweep.h) reaches them through. src/native.h provides the same
 * accessors over process memory, so the same core runs natively (offline
 * replay, tests). Table sizes here are placeholders: the loader sets the
 * real ones before load (bpf_map__set_max_entries).
 */
#ifndef TCPSHAKE_PLATFORM_BPF_H
#define TCPSHAKE_PLATFORM_BPF_H
#define TCPSHAKE_PLATFORM 1

#include "tcpshake/abi.h"
#include "tcpshake/sketch.h"

/* A function the verifier checks once, not once per call site. */
#define CORE_GLOBAL __noinline

const volatile struct tcpshake_config cfg = {};

/* Handshakes in progress. Direct-mapped, HS_WAYS per bucket: a SYN costs one
 * header read and one way written whatever the load, and a flood can only
 * overwrite other unfinished handshakes (every overwrite is counted). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hs_head);
} hs_heads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hs_ways);
} hs_ways SEC(".maps");

/* Established, closing and TIME-WAIT connections. Only a validated third ACK
 * inserts here, so SYNs can never touch it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_head);
} flow_heads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_ways);
} flow_ways SEC(".maps");

/* Per flow bucket: the data fast path's gates (abi.h, flow_gate). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_gate);
} flow_gate SEC(".maps");

/* Per flow bucket: how many of its flows live elsewhere (abi.h). Read only
 * when a lookup misses the bucket's ways. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_away);
} flow_away SEC(".maps");

/* Overflow of full flow-table buckets, so bucket collisions lose nothing:
 * SPILL_PARTS hash maps (abi.h), which the loader creates after load
 * (loader_create_spill_parts) with spill_part_capacity() entries each. */
struct spill_part {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct flow_key);
	__type(value, struct way);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SPILL_PARTS);
	__type(key, __u32);
	__array(values, struct spill_part);
} spill SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_IFACES);
	__type(key, __u32);
	__type(value, struct iface_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_IFACES * H_MAX);
	__type(key, __u32);
	__type(value, struct hist);
} hists SEC(".maps");

/* (iface << 16 | port) -> port slot; 0 = none yet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_IFACES * 65536);
	__type(key, __u32);
	__type(value, __u32);
} port_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PORT_SLOTS_MAX);
	__type(key, __u32);
	__type(value, struct port_owner);
} port_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct service_stats);
} port_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_IFACES);
	__type(key, __u32);
	__type(value, struct half_open_evictions);
} half_open_evictions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

/* The sweeper runs in process context, where a packet's softirq can
 * interrupt it on its own CPU: a packet reading a record the sweeper was
 * interrupted in the middle of writing would wait in vain and give its
 * update up (an update conflict). bpf_spin_lock keeps interrupts off the
 * CPU while it is held, so the sweeper commits under this lock, which
 * nothing else takes. */
struct commit_guard {
	struct bpf_spin_lock lock;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct commit_guard);
} commit_guard SEC(".maps");

static __always_inline struct commit_guard *commit_guard_enter(void)
{
	__u32 zero = 0;
	struct commit_guard *g = bpf_map_lookup_elem(&commit_guard, &zero);

	if (g)
		bpf_spin_lock(&g->lock);
	return g;
}

static __always_inline void commit_guard_leave(struct commit_guard *g)
{
	if (g)
		bpf_spin_unlock(&g->lock);
}

/* Words that CPUs update concurrently (tags, versions, counts): atomic
 * instructions. The core never uses __sync builtins directly, so that the
 * one-thread native platform can make these plain reads and writes. */
static __always_inline __u32 sync_cas(__u32 *p, __u32 old, __u32 new)
{
	return __sync_val_compare_and_swap(p, old, new);
}

static __always_inline __u32 sync_add(__u32 *p, __u32 v)
{
	return __sync_fetch_and_add(p, v);
}

static __always_inline void sync_sub(__u32 *p, __u32 v)
{
	__sync_fetch_and_sub(p, v);
}

static __always_inline void sync_add64(__u64 *p, __u64 v)
{
	__sync_fetch_and_add(p, v);
}

/* The coarse clock (fsm_coarse()), advanced by the sweeper: the data fast
 * path stamps activity with it instead of calling a clock helper. */
__u32 now_coarse;
/* Port slots handed out so far (slot = PORT_SLOT_FIRST + n). */
__u32 next_port_slot;
/* Table occupancy, written by the sweeper. */
struct sweep_report report;
/* The handshake table is more than 3/4 full (the sweeper's last pass): new
 * attempts no longer look for room in their alternative bucket. */
__u32 hs_crowded;
/* Cuckoo steps that found no room since the sweeper's last pass (hs_move.h). */
__u32 hs_move_misses;
/* Records in the spill map's parts together: the sweeper skips walking them
 * while empty (a walk visits every hash bucket, about 18 ns each), and
 * spill_insert() holds them to cfg.spill_max. */
__u64 spill_records;

/* SYN-flood sketches, one per interface slot and CPU (tcpshake/sketch.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_IFACES);
	__type(key, __u32);
	__type(value, struct syn_sketch);
} syn_sketches SEC(".maps");
/* The sketches' epoch: user space advances it once per interval, right
 * after reading them; the first SYN of an epoch clears a CPU's registers. */
__u32 sketch_epoch;

/* ---- accessors: the only way the core reaches maps and helpers ---- */

static __always_inline struct hs_head *hs_head_at(__u32 idx)
{
	return bpf_map_lookup_elem(&hs_heads, &idx);
}

static __always_inline struct hs_ways *hs_ways_at(__u32 idx)
{
	return bpf_map_lookup_elem(&hs_ways, &idx);
}

static __always_inline struct flow_head *flow_head_at(__u32 idx)
{
	return bpf_map_lookup_elem(&flow_heads, &idx);
}

static __always_inline struct flow_ways *flow_ways_at(__u32 idx)
{
	return bpf_map_lookup_elem(&flow_ways, &idx);
}

static __always_inline struct flow_gate *flow_gate_at(__u32 idx)
{
	return bpf_map_lookup_elem(&flow_gate, &idx);
}

static __always_inline struct flow_away *flow_away_at(__u32 idx)
{
	return bpf_map_lookup_elem(&flow_away, &idx);
}

static __always_inline void *spill_part_map(__u32 part)
{
	part &= SPILL_PARTS - 1;
	return bpf_map_lookup_elem(&spill, &part);
}

static __always_inline struct way *spill_lookup(__u32 part, const struct flow_key *key)
{
	void *m = spill_part_map(part);

	return m ? bpf_map_lookup_elem(m, key) : NULL;
}

/* Adds a record that is not there yet; 0 on success. The parts together
 * hold at most cfg.spill_max: CPUs inserting at once may pass it by one
 * record each (accepted, design.md). */
static __always_inline int spill_insert(__u32 part, const struct flow_key *key, const struct way *w)
{
	void *m = spill_part_map(part);
	int r;

	if (!m || spill_records >= cfg.spill_max)
		return -1;
	r = (int)bpf_map_update_elem(m, key, w, BPF_NOEXIST);
	if (!r)
		__sync_fetch_and_add(&spill_records, 1);
	return r;
}

static __always_inline int spill_delete(__u32 part, const struct flow_key *key)
{
	void *m = spill_part_map(part);
	int r = m ? (int)bpf_map_delete_elem(m, key) : -1;

	if (!r)
		__sync_fetch_and_sub(&spill_records, 1);
	return r;
}

typedef long (*spill_visit_fn)(void *map, const struct flow_key *key, struct way *w, void *ctx);

/* Visits every record of one part; the visitor may delete the record it is
 * given. */
static __always_inline void spill_for_each_in_part(__u32 part, spill_visit_fn fn, void *ctx)
{
	void *m = spill_records ? spill_part_map(part) : NULL;

	if (m)
		bpf_for_each_map_elem(m, fn, ctx, 0);
}

static __always_inline struct iface_stats *stats_of(__u32 iface)
{
	return bpf_map_lookup_elem(&stats, &iface);
}

static __always_inline struct half_open_evictions *half_open_evictions_of(__u32 iface)
{
	return bpf_map_lookup_elem(&half_open_evictions, &iface);
}

static __always_inline struct scratch *scratch_of_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline struct hist *hist_at(__u32 idx)
{
	return bpf_map_lookup_elem(&hists, &idx);
}

static __always_inline __u32 *port_slot_at(__u32 idx)
{
	return bpf_map_lookup_elem(&port_slot, &idx);
}

static __always_inline struct port_owner *port_owner_at(__u32 slot)
{
	return bpf_map_lookup_elem(&port_owner, &slot);
}

static __always_inline struct service_stats *port_stats_at(__u32 slot)
{
	return bpf_map_lookup_elem(&port_stats, &slot);
}

static __always_inline struct syn_sketch *syn_sketch_of(__u32 iface)
{
	return bpf_map_lookup_elem(&syn_sketches, &iface);
}

static __always_inline struct event *event_reserve(void)
{
	return bpf_ringbuf_reserve(&events, sizeof(struct event), 0);
}

/* A forced wake-up of the reader is an interrupt the CPU sends itself
 * (irq_work), about 0.7 us of the producer's time on this VM, where the
 * interrupt controller is emulated: one per event made a drain of a backlog
 * cost twice what it does without. The reader, once awake, takes all that
 * is pending, so one wake-up per gap is enough; 1 ms of events at the
 * fastest the programs make them (4.3 M/s) is 0.6 MiB, well within the
 * ring past the threshold. */
#define EVENTS_WAKE_GAP_NS 1000000ull

/* When the last forced wake-up went out (clock_ns()); plain loads and
 * stores from every CPU: a race costs one wake-up more or one gap later. */
__u64 events_woken_ns;

/* Batches wake-ups: the reader also polls with a timeout (100 ms), and is
 * woken when an eighth of the ring is pending, at most once per gap. */
static __always_inline void event_submit(struct event *e, __u64 now)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (now - events_woken_ns >= EVENTS_WAKE_GAP_NS &&
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= cfg.wakeup_bytes) {
		events_woken_ns = now;
		flags = BPF_RB_FORCE_WAKEUP;
	}
	bpf_ringbuf_submit(e, flags);
}

static __always_inline __u64 clock_ns(void)
{
	return bpf_ktime_get_ns();
}

/* bpf_loop runs at most this many iterations per call (E2BIG above). */
static __always_inline __u32 loop_max_iter(void)
{
	return 1u << 23;
}

/* Runs fn(i, ctx) for i in [0, n) until it returns non-zero; the number of
 * iterations done, or a negative error. */
static __always_inline long loop(__u32 n, long (*fn)(__u64 i, void *ctx), void *ctx)
{
	return bpf_loop(n, fn, ctx, 0);
}

#include "host_socket.h"

#endif /* TCPSHAKE_PLATFORM_BPF_H */
