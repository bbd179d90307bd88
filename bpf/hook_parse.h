/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * How the kernel hooks parse a frame into a struct packet (parse.h), XDP's
 * and tc's: the one parse of the production programs, also used by the
 * bench programs that run the core as a hook does (tests/bpf/bench.bpf.c,
 * tests/bench/evgen.bpf.c).
 */
#ifndef TCPSHAKE_HOOK_PARSE_H
#define TCPSHAKE_HOOK_PARSE_H

#ifndef TCPSHAKE_PLATFORM
#error "include platform.bpf.h first: the hooks' parse is kernel-only"
#endif
#include "tcpshake/parse.h"

/* Bytes pulled into the linear area when headers reach past it: Ethernet,
 * three VLAN tags, IPv6 with extension headers, TCP with options. */
#define FRAME_PULL_MAX 512

/* How many bytes to pull into the linear part and parse again after a
 * parse that ended with r, or 0: only headers cut off by the end of the
 * linear part (tc: GRO, paged skbs) are worth it, and only once. */
static __always_inline __u32 frame_pull_len(enum parse_result r, __u32 len, __u32 linear)
{
	if (r != PARSE_TRUNCATED || len <= linear)
		return 0;
	return len < FRAME_PULL_MAX ? len : FRAME_PULL_MAX;
}

/* Parsing (parse.h): the IPv6 extension-header walk is a function the
 * verifier checks once, called only when there are extension headers, and
 * the offset and payload it hands back are unknown to the verifier. Inlined,
 * every way the walk can end was carried into the TCP stage and the core:
 * the tc programs, which may parse twice, took 570k of the verifier's 1M
 * instructions and a monitor took 3 s to load. Each hook's parse is a
 * function as well, so that the ways it can end are not carried into the
 * core either. Global functions check their pointers themselves. */

/* Where a parse stands: the cursor's offset and the IP payload left. */
struct parse_progress {
	__u32 off;
	__u32 ip_payload;
};

/* A cursor off bytes into a frame whose readable bytes are
 * [data, data_end) and whole length len. 0 past any header a parse reaches,
 * which also bounds the offset for the verifier. */
static __always_inline int cursor_at(struct cursor *c, const void *data, const void *data_end,
				     __u32 len, __u32 off)
{
	if (off > PARSE_OFF_MAX)
		return 0;
	c->pos = (const __u8 *)data + off;
	c->end = data_end;
	c->off = off;
	c->frame_len = len;
	return 1;
}

static __always_inline int xdp_cursor(struct xdp_md *ctx, __u32 off, struct cursor *c)
{
	const void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;

	return cursor_at(c, data, data_end, (__u32)((const __u8 *)data_end - (const __u8 *)data), off);
}

/* skb->len counts the paged part too: IP lengths are checked against it. */
static __always_inline int skb_cursor(struct __sk_buff *skb, __u32 off, struct cursor *c)
{
	return cursor_at(c, (void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, off);
}

/* Stages 1 and 2 (link, network header): PARSE_TCP with *at where the
 * network header ended and *next the protocol there, else the result. */
static __always_inline int parse_headers(struct cursor *c, int raw_ip, struct packet *p,
					 struct parse_progress *at, __u8 *next)
{
	int proto = parse_link(c, raw_ip), ip_payload;

	if (proto < 0)
		return -proto;
	ip_payload = parse_network(c, proto, p, next);
	if (ip_payload < 0)
		return -ip_payload;
	at->off = c->off;
	at->ip_payload = (__u32)ip_payload;
	return PARSE_TCP;
}

/* Stage 3 on a cursor at *at, the first header of protocol next: *at moves
 * past the extension headers; PARSE_TCP, or what the walk found instead. */
static __always_inline int walk_extensions(struct cursor *c, __u32 next,
					   struct parse_progress *at)
{
	int left = parse_extensions(c, (__u8)next, at->ip_payload);

	if (left < 0)
		return -left;
	at->off = c->off;
	at->ip_payload = (__u32)left;
	return PARSE_TCP;
}

CORE_GLOBAL int xdp_parse_extensions(struct xdp_md *ctx, __u32 next, struct parse_progress *at)
{
	struct cursor c;

	if (!ctx || !at || !xdp_cursor(ctx, at->off, &c))
		return PARSE_TRUNCATED;
	return walk_extensions(&c, next, at);
}

CORE_GLOBAL int skb_parse_extensions(struct __sk_buff *skb, __u32 next, struct parse_progress *at)
{
	struct cursor c;

	if (!skb || !at || !skb_cursor(skb, at->off, &c))
		return PARSE_TRUNCATED;
	return walk_extensions(&c, next, at);
}

/* An ICMP or ICMPv6 message at *at (parse_icmp_error()): functions of
 * their own for the same reason, and ICMP is rare beside TCP. */
CORE_GLOBAL int xdp_parse_icmp(struct xdp_md *ctx, __u32 next, const struct parse_progress *at,
			       struct packet *p)
{
	struct cursor c;

	if (!ctx || !at || !p || !xdp_cursor(ctx, at->off, &c))
		return PARSE_OTHER;
	return parse_icmp_error(&c, at->ip_payload, (__u8)next, p);
}

CORE_GLOBAL int skb_parse_icmp(struct __sk_buff *skb, __u32 next, const struct parse_progress *at,
			       struct packet *p)
{
	struct cursor c;

	if (!skb || !at || !p || !skb_cursor(skb, at->off, &c))
		return PARSE_OTHER;
	return parse_icmp_error(&c, at->ip_payload, (__u8)next, p);
}

static __always_inline int parse_xdp(struct xdp_md *ctx, int raw_ip, struct packet *p)
{
	struct parse_progress at;
	struct cursor c;
	__u8 next;
	int r;

	if (!ctx || !p || !xdp_cursor(ctx, 0, &c))
		return PARSE_OTHER;
	r = parse_headers(&c, raw_ip, p, &at, &next);
	if (r != PARSE_TCP)
		return r;
	if (next != IPPROTO_TCP_) {
		if (is_icmp(next))
			return xdp_parse_icmp(ctx, next, &at, p);
		r = xdp_parse_extensions(ctx, next, &at);
		if (r != PARSE_TCP || !xdp_cursor(ctx, at.off, &c))
			return r;
	}
	return parse_transport(&c, at.ip_payload, p);
}

/* The skb's linear part as it is now. */
static __always_inline int skb_parse_linear(struct __sk_buff *skb, int raw_ip, struct packet *p)
{
	struct parse_progress at;
	struct cursor c;
	__u8 next;
	int r;

	if (!skb_cursor(skb, 0, &c))
		return PARSE_OTHER;
	r = parse_headers(&c, raw_ip, p, &at, &next);
	if (r != PARSE_TCP)
		return r;
	if (next != IPPROTO_TCP_) {
		if (is_icmp(next))
			return skb_parse_icmp(skb, next, &at, p);
		r = skb_parse_extensions(skb, next, &at);
		if (r != PARSE_TCP || !skb_cursor(skb, at.off, &c))
			return r;
	}
	return parse_transport(&c, at.ip_payload, p);
}

/* Headers past the linear part (GRO, paged skbs) are pulled in once and
 * parsed again. */
static __always_inline int parse_skb(struct __sk_buff *skb, int raw_ip, struct packet *p)
{
	enum parse_result r;
	__u32 pull;

	if (!skb || !p)
		return PARSE_OTHER;
	r = skb_parse_linear(skb, raw_ip, p);
	pull = frame_pull_len(r, skb->len, skb->data_end - skb->data);
	if (!pull || bpf_skb_pull_data(skb, pull))
		return r;
	return skb_parse_linear(skb, raw_ip, p);
}

#endif /* TCPSHAKE_HOOK_PARSE_H */
