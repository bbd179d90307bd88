// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * 802.1Q tagging for the integration tests on kernels without VLAN
 * sub-interfaces (CONFIG_VLAN_8021Q off): a tc program pushes the tag on
 * egress and another pops it on ingress, on both ends of the test veth pair
 * (inside the test namespaces only). With tx VLAN offload off, the tag is
 * written into the frame, so the peer's XDP hook and the capture see real
 * tagged frames. Built twice: -DVLAN_PUSH (egress) and without (ingress);
 * the VLAN id comes from the compiler (-DVLAN_ID=...).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef VLAN_ID
#define VLAN_ID 100
#endif

#ifdef VLAN_PUSH
SEC("tc")
int vlan_push(struct __sk_buff *skb)
{
	if (!skb->vlan_present &&
	    (skb->protocol == bpf_htons(ETH_P_IP) || skb->protocol == bpf_htons(ETH_P_IPV6)))
		bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), VLAN_ID);
	return TC_ACT_OK;
}
#else
SEC("tc")
int vlan_pop(struct __sk_buff *skb)
{
	/* The receive path has moved the tag out of the frame already. */
	if (skb->vlan_present && (skb->vlan_tci & 0x0fff) == VLAN_ID)
		bpf_skb_vlan_pop(skb);
	return TC_ACT_OK;
}
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";
