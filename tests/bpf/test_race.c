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
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "harness.h"
#include "tcpshake/parse.h"

#define CONNS        4096
#define MAX_ROUNDS   16
#define MIN_RETRIES  8
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
	struct harness_config hc = { .hs_buckets = 65536, .flow_buckets = 65536 };
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

static void test_two_cpus_exact(void **unused)
{
	__u64 retries = 0;
	int round, clean = 0;

	(void)unused;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		skip();
	for (round = 0; round < MAX_ROUNDS && retries < MIN_RETRIES; round++)
		clean += race_round(round, &retries);
	/* Exact counts prove nothing unless the CPUs really collided. */
	if (!clean)
		fail_msg("no round without abandoned updates in %d rounds", MAX_ROUNDS);
	if (retries < MIN_RETRIES)
		fail_msg("only %llu lost races in %d clean rounds: the test did not exercise concurrency",
			 (unsigned long long)retries, clean);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_cpus_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
