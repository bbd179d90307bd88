/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the monitor costs the host it watches, read each interval for its
 * own metrics: the process's CPU time and resident memory, the kernel
 * memory of its BPF maps, and its programs' run counts and run time while
 * the kernel keeps BPF run-time statistics. */
#ifndef TCPSHAKE_SELFCOST_H
#define TCPSHAKE_SELFCOST_H

#include <stdbool.h>
#include "loader.h"
#include "snapshot.h"

struct self_probe {
	int prog_fd[SELF_PROGS_MAX];     /* the skeleton's, not owned */
	char prog_name[SELF_PROGS_MAX][SELF_PROG_NAME_MAX];
	int nr_progs;
	const struct loader *loader;     /* its spill parts' descriptors */
	__u64 fixed_map_bytes;           /* the object's maps: sized at load */
	int stats_fd;                    /* BPF_ENABLE_STATS held, or -1 */
};

/* Finds the loaded programs and maps of l; with enable_stats, turns the
 * kernel's BPF run-time statistics on until self_probe_close (else they
 * are read only while kernel.bpf_stats_enabled is 1). 0, or -1 with the
 * reason logged. */
int self_probe_init(struct self_probe *p, struct loader *l, bool enable_stats);
void self_probe_read(const struct self_probe *p, struct self_cost *out);
void self_probe_close(struct self_probe *p);

#endif
