/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Attaching the packet programs to one interface and detaching exactly what
 * was attached. Links (XDP, tcx) are preferred: the kernel drops them when
 * the process dies, so a crashed run leaves nothing behind. Older kernels
 * get netlink tc filters, which a later run recognises and replaces.
 */
#ifndef TCPSHAKE_ATTACH_H
#define TCPSHAKE_ATTACH_H

#include <stdbool.h>
#include <net/if.h>
#include "options.h"

struct tcpshake_bpf;

/* tcx attach types (Linux 6.6); Debian 12's UAPI headers predate them. */
enum { ATTACH_TCX_INGRESS = 46, ATTACH_TCX_EGRESS = 47 };

enum hook_kind { HOOK_NONE = 0, HOOK_XDP_NATIVE, HOOK_XDP_GENERIC, HOOK_TCX, HOOK_TC_NETLINK };

struct attachment {
	char name[IF_NAMESIZE];
	unsigned int ifindex;
	enum hook_kind ingress;
	enum hook_kind egress;
	int ingress_fd;           /* link fd, or -1 */
	int egress_fd;
	bool created_clsact;      /* netlink fallback: we added the clsact qdisc */
	int lock_fd;              /* one monitor per interface: flock(2) held */
	int lock_dir_fd;
	char lock_name[IF_NAMESIZE + 32];
};

/* The ingress programs attach_iface() may use on interface name in mode, a
 * mask of these: the loader verifies only those (each costs about a third
 * of the start-up). Loopback uses none (egress sees every packet once). */
enum { INGRESS_PROG_XDP = 1, INGRESS_PROG_TC = 2 };
unsigned int attach_ingress_programs(const char *name, enum ingress_mode mode);
int attach_iface(struct tcpshake_bpf *skel, struct attachment *a, const char *name,
		 unsigned int ifindex, enum ingress_mode mode);
void detach_iface(struct attachment *a);
const char *hook_name(enum hook_kind k);

#endif
