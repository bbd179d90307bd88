/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What a hook hands the core: the frame's readable bytes, its whole length
 * and, on tc, the skb, so headers outside the linear area can be pulled in
 * instead of being counted as truncated. Parsing and the unparsed counters.
 */
#ifndef TCPSHAKE_HOOK_FRAME_H
#define TCPSHAKE_HOOK_FRAME_H

#ifndef TCPSHAKE_PLATFORM
#error "include a platform first: platform.bpf.h (kernel) or native.h (user space)"
#endif
#include "tcpshake/parse.h"

/* Bytes pulled into the linear area when headers reach past it: Ethernet,
 * three VLAN tags, IPv6 with extension headers, TCP with options. */
#define FRAME_PULL_MAX 512

struct hook_frame {
	const void *data;         /* readable bytes: [data, data_end) */
	const void *data_end;
	__u32 len;                /* the whole frame, paged part included */
	__u32 pad;
	void *skb;                /* tc: the skb to pull headers into; NULL elsewhere */
};

/* An XDP frame, or any buffer held whole. (The verifier allows the
 * difference of two packet pointers with CAP_PERFMON, which tcpshake-mon
 * requires anyway.) */
static __always_inline struct hook_frame hook_frame_linear(const void *data,
							   const void *data_end)
{
	struct hook_frame f = { .data = data, .data_end = data_end,
			   .len = (__u32)((const __u8 *)data_end - (const __u8 *)data) };

	return f;
}

/* How many bytes to pull into the linear part and parse again after a
 * parse that ended with r, or 0: only headers cut off by the end of the
 * linear part (tc: GRO, paged skbs) are worth it, and only once. */
static __always_inline __u32 frame_pull_len(enum parse_result r, __u32 len, __u32 linear)
{
	if (r != PARSE_TRUNCATED || len <= linear)
		return 0;
	return len < FRAME_PULL_MAX ? len : FRAME_PULL_MAX;
}

/* Parses the frame, pulling headers in once where frame_pull_len() says. */
static __always_inline enum parse_result hook_frame_parse(struct hook_frame *f, int raw_ip,
							  struct packet *p)
{
	enum parse_result r = parse_frame(f->data, f->data_end, f->len, raw_ip, p);
	__u32 pull = frame_pull_len(r, f->len,
				    (__u32)((const __u8 *)f->data_end - (const __u8 *)f->data));

	if (!pull || !f->skb || skb_pull_headers(f->skb, pull, &f->data, &f->data_end))
		return r;
	return parse_frame(f->data, f->data_end, f->len, raw_ip, p);
}

static __always_inline int iface_raw_ip(__u32 iface)
{
	return iface < MAX_IFACES ? (cfg.raw_ip_mask >> iface) & 1 : 0;
}

/* A frame parsed to something other than TCP: counted when it is unparsed. */
static __always_inline void count_unparsed(struct iface_stats *st, enum parse_result r)
{
	__u32 reason = (__u32)r - PARSE_UNPARSED_FIRST;

	if (reason >= UNPARSED_MAX)
		return;
	st->unparsed++;
	st->unparsed_by[reason]++;
}

#endif /* TCPSHAKE_HOOK_FRAME_H */
