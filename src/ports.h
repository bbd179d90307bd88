/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which service ports get a port label of their own: at most max_ports per
 * interface, the busiest ones, the rest summed under port="other".
 *
 * Prometheus counters must never go down, so a port that gets a label leaves
 * what "other" already reported for it in "other" (its baseline), and a
 * port that loses its label moves its whole count back into "other". A port
 * labelled when first seen has no baseline. Labels change at most once a
 * minute, and only for a port at least twice as busy as the least busy
 * labelled one.
 */
#ifndef TCPSHAKE_PORTS_H
#define TCPSHAKE_PORTS_H

#include <stdbool.h>
#include "snapshot.h"

struct port_track {
	__u8  iface;
	__u16 port;
	bool  labelled;
	__u64 activity_mark;        /* activity at the last re-ranking */
	struct port_snapshot cur;   /* cumulative, from the kernel */
	struct port_snapshot base;  /* counts that stay in "other" */
	struct port_snapshot in_other; /* what the last export put in "other" */
};

struct port_labels {
	__u32 max_ports;
	int nr;
	struct port_track t[PORT_SLOTS_MAX];
	double last_rerank_s;
};

void port_labels_init(struct port_labels *pl, __u32 max_ports);
/* Record the kernel's cumulative values of one port (port 0 = kernel "other"). */
void port_labels_update(struct port_labels *pl, const struct port_snapshot *ps);
/* Decide labels and write the exported rows into s->ports. */
int port_labels_export(struct port_labels *pl, struct snapshot *s, double now_s);

/* a += b, a -= b on every counter of a port row. */
void port_row_add(struct port_snapshot *a, const struct port_snapshot *b);
void port_row_sub(struct port_snapshot *a, const struct port_snapshot *b);

#endif
