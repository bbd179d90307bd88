// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <string.h>
#include "craft.h"

static void put16(__u8 *p, __u16 v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put32(__u8 *p, __u32 v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }

static __u16 ip_checksum(const __u8 *p, size_t len)
{
	__u32 sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

size_t craft_packet(__u8 *buf, size_t cap, const struct craft *c)
{
	size_t tcp_len = 20 + (size_t)c->tcp_options, l4 = tcp_len + c->payload, off = 12, ip;
	int i;

	if (cap < 14 + 4 * (size_t)c->vlans + 40 + 8 * (size_t)(c->v6_ext + 1) + 60 + l4)
		return 0;
	memset(buf, 0, cap);
	memcpy(buf, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (i = 0; i < c->vlans; i++) {
		put16(buf + off, (i == 0 && c->qinq) ? 0x88a8 : 0x8100);
		put16(buf + off + 2, (__u16)(100 + i));
		off += 4;
	}
	put16(buf + off, c->family == 6 ? 0x86dd : 0x0800);
	ip = off + 2;

	if (c->family == 4) {
		size_t ihl = 20 + (size_t)c->ip_options;
		__u8 *h = buf + ip;

		h[0] = (__u8)(0x40 | (c->bad_ihl ? c->bad_ihl : (int)(ihl / 4)));
		put16(h + 2, (__u16)(ihl + l4));
		put16(h + 6, c->frag_offset);
		h[8] = 64;
		h[9] = c->ip_proto ? c->ip_proto : 6;
		inet_pton(AF_INET, c->src, h + 12);
		inet_pton(AF_INET, c->dst, h + 16);
		put16(h + 10, ip_checksum(h, ihl));
		off = ip + ihl;
	} else {
		__u8 *h = buf + ip;
		__u8 *next = h + 6;
		size_t ext = 0;

		h[0] = 0x60;
		h[7] = 64;
		inet_pton(AF_INET6, c->src, h + 8);
		inet_pton(AF_INET6, c->dst, h + 24);
		off = ip + 40;
		for (i = 0; i < c->v6_ext; i++) {
			*next = 60;                     /* destination options */
			next = buf + off;
			buf[off + 1] = 0;               /* 8 bytes */
			buf[off + 2] = 1;               /* PadN */
			buf[off + 3] = 4;
			off += 8;
			ext += 8;
		}
		if (c->v6_frag) {
			*next = 44;
			next = buf + off;
			put16(buf + off + 2, (__u16)(c->frag_offset << 3));
			off += 8;
			ext += 8;
		}
		*next = c->ip_proto ? c->ip_proto : 6;
		put16(h + 4, (__u16)(ext + l4));
	}

	put16(buf + off, c->sport);
	put16(buf + off + 2, c->dport);
	put32(buf + off + 4, c->seq);
	put32(buf + off + 8, c->ack);
	buf[off + 12] = (__u8)((c->bad_doff ? c->bad_doff : (int)(tcp_len / 4)) << 4);
	buf[off + 13] = c->flags;
	put16(buf + off + 14, 65535);
	for (i = 0; i < c->tcp_options; i++)
		buf[off + 20 + (size_t)i] = 1;      /* NOP */
	off += l4;
	return off > (size_t)c->truncate ? off - (size_t)c->truncate : 0;
}

size_t craft_icmp_error(__u8 *buf, size_t cap, const struct craft *quoted, const char *from,
			const char *to, __u8 type, __u8 code, size_t quote_len)
{
	struct craft q = *quoted;
	__u8 inner[512];
	size_t len, ip_hlen, quote, ip = 14, hlen;

	q.vlans = 0;
	len = craft_packet(inner, sizeof(inner), &q);
	if (!len)
		return 0;
	ip_hlen = q.family == 4 ? (size_t)(inner[14] & 0x0f) * 4 : 40;
	quote = ip_hlen + quote_len;
	if (14 + quote > len)
		quote = len - 14;
	hlen = q.family == 4 ? 20 : 40;
	if (cap < ip + hlen + 8 + quote)
		return 0;
	memset(buf, 0, cap);
	memcpy(buf, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	put16(buf + 12, q.family == 6 ? 0x86dd : 0x0800);
	if (q.family == 4) {
		__u8 *h = buf + ip;

		h[0] = 0x45;
		put16(h + 2, (__u16)(hlen + 8 + quote));
		h[8] = 64;
		h[9] = 1;
		inet_pton(AF_INET, from, h + 12);
		inet_pton(AF_INET, to ? to : q.src, h + 16);
		put16(h + 10, ip_checksum(h, hlen));
	} else {
		__u8 *h = buf + ip;

		h[0] = 0x60;
		put16(h + 4, (__u16)(8 + quote));
		h[6] = 58;
		h[7] = 64;
		inet_pton(AF_INET6, from, h + 8);
		inet_pton(AF_INET6, to ? to : q.src, h + 24);
	}
	buf[ip + hlen] = type;
	buf[ip + hlen + 1] = code;
	memcpy(buf + ip + hlen + 8, inner + 14, quote);
	return ip + hlen + 8 + quote;
}
