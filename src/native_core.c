// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The tracking core (bpf/track.h, bpf/sweep.h) compiled for the native
 * platform: the same source as the kernel programs. */
#include "native.h"
#include "track.h"
#include "sweep.h"

void native_track(const void *data, const void *data_end, __u32 ifindex, __u32 egress)
{
	track(data, data_end, ifindex, egress);
}

void native_sweep(void)
{
	sweep_all();
}

void native_prefetch(const void *data, const void *data_end, __u32 ifindex)
{
	struct packet p;
	__u64 hash;

	if (parse_packet(data, data_end, &p) != PARSE_TCP)
		return;
	p.key.iface = (__u8)iface_slot(ifindex);
	hash = flow_hash(&p.key, cfg.hash_seed);
	__builtin_prefetch(flow_bucket_of(hash).h, 1);
	__builtin_prefetch(hs_bucket_of(hash).h, 1);
}
