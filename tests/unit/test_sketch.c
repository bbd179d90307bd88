// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The SYN sketches: the update the BPF programs run (include/tcpshake/
 * sketch.h), fed natively over simulated CPUs, merged and estimated by
 * src/sketch.c: distinct sources within 5 % from 1k to 1M, the heaviest
 * prefixes and ports of skewed mixes, epochs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <linux/types.h>
#include "tcpshake/abi.h"
#include "tcpshake/sketch.h"
#include "sketch.h"

#define CPUS 3
#define SEED 0x5eed5eed12345678ull

static struct syn_sketch cpu[CPUS];

/* A deterministic generator, so every run tests the same streams. */
static __u64 rng_state;

static __u64 rng(void)
{
	rng_state += 0x9e3779b97f4a7c15ull;
	return hash_mix64(rng_state);
}

static void reset(void)
{
	memset(cpu, 0, sizeof(cpu));
	rng_state = 42;
}

/* A SYN from src (IPv4 or IPv6 text) to port dport, on CPU n. The source is
 * endpoint a or b of the key at random, as the canonical order makes it. */
static void syn_bytes(const __u8 *src16, int family, __u16 dport, unsigned int n, __u32 epoch)
{
	struct flow_key k = { 0 };
	int src_is_a = (int)(rng() & 1);
	__u8 *src = src_is_a ? k.addr_a : k.addr_b, *dst = src_is_a ? k.addr_b : k.addr_a;

	memcpy(src, src16, 16);
	dst[10] = dst[11] = 0xff;
	dst[12] = 192;
	dst[15] = 1;
	k.family = (__u8)family;
	if (src_is_a) {
		k.port_a = htons(40000);
		k.port_b = htons(dport);
	} else {
		k.port_a = htons(dport);
		k.port_b = htons(40000);
	}
	sketch_syn(&cpu[n % CPUS], &k, src_is_a, epoch, SEED);
}

static void syn_v4(__u32 addr, __u16 dport, unsigned int n, __u32 epoch)
{
	__u8 a[16] = { [10] = 0xff, [11] = 0xff };

	a[12] = (__u8)(addr >> 24);
	a[13] = (__u8)(addr >> 16);
	a[14] = (__u8)(addr >> 8);
	a[15] = (__u8)addr;
	syn_bytes(a, 4, dport, n, epoch);
}

static void syn_v6(__u64 hi, __u64 lo, __u16 dport, unsigned int n, __u32 epoch)
{
	__u8 a[16];
	int i;

	for (i = 0; i < 8; i++) {
		a[i] = (__u8)(hi >> (56 - 8 * i));
		a[8 + i] = (__u8)(lo >> (56 - 8 * i));
	}
	syn_bytes(a, 6, dport, n, epoch);
}

static void merge(struct sketch_reading *r, __u32 epoch)
{
	assert_int_equal(sketch_reading_merge(r, cpu, sizeof(cpu[0]), CPUS, epoch), 0);
}

static void test_rank(void **unused)
{
	__u64 w;
	int i, bit;

	(void)unused;
	assert_int_equal(sketch_rank(0), SKETCH_HLL_RANK_MAX);
	assert_int_equal(sketch_rank(1ull << 52), SKETCH_HLL_RANK_MAX);   /* only 52 bits count */
	for (bit = 0; bit < 52; bit++)
		assert_int_equal(sketch_rank(1ull << bit), bit + 1);
	reset();
	for (i = 0; i < 100000; i++) {
		w = rng() & ((1ull << 52) - 1);
		if (w)
			assert_int_equal(sketch_rank(w), __builtin_ctzll(w) + 1);
	}
}

static double relative_error(double estimate, double truth)
{
	return fabs(estimate - truth) / truth;
}

/* n distinct sources of one kind, each sending `repeat` SYNs over the CPUs. */
static double distinct(int kind, __u32 n, int repeat)
{
	static struct sketch_reading r;
	__u32 i;
	int k;

	reset();
	for (k = 0; k < repeat; k++) {
		for (i = 0; i < n; i++) {
			unsigned int c = (unsigned int)(rng() % CPUS);

			if (kind == 0)                 /* consecutive IPv4 from 10.0.0.0 */
				syn_v4(0x0a000000u + i, 443, c, 1);
			else if (kind == 1)            /* scattered IPv4 */
				syn_v4((__u32)hash_mix64(i + 1), 443, c, 1);
			else                           /* IPv6, one /64 and random interface ids */
				syn_v6(0x20010db800070001ull, hash_mix64(i + 7), 443, c, 1);
		}
	}
	merge(&r, 1);
	assert_int_equal(r.syns, (__u64)n * repeat);
	return hll_estimate(r.hll);
}

static void test_distinct_sources(void **unused)
{
	static const __u32 sizes[] = { 1000, 3000, 10000, 30000, 100000, 300000, 1000000 };
	double worst = 0;
	size_t i;
	int kind;

	(void)unused;
	for (kind = 0; kind < 3; kind++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			double e = distinct(kind, sizes[i], 1);
			double err = relative_error(e, sizes[i]);

			if (err > worst)
				worst = err;
			if (err > 0.05)
				fail_msg("kind %d: %u sources estimated as %.0f (%.1f %%)", kind, sizes[i], e,
					 100 * err);
		}
	}
	printf("      worst distinct-count error, 1k..1M sources: %.2f %%\n", 100 * worst);
	/* Repeated SYNs from the same sources change nothing. */
	assert_true(fabs(distinct(0, 20000, 3) - distinct(0, 20000, 1)) < 1e-9);
	/* Nothing seen: zero. */
	{
		__u8 empty[SKETCH_HLL_REGS] = { 0 };

		assert_true(hll_estimate(empty) == 0);
	}
}

/* The first SYN of a new epoch starts the registers afresh; a CPU that
 * saw no SYN in an epoch contributes no (stale) registers to it. */
static void test_epochs(void **unused)
{
	static struct sketch_reading r;
	__u32 i;

	(void)unused;
	reset();
	for (i = 0; i < 5000; i++)
		syn_v4(0x0a010000u + i, 80, i, 1);
	merge(&r, 1);
	assert_true(relative_error(hll_estimate(r.hll), 5000) < 0.05);
	/* Epoch 2: only CPU 0 sees SYNs, from 300 new sources. */
	for (i = 0; i < 300; i++)
		syn_v4(0x0b000000u + i, 80, 0, 2);
	merge(&r, 2);
	assert_int_equal(cpu[0].epoch, 2);
	assert_int_equal(cpu[1].epoch, 1);
	assert_true(relative_error(hll_estimate(r.hll), 300) < 0.05);
	assert_int_equal(r.syns, 5300);
	/* Reading epoch 3 before any of its SYNs: no sources at all. */
	merge(&r, 3);
	assert_true(hll_estimate(r.hll) == 0);
}

struct weighted {
	__u32 prefix;    /* a.b.c.0 */
	double share;
};

/* The five heaviest /24s of a skewed mix, in order, with their rates
 * within 10 %, over a background of 20000 light prefixes. */
static void test_top_prefixes(void **unused)
{
	static const struct weighted heavy[] = {
		{ 0xc6336400u, 0.10 }, { 0x0a4d6300u, 0.08 }, { 0xcb007100u, 0.06 },
		{ 0x2d210700u, 0.04 }, { 0x5db8d800u, 0.03 }, { 0x08080800u, 0.015 },
	};
	static struct sketch_reading before, after;
	struct sketch_hit top[5];
	const __u32 total = 1000000;
	double scale;
	char name[64];
	__u32 i;
	int n, h;

	(void)unused;
	reset();
	/* Something before the interval, so differences are tested. */
	for (i = 0; i < 50000; i++)
		syn_v4(0x01000000u + (i % 5) * 256, 22, i, 1);
	merge(&before, 1);
	for (i = 0; i < total; i++) {
		double u = (double)(rng() >> 11) / 9007199254740992.0, acc = 0;
		__u32 host = (__u32)(rng() & 0xff), src = 0;

		for (h = 0; h < (int)(sizeof(heavy) / sizeof(heavy[0])); h++) {
			acc += heavy[h].share;
			if (u < acc) {
				src = heavy[h].prefix | host;
				break;
			}
		}
		if (!src)   /* background: 20000 /24s under 100.64.0.0/10 */
			src = 0x64400000u + (__u32)(rng() % 20000) * 256 + host;
		syn_v4(src, 443, i, 1);
	}
	merge(&after, 1);
	scale = (double)(after.syns - before.syns) / (double)(after.sampled - before.sampled);
	n = sketch_top(&after, &before, SEED, SKETCH_PREFIXES, top, 5);
	assert_int_equal(n, 5);
	for (h = 0; h < 5; h++) {
		char want[64];
		struct in_addr a = { htonl(heavy[h].prefix) };
		double est = (double)top[h].sampled * scale;

		snprintf(want, sizeof(want), "%s/24", inet_ntoa(a));
		sketch_key_name(top[h].key, name, sizeof(name));
		printf("      #%d %-18s %6.2f %% (true %5.2f %%)\n", h + 1, name, 100 * est / total,
		       100 * heavy[h].share);
		assert_string_equal(name, want);
		assert_true(relative_error(est, heavy[h].share * total) < 0.10);
	}
}

/* Destination ports and IPv6 /48s. */
static void test_top_ports_and_v6(void **unused)
{
	static struct sketch_reading r;
	struct sketch_hit top[5];
	char name[64];
	__u32 i;
	int n;

	(void)unused;
	reset();
	for (i = 0; i < 200000; i++) {
		__u64 r6 = rng();
		__u16 port = (r6 & 1) ? 8080 : (r6 & 2) ? 443 : (r6 & 4) ? 22 : (__u16)(1024 + (r6 >> 8) % 60000);
		__u64 net = (r6 & 0x10) ? 0x20010db800aa0000ull : 0x20010db800000000ull | ((r6 >> 20) & 0xffff) << 16;

		syn_v6(net | 0x1234, r6, port, i, 1);
	}
	merge(&r, 1);
	n = sketch_top(&r, NULL, SEED, SKETCH_PORTS, top, 5);
	assert_true(n >= 3);
	sketch_key_name(top[0].key, name, sizeof(name));
	assert_string_equal(name, "8080");
	sketch_key_name(top[1].key, name, sizeof(name));
	assert_string_equal(name, "443");
	sketch_key_name(top[2].key, name, sizeof(name));
	assert_string_equal(name, "22");
	n = sketch_top(&r, NULL, SEED, SKETCH_PREFIXES, top, 5);
	assert_true(n >= 1);
	sketch_key_name(top[0].key, name, sizeof(name));
	assert_string_equal(name, "2001:db8:aa::/48");
	/* Half of all SYNs come from that /48: the estimate says so (10 %). */
	assert_true(relative_error((double)top[0].sampled * SKETCH_SAMPLE, 100000) < 0.10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rank),
		cmocka_unit_test(test_distinct_sources),
		cmocka_unit_test(test_epochs),
		cmocka_unit_test(test_top_prefixes),
		cmocka_unit_test(test_top_ports_and_v6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
