/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the tracking core gives the SYN-flood detector beyond the counters:
 * the per-CPU sketches fed by every arriving SYN, and the half-open records
 * of each service port, counted by the sweeper. Platform-neutral like the
 * rest of the core (syn_sketch_of, sketch_epoch come from the platform).
 */
#ifndef TCPSHAKE_FLOOD_H
#define TCPSHAKE_FLOOD_H

#include "tcpshake/parse.h"
#include "tcpshake/sketch.h"

/* A SYN (without ACK) on the fast path. Only arriving ones feed the
 * interface's sketches: per CPU, no atomics, and no helper call but the
 * per-CPU array lookup (inlined by the verifier). */
static __always_inline void flood_syn(const struct packet *p, __u32 egress)
{
	struct syn_sketch *s;

	if (egress)
		return;
	s = syn_sketch_of(p->key.iface);
	if (s)
		sketch_syn(s, &p->key, p->from_a, sketch_epoch, cfg.hash_seed);
}

/* The sweeper's count of a live record: half-open ones by port slot too
 * (the per-port half-open gauge). */
static __always_inline void flood_count_half_open(const struct way *w)
{
	__u32 slot;

	if (w->conn.state != CS_SYN_RCVD)
		return;
	slot = port_slot_find(w->key.iface, w->conn.service_port);
	if (slot < PORT_SLOTS_MAX)
		report.port_half_open[slot]++;
}

#endif /* TCPSHAKE_FLOOD_H */
