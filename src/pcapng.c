// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* pcapng blocks as described in draft-ietf-opsawg-pcapng: every length is
 * checked against the block before a read, and a block must end with its
 * own length repeated, so a corrupt file is reported, never misread. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "pcapng.h"

#define BT_SHB     0x0A0D0D0Au
#define BT_IDB     1u
#define BT_PB      2u          /* obsolete packet block */
#define BT_SPB     3u
#define BT_ISB     5u
#define BT_EPB     6u
#define BOM        0x1A2B3C4Du

#define OPT_END          0
#define OPT_IF_NAME      2
#define OPT_IF_TSRESOL   9
#define OPT_IF_TSOFFSET  14
#define OPT_EPB_FLAGS    2
#define OPT_ISB_ENDTIME  3


static __u16 rd16(const struct pcapng *r, const __u8 *p)
{
	__u16 v;

	memcpy(&v, p, 2);
	return r->swapped ? __builtin_bswap16(v) : v;
}

static __u32 rd32(const struct pcapng *r, const __u8 *p)
{
	__u32 v;

	memcpy(&v, p, 4);
	return r->swapped ? __builtin_bswap32(v) : v;
}

static __u64 rd_ts(const struct pcapng *r, const __u8 *p)
{
	return (__u64)rd32(r, p) << 32 | rd32(r, p + 4);
}

static int fail(struct pcapng *r, enum pcapng_result rc, const char *what)
{
	snprintf(r->err, sizeof(r->err), "%s at byte %llu", what, (unsigned long long)r->b.offset);
	return rc;
}

/* inbuf_want() with the reader's result codes and message. */
static int want(struct pcapng *r, size_t n)
{
	int rc = inbuf_want(&r->b, n);

	if (rc == INBUF_NOMEM)
		return PCAPNG_NOMEM;
	if (rc == INBUF_IO) {
		snprintf(r->err, sizeof(r->err), "%s", strerror(errno));
		return PCAPNG_IO;
	}
	return rc;
}

int pcapng_open(struct pcapng *r, FILE *in, const void *prefix, size_t prefix_len)
{
	memset(r, 0, sizeof(*r));
	return inbuf_open(&r->b, in, prefix, prefix_len);
}

void pcapng_close(struct pcapng *r)
{
	inbuf_close(&r->b);
	free(r->ifaces);
	memset(r, 0, sizeof(*r));
}

__u64 pcapng_offset(const struct pcapng *r)
{
	return r->b.offset;
}

/* Options of a block body: calls fn for each (code, value); 0, or -1 when
 * an option runs past the block. */
static int options(struct pcapng *r, const __u8 *p, size_t len,
		   void (*fn)(struct pcapng *r, __u16 code, const __u8 *v, __u16 vlen, void *ctx),
		   void *ctx)
{
	size_t at = 0;

	while (len - at >= 4) {
		__u16 code = rd16(r, p + at), vlen = rd16(r, p + at + 2);
		size_t padded = ((size_t)vlen + 3) & ~(size_t)3;

		if (code == OPT_END)
			return 0;
		if (padded > len - at - 4)
			return -1;
		fn(r, code, p + at + 4, vlen, ctx);
		at += 4 + padded;
	}
	return 0;
}

static void iface_option(struct pcapng *r, __u16 code, const __u8 *v, __u16 vlen, void *ctx)
{
	struct pcapng_iface *ifc = ctx;
	size_t i, n;

	switch (code) {
	case OPT_IF_NAME:
		n = vlen < PCAPNG_NAME_MAX - 1 ? vlen : PCAPNG_NAME_MAX - 1;
		for (i = 0; i < n && v[i]; i++)   /* printable ASCII only: names reach terminals */
			ifc->name[i] = v[i] >= 0x20 && v[i] < 0x7f ? (char)v[i] : '?';
		ifc->name[i] = 0;
		break;
	case OPT_IF_TSRESOL:
		if (vlen >= 1) {
			ifc->tsresol_pow2 = v[0] & 0x80;
			ifc->tsresol_exp = v[0] & 0x7f;
		}
		break;
	case OPT_IF_TSOFFSET:
		if (vlen >= 8) {
			__u64 off;

			memcpy(&off, v, 8);   /* a 64-bit value in the section's byte order */
			if (r->swapped)
				off = __builtin_bswap64(off);
			ifc->tsoffset_s = (__s64)off;
		}
		break;
	}
}

static __u64 saturate(unsigned __int128 v)
{
	return v > (unsigned __int128)(ULLONG_MAX / 2) ? ULLONG_MAX / 2 : (__u64)v;
}

/* if_tsresol as a multiplier or divisor to nanoseconds, once per interface. */
static void resolution(struct pcapng_iface *ifc)
{
	int e = ifc->tsresol_exp, i;

	ifc->ns_mul = 1;
	ifc->ns_div = 1;
	if (ifc->tsresol_pow2)
		return;
	for (i = e; i < 9; i++)
		ifc->ns_mul *= 10;
	for (i = 9; i < e && ifc->ns_div; i++)
		ifc->ns_div = ifc->ns_div > ULLONG_MAX / 10 ? 0 : ifc->ns_div * 10;
}

/* Units of the interface's resolution since its offset -> ns since the epoch. */
static __u64 to_ns(const struct pcapng_iface *ifc, __u64 units)
{
	unsigned __int128 ns;
	__s64 off = ifc->tsoffset_s;

	if (ifc->tsresol_pow2)
		ns = ((unsigned __int128)units * 1000000000u) >> ifc->tsresol_exp;
	else if (!ifc->ns_div)
		ns = 0;
	else if (ifc->ns_div == 1)
		ns = (unsigned __int128)units * ifc->ns_mul;
	else
		ns = units / ifc->ns_div;
	if (!off)
		return saturate(ns);
	if (off >= 0) {
		ns += (unsigned __int128)off * 1000000000u;
	} else {
		unsigned __int128 back = ((unsigned __int128)(-(off + 1)) + 1) * 1000000000u;

		ns = ns > back ? ns - back : 0;
	}
	return saturate(ns);
}

static int section_header(struct pcapng *r, const __u8 *b, __u32 len)
{
	if (len < 28)
		return fail(r, PCAPNG_CORRUPT, "section header block too short");
	if (rd16(r, b + 12) != 1)
		return fail(r, PCAPNG_CORRUPT, "pcapng major version is not 1");
	r->nr_ifaces = 0;      /* interface ids are per section */
	return 0;
}

static int interface_description(struct pcapng *r, const __u8 *b, __u32 len)
{
	struct pcapng_iface *ifc;

	if (len < 20)
		return fail(r, PCAPNG_CORRUPT, "interface description block too short");
	if (r->nr_ifaces == PCAPNG_MAX_IFACES)
		return fail(r, PCAPNG_CORRUPT, "more than 4096 interfaces in one section");
	if (r->nr_ifaces == r->ifaces_cap) {
		__u32 cap = r->ifaces_cap ? r->ifaces_cap * 2 : 8;
		struct pcapng_iface *n = realloc(r->ifaces, cap * sizeof(*n));

		if (!n)
			return PCAPNG_NOMEM;
		r->ifaces = n;
		r->ifaces_cap = cap;
	}
	ifc = &r->ifaces[r->nr_ifaces];
	memset(ifc, 0, sizeof(*ifc));
	ifc->linktype = rd16(r, b + 8);
	ifc->tsresol_exp = 6;
	ifc->id = r->nr_ifaces;
	ifc->seq = r->seq++;
	if (options(r, b + 16, len - 20, iface_option, ifc))
		return fail(r, PCAPNG_CORRUPT, "interface description option runs past its block");
	resolution(ifc);
	r->nr_ifaces++;
	return 0;
}

static void epb_option(struct pcapng *r, __u16 code, const __u8 *v, __u16 vlen, void *ctx)
{
	struct pcapng_packet *p = ctx;

	if (code == OPT_EPB_FLAGS && vlen >= 4) {
		__u32 dir = rd32(r, v) & 3;

		p->dir = dir == 1 ? PCAPNG_DIR_IN : dir == 2 ? PCAPNG_DIR_OUT : PCAPNG_DIR_UNKNOWN;
	}
}

static const struct pcapng_iface *iface_of(struct pcapng *r, __u32 id)
{
	return id < r->nr_ifaces ? &r->ifaces[id] : NULL;
}

/* Enhanced (EPB) and obsolete (PB) packet blocks share their layout after
 * the interface id. */
static int packet_block(struct pcapng *r, const __u8 *b, __u32 len, __u32 type,
			struct pcapng_packet *p)
{
	__u32 id, caplen, padded;

	if (len < 32)
		return fail(r, PCAPNG_CORRUPT, "packet block too short");
	id = type == BT_EPB ? rd32(r, b + 8) : rd16(r, b + 8);
	memset(p, 0, sizeof(*p));
	p->iface = iface_of(r, id);
	if (!p->iface)
		return fail(r, PCAPNG_CORRUPT, "packet of an interface the file never described");
	caplen = rd32(r, b + 20);
	if (caplen > len - 32)
		return fail(r, PCAPNG_CORRUPT, "packet block shorter than its captured length");
	p->ts_ns = to_ns(p->iface, rd_ts(r, b + 12));
	p->has_ts = true;
	p->caplen = caplen;
	p->len = rd32(r, b + 24);
	p->data = b + 28;
	padded = (caplen + 3) & ~3u;
	if (padded <= len - 32 && options(r, b + 28 + padded, len - 32 - padded, epb_option, p))
		return fail(r, PCAPNG_CORRUPT, "packet option runs past its block");
	if (p->len < caplen)
		p->len = caplen;
	return PCAPNG_PACKET;
}

static int simple_packet(struct pcapng *r, const __u8 *b, __u32 len, struct pcapng_packet *p)
{
	if (len < 16)
		return fail(r, PCAPNG_CORRUPT, "simple packet block too short");
	memset(p, 0, sizeof(*p));
	p->iface = iface_of(r, 0);
	if (!p->iface)
		return fail(r, PCAPNG_CORRUPT, "simple packet block before any interface description");
	p->len = rd32(r, b + 8);
	p->caplen = p->len < len - 16 ? p->len : len - 16;
	p->data = b + 12;
	return PCAPNG_PACKET;
}

static void isb_option(struct pcapng *r, __u16 code, const __u8 *v, __u16 vlen, void *ctx)
{
	const struct pcapng_iface *ifc = ctx;

	if (code == OPT_ISB_ENDTIME && vlen >= 8) {
		__u64 end = to_ns(ifc, rd_ts(r, v));

		if (end > r->end_ns)
			r->end_ns = end;
	}
}

static int interface_statistics(struct pcapng *r, const __u8 *b, __u32 len)
{
	const struct pcapng_iface *ifc;

	if (len < 24)
		return fail(r, PCAPNG_CORRUPT, "interface statistics block too short");
	ifc = iface_of(r, rd32(r, b + 8));
	if (!ifc)
		return fail(r, PCAPNG_CORRUPT, "statistics of an interface the file never described");
	if (options(r, b + 20, len - 24, isb_option, (void *)ifc))
		return fail(r, PCAPNG_CORRUPT, "statistics option runs past its block");
	return 0;
}

enum pcapng_result pcapng_next(struct pcapng *r, struct pcapng_packet *p)
{
	for (;;) {
		const __u8 *b;
		__u32 type, len;
		int rc = want(r, 12);

		if (rc < 0)
			return rc;
		if (rc == 0)
			return inbuf_pending(&r->b) ? fail(r, PCAPNG_TRUNCATED, "truncated block") : PCAPNG_END;
		b = inbuf_at(&r->b);
		memcpy(&type, b, 4);
		if (type == BT_SHB) {
			__u32 bom;

			memcpy(&bom, b + 8, 4);
			if (bom != BOM && bom != __builtin_bswap32(BOM))
				return fail(r, PCAPNG_CORRUPT, "section header without a byte-order magic");
			r->swapped = bom != BOM;
		} else if (r->b.offset == 0) {
			return fail(r, PCAPNG_CORRUPT, "not a pcapng file");
		}
		type = rd32(r, b);
		len = rd32(r, b + 4);
		if (len < 12 || len % 4 || len > PCAPNG_MAX_BLOCK)
			return fail(r, PCAPNG_CORRUPT, "block length not a multiple of 4 between 12 and 16 MiB");
		rc = want(r, len);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return fail(r, PCAPNG_TRUNCATED, "truncated block");
		b = inbuf_at(&r->b);
		if (rd32(r, b + len - 4) != len)
			return fail(r, PCAPNG_CORRUPT, "block lengths at its start and end differ");
		switch (type) {
		case BT_SHB: rc = section_header(r, b, len); break;
		case BT_IDB: rc = interface_description(r, b, len); break;
		case BT_EPB:
		case BT_PB:  rc = packet_block(r, b, len, type, p); break;
		case BT_SPB: rc = simple_packet(r, b, len, p); break;
		case BT_ISB: rc = interface_statistics(r, b, len); break;
		default:     rc = 0; break;
		}
		if (rc < 0)
			return rc;
		inbuf_take(&r->b, len);
		if (rc == PCAPNG_PACKET)
			return PCAPNG_PACKET;
	}
}
