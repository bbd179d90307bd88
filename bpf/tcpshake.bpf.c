// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcpshake-mon's BPF programs: thin wrappers over one core (track.h), each
 * a hook's way for a frame (hook.h). The observer never changes traffic:
 * XDP always passes, tc always hands the packet to the next program or the
 * default action.
 */
#include "kernel.bpf.h"
#include "platform.bpf.h"
#include "track.h"
#include "sweep.h"
#include "hook.h"

SEC("xdp")
int tcpshake_xdp(struct xdp_md *ctx)
{
	__u32 iface = iface_slot(ctx->ingress_ifindex);
	struct packet p;

	if (iface < MAX_IFACES)
		hook_xdp(ctx, iface, DIR_INGRESS, &p);
	return XDP_PASS;
}

SEC("tc")
int tcpshake_tc_in(struct __sk_buff *skb)
{
	__u32 iface = iface_slot(skb->ifindex);
	struct packet p;

	if (iface < MAX_IFACES)
		hook_skb(skb, iface, DIR_INGRESS, &p);
	return TC_ACT_UNSPEC_;
}

SEC("tc")
int tcpshake_tc_out(struct __sk_buff *skb)
{
	__u32 iface = iface_slot(skb->ifindex);
	struct packet p;

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
	hook_skb(skb, iface, DIR_EGRESS, &p);
	return TC_ACT_UNSPEC_;
}

SEC("syscall")
int tcpshake_sweep(struct sweep_slice *slice)
{
	return sweep_slice(slice->index, slice->count);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
