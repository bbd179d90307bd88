/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One consistent reading of everything the kernel side counted, summed over
 * CPUs: the model every exporter (terminal, JSON, Prometheus) prints from.
 */
#ifndef TCPSHAKE_SNAPSHOT_H
#define TCPSHAKE_SNAPSHOT_H

#include <net/if.h>
#include <stdbool.h>
#include <linux/types.h>
#include "tcpshake/abi.h"

struct iface_snapshot {
	char name[IF_NAMESIZE];
	struct iface_stats stats;            /* summed over CPUs */
	__s64 half_open;                     /* gauges: records per state, counted */
	__s64 established;                   /* by the sweeper's last pass, so never */
	__s64 closing;                       /* negative; half_open adds evicted ones
	                                      * still inside the SYN timeout (halfopen.h) */
	__s64 time_wait;
	__s64 syn_sent;
	struct hist hist[H_MAX];
	__u64 hs_entries;                    /* table occupancy from the sweeper */
	__u64 flow_entries;
};

struct port_snapshot {
	__u8  iface;
	__u16 port;                          /* 0: "other" */
	__u64 handshakes;
	__u64 failures[FAIL_MAX];
	struct hist handshake;
};

struct snapshot {
	double mono_s;                       /* when it was taken */
	int nr_ifaces;
	struct iface_snapshot iface[MAX_IFACES];
	int nr_ports;
	struct port_snapshot *ports;         /* per interface: labelled ports, then "other" */
	__u64 hs_capacity;
	__u64 flow_capacity;
	__u64 events_write_errors;           /* event lines lost to failed writes */
	__u64 events_dropped;                /* event lines dropped: the writer lagged */
	bool up;                             /* false in the exposition written at exit */
};

#endif
