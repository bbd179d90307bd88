/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Log-linear latency buckets shared by the BPF programs (which count) and the
 * exporters (which print the bounds). Each power of two is split into 8 equal
 * sub-buckets, so a bucket is at most 12.5 % wide and a quantile interpolated
 * inside it is off by a few percent at worst.
 *
 * Slot k (0 <= k < HIST_SLOTS-1) counts values v with
 *   upper(k-1) < v <= upper(k), upper(k) = 2^e + (s+1) * 2^(e-3) ns,
 *   e = 13 + (k+1)/8, s = (k+1)%8,
 * i.e. 10.24 us, 11.264 us, ... 120.26 s. Slot 0 also takes everything below
 * and slot HIST_SLOTS-1 everything above (+Inf). Bounds are integer
 * nanoseconds, so "v <= le" is exact.
 */
#ifndef TCPSHAKE_HISTOGRAM_H
#define TCPSHAKE_HISTOGRAM_H

#include "tcpshake/bytes.h"

#define HIST_FIRST_EXP 13    /* 2^13 ns = 8.192 us */

/* step if v >> step is not zero, else 0, without a branch. */
static inline __u64 hist_msb_step(__u64 v, __u32 step)
{
	return nonzero_bit(v >> step) * step;
}

/* Index of the most significant set bit; v must be non-zero. Shifts, for
 * the kernel programs: BPF has no count-leading-zeros instruction, and
 * clang 14 crashes lowering the builtin for it. No branch: six of them
 * made 64 paths for the verifier at each histogram. hist_slot() uses the
 * builtin natively; test_exporters holds the two equal. */
static inline __u32 hist_msb64(__u64 v)
{
	__u64 r = 0, s;

	s = hist_msb_step(v, 32); v >>= s; r += s;
	s = hist_msb_step(v, 16); v >>= s; r += s;
	s = hist_msb_step(v, 8);  v >>= s; r += s;
	s = hist_msb_step(v, 4);  v >>= s; r += s;
	s = hist_msb_step(v, 2);  v >>= s; r += s;
	return (__u32)(r + hist_msb_step(v, 1));
}

static inline __u32 hist_slot(__u64 ns)
{
	__u64 v = ns ? ns - 1 : 0;   /* buckets are (lower, upper] */
	__u32 e, s;
	__s32 idx;

	if (v < (1ull << HIST_FIRST_EXP))
		return 0;
#ifdef __bpf__
	e = hist_msb64(v);             /* BPF has no count-leading-zeros */
#else
	e = 63 - (__u32)__builtin_clzll(v);   /* the same (test_exporters), one instruction */
#endif
	s = (__u32)(v >> (e - 3)) & 7;
	idx = (__s32)((e - HIST_FIRST_EXP) * 8 + s) - 1;
	if (idx < 0)
		return 0;
	if (idx > HIST_SLOTS - 1)
		return HIST_SLOTS - 1;
	return (__u32)idx;
}

/* Upper bound of slot k in nanoseconds; k < HIST_SLOTS - 1. */
static inline __u64 hist_upper_ns(__u32 k)
{
	__u32 e = HIST_FIRST_EXP + (k + 1) / 8;
	__u32 s = (k + 1) % 8;

	return (1ull << e) + ((__u64)(s + 1) << (e - 3));
}

static inline void hist_add(struct hist *h, __u64 ns)
{
	__u32 slot = hist_slot(ns);

	if (slot < HIST_SLOTS)
		h->count[slot]++;
	h->sum_ns += ns;
}

#endif /* TCPSHAKE_HISTOGRAM_H */
