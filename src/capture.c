// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "capture.h"
#include "frame.h"

#define STDIO_BUFFER (1u << 20)

/* A stream that first returns bytes already read from in (the sniffed
 * magic), then in itself: how a pipe is handed to libpcap after we looked
 * at its first bytes. */
struct prefixed {
	FILE *in;
	__u8 head[4];
	size_t n, at;
};

static ssize_t prefixed_read(void *cookie, char *buf, size_t size)
{
	struct prefixed *p = cookie;
	size_t k = 0;

	while (p->at < p->n && k < size)
		buf[k++] = (char)p->head[p->at++];
	if (k < size)
		k += fread(buf + k, 1, size - k, p->in);
	if (k == 0 && ferror(p->in))
		return -1;
	return (ssize_t)k;
}

static int prefixed_close(void *cookie)
{
	struct prefixed *p = cookie;
	int rc = fclose(p->in);

	free(p);
	return rc;
}

static FILE *prefix_stream(FILE *in, const __u8 *head, size_t n)
{
	cookie_io_functions_t io = { .read = prefixed_read, .close = prefixed_close };
	struct prefixed *p = calloc(1, sizeof(*p));
	FILE *f;

	if (!p)
		return NULL;
	p->in = in;
	memcpy(p->head, head, n);
	p->n = n;
	f = fopencookie(p, "r", io);
	if (!f)
		free(p);
	return f;
}

static bool is_pcap_magic(__u32 m)
{
	static const __u32 magics[] = { 0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34 };
	size_t i;

	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (m == magics[i] || m == __builtin_bswap32(magics[i]))
			return true;
	return false;
}

static int open_pcap(struct capture *c, const char *label, const __u8 *head, bool seekable)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	FILE *f = c->in;

	if (seekable) {
		if (fseeko(f, 0, SEEK_SET)) {
			snprintf(c->err, sizeof(c->err), "cannot rewind %s: %s", label, strerror(errno));
			return -1;
		}
	} else {
		f = prefix_stream(c->in, head, 4);
		if (!f) {
			snprintf(c->err, sizeof(c->err), "out of memory opening %s", label);
			return -1;
		}
		c->in = f;
		setvbuf(f, NULL, _IOFBF, STDIO_BUFFER);
	}
	c->pcap = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!c->pcap) {
		if (strstr(errbuf, "truncated"))
			snprintf(c->err, sizeof(c->err), "%s ends inside its pcap file header", label);
		else
			snprintf(c->err, sizeof(c->err), "%s: %s", label, errbuf);
		return -1;
	}
	c->pcap_linktype = linktype_of_dlt(pcap_datalink(c->pcap));
	return 0;
}

int capture_open_stream(struct capture *c, FILE *in, const char *label)
{
	struct stat st;
	bool seekable;
	__u8 head[4];
	__u32 magic;
	size_t n;

	memset(c, 0, sizeof(*c));
	c->in = in;
	if (fstat(fileno(in), &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			snprintf(c->err, sizeof(c->err), "%s is a directory: give a capture file", label);
			return -1;
		}
		if (S_ISREG(st.st_mode))
			c->size = (__u64)st.st_size;
	}
	/* Pipes cannot go back to the start after the magic is sniffed. */
	seekable = ftello(in) == 0 && fseeko(in, 0, SEEK_SET) == 0;
	n = fread(head, 1, sizeof(head), in);
	if (n < sizeof(head)) {
		if (ferror(in))
			snprintf(c->err, sizeof(c->err), "cannot read %s: %s", label, strerror(errno));
		else
			snprintf(c->err, sizeof(c->err), "%s is %s: not a pcap or pcapng capture", label,
				 n ? "too short" : "empty");
		return -1;
	}
	memcpy(&magic, head, 4);
	if (magic == PCAPNG_MAGIC) {
		c->pcapng = true;
		if (pcapng_open(&c->ng, in, head, sizeof(head))) {
			snprintf(c->err, sizeof(c->err), "out of memory opening %s", label);
			return -1;
		}
		return 0;
	}
	if (is_pcap_magic(magic))
		return open_pcap(c, label, head, seekable);
	if (head[0] == 0x1f && head[1] == 0x8b)
		snprintf(c->err, sizeof(c->err), "%s is gzip-compressed: decompress it first, e.g. "
			 "'zcat %s | tcpshake-mon --read -'", label, label);
	else
		snprintf(c->err, sizeof(c->err), "%s is not a pcap or pcapng capture (it starts with "
			 "%02x %02x %02x %02x)", label, head[0], head[1], head[2], head[3]);
	return -1;
}

int capture_open(struct capture *c, const char *path)
{
	bool is_stdin = !strcmp(path, "-");
	FILE *in = is_stdin ? fdopen(dup(STDIN_FILENO), "r") : fopen(path, "r");
	const char *label = is_stdin ? "standard input" : path;

	if (!in) {
		memset(c, 0, sizeof(*c));
		snprintf(c->err, sizeof(c->err), "cannot open %s: %s", label, strerror(errno));
		return -1;
	}
	setvbuf(in, NULL, _IOFBF, STDIO_BUFFER);
	if (capture_open_stream(c, in, label)) {
		char err[sizeof(c->err)];

		memcpy(err, c->err, sizeof(err));
		capture_close(c);
		memcpy(c->err, err, sizeof(err));
		return -1;
	}
	return 0;
}

static enum capture_result next_pcapng(struct capture *c, struct capture_packet *p)
{
	struct pcapng_packet np;
	enum pcapng_result rc = pcapng_next(&c->ng, &np);

	if (rc == PCAPNG_PACKET) {
		p->ts_ns = np.ts_ns;
		p->has_ts = np.has_ts;
		p->data = np.data;
		p->caplen = np.caplen;
		p->len = np.len;
		p->iface = np.iface->seq;
		p->iface_name = np.iface->name;
		p->linktype = np.iface->linktype;
		p->dir = np.dir == PCAPNG_DIR_IN ? CAPTURE_DIR_IN :
			 np.dir == PCAPNG_DIR_OUT ? CAPTURE_DIR_OUT : CAPTURE_DIR_UNKNOWN;
		return CAPTURE_PACKET;
	}
	if (rc == PCAPNG_END)
		return CAPTURE_END;
	if (rc == PCAPNG_NOMEM)
		snprintf(c->err, sizeof(c->err), "out of memory (a pcapng block larger than the memory left)");
	else
		snprintf(c->err, sizeof(c->err), "%s", c->ng.err);
	return rc == PCAPNG_TRUNCATED ? CAPTURE_TRUNCATED : CAPTURE_ERROR;
}

static enum capture_result next_pcap(struct capture *c, struct capture_packet *p)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(c->pcap, &h, &data);

	if (rc == 1) {
		p->ts_ns = (__u64)h->ts.tv_sec * 1000000000ull + (__u64)h->ts.tv_usec;
		p->has_ts = true;
		p->data = data;
		p->caplen = h->caplen;
		p->len = h->len > h->caplen ? h->len : h->caplen;
		p->iface = 0;
		p->iface_name = "";
		p->linktype = c->pcap_linktype;
		p->dir = CAPTURE_DIR_UNKNOWN;
		return CAPTURE_PACKET;
	}
	if (rc == PCAP_ERROR_BREAK)
		return CAPTURE_END;
	snprintf(c->err, sizeof(c->err), "%s", pcap_geterr(c->pcap));
	return strstr(c->err, "truncated") ? CAPTURE_TRUNCATED : CAPTURE_ERROR;
}

enum capture_result capture_next(struct capture *c, struct capture_packet *p)
{
	return c->pcapng ? next_pcapng(c, p) : next_pcap(c, p);
}

__u64 capture_offset(const struct capture *c)
{
	off_t at;

	if (c->pcapng)
		return pcapng_offset(&c->ng);
	at = c->in ? ftello(c->in) : -1;
	return at > 0 ? (__u64)at : 0;
}

__u64 capture_end_ns(const struct capture *c)
{
	return c->pcapng ? c->ng.end_ns : 0;
}

void capture_close(struct capture *c)
{
	if (c->pcap)
		pcap_close(c->pcap);          /* closes c->in too */
	else if (c->in)
		fclose(c->in);
	if (c->pcapng)
		pcapng_close(&c->ng);
	memset(c, 0, sizeof(*c));
}
