/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The SYN sketches' update: pure C on one CPU's struct syn_sketch (below),
 * no BPF helpers, no globals, so the BPF programs and the native unit tests
 * run the same code. Called once per SYN (without ACK) on the fast path, so
 * it is shaped for cost:
 *   - every SYN: one exact count, one HyperLogLog register (a hash of the
 *     source address, two multiplies, one byte read and maybe written);
 *   - one SYN in SKETCH_SAMPLE: two count-min rows for the source prefix and
 *     two for the destination port, and both keys into the candidate rings.
 * The caller passes the epoch (user space advances it once per interval, after
 * reading): the first SYN of a new epoch clears the registers, so each
 * interval's distinct sources are counted on their own.
 */
#ifndef TCPSHAKE_SKETCH_H
#define TCPSHAKE_SKETCH_H

#include "tcpshake/abi.h"
#include "tcpshake/bytes.h"
#include "tcpshake/flowhash.h"

/* Geometry. Per interface and per CPU (a per-CPU array, one entry per
 * interface slot), fed by every SYN (without ACK) arriving on the
 * interface: an exact count, a HyperLogLog of source addresses, and, for
 * one SYN in SKETCH_SAMPLE, a count-min sketch of source prefixes (/24,
 * /48) and destination ports with the most recent sampled keys as
 * candidates. src/sketch.c merges the CPUs and estimates. */
#define SKETCH_HLL_BITS     12                       /* 4096 registers: 1.6 % error */
#define SKETCH_HLL_REGS     (1u << SKETCH_HLL_BITS)
#define SKETCH_HLL_RANK_MAX (64 - SKETCH_HLL_BITS + 1) /* a register's largest value */
#define SKETCH_CM_ROWS      2
#define SKETCH_CM_WIDTH     512                      /* power of two */
#define SKETCH_RECENT       256                      /* candidates kept: power of two */
#define SKETCH_SAMPLE       16                       /* 1 SYN in 16 feeds the heavy hitters */

/* Count-min keys: a source prefix (family in bits 56..59, the prefix's
 * leading bytes in memory order below), or a destination port. */
#define SKETCH_KEY_PORT     (1ull << 60)

struct syn_sketch {
	__u64 syns;               /* SYNs seen, exact */
	__u64 sampled;            /* SYNs fed to the count-min sketch */
	__u32 epoch;              /* the epoch hll[] belongs to (see sketch_epoch) */
	__u32 countdown;          /* SYNs left before the next sample */
	__u32 recent_next;        /* next slot of the candidate rings */
	__u8  pad[36];
	/* Registers of one epoch: cleared by the first SYN of the next. */
	__u8  hll[SKETCH_HLL_REGS];
	/* Cumulative sampled counts: user space takes differences. */
	__u32 cm[SKETCH_CM_ROWS][SKETCH_CM_WIDTH];
	__u64 recent_prefix[SKETCH_RECENT];
	__u16 recent_port[SKETCH_RECENT];
};

_Static_assert(sizeof(struct syn_sketch) == 64 + SKETCH_HLL_REGS +
	       4 * SKETCH_CM_ROWS * SKETCH_CM_WIDTH + 10 * SKETCH_RECENT,
	       "struct syn_sketch has no hidden padding");
/* The sketch budget is 1 MiB per interface over all CPUs: 10816 bytes a
 * CPU holds up to 96 CPUs (the kernel's per-CPU value limit is 32 KiB). */
_Static_assert(sizeof(struct syn_sketch) <= 10880, "struct syn_sketch grew past its budget");
_Static_assert((SKETCH_RECENT & (SKETCH_RECENT - 1)) == 0 && (SKETCH_CM_WIDTH & (SKETCH_CM_WIDTH - 1)) == 0,
	       "ring and row sizes are masks");

/* The source address of a SYN as two 64-bit words (IPv4-mapped for IPv4). */
static inline const __u64 *sketch_source_words(const struct flow_key *k, int src_is_a)
{
	return src_is_a ? &k->words[0] : &k->words[2];
}

/* Hash of a source address, seeded per run so that senders cannot choose
 * addresses that land in one register. The first word is multiplied on its
 * own (it is constant for IPv4, so that multiply overlaps the rest); the
 * full finaliser follows because register index and rank both need well
 * mixed bits even for consecutive addresses. */
static inline __u64 sketch_source_hash(const __u64 *a, __u64 seed)
{
	return hash_mix64((a[0] ^ seed) * 0x9e3779b97f4a7c15ULL + a[1]);
}

/* 1 + the number of trailing zero bits of w (52 random bits), at most
 * SKETCH_HLL_RANK_MAX. BPF has no count-zeros instruction: the low nibble
 * is looked up in a 64-bit constant (15 times in 16 that is all), then the
 * rest goes nibble by nibble. */
#define SKETCH_CTZ4 0x0102010301020104ull   /* ctz of 0..15, 4 bits each; 0 -> 4 */

static inline __u32 sketch_rank(__u64 w)
{
	__u32 rank = 1, i;

	for (i = 0; i < (SKETCH_HLL_RANK_MAX - 1) / 4; i++) {
		__u32 nibble = (__u32)(w & 15);
		__u32 zeros = (__u32)(SKETCH_CTZ4 >> (nibble * 4)) & 15;

		rank += zeros;
		if (nibble)
			return rank;
		w >>= 4;
	}
	return SKETCH_HLL_RANK_MAX;
}

/* The register index and rank of one source hash. */
static inline __u32 sketch_hll_index(__u64 h)
{
	return (__u32)h & (SKETCH_HLL_REGS - 1);
}

static inline __u32 sketch_hll_rank(__u64 h)
{
	return sketch_rank(h >> SKETCH_HLL_BITS);
}

/* The count-min key of a source address: its /24 (IPv4) or /48 (IPv6). */
static inline __u64 sketch_prefix_key(const __u64 *a, __u8 family)
{
	if (family == 4)   /* ::ffff:a.b.c.d: a.b.c are bits 32..55 of the second word */
		return 4ull << 56 | ((a[1] >> 32) & 0xffffffull);
	return 6ull << 56 | (a[0] & 0xffffffffffffull);
}

/* Hash of a count-min key; rows take different bits of it. */
static inline __u64 sketch_key_hash(__u64 key, __u64 seed)
{
	return hash_mix64(key ^ seed);
}

static inline __u32 sketch_cm_column(__u64 key_hash, __u32 row)
{
	return (__u32)(key_hash >> (row * 20)) & (SKETCH_CM_WIDTH - 1);
}

static inline void sketch_cm_add(struct syn_sketch *s, __u64 key, __u64 seed)
{
	__u64 h = sketch_key_hash(key, seed);
	__u32 r;

	for (r = 0; r < SKETCH_CM_ROWS; r++)
		s->cm[r][sketch_cm_column(h, r)]++;
}

/* A new epoch: the registers start empty. volatile: a plain loop would be
 * turned into a memset call, which BPF programs cannot make. */
static inline void sketch_new_epoch(struct syn_sketch *s, __u32 epoch)
{
	volatile __u64 *w = (volatile __u64 *)s->hll;
	__u32 i;

	for (i = 0; i < SKETCH_HLL_REGS / 8; i++)
		w[i] = 0;
	s->epoch = epoch;
}

/* The heavy-hitter part, for one SYN in SKETCH_SAMPLE. */
static inline void sketch_sample(struct syn_sketch *s, const __u64 *src, __u8 family,
				 __u16 dport, __u64 seed)
{
	__u64 prefix = sketch_prefix_key(src, family);
	__u32 slot = s->recent_next++ & (SKETCH_RECENT - 1);

	s->sampled++;
	sketch_cm_add(s, prefix, seed);
	sketch_cm_add(s, SKETCH_KEY_PORT | dport, seed);
	s->recent_prefix[slot] = prefix;
	s->recent_port[slot] = dport;
}

/* One SYN from endpoint a (src_is_a) or b of the key. */
static inline void sketch_syn(struct syn_sketch *s, const struct flow_key *k, int src_is_a,
			      __u32 epoch, __u64 seed)
{
	const __u64 *src = sketch_source_words(k, src_is_a);
	__u64 h = sketch_source_hash(src, seed);
	__u32 idx = sketch_hll_index(h), rank = sketch_hll_rank(h);

	if (s->epoch != epoch)
		sketch_new_epoch(s, epoch);
	s->syns++;
	if (s->hll[idx] < rank)
		s->hll[idx] = (__u8)rank;
	if (s->countdown) {
		s->countdown--;
		return;
	}
	s->countdown = SKETCH_SAMPLE - 1;
	sketch_sample(s, src, k->family, be16_to_host(src_is_a ? k->port_b : k->port_a), seed);
}

#endif /* TCPSHAKE_SKETCH_H */
