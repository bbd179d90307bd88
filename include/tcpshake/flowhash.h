/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Hash of a canonical flow key. The low bits pick a table bucket, the high 32
 * bits (forced odd) are the way's tag. The seed is random per run, so remote
 * senders cannot aim their packets at one bucket to evict real flows.
 */
#ifndef TCPSHAKE_FLOWHASH_H
#define TCPSHAKE_FLOWHASH_H

static inline __u64 hash_mix64(__u64 h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static inline __u64 flow_hash(const struct flow_key *k, __u64 seed)
{
	const __u64 *w = k->words;
	__u64 h = seed;

	h = (h ^ w[0]) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 29) ^ w[1]) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 29) ^ w[2]) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 29) ^ w[3]) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 29) ^ w[4]) * 0x9e3779b97f4a7c15ULL;
	return hash_mix64(h);
}

/* The way tag of a hash: TAG_LIVE set, the mark bit clear (abi.h). */
static inline __u32 flow_tag(__u64 hash)
{
	return ((__u32)(hash >> 32) | TAG_LIVE) & ~TAG_TOMBSTONE;
}

/* One comparison, not five: the words share a cache line, and each branch
 * of a short-circuit chain would be another path for the verifier at every
 * lookup of every way. */
static inline int flow_key_equal(const struct flow_key *a, const struct flow_key *b)
{
	const __u64 *x = a->words, *y = b->words;

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) |
		(x[4] ^ y[4])) == 0;
}

#endif /* TCPSHAKE_FLOWHASH_H */
