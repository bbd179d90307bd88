/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Driving the production BPF programs (the real skeleton, configured by the
 * real loader) with crafted connections through BPF_PROG_TEST_RUN, for the
 * event-path and sweeper benchmarks. The watched host is the server
 * 10.255.0.1:443; connection i comes from a client address of its own, so
 * every i is a distinct flow (up to 2^22 of them).
 */
#ifndef TCPSHAKE_BENCH_DRIVE_H
#define TCPSHAKE_BENCH_DRIVE_H

#include "loader.h"
#include "tcpshake/abi.h"

struct drive {
	struct loader l;
	unsigned int ifindex;      /* loopback: what BPF_PROG_TEST_RUN reports */
};

/* Loads the object with the given options (events_path decides the ring
 * buffer) for one interface slot, the one test runs report. */
int drive_open(struct drive *d, const struct options *o);
void drive_close(struct drive *d);
/* A SYN in, answered by RST from the server: one "refused" event. */
int drive_refused(struct drive *d, __u32 i);
/* SYN in, SYN-ACK out, third ACK in: one established flow. */
int drive_established(struct drive *d, __u32 i);
/* Counters of the interface, summed over CPUs. */
int drive_stats(struct drive *d, struct iface_stats *st);

#endif
