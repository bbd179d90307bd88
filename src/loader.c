// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "geometry.h"
#include "iface.h"
#include "kernel_btf.h"
#include "loader.h"
#include "log.h"
#include "tcpshake.skel.h"
#include "tcpshake/fsm.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

int loader_check_environment(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data) == 0 &&
	    !has_cap(data, CAP_SYS_ADMIN) &&
	    !(has_cap(data, CAP_BPF) && has_cap(data, CAP_NET_ADMIN) && has_cap(data, CAP_PERFMON))) {
		log_error("must run as root or with CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON: try sudo");
		return -1;
	}
	/* One minimum kernel, Linux 5.17: the sweeper walks the tables with
	 * bpf_loop (5.17) from a syscall program (5.14). The kernel's BTF is
	 * not needed (bpf/kernel.bpf.h). */
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL) != 1 ||
	    libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SYSCALL, NULL) != 1 ||
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_SYSCALL, BPF_FUNC_loop, NULL) != 1) {
		log_error("this kernel lacks the BPF features tcpshake-mon needs (bpf_loop in syscall "
			  "programs): Linux 5.17 or newer is required");
		return -1;
	}
	return 0;
}

/* Sizes the tables and the masks the programs use; before load only. */
void loader_set_geometry(struct loader *l, const struct table_geometry *g)
{
	struct tcpshake_config *cfg = (struct tcpshake_config *)&l->skel->rodata->cfg;

	l->geo = *g;
	cfg->hs_mask = g->hs_buckets - 1;
	cfg->flow_mask = g->flow_buckets - 1;
	cfg->port_slots = g->port_slots;
	cfg->spill_max = g->spill_max;
	bpf_map__set_max_entries(l->skel->maps.hs_heads, g->hs_buckets);
	bpf_map__set_max_entries(l->skel->maps.hs_ways, g->hs_buckets);
	bpf_map__set_max_entries(l->skel->maps.flow_heads, g->flow_buckets);
	bpf_map__set_max_entries(l->skel->maps.flow_ways, g->flow_buckets);
	bpf_map__set_max_entries(l->skel->maps.flow_gate, g->flow_buckets);
	bpf_map__set_max_entries(l->skel->maps.flow_away, g->flow_buckets);
	bpf_map__set_max_entries(l->skel->maps.port_stats, g->port_slots);
}

/* Interfaces whose packets start with the IP header (tun, WireGuard, ipip...). */
static __u32 raw_ip_mask(const unsigned int *ifindex, int n)
{
	char name[IF_NAMESIZE];
	unsigned short arphrd;
	__u32 mask = 0;
	int i;

	for (i = 0; i < n && i < MAX_IFACES; i++)
		if (if_indextoname(ifindex[i], name) &&
		    iface_link_kind(name, &arphrd) == LINK_RAW_IP)
			mask |= 1u << i;
	return mask;
}

void config_host_socket(struct tcpshake_config *cfg)
{
	static const char *const paths[] = { "rcv_nxt", "inet_conn.icsk_inet.sk.sk_backlog.len" };
	__u32 off[2];

	kernel_member_offsets("tcp_sock", paths, off, 2);
	cfg->tcp_rcv_nxt_off = off[0];
	cfg->tcp_backlog_len_off = off[0] ? off[1] : 0;
	if (cfg->tcp_rcv_nxt_off)
		log_debug("tcp_sock.rcv_nxt is at byte %u of this kernel's struct, its backlog's "
			  "length at byte %u", cfg->tcp_rcv_nxt_off, cfg->tcp_backlog_len_off);
	else
		log_info("this kernel has no BTF for struct tcp_sock: a RST to a connection of this "
			 "host is checked against its ACKs only, and one far ahead of them is believed "
			 "after --close-timeout");
}

static void configure(struct loader *l, const struct options *o, const unsigned int *ifindex, int n)
{
	struct tcpshake_config *cfg = (struct tcpshake_config *)&l->skel->rodata->cfg;
	struct table_geometry g;

	geometry_from_options(&g, o);
	config_from_options(cfg, o, &g, 0, ifindex, n);
	cfg->raw_ip_mask = raw_ip_mask(ifindex, n);
	config_host_socket(cfg);
	loader_set_geometry(l, &g);
	bpf_map__set_max_entries(l->skel->maps.syn_sketches, (__u32)(n > 0 ? n : 1));
	/* The ring buffer must be a power-of-two number of pages. */
	bpf_map__set_max_entries(l->skel->maps.events,
				 o->events_path ? pow2_at_least((__u64)o->ringbuf_kb * 1024) : 4096);
}

int loader_open(struct loader *l, const struct options *o, const unsigned int *ifindex, int n)
{
	memset(l, 0, sizeof(*l));
	l->ncpus = (unsigned int)libbpf_num_possible_cpus();
	l->skel = tcpshake_bpf__open();
	if (!l->skel) {
		log_error("cannot open the BPF object: %s", strerror(errno));
		return -1;
	}
	configure(l, o, ifindex, n);
	return 0;
}

void loader_skip_ingress(struct loader *l, bool xdp, bool tc)
{
	bpf_program__set_autoload(l->skel->progs.tcpshake_xdp, !xdp);
	bpf_program__set_autoload(l->skel->progs.tcpshake_tc_in, !tc);
}

/* Loads the programs, then runs the sweeper once, so the first reading
 * already has the table occupancy and the coarse clock set. */
int loader_finish(struct loader *l)
{
	int err = tcpshake_bpf__load(l->skel);

	if (err) {
		/* ENOMEM is the kernel refusing memory for the maps; E2BIG and
		 * EINVAL come from the verifier (a program too complex for this
		 * kernel), whose log says which. */
		if (err == -EPERM)
			log_error("the kernel refused to load BPF programs (permission denied): run as root");
		else if (err == -ENOMEM)
			log_error("not enough kernel memory for the tables: try smaller --max-flows or "
				  "--handshake-slots");
		else if (err == -E2BIG)
			log_error("the kernel's verifier rejected a BPF program as too large or complex "
				  "(%s): run with -vv to see the verifier log", strerror(-err));
		else
			log_error("loading the BPF programs failed (%s): run with -vv to see the verifier log",
				  strerror(-err));
		loader_close(l);
		return -1;
	}
	err = loader_create_spill_parts(l->skel->maps.spill, l->geo.spill_max, l->spill_fd);
	if (err) {
		log_error("cannot create the spill maps (%s): try a smaller --max-flows", strerror(-err));
		loader_close(l);
		return -1;
	}
	l->nr_spill_fds = SPILL_PARTS;
	return loader_sweep(l);
}

static int put_parts_singly(int outer, const int *fds)
{
	__u32 i;

	for (i = 0; i < SPILL_PARTS; i++)
		if (bpf_map_update_elem(outer, &i, &fds[i], BPF_ANY))
			return -errno;
	return 0;
}

/* All parts go into the outer map in one batch: the kernel waits for an
 * RCU grace period after each update of a map of maps from user space
 * (maybe_wait_bpf_programs), 12 ms here, and 64 single updates took most
 * of the start-up. A kernel without batches for it gets single updates. */
int loader_create_spill_parts(struct bpf_map *spill, __u32 spill_max, int *kept)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	int outer = bpf_map__fd(spill), fds[SPILL_PARTS], err = 0;
	__u32 keys[SPILL_PARTS], i, n;

	for (n = 0; n < SPILL_PARTS && !err; n++) {
		keys[n] = n;
		fds[n] = bpf_map_create(BPF_MAP_TYPE_HASH, "spill_part", sizeof(struct flow_key),
					sizeof(struct way), spill_part_capacity(spill_max), &opts);
		if (fds[n] < 0)
			err = fds[n];
	}
	if (!err) {
		__u32 count = SPILL_PARTS;

		if (bpf_map_update_batch(outer, keys, fds, &count, NULL))
			err = put_parts_singly(outer, fds);
	}
	/* The outer map holds the parts from here on; the caller may keep
	 * their descriptors (reading a part by id needs CAP_SYS_ADMIN). */
	for (i = 0; i < n; i++) {
		if (!err && kept)
			kept[i] = fds[i];
		else if (fds[i] >= 0)
			close(fds[i]);
	}
	return err;
}

int loader_load(struct loader *l, const struct options *o, const unsigned int *ifindex, int n)
{
	return loader_open(l, o, ifindex, n) ? -1 : loader_finish(l);
}

int loader_sweep(struct loader *l)
{
	struct sweep_slice slice = { .count = l->geo.sweep_slices };
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &slice, .ctx_size_in = sizeof(slice));
	int fd = bpf_program__fd(l->skel->progs.tcpshake_sweep), err;
	struct timespec t0, t1;
	__u64 took;

	l->sweep_longest_ns = 0;
	for (slice.index = 0; slice.index < slice.count; slice.index++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = bpf_prog_test_run_opts(fd, &run);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		took = (__u64)(t1.tv_sec - t0.tv_sec) * 1000000000ull + (__u64)t1.tv_nsec - (__u64)t0.tv_nsec;
		if (took > l->sweep_longest_ns)
			l->sweep_longest_ns = took;
		if (!err && run.retval)
			err = -EINVAL;
		if (err) {
			log_error("running the sweeper failed: %s", strerror(-err));
			return -1;
		}
	}
	if (l->skel->bss->report.walk_errors) {
		l->sweep_errors++;
		if (!l->sweep_failing)
			log_error("the sweeper could not walk the whole tables, so timeouts and gauges "
				  "are incomplete: restart with smaller --max-flows or --handshake-slots");
		l->sweep_failing = true;
		return -1;
	}
	if (l->sweep_failing)
		log_info("the sweeper walks the whole tables again");
	l->sweep_failing = false;
	return 0;
}

void loader_close(struct loader *l)
{
	int i;

	for (i = 0; i < l->nr_spill_fds; i++)
		close(l->spill_fd[i]);
	l->nr_spill_fds = 0;
	if (l->skel)
		tcpshake_bpf__destroy(l->skel);
	l->skel = NULL;
}
