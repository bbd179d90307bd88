/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* How the bench times a program (bench_run.c). */
#ifndef TCPSHAKE_BENCH_RUN_H
#define TCPSHAKE_BENCH_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Calls of a measurement the best of which is a class's figure. */
#define TRIALS         5
/* Trials of a comparison of two programs (compare_paired()): even, so
 * each runs first in half of them. */
#define PAIRED_TRIALS  8
_Static_assert(PAIRED_TRIALS % 2 == 0, "each program of a pair runs first equally often");

/* What compare_paired() found: the best call of each program, and the
 * difference a - b of the trials, median and range. */
struct paired {
	double a, b;
	double diff, diff_lo, diff_hi;
	int trials;          /* trials where both calls succeeded */
};

double run_once(int fd, const __u8 *pkt, size_t len, __u32 reps);
double best_of(int fd, const __u8 *pkt, size_t len, __u32 reps);
int compare_paired(int fd_a, int fd_b, const __u8 *pkt, size_t len, __u32 reps,
		   struct paired *out);
int disturb_setup(void);
void print_disturb_note(void);
double run_singles(int fd, const __u8 *pkt, size_t len, __u32 runs, bool disturbed);
double run_stats(int fd, const __u8 *pkt, size_t len, __u32 runs, bool disturbed,
		 double *stats_ns);
double best_of_stats(int fd, const __u8 *pkt, size_t len, __u32 runs, bool disturbed,
		     double *stats_ns);

#endif
