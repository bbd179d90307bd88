/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A streaming pcapng reader: section headers (either byte order), interface
 * descriptions (link type, name, timestamp resolution and offset), enhanced,
 * simple and obsolete packet blocks (with the direction of epb_flags) and
 * interface statistics (the capture's end time). Everything else is skipped.
 *
 * Our own, because libpcap hands out neither a packet's interface nor the
 * interface's name, rejects files whose interfaces differ in link type, and
 * ignores the statistics blocks that say when the capture ended. Memory is
 * one read buffer (inbuf.h, grown up to PCAPNG_MAX_BLOCK) and the
 * interface list.
 */
#ifndef TCPSHAKE_PCAPNG_H
#define TCPSHAKE_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
#include "inbuf.h"

#define PCAPNG_MAGIC       0x0A0D0D0Au  /* the first block type, a palindrome */
#define PCAPNG_MAX_BLOCK   (16u << 20)  /* larger blocks are corruption (libpcap's bound too) */
#define PCAPNG_MAX_IFACES  4096         /* interface descriptions per section */
#define PCAPNG_NAME_MAX    64

/* A packet's direction as recorded by epb_flags. */
enum pcapng_dir { PCAPNG_DIR_UNKNOWN = 0, PCAPNG_DIR_IN, PCAPNG_DIR_OUT };

struct pcapng_iface {
	__u16 linktype;
	char name[PCAPNG_NAME_MAX];   /* if_name, "" when absent */
	bool tsresol_pow2;            /* if_tsresol: 2^-exp instead of 10^-exp */
	__u8 tsresol_exp;
	__s64 tsoffset_s;             /* if_tsoffset */
	__u64 ns_mul, ns_div;         /* decimal resolution to ns; ns_div 0: below 1 ns per 2^64 */
	__u32 id;                     /* index in its section */
	__u32 seq;                    /* index over the whole file, every section */
};

struct pcapng_packet {
	__u64 ts_ns;                  /* ns since the epoch; for simple packet blocks, 0 */
	const __u8 *data;
	__u32 caplen;
	__u32 len;                    /* on the wire */
	const struct pcapng_iface *iface;
	enum pcapng_dir dir;
	bool has_ts;
};

enum pcapng_result {
	PCAPNG_PACKET = 1,
	PCAPNG_END = 0,
	PCAPNG_TRUNCATED = -1,        /* the file ends inside a block */
	PCAPNG_CORRUPT = -2,          /* see err */
	PCAPNG_IO = -3,               /* read error, see err */
	PCAPNG_NOMEM = -4,
};

struct pcapng {
	struct inbuf b;
	bool swapped;                 /* this section's byte order is not ours */
	struct pcapng_iface *ifaces;
	__u32 nr_ifaces, ifaces_cap, seq;
	__u64 end_ns;                 /* latest isb_endtime seen, 0 if none */
	char err[160];
};

/* in is positioned at the start of the file; prefix holds bytes already read
 * from it (the magic, when the caller sniffed it), or is NULL. */
int pcapng_open(struct pcapng *r, FILE *in, const void *prefix, size_t prefix_len);
/* The next packet; pointers stay valid until the next call. */
enum pcapng_result pcapng_next(struct pcapng *r, struct pcapng_packet *p);
/* Bytes of the file consumed so far. */
__u64 pcapng_offset(const struct pcapng *r);
void pcapng_close(struct pcapng *r);

#endif
