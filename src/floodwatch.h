/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * SYN-flood watch: once per interval, turns a snapshot and the merged SYN
 * sketches into the signals of every interface and labelled port
 * (snapshot's flood views), runs the detector (flood.c) on each, and hands
 * every start and end of an interface's flood to a callback.
 */
#ifndef TCPSHAKE_FLOODWATCH_H
#define TCPSHAKE_FLOODWATCH_H

#include "flood.h"
#include "sketch.h"
#include "snapshot.h"

/* What the outputs say about a flood starting or ending. */
struct flood_alert {
	bool start;                    /* else: it ended */
	const char *iface;
	double wall_s;                 /* now */
	double started_wall_s;
	double duration_s;             /* at the end: from start to the last flooded interval */
	const struct flood_view *v;    /* the interface's signals of this interval */
	const struct flood_view *flooded; /* those of the flood's last flooded interval:
					   * its heavy hitters */
	__s64 half_open;
	double peak_syn_rate;          /* the flood's highest attempt rate so far */
	double flood_sources;          /* distinct sources since the flood started */
	int nr_ports;                  /* labelled ports in flood now */
	__u16 ports[FLOOD_TOP];
};

typedef void (*flood_alert_fn)(const struct flood_alert *a, void *ctx);

struct fw_port;

struct floodwatch {
	struct flood_params params;
	__u64 seed;                    /* the BPF side's hash seed */
	int nr_ifaces;
	struct sketch_reading *now, *before;   /* nr_ifaces readings each */
	bool have_before;
	double before_s;
	struct flood_state st[MAX_IFACES];
	struct iface_snapshot prev[MAX_IFACES];
	struct flood_view flooded[MAX_IFACES];  /* last interval where the condition held */
	bool have_prev;
	__u8 (*flood_hll)[SKETCH_HLL_REGS];    /* sources of each current flood */
	struct fw_port *ports;
	int nr_ports, cap_ports;
};

int floodwatch_init(struct floodwatch *fw, const struct flood_params *p, __u64 seed, int nr_ifaces);
void floodwatch_free(struct floodwatch *fw);
/* Where the caller puts this interval's sketch readings (nr_ifaces). */
static inline struct sketch_reading *floodwatch_readings(struct floodwatch *fw)
{
	return fw->now;
}
/* How often the counters are sampled between ticks (floodwatch_observe). */
#define FLOODWATCH_OBSERVE_S 0.1

/* Between ticks (every 100 ms): the interfaces' counters, so decisions
 * know when within the interval attempts and completions came. */
void floodwatch_observe(struct floodwatch *fw, const struct iface_stats *stats, int n, double mono_s);
/* One interval: s is read, its ports exported (reader_read), the readings
 * filled. Fills s's flood views; calls cb for each flood start and end. */
void floodwatch_update(struct floodwatch *fw, struct snapshot *s, double mono_to_wall,
		       flood_alert_fn cb, void *ctx);

#endif
