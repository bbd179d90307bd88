/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one core behind every hook: parse, find the connection's record, run
 * the state machine, account. Two fast paths come first in each program:
 *   - data on an established flow (inlined, no call): one
 *     flow-bucket header read, no clock, no helper call, and for payload
 *     one gate word read in a table of their own (stored when the stream
 *     enters a new block); a segment due for a sample updates the record
 *     at the way found (data_sample());
 *   - a new SYN: one handshake-bucket header read, one clock read, one way
 *     written; nothing shared with established flows is touched.
 * A segment of no connection (a spoofed ACK, FIN or RST flood, a SYN-ACK of
 * backscatter) ends after the bucket headers: the home flow header, the
 * alternative one when the home bucket has records there, and the
 * handshake headers alike. Data and ACKs learn it in the first fast path,
 * FINs and RSTs (and SYNs with either, which start nothing) in
 * close_segment_goes_on(), SYN-ACKs from the network in no_record(). A
 * RST from the network of a record the flow table may hold asks this
 * host's socket (host_rcv_nxt()).
 * Everything else (handshake and close packets, retransmissions) goes to
 * track_slow(), a global function the verifier checks once.
 */
#ifndef TCPSHAKE_TRACK_H
#define TCPSHAKE_TRACK_H

#include "hook_frame.h"
#include "tables.h"
#include "hs_move.h"
#include "account.h"

/* A global function: its result is one unknown value to the verifier, so
 * watching several interfaces does not multiply the paths it explores
 * (each known slot would be a program of its own: too large). */
CORE_GLOBAL __u32 iface_slot_search(__u32 ifindex)
{
	__u32 i;

	for (i = 0; i < MAX_IFACES; i++) {
		if (i >= cfg.nr_ifaces)
			break;
		if (cfg.ifindex[i] == ifindex)
			return i;
	}
	return 0;
}

/* The interface slot of a packet. Watching one interface, the common case,
 * it is slot 0 whatever the ifindex, as the search would find: the
 * verifier reads nr_ifaces from the frozen configuration and drops the
 * call, which costs about 9 ns a packet (a global call's return thunk). */
static __always_inline __u32 iface_slot(__u32 ifindex)
{
	return cfg.nr_ifaces <= 1 ? 0 : iface_slot_search(ifindex);
}

/* The time of a step that needs no clock (fsm_segment_needs_time): the
 * start of the sweeper's current coarse tick, all such a step keeps. */
static __always_inline __u64 coarse_now_ns(void)
{
	return (__u64)now_coarse << FSM_COARSE_SHIFT;
}

static __always_inline void make_segment(struct segment *s, const struct packet *p, __u8 from_orig,
					 __u32 egress)
{
	s->seq = p->seq;
	s->ack = p->ack;
	s->payload_len = p->payload_len;
	s->flags = p->flags;
	s->from_orig = from_orig;
	s->local = egress == DIR_EGRESS;
	s->marks = p->marks;
	s->host_rcv_nxt = p->host_rcv_nxt;
	s->host_backlog = p->host_backlog;
}

/* A new record for a packet: from a SYN, or from a SYN-ACK whose SYN was
 * never seen (orphan), which this host must have sent: a SYN-ACK from the
 * network and an ACK, both numbered by their sender, prove nothing. */
static __always_inline void start_conn(struct conn *c, const struct packet *p, __u64 now,
				       __u32 egress)
{
	struct segment s = {};
	bool orphan = p->flags & TCPF_ACK;

	make_segment(&s, p, !orphan, egress);
	s.self = packet_to_itself(p);
	if (orphan)
		fsm_start_orphan_synack(c, &s, now);
	else
		fsm_start_syn(c, &s, now);
	/* The originator is the SYN's sender, or the SYN-ACK's receiver. */
	c->orig_is_a = orphan ? !p->from_a : p->from_a;
	c->service_port = be16_to_host(c->orig_is_a ? p->key.port_b : p->key.port_a);
	c->version = version_fresh(now, (__u32)p->seq);
}

/* What one update of a record did: its effects and the record as
 * committed, which is what gets accounted (the way itself may already have
 * moved on under another CPU); gone: the way no longer held the record
 * (released and reused, or moved: hs_move.h). */
struct update {
	__u32 fx;
	__u32 gone;
	struct way w;     /* key and committed record */
	__u64 now;        /* the time the step was taken at */
	__u32 how;        /* how record_tries() applies the packet (enum record_how) */
};
_Static_assert(sizeof(struct update) <= sizeof(struct scratch), "an update lives in the scratch");

/* The state machine's step, a function of its own for the verifier: its
 * many ways through are checked once, not again for every way the commit
 * after it can go. */
CORE_GLOBAL __u32 conn_step(struct conn *c, const struct segment *s, __u64 now)
{
	if (!c || !s)
		return 0;
	return fsm_step(c, s, now);
}

/* Whether the way w still holds the flow of key, as read after a copy of
 * its record c: the key matches and the record is not sealed. A move seals
 * the record it leaves (state NONE, hs_move.h) and the way is taken again
 * at once; the key is outside the version protocol, and a read of it can
 * tear while the next attempt's key is written (words of the old key and
 * of the new one): with the same ports, the torn key equals the old one.
 * The copy, taken at an even version, shows the seal. */
static __always_inline bool record_holds(const struct way *w, const struct conn *c,
					 const struct flow_key *key)
{
	return flow_key_equal(&w->key, key) && c->state != CS_NONE;
}

/* How record_tries() applies a packet. */
enum record_how {
	HOW_EGRESS     = 1,       /* the packet leaves the host (else: arrives) */
	HOW_RESTART    = 2,       /* a new attempt over the record (restart_try) */
	HOW_GATE_BLOCK = 4,       /* the sender's block from the data gate is
				   * above HOW_BLOCK_SHIFT (fsm_sender_position) */
	HOW_GATE_ACKED = 8,       /* ... where this host's ACKs put it */
	HOW_TIME_LATE  = 16,      /* the clock is read only if the step needs it
				   * (fsm_segment_needs_time): now is not given */
};
#define HOW_BLOCK_SHIFT 16
_Static_assert(HOW_BLOCK_SHIFT + FLOW_BLOCK_BITS <= 32, "a block fits above the flags");
_Static_assert((int)HOW_EGRESS == (int)DIR_EGRESS, "how & HOW_EGRESS is the packet's direction");

/* One try at applying a packet to a record at u->now, as u->how says:
 * 1 when done (committed, or nothing to write, or the way holds another
 * flow now: u->gone), 0 when another CPU committed first and the step
 * must be recomputed. */
CORE_GLOBAL int update_try(struct way *w, const struct packet *p, struct update *u)
{
	struct segment s = {};
	__u32 v;

	if (!w || !p || !u)
		return 1;
	u->fx = 0;
	u->gone = 0;
	v = record_read(w, &u->w.conn);
	if (v & 1)
		return 0;
	if (!record_holds(w, &u->w.conn, &p->key)) {
		u->gone = 1;
		return 1;
	}
	u->w.key = p->key;
	make_segment(&s, p, p->from_a == u->w.conn.orig_is_a, u->how & HOW_EGRESS);
	if (u->how & HOW_GATE_BLOCK) {
		s.has_gate_block = 1;
		s.gate_block = (__u16)((u->how >> HOW_BLOCK_SHIFT) & FLOW_BLOCK_MASK);
		s.gate_acked = !!(u->how & HOW_GATE_ACKED);
	}
	if (u->how & HOW_TIME_LATE)
		u->now = fsm_segment_needs_time(&u->w.conn, &s) ? clock_ns() : coarse_now_ns();
	u->fx = conn_step(&u->w.conn, &s, u->now);
	if (fsm_again_as_peer(&u->w.conn, &s, u->fx))     /* as fsm_segment() */
		u->fx |= conn_step(&u->w.conn, &s, u->now);
	/* Compared with the live record: had it changed since the copy, the
	 * commit below would fail anyway. */
	if (!record_changed(&u->w.conn, &w->conn))
		return 1;
	if (record_commit(w, v, &u->w.conn))
		return 1;
	u->fx = 0;
	return 0;
}

/* A SYN with a new ISN over an unfinished attempt or a tombstone: the old
 * attempt ends unanswered (its final record is left in u for accounting)
 * and a new attempt takes the way at u->now. Same return convention as
 * update_try. */
CORE_GLOBAL int restart_try(struct way *w, const struct packet *p, struct update *u)
{
	struct conn fresh;
	__u32 v;
	__u64 now;

	if (!w || !p || !u)
		return 1;
	now = u->now;
	u->fx = 0;
	u->gone = 0;
	v = record_read(w, &u->w.conn);
	if (v & 1)
		return 0;
	if (!record_holds(w, &u->w.conn, &p->key)) {
		u->gone = 1;
		return 1;
	}
	if (!fsm_is_handshake(u->w.conn.state) && u->w.conn.state != CS_FAILED)
		return 1;
	u->w.key = p->key;
	start_conn(&fresh, p, now, u->how & HOW_EGRESS);
	if (!record_commit(w, v, &fresh))
		return 0;
	if (u->w.conn.state != CS_FAILED)
		u->fx = fsm_fail_unanswered(&u->w.conn, now) & ~FX_RELEASE;
	return 1;
}

/* Counts an update's lost races (another CPU committed first); false when
 * it gave up after UPDATE_TRIES. */
static __always_inline bool retry_lost_races(__u32 iface, __u32 tries)
{
	struct iface_stats *st = stats_of(iface);

	if (tries && st) {
		st->update_retries += tries;
		if (tries == UPDATE_TRIES)
			st->update_conflicts++;
	}
	return tries < UPDATE_TRIES;
}

/* Tries an update until it is done or has lost UPDATE_TRIES races, and
 * counts the lost races; 0 when it gave up. A function of its own: the
 * verifier would otherwise carry each number of tries into the rest. */
CORE_GLOBAL int record_tries(struct way *w, const struct packet *p, __u64 now, __u32 how,
			     struct update *u)
{
	__u32 i;

	if (!w || !p || !u)
		return 0;
	/* The time and the how ride in the update, not in registers the
	 * calls would make this frame and the tries' spill: the chain of
	 * calls below the programs is held to 512 bytes (data_fast_path). A
	 * try overwrites the time only with the one it read for a step that
	 * needs the clock (HOW_TIME_LATE). */
	u->now = now;
	u->how = how;
	for (i = 0; i < UPDATE_TRIES; i++) {
		if ((how & HOW_RESTART) ? restart_try(w, p, u) : update_try(w, p, u))
			break;
	}
	return retry_lost_races(p->key.iface, i);
}

/* Applies a packet to a record, or with restart starts a new attempt over
 * it, and accounts for it; returns the effects. gate: 0, or what the data
 * gate knows of the sender (HOW_GATE_BLOCK, flow_gate_hint()). */
static __always_inline __u32 record_step(struct way *w, const struct packet *p, __u64 now,
					 __u32 egress, struct update *u, bool restart, __u32 gate)
{
	/* egress == DIR_EGRESS, not egress: offline replay's DIR_UNKNOWN is
	 * no packet of this host's (it would be trusted, and its side
	 * marked as this host's: SEEN_EGRESS_*). */
	__u32 how = (egress == DIR_EGRESS ? HOW_EGRESS : 0) | (restart ? HOW_RESTART : 0) | gate;

	if (!record_tries(w, p, now, how, u))
		return 0;
	if (u->fx & FX_ACCOUNTED)
		account(&u->w.key, &u->w.conn, u->fx, u->now);
	return u->fx;
}

/* record_step() on an open or TIME-WAIT record, which reads the clock
 * only for a step that stamps a time (fsm_segment_needs_time). */
static __always_inline __u32 record_update(struct way *w, const struct packet *p, __u32 egress,
					   struct update *u, __u32 gate)
{
	return record_step(w, p, 0, egress, u, false, gate | HOW_TIME_LATE);
}

/* The places an update of an attempt looks for it: where it was found,
 * then where a move took it meanwhile (hs_move.h). Moved twice within one
 * update: given up, counted as an update conflict. */
#define HS_PLACES 2

/* Where the attempt of p is now, as hs_move_out() returns a way; -1 if
 * nowhere. A global function: the lookup is verified once, and it calls
 * nothing, so the stack of the call chain below track_slow() does not
 * grow. */
CORE_GLOBAL int hs_find_again(const struct packet *p, __u64 hash)
{
	struct hs_ref b = hs_bucket_of(hash);
	int i;

	if (!p || !b.h || !b.w)
		return -1;
	i = hs_lookup(&b, flow_tag(hash), &p->key);
	if (i < 0 || i >= HS_WAYS)
		return -1;
	return b.in_alt ? HS_WAYS + i : i;
}

/* record_step on the attempt of way *i of the bucket b points at. When the
 * way no longer held it (u->gone: it moved, or it ended and the way was
 * reused), the attempt is looked up again and the step done there,
 * counted as a retry; b and *i then point at its new way, and *i < 0 when
 * it is gone. */
static __always_inline __u32 hs_step(struct hs_ref *b, int *i, const struct packet *p,
				     __u64 hash, __u64 now, __u32 egress, struct update *u,
				     bool restart)
{
	__u32 fx, n;
	int r;

	for (n = 0; n < HS_PLACES; n++) {
		if (*i < 0 || *i >= HS_WAYS)
			return 0;
		if (n)
			retry_lost_races(p->key.iface, 1);
		fx = record_step(&b->w->way[*i], p, now, egress, u, restart, 0);
		if (!u->gone)
			return fx;
		*i = -1;
		r = hs_find_again(p, hash);
		if (r < 0)
			return 0;
		*b = hs_bucket_of(hash);
		if (r >= HS_WAYS) {
			b->h = hs_head_at(b->alt);
			b->w = hs_ways_at(b->alt);
			b->in_alt = true;
		}
		if (!b->h || !b->w)
			return 0;
		*i = r & (HS_WAYS - 1);
	}
	count_update_given_up(p->key.iface);
	*i = -1;
	return 0;
}

/* Claim a way of the handshake bucket and start a record in it. */
static __always_inline void new_handshake(struct hs_ref b, const struct packet *p, __u32 tag,
					  __u64 now, __u32 egress)
{
	__u32 evicted = MAX_IFACES, old;
	struct hs_head *h = b.h;
	struct hs_ways *w = b.w;
	__u32 home_free = hs_free_ways(h);
	int i = -1;

	/* With fewer than two free ways at home, the less loaded of home and
	 * alternative takes the attempt (two choices keep buckets even); with
	 * more, or in a crowded table, home does without a second read. */
	if (home_free < 2 && b.alt != b.home && !hs_crowded) {
		struct hs_head *ah = hs_head_at(b.alt);
		struct hs_ways *aw = hs_ways_at(b.alt);

		if (ah && aw && hs_free_ways(ah) > home_free)
			i = hs_claim_free(ah);
		if (i >= 0) {
			/* Counted before the attempt is published (tables.h). */
			sync_add(&b.h->elsewhere, 1);
			h = ah;
			w = aw;
		}
	}
	if (i < 0)
		i = hs_claim(h, (__u32)(now >> 10), &evicted);
	/* Both buckets full and a live attempt about to go: an attempt at
	 * home in either moves to its alternative instead (hs_move.h). Never
	 * in a crowded table, where a flood SYN must cost one bucket read. */
	if (evicted < MAX_IFACES && b.alt != b.home && !hs_crowded) {
		int m = hs_move_out(b.home, b.alt, now);

		if (m >= HS_WAYS) {
			h = hs_head_at(b.alt);
			w = hs_ways_at(b.alt);
			if (!h || !w)
				return;
			/* Counted before the attempt is published (tables.h). */
			sync_add(&b.h->elsewhere, 1);
		}
		if (m >= 0) {
			i = m & (HS_WAYS - 1);
			evicted = MAX_IFACES;
		} else if (++hs_move_misses >= HS_MOVE_MISSES_MAX) {
			hs_crowded = 1;     /* plain stores: a hint, racing is harmless */
		}
	}
	if (i < 0 || i >= HS_WAYS)
		return;
	old = h->tag[i];
	if (evicted < MAX_IFACES) {
		account_eviction(evicted);
		/* A live way holds an unfinished attempt: half-open once its
		 * SYN-ACK came (tombstones are taken first, uncounted). */
		if (h->synack_tick[i])
			account_half_open_eviction(evicted, h->synack_tick[i] - 1);
	}
	/* An overwritten attempt of another bucket leaves its count. */
	if (h->away[i] && tag_is_record(old))
		hs_left_alt(old, h == b.h ? b.home : b.alt);
	h->tag[i] = TAG_BUSY;
	h->away[i] = h != b.h;
	w->way[i].key = p->key;
	/* The key before the record: an update that copied this record reads
	 * the key after its copy (record_holds), and then sees all of it. */
	__asm__ __volatile__("" ::: "memory");
	start_conn(&w->way[i].conn, p, now, egress);
	h->birth[i] = (__u32)(now >> 10);
	h->iface[i] = p->key.iface;
	h->synack_tick[i] = (p->flags & TCPF_ACK) ? fsm_coarse(now) + 1 : 0;   /* orphan */
	way_publish(&h->tag[i], tag);
}

/* One try at marking an open or TIME-WAIT record contested (fsm_contest);
 * same return convention as update_try. */
CORE_GLOBAL int contest_try(struct way *w, const struct flow_key *key)
{
	struct conn c;
	__u32 v;

	if (!w || !key)
		return 1;
	v = record_read(w, &c);
	if (v & 1)
		return 0;
	if (!flow_key_equal(&w->key, key) ||
	    (!fsm_is_open(c.state) && c.state != CS_TIME_WAIT) || (c.seen & SEEN_CONTESTED))
		return 1;
	fsm_contest(&c);
	return record_commit(w, v, &c);
}

enum supersede_result { SUPERSEDE_LOST_RACE, SUPERSEDE_NOT_HERE, SUPERSEDE_DONE };

/* One try at replacing the record of w by fresh, a handshake validated on
 * the same tuple. When done, fresh->conn holds the old record as it ended,
 * for the caller to account (the stack of a call chain is limited). */
CORE_GLOBAL int supersede_try(struct way *w, struct way *fresh)
{
	struct conn old;
	__u32 v;

	if (!w || !fresh)
		return SUPERSEDE_NOT_HERE;
	v = record_read(w, &old);
	if (v & 1)
		return SUPERSEDE_LOST_RACE;
	if (!flow_key_equal(&w->key, &fresh->key))
		return SUPERSEDE_NOT_HERE;
	if (!record_commit(w, v, &fresh->conn))
		return SUPERSEDE_LOST_RACE;
	fresh->conn = old;
	return SUPERSEDE_DONE;
}

/* contest_try() until done; a function of its own for the verifier, as
 * record_tries(). */
CORE_GLOBAL int record_contest(struct way *w, const struct flow_key *key)
{
	__u32 i;

	if (!w || !key)
		return 0;
	for (i = 0; i < UPDATE_TRIES; i++) {
		if (contest_try(w, key))
			break;
	}
	return retry_lost_races(key->iface, i);
}

/* supersede_try() until it is done or sure the record is not there. */
CORE_GLOBAL int supersede(struct way *w, struct way *fresh)
{
	int r = SUPERSEDE_NOT_HERE;
	__u32 i;

	if (!w || !fresh)
		return r;
	for (i = 0; i < UPDATE_TRIES; i++) {
		r = supersede_try(w, fresh);
		if (r != SUPERSEDE_LOST_RACE)
			break;
	}
	retry_lost_races(fresh->key.iface, i);
	return r;
}

/* Reopens the fast-path gate of flow way way of bucket after a sample, its
 * blocks as how says (enum gate_sample). A global function: the slow
 * path's call chain is at the verifier's stack limit. */
CORE_GLOBAL int flow_sampled(__u32 bucket, int way, __u32 how, __u32 blocks, __u32 host)
{
	struct flow_head *h = flow_head_at(bucket);

	if (h)
		flow_gate_open(h, how == GATE_BLOCKS ? flow_gate_at(bucket) : NULL, way, now_coarse,
			       (enum gate_sample)how, blocks, host);
	return 0;
}

/* A flow record's tag mark and fast-path gate after a slow-path update by
 * segment p (b: where flow_lookup() found it). The gate's blocks start
 * again from the record's positions after data, and after an ACK this
 * host sent (its ACKs keep the peer's block: flow_gate_pass). */
static __always_inline void flow_settle(const struct flow_ref *b, int way, __u32 tag,
					const struct conn *c, const struct packet *p, __u32 egress)
{
	bool blocks = p->payload_len ||
		      (egress == DIR_EGRESS && !(p->flags & (TCPF_SYN | TCPF_FIN | TCPF_RST)));

	flow_mark(b->h, way, tag, fsm_data_fast_path(c));
	flow_sampled(b->found, way, blocks ? GATE_BLOCKS : GATE_KEEP, flow_gate_blocks(c),
		     fsm_host_connection(c));
}

/* What a RST's record update knows from the gate of flow way i: its
 * sender's block (HOW_GATE_BLOCK), or nothing when the gate holds none. */
static __always_inline __u32 flow_gate_hint(const struct flow_head *h, const struct flow_gate *g,
					    int i, const struct packet *p)
{
	__u32 field;

	if (!g || i < 0 || i >= FLOW_WAYS)
		return 0;
	field = flow_gate_field(flow_gate_word(h, g, i), p->from_a);
	if (!(field & FLOW_GATE_SET))
		return 0;
	return HOW_GATE_BLOCK | ((field & FLOW_GATE_ACKED) ? HOW_GATE_ACKED : 0) |
	       (field & FLOW_BLOCK_MASK) << HOW_BLOCK_SHIFT;
}

/* The table after a flow record's update by p (fx, u: record_update()):
 * the record's way released when it ended, else its mark and gate
 * settled. */
static __always_inline void flow_updated(const struct flow_ref *b, int way, __u32 tag,
					 const struct packet *p, __u32 egress, __u32 fx,
					 const struct update *u)
{
	if (fx & FX_RELEASE)
		flow_release(*b, way, tag, &p->key);
	else
		flow_settle(b, way, tag, &u->w.conn, p, egress);
}

/* A handshake completed: its record joins the flow table, replacing the
 * tuple's previous record if there is one (old: that record, or NULL). */
static __always_inline void establish(struct flow_ref fb, int old_way, struct way *old,
				      struct update *u, __u64 hash, __u64 now)
{
	bool fast = fsm_data_fast_path(&u->w.conn), host = fsm_host_connection(&u->w.conn);
	__u32 evicted;

	if (old) {
		if (supersede(old, &u->w) == SUPERSEDE_DONE) {
			/* u->w.conn is the old record now: account its end. */
			account(&u->w.key, &u->w.conn, fsm_supersede(&u->w.conn, now) & ~FX_RELEASE,
				now);
			flow_mark(fb.h, old_way, flow_tag(hash), fast);
			flow_sampled(fb.found, old_way, GATE_NEW, 0, host);
			return;
		}
	}
	evicted = flow_insert(&u->w, hash, now);
	if (evicted < MAX_IFACES)
		account_eviction(evicted);
}

/* A SYN or SYN-ACK without a handshake record starts one; a SYN-ACK only
 * when this host sent it (one from the network is counted unsolicited). */
static __always_inline bool starts_handshake(const struct packet *p, __u32 egress)
{
	struct iface_stats *st;

	if (!fsm_starts_record(p->flags))
		return false;
	if (!(p->flags & TCPF_ACK) || egress == DIR_EGRESS)
		return true;
	st = stats_of(p->key.iface);
	if (st)
		st->synacks_unsolicited++;
	return false;
}

/* A new connection may be opening on the tuple of flow record w. */
static __always_inline void contest(struct flow_ref fb, int fi, struct way *w, __u32 tag,
				    const struct flow_key *key)
{
	record_contest(w, key);
	if (fi >= 0)
		flow_mark(fb.h, fi, tag, false);
}

/* What track_slow() leaves to its caller. */
enum slow_result { SLOW_DONE = 0, SLOW_NEW_ATTEMPT };

/* Everything that is not a fast path, but starting an attempt: returns
 * SLOW_NEW_ATTEMPT when the packet starts one (track_slow_path). now: the
 * packet's time when the SYN fast path read it (a copy of a SYN in
 * progress), else 0. */
CORE_GLOBAL int track_slow(const struct packet *p, __u64 hash, __u32 egress, __u64 now)
{
	struct flow_ref fb = flow_bucket_of(hash);
	struct hs_ref b = hs_bucket_of(hash);
	struct update *u = (struct update *)scratch_of_cpu();
	struct way *w = 0;
	__u32 tag, fx;
	int i, fi = -1;

	if (!p || !fb.h || !fb.w || !b.h || !b.w || !u)
		return SLOW_DONE;
	/* Start both header loads now, so their cache misses overlap. */
	__asm__ __volatile__("" : : "r"(*(volatile __u32 *)&fb.h->tag[0]),
			     "r"(*(volatile __u32 *)&b.h->tag[0]));
	tag = flow_tag(hash);
	/* A SYN that may start an attempt never looks at established flows:
	 * floods stay away. Nor does an ICMP error, parsed as one about a SYN
	 * (parse_icmp_error). */
	if (!fsm_bare_syn(p->flags)) {
		w = flow_lookup(&fb, tag, &p->key, &fi);
		/* An ACK of an attempt may complete its handshake: the way it
		 * would move to loads alongside the attempt's record. Asked of
		 * the handshake header first, so ACKs of no attempt (a spoofed
		 * ACK flood) do not pay for the loads. */
		if (!w && !(p->flags & (TCPF_SYN | TCPF_FIN | TCPF_RST)) && hs_may_hold(b.h, tag))
			flow_insert_load_ahead(&fb);
		/* A contested record's tuple belongs to the new handshake first. */
		struct hs_ref probe = b;

		if (w && !((w->conn.seen & SEEN_CONTESTED) && !(p->flags & TCPF_SYN) &&
			   hs_lookup(&probe, tag, &p->key) >= 0)) {
			fx = record_update(w, p, egress, u,
					   (p->flags & TCPF_RST) && fi >= 0 ?
						   flow_gate_hint(fb.h, flow_gate_at(fb.found), fi, p) : 0);
			flow_updated(&fb, fi, tag, p, egress, fx, u);
			/* Only a SYN-ACK that may open a new connection goes on. */
			if (!(fx & FX_CONTEST))
				return SLOW_DONE;
		}
	}
	i = hs_lookup(&b, tag, &p->key);
	if (i < 0 || i >= HS_WAYS) {
		if (!starts_handshake(p, egress))
			return SLOW_DONE;
		if (w)
			contest(fb, fi, w, tag, &p->key);
		return SLOW_NEW_ATTEMPT;
	}
	if (!now)
		now = clock_ns();
	fx = hs_step(&b, &i, p, hash, now, egress, u, false);
	if (i < 0 || i >= HS_WAYS)
		return SLOW_DONE;
	if (fx & FX_NEW_ATTEMPT) {
		__u32 t;

		hs_step(&b, &i, p, hash, now, egress, u, true);
		if (i < 0 || i >= HS_WAYS)
			return SLOW_DONE;
		t = b.h->tag[i];
		b.h->birth[i] = (__u32)(now >> 10);
		b.h->synack_tick[i] = (p->flags & TCPF_ACK) ? fsm_coarse(now) + 1 : 0;
		/* A live attempt again: no tombstone mark. */
		if (tag_is_tombstone(t) && (t & ~TAG_TOMBSTONE) == tag)
			sync_cas(&b.h->tag[i], t, tag);
	}
	if (fx & (FX_SYNACK_FIRST | FX_HALF_OPEN_MOVED))
		b.h->synack_tick[i] = hs_synack_tick(&u->w.conn);
	if (w && (fx & FX_SYNACK_FIRST))
		contest(fb, fi, w, tag, &p->key);
	if (fx & FX_HANDSHAKE)
		establish(fb, fi, w, u, hash, now);
	if (fx & (FX_HANDSHAKE | FX_RELEASE))
		hs_release(&b, i, tag);
	return SLOW_DONE;
}

/* new_handshake() where the slow path starts an attempt (an orphan
 * SYN-ACK, a SYN that raced another CPU's): a global function, so the
 * verifier checks it once, not on each of track_slow()'s paths, and
 * called by the program, not by track_slow(), so the chain of calls
 * below it stays within the stack's 512 bytes. The SYN fast path inlines
 * new_handshake(). */
CORE_GLOBAL int new_handshake_slow(const struct packet *p, __u64 hash, __u32 egress, __u64 now)
{
	struct hs_ref b = hs_bucket_of(hash);

	if (!p || !b.h || !b.w)
		return 0;
	new_handshake(b, p, flow_tag(hash), now ? now : clock_ns(), egress);
	return 0;
}

/* now: as track_slow() takes it. */
static __always_inline void track_slow_path(const struct packet *p, __u64 hash, __u32 egress,
					    __u64 now)
{
	if (track_slow(p, hash, egress, now) == SLOW_NEW_ATTEMPT)
		new_handshake_slow(p, hash, egress, now);
}

/* The first half of track(): parses a frame of interface ifindex. Returns 1
 * for a TCP segment or an ICMP error quoting one (*p with its interface
 * slot, *hash of its key, *st the interface's counters), else 0, a
 * malformed frame counted. */
static __always_inline int track_parse(struct hook_frame *f, __u32 ifindex, struct packet *p,
				       __u64 *hash, struct iface_stats **st)
{
	__u32 iface = iface_slot(ifindex);
	int r;

	*st = stats_of(iface);
	if (!*st)
		return 0;
	r = hook_frame_parse(f, iface_raw_ip(iface), p);
	if (r != PARSE_TCP && r != PARSE_ICMP_ERROR) {
		count_unparsed(*st, r);
		return 0;
	}
	key_set_iface(&p->key, (__u8)iface);
	*hash = flow_hash(&p->key, cfg.hash_seed);
	return 1;
}

/* A sample of an established flow's segment (no SYN, FIN or RST), at
 * way of bucket, where data_fast_path() found it: the update and settling
 * track_slow() would make, without its second lookup or the handshake
 * header it loads for the packets that need it. 0 when the way holds
 * another flow now, or a contested record (whose segments ask the
 * handshake table first): nothing was changed, track_slow() takes over. */
CORE_GLOBAL int data_sample(const struct packet *p, __u64 hash, __u32 bucket, int way, __u32 egress)
{
	struct flow_ref fb = flow_bucket_of(hash);
	struct update *u = (struct update *)scratch_of_cpu();
	__u32 tag = flow_tag(hash), fx;
	struct way *w;

	if (!p || !u || !fb.h || !fb.w || way < 0 || way >= FLOW_WAYS)
		return 0;
	if (bucket != fb.home) {
		if (bucket != fb.alt)
			return 0;
		fb.h = flow_head_at(bucket);
		fb.w = flow_ways_at(bucket);
		fb.found = bucket;
		if (!fb.h || !fb.w)
			return 0;
	}
	w = &fb.w->way[way];
	if (w->conn.seen & SEEN_CONTESTED)
		return 0;
	fx = record_update(w, p, egress, u, 0);
	if (u->gone)
		return 0;
	flow_updated(&fb, way, tag, p, egress, fx, u);
	return 1;
}

/* Whether the handshake table has no attempt of tag, by its home header
 * and, when that bucket counts attempts in its alternative, the
 * alternative header (hs_may_hold_either()): then a segment that is not a
 * bare SYN, and that the flow table has no record of either, is one of no
 * connection, which track_slow() would leave alone: a spoofed ACK, FIN or
 * RST, a SYN-ACK of backscatter, or one of a connection older than the
 * monitor. An accepted race: an attempt published on another CPU
 * meanwhile is not seen, as in track_slow(). */
static __always_inline int no_attempt(__u64 hash, __u32 tag)
{
	return !hs_may_hold_either(hs_home_index(hash), tag);
}

/* Whether neither table may hold a record of tag, decided as
 * data_fast_path() decides it, by the flow bucket headers and counts
 * (FLOW_MISS_NONE) and the handshake headers (no_attempt()): a SYN-ACK
 * of no connection, which track_slow() would count unsolicited and leave
 * alone. The same race is accepted as there. */
static __always_inline bool no_record(__u64 hash, __u32 tag)
{
	struct flow_head *h;
	__u32 bucket;

	return flow_find_established_any(hash, tag, &h, &bucket) == FLOW_MISS_NONE &&
	       no_attempt(hash, tag);
}

/* A FIN or RST, or a SYN with one that starts nothing
 * (fsm_starts_record()): whether it goes on to the slow path. One the
 * flow table has no record of either ends an attempt or nothing; of no
 * connection (no_attempt()), it ends here. A RST from the network that
 * may end an open connection first learns this host's RCV.NXT for it,
 * where the kernel checks the RST itself (fsm_rst_plausible()). Only
 * here: a spoofed RST flood pays no socket lookup, nor does an attempt's
 * RST, which fsm_handshake_rst() checks against the SYN; the hash and
 * headers serve both. An accepted race: a connection another CPU
 * establishes meanwhile is checked by its ACKs. */
static __always_inline bool close_segment_goes_on(void *ctx, struct packet *p, __u64 hash,
						  __u32 tag, __u32 egress)
{
	struct flow_head *h;
	__u32 bucket;

	if (flow_find_established_any(hash, tag, &h, &bucket) == FLOW_MISS_NONE)
		return !no_attempt(hash, tag);
	if (egress != DIR_EGRESS && (p->flags & TCPF_RST))
		host_rcv_nxt(ctx, p);
	return true;
}

/* Fast path: a segment of an established connection reads the bucket
 * header; every one this host sends, and one from the network that crosses
 * into another sequence block (of a transit connection), also reads its
 * gate (flow_gate) and, entering the next block, writes it, until the
 * record is due for a sample (abi.h, FLOW_BLOCK_SHIFT), which
 * data_sample() takes at the way found. A segment of no connection
 * (FLOW_MISS_NONE, no_attempt()) ends after the tables' headers. 1
 * when done, 0 for the slow path.
 * Inlined into the programs: a call and its return (a return thunk on
 * this guest) cost a data packet about 12 ns, a third of its cost in the
 * loop class (docs/performance.md). Its locals join the programs' frames,
 * the start of the chain of calls the verifier holds to 512 bytes, which
 * record_tries() and update_try() make room for (their time and how
 * ride in the update). */
static __always_inline int data_fast_path(const struct packet *p, __u64 hash, __u32 egress)
{
	__u32 tag = flow_tag(hash), bucket;
	struct flow_head *h;
	int i;

	/* An egress segment loads its gate's line (flow_gate_pass): started
	 * before the header's, the two misses overlap. */
	if (egress == DIR_EGRESS) {
		struct flow_gate *home_gate = flow_gate_at(flow_home_index(hash));

		if (home_gate)
			__asm__ __volatile__("" : : "r"(*(volatile __u32 *)&home_gate->blocks[0]));
	}
	i = flow_find_established_any(hash, tag, &h, &bucket);
	if (i < 0 || i >= FLOW_WAYS || !p || !h)
		return i == FLOW_MISS_NONE && no_attempt(hash, tag);
	/* The gate's address only: flow_gate_pass() decides whether its line
	 * is loaded. */
	if (flow_gate_pass(h, flow_gate_at(bucket), i, now_coarse, p, egress))
		return 1;
	return data_sample(p, hash, bucket, i, egress);
}

/* An ICMP error quoting a segment (PARSE_ICMP_ERROR), which may end an
 * attempt (fsm_icmp_error): track_slow() asks the handshake table alone
 * (it is parsed as a bare SYN), and one of no attempt ends after the
 * headers. It is no TCP segment, so not counted as one, and it is stepped
 * as from the network whichever way it went: its direction says nothing
 * of who sent the quoted segment (SEEN_EGRESS_*). A SYN of no attempt,
 * for which track_slow() would start one, starts nothing here. */
static __always_inline void track_icmp_error(const struct packet *p, __u64 hash)
{
	if (!no_attempt(hash, flow_tag(hash)))
		track_slow(p, hash, DIR_INGRESS, 0);
}

/* The second half: a parsed segment through a fast path or track_slow().
 * ctx: the hook's context, for what this host's kernel knows of the
 * connection (host_rcv_nxt(), a platform accessor); none natively. */
static __always_inline void track_segment(void *ctx, struct packet *p, __u64 hash,
					  struct iface_stats *st, __u32 egress)
{
	__u32 tag = flow_tag(hash);
	bool as_close = false;   /* goes on as a FIN or RST */
	__u64 now = 0;

	st->packets++;
	if ((p->flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN) {
		/* Fast path: a SYN for a tuple without an attempt in progress.
		 * The clock is read first: its latency then overlaps the bucket's
		 * cache miss instead of adding to it. A copy of a SYN in progress
		 * takes the time on to the slow path, which reads no clock of
		 * its own then. */
		struct hs_ref b;

		now = clock_ns();
		b = hs_bucket_of(hash);

		st->syn_packets++;
		flood_syn(p, egress);
		if (!b.h || !b.w)
			return;
		if (hs_lookup(&b, tag, &p->key) < 0) {
			if (fsm_starts_record(p->flags)) {
				new_handshake(b, p, tag, now, egress);
				return;
			}
			/* With FIN or RST (a scan's), as a FIN or RST. */
			as_close = true;
		}
	} else if (p->flags & TCPF_SYN) {
		st->synack_packets++;
		/* A SYN-ACK from the network of no connection (backscatter of a
		 * flood that spoofs this host, or the answer to a SYN older than
		 * the monitor) ends here: starts_handshake() counts it
		 * unsolicited, as track_slow() would after its lookups. One with
		 * RST is a RST. */
		if (p->flags & TCPF_RST)
			as_close = true;
		else if (egress == DIR_INGRESS && no_record(hash, tag) && !starts_handshake(p, egress))
			return;
	} else if (!(p->flags & (TCPF_FIN | TCPF_RST))) {
		if (data_fast_path(p, hash, egress))
			return;
	} else {
		as_close = true;
	}
	if (as_close && !close_segment_goes_on(ctx, p, hash, tag, egress))
		return;    /* of no connection */
	track_slow_path(p, hash, egress, now);
}

/* The core after a hook parsed a frame of interface slot iface into *p
 * with result r (hook_frame_parse): a malformed frame is counted, a TCP
 * segment tracked, an ICMP error quoting one too (track_icmp_error()),
 * decided by r where a TCP segment pays nothing for it. */
static __always_inline void track_parsed(void *ctx, enum parse_result r, __u32 iface,
					 struct packet *p, __u32 egress)
{
	struct iface_stats *st = stats_of(iface);

	if (!st)
		return;
	if (r != PARSE_TCP) {
		if (r != PARSE_ICMP_ERROR) {
			count_unparsed(st, r);
			return;
		}
		key_set_iface(&p->key, (__u8)iface);
		track_icmp_error(p, flow_hash(&p->key, cfg.hash_seed));
		return;
	}
	key_set_iface(&p->key, (__u8)iface);
	track_segment(ctx, p, flow_hash(&p->key, cfg.hash_seed), st, egress);
}

/* The second half of track() for what track_parse() returned: a segment,
 * or an ICMP error quoting one (offline replay parses ahead, and tracks
 * each in the capture's order). */
static __always_inline void track_parse_result(struct packet *p, __u64 hash,
					       struct iface_stats *st, __u32 egress)
{
	if (p->marks & PKT_ICMP_ERROR)
		track_icmp_error(p, hash);
	else
		track_segment(0, p, hash, st, egress);
}

static __always_inline void track(struct hook_frame *f, __u32 ifindex, __u32 egress)
{
	struct iface_stats *st;
	struct packet p;
	__u64 hash;

	p.marks = 0;   /* set by every parse that returns a segment; the compiler cannot tell */
	if (track_parse(f, ifindex, &p, &hash, &st))
		track_parse_result(&p, hash, st, egress);
}

#endif /* TCPSHAKE_TRACK_H */
