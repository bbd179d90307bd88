// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "floodwatch.h"
#include "quantile.h"

/* A labelled port's detector and what its rates are differences of. */
struct fw_port {
	__u8 iface;
	__u16 port;
	bool have_prev;
	double syns;                   /* SYNs so far, estimated from the sketches */
	double attempts;               /* attempts so far, never decreasing */
	__u64 retransmits_before;      /* the row's SYN retransmits when watching began */
	struct port_snapshot prev;
	struct flood_state st;
};

int floodwatch_init(struct floodwatch *fw, const struct flood_params *p, __u64 seed, int nr_ifaces)
{
	int i;

	memset(fw, 0, sizeof(*fw));
	fw->params = *p;
	fw->seed = seed;
	fw->nr_ifaces = nr_ifaces;
	fw->now = calloc((size_t)nr_ifaces, sizeof(*fw->now));
	fw->before = calloc((size_t)nr_ifaces, sizeof(*fw->before));
	fw->flood_hll = calloc((size_t)nr_ifaces, sizeof(*fw->flood_hll));
	for (i = 0; i < MAX_IFACES; i++)
		flood_state_init(&fw->st[i]);
	if (!fw->now || !fw->before || !fw->flood_hll) {
		floodwatch_free(fw);
		return -ENOMEM;
	}
	return 0;
}

void floodwatch_free(struct floodwatch *fw)
{
	free(fw->now);
	free(fw->before);
	free(fw->flood_hll);
	free(fw->ports);
	memset(fw, 0, sizeof(*fw));
}

static struct fw_port *port_state(struct floodwatch *fw, __u8 iface, __u16 port)
{
	struct fw_port *p;
	int i;

	for (i = 0; i < fw->nr_ports; i++)
		if (fw->ports[i].iface == iface && fw->ports[i].port == port)
			return &fw->ports[i];
	if (fw->nr_ports == fw->cap_ports) {
		int cap = fw->cap_ports ? 2 * fw->cap_ports : 16;

		p = realloc(fw->ports, (size_t)cap * sizeof(*p));
		if (!p)
			return NULL;
		fw->ports = p;
		fw->cap_ports = cap;
	}
	p = &fw->ports[fw->nr_ports++];
	memset(p, 0, sizeof(*p));
	p->iface = iface;
	p->port = port;
	flood_state_init(&p->st);
	return p;
}

static double per_s(double n, double dt)
{
	return dt > 0 ? n / dt : 0;
}

/* SYNs represented by one sampled SYN of an interface in this interval. */
static double sample_scale(const struct sketch_reading *now, const struct sketch_reading *before)
{
	__u64 syns = now->syns - before->syns, sampled = now->sampled - before->sampled;

	return sampled ? (double)syns / (double)sampled : SKETCH_SAMPLE;
}

static void top_hits(const struct floodwatch *fw, int i, enum sketch_kind kind, double dt,
		     struct flood_hit *out, int *n)
{
	struct sketch_hit hits[FLOOD_TOP];
	double scale = sample_scale(&fw->now[i], &fw->before[i]);
	int k;

	*n = sketch_top(&fw->now[i], &fw->before[i], fw->seed, kind, hits, FLOOD_TOP);
	for (k = 0; k < *n; k++) {
		sketch_key_name(hits[k].key, out[k].name, sizeof(out[k].name));
		out[k].rate = per_s((double)hits[k].sampled * scale, dt);
	}
}

static __u64 failures_of(const struct port_snapshot *r)
{
	__u64 n = 0;
	int k;

	for (k = 0; k < FAIL_MAX; k++)
		n += r->failures[k];
	return n;
}

/* The signals and the detector of one labelled port row. */
static void watch_port(struct floodwatch *fw, struct port_snapshot *r, double dt, double now_s,
		       bool sketches)
{
	struct fw_port *p = port_state(fw, r->iface, r->port);
	struct flood_params params = fw->params;
	struct flood_sample x;
	double syns = 0;

	if (!p)
		return;
	if (p->have_prev && (r->handshakes < p->prev.handshakes ||
			     r->syn_retransmits < p->prev.syn_retransmits))
		p->have_prev = false;           /* relabelled: counts moved */
	if (!p->have_prev) {
		/* Estimated SYNs count from now on: so do retransmits. */
		p->syns = p->attempts = 0;
		p->retransmits_before = r->syn_retransmits;
	}
	if (sketches)
		syns = (double)sketch_count(&fw->now[r->iface], &fw->before[r->iface],
					    sketch_port_key(r->port), fw->seed) *
		       sample_scale(&fw->now[r->iface], &fw->before[r->iface]);
	p->syns += syns;
	if (p->syns - (double)(r->syn_retransmits - p->retransmits_before) > p->attempts)
		p->attempts = p->syns - (double)(r->syn_retransmits - p->retransmits_before);
	x.attempts = p->attempts;
	x.completed = (double)r->handshakes;
	/* Ports are judged at ticks only (their SYNs come from the sketches):
	 * unless their interface is flooded too, two ticks in a row, so a
	 * surge of slow clients late in an interval cannot pass for a flood. */
	params.confirm = fw->st[r->iface].active ? 1 : 2;
	flood_step(&p->st, &params, &x, now_s);
	r->flood.active = p->st.active;
	r->flood.alerts = p->st.alerts;
	r->flood.uncompleted_rate = p->st.uncompleted_rate;
	r->flood.syn_rate = per_s(syns, dt);
	r->flood.p50_s = r->flood.p99_s = NAN;
	if (p->have_prev) {
		struct hist d;

		r->flood.handshake_rate = per_s((double)(r->handshakes - p->prev.handshakes), dt);
		r->flood.failure_rate = per_s((double)(failures_of(r) - failures_of(&p->prev)), dt);
		hist_delta(&d, &r->handshake, &p->prev.handshake);
		r->flood.p50_s = hist_quantile(&d, 0.5);
		r->flood.p99_s = hist_quantile(&d, 0.99);
	}
	p->prev = *r;
	p->have_prev = true;
}

static void fill_view(struct floodwatch *fw, int i, struct iface_snapshot *is, double dt,
		      bool sketches)
{
	const struct iface_stats *st = &is->stats, *pv = &fw->prev[i].stats;
	const struct flood_state *fs = &fw->st[i];
	struct flood_view *v = &is->flood;
	__u64 syns = st->syn_packets - pv->syn_packets;

	v->syn_rate = per_s((double)syns, dt);
	v->attempt_rate = fs->attempt_rate;
	v->handshake_rate = fs->completion_rate;
	v->synack_rate = per_s((double)((st->synack_packets - st->synack_retransmits) -
					(pv->synack_packets - pv->synack_retransmits)), dt);
	v->uncompleted_rate = fs->uncompleted_rate;
	v->incomplete_share = fs->incomplete_share;
	v->baseline_rate = fs->baseline_rate;
	v->half_open_growth = per_s((double)(is->half_open - fw->prev[i].half_open), dt);
	v->syn_retransmit_share = syns ? (double)(st->syn_retransmits - pv->syn_retransmits) / (double)syns : 0;
	v->active = fs->active;
	v->alerts = fs->alerts;
	v->sources = hll_estimate(fw->now[i].hll);
	v->nr_prefixes = v->nr_ports = 0;
	if (sketches) {
		top_hits(fw, i, SKETCH_PREFIXES, dt, v->prefixes, &v->nr_prefixes);
		top_hits(fw, i, SKETCH_PORTS, dt, v->ports, &v->nr_ports);
	}
}

static void alert(struct floodwatch *fw, const struct snapshot *s, int i, bool start,
		  double mono_to_wall, flood_alert_fn cb, void *ctx)
{
	const struct flood_state *fs = &fw->st[i];
	struct flood_alert a = {
		.start = start,
		.iface = s->iface[i].name,
		.wall_s = s->mono_s + mono_to_wall,
		.started_wall_s = fs->started_s + mono_to_wall,
		.duration_s = start ? 0 : fs->ended_s - fs->started_s,
		.v = &s->iface[i].flood,
		.flooded = &fw->flooded[i],
		.half_open = s->iface[i].half_open,
		.peak_syn_rate = fs->peak_attempt_rate,
		.flood_sources = hll_estimate(fw->flood_hll[i]),
	};
	int p;

	for (p = 0; p < s->nr_ports && a.nr_ports < FLOOD_TOP; p++)
		if (s->ports[p].iface == i && s->ports[p].port && s->ports[p].flood.active)
			a.ports[a.nr_ports++] = s->ports[p].port;
	if (cb)
		cb(&a, ctx);
}

static struct flood_sample iface_sample(const struct iface_stats *st)
{
	struct flood_sample x = {
		.attempts = (double)(st->syn_packets - st->syn_retransmits),
		.completed = (double)st->handshakes,
	};

	return x;
}

void floodwatch_observe(struct floodwatch *fw, const struct iface_stats *stats, int n, double mono_s)
{
	int i;

	for (i = 0; i < n && i < fw->nr_ifaces; i++) {
		struct flood_sample x = iface_sample(&stats[i]);

		flood_observe(&fw->st[i], &x, mono_s, 0.09);
	}
}

void floodwatch_update(struct floodwatch *fw, struct snapshot *s, double mono_to_wall,
		       flood_alert_fn cb, void *ctx)
{
	double dt = fw->have_prev ? s->mono_s - fw->before_s : 0;
	bool sketches = fw->have_before;
	enum flood_change change[MAX_IFACES];
	struct sketch_reading *swap;
	int i, p;

	for (i = 0; i < s->nr_ifaces && i < fw->nr_ifaces; i++) {
		struct flood_sample x = iface_sample(&s->iface[i].stats);

		change[i] = flood_step(&fw->st[i], &fw->params, &x, s->mono_s);
		if (change[i] == FLOOD_STARTED)
			memset(fw->flood_hll[i], 0, sizeof(fw->flood_hll[i]));
		if (fw->st[i].active || change[i] == FLOOD_ENDED)
			hll_merge(fw->flood_hll[i], fw->now[i].hll);
		memset(&s->iface[i].flood, 0, sizeof(s->iface[i].flood));
		if (fw->have_prev)
			fill_view(fw, i, &s->iface[i], dt, sketches);
		s->iface[i].flood.active = fw->st[i].active;
		s->iface[i].flood.alerts = fw->st[i].alerts;
		s->iface[i].flood.since_mono_s = fw->st[i].started_s;
		if (fw->st[i].condition)
			fw->flooded[i] = s->iface[i].flood;
	}
	for (p = 0; p < s->nr_ports; p++)
		if (s->ports[p].port && s->ports[p].iface < fw->nr_ifaces)
			watch_port(fw, &s->ports[p], dt, s->mono_s, sketches);
	for (i = 0; i < s->nr_ifaces && i < fw->nr_ifaces; i++)
		if (change[i] != FLOOD_SAME)
			alert(fw, s, i, change[i] == FLOOD_STARTED, mono_to_wall, cb, ctx);

	for (i = 0; i < s->nr_ifaces && i < MAX_IFACES; i++)
		fw->prev[i] = s->iface[i];
	fw->have_prev = true;
	fw->before_s = s->mono_s;
	swap = fw->before;
	fw->before = fw->now;
	fw->now = swap;
	fw->have_before = true;
}
