// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Event generator for evbench: the production core (bpf/track.h) on a
 * client's SYN seen at ingress (evgen_syn) and on the server's refusing RST
 * seen at egress (evgen_rst), wrapped as tcpshake.bpf.c wraps it for tc.
 * After each run the client address steps to the next one in 10.64.0.0/10,
 * so with BPF_PROG_TEST_RUN repetition k of both programs is client k: a
 * batch of SYNs, then the batch of RSTs, makes one refused event per client.
 * The way through is the production hooks' (hook.h), so the verifier sees
 * what it sees in tcpshake.bpf.c's tc programs.
 * tc, not XDP: an XDP test run with repetitions updates the XDP dispatcher
 * twice per call, and each update waits for an RCU grace period.
 */
#include "kernel.bpf.h"
#include "platform.bpf.h"
#include "hook.h"

#define CLIENT_NET   0x0a400000u   /* 10.64.0.0 */
#define CLIENT_HOSTS 0x003fffffu   /* a /10 */
#define ETH_IP       14            /* crafted packets: Ethernet, then IPv4 */

static __always_inline void next_client(struct __sk_buff *skb, __u32 addr_off)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u32 *addr = data + addr_off, a;

	if ((void *)(addr + 1) > end)
		return;
	a = __builtin_bswap32(*addr) + 1;
	*addr = __builtin_bswap32(CLIENT_NET | (a & CLIENT_HOSTS));
}

SEC("tc")
int evgen_syn(struct __sk_buff *skb)
{
	__u32 iface = iface_slot(skb->ifindex);
	struct packet p;

	if (iface < MAX_IFACES)
		hook_skb(skb, iface, DIR_INGRESS, &p);
	next_client(skb, ETH_IP + 12);     /* the source */
	return TC_ACT_UNSPEC_;
}

SEC("tc")
int evgen_rst(struct __sk_buff *skb)
{
	__u32 iface = iface_slot(skb->ifindex);
	struct packet p;

	if (iface < MAX_IFACES)
		hook_skb(skb, iface, DIR_EGRESS, &p);
	next_client(skb, ETH_IP + 16);     /* the destination */
	return TC_ACT_UNSPEC_;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
