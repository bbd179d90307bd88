// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcpshake-mon's BPF programs: thin wrappers over one core (track.h). The
 * observer never changes traffic: XDP always passes, tc always hands the
 * packet to the next program or the default action.
 */
#include "kernel.bpf.h"
#include "platform.bpf.h"
#include "track.h"
#include "host_socket.h"
#include "sweep.h"
#include "hook_parse.h"

/* Each program's struct packet is not cleared first (8 stores a packet): a
 * parse that returns PARSE_TCP has written every byte of it
 * (test_parse), and nothing reads it after any other result. */

SEC("xdp")
int tcpshake_xdp(struct xdp_md *ctx)
{
	__u32 iface = iface_slot(ctx->ingress_ifindex);
	struct packet p;

	if (iface < MAX_IFACES)
		track_parsed(arriving(ctx, parse_xdp(ctx, iface_raw_ip(iface), &p), &p, iface), iface, &p, 0);
	return XDP_PASS;
}

SEC("tc")
int tcpshake_tc_in(struct __sk_buff *skb)
{
	__u32 iface = iface_slot(skb->ifindex);
	struct packet p;

	if (iface < MAX_IFACES)
		track_parsed(arriving(skb, parse_skb(skb, iface_raw_ip(iface), &p), &p, iface), iface, &p, 0);
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
	track_parsed(parse_skb(skb, iface_raw_ip(iface), &p), iface, &p, 1);
	return TC_ACT_UNSPEC_;
}

SEC("syscall")
int tcpshake_sweep(struct sweep_slice *slice)
{
	return sweep_slice(slice->index, slice->count);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
