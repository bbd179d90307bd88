/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The packet parser: Ethernet, up to two VLAN tags, IPv4 or IPv6 (bounded
 * extension-header walk), TCP. Pure C over a [data, data_end) cursor, so the
 * same code runs in the BPF programs and natively (offline replay, tests).
 * Every bound is checked before a read; what cannot be parsed is reported,
 * never dropped: the callers always pass the packet on.
 */
#ifndef TCPSHAKE_PARSE_H
#define TCPSHAKE_PARSE_H

#include "tcpshake/abi.h"
#include "tcpshake/bytes.h"
#include "tcpshake/tcp.h"

#define ETH_HLEN_       14
#define ETHP_IPV4       0x0800
#define ETHP_IPV6       0x86DD
#define ETHP_8021Q      0x8100
#define ETHP_8021AD     0x88A8
#define IPPROTO_TCP_    6
#define IPV6_MAX_EXT    6       /* extension headers we are willing to skip */
#define VLAN_MAX_DEPTH  2

enum parse_result {
	PARSE_TCP = 0,      /* a TCP segment: struct packet is filled */
	PARSE_OTHER,        /* not TCP, or not the first fragment: not ours */
	PARSE_MALFORMED,    /* truncated or inconsistent headers */
};

struct packet {
	struct flow_key key;      /* canonical 4-tuple */
	__u32 seq;                /* host order */
	__u32 ack;
	__u32 payload_len;        /* TCP payload bytes (GSO: whole super-packet) */
	__u8  flags;              /* TCP flag byte */
	__u8  from_a;             /* the sender is endpoint a of the key */
	__u8  pad[2];
};

struct cursor {
	const __u8 *pos;
	const __u8 *end;
};

/* Returns a pointer to len readable bytes and advances, or NULL. */
static inline const __u8 *cursor_take(struct cursor *c, __u32 len)
{
	const __u8 *p = c->pos;

	if (p + len > c->end)
		return 0;
	c->pos = p + len;
	return p;
}

static inline __u16 load_be16(const __u8 *p) { return (__u16)(p[0] << 8 | p[1]); }

/* Raw (network-order) word loads of possibly unaligned packet bytes: one
 * load instruction in BPF, where the JIT handles any alignment on the
 * architectures we run on; memcpy natively, which compiles to the same. */
#if defined(__bpf__)
static inline __u32 load_raw32(const __u8 *p) { return *(const __u32 *)p; }
static inline __u64 load_raw64(const __u8 *p) { return *(const __u64 *)p; }
static inline __u16 load_raw16(const __u8 *p) { return *(const __u16 *)p; }
#else
static inline __u32 load_raw32(const __u8 *p) { __u32 v; __builtin_memcpy(&v, p, 4); return v; }
static inline __u64 load_raw64(const __u8 *p) { __u64 v; __builtin_memcpy(&v, p, 8); return v; }
static inline __u16 load_raw16(const __u8 *p) { __u16 v; __builtin_memcpy(&v, p, 2); return v; }
#endif

static inline __u32 load_be32(const __u8 *p) { return be32_to_host(load_raw32(p)); }

/* Ethernet and VLAN tags; returns the EtherType of the payload or 0. */
static inline __u16 parse_ethernet(struct cursor *c)
{
	const __u8 *eth = cursor_take(c, ETH_HLEN_);
	__u16 proto;
	int i;

	if (!eth)
		return 0;
	proto = load_be16(eth + 12);
	for (i = 0; i < VLAN_MAX_DEPTH; i++) {
		const __u8 *tag;

		if (proto != ETHP_8021Q && proto != ETHP_8021AD)
			break;
		tag = cursor_take(c, 4);
		if (!tag)
			return 0;
		proto = load_be16(tag + 2);
	}
	return proto;
}

/* IPv4 header: the addresses as IPv4-mapped IPv6 words (raw byte order),
 * returns the IP payload length, -1 when malformed, -2 when not a
 * first-fragment TCP packet. */
static inline int parse_ipv4(struct cursor *c, __u64 *saddr, __u64 *daddr)
{
	const __u8 *ip = cursor_take(c, 20);
	__u32 ihl, tot_len;

	if (!ip)
		return -1;
	if ((ip[0] >> 4) != 4)
		return -1;
	ihl = (ip[0] & 0x0f) * 4u;
	if (ihl < 20)
		return -1;
	if (ihl > 20 && !cursor_take(c, ihl - 20))
		return -1;
	if (ip[9] != IPPROTO_TCP_)
		return -2;
	if (load_be16(ip + 6) & 0x1fff)   /* fragment offset: not the first */
		return -2;
	/* bytes 8..15 of ::ffff:a.b.c.d are 00 00 ff ff a b c d */
	saddr[0] = daddr[0] = 0;
	saddr[1] = 0xffff0000ull | (__u64)load_raw32(ip + 12) << 32;
	daddr[1] = 0xffff0000ull | (__u64)load_raw32(ip + 16) << 32;
	tot_len = load_be16(ip + 2);
	if (tot_len == 0)                 /* BIG TCP / GSO without a length */
		return 0xffff;
	if (tot_len < ihl)
		return -1;
	return (int)(tot_len - ihl);
}

/* IPv6 header and extension headers; same return convention as IPv4. */
static inline int parse_ipv6(struct cursor *c, __u64 *saddr, __u64 *daddr)
{
	const __u8 *ip = cursor_take(c, 40);
	__u32 payload, i;
	__u8 next;

	if (!ip)
		return -1;
	if ((ip[0] >> 4) != 6)
		return -1;
	saddr[0] = load_raw64(ip + 8);
	saddr[1] = load_raw64(ip + 16);
	daddr[0] = load_raw64(ip + 24);
	daddr[1] = load_raw64(ip + 32);
	payload = load_be16(ip + 4);
	if (payload == 0)                 /* jumbogram / BIG TCP */
		payload = 0xffff;
	next = ip[6];
	for (i = 0; i < IPV6_MAX_EXT; i++) {
		const __u8 *ext;
		__u32 len;

		switch (next) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 51:  /* authentication header */
			ext = cursor_take(c, 8);
			if (!ext)
				return -1;
			len = next == 51 ? (ext[1] + 2u) * 4 : (ext[1] + 1u) * 8;
			if (len > 8 && !cursor_take(c, len - 8))
				return -1;
			break;
		case 44:  /* fragment */
			ext = cursor_take(c, 8);
			if (!ext)
				return -1;
			if (load_be16(ext + 2) & 0xfff8)
				return -2;        /* not the first fragment */
			len = 8;
			break;
		case IPPROTO_TCP_:
			return (int)payload;
		default:
			return -2;
		}
		if (len > payload)
			return -1;
		payload -= len;
		next = ext[0];
	}
	return next == IPPROTO_TCP_ ? (int)payload : -2;
}

/* Lower (address, port) endpoint first, so both directions share one key.
 * Any total order works; raw words are compared as they are loaded. */
static inline int endpoint_is_lower(const __u64 *a, __u16 pa, const __u64 *b, __u16 pb)
{
	if (a[0] != b[0])
		return a[0] < b[0];
	if (a[1] != b[1])
		return a[1] < b[1];
	return pa <= pb;
}

static inline enum parse_result parse_packet(const void *data, const void *data_end,
					     struct packet *p)
{
	struct cursor c = { .pos = data, .end = data_end };
	__u64 saddr[2], daddr[2];
	const __u8 *tcp;
	__u16 proto, sport, dport;
	__u32 doff;
	int ip_payload, from_a;

	proto = parse_ethernet(&c);
	if (proto == ETHP_IPV4)
		ip_payload = parse_ipv4(&c, saddr, daddr);
	else if (proto == ETHP_IPV6)
		ip_payload = parse_ipv6(&c, saddr, daddr);
	else
		return proto ? PARSE_OTHER : PARSE_MALFORMED;
	if (ip_payload == -2)
		return PARSE_OTHER;
	if (ip_payload < 0)
		return PARSE_MALFORMED;

	tcp = cursor_take(&c, 20);
	if (!tcp)
		return PARSE_MALFORMED;
	doff = (tcp[12] >> 4) * 4u;
	if (doff < 20 || (__u32)ip_payload < doff)
		return PARSE_MALFORMED;
	if (doff > 20 && !cursor_take(&c, doff - 20))
		return PARSE_MALFORMED;

	sport = load_raw16(tcp);
	dport = load_raw16(tcp + 2);
	p->seq = load_be32(tcp + 4);
	p->ack = load_be32(tcp + 8);
	p->flags = tcp[13];
	p->payload_len = (__u32)ip_payload - doff;
	from_a = endpoint_is_lower(saddr, be16_to_host(sport), daddr, be16_to_host(dport));
	p->from_a = (__u8)from_a;
	if (from_a) {
		p->key.words[0] = saddr[0];
		p->key.words[1] = saddr[1];
		p->key.words[2] = daddr[0];
		p->key.words[3] = daddr[1];
	} else {
		p->key.words[0] = daddr[0];
		p->key.words[1] = daddr[1];
		p->key.words[2] = saddr[0];
		p->key.words[3] = saddr[1];
	}
	p->key.port_a = from_a ? sport : dport;
	p->key.port_b = from_a ? dport : sport;
	p->key.family = proto == ETHP_IPV4 ? 4 : 6;
	p->key.iface = 0;      /* the caller knows the interface */
	p->key.pad = 0;
	return PARSE_TCP;
}

#endif /* TCPSHAKE_PARSE_H */
