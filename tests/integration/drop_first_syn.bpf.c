// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A router that loses one SYN, for test_unreachable.sh: on the server
 * namespace's tc ingress (a classic clsact filter, which runs after the
 * monitor's XDP or tcx program and after the capture's tap), the first
 * IPv4 SYN to DROP_DST (a compiler definition, host byte order) is dropped,
 * every other packet passes. The SYN's sender retransmits it after 1 s.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef DROP_DST
#error "DROP_DST: the IPv4 destination whose first SYN is dropped"
#endif

static volatile __u32 dropped;

SEC("tc")
int drop_first_syn(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_TCP || ip->daddr != bpf_htonl(DROP_DST) || dropped)
		return TC_ACT_OK;
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > end || !tcp->syn || tcp->ack)
		return TC_ACT_OK;
	dropped = 1;
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
