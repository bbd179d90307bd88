// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "harness.h"
#include "log.h"
#include "native.h"
#include "options.h"
#include "tcpshake/fsm.h"
#include "tcpshake/halfopen.h"
#include "reader.h"
#include "tcpshake.skel.h"

#define XDP_PASS_ 2
#define TC_ACT_UNSPEC_ (-1)

static int collect_event(void *ctx, void *data, size_t size)
{
	struct harness *h = ctx;

	if (size < sizeof(struct event) || h->nr_ev >= (int)(sizeof(h->ev) / sizeof(h->ev[0]))) {
		h->ev_lost_locally++;
		return 0;
	}
	memcpy(&h->ev[h->nr_ev++], data, sizeof(struct event));
	return 0;
}

static void collect_native_event(const struct event *e, void *ctx)
{
	collect_event(ctx, (void *)e, sizeof(*e));
}

static void harness_options(struct options *o, const struct harness_config *hc)
{
	options_defaults(o);
	if (hc->events)
		o->events_path = "-";
	o->ringbuf_kb = 256;
	/* Small tables load fast; tests that need a geometry ask for it. */
	o->handshake_slots = 4096;
	o->max_flows = 8192;
	if (hc->max_ports)
		o->max_ports = hc->max_ports;
}

static void override_geometry(struct table_geometry *g, const struct harness_config *hc)
{
	g->hs_buckets = hc->hs_buckets ? hc->hs_buckets : g->hs_buckets;
	g->flow_buckets = hc->flow_buckets ? hc->flow_buckets : g->flow_buckets;
	g->spill_max = hc->spill_max ? hc->spill_max : g->spill_max;
	g->sweep_slices = hc->sweep_slices ? hc->sweep_slices :
			  sweep_slice_count(g->hs_buckets, g->flow_buckets);
}

static void override_config(struct tcpshake_config *cfg, const struct harness_config *hc)
{
	if (hc->syn_timeout_ns)
		cfg->syn_timeout_ns = hc->syn_timeout_ns;
	if (hc->time_wait_ns)
		cfg->time_wait_ns = hc->time_wait_ns;
	if (hc->close_timeout_ns)
		cfg->close_timeout_ns = hc->close_timeout_ns;
	if (hc->hash_seed)
		cfg->hash_seed = hc->hash_seed;
	if (hc->raw_ip)
		cfg->raw_ip_mask = 1;     /* interface slot 0 */
	if (hc->claimed_hs_buckets)
		cfg->hs_mask = hc->claimed_hs_buckets - 1;
}

static int load_native(struct harness *h, const struct harness_config *hc, const struct options *o)
{
	unsigned int lo = 1;

	geometry_from_options(&h->l.geo, o);
	override_geometry(&h->l.geo, hc);
	config_from_options(&cfg, o, &h->l.geo, 0, &lo, 1);
	cfg.hs_mask = h->l.geo.hs_buckets - 1;
	cfg.flow_mask = h->l.geo.flow_buckets - 1;
	override_config(&cfg, hc);
	if (native_open(h->l.geo.hs_buckets, h->l.geo.flow_buckets, h->l.geo.spill_max,
			h->l.geo.port_slots))
		return -1;
	native.sweep_slices = h->l.geo.sweep_slices;
	if (hc->events) {
		native.on_event = collect_native_event;
		native.event_ctx = h;
	}
	h->l.ncpus = 1;
	return harness_sweep(h);
}

int harness_load(struct harness *h, const struct harness_config *hc)
{
	struct options o;
	unsigned int lo = 1;

	memset(h, 0, sizeof(*h));
	log_init(0);
	harness_options(&o, hc);
	h->backend = hc->backend;
	if (h->backend == BACKEND_NATIVE)
		return load_native(h, hc, &o);
	if (loader_open(&h->l, &o, &lo, 1))
		return -1;
	if (hc->hs_buckets || hc->flow_buckets || hc->spill_max || hc->sweep_slices) {
		struct table_geometry g = h->l.geo;

		override_geometry(&g, hc);
		loader_set_geometry(&h->l, &g);
	}
	override_config((struct tcpshake_config *)&h->l.skel->rodata->cfg, hc);
	loader_skip_ingress(&h->l, hc->ingress == INGRESS_TC_ONLY, hc->ingress == INGRESS_XDP_ONLY);
	if (loader_finish(&h->l))
		return -1;
	if (hc->events) {
		h->rb = ring_buffer__new(bpf_map__fd(h->l.skel->maps.events), collect_event, h, NULL);
		if (!h->rb)
			return -1;
	}
	return 0;
}

void harness_close(struct harness *h)
{
	if (h->rb)
		ring_buffer__free(h->rb);
	if (h->backend == BACKEND_NATIVE)
		native_close();
	else
		loader_close(&h->l);
	memset(h, 0, sizeof(*h));
}

/* Writes zeros to an array map of n values of size bytes (per-CPU: all
 * CPUs' copies), in batches of up to 64 Ki keys. */
static int zero_array(int fd, __u32 n, __u32 size)
{
	const __u32 batch = 65536;
	__u32 chunk = n < batch ? n : batch, *keys = calloc(chunk, sizeof(*keys)), k, i, count;
	void *zero = calloc(chunk, size);
	int err = 0;

	for (k = 0; keys && zero && !err && k < n; k += count) {
		count = n - k < chunk ? n - k : chunk;
		for (i = 0; i < count; i++)
			keys[i] = k + i;
		err = bpf_map_update_batch(fd, keys, zero, &count, NULL);
	}
	free(keys);
	free(zero);
	return keys && zero ? err : -1;
}

/* Zeroes the (interface, port) -> slot index: only the entries of the
 * claimed slots can be set, and port_owner says which those are (1,024
 * slots instead of a million entries, most of the reset's time). */
static int zero_port_slots(struct harness *h)
{
	int owners = bpf_map__fd(h->l.skel->maps.port_owner);
	int slots = bpf_map__fd(h->l.skel->maps.port_slot);
	__u32 n = bpf_map__max_entries(h->l.skel->maps.port_owner), i, zero = 0;

	for (i = 0; i < n; i++) {
		struct port_owner o;
		__u32 idx;

		if (bpf_map_lookup_elem(owners, &i, &o))
			return -1;
		if (!o.port)
			continue;
		idx = (__u32)o.iface << 16 | o.port;
		if (bpf_map_update_elem(slots, &idx, &zero, BPF_ANY))
			return -1;
	}
	return 0;
}

static int empty_hash(int fd, __u32 key_size)
{
	void *key = malloc(key_size);
	int err = 0;

	while (key && !err && bpf_map_get_next_key(fd, NULL, key) == 0)
		err = bpf_map_delete_elem(fd, key);
	free(key);
	return !key || err ? -1 : 0;
}

/* Zeroes every map of a loaded object but the read-only configuration,
 * the ring buffer (drained instead) and the sweeper's lock; empties the
 * spill map's parts. */
static int zero_maps(struct harness *h)
{
	struct bpf_map *m;
	__u32 part;

	if (zero_port_slots(h))
		return -1;
	for (part = 0; part < SPILL_PARTS; part++) {
		if (part >= (__u32)h->l.nr_spill_fds ||
		    empty_hash(h->l.spill_fd[part], sizeof(struct flow_key)))
			return -1;
	}
	bpf_object__for_each_map(m, h->l.skel->obj) {
		enum bpf_map_type type = bpf_map__type(m);
		__u32 n = bpf_map__max_entries(m), size = bpf_map__value_size(m);
		int fd = bpf_map__fd(m);

		if (m == h->l.skel->maps.events || m == h->l.skel->maps.commit_guard ||
		    (bpf_map__map_flags(m) & BPF_F_RDONLY_PROG))
			continue;
		if (m == h->l.skel->maps.port_slot || m == h->l.skel->maps.spill)
			continue;     /* done above */
		if (type == BPF_MAP_TYPE_HASH) {
			if (empty_hash(fd, bpf_map__key_size(m)))
				return -1;
			continue;
		}
		if (type != BPF_MAP_TYPE_ARRAY && type != BPF_MAP_TYPE_PERCPU_ARRAY)
			return -1;
		if (type == BPF_MAP_TYPE_PERCPU_ARRAY)
			size = ((size + 7) & ~7u) * (__u32)libbpf_num_possible_cpus();
		if (zero_array(fd, n, size))
			return -1;
	}
	return 0;
}

__u32 harness_port_slots_set(struct harness *h)
{
	int fd = bpf_map__fd(h->l.skel->maps.port_slot), err = 0;
	__u32 chunk = 65536, set = 0, batch = 0, count, i;
	__u32 *keys = calloc(chunk, sizeof(*keys)), *vals = calloc(chunk, sizeof(*vals));
	bool first = true;

	while (keys && vals && !err) {
		count = chunk;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys, vals, &count, NULL);
		if (err && errno != ENOENT)
			return (__u32)-1;   /* never "none set" for a failed read */
		first = false;
		for (i = 0; i < count; i++)
			set += vals[i] != 0;
	}
	free(keys);
	free(vals);
	return keys && vals ? set : (__u32)-1;
}

int harness_reset(struct harness *h)
{
	if (h->rb)
		ring_buffer__consume(h->rb);
	h->nr_ev = 0;
	h->ev_lost_locally = 0;
	if (h->backend == BACKEND_NATIVE)
		native_reset();
	else if (zero_maps(h))
		return -1;
	return harness_sweep(h);
}

enum ingress_load harness_ingress_for(enum hook hook)
{
	return hook == HOOK_XDP_IN ? INGRESS_XDP_ONLY :
	       hook == HOOK_TC_IN ? INGRESS_TC_ONLY : INGRESS_BOTH;
}

static int prog_fd(struct harness *h, enum hook hook)
{
	const struct bpf_program *p;

	switch (hook) {
	case HOOK_XDP_IN: p = h->l.skel->progs.tcpshake_xdp; break;
	case HOOK_TC_IN:  p = h->l.skel->progs.tcpshake_tc_in; break;
	default:          p = h->l.skel->progs.tcpshake_tc_out; break;
	}
	if (bpf_program__fd(p) < 0)
		fprintf(stderr, "harness: %s was not loaded: see harness_config.ingress\n",
			bpf_program__name(p));
	return bpf_program__fd(p);
}

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

int harness_run(struct harness *h, enum hook hook, const __u8 *pkt, size_t len, __u32 repeat,
		__u32 *duration_ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = repeat);
	int err;

	if (h->backend == BACKEND_NATIVE) {
		__u32 i;

		for (i = 0; i < (repeat ? repeat : 1); i++) {
			native.now = monotonic_ns();
			native_track(pkt, pkt + len, 1,
				     hook == HOOK_TC_OUT ? DIR_EGRESS :
				     hook == HOOK_TRANSIT ? DIR_UNKNOWN : DIR_INGRESS);
		}
		if (duration_ns)
			*duration_ns = 0;
		return hook == HOOK_XDP_IN ? XDP_PASS_ : TC_ACT_UNSPEC_;
	}
	if (hook == HOOK_TRANSIT)
		return -EINVAL;      /* no kernel hook sees a packet of no direction */
	err = bpf_prog_test_run_opts(prog_fd(h, hook), &run);
	if (err)
		return err;
	if (duration_ns)
		*duration_ns = run.duration;
	return (int)run.retval;
}

int harness_run_forwarded(struct harness *h, const __u8 *pkt, size_t len, __u32 ingress_ifindex)
{
	struct __sk_buff ctx = { .ifindex = 1, .ingress_ifindex = ingress_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt, .data_size_in = (__u32)len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	int err;

	if (h->backend == BACKEND_NATIVE)
		return -EOPNOTSUPP;
	err = bpf_prog_test_run_opts(prog_fd(h, HOOK_TC_OUT), &run);
	return err ? err : (int)run.retval;
}

int harness_run_craft(struct harness *h, enum hook hook, const struct craft *c)
{
	__u8 buf[2048];
	size_t len = craft_packet(buf, sizeof(buf), c);

	return harness_run(h, hook, buf, len, 1, NULL);
}

int harness_sweep(struct harness *h)
{
	if (h->backend == BACKEND_NATIVE) {
		native.now = monotonic_ns();
		native_sweep();
		return 0;
	}
	return loader_sweep(&h->l);
}

void harness_stats(struct harness *h, struct iface_stats *st)
{
	if (h->backend == BACKEND_NATIVE)
		*st = native.stats[0];
	else
		percpu_sum(bpf_map__fd(h->l.skel->maps.stats), 0, st, sizeof(*st), h->l.ncpus, NULL);
}

void harness_hist(struct harness *h, enum hist_id id, struct hist *out)
{
	if (h->backend == BACKEND_NATIVE)
		*out = native.hists[id];
	else
		percpu_sum(bpf_map__fd(h->l.skel->maps.hists), (__u32)id, out, sizeof(*out),
			   h->l.ncpus, NULL);
}

static int hs_head_read(struct harness *h, __u32 i, struct hs_head *b)
{
	if (h->backend == BACKEND_NATIVE) {
		*b = native.hs_heads[i];
		return 0;
	}
	return bpf_map_lookup_elem(bpf_map__fd(h->l.skel->maps.hs_heads), &i, b);
}

int harness_hs_bucket(struct harness *h, __u32 i, struct hs_head *head, struct hs_ways *ways)
{
	if (hs_head_read(h, i, head))
		return -1;
	if (h->backend == BACKEND_NATIVE) {
		*ways = native.hs_ways[i];
		return 0;
	}
	return bpf_map_lookup_elem(bpf_map__fd(h->l.skel->maps.hs_ways), &i, ways);
}

static int flow_head_read(struct harness *h, __u32 i, struct flow_head *b)
{
	if (h->backend == BACKEND_NATIVE) {
		*b = native.flow_heads[i];
		return 0;
	}
	return bpf_map_lookup_elem(bpf_map__fd(h->l.skel->maps.flow_heads), &i, b);
}

int harness_hs_used(struct harness *h)
{
	struct hs_head b;
	__u32 i, w;
	int n = 0;

	for (i = 0; i < h->l.geo.hs_buckets; i++) {
		if (hs_head_read(h, i, &b))
			return -1;
		for (w = 0; w < HS_WAYS; w++)
			n += b.tag[w] != TAG_FREE;
	}
	return n;
}

void harness_hs_elsewhere(struct harness *h, __u64 *counted, __u64 *away)
{
	struct hs_head b;
	__u32 i, w;

	*counted = *away = 0;
	for (i = 0; i < h->l.geo.hs_buckets; i++) {
		if (hs_head_read(h, i, &b))
			return;
		*counted += b.elsewhere;
		for (w = 0; w < HS_WAYS; w++)
			*away += b.tag[w] != TAG_FREE && b.away[w];
	}
}

int harness_flow_used(struct harness *h)
{
	struct flow_head b;
	__u32 i, w;
	int n = 0;

	for (i = 0; i < h->l.geo.flow_buckets; i++) {
		if (flow_head_read(h, i, &b))
			return -1;
		for (w = 0; w < FLOW_WAYS; w++)
			n += b.tag[w] != TAG_FREE;
	}
	return n + harness_spill_used(h);
}

int harness_spill_walk(struct harness *h, void (*visit)(const struct flow_key *key, void *ctx),
		       void *ctx)
{
	struct flow_key key, next;
	int fd, n = 0;
	__u32 part, i;

	if (h->backend == BACKEND_NATIVE) {
		for (i = 0; i <= native.spill.mask; i++) {
			if (native.spill.used[i] != 1)
				continue;
			n++;
			if (visit)
				visit(&native.spill.keys[i], ctx);
		}
		return n;
	}
	for (part = 0; part < SPILL_PARTS; part++) {
		void *prev = NULL;

		if (part >= (__u32)h->l.nr_spill_fds)
			return -1;
		fd = h->l.spill_fd[part];
		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			key = next;
			prev = &key;
			n++;
			if (visit)
				visit(&key, ctx);
		}
	}
	return n;
}

int harness_spill_used(struct harness *h)
{
	return harness_spill_walk(h, NULL, NULL);
}

int harness_flow_guests(struct harness *h)
{
	const struct tcpshake_config *c = h->backend == BACKEND_NATIVE ? &cfg : &h->l.skel->rodata->cfg;
	struct flow_head head;
	struct flow_ways ways;
	__u32 i, w;
	int n = 0;

	for (i = 0; i < h->l.geo.flow_buckets; i++) {
		if (flow_head_read(h, i, &head))
			return -1;
		if (h->backend == BACKEND_NATIVE)
			ways = native.flow_ways[i];
		else if (bpf_map_lookup_elem(bpf_map__fd(h->l.skel->maps.flow_ways), &i, &ways))
			return -1;
		for (w = 0; w < FLOW_WAYS; w++)
			n += (head.tag[w] & TAG_LIVE) &&
			     ((__u32)(flow_hash(&ways.way[w].key, c->hash_seed) >> 8) & c->flow_mask) != i;
	}
	return n;
}

struct flow_away harness_flow_away(struct harness *h)
{
	struct flow_away sum = { 0, 0 }, n;
	__u32 i;

	for (i = 0; i < h->l.geo.flow_buckets; i++) {
		if (h->backend == BACKEND_NATIVE)
			n = native.flow_away[i];
		else if (bpf_map_lookup_elem(bpf_map__fd(h->l.skel->maps.flow_away), &i, &n))
			return (struct flow_away){ ~0u, ~0u };
		sum.alt += n.alt;
		sum.spill += n.spill;
	}
	return sum;
}

bool harness_hs_crowded(struct harness *h)
{
	return h->backend == BACKEND_NATIVE ? hs_crowded : h->l.skel->bss->hs_crowded;
}

const struct sweep_report *harness_report(struct harness *h)
{
	return h->backend == BACKEND_NATIVE ? &report : &h->l.skel->bss->report;
}

__u64 harness_half_open_evicted(struct harness *h, __u64 now_ns)
{
	__u64 timeout = h->backend == BACKEND_NATIVE ? cfg.syn_timeout_ns :
			h->l.skel->rodata->cfg.syn_timeout_ns;
	__u32 window = (__u32)((timeout + (1ull << FSM_COARSE_SHIFT) - 1) >> FSM_COARSE_SHIFT);
	__u32 zero = 0;
	struct half_open_evictions *per_cpu;
	unsigned int cpu, ncpus;
	__u64 n = 0;

	if (h->backend == BACKEND_NATIVE)
		return half_open_evicted(&native.half_open_evictions[0], fsm_coarse(now_ns), window);
	ncpus = h->l.ncpus;
	per_cpu = calloc(ncpus, sizeof(*per_cpu));
	if (!per_cpu || bpf_map_lookup_elem(bpf_map__fd(h->l.skel->maps.half_open_evictions),
					    &zero, per_cpu)) {
		free(per_cpu);
		return ~0ull;
	}
	for (cpu = 0; cpu < ncpus; cpu++)
		n += half_open_evicted(&per_cpu[cpu], fsm_coarse(now_ns), window);
	free(per_cpu);
	return n;
}

__s64 harness_gauge(struct harness *h, enum conn_state state)
{
	if (harness_sweep(h))
		return -1;
	return (__s64)harness_report(h)->states[0][state];
}

void harness_events(struct harness *h)
{
	if (h->rb)
		ring_buffer__consume(h->rb);
}
