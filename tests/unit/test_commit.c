// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The commit path of the tracking core (bpf/tables.h, bpf/track.h), compiled
 * natively and driven step by step, so the interleavings two CPUs can
 * produce are replayed deterministically: a CPU computes from its copy of a
 * record, another CPU commits a transition in between, and the first
 * CPU's commit must fail and be recomputed instead of writing its stale
 * copy back (which would undo the other CPU's transition).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "native.h"
#include "track.h"
#include "sweep.h"
#include "craft.h"

#define X 1000u            /* client ISN */
#define Y 5000u            /* server ISN */
#define T0 1000000000000ull

static struct packet packet_of(bool from_client, __u8 flags, __u32 seq, __u32 ack, __u16 payload)
{
	struct craft c = { .family = 4, .flags = flags, .seq = seq, .ack = ack, .payload = payload };
	struct packet p = { 0 };
	__u8 buf[256];
	size_t len;

	c.src = from_client ? "10.1.0.2" : "10.1.0.1";
	c.dst = from_client ? "10.1.0.1" : "10.1.0.2";
	c.sport = from_client ? 40000 : 80;
	c.dport = from_client ? 80 : 40000;
	len = craft_packet(buf, sizeof(buf), &c);
	assert_int_equal(parse_packet(buf, buf + len, &p), PARSE_TCP);
	p.key.iface = 0;
	return p;
}

static int setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.hs_mask = 15;
	cfg.flow_mask = 15;
	cfg.port_slots = 64;
	cfg.nr_ifaces = 1;
	cfg.ifindex[0] = 1;
	cfg.syn_timeout_ns = 30000000000ull;
	cfg.time_wait_ns = 60000000000ull;
	cfg.close_timeout_ns = 120000000000ull;
	cfg.idle_timeout_s = 3600;
	cfg.tombstone_ns = FSM_TOMBSTONE_NS;
	return native_open(16, 16, 64, 64);
}

static int teardown(void **state)
{
	(void)state;
	native_close();
	return 0;
}

/* One update_try() at time now, applied as how says (record_tries() sets
 * both in the update before its tries). */
static int try_at(struct way *w, const struct packet *p, __u64 now, __u32 how, struct update *u)
{
	u->now = now;
	u->how = how;
	return update_try(w, p, u);
}

/* A record started by the client's SYN, as the SYN fast path writes it. */
static void start(struct way *w, __u64 now)
{
	struct packet syn = packet_of(true, TCPF_SYN, X, 0, 0);

	memset(w, 0, sizeof(*w));
	w->key = syn.key;
	start_conn(&w->conn, &syn, now, 0);
}

static __u32 apply(struct way *w, bool from_client, __u8 flags, __u32 seq, __u32 ack, __u64 now)
{
	struct packet p = packet_of(from_client, flags, seq, ack, 0);
	struct update u;

	assert_int_equal(try_at(w, &p, now, DIR_INGRESS, &u), 1);
	return u.fx;
}

static void establish_way(struct way *w)
{
	start(w, T0);
	apply(w, false, TCPF_SYN | TCPF_ACK, Y, X + 1, T0 + 1000);
	assert_true(apply(w, true, TCPF_ACK, X + 1, Y + 1, T0 + 2000) & FX_HANDSHAKE);
}

/* CPU A computes the client's FIN from its copy; CPU B commits the server's
 * FIN in between. A blind write-back of A's copy would lose B's FIN; the
 * commit refuses it, and A's recomputation sees both: a simultaneous close. */
static void test_stale_copy_is_recomputed(void **state)
{
	struct packet fin_c = packet_of(true, TCPF_FIN | TCPF_ACK, X + 1, Y + 1, 0);
	struct segment s = { .seq = X + 1, .ack = Y + 1, .flags = TCPF_FIN | TCPF_ACK, .from_orig = 1 };
	struct update a;
	struct way w;
	__u32 v;

	(void)state;
	establish_way(&w);
	v = record_read(&w, &a.w.conn);
	fsm_segment(&a.w.conn, &s, T0 + 3000);
	assert_int_equal(a.w.conn.state, CS_FIN_WAIT_1);

	assert_true(apply(&w, false, TCPF_FIN | TCPF_ACK, Y + 1, X + 1, T0 + 3100) & FX_CLOSE_START);
	assert_true(w.conn.seen & SEEN_FIN_RESP);

	/* What writing the stale copy back would have done. */
	assert_false(a.w.conn.seen & SEEN_FIN_RESP);
	assert_false(record_commit(&w, v, &a.w.conn));
	assert_true(w.conn.seen & SEEN_FIN_RESP);
	assert_false(w.conn.seen & SEEN_FIN_ORIG);

	assert_int_equal(try_at(&w, &fin_c, T0 + 3200, DIR_INGRESS, &a), 1);
	assert_true(a.fx & FX_SIMCLOSE);
	assert_int_equal(w.conn.state, CS_CLOSING);
	assert_int_equal(w.conn.version & 1, 0);
}

/* The case: a SYN retransmission computed before the SYN-ACK was
 * committed must not put the record back into SYN-SENT. */
static void test_syn_retransmit_racing_the_synack(void **state)
{
	struct segment s = { .seq = X, .flags = TCPF_SYN, .from_orig = 1 };
	struct packet syn = packet_of(true, TCPF_SYN, X, 0, 0);
	struct update a;
	struct way w;
	__u32 v;

	(void)state;
	start(&w, T0);
	v = record_read(&w, &a.w.conn);
	assert_true(fsm_segment(&a.w.conn, &s, T0 + 500) & FX_SYN_RETRANS);

	assert_true(apply(&w, false, TCPF_SYN | TCPF_ACK, Y, X + 1, T0 + 600) & FX_SYNACK_FIRST);
	assert_int_equal(w.conn.state, CS_SYN_RCVD);

	assert_int_equal(a.w.conn.state, CS_SYN_SENT);   /* the stale copy */
	assert_false(record_commit(&w, v, &a.w.conn));
	assert_int_equal(try_at(&w, &syn, T0 + 700, DIR_INGRESS, &a), 1);
	assert_true(a.fx & FX_SYN_RETRANS);
	assert_int_equal(w.conn.state, CS_SYN_RCVD);
	assert_int_equal(w.conn.syn_retransmits, 1);
}

/* A CPU stopped in the middle of a commit (odd version): others do not use
 * a half-written record; after UPDATE_TRIES tries they give up and count it. */
static void test_half_written_record_is_not_used(void **state)
{
	struct packet synack = packet_of(false, TCPF_SYN | TCPF_ACK, Y, X + 1, 0);
	struct iface_stats before = native.stats[0];
	struct update u;
	struct way w, copy;

	(void)state;
	start(&w, T0);
	w.conn.version |= 1;
	copy = w;
	assert_int_equal(try_at(&w, &synack, T0 + 100, DIR_INGRESS, &u), 0);
	assert_int_equal(record_step(&w, &synack, T0 + 100, DIR_INGRESS, &u, false, 0), 0);
	assert_memory_equal(&w, &copy, sizeof(w));
	assert_int_equal(native.stats[0].update_conflicts, before.update_conflicts + 1);
	assert_int_equal(native.stats[0].update_retries, before.update_retries + UPDATE_TRIES);

	w.conn.version &= ~1u;   /* the writer finished */
	assert_true(record_step(&w, &synack, T0 + 200, DIR_INGRESS, &u, false, 0) & FX_SYNACK_FIRST);
	assert_int_equal(native.stats[0].update_conflicts, before.update_conflicts + 1);
}

/* A CPU's copy of flow X; meanwhile the way is released and a SYN of flow Y
 * takes it. X's commit fails (Y's record has a fresh version) and the retry
 * finds another key: nothing is written into Y's record. */
static void test_reused_way_is_left_alone(void **state)
{
	struct segment s = { .seq = Y, .ack = X + 1, .flags = TCPF_SYN | TCPF_ACK };
	struct packet synack = packet_of(false, TCPF_SYN | TCPF_ACK, Y, X + 1, 0);
	struct packet other = packet_of(true, TCPF_SYN, 777, 0, 0);
	struct update a;
	struct way w, y;
	__u32 v;

	(void)state;
	start(&w, T0);
	v = record_read(&w, &a.w.conn);
	fsm_segment(&a.w.conn, &s, T0 + 100);

	other.key.port_a ^= 0x0100;            /* another flow */
	w.key = other.key;
	start_conn(&w.conn, &other, T0 + 200, 0);
	y = w;

	assert_false(record_commit(&w, v, &a.w.conn));
	assert_int_equal(try_at(&w, &synack, T0 + 300, DIR_INGRESS, &a), 1);
	assert_int_equal(a.fx, 0);
	assert_memory_equal(&w, &y, sizeof(w));
}

/* A sweeper pass just after an attempt started at T0 timed out. */
static struct sweep_ctx sweep_after_syn_timeout(void)
{
	struct sweep_ctx x = { .now = T0 + cfg.syn_timeout_ns + 1,
			       .t = { .syn_ns = cfg.syn_timeout_ns, .time_wait_ns = cfg.time_wait_ns,
				      .close_ns = cfg.close_timeout_ns, .idle_ns = 3600000000000ull,
				      .tombstone_ns = FSM_TOMBSTONE_NS } };

	return x;
}

/* The sweeper decides an attempt timed out while a CPU commits its third
 * ACK: the sweeper's commit fails and, recomputed, finds an established
 * connection: a handshake, and no failure. */
static void test_sweeper_racing_the_third_ack(void **state)
{
	struct sweep_ctx x = sweep_after_syn_timeout();
	struct conn sweeper;
	struct way w;
	__u32 v;

	(void)state;
	start(&w, T0);
	apply(&w, false, TCPF_SYN | TCPF_ACK, Y, X + 1, T0 + 1000);
	v = record_read(&w, &sweeper);
	assert_true(fsm_expire(&sweeper, x.now, &x.t) & FX_FAILED);

	assert_true(apply(&w, true, TCPF_ACK, X + 1, Y + 1, x.now) & FX_HANDSHAKE);
	assert_false(record_commit(&w, v, &sweeper));
	assert_int_equal(expire_way(&w, &x), 0);
	assert_int_equal(w.conn.state, CS_ESTABLISHED);
}

/* The client's attempt, started through the slow path as a SYN starts it;
 * b is left at its home bucket, the way it took returned. */
static int attempt(struct hs_ref *b, __u64 *hash, __u64 now)
{
	struct packet syn = packet_of(true, TCPF_SYN, X, 0, 0);
	int i;

	*hash = flow_hash(&syn.key, cfg.hash_seed);
	*b = hs_bucket_of(*hash);
	native.now = now;
	track_slow_path(&syn, *hash, DIR_INGRESS, 0);
	i = hs_lookup(b, flow_tag(*hash), &syn.key);
	assert_true(i >= 0 && !b->in_alt);
	return i;
}

/* A move (bpf/hs_move.h) takes the attempt while another CPU holds a copy
 * from before it and computes the SYN-ACK from it: that commit fails, the
 * recomputation finds the source sealed (gone) and follows the attempt to
 * its alternative bucket, where the SYN-ACK and then the third ACK apply
 * exactly once. */
static void test_move_keeps_a_racing_update(void **state)
{
	struct packet synack = packet_of(false, TCPF_SYN | TCPF_ACK, Y, X + 1, 0);
	struct packet ack = packet_of(true, TCPF_ACK, X + 1, Y + 1, 0);
	struct segment s = { .seq = Y, .ack = X + 1, .flags = TCPF_SYN | TCPF_ACK };
	struct hs_ref b, f;
	struct update u, cpu_a;
	struct way *src;
	__u64 hash;
	__u32 v, tag;
	int i, j;

	(void)state;
	i = attempt(&b, &hash, T0);
	tag = flow_tag(hash);
	src = &b.w->way[i];
	v = record_read(src, &cpu_a.w.conn);
	assert_true(fsm_segment(&cpu_a.w.conn, &s, T0 + 1000) & FX_SYNACK_FIRST);

	assert_true(hs_move(b.home, i, tag, b.alt, T0 + 500));
	/* The source is left claimed for the new attempt, sealed. */
	assert_int_equal(b.h->tag[i], TAG_BUSY);
	assert_int_equal(src->key.family, 0);
	assert_int_equal(src->conn.state, CS_NONE);
	assert_int_equal(src->conn.version, v + 2);
	/* Counted and marked in its alternative, found there. */
	f = hs_bucket_of(hash);
	j = hs_lookup(&f, tag, &synack.key);
	assert_true(j >= 0 && f.in_alt);
	assert_int_equal(b.h->elsewhere, 1);
	assert_int_equal(f.h->away[j], 1);
	assert_int_equal(f.w->way[j].conn.state, CS_SYN_SENT);
	assert_int_equal(f.h->synack_tick[j], 0);

	/* CPU A's copy predates the move: its commit must not land. */
	assert_false(record_commit(src, v, &cpu_a.w.conn));
	assert_int_equal(try_at(src, &synack, T0 + 1000, DIR_EGRESS, &u), 1);
	assert_int_equal(u.gone, 1);
	assert_int_equal(u.fx, 0);

	/* What track_slow does with it: the attempt is followed. */
	f = b;
	assert_true(hs_step(&f, &i, &synack, hash, T0 + 1000, DIR_EGRESS, &u, false) &
		    FX_SYNACK_FIRST);
	assert_int_equal(i, j);
	assert_true(f.in_alt);
	assert_int_equal(f.w->way[j].conn.state, CS_SYN_RCVD);
	assert_int_equal(native.stats[0].update_retries, 1);
	assert_int_equal(native.stats[0].update_conflicts, 0);

	/* The source way goes to whoever claimed it; the third ACK finds the
	 * attempt in its alternative and completes it once. */
	b.h->tag[i] = TAG_FREE;
	native.now = T0 + 2000;
	track_slow_path(&ack, hash, DIR_INGRESS, 0);
	assert_int_equal(native.stats[0].handshakes, 1);
	assert_int_equal(f.h->tag[j], TAG_FREE);
	assert_int_equal(b.h->elsewhere, 0);
	native_sweep();
	assert_int_equal(report.states[0][CS_ESTABLISHED], 1);
	assert_int_equal(report.hs_entries[0], 0);
}

/* A move never takes an attempt someone else is writing, nor a completed
 * one about to be released: it gives up, and nothing changes but a
 * version bump. */
static void test_move_gives_up(void **state)
{
	struct hs_ref b, alt;
	struct way before;
	__u64 hash;
	__u32 tag, v;
	int i;

	(void)state;
	i = attempt(&b, &hash, T0);
	tag = flow_tag(hash);
	alt = hs_bucket_of(hash);
	alt.h = hs_head_at(b.alt);
	before = b.w->way[i];
	v = before.conn.version;

	b.w->way[i].conn.version = v + 1;   /* a writer inside its commit */
	assert_false(hs_move(b.home, i, tag, b.alt, T0 + 500));
	b.w->way[i].conn.version = v;
	b.w->way[i].conn.state = CS_ESTABLISHED;   /* completed, not released yet */
	assert_false(hs_move(b.home, i, tag, b.alt, T0 + 500));
	b.w->way[i].conn.state = CS_SYN_SENT;
	b.h->tag[i] = tag | TAG_TOMBSTONE;   /* replaced since the choice */
	assert_false(hs_move(b.home, i, tag, b.alt, T0 + 500));
	b.h->tag[i] = tag;
	assert_int_equal(b.w->way[i].conn.version, v + 2);   /* the one that held it */
	b.w->way[i].conn.version = v;
	assert_memory_equal(&b.w->way[i], &before, sizeof(before));
	assert_int_equal(hs_free_ways(alt.h), HS_WAYS);
	assert_int_equal(b.h->elsewhere, 0);
}

/* The sweeper meets a way sealed by a move whose tag did not go to a new
 * attempt: it neither expires nor counts it, but frees it; the attempt
 * counts once, in its new way, and its home still counts it there. */
static void test_sweeper_skips_a_moved_attempt(void **state)
{
	struct sweep_ctx x = sweep_after_syn_timeout();
	struct hs_ref b;
	__u64 hash;
	__u32 tag;
	int i;

	(void)state;
	i = attempt(&b, &hash, T0);
	tag = flow_tag(hash);
	assert_true(hs_move(b.home, i, tag, b.alt, T0 + 500));
	b.h->tag[i] = tag;   /* as between the seal and the tag's swap */
	assert_int_equal(expire_way(&b.w->way[i], &x), 0);
	native.now = T0 + 1000;
	native_sweep();
	assert_int_equal(report.hs_entries[0], 1);
	assert_int_equal(report.states[0][CS_SYN_SENT], 1);
	assert_int_equal(report.states[0][CS_NONE], 0);
	assert_int_equal(b.h->tag[i], TAG_FREE);
	assert_int_equal(b.h->elsewhere, 1);
	assert_int_equal(native.stats[0].failures[0] + native.stats[0].failures[1] +
			 native.stats[0].failures[2] + native.stats[0].failures[3], 0);
}

/* One dialogue through native_track(): handshake, data, close. */
static void dialogue(__u64 t)
{
	static const struct { bool c; __u8 flags; __u32 seq, ack; __u16 len; } d[] = {
		{ true, TCPF_SYN, X, 0, 0 },
		{ false, TCPF_SYN | TCPF_ACK, Y, X + 1, 0 },
		{ true, TCPF_ACK, X + 1, Y + 1, 0 },
		{ true, TCPF_ACK | TCPF_PSH, X + 1, Y + 1, 100 },
		{ true, TCPF_FIN | TCPF_ACK, X + 101, Y + 1, 0 },
		{ false, TCPF_FIN | TCPF_ACK, Y + 1, X + 102, 0 },
		{ true, TCPF_ACK, X + 102, Y + 2, 0 },
	};
	__u8 buf[512];
	size_t i, len;

	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		struct craft c = { .family = 4, .flags = d[i].flags, .seq = d[i].seq,
				   .ack = d[i].ack, .payload = d[i].len };

		c.src = d[i].c ? "10.1.0.2" : "10.1.0.1";
		c.dst = d[i].c ? "10.1.0.1" : "10.1.0.2";
		c.sport = d[i].c ? 40000 : 80;
		c.dport = d[i].c ? 80 : 40000;
		len = craft_packet(buf, sizeof(buf), &c);
		native.now = t + i * 1000000;
		native_track(buf, buf + len, 1, 0);
	}
	native_sweep();
}

/* native_reset(): a second run on the same allocation counts exactly what
 * the first counted, from nothing: tables, counters, histograms, port slots
 * and the sweeper's report all start empty again. */
static void test_reset_starts_over(void **state)
{
	struct iface_stats first;
	struct hist h_first;
	__u32 slot;

	(void)state;
	dialogue(T0);
	first = native.stats[0];
	h_first = native.hists[H_HANDSHAKE];
	slot = native.port_slot[80];
	assert_int_equal(first.handshakes, 1);
	assert_int_equal(first.closes_graceful, 1);
	assert_int_equal(report.states[0][CS_TIME_WAIT], 1);
	assert_int_equal(slot, MAX_IFACES);

	native_reset();
	assert_int_equal(native.stats[0].packets, 0);
	assert_int_equal(native.hists[H_HANDSHAKE].sum_ns, 0);
	assert_int_equal(native.port_slot[80], 0);
	assert_int_equal(native.port_owner[MAX_IFACES].port, 0);
	assert_int_equal(report.runs, 0);
	native_sweep();
	assert_int_equal(report.flow_entries[0] + report.hs_entries[0], 0);

	dialogue(T0 * 2);
	assert_memory_equal(&native.stats[0], &first, sizeof(first));
	assert_memory_equal(&native.hists[H_HANDSHAKE], &h_first, sizeof(h_first));
	assert_int_equal(native.port_slot[80], slot);
	assert_int_equal(report.states[0][CS_TIME_WAIT], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stale_copy_is_recomputed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_retransmit_racing_the_synack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_written_record_is_not_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_way_is_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweeper_racing_the_third_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_starts_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_keeps_a_racing_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_gives_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweeper_skips_a_moved_attempt, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
