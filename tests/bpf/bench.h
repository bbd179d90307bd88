/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the bench programs (bench.bpf.c) and their runner (bench.c) share. */
#ifndef TCPSHAKE_BENCH_H
#define TCPSHAKE_BENCH_H

/* Steps each machine-cost probe chains: global function calls, clock reads. */
#define PROBE_STEPS 16

#endif
