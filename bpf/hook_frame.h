/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A frame held whole, as the native core (offline replay, unit tests,
 * fuzzers) hands it to the core: its readable bytes and its whole length.
 * Parsing, and the unparsed counters every hook keeps.
 * (The production hooks parse with hook_parse.h, which also pulls a tc
 * packet's headers into its linear part.)
 */
#ifndef TCPSHAKE_HOOK_FRAME_H
#define TCPSHAKE_HOOK_FRAME_H

#ifndef TCPSHAKE_PLATFORM
#error "include a platform first: platform.bpf.h (kernel) or native.h (user space)"
#endif
#include "tcpshake/parse.h"

struct hook_frame {
	const void *data;         /* readable bytes: [data, data_end) */
	const void *data_end;
	__u32 len;                /* the whole frame */
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

static __always_inline enum parse_result hook_frame_parse(const struct hook_frame *f, int raw_ip,
							  struct packet *p)
{
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
