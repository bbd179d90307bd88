// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Programs that do nothing, the bench's references for what a hook costs
 * by itself.
 *
 * xdp_pass: `make bench` attaches it to the veth as a configuration of its
 * own: attaching any XDP program switches a veth to its NAPI receive path
 * (and turns off its peer's GSO), which changes throughput by itself.
 * tcpshake-mon with XDP ingress is compared with this as well as with no
 * program, so the monitor's own cost can be told apart from the hook's.
 *
 * tc_pass: attached at tc ingress and egress under the same paced load as
 * the monitor, its run time per packet (BPF_ENABLE_STATS) is the floor the
 * monitor's is read against: program entry, and the statistics' own clock
 * reads.
 */
#include "kernel.bpf.h"

SEC("xdp")
int xdp_pass(struct xdp_md *ctx __attribute__((unused)))
{
	return XDP_PASS;
}

SEC("tc")
int tc_pass(struct __sk_buff *skb __attribute__((unused)))
{
	return TC_ACT_UNSPEC_;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
