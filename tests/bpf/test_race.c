// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Two CPUs updating the same records at once, through the real programs:
 * one thread pinned to CPU 0 runs the client's segments through XDP
 * ingress, one pinned to CPU 1 runs the server's segments through tc
 * egress, and before every connection both meet at a rendezvous so their
 * packets for that record are processed in the same instant. Each
 * connection goes through the transitions that used to lose updates: a SYN
 * retransmission racing the SYN-ACK, FINs from both ends crossing, and both
 * last ACKs at once. The final counts must be exact; the retry counter
 * proves the races really happened.
 *
 * Then moves (bpf/hs_move.h) against updates: one CPU retransmits the SYN
 * of one attempt, the other sends SYNs that move that very attempt between
 * its two buckets, both in the same instant; no retransmission may be lost
 * or counted twice, and the attempt must stay one record.
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "harness.h"
#include "tcpshake/flowhash.h"
#include "tcpshake/parse.h"

#define CONNS        4096
#define MAX_ROUNDS   16
#define MIN_RETRIES  8
/* Lost races need both vCPUs running at once; a host that time-slices
 * them gives a few per hundred rounds (CI once saw 5 in 64), so rounds
 * go on until MIN_RETRIES or this budget, not for a fixed count. */
#define RACE_SECONDS 30
#define X 1000u
#define Y 5000u

enum phase { SYN_ONLY, SYN_RACE, THIRD_ACK, FIN_RACE, LAST_ACK_RACE, PHASES };

struct racer {
	struct harness *h;
	int cpu;
	bool client;            /* client segments via XDP, else server's via tc egress */
	int round;
	volatile int *meet;     /* rendezvous counter, shared */
	pthread_barrier_t *phase_barrier;
	int failures;
};

static size_t segment(__u8 *buf, bool from_client, int round, int conn, __u8 flags, __u32 seq,
		      __u32 ack)
{
	char client[32];
	struct craft c = { .family = 4, .flags = flags, .seq = seq, .ack = ack };

	snprintf(client, sizeof(client), "10.%d.%d.%d", 100 + round, conn >> 8, conn & 0xff);
	c.src = from_client ? client : "10.1.0.1";
	c.dst = from_client ? "10.1.0.1" : client;
	c.sport = from_client ? 40000 : 80;
	c.dport = from_client ? 80 : 40000;
	return craft_packet(buf, 256, &c);
}

/* The racer's segment of a connection in a phase; 0 when it sends none. */
static size_t phase_segment(const struct racer *r, enum phase ph, int conn, __u8 *buf)
{
	bool cl = r->client;

	switch (ph) {
	case SYN_ONLY:
		return cl ? segment(buf, true, r->round, conn, TCPF_SYN, X, 0) : 0;
	case SYN_RACE:   /* a retransmitted SYN against the SYN-ACK */
		return cl ? segment(buf, true, r->round, conn, TCPF_SYN, X, 0) :
			    segment(buf, false, r->round, conn, TCPF_SYN | TCPF_ACK, Y, X + 1);
	case THIRD_ACK:
		return cl ? segment(buf, true, r->round, conn, TCPF_ACK, X + 1, Y + 1) : 0;
	case FIN_RACE:   /* simultaneous close: the FINs cross */
		return cl ? segment(buf, true, r->round, conn, TCPF_FIN | TCPF_ACK, X + 1, Y + 1) :
			    segment(buf, false, r->round, conn, TCPF_FIN | TCPF_ACK, Y + 1, X + 1);
	case LAST_ACK_RACE:
		return cl ? segment(buf, true, r->round, conn, TCPF_ACK, X + 2, Y + 2) :
			    segment(buf, false, r->round, conn, TCPF_ACK, Y + 2, X + 2);
	default:
		return 0;
	}
}

static void *race(void *arg)
{
	struct racer *r = arg;
	__u8 buf[256];
	cpu_set_t set;
	int ph, i, base = 0;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		r->failures++;
	for (ph = 0; ph < PHASES; ph++) {
		pthread_barrier_wait(r->phase_barrier);
		for (i = 0; i < CONNS; i++) {
			size_t len = phase_segment(r, (enum phase)ph, i, buf);

			if (ph != SYN_ONLY && ph != THIRD_ACK) {
				/* Meet the other CPU: both packets of this record now. */
				__sync_fetch_and_add(r->meet, 1);
				while (*r->meet < base + 2 * (i + 1))
					;
			}
			/* The observer passes every packet: XDP_PASS, TC_ACT_UNSPEC. */
			if (len && harness_run(r->h, r->client ? HOOK_XDP_IN : HOOK_TC_OUT, buf, len, 1,
					       NULL) != (r->client ? 2 : -1))
				r->failures++;
		}
		if (ph != SYN_ONLY && ph != THIRD_ACK)
			base += 2 * CONNS;
	}
	return NULL;
}

/* One round on fresh tables; false when an update was abandoned. Packets
 * run in softirq context are never preempted, but BPF_PROG_TEST_RUN runs
 * preemptible: on a loaded machine a writer may be descheduled inside its
 * commit, and readers give up after UPDATE_TRIES (counted). Such a round
 * proves nothing about lost updates and is repeated. */
static bool race_round(int round, __u64 *retries)
{
	struct harness_config hc = { .hs_buckets = 65536, .flow_buckets = 65536,
				     .ingress = INGRESS_XDP_ONLY };
	pthread_barrier_t barrier;
	volatile int meet = 0;
	struct harness h;
	struct racer a = { &h, 0, true, round, &meet, &barrier, 0 };
	struct racer b = { &h, 1, false, round, &meet, &barrier, 0 };
	struct iface_stats st;
	pthread_t ta, tb;
	const __u64 n = CONNS;

	assert_int_equal(harness_load(&h, &hc), 0);
	pthread_barrier_init(&barrier, NULL, 2);
	pthread_create(&ta, NULL, race, &a);
	pthread_create(&tb, NULL, race, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&barrier);
	assert_int_equal(a.failures + b.failures, 0);

	harness_stats(&h, &st);
	if (getenv("RACE_DEBUG"))
		printf("syn %llu synrx %llu synack %llu hs %llu inv %llu simclose %llu graceful %llu conflicts %llu retries %llu evict %llu\n",
		       (unsigned long long)st.syn_packets, (unsigned long long)st.syn_retransmits,
		       (unsigned long long)st.synack_packets, (unsigned long long)st.handshakes,
		       (unsigned long long)st.invalid_segments,
		       (unsigned long long)st.simultaneous_closes, (unsigned long long)st.closes_graceful,
		       (unsigned long long)st.update_conflicts, (unsigned long long)st.update_retries,
		       (unsigned long long)st.flow_evictions);
	if (st.update_conflicts) {
		printf("round %d: %llu updates abandoned: a writer was preempted inside its commit "
		       "(BPF_PROG_TEST_RUN is preemptible); repeating\n", round,
		       (unsigned long long)st.update_conflicts);
		harness_close(&h);
		return false;
	}
	assert_int_equal(st.syn_packets, 2 * n);
	assert_int_equal(st.syn_retransmits, n);
	assert_int_equal(st.synack_packets, n);
	assert_int_equal(st.handshakes, n);
	assert_int_equal(st.invalid_segments, 0);
	assert_int_equal(st.simultaneous_closes, n);
	assert_int_equal(st.closes_graceful, n);
	assert_int_equal(st.flow_evictions, 0);
	assert_int_equal(harness_gauge(&h, CS_TIME_WAIT), n);
	assert_int_equal(harness_gauge(&h, CS_SYN_RCVD), 0);
	assert_int_equal(harness_gauge(&h, CS_CLOSING), 0);
	*retries += st.update_retries;
	printf("round %d: %llu connections exact, %llu updates recomputed after losing a race\n",
	       round, (unsigned long long)n, (unsigned long long)st.update_retries);
	harness_close(&h);
	return true;
}

static bool within_budget(time_t start)
{
	return time(NULL) - start < RACE_SECONDS;
}

static void test_two_cpus_exact(void **unused)
{
	__u64 retries = 0;
	int round, clean = 0;
	time_t start;

	(void)unused;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		skip();
	start = time(NULL);
	for (round = 0; retries < MIN_RETRIES && (round < MAX_ROUNDS || within_budget(start));
	     round++)
		clean += race_round(round, &retries);
	/* Exact counts prove nothing unless the CPUs really collided. */
	if (!clean)
		fail_msg("no round without abandoned updates in %d rounds", round);
	if (retries < MIN_RETRIES)
		fail_msg("only %llu lost races in %d clean rounds (%d s): the test did not exercise "
			 "concurrency", (unsigned long long)retries, clean, RACE_SECONDS);
}

/* ---- moves against updates ---- */

#define MOVE_BUCKETS   64
#define MOVE_SEED      0x5eed5eedull
#define MOVE_ROUNDS    200      /* retransmissions per round: below the record's 255 */
#define MOVE_WAYS      (MOVE_BUCKETS * HS_WAYS)
#define MOVE_FILL      (MOVE_WAYS * 7 / 8)   /* past 3/4: buckets fill up, no sweeps run */

static void move_client(char *buf, size_t n, int k)
{
	snprintf(buf, n, "10.70.%d.%d", k / 250, 1 + k % 250);
}

static void pusher_client(char *buf, size_t n, int k)
{
	snprintf(buf, n, "10.80.%d.%d", k / 250, 1 + k % 250);
}

static size_t client_segment(__u8 *buf, const char *client, __u8 flags, __u32 seq, __u32 ack)
{
	struct craft c = { .family = 4, .src = client, .dst = "10.1.0.1", .sport = 4000, .dport = 80,
			   .flags = flags, .seq = seq, .ack = ack };

	return craft_packet(buf, 256, &c);
}

/* The server's segment to client, leaving through tc egress. */
static void pkt_to(struct harness *h, const char *client, __u8 flags, __u32 seq, __u32 ack)
{
	struct craft c = { .family = 4, .src = "10.1.0.1", .dst = client, .sport = 80, .dport = 4000,
			   .flags = flags, .seq = seq, .ack = ack };
	__u8 buf[256];
	size_t len = craft_packet(buf, sizeof(buf), &c);

	assert_int_equal(harness_run(h, HOOK_TC_OUT, buf, len, 1, NULL), -1);
}

static void send_client(struct harness *h, const char *client, __u8 flags, __u32 seq, __u32 ack)
{
	__u8 buf[256];
	size_t len = client_segment(buf, client, flags, seq, ack);

	assert_int_equal(harness_run(h, HOOK_XDP_IN, buf, len, 1, NULL), 2);
}

static struct flow_key key_of(const char *client)
{
	__u8 buf[256];
	size_t len = client_segment(buf, client, TCPF_SYN, 1, 0);
	struct packet p;

	assert_int_equal(parse_packet(buf, buf + len, &p), PARSE_TCP);
	p.key.iface = 0;
	return p.key;
}

/* Where the core puts an attempt: its home bucket and the other bucket of
 * a way of bucket idx holding it (bpf/tables.h, hs_bucket_of and
 * hs_alt_index, restated). */
static __u32 home_of(const struct flow_key *k)
{
	return (__u32)flow_hash(k, MOVE_SEED) & (MOVE_BUCKETS - 1);
}

static __u32 other_of(__u32 tag, __u32 idx)
{
	return (idx ^ ((tag >> 8) | 1)) & (MOVE_BUCKETS - 1);
}

/* The way of the attempt of key: bucket * HS_WAYS + way, -1 if none; *n
 * counts the ways holding it. */
static int find_attempt(struct harness *h, const struct flow_key *key, int *n, struct way *out)
{
	struct hs_head head;
	struct hs_ways ways;
	int b, i, at = -1;

	*n = 0;
	for (b = 0; b < MOVE_BUCKETS; b++) {
		assert_int_equal(harness_hs_bucket(h, (__u32)b, &head, &ways), 0);
		for (i = 0; i < HS_WAYS; i++)
			if ((head.tag[i] & TAG_LIVE) && flow_key_equal(&ways.way[i].key, key)) {
				at = b * HS_WAYS + i;
				(*n)++;
				if (out)
					*out = ways.way[i];
			}
	}
	return at;
}

/* Free ways of bucket b. */
static int free_ways_of(struct harness *h, __u32 b)
{
	struct hs_head head;
	struct hs_ways ways;
	int i, n = 0;

	assert_int_equal(harness_hs_bucket(h, b, &head, &ways), 0);
	for (i = 0; i < HS_WAYS; i++)
		n += head.tag[i] == TAG_FREE;
	return n;
}

/* The attempt a SYN of pusher would move (hs_move_out, restated): when
 * both its buckets are full, the first attempt at home in them whose
 * alternative has the most free ways; its way as in find_attempt, -1
 * when the SYN would not move one. */
static int moved_by(struct harness *h, const char *pusher)
{
	struct flow_key k = key_of(pusher);
	__u64 hash = flow_hash(&k, MOVE_SEED);
	__u32 home = home_of(&k), alt = other_of(flow_tag(hash), home), pair[2] = { home, alt };
	struct hs_head head;
	struct hs_ways ways;
	int j, i, n, most = 0, at = -1;

	if (home == alt || free_ways_of(h, home) || free_ways_of(h, alt))
		return -1;
	for (j = 0; j < 2; j++) {
		assert_int_equal(harness_hs_bucket(h, pair[j], &head, &ways), 0);
		for (i = 0; i < HS_WAYS; i++) {
			if (!(head.tag[i] & TAG_LIVE) || head.away[i])
				continue;
			n = free_ways_of(h, other_of(head.tag[i], pair[j]));
			if (n > most) {
				most = n;
				at = (int)pair[j] * HS_WAYS + i;
			}
		}
	}
	return at;
}

#define MOVE_STEPS_MAX 64

/* A filling of all ways but one, then steps: the SYN of pusher[s] moves
 * attempt victim[s] into the bucket with the free way, and its RST frees
 * the way it took, the next step's room. */
struct move_plan {
	int fill;
	int steps;
	int victim[MOVE_STEPS_MAX];
	int pusher[MOVE_STEPS_MAX];
	int retransmits[MOVE_FILL];   /* per attempt: steps where it is the victim */
};

static void fill_table(struct harness *h, int n)
{
	char client[32];
	int k;

	for (k = 0; k < n; k++) {
		move_client(client, sizeof(client), k);
		send_client(h, client, TCPF_SYN, 100, 0);
	}
}

/* The attempt of fill index k holding way at, -1 if none. */
static int attempt_at(struct harness *h, int fill, int at)
{
	char client[32];
	int k, n;

	for (k = 0; k < fill; k++) {
		struct flow_key key;

		move_client(client, sizeof(client), k);
		key = key_of(client);
		if (find_attempt(h, &key, &n, NULL) == at)
			return k;
	}
	return -1;
}

/* Finds the plan on the native core, which places attempts as the kernel
 * programs do, and checks that every step moves its victim. */
static void plan_moves(struct move_plan *m)
{
	struct harness_config hc = { .hs_buckets = MOVE_BUCKETS, .hash_seed = MOVE_SEED,
				     .backend = BACKEND_NATIVE };
	struct iface_stats st;
	struct harness h;
	char client[32], push[32];
	int free, at, k = 0, n;

	memset(m, 0, sizeof(*m));
	assert_int_equal(harness_load(&h, &hc), 0);
	m->fill = MOVE_FILL;
	fill_table(&h, m->fill);
	harness_stats(&h, &st);
	assert_int_equal(st.flow_evictions, 0);
	while (m->steps < MOVE_STEPS_MAX) {
		struct flow_key key;

		for (at = -1; at < 0 && k < 20000; k++) {
			pusher_client(push, sizeof(push), k);
			at = moved_by(&h, push);
		}
		if (at < 0)
			break;
		m->pusher[m->steps] = k - 1;
		m->victim[m->steps] = attempt_at(&h, m->fill, at);
		assert_true(m->victim[m->steps] >= 0);
		send_client(&h, push, TCPF_SYN, 700, 0);
		move_client(client, sizeof(client), m->victim[m->steps]);
		key = key_of(client);
		free = find_attempt(&h, &key, &n, NULL);
		assert_true(free >= 0 && free / HS_WAYS != at / HS_WAYS);
		assert_int_equal(n, 1);
		send_client(&h, push, TCPF_RST, 701, 0);
		m->retransmits[m->victim[m->steps]]++;
		m->steps++;
	}
	harness_stats(&h, &st);
	assert_int_equal(st.flow_evictions, 0);
	assert_true(m->steps >= 16);
	print_message("  plan: %d attempts, %d moves\n", m->fill, m->steps);
	harness_close(&h);
}

struct mover {
	struct harness *h;
	const struct move_plan *m;
	int cpu;
	bool retransmitter;     /* the victims' SYN copies, else the pushers */
	volatile int *meet;
	int failures;
};

static void *move_race(void *arg)
{
	struct mover *r = arg;
	char client[32];
	__u8 a[256], b[256];
	size_t la, lb = 0;
	cpu_set_t set;
	int s;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		r->failures++;
	for (s = 0; s < r->m->steps; s++) {
		if (r->retransmitter) {
			move_client(client, sizeof(client), r->m->victim[s]);
			la = client_segment(a, client, TCPF_SYN, 100, 0);
		} else {
			pusher_client(client, sizeof(client), r->m->pusher[s]);
			la = client_segment(a, client, TCPF_SYN, 700, 0);
			lb = client_segment(b, client, TCPF_RST, 701, 0);
		}
		/* Meet the other CPU: the victim's copy against its move. */
		__sync_fetch_and_add(r->meet, 1);
		while (*r->meet < 2 * (s + 1))
			;
		if (harness_run(r->h, HOOK_XDP_IN, a, la, 1, NULL) != 2)
			r->failures++;
		if (!r->retransmitter && harness_run(r->h, HOOK_XDP_IN, b, lb, 1, NULL) != 2)
			r->failures++;
	}
	return NULL;
}

/* One round of the plan's steps, each a victim's SYN retransmission
 * against the SYN that moves it; false when an update was abandoned (a
 * preempted writer, as race_round). */
static bool move_round(struct harness *h, const struct move_plan *m, int round, __u64 *retries)
{
	volatile int meet = 0;
	struct mover a = { h, m, 0, true, &meet, 0 };
	struct mover b = { h, m, 1, false, &meet, 0 };
	struct iface_stats st;
	pthread_t ta, tb;
	__u64 counted, away;
	char client[32];
	int k, n;

	assert_int_equal(harness_reset(h), 0);
	fill_table(h, m->fill);
	pthread_create(&ta, NULL, move_race, &a);
	pthread_create(&tb, NULL, move_race, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.failures + b.failures, 0);
	harness_stats(h, &st);
	if (st.update_conflicts) {
		printf("move round %d: %llu updates abandoned (a preempted writer); repeating\n", round,
		       (unsigned long long)st.update_conflicts);
		return false;
	}
	/* Every move happened: nothing evicted, every pusher released. */
	assert_int_equal(st.flow_evictions, 0);
	assert_int_equal(st.syn_packets, (__u64)(m->fill + 2 * m->steps));
	assert_int_equal(st.syn_retransmits, (__u64)m->steps);
	assert_int_equal(st.failures[FAIL_RESET], (__u64)m->steps);
	assert_int_equal(harness_hs_used(h), m->fill);
	harness_hs_elsewhere(h, &counted, &away);
	assert_int_equal(counted, away);
	assert_true(away >= (__u64)m->steps);
	/* Each attempt is one record and holds each of its retransmissions
	 * once; then its handshake completes once, where it is now. */
	for (k = 0; k < m->fill; k++) {
		struct flow_key key;
		struct way rec;

		move_client(client, sizeof(client), k);
		key = key_of(client);
		assert_true(find_attempt(h, &key, &n, &rec) >= 0);
		assert_int_equal(n, 1);
		assert_int_equal(rec.conn.syn_retransmits, m->retransmits[k]);
		assert_int_equal(rec.conn.state, CS_SYN_SENT);
		pkt_to(h, client, TCPF_SYN | TCPF_ACK, 500, 101);
		send_client(h, client, TCPF_ACK, 101, 501);
	}
	harness_stats(h, &st);
	assert_int_equal(st.handshakes, (__u64)m->fill);
	assert_int_equal(st.invalid_segments, 0);
	assert_int_equal(harness_hs_used(h), 0);
	harness_hs_elsewhere(h, &counted, &away);
	assert_int_equal(counted, 0);
	assert_int_equal(away, 0);
	*retries += st.update_retries;
	printf("move round %d: %d retransmissions against their moves exact, %llu updates "
	       "recomputed\n", round, m->steps, (unsigned long long)st.update_retries);
	return true;
}

static void test_moves_racing_updates(void **unused)
{
	struct harness_config hc = { .hs_buckets = MOVE_BUCKETS, .hash_seed = MOVE_SEED,
				     .ingress = INGRESS_XDP_ONLY };
	struct move_plan m;
	struct harness h;
	__u64 retries = 0;
	int round, clean = 0;
	time_t start;

	(void)unused;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		skip();
	plan_moves(&m);
	assert_int_equal(harness_load(&h, &hc), 0);
	start = time(NULL);
	for (round = 0; (retries < MIN_RETRIES || clean < 4) &&
			(round < 4 * MAX_ROUNDS || within_budget(start));
	     round++)
		clean += move_round(&h, &m, round, &retries);
	harness_close(&h);
	if (!clean)
		fail_msg("no round without abandoned updates in %d rounds", round);
	if (retries < MIN_RETRIES)
		fail_msg("only %llu lost races in %d clean rounds (%d s): the moves never met the "
			 "updates", (unsigned long long)retries, clean, RACE_SECONDS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_cpus_exact),
		cmocka_unit_test(test_moves_racing_updates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
