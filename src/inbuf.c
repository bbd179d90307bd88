// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "inbuf.h"

#define READ_CHUNK (1u << 20)

int inbuf_open(struct inbuf *b, FILE *in, const void *prefix, size_t prefix_len)
{
	memset(b, 0, sizeof(*b));
	b->in = in;
	b->cap = READ_CHUNK * 2;
	b->buf = malloc(b->cap);
	if (!b->buf || prefix_len > b->cap)
		return -ENOMEM;
	if (prefix_len)
		memcpy(b->buf, prefix, prefix_len);
	b->end = prefix_len;
	return 0;
}

void inbuf_close(struct inbuf *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

int inbuf_fill(struct inbuf *b, size_t n)
{
	while (b->end - b->start < n) {
		size_t got;

		if (b->eof)
			return 0;
		if (b->start) {
			memmove(b->buf, b->buf + b->start, b->end - b->start);
			b->end -= b->start;
			b->start = 0;
		}
		if (b->cap - b->end < READ_CHUNK / 4 || b->cap < n) {
			size_t cap = b->cap * 2;
			__u8 *nb;

			while (cap < n + READ_CHUNK)
				cap *= 2;
			nb = realloc(b->buf, cap);
			if (!nb)
				return INBUF_NOMEM;
			b->buf = nb;
			b->cap = cap;
		}
		got = fread(b->buf + b->end, 1, b->cap - b->end, b->in);
		b->end += got;
		if (got == 0) {
			if (ferror(b->in)) {
				if (!errno)
					errno = EIO;
				return INBUF_IO;
			}
			b->eof = true;
		}
	}
	return 1;
}
