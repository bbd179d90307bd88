// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * footprint: what the monitor costs besides the packet path.
 *
 *   footprint sweep [MAX_FLOWS [FILL]]
 *       The production object at the default sizes (or MAX_FLOWS), loaded by
 *       the real loader: the sweeper's time per run with empty tables, then
 *       after FILL connections were established through the production
 *       programs (BPF_PROG_TEST_RUN). Wall time of the run as the loader
 *       sees it, and the program's own run_time_ns (BPF_ENABLE_STATS).
 *   footprint progstats SECONDS [--cpu-packets PID] PROG_ID...
 *       Run counts and run time of running programs (e.g. a live monitor's)
 *       over SECONDS, with run-time statistics enabled only meanwhile; with
 *       --cpu-packets, also the TCP segments monitor PID inspected on each
 *       CPU over the same window (its stats map, first interface): where
 *       its programs ran.
 *
 * One JSON object per line on stdout.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "drive.h"
#include "log.h"
#include "options.h"
#include "tcpshake.skel.h"

#define SWEEPS 11

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int prog_runtime(int fd, __u64 *run_time_ns, __u64 *run_cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*run_time_ns = info.run_time_ns;
	*run_cnt = info.run_cnt;
	return 0;
}

/* SWEEPS timed runs: median and worst wall time, median in-kernel time. */
static int time_sweeps(struct drive *d, const char *label, __u32 filled)
{
	int fd = bpf_program__fd(d->l.skel->progs.tcpshake_sweep);
	double wall[SWEEPS], kern[SWEEPS], run[SWEEPS], t;
	__u64 ns0 = 0, n0 = 0, ns1 = 0, n1 = 0;
	int k;

	for (k = 0; k < SWEEPS; k++) {
		if (prog_runtime(fd, &ns0, &n0))
			return -1;
		t = now_s();
		if (loader_sweep(&d->l))
			return -1;
		wall[k] = (now_s() - t) * 1e3;
		run[k] = (double)d->l.sweep_longest_ns / 1e6;
		if (prog_runtime(fd, &ns1, &n1))
			return -1;
		kern[k] = n1 > n0 ? (double)(ns1 - ns0) / 1e6 : -1;
	}
	qsort(wall, SWEEPS, sizeof(wall[0]), cmp_double);
	qsort(kern, SWEEPS, sizeof(kern[0]), cmp_double);
	qsort(run, SWEEPS, sizeof(run[0]), cmp_double);
	printf("{\"phase\":\"sweep\",\"tables\":\"%s\",\"flow_capacity\":%u,\"handshake_capacity\":%u,"
	       "\"filled\":%u,\"flow_entries\":%llu,\"spill_entries\":%llu,\"wall_ms_median\":%.3f,"
	       "\"wall_ms_max\":%.3f,\"bpf_ms_median\":%.3f,\"slices\":%u,\"longest_run_ms_median\":%.3f,"
	       "\"longest_run_ms_max\":%.3f}\n",
	       label, d->l.geo.flow_buckets * FLOW_WAYS, d->l.geo.hs_buckets * HS_WAYS, filled,
	       (unsigned long long)d->l.skel->bss->report.flow_entries[0],
	       (unsigned long long)d->l.skel->bss->report.spill_entries,
	       wall[SWEEPS / 2], wall[SWEEPS - 1], kern[SWEEPS / 2], d->l.geo.sweep_slices,
	       run[SWEEPS / 2], run[SWEEPS - 1]);
	return 0;
}

static int sweep(__u32 max_flows, __u32 fill)
{
	struct options o;
	struct drive d;
	char label[32];
	int stats_fd, rc = 1;
	double t;
	__u32 i;

	options_defaults(&o);
	if (max_flows)
		o.max_flows = max_flows;
	snprintf(label, sizeof(label), "%s", max_flows ? "max-flows" : "default");
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "footprint: cannot enable BPF run-time statistics: %s\n", strerror(errno));
		return 1;
	}
	if (drive_open(&d, &o))
		goto out;
	if (time_sweeps(&d, label, 0))
		goto out_drive;
	t = now_s();
	for (i = 0; i < fill; i++)
		if (drive_established(&d, i)) {
			fprintf(stderr, "footprint: running the programs failed: %s\n", strerror(errno));
			goto out_drive;
		}
	fprintf(stderr, "footprint: %u connections established in %.1f s\n", fill, now_s() - t);
	if (!time_sweeps(&d, label, fill))
		rc = 0;
out_drive:
	drive_close(&d);
out:
	close(stats_fd);
	return rc;
}

/* The per-CPU stats map of monitor pid (an open fd), or -1. */
static int monitor_stats_map(int pid)
{
	char path[64], line[128];
	struct dirent *e;
	unsigned int id;
	int fd = -1;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while (fd < 0 && (e = readdir(dir))) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%.20s", pid, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			struct bpf_map_info info = {};
			__u32 len = sizeof(info);
			int m;

			if (sscanf(line, "map_id: %u", &id) != 1)
				continue;
			m = bpf_map_get_fd_by_id(id);
			if (m >= 0 && !bpf_obj_get_info_by_fd(m, &info, &len) && !strcmp(info.name, "stats") &&
			    info.type == BPF_MAP_TYPE_PERCPU_ARRAY && info.value_size == sizeof(struct iface_stats))
				fd = m;
			else if (m >= 0)
				close(m);
			break;
		}
		fclose(f);
	}
	closedir(dir);
	return fd;
}

/* Packets the first interface's stats counted on each of n CPUs. */
static int cpu_packets(int fd, int n, __u64 *out)
{
	struct iface_stats *v = calloc((size_t)n, sizeof(*v));
	__u32 key = 0;
	int i;

	if (!v || bpf_map_lookup_elem(fd, &key, v)) {
		free(v);
		return -1;
	}
	for (i = 0; i < n; i++)
		out[i] = v[i].packets;
	free(v);
	return 0;
}

static int progstats(double seconds, int monitor_pid, int n, char **ids)
{
	__u64 ns0[64], cnt0[64], ns1, cnt1, pk0[256], pk1[256];
	int fds[64], stats_fd, map_fd = -1, ncpus = 0, i, rc = 0;
	struct timespec ts = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };

	if (n > 64)
		n = 64;
	if (monitor_pid > 0) {
		ncpus = libbpf_num_possible_cpus();
		map_fd = monitor_stats_map(monitor_pid);
		if (map_fd < 0 || ncpus <= 0 || ncpus > 256) {
			fprintf(stderr, "footprint: no stats map of a monitor with pid %d\n", monitor_pid);
			return 1;
		}
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "footprint: cannot enable BPF run-time statistics: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		fds[i] = bpf_prog_get_fd_by_id((__u32)atoi(ids[i]));
		if (fds[i] < 0 || prog_runtime(fds[i], &ns0[i], &cnt0[i])) {
			fprintf(stderr, "footprint: no BPF program with id %s\n", ids[i]);
			return 1;
		}
	}
	if (map_fd >= 0 && cpu_packets(map_fd, ncpus, pk0))
		rc = 1;
	nanosleep(&ts, NULL);
	if (map_fd >= 0 && cpu_packets(map_fd, ncpus, pk1))
		rc = 1;
	for (i = 0; i < n; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(fds[i], &info, &len)) {
			rc = 1;
			continue;
		}
		ns1 = info.run_time_ns;
		cnt1 = info.run_cnt;
		printf("{\"id\":%u,\"name\":\"%s\",\"seconds\":%.3f,\"run_cnt\":%llu,\"run_time_ns\":%llu}\n",
		       info.id, info.name, seconds, (unsigned long long)(cnt1 - cnt0[i]),
		       (unsigned long long)(ns1 - ns0[i]));
		close(fds[i]);
	}
	if (map_fd >= 0 && !rc) {
		printf("{\"cpu_packets\":[");
		for (i = 0; i < ncpus; i++)
			printf("%s%llu", i ? "," : "", (unsigned long long)(pk1[i] - pk0[i]));
		printf("]}\n");
	}
	if (map_fd >= 0)
		close(map_fd);
	close(stats_fd);
	return rc;
}

int main(int argc, char **argv)
{
	if (geteuid() != 0) {
		fprintf(stderr, "footprint: must run as root: try sudo make bench\n");
		return 1;
	}
	log_init(0);
	if (argc >= 2 && argc <= 4 && !strcmp(argv[1], "sweep"))
		return sweep(argc > 2 ? (__u32)strtoul(argv[2], NULL, 10) : 0,
			     argc > 3 ? (__u32)strtoul(argv[3], NULL, 10) : 0);
	if (argc >= 6 && !strcmp(argv[1], "progstats") && atof(argv[2]) > 0 &&
	    !strcmp(argv[3], "--cpu-packets") && atoi(argv[4]) > 0)
		return progstats(atof(argv[2]), atoi(argv[4]), argc - 5, argv + 5);
	if (argc >= 4 && !strcmp(argv[1], "progstats") && atof(argv[2]) > 0)
		return progstats(atof(argv[2]), 0, argc - 3, argv + 3);
	fprintf(stderr, "usage: footprint sweep [MAX_FLOWS [FILL]]\n"
		"       footprint progstats SECONDS [--cpu-packets PID] PROG_ID...\n");
	return 2;
}
