// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * hooks IFACE: prints the names of the BPF programs attached to IFACE, one
 * "hook:name" per line: xdp (any mode), tcx_ingress, tcx_egress, and
 * netlink tc filters (tc_ingress, tc_egress). The bpftool of Debian 12
 * predates tcx and cannot show those; tests use this to prove what is left
 * attached.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"

static void print_prog(const char *hook, __u32 id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		printf("%s:%s\n", hook, info.name[0] ? info.name : "unnamed");
	else
		printf("%s:id%u\n", hook, id);
	if (fd >= 0)
		close(fd);
}

static void tcx(int ifindex, int type, const char *hook)
{
	__u32 ids[64], cnt = 64, i;

	if (bpf_prog_query(ifindex, (enum bpf_attach_type)type, 0, NULL, ids, &cnt))
		return;
	for (i = 0; i < cnt; i++)
		print_prog(hook, ids[i]);
}

/* libbpf finds a netlink filter by handle and priority only: try tc's
 * default (handle 1, priority 49152) and every handle == priority up to
 * 2048, which covers libbpf's default (1, 1) and tcpshake-mon's (0x7c5). */
static void tc_netlink(int ifindex, enum bpf_tc_attach_point point, const char *hook)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, dflt, .handle = 1, .priority = 49152);
	__u32 prio;

	if (bpf_tc_query(&h, &dflt) == 0)
		print_prog(hook, dflt.prog_id);
	for (prio = 1; prio <= 2048; prio++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = prio, .priority = prio);

		if (bpf_tc_query(&h, &q) == 0)
			print_prog(hook, q.prog_id);
	}
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, xq);
	int ifindex;

	if (argc != 2 || !(ifindex = (int)if_nametoindex(argv[1]))) {
		fprintf(stderr, "usage: hooks IFACE\n");
		return 2;
	}
	libbpf_set_print(NULL);
	if (bpf_xdp_query(ifindex, 0, &xq) == 0 && xq.prog_id)
		print_prog("xdp", xq.prog_id);
	tcx(ifindex, ATTACH_TCX_INGRESS, "tcx_ingress");
	tcx(ifindex, ATTACH_TCX_EGRESS, "tcx_egress");
	tc_netlink(ifindex, BPF_TC_INGRESS, "tc_ingress");
	tc_netlink(ifindex, BPF_TC_EGRESS, "tc_egress");
	return 0;
}
