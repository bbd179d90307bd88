// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "reader.h"
#include "tcpshake/fsm.h"
#include "tcpshake/halfopen.h"
#include "sketch.h"
#include "tcpshake.skel.h"

int reader_init(struct reader *r, struct loader *l)
{
	size_t biggest = sizeof(struct service_stats);

	memset(r, 0, sizeof(*r));
	r->loader = l;
	if (sizeof(struct iface_stats) > biggest)
		biggest = sizeof(struct iface_stats);
	if (sizeof(struct half_open_evictions) > biggest)
		biggest = sizeof(struct half_open_evictions);
	r->percpu_len = ((biggest + 7) & ~(size_t)7) * l->ncpus;
	r->percpu_buf = malloc(r->percpu_len);
	r->sketch_buf = calloc(l->ncpus, (sizeof(struct syn_sketch) + 7) & ~(size_t)7);
	return r->percpu_buf && r->sketch_buf ? 0 : -ENOMEM;
}

void reader_free(struct reader *r)
{
	free(r->percpu_buf);
	free(r->sketch_buf);
	r->percpu_buf = NULL;
	r->sketch_buf = NULL;
}

int reader_read_sketches(struct reader *r, struct sketch_reading *out, int n)
{
	struct tcpshake_bpf *skel = r->loader->skel;
	int fd = bpf_map__fd(skel->maps.syn_sketches), err = 0;
	__u32 epoch = skel->bss->sketch_epoch, slot;

	for (slot = 0; slot < (__u32)n && !err; slot++) {
		if (bpf_map_lookup_elem(fd, &slot, r->sketch_buf))
			err = -errno;
		else
			err = sketch_reading_merge(&out[slot], r->sketch_buf,
						   (sizeof(struct syn_sketch) + 7) & ~(size_t)7,
						   r->loader->ncpus, epoch);
	}
	if (err)
		log_error("reading the SYN sketches failed: %s", strerror(-err));
	/* A plain store to the mapped .bss: the next SYN on each CPU clears
	 * its registers. */
	skel->bss->sketch_epoch = epoch + 1;
	return err;
}

__u64 reader_hash_seed(const struct reader *r)
{
	return r->loader->skel->rodata->cfg.hash_seed;
}

void snapshot_free(struct snapshot *s)
{
	free(s->ports);
	s->ports = NULL;
	s->nr_ports = 0;
}

int percpu_sum(int map_fd, __u32 key, void *out, size_t size, unsigned int ncpus, void *scratch)
{
	size_t stride = (size + 7) / 8, words = size / 8, cpu, i;
	__u64 *in = scratch ? scratch : calloc(ncpus, stride * 8), *sum = out;
	int err = 0;

	memset(out, 0, size);
	if (!in)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &key, in))
		err = -errno;
	for (cpu = 0; cpu < ncpus && !err; cpu++)
		for (i = 0; i < words; i++)
			sum[i] += in[cpu * stride + i];
	if (!scratch)
		free(in);
	return err;
}

static int read_percpu(struct reader *r, const struct bpf_map *map, __u32 key, void *out, size_t size)
{
	return percpu_sum(bpf_map__fd(map), key, out, size, r->loader->ncpus, r->percpu_buf);
}

int reader_read_stats(struct reader *r, __u32 slot, struct iface_stats *out)
{
	return read_percpu(r, r->loader->skel->maps.stats, slot, out, sizeof(*out));
}

/* Gauges: records by state, as counted by the sweeper's last pass. */
static __s64 gauge(const struct sweep_report *r, __u32 slot, int state)
{
	return (__s64)r->states[slot][state];
}

/* Half-open attempts evicted from a full handshake table whose SYN-ACK is
 * younger than the SYN timeout, over all CPUs (halfopen.h). */
static __s64 half_open_evicted_now(struct reader *r, __u32 slot)
{
	struct tcpshake_bpf *skel = r->loader->skel;
	size_t stride = (sizeof(struct half_open_evictions) + 7) & ~(size_t)7;
	__u32 window = (skel->rodata->cfg.syn_timeout_ns + (1ull << FSM_COARSE_SHIFT) - 1) >>
		       FSM_COARSE_SHIFT;
	struct timespec ts;
	__u64 n = 0;
	unsigned int cpu;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.half_open_evictions), &slot, r->percpu_buf))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);   /* bpf_ktime_get_ns() is CLOCK_MONOTONIC */
	for (cpu = 0; cpu < r->loader->ncpus; cpu++)
		n += half_open_evicted((const void *)((const char *)r->percpu_buf + cpu * stride),
				       fsm_coarse((__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec),
				       window);
	return (__s64)n;
}

void snapshot_gauges(struct iface_snapshot *is, const struct sweep_report *rep, __u32 slot)
{
	is->syn_sent = gauge(rep, slot, CS_SYN_SENT);
	is->half_open = gauge(rep, slot, CS_SYN_RCVD);
	is->established = gauge(rep, slot, CS_ESTABLISHED);
	is->closing = gauge(rep, slot, CS_FIN_WAIT_1) + gauge(rep, slot, CS_FIN_WAIT_2) +
		      gauge(rep, slot, CS_CLOSING) + gauge(rep, slot, CS_LAST_ACK);
	is->time_wait = gauge(rep, slot, CS_TIME_WAIT);
	is->hs_entries = rep->hs_entries[slot];
	is->flow_entries = rep->flow_entries[slot];
}

void port_row_of(struct port_snapshot *out, __u8 iface, __u16 port, const struct service_stats *ss,
		 __u64 half_open)
{
	memset(out, 0, sizeof(*out));
	out->iface = iface;
	out->port = port;
	out->handshakes = ss->handshakes;
	memcpy(out->failures, ss->failures, sizeof(out->failures));
	out->handshake = ss->handshake;
	out->syn_retransmits = ss->syn_retransmits;
	out->synacks = ss->synacks;
	out->half_open = half_open;
}

static int read_iface(struct reader *r, struct iface_snapshot *is, __u32 slot)
{
	struct tcpshake_bpf *skel = r->loader->skel;
	const struct sweep_report *rep = &skel->bss->report;
	int h, err;

	err = read_percpu(r, skel->maps.stats, slot, &is->stats, sizeof(is->stats));
	for (h = 0; h < H_MAX && !err; h++)
		err = read_percpu(r, skel->maps.hists, slot * H_MAX + (__u32)h, &is->hist[h],
				  sizeof(is->hist[h]));
	if (err)
		return err;
	snapshot_gauges(is, rep, slot);
	is->half_open += half_open_evicted_now(r, slot);
	return 0;
}

static int read_port_slot(struct reader *r, __u32 slot, __u8 iface, __u16 port,
			  struct port_snapshot *out)
{
	struct service_stats ss;
	int err = read_percpu(r, r->loader->skel->maps.port_stats, slot, &ss, sizeof(ss));

	if (err)
		return err;
	port_row_of(out, iface, port, &ss,
		    slot < PORT_SLOTS_MAX ? r->loader->skel->bss->report.port_half_open[slot] : 0);
	return 0;
}

/* Kernel port slots: per-interface "other" slots, then handed-out slots. */
static int read_ports(struct reader *r, struct snapshot *s, struct port_labels *pl)
{
	struct tcpshake_bpf *skel = r->loader->skel;
	__u64 used = (__u64)skel->bss->next_port_slot + PORT_SLOT_FIRST;
	struct port_snapshot row;
	__u32 slot;
	int err;

	/* The kernel's counter may run past the slot count (by the CPUs that
	 * raced for the last slot): those slots were never handed out. */
	if (used > r->loader->geo.port_slots)
		used = r->loader->geo.port_slots;
	for (slot = 0; slot < used; slot++) {
		struct port_owner owner = { .iface = (__u8)slot };

		if (slot >= PORT_SLOT_FIRST &&
		    bpf_map_lookup_elem(bpf_map__fd(skel->maps.port_owner), &slot, &owner))
			continue;
		if ((slot >= PORT_SLOT_FIRST && !owner.port) || owner.iface >= s->nr_ifaces)
			continue;
		err = read_port_slot(r, slot, owner.iface, slot < PORT_SLOT_FIRST ? 0 : owner.port, &row);
		if (err)
			return err;
		port_labels_update(pl, &row);
	}
	return 0;
}

int reader_read(struct reader *r, struct snapshot *s, struct port_labels *pl)
{
	struct timespec ts;
	int i, err;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->mono_s = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	for (i = 0; i < s->nr_ifaces; i++) {
		err = read_iface(r, &s->iface[i], (__u32)i);
		if (err) {
			log_error("reading statistics failed: %s", strerror(-err));
			return err;
		}
	}
	s->hs_capacity = (__u64)r->loader->geo.hs_buckets * HS_WAYS;
	s->flow_capacity = (__u64)r->loader->geo.flow_buckets * FLOW_WAYS + r->loader->geo.spill_max;
	s->sweep_errors = r->loader->sweep_errors;
	err = read_ports(r, s, pl);
	if (err) {
		log_error("reading per-port statistics failed: %s", strerror(-err));
		return err;
	}
	return port_labels_export(pl, s, s->mono_s);
}
