// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * make bench: how bench.c times a program, by BPF_PROG_TEST_RUN: calls of
 * many runs (the loop classes), calls of one run each, optionally with the
 * machine disturbed between them (the lifecycle classes), and two programs
 * compared trial by trial (compare_paired()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench_run.h"

double run_once(int fd, const __u8 *pkt, size_t len, __u32 reps)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = reps);

	if (bpf_prog_test_run_opts(fd, &run))
		return -1;
	return run.duration;
}

/* The kernel's own account of a program's runs (bpf_stats: a clock read
 * around each run, outside BPF_PROG_TEST_RUN's loop): total ns and runs. */
static void prog_stats(int fd, __u64 *ns, __u64 *runs)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	*ns = *runs = 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		*ns = info.run_time_ns;
		*runs = info.run_cnt;
	}
}

/* Pages of the bench's own memory read between two calls in the disturbed
 * regime: more than the second-level TLB of the CPUs we run on holds
 * (2,048 or 3,072 entries on AMD Zen). */
#define DISTURB_PAGES 4096u
/* Pages of code called between two calls: more than the instruction
 * TLBs and caches hold, and a return for each in the branch predictors. */
#define DISTURB_CODE_PAGES 2048u

/* The one-byte return instruction the code pages are made of: x86's.
 * Elsewhere the regime runs without them, and says so. */
#if defined(__x86_64__)
#define DISTURB_RET 0xc3
#else
#define DISTURB_RET 0
#endif

/* What disturb() walks: set up once by disturb_setup(). */
static struct {
	volatile __u8 *pages;     /* DISTURB_PAGES pages, written */
	const __u8 *code;         /* code_pages pages of DISTURB_RET, or NULL */
	__u32 code_pages;
	__u32 line;               /* the line of each page read last */
} dist;

/* The pages, and the code pages where the return instruction is known;
 * -1 when the pages cannot be had (the regime would measure nothing). */
int disturb_setup(void)
{
	const size_t len = (size_t)DISTURB_CODE_PAGES * 4096;
	__u8 *code;

	if (!dist.pages) {
		dist.pages = malloc((size_t)DISTURB_PAGES * 4096);
		if (!dist.pages)
			return -1;
		/* Written, so each page is one of its own, not the zero page. */
		memset((void *)dist.pages, 1, (size_t)DISTURB_PAGES * 4096);
	}
	if (dist.code || !DISTURB_RET)
		return 0;
	code = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return -1;
	memset(code, DISTURB_RET, len);
	if (mprotect(code, len, PROT_READ | PROT_EXEC)) {
		munmap(code, len);
		return -1;
	}
	dist.code = code;
	dist.code_pages = DISTURB_CODE_PAGES;
	return 0;
}

/* The kernel's work between two packets of a connection, in small: a line
 * of each of DISTURB_PAGES written pages, and a call into each code page,
 * a different line each time, whose TLB entries, lines and branch history
 * push the program's out. */
static void disturb(void)
{
	__u32 k, sink = 0;

	dist.line = (dist.line + 1) & 63;
	for (k = 0; k < DISTURB_PAGES; k++)
		sink += dist.pages[(size_t)k * 4096 + dist.line * 64];
	dist.pages[0] = (__u8)sink;
	for (k = 0; k < dist.code_pages; k++)
		((void (*)(void))(const void *)(dist.code + (size_t)k * 4096 + dist.line * 64))();
}

/* What disturb() does, for the disturbed regime's table. */
void print_disturb_note(void)
{
	printf("  (before each call the bench reads a line of each of %u pages of its own and\n"
	       "  calls into each of %u pages of code: TLBs, caches and branch history as\n"
	       "  the kernel's work between two packets of a connection leaves them)\n",
	       DISTURB_PAGES, dist.code_pages);
}

/* The mean ns of runs calls of one run each, the packet each run rewrote
 * fed to the next (the _next programs step to the next connection); with
 * disturbed, disturb() before each call, outside the time the kernel
 * measures. A call of more than one run of an XDP program first puts it
 * in the kernel's XDP dispatcher and takes it out after, and on this
 * guest such a call leaves every cache line cold for the next ("Machine
 * costs", line_costs()): the lifecycle classes, a few hundred packets a
 * call, measured that instead of the packets until 2026-12-04. No packet
 * of real traffic pays it. */
double run_singles(int fd, const __u8 *pkt, size_t len, __u32 runs, bool disturbed)
{
	__u8 in[256], out[256];
	__u64 sum = 0;
	__u32 i;

	if (len > sizeof(in) || !runs)
		return -1;
	memcpy(in, pkt, len);
	for (i = 0; i < runs; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = in, .data_size_in = (__u32)len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

		if (disturbed)
			disturb();
		if (bpf_prog_test_run_opts(fd, &run) || run.data_size_out != len)
			return -1;
		sum += run.duration;
		memcpy(in, out, len);
	}
	return (double)sum / runs;
}

/* run_singles, and the same runs' mean as bpf_stats saw them (-1 without). */
double run_stats(int fd, const __u8 *pkt, size_t len, __u32 runs, bool disturbed,
			double *stats_ns)
{
	__u64 ns0, n0, ns1, n1;
	double d;

	prog_stats(fd, &ns0, &n0);
	d = run_singles(fd, pkt, len, runs, disturbed);
	prog_stats(fd, &ns1, &n1);
	*stats_ns = n1 > n0 ? (double)(ns1 - ns0) / (double)(n1 - n0) : -1;
	return d;
}

/* The best of TRIALS run_stats(), and the best of the same runs as
 * bpf_stats saw them in *stats_ns (1e18 without). */
double best_of_stats(int fd, const __u8 *pkt, size_t len, __u32 runs, bool disturbed,
			    double *stats_ns)
{
	double best = 1e18, d, st;
	int t;

	*stats_ns = 1e18;
	for (t = 0; t < TRIALS; t++) {
		d = run_stats(fd, pkt, len, runs, disturbed, &st);
		if (d >= 0 && d < best)
			best = d;
		if (st >= 0 && st < *stats_ns)
			*stats_ns = st;
	}
	return best;
}

/* The best of TRIALS calls of reps runs each: the loop classes, whose
 * millions of runs a call leave the dispatcher's cost nowhere. */
double best_of(int fd, const __u8 *pkt, size_t len, __u32 reps)
{
	double best = 1e18, d;
	int t;

	for (t = 0; t < TRIALS; t++) {
		d = run_once(fd, pkt, len, reps);
		if (d >= 0 && d < best)
			best = d;
	}
	return best;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* Two programs on the same packet, trial by trial, so that both see the
 * same machine state: each trial a call of reps runs of either, the order
 * alternating, since whichever runs second in a pair is often the slower
 * on this guest. The difference of two best calls moved ±20 ns between
 * runs where each program's own figure moves ±50; the median of the
 * trials' differences is what a change between them is read from. -1
 * when fewer than half the trials succeeded. */
int compare_paired(int fd_a, int fd_b, const __u8 *pkt, size_t len, __u32 reps,
		   struct paired *out)
{
	double diffs[PAIRED_TRIALS], a, b;
	int t, n = 0;

	out->a = out->b = 1e18;
	for (t = 0; t < PAIRED_TRIALS; t++) {
		if (t % 2 == 0) {
			a = run_once(fd_a, pkt, len, reps);
			b = run_once(fd_b, pkt, len, reps);
		} else {
			b = run_once(fd_b, pkt, len, reps);
			a = run_once(fd_a, pkt, len, reps);
		}
		if (a < 0 || b < 0)
			continue;
		if (a < out->a)
			out->a = a;
		if (b < out->b)
			out->b = b;
		diffs[n++] = a - b;
	}
	out->trials = n;
	if (n < PAIRED_TRIALS / 2)
		return -1;
	qsort(diffs, (size_t)n, sizeof(diffs[0]), cmp_double);
	out->diff = n % 2 ? diffs[n / 2] : (diffs[n / 2 - 1] + diffs[n / 2]) / 2;
	out->diff_lo = diffs[0];
	out->diff_hi = diffs[n - 1];
	return 0;
}
