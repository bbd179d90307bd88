/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one core behind every hook: parse, find the connection's record, run
 * the state machine, account. Costs by packet class:
 *   - data on an established flow: one flow-bucket read, no clock, no lock;
 *   - a SYN: one handshake-bucket write and one clock read, nothing shared
 *     with established flows;
 *   - handshake and close packets: the state machine, a clock read, and at
 *     most one ring-buffer event.
 * The big pieces are global BPF functions so the verifier checks each once.
 */
#ifndef TCPSHAKE_TRACK_H
#define TCPSHAKE_TRACK_H

#include "parse.h"
#include "tables.h"

static __always_inline __u32 iface_slot(__u32 ifindex)
{
	__u32 i;

#pragma unroll
	for (i = 0; i < MAX_IFACES; i++) {
		if (i >= cfg.nr_ifaces)
			break;
		if (cfg.ifindex[i] == ifindex)
			return i;
	}
	return 0;
}

static __always_inline void make_segment(struct segment *s, const struct packet *p, __u8 from_orig)
{
	s->seq = p->seq;
	s->ack = p->ack;
	s->payload_len = p->payload_len;
	s->flags = p->flags;
	s->from_orig = from_orig;
}

/* One state-machine step on a record in a table. The state word moves by
 * compare-and-swap: if another CPU moved it first, this packet's effects are
 * dropped rather than counted twice. Returns the effects. */
__noinline int step(struct way *w, const struct packet *p, __u64 now)
{
	struct segment s = {};
	struct conn c;
	__u32 old, fx;

	if (!w || !p)
		return 0;
	c = w->conn;
	old = c.state;
	make_segment(&s, p, p->from_a == c.orig_is_a);
	fx = fsm_segment(&c, &s, now);
	if (c.state != old && __sync_val_compare_and_swap(&w->conn.state, old, c.state) != old)
		return 0;
	w->conn = c;
	account(&w->key, &c, old, fx, now);
	return (int)fx;
}

/* A new record in a claimed way: from a SYN, or from a SYN-ACK whose SYN
 * was never seen (orphan). The way's tag is published by the caller. */
__noinline int start_record(struct way *w, const struct packet *p, __u64 now, __u32 egress)
{
	struct segment s = {};
	bool orphan;

	if (!w || !p)
		return 0;
	orphan = p->flags & TCPF_ACK;
	make_segment(&s, p, !orphan);
	w->key = p->key;
	if (orphan)
		fsm_start_orphan_synack(&w->conn, &s, now);
	else
		fsm_start_syn(&w->conn, &s, now);
	/* The originator is the SYN's sender, or the SYN-ACK's receiver. */
	w->conn.orig_is_a = orphan ? !p->from_a : p->from_a;
	w->conn.service_port = be16_to_host(w->conn.orig_is_a ? p->key.port_b : p->key.port_a);
	/* Locally initiated: our SYN went out, or the SYN-ACK came in. */
	if (orphan != !!egress)
		w->conn.seen |= SEEN_LOCAL_ORIG;
	account(&w->key, &w->conn, CS_NONE, orphan ? FX_SYNACK_FIRST : 0, now);
	return 0;
}

/* A SYN with a new ISN on a tuple with an unfinished attempt: the old
 * attempt ends unanswered and the new one takes over the way. */
__noinline int restart_attempt(struct way *w, const struct packet *p, __u64 now, __u32 egress)
{
	struct conn c;
	__u32 old, fx;

	if (!w || !p)
		return 0;
	c = w->conn;
	old = c.state;
	fx = fsm_fail_unanswered(&c, now);
	if (__sync_val_compare_and_swap(&w->conn.state, old, CS_CLOSED) != old)
		return 0;
	account(&w->key, &c, old, fx, now);
	return start_record(w, p, now, egress);
}

/* SYNs, SYN-ACKs, third ACKs, and RSTs/FINs of unfinished handshakes. */
static __always_inline void track_handshake(const struct packet *p, __u64 hash, __u32 tag,
					    __u32 egress)
{
	struct hs_bucket *b = hs_bucket_of(hash);
	bool open = (p->flags & (TCPF_SYN | TCPF_RST)) == TCPF_SYN;
	__u64 now;
	int i, fx;

	if (!b)
		return;
	i = hs_find(b, tag, &p->key);
	if (i < 0 || i >= HS_WAYS) {
		if (!open)
			return;
		now = bpf_ktime_get_ns();
		i = hs_claim(b, false);
		if (i < 0 || i >= HS_WAYS) {
			account_eviction(p->key.iface, CS_NONE, false);
			return;
		}
		start_record(&b->way[i], p, now, egress);
		way_publish(&b->tag[i], tag);
		return;
	}
	now = bpf_ktime_get_ns();
	fx = step(&b->way[i], p, now);
	if (fx & FX_NEW_ATTEMPT)
		restart_attempt(&b->way[i], p, now, egress);
	if (fx & FX_HANDSHAKE)
		flow_insert(&b->way[i], hash);
	if (fx & (FX_HANDSHAKE | FX_RELEASE))
		way_release(&b->tag[i], tag);
}

__noinline int track_packet(const struct packet *p, __u32 egress)
{
	struct flow_bucket *fb;
	struct way *w;
	__u32 tag;
	__u64 hash;
	int wi, fx;

	if (!p)
		return 0;
	hash = flow_hash(&p->key, cfg.hash_seed);
	tag = flow_tag(hash);
	/* A bare SYN never looks at established flows: floods stay away. */
	if ((p->flags & (TCPF_SYN | TCPF_ACK)) != TCPF_SYN) {
		fb = flow_bucket_of(hash);
		if (!fb)
			return 0;
		w = flow_lookup(fb, tag, &p->key, &wi);
		if (w) {
			/* The fast path: data of an open connection only stamps activity. */
			if (!(p->flags & (TCPF_SYN | TCPF_FIN | TCPF_RST)) &&
			    w->conn.state == CS_ESTABLISHED) {
				if (w->conn.last_active != now_sec)
					w->conn.last_active = now_sec;
				return 0;
			}
			fx = step(w, p, bpf_ktime_get_ns());
			if (fx & FX_RELEASE)
				flow_release(fb, wi, tag, &p->key);
			/* A SYN-ACK goes on: it may reuse a TIME-WAIT tuple. */
			if (!(p->flags & TCPF_SYN))
				return 0;
		}
	}
	track_handshake(p, hash, tag, egress);
	return 0;
}

static __always_inline void track(const void *data, const void *data_end, __u32 ifindex,
				  __u32 egress)
{
	__u32 iface = iface_slot(ifindex);
	struct iface_stats *st = stats_of(iface);
	struct packet p;
	int r;

	if (!st)
		return;
	r = parse_packet(data, data_end, &p);
	if (r != PARSE_TCP) {
		if (r == PARSE_MALFORMED)
			st->unparsed++;
		return;
	}
	p.key.iface = (__u8)iface;
	st->packets++;
	if ((p.flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN)
		st->syn_packets++;
	else if ((p.flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK))
		st->synack_packets++;
	track_packet(&p, egress);
}

#endif /* TCPSHAKE_TRACK_H */
