// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "selfcost.h"
#include "tcpshake.skel.h"

/* The kernel memory a BPF map's descriptor is charged with (its fdinfo's
 * memlock: what the kernel allocated for it), or 0. */
static __u64 map_memory(int fd)
{
	unsigned long long v = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

int self_probe_init(struct self_probe *p, struct loader *l, bool enable_stats)
{
	struct bpf_program *prog;
	struct bpf_map *map;

	memset(p, 0, sizeof(*p));
	p->loader = l;
	p->stats_fd = -1;
	bpf_object__for_each_program(prog, l->skel->obj) {
		int fd = bpf_program__fd(prog);

		if (fd < 0 || p->nr_progs == SELF_PROGS_MAX)
			continue;     /* not loaded: an ingress hook no interface uses */
		p->prog_fd[p->nr_progs] = fd;
		snprintf(p->prog_name[p->nr_progs], SELF_PROG_NAME_MAX, "%s", bpf_program__name(prog));
		p->nr_progs++;
	}
	/* Arrays and the ring are sized at load; the spill parts (hash maps
	 * without preallocation) grow with their records, so they are read
	 * each time (self_probe_read). */
	bpf_object__for_each_map(map, l->skel->obj) {
		if (bpf_map__fd(map) >= 0)
			p->fixed_map_bytes += map_memory(bpf_map__fd(map));
	}
	if (enable_stats) {
		p->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (p->stats_fd < 0) {
			log_error("cannot turn on the kernel's BPF run-time statistics (--bpf-stats): %s; "
				  "it needs root or CAP_SYS_ADMIN, or drop --bpf-stats", strerror(errno));
			self_probe_close(p);
			return -1;
		}
	}
	return 0;
}

/* Is the kernel keeping run counts and times (anyone's BPF_ENABLE_STATS,
 * or the sysctl)? */
static bool bpf_stats_on(const struct self_probe *p)
{
	char c = '0';
	FILE *f;

	if (p->stats_fd >= 0)
		return true;
	f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	if (!f)
		return false;
	if (fread(&c, 1, 1, f) != 1)
		c = '0';
	fclose(f);
	return c == '1';
}

static __u64 timeval_ns(struct timeval tv)
{
	return (__u64)tv.tv_sec * 1000000000ull + (__u64)tv.tv_usec * 1000ull;
}

static __u64 resident_bytes(void)
{
	unsigned long long size, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (__u64)sysconf(_SC_PAGESIZE);
}

void self_probe_read(const struct self_probe *p, struct self_cost *out)
{
	struct rusage ru;
	int i;

	memset(out, 0, sizeof(*out));
	out->valid = true;
	if (!getrusage(RUSAGE_SELF, &ru)) {
		out->user_ns = timeval_ns(ru.ru_utime);
		out->system_ns = timeval_ns(ru.ru_stime);
	}
	out->rss_bytes = resident_bytes();
	out->map_bytes = p->fixed_map_bytes;
	for (i = 0; i < p->loader->nr_spill_fds; i++)
		out->map_bytes += map_memory(p->loader->spill_fd[i]);
	out->bpf_stats = bpf_stats_on(p);
	if (!out->bpf_stats)
		return;
	for (i = 0; i < p->nr_progs; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(p->prog_fd[i], &info, &len))
			continue;
		memcpy(out->prog[out->nr_progs].name, p->prog_name[i], SELF_PROG_NAME_MAX);
		out->prog[out->nr_progs].runs = info.run_cnt;
		out->prog[out->nr_progs].run_ns = info.run_time_ns;
		out->nr_progs++;
	}
}

void self_probe_close(struct self_probe *p)
{
	if (p->stats_fd >= 0)
		close(p->stats_fd);
	p->stats_fd = -1;
}
