/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Table geometry and the tracking configuration derived from the options:
 * the one place that turns --handshake-slots, --max-flows, --max-ports and
 * the timeouts into bucket counts, masks and the core's configuration, for
 * the kernel programs (loader.c), the native core (offline replay) and the
 * tests alike.
 */
#ifndef TCPSHAKE_GEOMETRY_H
#define TCPSHAKE_GEOMETRY_H

#include <linux/types.h>
#include "options.h"
#include "tcpshake/abi.h"

struct table_geometry {
	__u32 hs_buckets;      /* handshake-table buckets, a power of two */
	__u32 flow_buckets;    /* flow-table buckets, a power of two */
	__u32 spill_max;       /* flow-table overflow records */
	__u32 port_slots;      /* per-port statistics slots, "other" slots included */
	__u32 sweep_slices;    /* sweeper runs per interval (struct sweep_slice) */
};

/* Port slots: one "other" slot per interface (PORT_SLOT_FIRST of them),
 * then slots handed out to service ports on their first valid SYN-ACK, for
 * all interfaces together, never taken back. User space labels the
 * --max-ports busiest per interface; the headroom (4 per labelled port)
 * lets ports that become busy later still get counters of their own, and
 * the spare 16 keep a small --max-ports (1, 2) from running out at once
 * when a host has a few more services than that. */
#define PORT_SLOT_HEADROOM 4
#define PORT_SLOT_SPARE    16

void geometry_from_options(struct table_geometry *g, const struct options *o);
/* The core's configuration for a geometry; seed 0 picks a random one. */
void config_from_options(struct tcpshake_config *cfg, const struct options *o,
			 const struct table_geometry *g, __u64 seed,
			 const unsigned int *ifindex, int n);
__u32 pow2_at_least(__u64 v);

#endif
