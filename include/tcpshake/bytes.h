/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Byte-order and sequence-number helpers usable in BPF and user space. */
#ifndef TCPSHAKE_BYTES_H
#define TCPSHAKE_BYTES_H

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tcpshake-mon currently assumes a little-endian host"
#endif

static inline __u16 be16_to_host(__u16 v) { return __builtin_bswap16(v); }
static inline __u32 be32_to_host(__u32 v) { return __builtin_bswap32(v); }

/* TCP sequence-space comparisons, correct across the 2^32 wrap-around. */
static inline int seq_before(__u32 a, __u32 b) { return (__s32)(a - b) < 0; }
static inline int seq_after_eq(__u32 a, __u32 b) { return (__s32)(a - b) >= 0; }

/* 1 if x is not zero, else 0, without a branch: (x | -x) has its top bit
 * set unless x is 0. The empty asm hides that the second operand is -x:
 * clang would turn the expression into x != 0 and that into a branch, one
 * more path for the BPF verifier each time. */
static inline __u64 nonzero_bit(__u64 x)
{
	__u64 neg = 0 - x;

	__asm__ __volatile__("" : "+r"(neg));
	return (x | neg) >> 63;
}

#endif /* TCPSHAKE_BYTES_H */
