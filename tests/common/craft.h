/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Crafting Ethernet/VLAN/IPv4/IPv6/TCP packets for the parser and BPF tests. */
#ifndef TCPSHAKE_TEST_CRAFT_H
#define TCPSHAKE_TEST_CRAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct craft {
	int family;            /* 4 or 6 */
	const char *src;       /* textual addresses */
	const char *dst;
	__u16 sport, dport;
	__u32 seq, ack;
	__u8 flags;            /* TCP flag byte */
	__u16 payload;         /* payload bytes */
	int vlans;             /* 0..3 VLAN tags */
	bool qinq;             /* the outer tag is 802.1ad */
	int ip_options;        /* IPv4 option bytes (multiple of 4) */
	int tcp_options;       /* TCP option bytes (multiple of 4) */
	int v6_ext;            /* IPv6 destination-options headers before TCP */
	bool v6_frag;          /* an IPv6 fragment header */
	__u16 frag_offset;     /* fragment offset in 8-byte units (non-zero: not first) */
	__u8 ip_proto;         /* 0: TCP */
	int bad_ihl;           /* if non-zero, written as the IPv4 IHL */
	int bad_doff;          /* if non-zero, written as the TCP data offset */
	int truncate;          /* bytes cut from the end */
};

/* Writes the packet into buf; returns its length (0 if it does not fit). */
size_t craft_packet(__u8 *buf, size_t cap, const struct craft *c);

/* An ICMP error (ICMPv6 for a quoted IPv6 packet) of type and code from
 * address `from` to `to` (NULL: the quoted packet's sender), quoting the
 * IP header of the packet *quoted describes (untagged) and quote_len
 * bytes after it; returns the frame's length, 0 if it does not fit. */
size_t craft_icmp_error(__u8 *buf, size_t cap, const struct craft *quoted, const char *from,
			const char *to, __u8 type, __u8 code, size_t quote_len);

#endif
