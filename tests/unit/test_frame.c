// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The capture side of --read: every link type turned into what the core
 * parses must parse exactly like the Ethernet frame of the same packet;
 * the sender the link layer records; cut link headers; --local-net blocks;
 * and the capture reader over pcapng blocks written here byte by byte
 * (names, timestamp resolutions, direction flags, both byte orders, end
 * time, truncation and corruption) and over classic pcap files (both byte
 * orders, us and ns, the modified format, bad versions and lengths).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "capture.h"
#include "craft.h"
#include "frame.h"
#include "localnet.h"
#include "tcpshake/parse.h"

static const struct craft v4 = { .family = 4, .src = "10.1.2.3", .dst = "10.9.8.7", .sport = 40000,
				 .dport = 80, .seq = 1000, .flags = TCPF_SYN, .tcp_options = 12 };
static const struct craft v6 = { .family = 6, .src = "fd00::2", .dst = "fd00::1", .sport = 40001,
				 .dport = 443, .seq = 7, .ack = 9, .flags = TCPF_ACK, .payload = 20 };

/* An Ethernet frame of c, and its layer-3 part. */
static size_t ether(__u8 *buf, const struct craft *c)
{
	size_t n = craft_packet(buf, 2048, c);

	assert_true(n > ETH_HLEN_);
	return n;
}

/* frame_from(linktype, link header + the frame's IP packet) must parse as
 * the Ethernet frame does. */
static void same_parse(int linktype, const __u8 *hdr, size_t hlen, const struct craft *c,
		       enum sender want_sender)
{
	static __u8 eth[2048], pkt[4096];
	static struct frame_scratch scratch;
	struct packet want = { 0 }, got = { 0 };
	struct frame f;
	size_t n = ether(eth, c);

	if (hlen)         /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(pkt, hdr, hlen);
	memcpy(pkt + hlen, eth + ETH_HLEN_, n - ETH_HLEN_);
	assert_true(frame_from(&f, linktype, pkt, (__u32)(hlen + n - ETH_HLEN_), &scratch));
	assert_int_equal(f.sender, want_sender);
	assert_int_equal(parse_packet(eth, eth + n, &want), PARSE_TCP);
	memset(&got, 0xaa, sizeof(got));
	assert_int_equal(parse_packet(f.data, f.end, &got), PARSE_TCP);
	assert_memory_equal(&got.key, &want.key, sizeof(want.key));
	assert_int_equal(got.seq, want.seq);
	assert_int_equal(got.ack, want.ack);
	assert_int_equal(got.flags, want.flags);
	assert_int_equal(got.payload_len, want.payload_len);
	assert_int_equal(got.from_a, want.from_a);
	/* One byte short of the link header: not a frame. */
	if (hlen)
		assert_false(frame_from(&f, linktype, pkt, (__u32)hlen - 1, &scratch));
}

static void test_ethernet(void **state)
{
	(void)state;
	static __u8 eth[2048];
	static struct frame_scratch s;
	struct frame f;
	size_t n = ether(eth, &v4);

	assert_true(frame_from(&f, LINKTYPE_ETHERNET, eth, (__u32)n, &s));
	assert_ptr_equal(f.data, eth);           /* no copy */
	assert_ptr_equal(f.end, eth + n);
	assert_int_equal(f.sender, SENDER_UNKNOWN);
}

static void test_raw_ip(void **state)
{
	(void)state;
	same_parse(LINKTYPE_RAW, NULL, 0, &v4, SENDER_UNKNOWN);
	same_parse(LINKTYPE_RAW, NULL, 0, &v6, SENDER_UNKNOWN);
	same_parse(LINKTYPE_IPV4, NULL, 0, &v4, SENDER_UNKNOWN);
	same_parse(LINKTYPE_IPV6, NULL, 0, &v6, SENDER_UNKNOWN);
}

static void test_linux_sll(void **state)
{
	/* packet type (4: sent by us, 0: to us), ARPHRD, address length,
	 * 8 address bytes, protocol */
	const __u8 out4[16] = { 0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00 };
	const __u8 in6[16] = { 0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0, 0x86, 0xdd };

	(void)state;
	same_parse(LINKTYPE_LINUX_SLL, out4, sizeof(out4), &v4, SENDER_LOCAL);
	same_parse(LINKTYPE_LINUX_SLL, in6, sizeof(in6), &v6, SENDER_REMOTE);
}

static void test_linux_sll2(void **state)
{
	/* protocol, reserved, ifindex, ARPHRD, packet type, address length, address */
	const __u8 out4[20] = { 0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0 };
	const __u8 host6[20] = { 0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0 };
	const __u8 odd4[20] = { 0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 9, 6, 2, 0, 0, 0, 0, 1, 0, 0 };

	(void)state;
	same_parse(LINKTYPE_LINUX_SLL2, out4, sizeof(out4), &v4, SENDER_LOCAL);
	same_parse(LINKTYPE_LINUX_SLL2, host6, sizeof(host6), &v6, SENDER_REMOTE);
	same_parse(LINKTYPE_LINUX_SLL2, odd4, sizeof(odd4), &v4, SENDER_UNKNOWN);
}

static void test_vlan_in_sll2(void **state)
{
	/* A tagged frame on the "any" device: protocol 802.1Q, then the tag. */
	static __u8 eth[2048], pkt[4096];
	static struct frame_scratch s;
	const __u8 h[20] = { 0x81, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0 };
	struct craft c = v4;
	struct packet p = { 0 };
	struct frame f;
	size_t n;

	(void)state;
	c.vlans = 1;
	n = ether(eth, &c);
	memcpy(pkt, h, sizeof(h));
	memcpy(pkt + sizeof(h), eth + ETH_HLEN_, n - ETH_HLEN_);   /* tag, then IP */
	assert_true(frame_from(&f, LINKTYPE_LINUX_SLL2, pkt, (__u32)(sizeof(h) + n - ETH_HLEN_), &s));
	assert_int_equal(parse_packet(f.data, f.end, &p), PARSE_TCP);
	assert_int_equal(p.seq, 1000);
}

static void test_bsd_loopback(void **state)
{
	const __u32 af_inet = 2, af_inet6_bsd[] = { 24, 28, 30 };
	__u8 h[4];
	size_t i;

	(void)state;
	memcpy(h, &af_inet, 4);                          /* NULL: the writer's byte order */
	same_parse(LINKTYPE_NULL, h, 4, &v4, SENDER_UNKNOWN);
	for (i = 0; i < 3; i++) {
		__u32 swapped = __builtin_bswap32(af_inet6_bsd[i]);

		memcpy(h, &swapped, 4);                  /* the other byte order */
		same_parse(LINKTYPE_NULL, h, 4, &v6, SENDER_UNKNOWN);
	}
	memcpy(h, "\0\0\0\x0a", 4);                      /* LOOP: network order, Linux AF_INET6 */
	same_parse(LINKTYPE_LOOP, h, 4, &v6, SENDER_UNKNOWN);
}

static void test_not_ip(void **state)
{
	static __u8 pkt[64];
	static struct frame_scratch s;
	struct packet p = { 0 };
	struct frame f;

	(void)state;
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x17;                                   /* neither version 4 nor 6 */
	assert_true(frame_from(&f, LINKTYPE_RAW, pkt, sizeof(pkt), &s));
	assert_int_equal(parse_packet(f.data, f.end, &p), PARSE_OTHER);
	assert_true(frame_from(&f, LINKTYPE_RAW, pkt, 0, &s));   /* empty: no IP version */
	assert_int_equal(parse_packet(f.data, f.end, &p), PARSE_OTHER);
	assert_false(frame_from(&f, 147, pkt, sizeof(pkt), &s));
	assert_false(linktype_supported(147));
	assert_true(linktype_supported(LINKTYPE_LINUX_SLL2));
}

static void test_addresses(void **state)
{
	static __u8 eth[2048];
	static struct frame_scratch s;
	const __u8 *src, *dst;
	struct craft c = v6;
	__u8 want[16];
	struct frame f;
	size_t n;

	(void)state;
	c.vlans = 2;
	c.qinq = true;
	n = ether(eth, &c);
	assert_true(frame_from(&f, LINKTYPE_ETHERNET, eth, (__u32)n, &s));
	assert_int_equal(frame_addresses(&f, &src, &dst), 6);
	inet_pton(AF_INET6, "fd00::2", want);
	assert_memory_equal(src, want, 16);
	inet_pton(AF_INET6, "fd00::1", want);
	assert_memory_equal(dst, want, 16);
	n = ether(eth, &v4);
	assert_true(frame_from(&f, LINKTYPE_ETHERNET, eth, (__u32)n, &s));
	assert_int_equal(frame_addresses(&f, &src, &dst), 4);
	inet_pton(AF_INET, "10.9.8.7", want);
	assert_memory_equal(dst, want, 4);
	f.end = f.data + 20;                             /* IP header cut */
	assert_int_equal(frame_addresses(&f, &src, &dst), 0);
}

static void test_localnet(void **state)
{
	struct localnets l = { 0 };
	__u8 a[16];

	(void)state;
	assert_int_equal(cidr_parse(&l.net[l.n++], "10.1.0.0/17"), 0);
	assert_int_equal(cidr_parse(&l.net[l.n++], "fd00:1::/33"), 0);
	assert_int_equal(cidr_parse(&l.net[l.n++], "192.0.2.9"), 0);     /* a host */
	assert_int_equal(cidr_parse(&l.net[l.n], "10.1.0.0/33"), -1);
	assert_int_equal(cidr_parse(&l.net[l.n], "10.1.0.0/"), -1);
	assert_int_equal(cidr_parse(&l.net[l.n], "10.1.0.0/-1"), -1);
	assert_int_equal(cidr_parse(&l.net[l.n], "eth0"), -1);
	inet_pton(AF_INET, "10.1.127.255", a);
	assert_true(localnets_match(&l, 4, a));
	inet_pton(AF_INET, "10.1.128.0", a);
	assert_false(localnets_match(&l, 4, a));
	assert_false(localnets_match(&l, 6, a));          /* families never mix */
	inet_pton(AF_INET, "192.0.2.9", a);
	assert_true(localnets_match(&l, 4, a));
	inet_pton(AF_INET, "192.0.2.8", a);
	assert_false(localnets_match(&l, 4, a));
	inet_pton(AF_INET6, "fd00:1:7fff::1", a);
	assert_true(localnets_match(&l, 6, a));
	inet_pton(AF_INET6, "fd00:1:8000::1", a);
	assert_false(localnets_match(&l, 6, a));
	assert_int_equal(cidr_parse(&l.net[0], "10.1.2.3/8"), 0);          /* host bits dropped */
	inet_pton(AF_INET, "10.200.0.1", a);
	assert_true(localnets_match(&l, 4, a));
}

/* ---- pcapng, byte by byte ---- */

struct blocks {
	__u8 b[4096];
	size_t n;
	bool swap;
};

static void put32(struct blocks *w, __u32 v)
{
	if (w->swap)
		v = __builtin_bswap32(v);
	memcpy(w->b + w->n, &v, 4);
	w->n += 4;
}

static void put16(struct blocks *w, __u16 v)
{
	if (w->swap)
		v = __builtin_bswap16(v);
	memcpy(w->b + w->n, &v, 2);
	w->n += 2;
}

static void put_bytes(struct blocks *w, const void *p, size_t n)
{
	memcpy(w->b + w->n, p, n);
	w->n += n;
	while (w->n % 4)
		w->b[w->n++] = 0;
}

static size_t block_start(struct blocks *w, __u32 type)
{
	size_t at = w->n;

	put32(w, type);
	put32(w, 0);         /* length, patched by block_end */
	return at;
}

static void block_end(struct blocks *w, size_t at)
{
	__u32 len = (__u32)(w->n - at + 4), v = w->swap ? __builtin_bswap32(len) : len;

	memcpy(w->b + at + 4, &v, 4);
	put32(w, len);
}

static void shb(struct blocks *w)
{
	size_t at = block_start(w, 0x0A0D0D0A);

	put32(w, 0x1A2B3C4D);
	put16(w, 1);
	put16(w, 0);
	put32(w, 0xffffffff);
	put32(w, 0xffffffff);            /* section length: unknown */
	block_end(w, at);
}

static void idb(struct blocks *w, __u16 linktype, const char *name, int tsresol)
{
	size_t at = block_start(w, 1);

	put16(w, linktype);
	put16(w, 0);
	put32(w, 0);                     /* snaplen */
	if (name) {
		put16(w, 2);
		put16(w, (__u16)strlen(name));
		put_bytes(w, name, strlen(name));
	}
	if (tsresol >= 0) {
		__u8 r = (__u8)tsresol;

		put16(w, 9);
		put16(w, 1);
		put_bytes(w, &r, 1);
	}
	put16(w, 0);
	put16(w, 0);
	block_end(w, at);
}

static void epb(struct blocks *w, __u32 iface, __u64 ts, const __u8 *pkt, __u32 caplen,
		__u32 len, __u32 flags)
{
	size_t at = block_start(w, 6);

	put32(w, iface);
	put32(w, (__u32)(ts >> 32));
	put32(w, (__u32)ts);
	put32(w, caplen);
	put32(w, len);
	put_bytes(w, pkt, caplen);
	if (flags) {
		put16(w, 2);
		put16(w, 4);
		put32(w, flags);
		put16(w, 0);
		put16(w, 0);
	}
	block_end(w, at);
}

static void isb(struct blocks *w, __u32 iface, __u64 end)
{
	size_t at = block_start(w, 5);

	put32(w, iface);
	put32(w, 0);
	put32(w, 0);
	put16(w, 3);                     /* isb_endtime */
	put16(w, 8);
	put32(w, (__u32)(end >> 32));
	put32(w, (__u32)end);
	put16(w, 0);
	put16(w, 0);
	block_end(w, at);
}

static FILE *open_blocks(const struct blocks *w, size_t n)
{
	FILE *f = fmemopen((void *)w->b, n, "r");

	assert_non_null(f);
	return f;
}

static void pcapng_file(struct blocks *w, bool swap)
{
	static __u8 eth[2048];
	size_t n = ether(eth, &v4);

	memset(w, 0, sizeof(*w));
	w->swap = swap;
	shb(w);
	idb(w, LINKTYPE_ETHERNET, "eth7", 9);                  /* ns */
	idb(w, LINKTYPE_LINUX_SLL2, NULL, -1);                 /* us, no name */
	epb(w, 0, 1700000000123456789ull, eth, (__u32)n, (__u32)n, 2);          /* outbound */
	epb(w, 1, 1700000001000001ull, eth, 20, 60, 1);                           /* inbound, cut */
	epb(w, 0, 1700000000000000000ull, eth, (__u32)n, (__u32)n, 0);
	isb(w, 0, 1700000009000000000ull);
}

static void check_pcapng(bool swap)
{
	struct blocks w;
	struct capture c;
	struct capture_packet p;

	pcapng_file(&w, swap);
	assert_int_equal(capture_open_stream(&c, open_blocks(&w, w.n), "test"), 0);
	assert_int_equal(capture_next(&c, &p), CAPTURE_PACKET);
	assert_string_equal(p.iface_name, "eth7");
	assert_int_equal(p.linktype, LINKTYPE_ETHERNET);
	assert_int_equal(p.ts_ns, 1700000000123456789ull);
	assert_int_equal(p.dir, CAPTURE_DIR_OUT);
	assert_int_equal(p.data[12], 0x08);
	assert_int_equal(capture_next(&c, &p), CAPTURE_PACKET);
	assert_string_equal(p.iface_name, "");
	assert_int_equal(p.iface, 1);
	assert_int_equal(p.linktype, LINKTYPE_LINUX_SLL2);
	assert_int_equal(p.ts_ns, 1700000001000001000ull);    /* default resolution: us */
	assert_int_equal(p.caplen, 20);
	assert_int_equal(p.len, 60);
	assert_int_equal(p.dir, CAPTURE_DIR_IN);
	assert_int_equal(capture_next(&c, &p), CAPTURE_PACKET);
	assert_int_equal(p.dir, CAPTURE_DIR_UNKNOWN);
	assert_int_equal(capture_next(&c, &p), CAPTURE_END);
	assert_int_equal(capture_end_ns(&c), 1700000009000000000ull);
	capture_close(&c);
}

static void test_pcapng(void **state)
{
	(void)state;
	check_pcapng(false);
	check_pcapng(true);      /* a section written in the other byte order */
}

static void test_pcapng_bad(void **state)
{
	struct blocks w;
	struct capture c;
	struct capture_packet p;
	int i;

	(void)state;
	pcapng_file(&w, false);
	/* Cut inside the last packet block: what came before is good. */
	assert_int_equal(capture_open_stream(&c, open_blocks(&w, w.n - 60), "t"), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(capture_next(&c, &p), CAPTURE_PACKET);
	assert_int_equal(capture_next(&c, &p), CAPTURE_TRUNCATED);
	capture_close(&c);
	/* A block whose trailing length differs from its leading one. */
	w.b[w.n - 1] ^= 0x40;
	assert_int_equal(capture_open_stream(&c, open_blocks(&w, w.n), "t"), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(capture_next(&c, &p), CAPTURE_PACKET);
	assert_int_equal(capture_next(&c, &p), CAPTURE_ERROR);
	assert_non_null(strstr(c.err, "differ"));
	capture_close(&c);
	/* A packet of an interface never described. */
	pcapng_file(&w, false);
	w.b[28 + 40 + 24 + 8] = 5;       /* the first EPB's interface id, after SHB and two IDBs */
	assert_int_equal(capture_open_stream(&c, open_blocks(&w, w.n), "t"), 0);
	assert_int_equal(capture_next(&c, &p), CAPTURE_ERROR);
	capture_close(&c);
	/* Not a capture at all. */
	assert_int_equal(capture_open_stream(&c, open_blocks(&w, 3), "t"), -1);
	assert_non_null(strstr(c.err, "too short"));
	memcpy(w.b, "GET / HTTP/1.1\r\n", 16);
	assert_int_equal(capture_open_stream(&c, open_blocks(&w, 16), "t"), -1);
	assert_non_null(strstr(c.err, "not a pcap or pcapng"));
	capture_close(&c);
}

static void test_pcap(void **state)
{
	static __u8 file[4096], eth[2048];
	const __u32 hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, LINKTYPE_ETHERNET };
	struct capture_packet p;
	struct capture c;
	size_t n = ether(eth, &v6), at = 0;
	__u32 rec[4] = { 1700000000, 250000, (__u32)n, (__u32)n + 100 };

	(void)state;
	memcpy(file, hdr, sizeof(hdr));
	at = sizeof(hdr);
	memcpy(file + at, rec, sizeof(rec));
	at += sizeof(rec);
	memcpy(file + at, eth, n);
	at += n;
	assert_int_equal(capture_open_stream(&c, fmemopen(file, at, "r"), "t"), 0);
	assert_false(c.pcapng);
	assert_int_equal(capture_next(&c, &p), CAPTURE_PACKET);
	assert_int_equal(p.ts_ns, 1700000000250000000ull);   /* us file, ns clock */
	assert_int_equal(p.caplen, n);
	assert_int_equal(p.len, n + 100);
	assert_int_equal(p.linktype, LINKTYPE_ETHERNET);
	assert_int_equal(capture_next(&c, &p), CAPTURE_END);
	capture_close(&c);
	/* The record cut short. */
	assert_int_equal(capture_open_stream(&c, fmemopen(file, at - 5, "r"), "t"), 0);
	assert_int_equal(capture_next(&c, &p), CAPTURE_TRUNCATED);
	capture_close(&c);
	/* A record longer than any link type allows: corrupt, not a 4 GB read. */
	memcpy(file + sizeof(hdr) + 8, &(__u32){ 0x7fffffff }, 4);
	assert_int_equal(capture_open_stream(&c, fmemopen(file, at, "r"), "t"), 0);
	assert_int_equal(capture_next(&c, &p), CAPTURE_ERROR);
	assert_non_null(strstr(c.err, "256 KiB"));
	capture_close(&c);
	/* Version 1 of the format is not pcap as we know it. */
	memcpy(file + 4, &(__u16){ 1 }, 2);
	assert_int_equal(capture_open_stream(&c, fmemopen(file, at, "r"), "t"), -1);
	assert_non_null(strstr(c.err, "version"));
	capture_close(&c);
}

/* Big-endian, nanosecond timestamps; then the modified format's 24-byte
 * records (magic a1b2cd34: ifindex, protocol, packet type after the usual). */
static void test_pcap_variants(void **state)
{
	static __u8 file[4096], eth[2048];
	const __u32 be_hdr[6] = { htonl(0xa1b23c4d), htonl(0x00020004), 0, 0, htonl(65535),
				  htonl(LINKTYPE_ETHERNET) };
	const __u32 mod_hdr[6] = { 0xa1b2cd34, 0x00040002, 0, 0, 65535, LINKTYPE_ETHERNET };
	struct capture_packet p;
	struct capture c;
	size_t n = ether(eth, &v4), at;
	__u32 be_rec[4] = { htonl(1700000000), htonl(123456789), htonl((__u32)n), htonl((__u32)n) };
	__u32 mod_rec[6] = { 1700000000, 7, (__u32)n, (__u32)n, 3, 0 };

	(void)state;
	memcpy(file, be_hdr, sizeof(be_hdr));
	at = sizeof(be_hdr);
	memcpy(file + at, be_rec, sizeof(be_rec));
	at += sizeof(be_rec);
	memcpy(file + at, eth, n);
	at += n;
	assert_int_equal(capture_open_stream(&c, fmemopen(file, at, "r"), "t"), 0);
	assert_int_equal(capture_next(&c, &p), CAPTURE_PACKET);
	assert_int_equal(p.ts_ns, 1700000000123456789ull);
	assert_int_equal(p.caplen, n);
	assert_memory_equal(p.data, eth, n);
	assert_int_equal(capture_next(&c, &p), CAPTURE_END);
	capture_close(&c);

	memcpy(file, mod_hdr, sizeof(mod_hdr));
	at = sizeof(mod_hdr);
	memcpy(file + at, mod_rec, sizeof(mod_rec));
	at += sizeof(mod_rec);
	memcpy(file + at, eth, n);
	at += n;
	assert_int_equal(capture_open_stream(&c, fmemopen(file, at, "r"), "t"), 0);
	assert_int_equal(capture_next(&c, &p), CAPTURE_PACKET);
	assert_int_equal(p.ts_ns, 1700000000000007000ull);
	assert_memory_equal(p.data, eth, n);
	assert_int_equal(capture_next(&c, &p), CAPTURE_END);
	capture_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet),
		cmocka_unit_test(test_raw_ip),
		cmocka_unit_test(test_linux_sll),
		cmocka_unit_test(test_linux_sll2),
		cmocka_unit_test(test_vlan_in_sll2),
		cmocka_unit_test(test_bsd_loopback),
		cmocka_unit_test(test_not_ip),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_localnet),
		cmocka_unit_test(test_pcapng),
		cmocka_unit_test(test_pcapng_bad),
		cmocka_unit_test(test_pcap),
		cmocka_unit_test(test_pcap_variants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
