// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness: the packet parser and the state machine together. Each
 * input is a small world (table geometry, interfaces) and a sequence of
 * steps: crafted segments of a few flows (flags, sequence numbers relative
 * to each side's ISN), damaged or raw frames, clock steps, sweeper passes.
 * It runs through the natively compiled core (src/native.c: bpf/track.h and
 * bpf/sweep.h unchanged), then checks what must hold whatever the packets:
 * counters consistent with each other, with the per-port rows, histograms
 * and events; every record in a state its table may hold; table occupancy
 * equal to the sweeper's gauges; every event renders as valid JSON.
 *
 * Input: byte 0 geometry, byte 1 world, then steps (see step()).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "craft.h"
#include "events.h"
#include "native.h"
#include "tables.h"
#include "tcpshake/histogram.h"

#define NFLOWS    8
#define SELF_FLOW 7         /* a socket connected to itself: one address and port */
#define MAX_EV    1024
#define SEC       1000000000ull

struct world {
	const uint8_t *p, *end;         /* input not read yet */
	__u32 isn[NFLOWS][2];           /* [flow][0 client, 1 server] */
	__u32 nr_ifaces;
	__u64 events[MAX_IFACES];       /* events seen, by interface slot */
	__u64 ev_outcome[MAX_IFACES][OUT_MAX];
	__u64 start_ns;
	__u64 max_ns;                   /* the latest the clock read */
	bool egress_seen;               /* a packet stepped as this host's (DIR_EGRESS) */
};

static struct world W;

static void fail(const char *what, __u32 iface, unsigned long long a, unsigned long long b)
{
	fprintf(stderr, "fuzz_track: invariant broken on slot %u: %s (%llu vs %llu)\n",
		iface, what, a, b);
	abort();
}

static void require(int ok, const char *what, __u32 iface, __u64 a, __u64 b)
{
	if (!ok)
		fail(what, iface, a, b);
}

static int take(void *out, size_t n)
{
	if ((size_t)(W.end - W.p) < n)
		return 0;
	memcpy(out, W.p, n);
	W.p += n;
	return 1;
}

static uint8_t byte(void)
{
	uint8_t b = 0;

	take(&b, 1);
	return b;
}

static void on_event(const struct event *e, void *ctx)
{
	json_tokener *tok;
	json_object *o;
	char *line;

	(void)ctx;
	require(e->key.iface < W.nr_ifaces, "event of an unused interface slot", e->key.iface, 0, 0);
	require(e->conn.outcome != OUT_NONE && e->conn.outcome < OUT_MAX, "event without an outcome",
		e->key.iface, e->conn.outcome, 0);
	W.events[e->key.iface]++;
	W.ev_outcome[e->key.iface][e->conn.outcome]++;
	/* A side is this host's only after a packet that left it. */
	require(W.egress_seen || !(e->conn.seen & (SEEN_EGRESS_ORIG | SEEN_EGRESS_RESP)),
		"a side marked as this host's, and no packet left it", e->key.iface, e->conn.seen, 0);
	/* The record's state agrees with how it ended. */
	switch (e->conn.outcome) {
	case OUT_ESTABLISHED:
		require(fsm_is_open(e->conn.state) && (e->conn.seen & SEEN_ACK3) && e->conn.t_established,
			"established event of an open record", e->key.iface, e->conn.state, e->conn.seen);
		break;
	case OUT_REFUSED: case OUT_TIMEOUT: case OUT_INVALID:
		require(e->conn.state == CS_CLOSED || e->conn.state == CS_FAILED,
			"failed attempt ended", e->key.iface, e->conn.state, e->conn.outcome);
		require(e->conn.fail_reason < FAIL_MAX && !(e->conn.seen & SEEN_ACK3),
			"failed attempt never completed", e->key.iface, e->conn.fail_reason, e->conn.seen);
		break;
	default:
		require(e->conn.state == CS_CLOSED || e->conn.state == CS_TIME_WAIT ||
			e->conn.state == CS_FAILED, "ended record closed", e->key.iface, e->conn.state,
			e->conn.outcome);
		break;
	}
	/* The event writer, fed the real record: one valid JSON object. */
	line = event_to_json(e, "eth0", 0);
	require(line != NULL, "event_to_json failed", e->key.iface, 0, 0);
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)strlen(line));
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_object_get_type(o) != json_type_object) {
		fprintf(stderr, "fuzz_track: event is not a JSON object: %s\n", line);
		abort();
	}
	json_object_put(o);
	json_tokener_free(tok);
	free(line);
}

#define MAX_BUCKETS 8
#define MAX_SPILL   7

/* The tables are allocated once at their largest; an input uses the first
 * buckets of them through the masks, as a smaller table would be used:
 * allocating per input costs more than running it. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return native_open(MAX_BUCKETS, MAX_BUCKETS, MAX_SPILL, MAX_IFACES + 8) ? -1 : 0;
}

/* Byte 0: bits 0-1 handshake buckets (1..8), 2-3 flow buckets (1..8),
 * 4-6 spill capacity (0..7), 7 events on. Byte 1: bit 0 two interfaces,
 * bits 1-7 the hash seed. Small tables: every eviction path is reachable. */
static int setup(void)
{
	uint8_t g = byte(), w = byte();
	__u32 hs = 1u << (g & 3), flows = 1u << ((g >> 2) & 3);
	int i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.hash_seed = 0x9e3779b97f4a7c15ull * (w >> 1) + 1;
	cfg.syn_timeout_ns = 3 * SEC;
	cfg.time_wait_ns = 4 * SEC;
	cfg.close_timeout_ns = 5 * SEC;
	cfg.tombstone_ns = 6 * SEC;
	cfg.idle_timeout_s = 10;
	cfg.hs_mask = hs - 1;
	cfg.flow_mask = flows - 1;
	cfg.port_slots = native.port_slots;
	cfg.nr_ifaces = W.nr_ifaces = 1 + (w & 1);
	for (i = 0; i < (int)cfg.nr_ifaces; i++)
		cfg.ifindex[i] = 10 + (__u32)i;
	native_reset();
	native.spill.max = (g >> 4) & MAX_SPILL;
	native.on_event = (g & 0x80) ? on_event : NULL;
	cfg.events_enabled = native.on_event != NULL;
	for (i = 0; i < NFLOWS; i++) {
		W.isn[i][0] = 1000u + 0x10000000u * (__u32)i;
		W.isn[i][1] = i == SELF_FLOW ? W.isn[i][0] : 5000u + 0x10000000u * (__u32)i;
	}
	W.start_ns = W.max_ns = native.now = 100 * SEC;
	W.egress_seen = false;
	native_sweep();
	return 0;
}

/* A sequence number relative to a side's ISN: mode 0..14 -> ISN + mode - 2
 * (ISN - 2 .. ISN + 12), 15 -> a literal from the input. */
static __u32 rel_seq(__u32 isn, unsigned mode)
{
	__u32 v;

	if (mode < 15)
		return isn + mode - 2;
	if (!take(&v, 4))
		v = 0;
	return v;
}

/* A crafted segment: byte a: bits 0-1 and 7 flow, 2 sent by the server, 3
 * seen on egress, 4 second interface, 5-6 encapsulation; byte flags; byte
 * seq/ack modes (low/high nibble, relative to sender/receiver ISN); byte
 * payload: bits 0-6 its length, 7 of no known direction (offline replay's
 * transit, DIR_UNKNOWN). Eight flows per family and interface: more than a
 * bucket's ways; the last one a socket connected to itself. */
static size_t craft_step(__u8 *buf, size_t cap, struct craft *c, __u32 *ifindex, __u32 *egress)
{
	static const char *const v4[2] = { "10.0.0.1", "10.0.0.2" };
	static const char *const v6[2] = { "fd00::1", "fd00::2" };
	uint8_t a = byte(), flags = byte(), modes = byte(), payload = byte();
	unsigned flow = (a & 3) | (a >> 5 & 4), server = (a >> 2) & 1, encap = (a >> 5) & 3;
	/* Flows differ in the client port (4 values) and the server port. */
	__u16 cport = (__u16)(40000 + (flow & 1) + 2 * (flow >> 2)), sport = (flow & 2) ? 443 : 80;

	memset(c, 0, sizeof(*c));
	c->family = (encap & 1) ? 6 : 4;
	c->src = (c->family == 4 ? v4 : v6)[server];
	c->dst = (c->family == 4 ? v4 : v6)[!server];
	c->sport = server ? sport : cport;
	c->dport = server ? cport : sport;
	if (flow == SELF_FLOW) {
		c->src = c->dst;
		c->sport = c->dport = cport;
	}
	c->flags = flags;
	c->seq = rel_seq(W.isn[flow][server], modes & 15);
	c->ack = rel_seq(W.isn[flow][!server], modes >> 4);
	c->payload = payload & 0x7f;
	c->vlans = encap >> 1;
	c->qinq = encap == 3;
	*ifindex = 10 + ((a >> 4) & 1);
	*egress = (payload & 0x80) ? DIR_UNKNOWN : (a >> 3) & 1;
	return craft_packet(buf, cap, c);
}

/* Damage to a crafted segment: header options, wrong lengths, cuts. */
static void damage(struct craft *c)
{
	uint8_t d = byte(), e = byte();

	c->ip_options = (d & 3) * 4;
	c->tcp_options = ((d >> 2) & 3) * 4;
	if (d & 0x10)
		c->bad_ihl = e & 15;
	if (d & 0x20)
		c->bad_doff = e >> 4;
	if (d & 0x40)
		c->v6_ext = 1 + (e & 3);
	if (d & 0x80)
		c->v6_frag = true;
	c->frag_offset = (e & 0x80) ? 1 : 0;
	c->truncate = byte();
}

static void step_clock(uint8_t op)
{
	uint8_t d = byte();
	__u64 delta = d < 128 ? d * 10000000ull : (d - 128ull) * 500000000ull;

	/* Backwards only a little, and never before the start: capture
	 * timestamps of merged interfaces may step back. */
	if ((op & 1) && delta <= 50000000ull && native.now - delta > W.start_ns)
		native.now -= delta;
	else
		native.now += delta;
	if (native.now > W.max_ns)
		W.max_ns = native.now;
}

static void track_as(const __u8 *pkt, size_t len, __u32 ifindex, __u32 egress)
{
	W.egress_seen |= egress == DIR_EGRESS;
	native_track(pkt, pkt + len, ifindex, egress);
}

static void run_step(void)
{
	static __u8 buf[2048];
	uint8_t op = byte();
	struct craft c;
	__u32 ifindex = 10, egress = 0;
	size_t len;

	switch (op >> 5) {
	case 0: case 1: case 2:     /* a crafted segment */
		len = craft_step(buf, sizeof(buf), &c, &ifindex, &egress);
		track_as(buf, len, ifindex, egress);
		break;
	case 3:                     /* a damaged segment, or an ICMP error quoting one */
		craft_step(buf, sizeof(buf), &c, &ifindex, &egress);
		if ((op & 0x18) == 0x18) {
			/* From the segment's receiver; types that end an attempt and not. */
			static const __u8 v4[5][2] = { { 3, 1 }, { 3, 3 }, { 3, 4 }, { 11, 0 }, { 0, 0 } };
			static const __u8 v6[5][2] = { { 1, 0 }, { 1, 4 }, { 2, 0 }, { 3, 0 }, { 128, 0 } };
			uint8_t t = byte();
			const __u8 *tc = (c.family == 4 ? v4 : v6)[(t >> 1) % 5];

			len = craft_icmp_error(buf, sizeof(buf), &c, c.dst, NULL, tc[0], tc[1],
					       (t & 1) ? 20 : 8);
		} else {
			damage(&c);
			len = craft_packet(buf, sizeof(buf), &c);
		}
		track_as(buf, len, ifindex, egress);
		break;
	case 4: {                   /* raw bytes, on a buffer of exactly that size */
		size_t n = byte() % 97;
		__u8 *raw;

		n = n < (size_t)(W.end - W.p) ? n : (size_t)(W.end - W.p);
		raw = malloc(n ? n : 1);
		memcpy(raw, W.p, n);
		W.p += n;
		track_as(raw, n, 10 + (op & 1), (op >> 1) & 1);
		free(raw);
		break;
	}
	case 5:
		step_clock(op);
		break;
	case 6:
		native_sweep();
		break;
	default: {                  /* a new ISN for one side (bit 2) of a flow (bits 0, 1, 3) */
		__u32 v = 0;

		take(&v, 4);
		W.isn[(op & 3) | (op >> 1 & 4)][(op >> 2) & 1] = v;
		break;
	}
	}
}

/* ---- invariants ---- */

static __u64 sum(const __u64 *v, int n)
{
	__u64 s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += v[i];
	return s;
}

static __u64 hist_count(const struct hist *h)
{
	return sum(h->count, HIST_SLOTS);
}

/* No duration can exceed what the clock covered: a larger sample is a
 * negative interval wrapped around (a stamp taken later than the end). */
static void check_durations(const struct hist *h, __u32 iface, __u32 id)
{
	__u64 span = W.max_ns - W.start_ns, n = 0;
	__u32 k;

	for (k = 1; k < HIST_SLOTS; k++) {
		n += h->count[k];
		require(hist_upper_ns(k - 1) < span || h->count[k] == 0,
			"no duration longer than the run (a negative interval)", iface, id, k);
	}
	n += h->count[0];
	require(h->sum_ns <= n * span, "duration sum within the run", iface, id, h->sum_ns);
}

static void check_counters(__u32 i)
{
	const struct iface_stats *st = &native.stats[i];
	__u64 fails = sum(st->failures, FAIL_MAX), hs = 0, pf[FAIL_MAX] = {0};
	__u32 s;
	int r;

	require(st->syn_packets + st->synack_packets <= st->packets, "SYNs + SYN-ACKs <= packets",
		i, st->syn_packets + st->synack_packets, st->packets);
	require(st->syn_retransmits <= st->syn_packets, "SYN retransmits <= SYNs", i,
		st->syn_retransmits, st->syn_packets);
	require(st->synack_retransmits <= st->synack_packets, "SYN-ACK retransmits <= SYN-ACKs", i,
		st->synack_retransmits, st->synack_packets);
	require(st->handshakes <= st->synack_packets, "handshakes <= SYN-ACKs", i,
		st->handshakes, st->synack_packets);
	require(st->simultaneous_opens <= st->syn_packets, "simultaneous opens <= SYNs", i,
		st->simultaneous_opens, st->syn_packets);
	require(st->handshakes + fails <= st->syn_packets + st->synack_packets,
		"handshakes + failures <= SYNs + SYN-ACKs", i, st->handshakes + fails,
		st->syn_packets + st->synack_packets);
	require(st->closes_graceful + st->closes_reset + st->flows_expired + st->flows_superseded <=
		st->handshakes, "connection ends <= handshakes", i,
		st->closes_graceful + st->closes_reset + st->flows_expired + st->flows_superseded,
		st->handshakes);
	/* One thread, so no update ever loses a race. */
	require(st->update_retries == 0 && st->update_conflicts == 0, "no update retries", i,
		st->update_retries, st->update_conflicts);
	require(st->events_lost == 0, "no event lost", i, st->events_lost, 0);
	if (i >= W.nr_ifaces)
		require(st->packets == 0 && st->unparsed == 0, "unused slot untouched", i,
			st->packets, st->unparsed);

	/* Per-port rows: the interface's "other" slot plus its own slots. */
	for (s = 0; s < native.port_slots; s++) {
		const struct service_stats *ps = &native.port_stats[s];
		__u32 owner = s < MAX_IFACES ? s : native.port_owner[s].iface;

		if (s >= MAX_IFACES && !native.port_owner[s].port) {
			require(ps->handshakes == 0, "unowned port slot used", i, s, ps->handshakes);
			continue;
		}
		if (owner != i)
			continue;
		hs += ps->handshakes;
		for (r = 0; r < FAIL_MAX; r++)
			pf[r] += ps->failures[r];
		check_durations(&ps->handshake, i, 100 + s);
		require(hist_count(&ps->handshake) <= ps->handshakes,
			"port handshake histogram <= port handshakes", i, hist_count(&ps->handshake),
			ps->handshakes);
	}
	require(hs == st->handshakes, "port handshakes == handshakes", i, hs, st->handshakes);
	for (r = 0; r < FAIL_MAX; r++)
		require(pf[r] == st->failures[r], "port failures == failures", i, pf[r],
			st->failures[r]);

	for (r = 0; r < H_MAX; r++)
		check_durations(&native.hists[i * H_MAX + r], i, (__u32)r);
	/* Histograms: one SYN-ACK-to-ACK sample per handshake (the clock never
	 * reads 0, so every handshake has its SYN-ACK time). */
	require(hist_count(&native.hists[i * H_MAX + H_SYNACK_TO_ACK]) == st->handshakes,
		"synack_to_ack samples == handshakes", i,
		hist_count(&native.hists[i * H_MAX + H_SYNACK_TO_ACK]), st->handshakes);
	require(hist_count(&native.hists[i * H_MAX + H_HANDSHAKE]) <= st->handshakes,
		"handshake samples <= handshakes", i,
		hist_count(&native.hists[i * H_MAX + H_HANDSHAKE]), st->handshakes);
	require(hist_count(&native.hists[i * H_MAX + H_CLOSE]) == st->closes_graceful,
		"close samples == graceful closes", i,
		hist_count(&native.hists[i * H_MAX + H_CLOSE]), st->closes_graceful);
	require(hist_count(&native.hists[i * H_MAX + H_CONNECTION]) ==
		st->closes_graceful + st->closes_reset, "connection samples == closes", i,
		hist_count(&native.hists[i * H_MAX + H_CONNECTION]),
		st->closes_graceful + st->closes_reset);

	/* Every accounted end of a record is reported, once. */
	if (native.on_event)
		require(W.events[i] == st->handshakes + fails + st->closes_graceful +
			st->closes_reset + st->flows_expired + st->flows_superseded,
			"events == accounted ends", i, W.events[i], st->handshakes + fails +
			st->closes_graceful + st->closes_reset + st->flows_expired +
			st->flows_superseded);
	if (native.on_event)
		require(W.ev_outcome[i][OUT_SUPERSEDED] == st->flows_superseded,
			"superseded events == superseded flows", i, W.ev_outcome[i][OUT_SUPERSEDED],
			st->flows_superseded);
	if (native.on_event)
		require(W.ev_outcome[i][OUT_ESTABLISHED] == st->handshakes,
			"established events == handshakes", i, W.ev_outcome[i][OUT_ESTABLISHED],
			st->handshakes);
}

static int way_key_cmp(const void *a, const void *b)
{
	const struct way *x = *(const struct way *const *)a, *y = *(const struct way *const *)b;

	return memcmp(&x->key, &y->key, sizeof(x->key));
}

/* A connection has one flow record at most (a new handshake on its tuple
 * supersedes the old record: track.h establish()), and one attempt at most
 * (a move, bpf/hs_move.h, leaves no copy behind). */
static void check_one_record_per_flow(const struct way **recs, __u32 n, const char *what)
{
	__u32 i;

	qsort(recs, n, sizeof(recs[0]), way_key_cmp);
	for (i = 1; i < n; i++)
		require(!flow_key_equal(&recs[i - 1]->key, &recs[i]->key), what,
			recs[i]->key.iface, i, n);
}

static void check_key(const struct flow_key *k, const char *table)
{
	require(k->iface < W.nr_ifaces, table, k->iface, k->family, 0);
	require(k->family == 4 || k->family == 6, table, k->iface, k->family, 0);
}

/* Right after a sweeper pass: the tables against its report. */
static void check_tables(void)
{
	__u64 hs_live[MAX_IFACES] = {0}, flow_live[MAX_IFACES] = {0}, spilled = 0;
	__u32 hs_guests[MAX_BUCKETS] = {0}, flow_in_alt[MAX_BUCKETS] = {0};
	__u32 flow_in_spill[MAX_BUCKETS] = {0};
	static const struct way *recs[8 * FLOW_WAYS + 8], *attempts[MAX_BUCKETS * HS_WAYS];
	__u32 b, nkeys = 0, nattempts = 0, s, st;
	int w;

	for (b = 0; b < native.hs_buckets; b++) {
		for (w = 0; w < HS_WAYS; w++) {
			__u32 t = native.hs_heads[b].tag[w];
			const struct way *x = &native.hs_ways[b].way[w];
			__u64 h = flow_hash(&x->key, cfg.hash_seed);

			require(t == TAG_FREE || tag_is_record(t), "handshake way busy after a step", b,
				t, 0);
			if (!tag_is_record(t))
				continue;
			check_key(&x->key, "handshake record key");
			require(fsm_is_handshake(x->conn.state) || x->conn.state == CS_FAILED,
				"handshake table record in a handshake state", x->key.iface,
				x->conn.state, b);
			{
				struct hs_ref r = hs_bucket_of(h);
				__u8 away = native.hs_heads[b].away[w];

				/* At home, or a guest of its alternative bucket. */
				require((t & ~TAG_TOMBSTONE) == flow_tag(h) &&
					(away ? r.alt == b && r.alt != r.home : r.home == b),
					"handshake record under its own tag, at home or marked a guest",
					x->key.iface, t, b);
				if (away && r.home < MAX_BUCKETS)
					hs_guests[r.home]++;
			}
			require(native.hs_heads[b].iface[w] == x->key.iface,
				"handshake header interface", x->key.iface, native.hs_heads[b].iface[w], b);
			/* The header's SYN-ACK note follows the record, also
			 * for an attempt that moved (bpf/hs_move.h), or whose
			 * SYN-ACK was lost to an ICMP error (none then). */
			require(native.hs_heads[b].synack_tick[w] == hs_synack_tick(&x->conn) ||
				x->conn.state == CS_FAILED || !(x->conn.seen & SEEN_SYNACK),
				"handshake header SYN-ACK tick", x->key.iface,
				native.hs_heads[b].synack_tick[w], b);
			hs_live[x->key.iface]++;
			if (b < MAX_BUCKETS)
				attempts[nattempts++] = x;
		}
	}
	for (b = 0; b < native.flow_buckets; b++) {
		for (w = 0; w < FLOW_WAYS; w++) {
			__u32 t = native.flow_heads[b].tag[w];
			const struct way *x = &native.flow_ways[b].way[w];
			__u64 h = flow_hash(&x->key, cfg.hash_seed);

			require(t == TAG_FREE || tag_is_record(t), "flow way busy after a step", b, t, 0);
			if (!tag_is_record(t))
				continue;
			check_key(&x->key, "flow record key");
			require(fsm_is_open(x->conn.state) || x->conn.state == CS_TIME_WAIT,
				"flow table record open or in TIME-WAIT", x->key.iface, x->conn.state, b);
			{
				struct flow_ref r = flow_bucket_of(h);

				require((t & ~TAG_ESTABLISHED) == flow_tag(h) &&
					(r.home == b || (r.alt == b && r.alt != r.home)),
					"flow record under its own tag, in its home or alternative bucket",
					x->key.iface, t, b);
				if (r.home != b && r.home < MAX_BUCKETS)
					flow_in_alt[r.home]++;
			}
			require(!!(t & TAG_ESTABLISHED) == !!fsm_data_fast_path(&x->conn),
				"data fast-path mark matches the record", x->key.iface, t, x->conn.seen);
			flow_live[x->key.iface]++;
			recs[nkeys++] = x;
		}
	}
	for (s = 0; s <= native.spill.mask; s++) {
		const struct way *x = &native.spill.ways[s];

		if (native.spill.used[s] != 1)
			continue;
		check_key(&x->key, "spilled record key");
		require(flow_key_equal(&x->key, &native.spill.keys[s]), "spill key == record key",
			x->key.iface, s, 0);
		require(fsm_is_open(x->conn.state) || x->conn.state == CS_TIME_WAIT,
			"spilled record open or in TIME-WAIT", x->key.iface, x->conn.state, s);
		flow_live[x->key.iface]++;
		spilled++;
		recs[nkeys++] = x;
		{
			__u32 home = flow_bucket_of(flow_hash(&x->key, cfg.hash_seed)).home;

			if (home < MAX_BUCKETS)
				flow_in_spill[home]++;
		}
	}
	require(spilled == native.spill.count, "spill count", 0, spilled, native.spill.count);
	require(spilled == report.spill_entries, "spill entries reported", 0, spilled,
		report.spill_entries);
	/* Each bucket's counts of its records held elsewhere are exact. */
	for (b = 0; b < native.flow_buckets && b < MAX_BUCKETS; b++) {
		require(native.flow_away[b].alt == flow_in_alt[b],
			"flow bucket's count == its records in their alternative buckets", b,
			native.flow_away[b].alt, flow_in_alt[b]);
		require(native.flow_away[b].spill == flow_in_spill[b],
			"flow bucket's count == its records in the spill map", b,
			native.flow_away[b].spill, flow_in_spill[b]);
	}
	for (b = 0; b < native.hs_buckets && b < MAX_BUCKETS; b++)
		require(native.hs_heads[b].elsewhere == hs_guests[b],
			"handshake bucket's count == its attempts in the alternative", 0,
			native.hs_heads[b].elsewhere, hs_guests[b]);
	check_one_record_per_flow(recs, nkeys, "one flow record per connection");
	check_one_record_per_flow(attempts, nattempts, "one handshake record per connection");

	for (s = 0; s < MAX_IFACES; s++) {
		__u64 by_state = sum(report.states[s], CS_MAX);

		require(report.hs_entries[s] == hs_live[s], "handshake gauge == records", s,
			report.hs_entries[s], hs_live[s]);
		require(report.flow_entries[s] == flow_live[s], "flow gauge == records", s,
			report.flow_entries[s], flow_live[s]);
		require(by_state == hs_live[s] + flow_live[s], "gauges by state == records", s,
			by_state, hs_live[s] + flow_live[s]);
		for (st = 0; st < CS_MAX; st++)
			require(st != CS_NONE && st != CS_CLOSED ? 1 : report.states[s][st] == 0,
				"no live record NONE or CLOSED", s, st, report.states[s][st]);
	}
}

/* FUZZ_TRACK_DUMP=1 fuzz_track FILE: what an input did, to check a seed. */
static void dump(void)
{
	__u32 i;

	for (i = 0; i < W.nr_ifaces; i++) {
		const struct iface_stats *st = &native.stats[i];

		fprintf(stderr, "slot %u: packets %llu unparsed %llu syn %llu/%llu synack %llu/%llu "
			"handshakes %llu simopen %llu failures %llu %llu %llu %llu graceful %llu "
			"reset %llu expired %llu evictions %llu invalid %llu reuses %llu events %llu\n",
			i, (unsigned long long)st->packets, (unsigned long long)st->unparsed,
			(unsigned long long)st->syn_packets, (unsigned long long)st->syn_retransmits,
			(unsigned long long)st->synack_packets,
			(unsigned long long)st->synack_retransmits,
			(unsigned long long)st->handshakes, (unsigned long long)st->simultaneous_opens,
			(unsigned long long)st->failures[0], (unsigned long long)st->failures[1],
			(unsigned long long)st->failures[2], (unsigned long long)st->failures[3],
			(unsigned long long)st->closes_graceful, (unsigned long long)st->closes_reset,
			(unsigned long long)st->flows_expired, (unsigned long long)st->flow_evictions,
			(unsigned long long)st->invalid_segments,
			(unsigned long long)st->time_wait_reuses, (unsigned long long)W.events[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	__u32 i;

	memset(&W, 0, sizeof(W));
	W.p = data;
	W.end = data + size;
	setup();
	while (W.p < W.end) {
		const uint8_t *before = W.p;

		run_step();
		if (*before >> 5 == 6)
			check_tables();
	}
	/* The end: everything times out, the tables drain. */
	native.now = W.max_ns += 200 * SEC;
	native_sweep();
	check_tables();
	native.now = W.max_ns += 200 * SEC;
	native_sweep();
	check_tables();
	if (getenv("FUZZ_TRACK_DUMP"))
		dump();
	for (i = 0; i < MAX_IFACES; i++) {
		check_counters(i);
		require(report.hs_entries[i] + report.flow_entries[i] == 0, "tables drain", i,
			report.hs_entries[i], report.flow_entries[i]);
	}
	return 0;
}
