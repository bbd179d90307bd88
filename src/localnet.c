// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "localnet.h"

int cidr_parse(struct cidr *c, const char *text)
{
	char buf[64], *slash, *end;
	unsigned long bits;
	int i, max;

	memset(c, 0, sizeof(*c));
	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, buf, c->addr) == 1)
		c->family = 4;
	else if (inet_pton(AF_INET6, buf, c->addr) == 1)
		c->family = 6;
	else
		return -1;
	max = c->family == 4 ? 32 : 128;
	bits = (unsigned long)max;
	if (slash) {
		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || slash[1] == '-' || bits > (unsigned long)max)
			return -1;
	}
	c->prefix = (__u8)bits;
	/* Host bits cleared, so matching is a masked compare. */
	for (i = 0; i < 16; i++) {
		int keep = (int)bits - 8 * i;

		if (keep <= 0)
			c->addr[i] = 0;
		else if (keep < 8)
			c->addr[i] &= (__u8)(0xff00 >> keep);
	}
	return 0;
}

static bool cidr_match(const struct cidr *c, const __u8 *addr)
{
	int full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, addr, (size_t)full))
		return false;
	return !rest || ((addr[full] ^ c->addr[full]) & (__u8)(0xff00 >> rest)) == 0;
}

bool localnets_match(const struct localnets *l, int family, const __u8 *addr)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (l->net[i].family == family && cidr_match(&l->net[i], addr))
			return true;
	return false;
}
