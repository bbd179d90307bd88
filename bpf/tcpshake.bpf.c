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

SEC("xdp")
int tcpshake_xdp(struct xdp_md *ctx)
{
	struct hook_frame f = hook_frame_linear((void *)(long)ctx->data,
						(void *)(long)ctx->data_end);

	track(&f, ctx->ingress_ifindex, 0);
	return XDP_PASS;
}

SEC("tc")
int tcpshake_tc_in(struct __sk_buff *skb)
{
	struct hook_frame f = skb_hook_frame(skb);

	track(&f, skb->ifindex, 0);
	return TC_ACT_UNSPEC_;
}

SEC("tc")
int tcpshake_tc_out(struct __sk_buff *skb)
{
	struct hook_frame f;

	/* Forwarded back out the interface it came in on: our ingress hook on
	 * this interface has counted it already. */
	if (skb->ingress_ifindex == skb->ifindex) {
		struct iface_stats *st = stats_of(iface_slot(skb->ifindex));

		if (st)
			st->egress_duplicates++;
		return TC_ACT_UNSPEC_;
	}
	f = skb_hook_frame(skb);
	track(&f, skb->ifindex, 1);
	return TC_ACT_UNSPEC_;
}

SEC("syscall")
int tcpshake_sweep(struct sweep_slice *slice)
{
	return sweep_slice(slice->index, slice->count);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
