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

void native_track_segment(struct native_segment *s, __u32 egress)
{
	struct iface_stats *st = stats_of(s->p.key.iface);

	if (st)
		track_parse_result(&s->p, s->hash, st, egress);
}

/* A bare SYN reads the handshake bucket alone; other segments may read
 * both headers, and the flow bucket's counts of records away with its
 * header (whether to look elsewhere): a separate array, so a line of its
 * own. */
void native_prefetch_heads(const struct native_segment *s)
{
	struct flow_ref fb;

	prefetch_write(hs_bucket_of(s->hash).h);
	if ((s->p.flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN)
		return;
	fb = flow_bucket_of(s->hash);
	prefetch_write(fb.h);
	prefetch_write(fb.away);
}

/* The first free way of a flow bucket, the one flow_claim_free() takes. */
static void prefetch_first_free(const struct flow_head *h, const struct flow_ways *w)
{
	int i;

	for (i = 0; i < FLOW_WAYS; i++) {
		if (h->tag[i] == TAG_FREE) {
			prefetch_way(&w->way[i]);
			return;
		}
	}
}

/* The ways of a flow bucket whose tags match (either ESTABLISHED mark);
 * whether there were any. */
static bool prefetch_matching(const struct flow_head *h, const struct flow_ways *w, __u32 tag)
{
	bool any = false;
	int i;

	for (i = 0; i < FLOW_WAYS; i++) {
		if ((h->tag[i] | TAG_ESTABLISHED) == (tag | TAG_ESTABLISHED)) {
			prefetch_way(&w->way[i]);
			any = true;
		}
	}
	return any;
}

/* A handshake that may complete: its record is copied into the flow table
 * (flow_insert) right before an atomic that waits for that store, so the
 * way it will take is loaded ahead: the first free way at home, which it
 * takes unless home is past half full and the alternative bucket has more
 * room, or home is full and the oldest TIME-WAIT record gives way. Those
 * choices read lines that are loaded now (the alternative's header, every
 * way's state and end time), so the way they lead to is loaded later
 * (PREFETCH_LATER_INSERT). A way loaded in vain costs bandwidth, never a
 * decision. */
static unsigned int prefetch_insert(struct flow_ref fb, __u32 free_ways)
{
	__u32 i;

	if (free_ways)
		prefetch_first_free(fb.h, fb.w);
	if (free_ways >= FLOW_WAYS / 2)
		return 0;
	if (!free_ways)
		for (i = 0; i < FLOW_WAYS; i++)
			prefetch_read((const char *)&fb.w->way[i] + 64);
	if (fb.alt != fb.home)
		prefetch_write(flow_head_at(fb.alt));
	return fb.alt != fb.home || !free_ways ? PREFETCH_LATER_INSERT : 0;
}

/* The way flow_insert() takes when it is not home's first free one. */
static void prefetch_insert_elsewhere(struct flow_ref fb, struct flow_head *ah, struct flow_ways *aw)
{
	__u32 home_free = flow_free_ways(fb.h), vtag;
	int i;

	if (ah && aw && fb.alt != fb.home && flow_free_ways(ah) > home_free) {
		prefetch_first_free(ah, aw);
		return;
	}
	if (home_free)
		return;
	i = flow_oldest_time_wait(fb.h, fb.w, &vtag);
	if (i >= 0 && i < FLOW_WAYS)
		prefetch_write(&fb.w->way[i]);   /* its key; the rest is in cache */
}

void native_prefetch_later(const struct native_segment *s, unsigned int what)
{
	__u32 tag = flow_tag(s->hash);
	struct flow_ref fb = flow_bucket_of(s->hash);
	struct flow_head *ah = flow_head_at(fb.alt);
	struct flow_ways *aw = flow_ways_at(fb.alt);

	if (!fb.h || !fb.w)
		return;
	if ((what & PREFETCH_LATER_ALT) && ah && aw)
		prefetch_matching(ah, aw, tag);
	if (what & PREFETCH_LATER_INSERT)
		prefetch_insert_elsewhere(fb, ah, aw);
}

/* The headers are in cache by now: the ways whose tags match are the ones
 * the core will compare keys with and update. A data segment of an
 * established flow needs the header alone; a bare SYN writes a free way.
 * A record not at home may be in the spill map, loaded now, or in the
 * alternative bucket, whose header loads now and way later
 * (PREFETCH_LATER_ALT). */
unsigned int native_prefetch_ways(const struct native_segment *s)
{
	__u32 tag = flow_tag(s->hash), flags = s->p.flags;
	struct hs_ref hb = hs_bucket_of(s->hash);
	struct flow_ref fb = flow_bucket_of(s->hash);
	unsigned int later = 0;
	bool completes = false;
	int i;

	if (fsm_bare_syn(flags)) {
		for (i = 0; i < HS_WAYS; i++) {
			if (!tag_is_record(hb.h->tag[i])) {
				prefetch_way(&hb.w->way[i]);
				break;
			}
		}
		return 0;
	}
	if (!(flags & (TCPF_SYN | TCPF_FIN | TCPF_RST)) && flow_find_established(fb.h, tag) >= 0)
		return 0;
	if (!prefetch_matching(fb.h, fb.w, tag)) {
		if (fb.away->alt && fb.alt != fb.home) {
			prefetch_write(flow_head_at(fb.alt));
			later |= PREFETCH_LATER_ALT;
		}
		if (fb.away->spill)
			native_spill_prefetch(native_spill_slot(&s->p.key));
	}
	for (i = 0; i < HS_WAYS; i++) {
		if ((hb.h->tag[i] | TAG_TOMBSTONE) == (tag | TAG_TOMBSTONE)) {
			prefetch_way(&hb.w->way[i]);
			completes = true;
		}
	}
	if (completes && (flags & TCPF_ACK))
		later |= prefetch_insert(fb, flow_free_ways(fb.h));
	return later;
}
