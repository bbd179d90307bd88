/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Input for the capture readers, records parsed in place. A regular file is
 * mapped: the records are read where the page cache holds them, with no
 * copy, and the pages behind the reader leave the mapping every
 * INBUF_DROP bytes, so memory stays bounded whatever the file's size. A
 * pipe (or anything that cannot be mapped) is read in 1 MiB chunks into a
 * buffer grown only as far as the largest record the reader accepts.
 */
#ifndef TCPSHAKE_INBUF_H
#define TCPSHAKE_INBUF_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

struct inbuf {
	FILE *in;
	__u8 *buf;
	size_t cap, start, end;      /* unread bytes are buf[start, end) */
	__u64 offset;                /* file offset of buf[start] */
	bool eof;
	bool shrank;                 /* the mapped file shrank: INBUF_IO */
	/* A mapped file: the mapping, and how much of buf is dropped from it. */
	__u8 *map;
	size_t map_len, dropped;
};

enum { INBUF_IO = -1, INBUF_NOMEM = -2 };

#define INBUF_DROP ((size_t)1 << 20)
/* How far ahead of the reader a mapped file's bytes start loading: a page,
 * as the hardware's own prefetch stops at page boundaries (measured: the
 * first touch of each record was 5 % of --read's time without it). */
#define INBUF_AHEAD 4096

/* Set by the SIGBUS handler when the mapped file shrank under the reader
 * (another process truncated it, e.g. a tcpdump ring reusing the file). */
extern volatile sig_atomic_t inbuf_file_shrank;

/* in at the start of the file; prefix holds bytes already read from it. */
int inbuf_open(struct inbuf *b, FILE *in, const void *prefix, size_t prefix_len);
void inbuf_close(struct inbuf *b);
int inbuf_fill(struct inbuf *b, size_t n);
int inbuf_shrunk(struct inbuf *b);
void inbuf_drop(struct inbuf *b);
/* What INBUF_IO means, for a message. */
const char *inbuf_error(const struct inbuf *b);

/* Makes n unread bytes available at inbuf_at(): 1, or 0 when the file ends
 * first, or INBUF_IO (errno) / INBUF_NOMEM. From a mapping, the last of the
 * n bytes is touched first: a file only shrinks from its end, so when that
 * byte is still there, so are the others (a truncation racing the parse of
 * this one record is the accepted exception, see inbuf.c). */
static inline int inbuf_want(struct inbuf *b, size_t n)
{
	if (b->end - b->start < n)
		return inbuf_fill(b, n);
	if (b->map && n) {
		(void)*(volatile const __u8 *)(b->buf + b->start + n - 1);
		if (inbuf_file_shrank)
			return inbuf_shrunk(b);
	}
	return 1;
}

static inline const __u8 *inbuf_at(const struct inbuf *b)
{
	return b->buf + b->start;
}

static inline void inbuf_take(struct inbuf *b, size_t n)
{
	b->start += n;
	b->offset += n;
	if (b->map) {
		__builtin_prefetch(b->buf + b->start + INBUF_AHEAD);
		if (b->start - b->dropped >= INBUF_DROP)
			inbuf_drop(b);
	}
}

/* Whether unread bytes are left (the file ended inside a record). */
static inline bool inbuf_pending(const struct inbuf *b)
{
	return b->end != b->start;
}

#endif
