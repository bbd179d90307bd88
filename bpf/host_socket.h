/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What this host's kernel knows of a connection: a platform accessor of the
 * kernel programs (platform.bpf.h), which track_segment() asks for a RST
 * from the network; the native platform has no host (src/native.h).
 */
#ifndef TCPSHAKE_HOST_SOCKET_H
#define TCPSHAKE_HOST_SOCKET_H

#include "tcpshake/parse.h"

/* A RST from the network: what this host's kernel holds for its
 * connection, read from its socket into p. host_rcv_nxt, the socket's
 * RCV.NXT, is where the kernel itself checks the RST (fsm_rst_plausible()
 * does the same); host_backlog, the bytes (truesize) waiting in the
 * socket's backlog while its application holds it, which the kernel takes
 * in before this RST. The socket is looked up in the interface's network
 * namespace, as the stack will for this packet; a listener, a TIME-WAIT or
 * request socket, or none, leaves p as it was. tcp_sock is read at the
 * offsets the loader found in the kernel's BTF (cfg.tcp_rcv_nxt_off, none:
 * nothing is looked up; cfg.tcp_backlog_len_off) through
 * bpf_probe_read_kernel, so a wrong offset could only read a wrong value.
 * Not inlined: the tuple's stack stays off the slow path's call chain. */
static __noinline int host_rcv_nxt(void *ctx, struct packet *p)
{
	struct bpf_sock_tuple t = {};
	const __u32 *src, *dst;
	struct bpf_sock *sk;
	struct tcp_sock *tp;
	__u16 sport, dport;     /* network order, as the key holds them */
	__u32 size;

	if (!cfg.tcp_rcv_nxt_off || !p)
		return 0;
	src = (const __u32 *)(p->from_a ? p->key.addr_a : p->key.addr_b);
	dst = (const __u32 *)(p->from_a ? p->key.addr_b : p->key.addr_a);
	sport = p->from_a ? p->key.port_a : p->key.port_b;
	dport = p->from_a ? p->key.port_b : p->key.port_a;
	if (p->key.family == 4) {
		t.ipv4.saddr = src[3];
		t.ipv4.daddr = dst[3];
		t.ipv4.sport = sport;
		t.ipv4.dport = dport;
		size = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, src, 16);
		__builtin_memcpy(t.ipv6.daddr, dst, 16);
		t.ipv6.sport = sport;
		t.ipv6.dport = dport;
		size = sizeof(t.ipv6);
	}
	sk = bpf_sk_lookup_tcp(ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	if (sk->state != BPF_TCP_LISTEN) {
		tp = bpf_skc_to_tcp_sock(sk);
		if (tp && !bpf_probe_read_kernel(&p->host_rcv_nxt, sizeof(p->host_rcv_nxt),
						 (const char *)tp + cfg.tcp_rcv_nxt_off)) {
			__s32 backlog = 0;

			p->marks |= PKT_HOST_RCV_KNOWN;
			if (cfg.tcp_backlog_len_off &&
			    !bpf_probe_read_kernel(&backlog, sizeof(backlog),
						   (const char *)tp + cfg.tcp_backlog_len_off) &&
			    backlog > 0)
				p->host_backlog = (__u32)backlog;
		}
	}
	bpf_sk_release(sk);
	return 0;
}

#endif /* TCPSHAKE_HOST_SOCKET_H */
