// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "inbuf.h"

#define READ_CHUNK (1u << 20)

volatile sig_atomic_t inbuf_file_shrank;

/* The mapped file, for the SIGBUS handler: one capture is open at a time. */
static struct {
	__u8 *map;
	size_t len, page;
	struct sigaction saved;
} mapped;

/* A file that shrinks while it is mapped faults on the pages past its new
 * end. Zero pages take their place, so the access completes, and the flag
 * stops the reader at its next inbuf_want(). Accepted race: a truncation
 * between that check and the parse of the same record leaves zeros in that
 * one record (what read() would return after a truncation is no better:
 * the new contents, or nothing). Any other SIGBUS is not ours: the previous
 * action is restored and the access faults again. */
static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	__u8 *a = si->si_addr;

	(void)sig;
	(void)ctx;
	if (mapped.map && a >= mapped.map && a < mapped.map + mapped.len) {
		__u8 *from = mapped.map + ((size_t)(a - mapped.map) & ~(mapped.page - 1));

		if (mmap(from, (size_t)(mapped.map + mapped.len - from), PROT_READ,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
			inbuf_file_shrank = 1;
			return;
		}
	}
	sigaction(SIGBUS, &mapped.saved, NULL);
}

/* Maps a regular file whose first prefix_len bytes were read through in
 * (they are mapped again: the file is their source); false when it cannot
 * be mapped (a pipe, a terminal, an empty file), and it is read instead. */
static bool map_file(struct inbuf *b, FILE *in, size_t prefix_len)
{
	struct sigaction on_bus = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };
	size_t page = (size_t)sysconf(_SC_PAGESIZE), base, skew, len;
	off_t pos = ftello(in);
	struct stat st;
	void *m;

	if (mapped.map || pos < 0 || (size_t)pos < prefix_len || fstat(fileno(in), &st) ||
	    !S_ISREG(st.st_mode) || st.st_size <= pos)
		return false;
	base = (size_t)pos - prefix_len;       /* where the reader's byte 0 is */
	skew = base % page;
	len = (size_t)st.st_size - base + skew;
	m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fileno(in), (off_t)(base - skew));
	if (m == MAP_FAILED)
		return false;
	madvise(m, len, MADV_SEQUENTIAL);
	mapped.map = m;
	mapped.len = len;
	mapped.page = page;
	inbuf_file_shrank = 0;
	sigemptyset(&on_bus.sa_mask);
	sigaction(SIGBUS, &on_bus, &mapped.saved);
	b->map = m;
	b->map_len = len;
	b->buf = b->map + skew;
	b->cap = b->end = (size_t)st.st_size - base;
	b->eof = true;         /* everything there is, is there */
	return true;
}

/* The pages wholly behind the reader leave the mapping (they stay in the
 * page cache): the process's memory does not grow with the file. */
void inbuf_drop(struct inbuf *b)
{
	size_t skew = (size_t)(b->buf - b->map);
	size_t from = (skew + b->dropped) & ~(mapped.page - 1);
	size_t upto = (skew + b->start) & ~(mapped.page - 1);

	if (upto > from)
		madvise(b->map + from, upto - from, MADV_DONTNEED);
	b->dropped = b->start;
}

/* The file shrank under the mapping: nothing more is read from it. */
int inbuf_shrunk(struct inbuf *b)
{
	b->shrank = true;
	b->end = b->start;
	return INBUF_IO;
}

const char *inbuf_error(const struct inbuf *b)
{
	return b->shrank ? "the file shrank while it was being read" : strerror(errno);
}

int inbuf_open(struct inbuf *b, FILE *in, const void *prefix, size_t prefix_len)
{
	memset(b, 0, sizeof(*b));
	b->in = in;
	if (map_file(b, in, prefix_len))
		return 0;
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
	if (b->map) {
		munmap(b->map, b->map_len);
		sigaction(SIGBUS, &mapped.saved, NULL);
		memset(&mapped, 0, sizeof(mapped));
		inbuf_file_shrank = 0;
	} else {
		free(b->buf);
	}
	memset(b, 0, sizeof(*b));
}

int inbuf_fill(struct inbuf *b, size_t n)
{
	if (b->shrank)
		return INBUF_IO;
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
