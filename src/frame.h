/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * From a captured frame of any supported link type to what the tracking core
 * takes (an Ethernet frame), and what the link layer says about direction.
 * Link types: Ethernet (VLAN tags are the core parser's), Linux cooked
 * captures SLL and SLL2 (the "any" device), raw IPv4/IPv6, BSD loopback.
 */
#ifndef TCPSHAKE_FRAME_H
#define TCPSHAKE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* LINKTYPE_* values (tcpdump.org/linktypes.html), as files store them. */
enum {
	LINKTYPE_NULL = 0,
	LINKTYPE_ETHERNET = 1,
	LINKTYPE_RAW = 101,
	LINKTYPE_LOOP = 108,
	LINKTYPE_LINUX_SLL = 113,
	LINKTYPE_IPV4 = 228,
	LINKTYPE_IPV6 = 229,
	LINKTYPE_LINUX_SLL2 = 276,
};

/* Who sent a segment, as the core's egress argument will take it:
 * a remote sender, this host, or not known (judged by sequence numbers). */
enum sender { SENDER_REMOTE = 0, SENDER_LOCAL = 1, SENDER_UNKNOWN = 2 };

/* The largest header stack the core parser walks: Ethernet, two VLAN tags,
 * IPv6 with six extension headers of at most 2 KiB, TCP with options. */
#define FRAME_HEADERS_MAX (14 + 8 + 40 + 6 * 2048 + 60)

struct frame {
	const __u8 *data;        /* an Ethernet frame for the core */
	const __u8 *end;
	enum sender sender;      /* from the link layer (cooked captures), else unknown */
};

/* Copy space for link types whose frames need a synthesised Ethernet header. */
struct frame_scratch {
	__u8 buf[FRAME_HEADERS_MAX + 14];
};

bool linktype_supported(int linktype);
/* One frame; false when its link-layer header is not all there. */
bool frame_from(struct frame *f, int linktype, const __u8 *data, __u32 caplen,
		struct frame_scratch *scratch);
/* The IPv4 or IPv6 addresses of an Ethernet frame (VLAN tags skipped):
 * family 4 or 6 and pointers to 4 or 16 bytes each, or family 0. */
int frame_addresses(const struct frame *f, const __u8 **src, const __u8 **dst);

#endif
