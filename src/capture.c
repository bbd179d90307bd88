// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "capture.h"
#include "frame.h"

#define STDIO_BUFFER (1u << 20)

int capture_open_stream(struct capture *c, FILE *in, const char *label)
{
	struct stat st;
	__u8 head[4];
	__u32 magic;
	size_t n;
	int rc;

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
	if (pcapfile_magic(head)) {
		rc = pcapfile_open(&c->pf, in, head, sizeof(head));
		if (rc == 0)
			return 0;
		if (rc == PCAPFILE_NOMEM)
			snprintf(c->err, sizeof(c->err), "out of memory opening %s", label);
		else
			snprintf(c->err, sizeof(c->err), "%s %s", label, c->pf.err);
		return -1;
	}
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
	struct pcapfile_packet fp;
	enum pcapfile_result rc = pcapfile_next(&c->pf, &fp);

	if (rc == PCAPFILE_PACKET) {
		p->ts_ns = fp.ts_ns;
		p->has_ts = true;
		p->data = fp.data;
		p->caplen = fp.caplen;
		p->len = fp.len;
		p->iface = 0;
		p->iface_name = "";
		p->linktype = (int)c->pf.linktype;
		p->dir = CAPTURE_DIR_UNKNOWN;
		return CAPTURE_PACKET;
	}
	if (rc == PCAPFILE_END)
		return CAPTURE_END;
	if (rc == PCAPFILE_NOMEM)
		snprintf(c->err, sizeof(c->err), "out of memory");
	else
		snprintf(c->err, sizeof(c->err), "%s", c->pf.err);
	return rc == PCAPFILE_TRUNCATED ? CAPTURE_TRUNCATED : CAPTURE_ERROR;
}

enum capture_result capture_next(struct capture *c, struct capture_packet *p)
{
	return c->pcapng ? next_pcapng(c, p) : next_pcap(c, p);
}

__u64 capture_offset(const struct capture *c)
{
	return c->pcapng ? pcapng_offset(&c->ng) : c->pf.b.offset;
}

__u64 capture_end_ns(const struct capture *c)
{
	return c->pcapng ? c->ng.end_ns : 0;
}

void capture_close(struct capture *c)
{
	if (c->in)
		fclose(c->in);
	if (c->pcapng)
		pcapng_close(&c->ng);
	else
		pcapfile_close(&c->pf);
	memset(c, 0, sizeof(*c));
}
