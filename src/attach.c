// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "iface.h"
#include "log.h"
#include "tcpshake.skel.h"

/* tcx attach types (Linux 6.6); Debian 12's UAPI headers predate them. */
#define ATTACH_TCX_INGRESS 46
#define ATTACH_TCX_EGRESS  47
/* Our netlink tc filter, when tcx is unavailable. */
#define TC_HANDLE   0x7c5
#define TC_PRIORITY 0x7c5

const char *hook_name(enum hook_kind k)
{
	switch (k) {
	case HOOK_XDP_NATIVE:  return "xdp (native)";
	case HOOK_XDP_GENERIC: return "xdp (generic)";
	case HOOK_TCX:         return "tc (tcx link)";
	case HOOK_TC_NETLINK:  return "tc (clsact filter)";
	default:               return "none";
	}
}

/* An abstract unix socket per interface: a second monitor on the same
 * interface would double-count, and the name vanishes when we die. */
static int take_instance_lock(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t len;

	if (fd < 0)
		return -1;
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			  snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "tcpshake-mon/%s", name));
	if (bind(fd, (struct sockaddr *)&sa, len) != 0) {
		close(fd);
		if (errno == EADDRINUSE)
			log_error("interface %s is already monitored by another tcpshake-mon: stop it first",
				  name);
		else
			log_error("cannot take the per-interface lock for %s: %s", name, strerror(errno));
		return -1;
	}
	return fd;
}

static int prog_name_of(__u32 id, char *name, size_t len)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) == 0)
		snprintf(name, len, "%s", info.name);
	close(fd);
	return 0;
}

/* An XDP program already on the interface: a leftover of ours (attached
 * without a link, by an earlier version or a crashed tool) is removed; a
 * live link or a foreign program is never touched. Returns 0 when free. */
static int clear_xdp_leftover(const struct attachment *a, bool quiet_foreign)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[BPF_OBJ_NAME_LEN] = "";

	if (bpf_xdp_query(a->ifindex, 0, &q) || !q.prog_id)
		return 0;
	prog_name_of(q.prog_id, name, sizeof(name));
	if (strcmp(name, "tcpshake_xdp") != 0) {
		if (!quiet_foreign)
			log_error("interface %s already has an XDP program (%s, id %u); tcpshake-mon never "
				  "replaces it: use --ingress tc", a->name, name[0] ? name : "unnamed", q.prog_id);
		return -1;
	}
	if (bpf_xdp_detach(a->ifindex, q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE :
			   XDP_FLAGS_DRV_MODE, NULL) != 0) {
		log_error("interface %s has a tcpshake XDP program owned by a running process: "
			  "stop the other tcpshake-mon first", a->name);
		return -1;
	}
	log_info("removed a tcpshake XDP program left on %s by an earlier run", a->name);
	return 0;
}

static int attach_xdp(struct tcpshake_bpf *skel, struct attachment *a, __u32 mode_flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = mode_flags);
	int fd = bpf_link_create(bpf_program__fd(skel->progs.tcpshake_xdp), (int)a->ifindex,
				 BPF_XDP, &opts);

	if (fd < 0)
		return -errno;
	a->ingress_fd = fd;
	a->ingress = mode_flags == XDP_FLAGS_DRV_MODE ? HOOK_XDP_NATIVE : HOOK_XDP_GENERIC;
	return 0;
}

/* Is our netlink tc filter (handle and priority) on this hook, holding one
 * of our programs? -1: a foreign filter sits there. */
static int tc_leftover(struct attachment *a, enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)a->ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = TC_HANDLE, .priority = TC_PRIORITY);
	char name[BPF_OBJ_NAME_LEN] = "";

	if (bpf_tc_query(&hook, &q) != 0)
		return 0;
	prog_name_of(q.prog_id, name, sizeof(name));
	return strncmp(name, "tcpshake_tc", 11) == 0 ? 1 : -1;
}

/* A filter an earlier run left (older versions, or kernels without tcx)
 * would count every packet twice next to our new hook: remove it. */
static void clear_tc_leftover(struct attachment *a, enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)a->ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY);

	if (tc_leftover(a, point) == 1 && bpf_tc_detach(&hook, &opts) == 0)
		log_info("removed a tcpshake tc filter left on %s by an earlier run", a->name);
}

/* Netlink tc filter at our handle and priority. */
static int attach_tc_netlink(struct attachment *a, int prog_fd, enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)a->ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY,
			    .prog_fd = prog_fd);
	int err = bpf_tc_hook_create(&hook);

	if (err == 0)
		a->created_clsact = true;
	else if (err != -EEXIST)
		return err;
	if (tc_leftover(a, point) < 0) {
		log_error("interface %s has a foreign tc filter at handle 0x%x priority 0x%x",
			  a->name, TC_HANDLE, TC_PRIORITY);
		return -EEXIST;
	}
	return bpf_tc_attach(&hook, &opts);
}

static void detach_tc_netlink(struct attachment *a, enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)a->ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY);

	bpf_tc_detach(&hook, &opts);
}

/* tcx link if the kernel has it (6.6+), else a netlink clsact filter. */
static int attach_tc(struct attachment *a, int prog_fd, bool egress, enum hook_kind *kind, int *fd)
{
	int link, err;

	clear_tc_leftover(a, egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	link = bpf_link_create(prog_fd, (int)a->ifindex,
			       (enum bpf_attach_type)(egress ? ATTACH_TCX_EGRESS : ATTACH_TCX_INGRESS),
			       NULL);
	if (link >= 0) {
		*fd = link;
		*kind = HOOK_TCX;
		return 0;
	}
	log_debug("tcx link on %s failed (%s), using a clsact filter", a->name, strerror(errno));
	err = attach_tc_netlink(a, prog_fd, egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	if (err)
		return err;
	*kind = HOOK_TC_NETLINK;
	return 0;
}

static int attach_ingress(struct tcpshake_bpf *skel, struct attachment *a, enum ingress_mode mode)
{
	int tc_fd = bpf_program__fd(skel->progs.tcpshake_tc_in);
	int err;

	if (mode == INGRESS_AUTO && !iface_is_virtual(a->name)) {
		if (clear_xdp_leftover(a, true) == 0 && attach_xdp(skel, a, XDP_FLAGS_DRV_MODE) == 0)
			return 0;
		log_info("%s: native XDP unavailable, using tc ingress", a->name);
	}
	if (mode == INGRESS_XDP) {
		if (clear_xdp_leftover(a, false))
			return -1;
		err = attach_xdp(skel, a, XDP_FLAGS_DRV_MODE);
		if (err)
			err = attach_xdp(skel, a, XDP_FLAGS_SKB_MODE);
		if (err)
			log_error("cannot attach XDP to %s: %s; try --ingress tc", a->name, strerror(-err));
		return err;
	}
	err = attach_tc(a, tc_fd, false, &a->ingress, &a->ingress_fd);
	if (err)
		log_error("cannot attach tc ingress to %s: %s", a->name, strerror(-err));
	return err;
}

int attach_iface(struct tcpshake_bpf *skel, struct attachment *a, const char *name,
		 unsigned int ifindex, enum ingress_mode mode)
{
	int err;

	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->ifindex = ifindex;
	a->ingress_fd = a->egress_fd = -1;
	a->lock_fd = take_instance_lock(name);
	if (a->lock_fd < 0)
		return -1;
	if (attach_ingress(skel, a, mode)) {
		detach_iface(a);
		return -1;
	}
	err = attach_tc(a, bpf_program__fd(skel->progs.tcpshake_tc_out), true, &a->egress,
			&a->egress_fd);
	if (err) {
		log_error("cannot attach tc egress to %s: %s", a->name, strerror(-err));
		detach_iface(a);
		return -1;
	}
	log_info("watching %s: ingress %s, egress %s", a->name, hook_name(a->ingress),
		 hook_name(a->egress));
	return 0;
}

void detach_iface(struct attachment *a)
{
	if (a->ingress_fd >= 0)
		close(a->ingress_fd);
	if (a->egress_fd >= 0)
		close(a->egress_fd);
	if (a->ingress == HOOK_TC_NETLINK)
		detach_tc_netlink(a, BPF_TC_INGRESS);
	if (a->egress == HOOK_TC_NETLINK)
		detach_tc_netlink(a, BPF_TC_EGRESS);
	if (a->created_clsact) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)a->ifindex,
				    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
		bpf_tc_hook_destroy(&hook);
	}
	if (a->lock_fd > 0)
		close(a->lock_fd);
	a->ingress_fd = a->egress_fd = a->lock_fd = -1;
	a->ingress = a->egress = HOOK_NONE;
	a->created_clsact = false;
}
