/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The packet parser: Ethernet (or nothing, on layer-3 links), up to three
 * VLAN tags, IPv4 or IPv6 (bounded extension-header walk), TCP; and the
 * TCP segment an ICMP error quotes (parse_icmp_error). Pure C over a
 * [data, data_end) cursor, so the same code runs in the BPF programs and
 * natively (offline replay, tests).
 * Every bound is checked before a read; what cannot be parsed is reported,
 * never dropped: the callers always pass the packet on. IP length fields are
 * checked against the whole frame: the kernel drops a packet that claims
 * more bytes than it has, so its sequence numbers must not be believed.
 * Checksums are not verified (that would read every payload byte).
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
#define IPPROTO_ICMP_   1
#define IPPROTO_ICMPV6_ 58
#define IPV6_MAX_EXT    6       /* extension headers we walk; more: ipv6_ext_depth */
#define VLAN_MAX_DEPTH  3       /* VLAN tags we skip; more: vlan_depth */
#define IP_LEN_MAX      0xffff  /* largest length an IP length field can hold */

/* Inlined at every call site: an outlined parser costs a BPF-to-BPF call
 * and a trip of the whole packet through the stack (+9 ns per packet). */
#define PARSE_INLINE static inline __attribute__((always_inline))

/* What became of a frame. The unparsed results map one to one onto enum
 * unparsed_reason (abi.h), in the same order. */
enum parse_result {
	PARSE_TCP = 0,        /* a TCP segment: struct packet is filled */
	PARSE_OTHER,          /* not TCP, or not the first fragment: not ours */
	/* An ICMP error quoting a TCP segment: struct packet is filled as
	 * that segment (key, from_a, seq) marked PKT_ICMP_ERROR
	 * (parse_icmp_error). */
	PARSE_ICMP_ERROR,
	PARSE_TRUNCATED,      /* UNPARSED_TRUNCATED, and so on */
	PARSE_BAD_LENGTH,
	PARSE_BAD_HEADER,
	PARSE_VLAN_DEPTH,
	PARSE_IPV6_EXT_DEPTH,
};
#define PARSE_UNPARSED_FIRST PARSE_TRUNCATED
_Static_assert(PARSE_IPV6_EXT_DEPTH - PARSE_UNPARSED_FIRST == UNPARSED_IPV6_EXT_DEPTH &&
	       PARSE_BAD_HEADER - PARSE_UNPARSED_FIRST == UNPARSED_BAD_HEADER &&
	       UNPARSED_MAX == 5, "parse results and unparsed reasons must line up");

struct packet {
	struct flow_key key;      /* canonical 4-tuple */
	__u32 seq;                /* host order */
	__u32 ack;
	__u32 payload_len;        /* TCP payload bytes (GSO: whole super-packet) */
	__u8  flags;              /* TCP flag byte */
	__u8  from_a;             /* the sender is endpoint a of the key */
	__u8  marks;              /* PKT_* */
	__u8  addr_order;         /* enum addr_order: the network stage's, for the transport's */
	/* A RST from the network: this host's own RCV.NXT for the connection,
	 * and the bytes (truesize) waiting in the socket's backlog, which the
	 * kernel takes in before the RST: read from its socket by the hook
	 * (host_socket.h). */
	__u32 host_rcv_nxt;
	__u32 host_backlog;
};

struct cursor {
	const __u8 *pos;
	const __u8 *end;          /* end of the readable (linear) bytes */
	__u32 off;                /* pos - start of the frame */
	__u32 frame_len;          /* the whole frame from the start, paged part included */
};

/* Returns a pointer to len readable bytes and advances, or NULL. */
PARSE_INLINE const __u8 *cursor_take(struct cursor *c, __u32 len)
{
	const __u8 *p = c->pos;

	if (p + len > c->end)
		return 0;
	c->pos = p + len;
	c->off += len;
	return p;
}

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

static inline __u16 load_be16(const __u8 *p) { return be16_to_host(load_raw16(p)); }
static inline __u32 load_be32(const __u8 *p) { return be32_to_host(load_raw32(p)); }

/* Ethernet and VLAN tags: the EtherType of the payload, or a negative
 * enum parse_result. */
PARSE_INLINE int parse_ethernet(struct cursor *c)
{
	const __u8 *eth = cursor_take(c, ETH_HLEN_);
	__u16 proto;
	int i;

	if (!eth)
		return -PARSE_TRUNCATED;
	proto = load_be16(eth + 12);
	for (i = 0; i < VLAN_MAX_DEPTH; i++) {
		const __u8 *tag;

		if (proto != ETHP_8021Q && proto != ETHP_8021AD)
			return proto;
		tag = cursor_take(c, 4);
		if (!tag)
			return -PARSE_TRUNCATED;
		proto = load_be16(tag + 2);
	}
	if (proto == ETHP_8021Q || proto == ETHP_8021AD)
		return -PARSE_VLAN_DEPTH;
	return proto;
}

/* A bare IP packet (layer-3 device): the version nibble tells the family. */
PARSE_INLINE int parse_raw_ip(struct cursor *c)
{
	if (c->pos + 1 > c->end)
		return -PARSE_TRUNCATED;
	switch (c->pos[0] >> 4) {
	case 4:  return ETHP_IPV4;
	case 6:  return ETHP_IPV6;
	default: return -PARSE_OTHER;
	}
}

/* How many bytes of the frame there are from the cursor on. */
PARSE_INLINE __u32 frame_left(const struct cursor *c)
{
	return c->frame_len > c->off ? c->frame_len - c->off : 0;
}

/* The IP length field against the frame: bytes the frame has for this IP
 * packet (header included) are `room`; returns the packet's length or 0.
 * A zero field is only valid for a packet too big for it (BIG TCP GSO
 * packets, IPv6 jumbograms): then the frame says how long it is. */
PARSE_INLINE __u32 ip_length(__u32 field, __u32 room)
{
	if (field == 0)
		return room > IP_LEN_MAX ? room : 0;
	return field <= room ? field : 0;
}

/* How the sender's address compares with the receiver's. The network stage
 * stores the addresses in the key lower first, and parse_transport() orders
 * the ports by it (endpoint a is the lower endpoint: address, then port).
 * Any total order works; raw words are compared as they are loaded. */
enum addr_order {
	ADDR_SENDER_LOWER = 0,
	ADDR_SENDER_EQUAL,
	ADDR_SENDER_HIGHER,
};

/* The IPv4-mapped IPv6 word of an address loaded raw: bytes 8..15 of
 * ::ffff:a.b.c.d are 00 00 ff ff a b c d. */
PARSE_INLINE __u64 ipv4_mapped_word(__u32 raw)
{
	return 0xffff0000ull | (__u64)raw << 32;
}

/* The addresses saddr (sender) and daddr of an IPv4 header, loaded raw, as
 * IPv4-mapped IPv6 words, lower first, in w[0..3], their order in *order. */
PARSE_INLINE void ipv4_key_words(__u32 saddr, __u32 daddr, __u64 *w, __u8 *order)
{
	/* Compared as their mapped words would be: the upper halves are equal. */
	*order = saddr < daddr ? ADDR_SENDER_LOWER :
		 saddr == daddr ? ADDR_SENDER_EQUAL : ADDR_SENDER_HIGHER;
	w[0] = w[2] = 0;
	w[1] = ipv4_mapped_word(saddr < daddr ? saddr : daddr);
	w[3] = ipv4_mapped_word(saddr < daddr ? daddr : saddr);
}

/* IPv4 header of a TCP segment or an ICMP message (*next says which): the
 * addresses in w[0..3] and *order (ipv4_key_words); returns the IP payload
 * length, or a negative enum parse_result. */
PARSE_INLINE int parse_ipv4(struct cursor *c, __u64 *w, __u8 *order, __u8 *next)
{
	__u32 room = frame_left(c), ihl, tot_len, saddr, daddr;
	const __u8 *ip = cursor_take(c, 20);

	if (!ip)
		return -PARSE_TRUNCATED;
	if ((ip[0] >> 4) != 4)
		return -PARSE_BAD_HEADER;
	ihl = (ip[0] & 0x0f) * 4u;
	if (ihl < 20)
		return -PARSE_BAD_HEADER;
	tot_len = ip_length(load_be16(ip + 2), room);
	if (tot_len < ihl)
		return -PARSE_BAD_LENGTH;
	if (ihl > 20 && !cursor_take(c, ihl - 20))
		return -PARSE_TRUNCATED;
	if (ip[9] != IPPROTO_TCP_ && ip[9] != IPPROTO_ICMP_)
		return -PARSE_OTHER;
	if (load_be16(ip + 6) & 0x1fff)   /* fragment offset: not the first */
		return -PARSE_OTHER;
	*next = ip[9];
	saddr = load_raw32(ip + 12);
	daddr = load_raw32(ip + 16);
	ipv4_key_words(saddr, daddr, w, order);
	return (int)(tot_len - ihl);
}

/* How the IPv6 address at s compares with the one at d, word by word as
 * they are loaded: two words at a time are all BPF's registers hold here. */
PARSE_INLINE __u8 ipv6_addr_order(const __u8 *s, const __u8 *d)
{
	__u64 s0 = load_raw64(s), d0 = load_raw64(d), s1, d1;

	if (s0 != d0)
		return s0 < d0 ? ADDR_SENDER_LOWER : ADDR_SENDER_HIGHER;
	s1 = load_raw64(s + 8);
	d1 = load_raw64(d + 8);
	if (s1 != d1)
		return s1 < d1 ? ADDR_SENDER_LOWER : ADDR_SENDER_HIGHER;
	return ADDR_SENDER_EQUAL;
}

/* The addresses of the IPv6 header at ip, lower first, in w[0..3], their
 * order in *order. */
PARSE_INLINE void ipv6_key_words(const __u8 *ip, __u64 *w, __u8 *order)
{
	const __u8 *lo, *hi;

	*order = ipv6_addr_order(ip + 8, ip + 24);
	/* Lower first; equal addresses either way round. */
	lo = *order == ADDR_SENDER_HIGHER ? ip + 24 : ip + 8;
	hi = *order == ADDR_SENDER_HIGHER ? ip + 8 : ip + 24;
	w[0] = load_raw64(lo);
	w[1] = load_raw64(lo + 8);
	w[2] = load_raw64(hi);
	w[3] = load_raw64(hi + 8);
}

/* IPv6 header; same conventions as IPv4, and *next is the protocol of the
 * header that follows it. */
PARSE_INLINE int parse_ipv6(struct cursor *c, __u64 *w, __u8 *order, __u8 *next)
{
	__u32 room = frame_left(c), payload;
	const __u8 *ip = cursor_take(c, 40);

	if (!ip)
		return -PARSE_TRUNCATED;
	if ((ip[0] >> 4) != 6)
		return -PARSE_BAD_HEADER;
	payload = ip_length(load_be16(ip + 4), room > 40 ? room - 40 : 0);
	if (!payload)
		return -PARSE_BAD_LENGTH;     /* larger than the frame, or zero */
	ipv6_key_words(ip, w, order);
	*next = ip[6];
	return (int)payload;
}

/* Stage 3: IPv6 extension headers from the cursor on, the first of protocol next,
 * in an IP payload of `payload` bytes (what is left of it at the cursor):
 * leaves the cursor at the TCP header and returns the payload left, or a
 * negative enum parse_result. Nothing to walk when next is TCP. */
PARSE_INLINE int parse_extensions(struct cursor *c, __u8 next, __u32 payload)
{
	__u32 i;

	for (i = 0; i < IPV6_MAX_EXT; i++) {
		const __u8 *ext;
		__u32 len;

		switch (next) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 51:  /* authentication header */
		case 44:  /* fragment */
			break;
		case IPPROTO_TCP_:
			return (int)payload;
		default:
			return -PARSE_OTHER;
		}
		if (payload < 8)
			return -PARSE_BAD_LENGTH;
		ext = cursor_take(c, 8);
		if (!ext)
			return -PARSE_TRUNCATED;
		if (next == 44) {
			if (load_be16(ext + 2) & 0xfff8)
				return -PARSE_OTHER;    /* not the first fragment */
			len = 8;
		} else {
			len = next == 51 ? (ext[1] + 2u) * 4 : (ext[1] + 1u) * 8;
		}
		if (len > payload)
			return -PARSE_BAD_LENGTH;
		if (len > 8 && !cursor_take(c, len - 8))
			return -PARSE_TRUNCATED;
		payload -= len;
		next = ext[0];
	}
	switch (next) {
	case IPPROTO_TCP_:
		return (int)payload;
	case 0: case 43: case 44: case 51: case 60:
		return -PARSE_IPV6_EXT_DEPTH;
	default:
		return -PARSE_OTHER;
	}
}

/* The key's last word (ports, family, interface) is computed in a register
 * and stored whole: the hash reads it as one word right after, and
 * natively one wide load of several narrower fresh stores is not forwarded
 * from them but waits until they reach the cache, on every packet. */
#define KEY_TAIL_IFACE_SHIFT 40
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ &&
	       __builtin_offsetof(struct flow_key, port_a) == 4 * sizeof(__u64) &&
	       __builtin_offsetof(struct flow_key, port_b) == 4 * sizeof(__u64) + 2 &&
	       __builtin_offsetof(struct flow_key, family) == 4 * sizeof(__u64) + 4 &&
	       __builtin_offsetof(struct flow_key, iface) == 4 * sizeof(__u64) + 5,
	       "key_tail() builds the flow key's fifth word, little-endian");

PARSE_INLINE __u64 key_tail(__u16 port_a, __u16 port_b, __u8 family)
{
	return port_a | (__u32)port_b << 16 | (__u64)family << 32;
}

/* Sets the interface of a parsed key (parse_transport() leaves it 0). */
PARSE_INLINE void key_set_iface(struct flow_key *k, __u8 iface)
{
	k->words[4] = (k->words[4] & ~(0xffull << KEY_TAIL_IFACE_SHIFT)) |
		      (__u64)iface << KEY_TAIL_IFACE_SHIFT;
}

/* The parse runs in stages, each starting where the last one left the
 * cursor: the link layer, the network header, IPv6 extension headers,
 * TCP. parse_frame() runs them one after the other. The BPF programs run
 * the extension headers in a function of their own, which the verifier
 * checks once, and only when there are some: inlined, every way the walk
 * can end was carried into the rest of the program (bpf/tcpshake.bpf.c). */

/* The header a parse may have to reach at most: a link layer with its VLAN
 * tags, IPv6 with every extension header walked at its largest, TCP with
 * options. */
#define PARSE_OFF_MAX   (ETH_HLEN_ + 4 * VLAN_MAX_DEPTH + 40 + IPV6_MAX_EXT * 2048 + 60)
_Static_assert(PARSE_OFF_MAX < 0xffff, "a header offset must fit the verifier's packet range");

/* Stage 1: Ethernet and VLAN tags, or nothing on a layer-3 link (raw_ip).
 * The EtherType of the network header at the cursor, or a negative
 * enum parse_result. */
PARSE_INLINE int parse_link(struct cursor *c, int raw_ip)
{
	return raw_ip ? parse_raw_ip(c) : parse_ethernet(c);
}

/* Stage 2: the network header of EtherType proto. Leaves the addresses in
 * p->key, lower first, their order in p->addr_order (parse_transport()
 * orders the ports by it), the family, and in *next the protocol of the
 * header at the cursor (TCP; an IPv6 extension header: parse_extensions();
 * ICMP or ICMPv6: parse_icmp_error()); returns the IP payload length, or
 * a negative enum parse_result. */
PARSE_INLINE int parse_network(struct cursor *c, int proto, struct packet *p, __u8 *next)
{
	__u64 *w = p->key.words;

	if (proto == ETHP_IPV4) {
		p->key.family = 4;
		return parse_ipv4(c, w, &p->addr_order, next);
	}
	if (proto == ETHP_IPV6) {
		p->key.family = 6;
		return parse_ipv6(c, w, &p->addr_order, next);
	}
	return -PARSE_OTHER;
}

/* The ports of the TCP header at tcp into p's key, ordered by the
 * addresses' order (p->addr_order), and which endpoint sent it. */
PARSE_INLINE void set_ports(struct packet *p, const __u8 *tcp)
{
	__u16 sport = load_raw16(tcp), dport = load_raw16(tcp + 2);
	int from_a = p->addr_order == ADDR_SENDER_LOWER ||
		     (p->addr_order == ADDR_SENDER_EQUAL &&
		      be16_to_host(sport) <= be16_to_host(dport));

	p->from_a = (__u8)from_a;
	/* The caller knows the interface: key_set_iface(). */
	p->key.words[4] = key_tail(from_a ? sport : dport, from_a ? dport : sport,
				   p->key.family);
}

/* Stage 4: the TCP header at the cursor, of an IP payload of ip_payload
 * bytes; completes *p. */
PARSE_INLINE enum parse_result parse_transport(struct cursor *c, __u32 ip_payload,
						struct packet *p)
{
	const __u8 *tcp;
	__u32 doff;

	if (ip_payload < 20)
		return PARSE_BAD_LENGTH;
	tcp = cursor_take(c, 20);
	if (!tcp)
		return PARSE_TRUNCATED;
	doff = (tcp[12] >> 4) * 4u;
	if (doff < 20)
		return PARSE_BAD_HEADER;
	if (ip_payload < doff)
		return PARSE_BAD_LENGTH;
	if (doff > 20 && !cursor_take(c, doff - 20))
		return PARSE_TRUNCATED;

	p->seq = load_be32(tcp + 4);
	p->ack = load_be32(tcp + 8);
	p->flags = tcp[13];
	p->payload_len = ip_payload - doff;
	p->marks = 0;            /* PKT_HOST_RCV_KNOWN: the kernel hook's to set (host_socket.h) */
	p->host_rcv_nxt = 0;
	p->host_backlog = 0;
	set_ports(p, tcp);
	return PARSE_TCP;
}

/* Whether the protocol after the network header is ICMP or ICMPv6: the
 * stage parse_icmp_error() reads. */
PARSE_INLINE int is_icmp(__u8 next)
{
	return next == IPPROTO_ICMP_ || next == IPPROTO_ICMPV6_;
}

/* Whether an ICMP message of type and code, of the family's ICMP, makes
 * the kernel of the quoted SYN's sender give up its connection attempt at
 * once (Linux: tcp_v4_err() and tcp_v6_err() end a SYN-SENT socket on
 * each): destination unreachable (IPv4's up to code 15, but 4, which is
 * path MTU discovery's "fragmentation needed"), time exceeded, parameter
 * problem. IPv6's packet too big and every informational type are not. */
PARSE_INLINE int icmp_ends_attempt(__u8 family, __u8 type, __u8 code)
{
	if (family == 4)
		return (type == 3 && code <= 15 && code != 4) || type == 11 || type == 12;
	return type == 1 || type == 3 || type == 4;
}

/* Whether an error that ends an attempt (icmp_ends_attempt()) also makes
 * the kernel of a quoted SYN-ACK's sender drop its half-open request at
 * once (Linux: tcp_req_err(), from tcp_v4_err() and tcp_v6_err()): for
 * IPv4 network or host unreachable, time exceeded and parameter problem;
 * for IPv6 what icmpv6_err_convert() calls fatal: destination unreachable
 * but no route (0), beyond scope (2) and address unreachable (3), and
 * parameter problem. The others leave the request to its SYN-ACK
 * retransmissions. */
PARSE_INLINE int icmp_drops_request(__u8 family, __u8 type, __u8 code)
{
	if (family == 4)
		return (type == 3 && code <= 1) || type == 11 || type == 12;
	return (type == 1 && code != 0 && code != 2 && code != 3) || type == 4;
}

/* Whether the raw words a and b of an IPv6 address (the mapped form, for
 * IPv4) are the receiver's of the network header parsed into p: the
 * higher one when the sender's is lower. */
PARSE_INLINE int addressed_to(const struct packet *p, __u64 a, __u64 b)
{
	const __u64 *w = p->key.words + (p->addr_order == ADDR_SENDER_LOWER ? 2 : 0);

	return w[0] == a && w[1] == b;
}

/* Stage 3 for an ICMP or ICMPv6 message (protocol next) of ip_payload
 * bytes at the cursor, whose network header is parsed into *p: an error
 * that ends a connection attempt (icmp_ends_attempt()) quoting a TCP
 * segment's first 8 bytes, sent to that segment's sender, refills *p as
 * the quoted segment (addresses, ports, sequence number; no payload; its
 * ack the error's type << 8 | code) marked PKT_ICMP_ERROR (and
 * PKT_ICMP_DROPS_REQUEST: icmp_drops_request()) and returns
 * PARSE_ICMP_ERROR; anything else, short or odd quotes too, is not ours
 * (PARSE_OTHER). The destination is checked because only there does the
 * error end anything.
 * Quoted IPv6 extension headers are not walked: errors quote the headers
 * the segment was sent with, and this host's SYNs carry none. */
PARSE_INLINE enum parse_result parse_icmp_error(struct cursor *c, __u32 ip_payload, __u8 next,
						 struct packet *p)
{
	__u8 v4 = p->key.family == 4, order;
	const __u8 *icmp, *ip, *tcp;
	__u32 quoted_ip;

	if (next != (v4 ? IPPROTO_ICMP_ : IPPROTO_ICMPV6_))
		return PARSE_OTHER;
	icmp = cursor_take(c, 8);
	if (!icmp || !icmp_ends_attempt(p->key.family, icmp[0], icmp[1]))
		return PARSE_OTHER;
	ip = cursor_take(c, v4 ? 20 : 40);
	if (!ip || (ip[0] >> 4) != (v4 ? 4 : 6))
		return PARSE_OTHER;
	if (v4) {
		__u32 saddr = load_raw32(ip + 12);

		quoted_ip = (ip[0] & 0x0f) * 4u;
		if (ip[9] != IPPROTO_TCP_ || quoted_ip < 20 || (load_be16(ip + 6) & 0x1fff) ||
		    !addressed_to(p, 0, ipv4_mapped_word(saddr)))
			return PARSE_OTHER;
		if (quoted_ip > 20 && !cursor_take(c, quoted_ip - 20))
			return PARSE_OTHER;
		ipv4_key_words(saddr, load_raw32(ip + 16), p->key.words, &order);
	} else {
		quoted_ip = 40;
		if (ip[6] != IPPROTO_TCP_ || !addressed_to(p, load_raw64(ip + 8), load_raw64(ip + 16)))
			return PARSE_OTHER;
		ipv6_key_words(ip, p->key.words, &order);
	}
	tcp = cursor_take(c, 8);
	if (!tcp || ip_payload < 8 + quoted_ip + 8)
		return PARSE_OTHER;
	p->addr_order = order;
	p->seq = load_be32(tcp + 4);
	p->ack = (__u32)icmp[0] << 8 | icmp[1];   /* what the quote has no use for: the error */
	/* Taken for a SYN: only an error about a SYN or SYN-ACK changes
	 * anything (the quote has no flags; its side and sequence number tell
	 * which), and as a bare SYN the core asks the handshake table alone
	 * (track_slow()). */
	p->flags = TCPF_SYN;
	p->payload_len = 0;
	p->marks = PKT_ICMP_ERROR |
		   (icmp_drops_request(p->key.family, icmp[0], icmp[1]) ? PKT_ICMP_DROPS_REQUEST : 0);
	p->host_rcv_nxt = 0;
	p->host_backlog = 0;
	set_ports(p, tcp);
	return PARSE_ICMP_ERROR;
}

/* Whether a parsed segment's sender and receiver are one address and
 * port: a socket connected to itself, or a forged LAND packet. */
PARSE_INLINE int packet_to_itself(const struct packet *p)
{
	return p->addr_order == ADDR_SENDER_EQUAL && p->key.port_a == p->key.port_b;
}

/* Parses a frame: [data, data_end) are the readable bytes, frame_len the
 * whole frame's length (larger when the tail is paged: GSO, multi-buffer);
 * raw_ip when the link has no Ethernet header. */
PARSE_INLINE enum parse_result parse_frame(const void *data, const void *data_end,
					    __u32 frame_len, int raw_ip, struct packet *p)
{
	struct cursor c = { .pos = data, .end = data_end, .frame_len = frame_len };
	int proto, ip_payload;
	__u8 next;

	proto = parse_link(&c, raw_ip);
	if (proto < 0)
		return (enum parse_result)-proto;
	ip_payload = parse_network(&c, proto, p, &next);
	if (ip_payload >= 0 && is_icmp(next))
		return parse_icmp_error(&c, (__u32)ip_payload, next, p);
	if (ip_payload >= 0)
		ip_payload = parse_extensions(&c, next, (__u32)ip_payload);
	if (ip_payload < 0)
		return (enum parse_result)-ip_payload;
	return parse_transport(&c, (__u32)ip_payload, p);
}

/* An Ethernet frame held whole in [data, data_end). */
PARSE_INLINE enum parse_result parse_packet(const void *data, const void *data_end,
					     struct packet *p)
{
	return parse_frame(data, data_end, (__u32)((const __u8 *)data_end - (const __u8 *)data), 0, p);
}

#endif /* TCPSHAKE_PARSE_H */
