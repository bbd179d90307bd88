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

#define FLOOD_TOP 5            /* heavy hitters reported */

/* A heavy hitter of the last interval: a source prefix or a destination port. */
struct flood_hit {
	char name[48];                       /* "10.1.2.0/24", "2001:db8::/48", "443" */
	double rate;                         /* SYN/s, estimated */
};

/* The SYN-flood signals of an interface over the last interval, and the
 * detector's state (src/floodwatch.c fills it in). */
struct flood_view {
	double syn_rate;                     /* SYNs/s, retransmissions included */
	double attempt_rate;                 /* new attempts/s (SYNs - retransmissions) */
	double synack_rate;                  /* valid first SYN-ACKs/s */
	double handshake_rate;               /* completions/s */
	double uncompleted_rate;             /* attempts/s left without completion */
	double incomplete_share;             /* 0..1 of the attempts */
	double baseline_rate;                /* learned uncompleted/s */
	double half_open_growth;             /* half-open records/s */
	double syn_retransmit_share;         /* 0..1 of the SYNs */
	double sources;                      /* distinct source addresses (HyperLogLog) */
	bool active;
	double since_mono_s;                 /* start of the current flood */
	__u64 alerts;                        /* floods started */
	int nr_prefixes, nr_ports;
	struct flood_hit prefixes[FLOOD_TOP];
	struct flood_hit ports[FLOOD_TOP];
};

/* A labelled port's part of the same. */
struct port_flood_view {
	double syn_rate;                     /* estimated from the sketches */
	double handshake_rate;
	double failure_rate;
	double uncompleted_rate;
	double p50_s, p99_s;                 /* handshake latency of the interval (NaN: none) */
	bool active;
	__u64 alerts;
};

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
	struct flood_view flood;
};

/* From handshakes on, every field is a counter of __u64 (ports.c sums
 * and subtracts rows word by word). */
struct port_snapshot {
	__u8  iface;
	__u16 port;                          /* 0: "other" */
	__s64 half_open;                     /* gauge, from the sweeper */
	struct port_flood_view flood;        /* labelled ports only */
	__u64 handshakes;
	__u64 failures[FAIL_MAX];
	struct hist handshake;
	__u64 syn_retransmits;
	__u64 synacks;
};

/* The monitor's own cost (src/selfcost.c); valid only for a live monitor. */
#define SELF_PROGS_MAX 8
#define SELF_PROG_NAME_MAX 16                /* BPF_OBJ_NAME_LEN */
struct self_prog {
	char name[SELF_PROG_NAME_MAX];
	__u64 runs, run_ns;                  /* since load, while statistics were on */
};

struct self_cost {
	bool valid;
	__u64 user_ns, system_ns;            /* all threads; system includes the sweeper's runs */
	__u64 rss_bytes;
	__u64 map_bytes;                     /* kernel memory of the BPF maps */
	bool bpf_stats;                      /* the kernel is keeping run counts and times */
	int nr_progs;
	struct self_prog prog[SELF_PROGS_MAX];
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
	__u64 sweep_errors;                  /* sweeper passes whose table walk failed */
	bool up;                             /* false in the exposition written at exit */
	struct self_cost self;
};

#endif
