/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The BPF object's lifecycle: check the environment, open, configure, load. */
#ifndef TCPSHAKE_LOADER_H
#define TCPSHAKE_LOADER_H

#include "geometry.h"
#include "options.h"

struct tcpshake_bpf;
struct bpf_map;

struct loader {
	struct tcpshake_bpf *skel;
	unsigned int ncpus;
	struct table_geometry geo;
	__u64 sweep_errors;       /* sweeper passes whose table walk failed */
	bool sweep_failing;       /* the last pass failed: report once per streak */
	__u64 sweep_longest_ns;   /* the last pass's longest program run (wall time) */
	int spill_fd[SPILL_PARTS];  /* the spill map's parts, kept open */
	int nr_spill_fds;
};

/* Privileges and kernel features; prints the reason and returns -1 if missing. */
int loader_check_environment(void);
/* Opens and loads the BPF object for the given interfaces (not attached),
 * then runs the sweeper once. */
int loader_load(struct loader *l, const struct options *o, const unsigned int *ifindex, int n);
/* The same in two steps, so tests can adjust skel->rodata in between;
 * loader_finish also runs the sweeper once. */
int loader_open(struct loader *l, const struct options *o, const unsigned int *ifindex, int n);
int loader_finish(struct loader *l);
/* Another geometry than the options gave, between open and finish. */
void loader_set_geometry(struct loader *l, const struct table_geometry *g);
/* Leaves an ingress program (XDP, tc) unloaded, between open and finish:
 * the verifier's work is most of the start-up. */
void loader_skip_ingress(struct loader *l, bool xdp, bool tc);
/* Where this kernel's struct tcp_sock keeps what a RST's check reads
 * (host_socket.h), from its BTF; both 0, and a line saying so, without. */
struct tcpshake_config;
void config_host_socket(struct tcpshake_config *cfg);
/* Runs the sweeper program once: timeouts, TIME-WAIT expiry, occupancy. */
int loader_sweep(struct loader *l);
void loader_close(struct loader *l);
/* Creates the spill map's SPILL_PARTS hash maps (abi.h) in an object's
 * loaded outer map: libbpf creates only the outer one. Their descriptors
 * go to kept[SPILL_PARTS] on success (the caller closes them), or are
 * closed when kept is NULL. 0 or -errno. */
int loader_create_spill_parts(struct bpf_map *spill, __u32 spill_max, int *kept);

#endif
