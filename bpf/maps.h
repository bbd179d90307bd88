/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maps and globals of the tcpshake BPF object. Table sizes are placeholders:
 * the loader sets the real ones before load (bpf_map__set_max_entries).
 */
#ifndef TCPSHAKE_MAPS_H
#define TCPSHAKE_MAPS_H

#include "tcpshake/abi.h"

const volatile struct tcpshake_config cfg = {};

/* Handshakes in progress. Direct-mapped, HS_WAYS per bucket: a SYN costs one
 * header read and one way written whatever the load, and a flood can only
 * overwrite other unfinished handshakes (every overwrite is counted). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hs_head);
} hs_heads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hs_ways);
} hs_ways SEC(".maps");

/* Established, closing and TIME-WAIT connections. Only a validated third ACK
 * inserts here, so SYNs can never touch it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_head);
} flow_heads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_ways);
} flow_ways SEC(".maps");

/* Per flow bucket: how many of its flows live in the spill map. Read only
 * when a lookup misses the bucket's ways. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} flow_spilled SEC(".maps");

/* Overflow of full flow-table buckets, so bucket collisions lose nothing. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct flow_key);
	__type(value, struct way);
} spill SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_IFACES);
	__type(key, __u32);
	__type(value, struct iface_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_IFACES * H_MAX);
	__type(key, __u32);
	__type(value, struct hist);
} hists SEC(".maps");

/* (iface << 16 | port) -> port slot; 0 = none yet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_IFACES * 65536);
	__type(key, __u32);
	__type(value, __u32);
} port_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PORT_SLOTS_MAX);
	__type(key, __u32);
	__type(value, struct port_owner);
} port_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct service_stats);
} port_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

/* The coarse clock (fsm_coarse()), advanced by the sweeper: the data fast
 * path stamps activity with it instead of calling a clock helper. */
__u32 now_coarse;
/* Port slots handed out so far (slot = MAX_IFACES + n). */
__u32 next_port_slot;
/* Table occupancy, written by the sweeper. */
struct sweep_report report;

#endif /* TCPSHAKE_MAPS_H */
