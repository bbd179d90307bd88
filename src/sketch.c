// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sketch.h"
#include "tcpshake/sketch.h"

struct key_tally {
	__u64 key;
	__u32 seen;      /* occurrences in the candidate rings */
};

static int by_key(const void *a, const void *b)
{
	const struct key_tally *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static int by_seen_desc(const void *a, const void *b)
{
	const struct key_tally *x = a, *y = b;

	if (x->seen != y->seen)
		return x->seen < y->seen ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* The distinct keys of the rings, those seen most often first (the rings
 * are themselves a sample of the last sampled SYNs). */
static void keep_candidates(struct sketch_reading *r, int kind, struct key_tally *t, size_t n)
{
	size_t i, u = 0;

	qsort(t, n, sizeof(*t), by_key);
	for (i = 0; i < n; i++) {
		if (u && t[u - 1].key == t[i].key) {
			t[u - 1].seen++;
			continue;
		}
		t[u].key = t[i].key;
		t[u].seen = 1;
		u++;
	}
	qsort(t, u, sizeof(*t), by_seen_desc);
	r->nr_keys[kind] = u < SKETCH_CANDIDATES ? (int)u : SKETCH_CANDIDATES;
	for (i = 0; i < (size_t)r->nr_keys[kind]; i++)
		r->keys[kind][i] = t[i].key;
}

int sketch_reading_merge(struct sketch_reading *r, const void *percpu, size_t stride,
			 unsigned int ncpus, __u32 epoch)
{
	struct key_tally *pre = calloc((size_t)ncpus * SKETCH_RECENT, sizeof(*pre));
	struct key_tally *port = calloc((size_t)ncpus * SKETCH_RECENT, sizeof(*port));
	size_t np = 0, nq = 0, i;
	unsigned int cpu, row, col;

	if (!pre || !port) {
		free(pre);
		free(port);
		return -ENOMEM;
	}
	memset(r, 0, sizeof(*r));
	r->epoch = epoch;
	for (cpu = 0; cpu < ncpus; cpu++) {
		const struct syn_sketch *s = (const void *)((const char *)percpu + cpu * stride);
		size_t used = s->recent_next < SKETCH_RECENT ? s->recent_next : SKETCH_RECENT;

		r->syns += s->syns;
		r->sampled += s->sampled;
		if (s->epoch == epoch)
			hll_merge(r->hll, s->hll);
		for (row = 0; row < SKETCH_CM_ROWS; row++)
			for (col = 0; col < SKETCH_CM_WIDTH; col++)
				r->cm[row][col] += s->cm[row][col];
		for (i = 0; i < used; i++) {
			if (s->recent_prefix[i])
				pre[np++].key = s->recent_prefix[i];
			if (s->recent_port[i])
				port[nq++].key = sketch_port_key(s->recent_port[i]);
		}
	}
	keep_candidates(r, SKETCH_PREFIXES, pre, np);
	keep_candidates(r, SKETCH_PORTS, port, nq);
	free(pre);
	free(port);
	return 0;
}

void hll_merge(__u8 *dst, const __u8 *src)
{
	size_t i;

	for (i = 0; i < SKETCH_HLL_REGS; i++)
		if (src[i] > dst[i])
			dst[i] = src[i];
}

/* sigma and tau of Ertl's estimator: series summed until they no longer
 * change in double precision. */
static double hll_sigma(double x)
{
	double y = 1, z = x, last;

	if (x == 1)
		return INFINITY;
	do {
		x *= x;
		last = z;
		z += x * y;
		y += y;
	} while (z != last);
	return z;
}

static double hll_tau(double x)
{
	double y = 1, z = 1 - x, last;

	if (x == 0 || x == 1)
		return 0;
	do {
		x = sqrt(x);
		last = z;
		y *= 0.5;
		z -= (1 - x) * (1 - x) * y;
	} while (z != last);
	return z / 3;
}

double hll_estimate(const __u8 *regs)
{
	const double m = SKETCH_HLL_REGS;
	unsigned int count[SKETCH_HLL_RANK_MAX + 1] = { 0 };
	double z;
	int k;
	size_t i;

	for (i = 0; i < SKETCH_HLL_REGS; i++)
		count[regs[i] <= SKETCH_HLL_RANK_MAX ? regs[i] : SKETCH_HLL_RANK_MAX]++;
	z = m * hll_tau(1 - count[SKETCH_HLL_RANK_MAX] / m);
	for (k = SKETCH_HLL_RANK_MAX - 1; k >= 1; k--)
		z = 0.5 * (z + count[k]);
	z += m * hll_sigma(count[0] / m);
	return isinf(z) ? 0 : m * m / (2 * log(2)) / z;
}

__u64 sketch_count(const struct sketch_reading *now, const struct sketch_reading *before,
		   __u64 key, __u64 seed)
{
	__u64 h = sketch_key_hash(key, seed), best = ~0ull;
	__u32 row;

	for (row = 0; row < SKETCH_CM_ROWS; row++) {
		__u32 col = sketch_cm_column(h, row);
		__u32 d = now->cm[row][col] - (before ? before->cm[row][col] : 0);

		if (d < best)
			best = d;
	}
	return best;
}

static int by_sampled_desc(const void *a, const void *b)
{
	const struct sketch_hit *x = a, *y = b;

	if (x->sampled != y->sampled)
		return x->sampled < y->sampled ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

int sketch_top(const struct sketch_reading *now, const struct sketch_reading *before, __u64 seed,
	       enum sketch_kind kind, struct sketch_hit *out, int k)
{
	struct sketch_hit all[SKETCH_CANDIDATES];
	int i, n = 0;

	for (i = 0; i < now->nr_keys[kind]; i++) {
		__u64 c = sketch_count(now, before, now->keys[kind][i], seed);

		if (c) {
			all[n].key = now->keys[kind][i];
			all[n].sampled = c;
			n++;
		}
	}
	qsort(all, (size_t)n, sizeof(all[0]), by_sampled_desc);
	if (n > k)
		n = k;
	memcpy(out, all, (size_t)n * sizeof(all[0]));
	return n;
}

void sketch_key_name(__u64 key, char *buf, size_t len)
{
	unsigned int family = (unsigned int)(key >> 56) & 15;
	__u8 addr[16] = { 0 };
	char text[INET6_ADDRSTRLEN];
	int i;

	if (key & SKETCH_KEY_PORT) {
		snprintf(buf, len, "%u", (unsigned int)(key & 0xffff));
		return;
	}
	if (family == 4) {
		for (i = 0; i < 3; i++)
			addr[i] = (__u8)(key >> (8 * i));
		inet_ntop(AF_INET, addr, text, sizeof(text));
		snprintf(buf, len, "%s/24", text);
		return;
	}
	for (i = 0; i < 6; i++)
		addr[i] = (__u8)(key >> (8 * i));
	inet_ntop(AF_INET6, addr, text, sizeof(text));
	snprintf(buf, len, "%s/48", text);
}
