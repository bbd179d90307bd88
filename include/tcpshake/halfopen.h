/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The half-open gauge beyond the handshake table's size. Under a flood the
 * server answers (SYN cookies: every SYN gets a SYN-ACK), attempts outnumber
 * the table and new SYNs evict half-open records. On the wire those stay
 * half-open until the SYN timeout, so the gauge is the records the sweeper
 * counts in SYN-RECEIVED plus the evicted ones whose SYN-ACK is younger than
 * the SYN timeout (struct half_open_evictions, one per CPU).
 */
#ifndef TCPSHAKE_HALFOPEN_H
#define TCPSHAKE_HALFOPEN_H

#include "tcpshake/abi.h"

/* Evicted half-open attempts of one CPU's ring still inside the SYN
 * timeout at now_tick (fsm_coarse ticks; window_ticks rounded up). */
static inline __u64 half_open_evicted(const struct half_open_evictions *e, __u32 now_tick,
				      __u32 window_ticks)
{
	__u64 n = 0;
	__u32 i;

	for (i = 0; i < EVICTED_TICKS; i++)
		if (e->count[i] && now_tick - e->tick[i] < window_ticks)
			n += e->count[i];
	return n;
}

#endif /* TCPSHAKE_HALFOPEN_H */
