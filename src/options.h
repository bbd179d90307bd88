/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef TCPSHAKE_OPTIONS_H
#define TCPSHAKE_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "localnet.h"
#include "tcpshake/abi.h"

enum ingress_mode { INGRESS_AUTO = 0, INGRESS_XDP, INGRESS_TC };

struct options {
	const char *ifaces[MAX_IFACES];
	int nr_ifaces;
	double interval_s;
	double duration_s;           /* 0: until SIGINT/SIGTERM */
	enum ingress_mode ingress;
	__u32 syn_timeout_s;
	__u32 time_wait_s;
	__u32 close_timeout_s;
	__u32 idle_timeout_s;
	__u32 max_ports;
	__u32 max_flows;
	__u32 handshake_slots;
	__u32 ringbuf_kb;
	const char *events_path;     /* NULL: no events; "-": stdout */
	const char *prom_textfile;
	const char *listen;
	const char *read_path;       /* --read: a capture file instead of interfaces */
	struct localnets local_nets; /* --local-net: this side of the capture */
	bool expire_at_end;          /* --read: pending attempts end as timeouts */
	__u64 seed;                  /* --read: the tables' hash seed, 0: random */
	double flood_min_rate;       /* uncompleted attempts/s a flood needs at least */
	double flood_hold_s;         /* a flood ends after this long without its signature */
	const char *alert_exec;      /* "PROGRAM [ARGS]" run per flood start/end, or NULL */
	double alert_timeout_s;
	bool syslog;                 /* flood alerts to syslog too */
	bool bpf_stats;              /* keep BPF run-time statistics on while running */
	bool json;
	bool quiet;
	int verbose;
};

void options_defaults(struct options *o);
/* Exit status of a finished parse: -1 = go on and run. */
int options_parse(struct options *o, int argc, char **argv);
void options_usage(FILE *out);
struct flood_params;
/* The SYN-flood detector's parameters: defaults with --flood-min-rate and
 * --flood-hold applied; returns p. */
const struct flood_params *options_flood_params(struct flood_params *p, const struct options *o);

#endif
