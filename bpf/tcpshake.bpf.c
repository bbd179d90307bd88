// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcpshake-mon's BPF programs: thin wrappers over one core (track.h). The
 * observer never changes traffic: XDP always passes, tc always hands the
 * packet to the next program or the default action.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "platform.bpf.h"
#include "track.h"
#include "sweep.h"
#include "tc_frame.h"

#define TC_ACT_UNSPEC_ (-1)   /* tc: continue with the next program / default */

/* Parsing is a function the verifier checks on its own: inlined, the many
 * ways a parse can end multiplied the states it carried into the core (the
 * tc programs, which may parse twice, took 640k of its 1M instructions).
 * A global function checks its pointers itself. */
CORE_GLOBAL int parse_xdp(struct xdp_md *ctx, int raw_ip, struct packet *p)
{
	struct hook_frame f;

	if (!ctx || !p)
		return PARSE_OTHER;
	f = hook_frame_linear((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return hook_frame_parse(&f, raw_ip, p);
}

CORE_GLOBAL int parse_skb(struct __sk_buff *skb, int raw_ip, struct packet *p)
{
	struct hook_frame f;

	if (!skb || !p)
		return PARSE_OTHER;
	f = skb_hook_frame(skb);
	return hook_frame_parse(&f, raw_ip, p);
}

SEC("xdp")
int tcpshake_xdp(struct xdp_md *ctx)
{
	__u32 iface = iface_slot(ctx->ingress_ifindex);
	struct packet p = {};

	if (iface < MAX_IFACES)
		track_parsed(parse_xdp(ctx, iface_raw_ip(iface), &p), iface, &p, 0);
	return XDP_PASS;
}

SEC("tc")
int tcpshake_tc_in(struct __sk_buff *skb)
{
	__u32 iface = iface_slot(skb->ifindex);
	struct packet p = {};

	if (iface < MAX_IFACES)
		track_parsed(parse_skb(skb, iface_raw_ip(iface), &p), iface, &p, 0);
	return TC_ACT_UNSPEC_;
}

SEC("tc")
int tcpshake_tc_out(struct __sk_buff *skb)
{
	__u32 iface = iface_slot(skb->ifindex);
	struct packet p = {};

	if (iface >= MAX_IFACES)
		return TC_ACT_UNSPEC_;
	/* Forwarded back out the interface it came in on: our ingress hook on
	 * this interface has counted it already. */
	if (skb->ingress_ifindex == skb->ifindex) {
		struct iface_stats *st = stats_of(iface);

		if (st)
			st->egress_duplicates++;
		return TC_ACT_UNSPEC_;
	}
	track_parsed(parse_skb(skb, iface_raw_ip(iface), &p), iface, &p, 1);
	return TC_ACT_UNSPEC_;
}

SEC("syscall")
int tcpshake_sweep(struct sweep_slice *slice)
{
	return sweep_slice(slice->index, slice->count);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
