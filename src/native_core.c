// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The tracking core (bpf/track.h, bpf/sweep.h) compiled for the native
 * platform: the same source as the kernel programs. */
#include "native.h"
#include "track.h"
#include "sweep.h"

void native_track(const void *data, const void *data_end, __u32 ifindex, __u32 egress)
{
	struct hook_frame f = hook_frame_linear(data, data_end);

	track(&f, ifindex, egress);
}

/* The slices the loader would run, back to back. */
void native_sweep(void)
{
	__u32 i, n = native.sweep_slices ? native.sweep_slices : 1;

	for (i = 0; i < n; i++)
		sweep_slice(i, n);
}

int native_parse(const void *data, const void *data_end, __u32 not_captured, __u32 ifindex,
		 struct native_segment *s)
{
	struct hook_frame f = hook_frame_linear(data, data_end);
	struct iface_stats *st;

	f.len += not_captured;   /* a snap length cut the frame: lengths are the wire's */

	return track_parse(&f, ifindex, &s->p, &s->hash, &st);
}

void native_track_segment(const struct native_segment *s, __u32 egress)
{
	struct iface_stats *st = stats_of(s->p.key.iface);

	if (st)
		track_segment(&s->p, s->hash, st, egress);
}

/* A bare SYN reads the handshake bucket alone; other segments may read
 * both headers, and the flow bucket's spilled count with its header
 * (whether to look elsewhere): a separate array, so a line of its own. */
void native_prefetch_heads(const struct native_segment *s)
{
	struct flow_ref fb;

	__builtin_prefetch(hs_bucket_of(s->hash).h, 1);
	if ((s->p.flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN)
		return;
	fb = flow_bucket_of(s->hash);
	__builtin_prefetch(fb.h, 1);
	__builtin_prefetch(fb.spilled, 1);
}

static void prefetch_way(const struct way *w)
{
	__builtin_prefetch(w, 1);
	__builtin_prefetch((const char *)w + 64, 1);
}

/* A handshake that may complete: its record is copied into the flow table
 * (flow_insert) right before an atomic that waits for that store, so the
 * way it will take is loaded now. That is the first free way at home while
 * home is at most half full; past that, the alternative bucket may take it
 * (its header is loaded for that choice). Into a full bucket, the TIME-WAIT
 * victim scan reads every way's state and end time (second line). */
static void prefetch_insert(struct flow_ref fb, int free_ways)
{
	int i;

	if (free_ways >= FLOW_WAYS / 2) {
		for (i = 0; i < FLOW_WAYS; i++) {
			if (fb.h->tag[i] == TAG_FREE) {
				prefetch_way(&fb.w->way[i]);
				return;
			}
		}
	}
	if (fb.alt != fb.home)
		__builtin_prefetch(flow_head_at(fb.alt), 1);
	if (!free_ways)
		for (i = 0; i < FLOW_WAYS; i++)
			__builtin_prefetch((const char *)&fb.w->way[i] + 64, 0);
}

/* The headers are in cache by now: the ways whose tags match are the ones
 * the core will compare keys with and update. A data segment of an
 * established flow needs the header alone; a bare SYN writes a free way. */
void native_prefetch_ways(const struct native_segment *s)
{
	__u32 tag = flow_tag(s->hash), flags = s->p.flags;
	struct hs_ref hb = hs_bucket_of(s->hash);
	struct flow_ref fb = flow_bucket_of(s->hash);
	bool completes = false;
	int i, free_ways = 0;

	if ((flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN) {
		for (i = 0; i < HS_WAYS; i++) {
			if (!tag_is_record(hb.h->tag[i])) {
				prefetch_way(&hb.w->way[i]);
				break;
			}
		}
		return;
	}
	if (!(flags & (TCPF_SYN | TCPF_FIN | TCPF_RST)) && flow_find_established(fb.h, tag) >= 0)
		return;
	for (i = 0; i < FLOW_WAYS; i++) {
		if ((fb.h->tag[i] | TAG_ESTABLISHED) == (tag | TAG_ESTABLISHED))
			prefetch_way(&fb.w->way[i]);
		else if (fb.h->tag[i] == TAG_FREE)
			free_ways++;
	}
	if (*fb.spilled) {
		__builtin_prefetch(flow_head_at(fb.alt), 1);
		native_spill_prefetch(native_spill_slot(&s->p.key));
	}
	for (i = 0; i < HS_WAYS; i++) {
		if ((hb.h->tag[i] | TAG_TOMBSTONE) == (tag | TAG_TOMBSTONE)) {
			prefetch_way(&hb.w->way[i]);
			completes = true;
		}
	}
	if (completes && (flags & TCPF_ACK))
		prefetch_insert(fb, free_ways);
}
