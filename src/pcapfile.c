// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The pcap format: a 24-byte file header (magic, version 2.4, snap length,
 * link type), then records: seconds, fraction (us or ns), captured length,
 * length on the wire, the captured bytes. */
#include <errno.h>
#include <string.h>
#include "pcapfile.h"

#define MAGIC_US        0xa1b2c3d4u
#define MAGIC_NS        0xa1b23c4du
#define MAGIC_MODIFIED  0xa1b2cd34u    /* us, 8 more bytes a record */
#define FILE_HEADER     24u
#define LINKTYPE_MASK   0x03ffffffu    /* the upper bits say FCS length */

static __u32 rd32(const struct pcapfile *r, const __u8 *p)
{
	__u32 v;

	memcpy(&v, p, 4);
	return r->swapped ? __builtin_bswap32(v) : v;
}

static __u16 rd16(const struct pcapfile *r, const __u8 *p)
{
	__u16 v;

	memcpy(&v, p, 2);
	return r->swapped ? __builtin_bswap16(v) : v;
}

static int set_magic(struct pcapfile *r, __u32 m)
{
	r->swapped = false;
	if (m == __builtin_bswap32(MAGIC_US) || m == __builtin_bswap32(MAGIC_NS) ||
	    m == __builtin_bswap32(MAGIC_MODIFIED)) {
		r->swapped = true;
		m = __builtin_bswap32(m);
	}
	if (m != MAGIC_US && m != MAGIC_NS && m != MAGIC_MODIFIED)
		return -1;
	r->nano = m == MAGIC_NS;
	r->record_len = m == MAGIC_MODIFIED ? 24 : 16;
	return 0;
}

bool pcapfile_magic(const __u8 *head)
{
	struct pcapfile r;
	__u32 m;

	memcpy(&m, head, 4);
	return set_magic(&r, m) == 0;
}

/* inbuf_want() with this reader's result codes. */
static int want(struct pcapfile *r, size_t n)
{
	int rc = inbuf_want(&r->b, n);

	if (rc == INBUF_NOMEM)
		return PCAPFILE_NOMEM;
	if (rc == INBUF_IO) {
		snprintf(r->err, sizeof(r->err), "%s", strerror(errno));
		return PCAPFILE_IO;
	}
	return rc;
}

int pcapfile_open(struct pcapfile *r, FILE *in, const void *prefix, size_t prefix_len)
{
	const __u8 *h;
	__u32 m;
	int rc;

	memset(r, 0, sizeof(*r));
	if (inbuf_open(&r->b, in, prefix, prefix_len))
		return PCAPFILE_NOMEM;
	rc = want(r, FILE_HEADER);
	if (rc <= 0) {
		if (!rc)
			snprintf(r->err, sizeof(r->err), "ends inside its pcap file header");
		return rc ? rc : PCAPFILE_TRUNCATED;
	}
	h = inbuf_at(&r->b);
	memcpy(&m, h, 4);
	if (set_magic(r, m)) {
		snprintf(r->err, sizeof(r->err), "is not a pcap file");
		return PCAPFILE_CORRUPT;
	}
	if (rd16(r, h + 4) != 2) {
		snprintf(r->err, sizeof(r->err), "is pcap version %u.%u, not 2.x", rd16(r, h + 4),
			 rd16(r, h + 6));
		return PCAPFILE_CORRUPT;
	}
	r->linktype = rd32(r, h + 20) & LINKTYPE_MASK;
	inbuf_take(&r->b, FILE_HEADER);
	return 0;
}

void pcapfile_close(struct pcapfile *r)
{
	inbuf_close(&r->b);
}

static int fail(struct pcapfile *r, enum pcapfile_result rc, const char *what)
{
	snprintf(r->err, sizeof(r->err), "%s at byte %llu", what, (unsigned long long)r->b.offset);
	return rc;
}

enum pcapfile_result pcapfile_next(struct pcapfile *r, struct pcapfile_packet *p)
{
	const __u8 *h;
	__u32 caplen, frac;
	int rc = want(r, r->record_len);

	if (rc <= 0)
		return rc < 0 ? rc : inbuf_pending(&r->b) ? fail(r, PCAPFILE_TRUNCATED, "truncated record")
							  : PCAPFILE_END;
	h = inbuf_at(&r->b);
	caplen = rd32(r, h + 8);
	if (caplen > PCAPFILE_MAX_RECORD)
		return fail(r, PCAPFILE_CORRUPT, "a record longer than 256 KiB (corrupt)");
	rc = want(r, r->record_len + caplen);
	if (rc <= 0)
		return rc < 0 ? rc : fail(r, PCAPFILE_TRUNCATED, "truncated record");
	h = inbuf_at(&r->b);
	frac = rd32(r, h + 4);
	p->ts_ns = (__u64)rd32(r, h) * 1000000000u + (r->nano ? frac : (__u64)frac * 1000u);
	p->caplen = caplen;
	p->len = rd32(r, h + 12);
	if (p->len < caplen)
		p->len = caplen;
	p->data = h + r->record_len;
	inbuf_take(&r->b, r->record_len + caplen);
	return PCAPFILE_PACKET;
}
