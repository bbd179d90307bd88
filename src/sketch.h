/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The SYN sketches in user space: one reading of an interface's per-CPU
 * sketches merged into one (HyperLogLog registers by maximum, count-min
 * counters by sum, candidate keys by union), the distinct-count estimate,
 * and the heavy hitters between two readings. Pure C: the BPF side is
 * include/tcpshake/sketch.h.
 */
#ifndef TCPSHAKE_SRC_SKETCH_H
#define TCPSHAKE_SRC_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "tcpshake/abi.h"
#include "tcpshake/sketch.h"

#define SKETCH_CANDIDATES 256      /* distinct candidate keys kept per reading and kind */

enum sketch_kind { SKETCH_PREFIXES = 0, SKETCH_PORTS };

/* One interface's sketches summed over CPUs. */
struct sketch_reading {
	__u64 syns;                    /* cumulative */
	__u64 sampled;                 /* cumulative */
	__u32 epoch;                   /* hll[] holds the sources of this epoch */
	__u8  hll[SKETCH_HLL_REGS];
	__u32 cm[SKETCH_CM_ROWS][SKETCH_CM_WIDTH];   /* cumulative, wrapping */
	int   nr_keys[2];
	__u64 keys[2][SKETCH_CANDIDATES];  /* candidates, the most frequent in the rings first */
};

/* A heavy hitter between two readings: its sampled SYNs. */
struct sketch_hit {
	__u64 key;
	__u64 sampled;
};

/* Merges ncpus per-CPU values (as bpf_map_lookup_elem returns them, stride
 * bytes apart) into r; registers count only from CPUs in the given epoch. */
int sketch_reading_merge(struct sketch_reading *r, const void *percpu, size_t stride,
			 unsigned int ncpus, __u32 epoch);

/* Ertl's improved HyperLogLog estimator ("New cardinality estimation
 * algorithms for HyperLogLog sketches", 2017): unbiased from 0 to far
 * beyond 10^9 without empirical bias tables. */
double hll_estimate(const __u8 *regs);
/* dst = register-wise maximum of dst and src. */
void hll_merge(__u8 *dst, const __u8 *src);

/* Sampled SYNs of a key between two readings (count-min: an upper bound,
 * exact unless the key shares both columns with others). */
__u64 sketch_count(const struct sketch_reading *now, const struct sketch_reading *before,
		   __u64 key, __u64 seed);
/* The k heaviest candidates of a kind between two readings, heaviest first;
 * returns how many (candidates with no SYN in between are left out). */
int sketch_top(const struct sketch_reading *now, const struct sketch_reading *before, __u64 seed,
	       enum sketch_kind kind, struct sketch_hit *out, int k);

/* "10.77.99.0/24", "2001:db8:7::/48", or the port number for port keys. */
void sketch_key_name(__u64 key, char *buf, size_t len);
/* The count-min key of a destination port. */
static inline __u64 sketch_port_key(__u16 port)
{
	return SKETCH_KEY_PORT | port;
}

#endif
