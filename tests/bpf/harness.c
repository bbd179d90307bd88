// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "harness.h"
#include "log.h"
#include "options.h"
#include "reader.h"
#include "tcpshake.skel.h"

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

int harness_load(struct harness *h, const struct harness_config *hc)
{
	struct tcpshake_config *cfg;
	unsigned int lo = 1;
	struct options o;

	memset(h, 0, sizeof(*h));
	log_init(0);
	options_defaults(&o);
	if (hc->events)
		o.events_path = "-";
	o.ringbuf_kb = 256;
	/* Small tables load fast; tests that need a geometry ask for it. */
	o.handshake_slots = 4096;
	o.max_flows = 8192;
	if (loader_open(&h->l, &o, &lo, 1))
		return -1;
	cfg = (struct tcpshake_config *)&h->l.skel->rodata->cfg;
	if (hc->hs_buckets) {
		h->l.hs_buckets = hc->hs_buckets;
		cfg->hs_mask = hc->hs_buckets - 1;
		bpf_map__set_max_entries(h->l.skel->maps.hs_heads, hc->hs_buckets);
		bpf_map__set_max_entries(h->l.skel->maps.hs_ways, hc->hs_buckets);
	}
	if (hc->flow_buckets) {
		h->l.flow_buckets = hc->flow_buckets;
		cfg->flow_mask = hc->flow_buckets - 1;
		bpf_map__set_max_entries(h->l.skel->maps.flow_heads, hc->flow_buckets);
		bpf_map__set_max_entries(h->l.skel->maps.flow_ways, hc->flow_buckets);
		bpf_map__set_max_entries(h->l.skel->maps.flow_spilled, hc->flow_buckets);
	}
	if (hc->spill_max) {
		h->l.spill_max = hc->spill_max;
		bpf_map__set_max_entries(h->l.skel->maps.spill, hc->spill_max);
	}
	if (hc->syn_timeout_ns)
		cfg->syn_timeout_ns = hc->syn_timeout_ns;
	if (hc->time_wait_ns)
		cfg->time_wait_ns = hc->time_wait_ns;
	if (hc->hash_seed)
		cfg->hash_seed = hc->hash_seed;
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
	loader_close(&h->l);
	memset(h, 0, sizeof(*h));
}

static int prog_fd(struct harness *h, enum hook hook)
{
	switch (hook) {
	case HOOK_XDP_IN: return bpf_program__fd(h->l.skel->progs.tcpshake_xdp);
	case HOOK_TC_IN:  return bpf_program__fd(h->l.skel->progs.tcpshake_tc_in);
	default:          return bpf_program__fd(h->l.skel->progs.tcpshake_tc_out);
	}
}

int harness_run(struct harness *h, enum hook hook, const __u8 *pkt, size_t len, __u32 repeat,
		__u32 *duration_ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = repeat);
	int err = bpf_prog_test_run_opts(prog_fd(h, hook), &run);

	if (err)
		return err;
	if (duration_ns)
		*duration_ns = run.duration;
	return (int)run.retval;
}

int harness_run_craft(struct harness *h, enum hook hook, const struct craft *c)
{
	__u8 buf[2048];
	size_t len = craft_packet(buf, sizeof(buf), c);

	return harness_run(h, hook, buf, len, 1, NULL);
}

int harness_sweep(struct harness *h)
{
	return loader_sweep(&h->l);
}

void harness_stats(struct harness *h, struct iface_stats *st)
{
	percpu_sum(bpf_map__fd(h->l.skel->maps.stats), 0, st, sizeof(*st), h->l.ncpus, NULL);
}

void harness_hist(struct harness *h, enum hist_id id, struct hist *out)
{
	percpu_sum(bpf_map__fd(h->l.skel->maps.hists), (__u32)id, out, sizeof(*out), h->l.ncpus, NULL);
}

int harness_hs_used(struct harness *h)
{
	struct hs_head b;
	__u32 i, w;
	int n = 0;

	for (i = 0; i < h->l.hs_buckets; i++) {
		if (bpf_map_lookup_elem(bpf_map__fd(h->l.skel->maps.hs_heads), &i, &b))
			return -1;
		for (w = 0; w < HS_WAYS; w++)
			n += b.tag[w] != TAG_FREE;
	}
	return n;
}

int harness_flow_used(struct harness *h)
{
	struct flow_head b;
	__u32 i, w;
	int n = 0;

	for (i = 0; i < h->l.flow_buckets; i++) {
		if (bpf_map_lookup_elem(bpf_map__fd(h->l.skel->maps.flow_heads), &i, &b))
			break;
		for (w = 0; w < FLOW_WAYS; w++)
			n += b.tag[w] != TAG_FREE;
	}
	return n + harness_spill_used(h);
}

int harness_spill_used(struct harness *h)
{
	struct flow_key key, next;
	int fd = bpf_map__fd(h->l.skel->maps.spill), n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

__s64 harness_gauge(struct harness *h, enum conn_state state)
{
	if (harness_sweep(h))
		return -1;
	return (__s64)h->l.skel->bss->report.states[0][state];
}

void harness_events(struct harness *h)
{
	if (h->rb)
		ring_buffer__consume(h->rb);
}
