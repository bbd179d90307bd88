// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include "geometry.h"
#include "tcpshake/fsm.h"

__u32 pow2_at_least(__u64 v)
{
	__u32 p = 1;

	while (p < v && p < (1u << 30))
		p <<= 1;
	return p;
}

void geometry_from_options(struct table_geometry *g, const struct options *o)
{
	g->hs_buckets = pow2_at_least((o->handshake_slots + HS_WAYS - 1) / HS_WAYS);
	g->flow_buckets = pow2_at_least((o->max_flows + FLOW_WAYS - 1) / FLOW_WAYS);
	g->spill_max = o->max_flows / 8 > 1024 ? o->max_flows / 8 : 1024;
	g->port_slots = PORT_SLOT_FIRST + PORT_SLOT_HEADROOM * o->max_ports + PORT_SLOT_SPARE;
	if (g->port_slots > PORT_SLOTS_MAX)
		g->port_slots = PORT_SLOTS_MAX;
	g->sweep_slices = sweep_slice_count(g->hs_buckets, g->flow_buckets);
}

void config_from_options(struct tcpshake_config *cfg, const struct options *o,
			 const struct table_geometry *g, __u64 seed,
			 const unsigned int *ifindex, int n)
{
	int i;

	if (!seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (__u64)getpid() * 0x9e3779b97f4a7c15ULL ^ (__u64)(unsigned long)&seed;
	memset(cfg, 0, sizeof(*cfg));
	cfg->hash_seed = seed;
	cfg->syn_timeout_ns = (__u64)o->syn_timeout_s * 1000000000ull;
	cfg->time_wait_ns = (__u64)o->time_wait_s * 1000000000ull;
	cfg->close_timeout_ns = (__u64)o->close_timeout_s * 1000000000ull;
	cfg->tombstone_ns = FSM_TOMBSTONE_NS;
	cfg->idle_timeout_s = o->idle_timeout_s;
	cfg->hs_mask = g->hs_buckets - 1;
	cfg->flow_mask = g->flow_buckets - 1;
	cfg->port_slots = g->port_slots;
	cfg->spill_max = g->spill_max;
	cfg->nr_ifaces = (__u32)n;
	for (i = 0; i < n && i < MAX_IFACES; i++)
		cfg->ifindex[i] = ifindex[i];
	cfg->events_enabled = o->events_path != NULL;
	cfg->wakeup_bytes = o->ringbuf_kb * 1024 / 8;
}
