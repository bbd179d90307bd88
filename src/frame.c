// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <string.h>
#include "frame.h"
#include "tcpshake/parse.h"

#define SLL_HLEN   16
#define SLL2_HLEN  20
#define NULL_HLEN  4
#define ETHP_NONE  0xffff      /* not IP: the core passes it as "other" */

/* Linux packet types (<linux/if_packet.h>): 0-3 arrived, 4 was sent here. */
#define PACKET_OTHERHOST_ 3
#define PACKET_OUTGOING_  4

bool linktype_supported(int linktype)
{
	switch (linktype) {
	case LINKTYPE_ETHERNET:
	case LINKTYPE_LINUX_SLL:
	case LINKTYPE_LINUX_SLL2:
	case LINKTYPE_RAW:
	case LINKTYPE_IPV4:
	case LINKTYPE_IPV6:
	case LINKTYPE_NULL:
	case LINKTYPE_LOOP:
		return true;
	default:
		return false;
	}
}

static enum sender linux_packet_type(unsigned int type)
{
	if (type == PACKET_OUTGOING_)
		return SENDER_LOCAL;
	return type <= PACKET_OTHERHOST_ ? SENDER_REMOTE : SENDER_UNKNOWN;
}

/* The one place a layer-3 packet becomes what the core takes: an Ethernet
 * header is written in front of a copy of its headers. When the core gets
 * an entry point for layer-3 packets, this becomes a pointer pass. */
static void layer3(struct frame *f, __u16 ethertype, const __u8 *l3, __u32 len,
		   struct frame_scratch *s)
{
	__u32 n = len < FRAME_HEADERS_MAX ? len : FRAME_HEADERS_MAX;

	memset(s->buf, 0, 12);
	s->buf[12] = (__u8)(ethertype >> 8);
	s->buf[13] = (__u8)ethertype;
	memcpy(s->buf + 14, l3, n);
	f->data = s->buf;
	f->end = s->buf + 14 + n;
}

static __u16 ip_version_ethertype(const __u8 *l3, __u32 len)
{
	if (!len)
		return ETHP_NONE;
	switch (l3[0] >> 4) {
	case 4:  return ETHP_IPV4;
	case 6:  return ETHP_IPV6;
	default: return ETHP_NONE;
	}
}

/* BSD loopback: the sender's address family, in its byte order (NULL) or
 * network order (LOOP); IPv6 is 10 on Linux, 24, 28 or 30 on the BSDs. */
static __u16 loopback_ethertype(const __u8 *h)
{
	__u32 fam;

	memcpy(&fam, h, 4);
	if (fam & 0xffff0000u)
		fam = __builtin_bswap32(fam);
	switch (fam) {
	case 2:
		return ETHP_IPV4;
	case 10: case 24: case 28: case 30:
		return ETHP_IPV6;
	default:
		return ETHP_NONE;
	}
}

bool frame_from(struct frame *f, int linktype, const __u8 *data, __u32 caplen,
		struct frame_scratch *scratch)
{
	f->sender = SENDER_UNKNOWN;
	switch (linktype) {
	case LINKTYPE_ETHERNET:
		f->data = data;
		f->end = data + caplen;
		return true;
	case LINKTYPE_LINUX_SLL:
		if (caplen < SLL_HLEN)
			return false;
		f->sender = linux_packet_type(load_be16(data));
		/* Bytes 2..15 are laid out like an Ethernet header: the protocol
		 * field sits where the EtherType would. No copy needed. */
		f->data = data + SLL_HLEN - ETH_HLEN_;
		f->end = data + caplen;
		return true;
	case LINKTYPE_LINUX_SLL2:
		if (caplen < SLL2_HLEN)
			return false;
		f->sender = linux_packet_type(data[10]);
		layer3(f, load_be16(data), data + SLL2_HLEN, caplen - SLL2_HLEN, scratch);
		return true;
	case LINKTYPE_NULL:
	case LINKTYPE_LOOP:
		if (caplen < NULL_HLEN)
			return false;
		layer3(f, loopback_ethertype(data), data + NULL_HLEN, caplen - NULL_HLEN, scratch);
		return true;
	case LINKTYPE_RAW:
	case LINKTYPE_IPV4:
	case LINKTYPE_IPV6:
		layer3(f, ip_version_ethertype(data, caplen), data, caplen, scratch);
		return true;
	default:
		return false;
	}
}

int frame_addresses(const struct frame *f, const __u8 **src, const __u8 **dst)
{
	struct cursor c = { .pos = f->data, .end = f->end };
	__u16 proto = parse_ethernet(&c);
	const __u8 *ip;

	if (proto == ETHP_IPV4 && (ip = cursor_take(&c, 20))) {
		*src = ip + 12;
		*dst = ip + 16;
		return 4;
	}
	if (proto == ETHP_IPV6 && (ip = cursor_take(&c, 40))) {
		*src = ip + 8;
		*dst = ip + 24;
		return 6;
	}
	return 0;
}
