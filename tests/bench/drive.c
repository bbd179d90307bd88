// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "craft.h"
#include "drive.h"
#include "tcpshake/parse.h"
#include "reader.h"
#include "tcpshake.skel.h"

#define SERVER    "10.255.0.1"
#define CLIENT_ISN 1000u
#define SERVER_ISN 5000u

int drive_open(struct drive *d, const struct options *o)
{
	memset(d, 0, sizeof(*d));
	d->ifindex = 1;
	return loader_load(&d->l, o, &d->ifindex, 1);
}

void drive_close(struct drive *d)
{
	loader_close(&d->l);
}

static int run(int prog_fd, const __u8 *pkt, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = (__u32)len);

	return bpf_prog_test_run_opts(prog_fd, &opts) ? -errno : 0;
}

/* One segment of connection i, through XDP ingress (from the client) or tc
 * egress (from the server). */
static int segment(struct drive *d, __u32 i, bool from_server, __u8 flags, __u32 seq, __u32 ack)
{
	struct craft c = { .family = 4, .flags = flags, .seq = seq, .ack = ack };
	char client[32];
	__u8 pkt[256];
	size_t len;

	snprintf(client, sizeof(client), "10.%u.%u.%u", 64 + (i >> 16), (i >> 8) & 255, i & 255);
	c.src = from_server ? SERVER : client;
	c.dst = from_server ? client : SERVER;
	c.sport = from_server ? 443 : 40000;
	c.dport = from_server ? 40000 : 443;
	len = craft_packet(pkt, sizeof(pkt), &c);
	return run(bpf_program__fd(from_server ? d->l.skel->progs.tcpshake_tc_out :
				   d->l.skel->progs.tcpshake_xdp), pkt, len);
}

int drive_refused(struct drive *d, __u32 i)
{
	int err = segment(d, i, false, TCPF_SYN, CLIENT_ISN, 0);

	return err ? err : segment(d, i, true, TCPF_RST | TCPF_ACK, 0, CLIENT_ISN + 1);
}

int drive_established(struct drive *d, __u32 i)
{
	int err = segment(d, i, false, TCPF_SYN, CLIENT_ISN, 0);

	if (!err)
		err = segment(d, i, true, TCPF_SYN | TCPF_ACK, SERVER_ISN, CLIENT_ISN + 1);
	return err ? err : segment(d, i, false, TCPF_ACK, CLIENT_ISN + 1, SERVER_ISN + 1);
}

int drive_stats(struct drive *d, struct iface_stats *st)
{
	return percpu_sum(bpf_map__fd(d->l.skel->maps.stats), 0, st, sizeof(*st), d->l.ncpus, NULL);
}
