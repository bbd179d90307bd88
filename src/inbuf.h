/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Buffered input for the capture readers: a file read in 1 MiB chunks,
 * records parsed in place. Memory is the buffer, grown only as far as the
 * largest record the reader accepts.
 */
#ifndef TCPSHAKE_INBUF_H
#define TCPSHAKE_INBUF_H

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
};

enum { INBUF_IO = -1, INBUF_NOMEM = -2 };

/* in at the start of the file; prefix holds bytes already read from it. */
int inbuf_open(struct inbuf *b, FILE *in, const void *prefix, size_t prefix_len);
void inbuf_close(struct inbuf *b);
int inbuf_fill(struct inbuf *b, size_t n);

/* Makes n unread bytes available at inbuf_at(): 1, or 0 when the file ends
 * first, or INBUF_IO (errno) / INBUF_NOMEM. */
static inline int inbuf_want(struct inbuf *b, size_t n)
{
	return b->end - b->start >= n ? 1 : inbuf_fill(b, n);
}

static inline const __u8 *inbuf_at(const struct inbuf *b)
{
	return b->buf + b->start;
}

static inline void inbuf_take(struct inbuf *b, size_t n)
{
	b->start += n;
	b->offset += n;
}

/* Whether unread bytes are left (the file ended inside a record). */
static inline bool inbuf_pending(const struct inbuf *b)
{
	return b->end != b->start;
}

#endif
