/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Running the real BPF programs on crafted packets with BPF_PROG_TEST_RUN:
 * load the object, feed dialogues through the XDP/tc programs, read the
 * counters, tables and ring-buffer events back.
 */
#ifndef TCPSHAKE_TEST_HARNESS_H
#define TCPSHAKE_TEST_HARNESS_H

#include <stdbool.h>
#include "craft.h"
#include "loader.h"
#include "snapshot.h"
#include "tcpshake/abi.h"

/* HOOK_TRANSIT: native only, a packet offline replay cannot place (neither
 * --local-net nor the capture says which way it went: DIR_UNKNOWN). */
enum hook { HOOK_XDP_IN = 0, HOOK_TC_IN, HOOK_TC_OUT, HOOK_TRANSIT };

/* Where the core runs: the kernel programs through BPF_PROG_TEST_RUN, or
 * the same source compiled natively (src/native.h), clocked by
 * CLOCK_MONOTONIC like bpf_ktime_get_ns. */
enum backend { BACKEND_KERNEL = 0, BACKEND_NATIVE };

/* The ingress programs a kernel load verifies (tc egress always): the
 * verifier takes most of a load's time, so a test that runs one ingress
 * hook loads only that one. Running a hook not loaded fails. */
enum ingress_load { INGRESS_BOTH = 0, INGRESS_XDP_ONLY, INGRESS_TC_ONLY };

struct harness_config {
	__u32 hs_buckets;         /* 0: defaults */
	__u32 flow_buckets;
	__u32 spill_max;
	__u32 sweep_slices;       /* 0: as the geometry gives */
	__u64 syn_timeout_ns;
	__u64 time_wait_ns;
	__u64 close_timeout_ns;
	__u64 hash_seed;          /* fixed, so tests can reason about buckets */
	bool events;
	bool raw_ip;              /* the interface carries bare IP packets (tun, WireGuard) */
	__u32 max_ports;          /* 0: default --max-ports */
	__u32 claimed_hs_buckets; /* programs believe in this many buckets (0: the real count) */
	enum backend backend;
	enum ingress_load ingress;
};

/* The ingress load a test running hook needs. */
enum ingress_load harness_ingress_for(enum hook hook);

struct harness {
	enum backend backend;
	struct loader l;
	struct ring_buffer *rb;
	struct event ev[64];      /* events read back, in order */
	int nr_ev;
	int ev_lost_locally;
};

int harness_load(struct harness *h, const struct harness_config *cfg);
void harness_close(struct harness *h);
/* Back to the state of a fresh load with the same configuration, without
 * the verifier's seconds per load: maps zeroed, events drained, one sweep. */
int harness_reset(struct harness *h);
/* Entries of the (interface, port) -> slot index that are set (kernel). */
__u32 harness_port_slots_set(struct harness *h);
/* Runs one packet through a program; returns the program's return value. */
int harness_run(struct harness *h, enum hook hook, const __u8 *pkt, size_t len, __u32 repeat,
		__u32 *duration_ns);
int harness_run_craft(struct harness *h, enum hook hook, const struct craft *c);
/* A tc run whose skb says it came in on ingress_ifindex (the test device
 * is lo, ifindex 1): a packet forwarded back out the interface it came in
 * on. Kernel backend only. */
int harness_run_forwarded(struct harness *h, const __u8 *pkt, size_t len, __u32 ingress_ifindex);
int harness_sweep(struct harness *h);
/* Per-CPU stats of interface slot 0, summed. */
void harness_stats(struct harness *h, struct iface_stats *st);
void harness_hist(struct harness *h, enum hist_id id, struct hist *out);
/* Occupied ways of the tables, counted from user space; spilled flows. */
int harness_hs_used(struct harness *h);
int harness_flow_used(struct harness *h);
/* Handshake buckets' counts of attempts in their alternative bucket, and
 * the ways holding such attempts: equal whenever nothing is in flight. */
void harness_hs_elsewhere(struct harness *h, __u64 *counted, __u64 *away);
/* Header and ways of handshake bucket i; 0 or -1. */
int harness_hs_bucket(struct harness *h, __u32 i, struct hs_head *head, struct hs_ways *ways);
/* Visits (visit may be NULL) every spill record; their count, or -1. */
int harness_spill_walk(struct harness *h, void (*visit)(const struct flow_key *key, void *ctx),
		       void *ctx);
int harness_spill_used(struct harness *h);
/* The flow buckets' counts of their records held elsewhere, summed (all
 * ones when one cannot be read). */
struct flow_away harness_flow_away(struct harness *h);
/* Flow records in a way of a bucket other than their home bucket, or -1. */
int harness_flow_guests(struct harness *h);
/* Records of interface slot 0 in a state, counted by a sweeper pass. */
__s64 harness_gauge(struct harness *h, enum conn_state state);
/* Half-open attempts of interface slot 0 evicted from the handshake table
 * whose SYN-ACK is younger than the SYN timeout at now_ns (halfopen.h). */
__u64 harness_half_open_evicted(struct harness *h, __u64 now_ns);
/* New attempts skip their alternative bucket and the cuckoo step. */
bool harness_hs_crowded(struct harness *h);
/* The sweeper's report of the backend (gauges, occupancy). */
const struct sweep_report *harness_report(struct harness *h);
/* Pulls pending ring-buffer events into h->ev. */
void harness_events(struct harness *h);

#endif
