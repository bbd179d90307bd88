/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A streaming reader of classic pcap files: either byte order, microsecond
 * or nanosecond timestamps, and the 24-byte records of the "modified" format
 * (magic a1b2cd34). Records are parsed in place in the read buffer.
 *
 * Our own rather than libpcap's: libpcap copies every record through two
 * stdio reads, about 430 instructions a packet here (cachegrind), a third
 * of what --read spent per packet; this reader takes some 40.
 */
#ifndef TCPSHAKE_PCAPFILE_H
#define TCPSHAKE_PCAPFILE_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "inbuf.h"

/* A larger record is corruption (libpcap's bound for most link types). */
#define PCAPFILE_MAX_RECORD (256u << 10)

struct pcapfile_packet {
	__u64 ts_ns;                 /* ns since the epoch */
	const __u8 *data;
	__u32 caplen;
	__u32 len;                   /* on the wire (>= caplen) */
};

enum pcapfile_result {
	PCAPFILE_PACKET = 1,
	PCAPFILE_END = 0,
	PCAPFILE_TRUNCATED = -1,     /* the file ends inside a record */
	PCAPFILE_CORRUPT = -2,       /* see err */
	PCAPFILE_IO = -3,            /* read error, see err */
	PCAPFILE_NOMEM = -4,
};

struct pcapfile {
	struct inbuf b;
	bool swapped;                /* written in the other byte order */
	bool nano;                   /* timestamps in ns, not us */
	__u32 record_len;            /* record header: 16, or 24 (modified format) */
	__u32 linktype;
	char err[160];
};

/* Whether a file's first four bytes are a pcap magic. */
bool pcapfile_magic(const __u8 *head);
/* in is at the start of the file; prefix holds bytes already read from it.
 * Reads the file header: 0, or a negative pcapfile_result with err set. */
int pcapfile_open(struct pcapfile *r, FILE *in, const void *prefix, size_t prefix_len);
/* The next packet; its data stays valid until the next call. */
enum pcapfile_result pcapfile_next(struct pcapfile *r, struct pcapfile_packet *p);
void pcapfile_close(struct pcapfile *r);

#endif
