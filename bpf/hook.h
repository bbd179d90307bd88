/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A kernel hook's whole way for one frame: the parse (hook_parse.h), then
 * the core (track_parsed(), track.h), with the hook's context for what a
 * RST from the network asks this host (host_socket.h). The production
 * programs (tcpshake.bpf.c) and the generators of make bench and evbench
 * run these, so what is measured is what ships.
 *
 * p is the program's own packet, declared in the program: declared in
 * these functions instead, clang schedules the programs' code differently
 * (and it has been measured as it is). It is not cleared first (8 stores a
 * packet): a parse that returns PARSE_TCP has written every byte of it
 * (test_parse), and nothing reads it after any other result.
 */
#ifndef TCPSHAKE_HOOK_H
#define TCPSHAKE_HOOK_H

#include "track.h"
#include "hook_parse.h"

/* A frame at XDP on interface slot iface (< MAX_IFACES). */
static __always_inline void hook_xdp(struct xdp_md *ctx, __u32 iface, __u32 egress,
				     struct packet *p)
{
	int r = parse_xdp(ctx, iface_raw_ip(iface), p);

	track_parsed(ctx, r, iface, p, egress);
}

/* A frame at tc on interface slot iface (< MAX_IFACES). */
static __always_inline void hook_skb(struct __sk_buff *skb, __u32 iface, __u32 egress,
				     struct packet *p)
{
	int r = parse_skb(skb, iface_raw_ip(iface), p);

	track_parsed(skb, r, iface, p, egress);
}

#endif /* TCPSHAKE_HOOK_H */
