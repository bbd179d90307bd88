/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* --local-net CIDR blocks: which addresses are "this side" of a capture, so
 * replay can tell the tracking core which packets left the local host(s). */
#ifndef TCPSHAKE_LOCALNET_H
#define TCPSHAKE_LOCALNET_H

#include <stdbool.h>
#include <linux/types.h>

#define LOCALNET_MAX 64

struct cidr {
	__u8 family;          /* 4 or 6 */
	__u8 prefix;          /* bits */
	__u8 addr[16];        /* network bytes; IPv4 in the first 4 */
};

struct localnets {
	int n;
	struct cidr net[LOCALNET_MAX];
};

/* "10.0.0.0/8", "fd00::/8", or a bare address (a host). 0, or -1 when text
 * is not a CIDR block. */
int cidr_parse(struct cidr *c, const char *text);
/* Whether the address (4 or 16 bytes of family 4 or 6) is in any block. */
bool localnets_match(const struct localnets *l, int family, const __u8 *addr);

#endif
