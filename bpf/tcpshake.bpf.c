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

#define TC_ACT_UNSPEC_ (-1)   /* tc: continue with the next program / default */

SEC("xdp")
int tcpshake_xdp(struct xdp_md *ctx)
{
	track((void *)(long)ctx->data, (void *)(long)ctx->data_end, ctx->ingress_ifindex, 0);
	return XDP_PASS;
}

SEC("tc")
int tcpshake_tc_in(struct __sk_buff *skb)
{
	track((void *)(long)skb->data, (void *)(long)skb->data_end, skb->ifindex, 0);
	return TC_ACT_UNSPEC_;
}

SEC("tc")
int tcpshake_tc_out(struct __sk_buff *skb)
{
	track((void *)(long)skb->data, (void *)(long)skb->data_end, skb->ifindex, 1);
	return TC_ACT_UNSPEC_;
}

SEC("syscall")
int tcpshake_sweep(void *ctx __attribute__((unused)))
{
	sweep_all();
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
