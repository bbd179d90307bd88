/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reading a capture file, packet by packet, in constant memory: classic pcap
 * (pcapfile.h) and pcapng (pcapng.h), both our own readers; each says why
 * not libpcap.
 * Bad input ends in one sentence in err, never in a crash.
 */
#ifndef TCPSHAKE_CAPTURE_H
#define TCPSHAKE_CAPTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "pcapfile.h"
#include "pcapng.h"

/* Direction recorded with a packet (pcapng epb_flags). */
enum capture_dir { CAPTURE_DIR_UNKNOWN = 0, CAPTURE_DIR_IN, CAPTURE_DIR_OUT };

struct capture_packet {
	__u64 ts_ns;              /* ns since the epoch */
	bool has_ts;              /* false for pcapng simple packet blocks */
	const __u8 *data;
	__u32 caplen;             /* bytes captured */
	__u32 len;                /* bytes on the wire (>= caplen) */
	__u32 iface;              /* interface number over the whole file (pcap: 0) */
	const char *iface_name;   /* "" when the file names none */
	int linktype;             /* LINKTYPE_* (tcpdump.org/linktypes.html) */
	enum capture_dir dir;
};

enum capture_result {
	CAPTURE_PACKET = 1,
	CAPTURE_END = 0,
	CAPTURE_TRUNCATED = -1,   /* the file ends inside a record: what came before is good */
	CAPTURE_ERROR = -2,       /* unreadable or corrupt from here on: see err */
};

struct capture {
	FILE *in;
	bool pcapng;
	struct pcapfile pf;       /* classic pcap */
	struct pcapng ng;
	__u64 size;               /* bytes, 0 when unknown (a pipe) */
	char err[320];
};

/* Opens path ("-": standard input). 0, or -1 with the reason in err. */
int capture_open(struct capture *c, const char *path);
/* The same over an open stream (tests, fuzzing); label names it in messages.
 * Either way, capture_close() then frees what was opened, the stream too. */
int capture_open_stream(struct capture *c, FILE *in, const char *label);
enum capture_result capture_next(struct capture *c, struct capture_packet *p);
/* Bytes of the file consumed so far. */
__u64 capture_offset(const struct capture *c);
/* When the capture says it ended (pcapng interface statistics), else 0. */
__u64 capture_end_ns(const struct capture *c);
void capture_close(struct capture *c);

#endif
