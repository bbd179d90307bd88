/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the bench programs (bench.bpf.c) and their runner (bench.c) share. */
#ifndef TCPSHAKE_BENCH_H
#define TCPSHAKE_BENCH_H

/* Steps each machine-cost probe chains: global function calls, clock reads. */
#define PROBE_STEPS 16

/* A record of the one-record core's floor (bench.bpf.c, floor_step). */
struct floor_record {
	__u64 key[5];
	__u64 t;
	__u32 seq;
	__u32 state;
	__u64 pad;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct floor_record) == 64, "the floor's record is one cache line");

/* MiB of a floor table of n records. */
#define FLOOR_MIB(n) ((double)(n) * sizeof(struct floor_record) / 1048576.0)

#endif
