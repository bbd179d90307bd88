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
