/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Reading the kernel's per-CPU counters into a snapshot. */
#ifndef TCPSHAKE_READER_H
#define TCPSHAKE_READER_H

#include "loader.h"
#include "ports.h"
#include "snapshot.h"

struct sketch_reading;

struct reader {
	struct loader *loader;
	void *percpu_buf;          /* scratch for one per-CPU value */
	size_t percpu_len;
	void *sketch_buf;          /* one interface's per-CPU SYN sketches */
};

int reader_init(struct reader *r, struct loader *l);
/* Fills s (names and nr_ifaces must already be set); s->ports is
 * (re)allocated with the port rows chosen by pl. */
int reader_read(struct reader *r, struct snapshot *s, struct port_labels *pl);
void reader_free(struct reader *r);
/* Merges the SYN sketches of interface slots [0, n) into out[0..n) and
 * starts the next sketch epoch (the distinct-source count of an interval). */
int reader_read_sketches(struct reader *r, struct sketch_reading *out, int n);
/* The counters of one interface slot, summed over CPUs. */
int reader_read_stats(struct reader *r, __u32 slot, struct iface_stats *out);
/* The seed the BPF side hashes sketch keys with. */
__u64 reader_hash_seed(const struct reader *r);
/* Sums one per-CPU map value made only of __u64 words over ncpus CPUs.
 * scratch holds ncpus values, or is NULL to allocate one. */
int percpu_sum(int map_fd, __u32 key, void *out, size_t size, unsigned int ncpus, void *scratch);
void snapshot_free(struct snapshot *s);

#endif
