// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "iface.h"
#include "log.h"
#include "tcpshake.skel.h"

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

/* Where the per-interface locks live: the unit's own directory under
 * systemd (RuntimeDirectory=), else /run/tcpshake-mon. */
static const char *lock_dir(void)
{
	const char *d = getenv("RUNTIME_DIRECTORY");

	return d && d[0] == '/' && !strchr(d, ':') ? d : "/run/tcpshake-mon";
}

/* The lock directory must be ours (or root's) and writable by nobody else:
 * otherwise another local user could create or hold our lock file. */
static int open_lock_dir(const char *dir)
{
	struct stat st;
	int fd;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		log_error("cannot create the lock directory %s (%s): run as root, or under the "
			  "systemd unit, which provides one", dir, strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		log_error("cannot open the lock directory %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		log_error("the lock directory %s is not owned by root or writable by others: remove it",
			  dir);
		close(fd);
		return -1;
	}
	return fd;
}

/* One monitor per interface and network namespace: a second one would count
 * every packet twice. flock on a file only its owner can open (0600, in a
 * directory nobody else writes), so no other user can hold it; the kernel
 * releases it when we die, however we die. The holder removes the file on
 * exit, so a lock won on a file that was removed meanwhile is retried. */
static int take_instance_lock(struct attachment *a)
{
	const char *dir = lock_dir();
	struct stat ns = {}, held, now;
	int dfd, fd = -1, tries;

	stat("/proc/self/ns/net", &ns);
	snprintf(a->lock_name, sizeof(a->lock_name), "%s.net%llu.lock", a->name,
		 (unsigned long long)ns.st_ino);
	dfd = open_lock_dir(dir);
	if (dfd < 0)
		return -1;
	for (tries = 0; tries < 3; tries++) {
		fd = openat(dfd, a->lock_name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || fstat(fd, &held) || held.st_uid != geteuid() || (held.st_mode & 077)) {
			log_error("cannot use the lock file %s/%s (%s): remove it", dir, a->lock_name,
				  fd < 0 ? strerror(errno) : "not ours, or readable by others");
			goto fail;
		}
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			if (errno == EWOULDBLOCK)
				log_error("interface %s is already monitored by another tcpshake-mon: "
					  "stop it first", a->name);
			else
				log_error("cannot lock %s/%s: %s", dir, a->lock_name, strerror(errno));
			goto fail;
		}
		if (fstatat(dfd, a->lock_name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now.st_ino == held.st_ino && now.st_dev == held.st_dev) {
			a->lock_fd = fd;
			a->lock_dir_fd = dfd;
			return 0;
		}
		close(fd);      /* its holder removed it as we opened it: again */
		fd = -1;
	}
	log_error("cannot lock %s/%s: it keeps being replaced", dir, a->lock_name);
fail:
	if (fd >= 0)
		close(fd);
	close(dfd);
	return -1;
}

/* Removed while still held: whoever opened it meanwhile sees it is stale. */
static void release_instance_lock(struct attachment *a)
{
	if (a->lock_fd < 0)
		return;
	unlinkat(a->lock_dir_fd, a->lock_name, 0);
	close(a->lock_fd);
	close(a->lock_dir_fd);
	a->lock_fd = a->lock_dir_fd = -1;
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

/* Is the kernel's name of a program (truncated to BPF_OBJ_NAME_LEN - 1)
 * the name of this program of ours? */
static bool is_prog(const char *kernel_name, const struct bpf_program *p)
{
	return strncmp(kernel_name, bpf_program__name(p), BPF_OBJ_NAME_LEN - 1) == 0;
}

/* An XDP program already on the interface: a leftover of ours (attached
 * without a link, by an earlier version or a crashed tool) is removed; a
 * live link or a foreign program is never touched. Returns 0 when free. */
static int clear_xdp_leftover(const struct tcpshake_bpf *skel, const struct attachment *a,
			      bool quiet_foreign)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[BPF_OBJ_NAME_LEN] = "";

	if (bpf_xdp_query(a->ifindex, 0, &q) || !q.prog_id)
		return 0;
	prog_name_of(q.prog_id, name, sizeof(name));
	if (!is_prog(name, skel->progs.tcpshake_xdp)) {
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
static int tc_leftover(const struct tcpshake_bpf *skel, struct attachment *a,
		       enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)a->ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = TC_HANDLE, .priority = TC_PRIORITY);
	char name[BPF_OBJ_NAME_LEN] = "";

	if (bpf_tc_query(&hook, &q) != 0)
		return 0;
	prog_name_of(q.prog_id, name, sizeof(name));
	return is_prog(name, skel->progs.tcpshake_tc_in) || is_prog(name, skel->progs.tcpshake_tc_out) ?
	       1 : -1;
}

/* A filter an earlier run left (older versions, or kernels without tcx)
 * would count every packet twice next to our new hook: remove it. */
static void clear_tc_leftover(const struct tcpshake_bpf *skel, struct attachment *a,
			      enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)a->ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY);

	if (tc_leftover(skel, a, point) == 1 && bpf_tc_detach(&hook, &opts) == 0)
		log_info("removed a tcpshake tc filter left on %s by an earlier run", a->name);
}

/* Netlink tc filter at our handle and priority. */
static int attach_tc_netlink(const struct tcpshake_bpf *skel, struct attachment *a, int prog_fd,
			     enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)a->ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY,
			    .prog_fd = prog_fd);
	int err = bpf_tc_hook_create(&hook);

	if (err == 0)
		a->created_clsact = true;
	else if (err != -EEXIST)
		return err;
	if (tc_leftover(skel, a, point) < 0) {
		log_error("interface %s has a foreign tc filter at handle 0x%x priority 0x%x",
			  a->name, TC_HANDLE, TC_PRIORITY);
		return -EEXIST;
	}
	return bpf_tc_attach(&hook, &opts);
}

/* Filters on one clsact hook (TC_H_MIN_INGRESS or TC_H_MIN_EGRESS), by a
 * netlink dump (libbpf only queries a known handle); -1 if unknown. */
static int tc_filter_count(unsigned int ifindex, __u32 hook)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETTFILTER,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = (int)ifindex,
			.tcm_parent = TC_H_MAKE(TC_H_CLSACT, hook) },
	};
	static char buf[32768];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), count = 0, rounds;

	if (fd < 0 || send(fd, &req, sizeof(req), 0) < 0)
		goto fail;
	for (rounds = 0; rounds < 1000; rounds++) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (len <= 0)
			goto fail;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				close(fd);
				return count;
			}
			if (nh->nlmsg_type == NLMSG_ERROR)
				goto fail;
			if (nh->nlmsg_type == RTM_NEWTFILTER)
				count++;
		}
	}
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static void detach_tc_netlink(struct attachment *a, enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)a->ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY);

	bpf_tc_detach(&hook, &opts);
}

/* TCPSHAKE_TC_ATTACH=netlink skips tcx: the path of kernels before 6.6,
 * kept testable on newer ones. */
static bool tcx_wanted(void)
{
	const char *v = getenv("TCPSHAKE_TC_ATTACH");

	return !v || strcmp(v, "netlink") != 0;
}

/* tcx link if the kernel has it (6.6+), else a netlink clsact filter. */
static int attach_tc(const struct tcpshake_bpf *skel, struct attachment *a, int prog_fd,
		     bool egress, enum hook_kind *kind, int *fd)
{
	int link = -1, err;

	clear_tc_leftover(skel, a, egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	if (tcx_wanted()) {
		link = bpf_link_create(prog_fd, (int)a->ifindex,
				       (enum bpf_attach_type)(egress ? ATTACH_TCX_EGRESS :
								      ATTACH_TCX_INGRESS), NULL);
		if (link >= 0) {
			*fd = link;
			*kind = HOOK_TCX;
			return 0;
		}
		log_debug("tcx link on %s failed (%s), using a clsact filter", a->name,
			  strerror(errno));
	}
	err = attach_tc_netlink(skel, a, prog_fd, egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	if (err)
		return err;
	*kind = HOOK_TC_NETLINK;
	return 0;
}

static bool is_raw_ip(const char *name)
{
	unsigned short arphrd;

	return iface_link_kind(name, &arphrd) == LINK_RAW_IP;
}

/* --ingress auto tries native XDP on physical Ethernet NICs only. Layer-3
 * links: what a driver's native XDP hands over there is its own business;
 * tc (and generic XDP) start at the IP header. */
static bool auto_tries_native_xdp(const char *name, enum ingress_mode mode, bool raw_ip)
{
	return mode == INGRESS_AUTO && !raw_ip && !iface_is_virtual(name);
}

unsigned int attach_ingress_programs(const char *name, enum ingress_mode mode)
{
	if (iface_is_loopback(name))
		return 0;
	if (mode == INGRESS_XDP)
		return INGRESS_PROG_XDP;
	if (auto_tries_native_xdp(name, mode, is_raw_ip(name)))
		return INGRESS_PROG_XDP | INGRESS_PROG_TC;      /* tc if native XDP fails */
	return INGRESS_PROG_TC;
}

static int attach_ingress(struct tcpshake_bpf *skel, struct attachment *a, enum ingress_mode mode)
{
	int tc_fd = bpf_program__fd(skel->progs.tcpshake_tc_in);
	bool raw_ip = is_raw_ip(a->name);
	int err;

	if (auto_tries_native_xdp(a->name, mode, raw_ip)) {
		if (clear_xdp_leftover(skel, a, true) == 0 && attach_xdp(skel, a, XDP_FLAGS_DRV_MODE) == 0)
			return 0;
		log_info("%s: native XDP unavailable, using tc ingress", a->name);
	}
	if (mode == INGRESS_XDP) {
		if (clear_xdp_leftover(skel, a, false))
			return -1;
		err = raw_ip ? -EOPNOTSUPP : attach_xdp(skel, a, XDP_FLAGS_DRV_MODE);
		if (err)
			err = attach_xdp(skel, a, XDP_FLAGS_SKB_MODE);
		if (err)
			log_error("cannot attach XDP to %s: %s; try --ingress tc", a->name, strerror(-err));
		return err;
	}
	err = attach_tc(skel, a, tc_fd, false, &a->ingress, &a->ingress_fd);
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
	a->lock_fd = a->lock_dir_fd = -1;
	if (take_instance_lock(a))
		return -1;
	/* On lo every packet leaves (egress) and comes back (ingress): the
	 * egress hook alone sees each one exactly once. */
	if (iface_is_loopback(name))
		log_info("%s: loopback, every packet passes it twice: watching egress only, so each "
			 "is counted once", name);
	else if (attach_ingress(skel, a, mode)) {
		detach_iface(a);
		return -1;
	}
	err = attach_tc(skel, a, bpf_program__fd(skel->progs.tcpshake_tc_out), true, &a->egress,
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

		/* Deleting the qdisc deletes every filter on it: only when
		 * nobody added one of their own since we created it (and
		 * when in doubt, the qdisc stays). */
		if (tc_filter_count(a->ifindex, TC_H_MIN_INGRESS) == 0 &&
		    tc_filter_count(a->ifindex, TC_H_MIN_EGRESS) == 0)
			bpf_tc_hook_destroy(&hook);
		else
			log_info("left the clsact qdisc on %s in place: it holds other filters now, "
				 "or they could not be listed", a->name);
	}
	release_instance_lock(a);
	a->ingress_fd = a->egress_fd = -1;
	a->ingress = a->egress = HOOK_NONE;
	a->created_clsact = false;
}
