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

void native_prefetch(const void *data, const void *data_end, __u32 ifindex,
		     struct native_hint *hint)
{
	struct packet p;

	hint->tcp = parse_packet(data, data_end, &p) == PARSE_TCP;
	if (!hint->tcp)
		return;
	p.key.iface = (__u8)iface_slot(ifindex);
	hint->hash = flow_hash(&p.key, cfg.hash_seed);
	hint->flags = p.flags;
	__builtin_prefetch(flow_bucket_of(hint->hash).h, 1);
	__builtin_prefetch(hs_bucket_of(hint->hash).h, 1);
}

static void prefetch_way(const struct way *w)
{
	__builtin_prefetch(w, 1);
	__builtin_prefetch((const char *)w + 64, 1);
}

/* The headers are in cache by now: the ways whose tags match are the ones
 * the core will compare keys with and update. A data segment of an
 * established flow needs the header alone; a bare SYN writes a free way. */
void native_prefetch_ways(const struct native_hint *hint)
{
	struct flow_ref fb;
	struct hs_ref hb;
	__u32 tag;
	int i;

	if (!hint->tcp)
		return;
	tag = flow_tag(hint->hash);
	hb = hs_bucket_of(hint->hash);
	if ((hint->flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN) {
		for (i = 0; i < HS_WAYS; i++) {
			if (!tag_is_record(hb.h->tag[i])) {
				prefetch_way(&hb.w->way[i]);
				break;
			}
		}
		return;
	}
	fb = flow_bucket_of(hint->hash);
	if (!(hint->flags & (TCPF_SYN | TCPF_FIN | TCPF_RST)) &&
	    flow_find_established(fb.h, tag) >= 0)
		return;
	for (i = 0; i < FLOW_WAYS; i++)
		if ((fb.h->tag[i] | TAG_ESTABLISHED) == (tag | TAG_ESTABLISHED))
			prefetch_way(&fb.w->way[i]);
	for (i = 0; i < HS_WAYS; i++)
		if ((hb.h->tag[i] | TAG_TOMBSTONE) == (tag | TAG_TOMBSTONE))
			prefetch_way(&hb.w->way[i]);
}
