// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * evbench: the event path at the default ring buffer. The production core
 * (bpf/track.h) sees refused SYN/RST pairs through BPF_PROG_TEST_RUN, one
 * event each, and the production writer (src/events.c) turns them into JSON
 * lines in a file. The pairs run in batches through evgen.bpf.c (the core
 * plus a step to the next client after each repetition), so two system
 * calls make thousands of events; its configuration and map sizes are
 * copied from what the real loader sets for `tcpshake-mon --events FILE`
 * with default options.
 *
 *   drain       the ring is filled with FILL events while no reader is open,
 *               then the reader opens, one events_poll() formats them and
 *               events_close() waits for the writer thread to have written
 *               them all: the event path's own rate, per second of wall time
 *               and per second of the process's CPU time (both threads; it
 *               does not depend on what else the machine runs)
 *   concurrent  a producer thread on one CPU, paced at CONCURRENT_RATE, the
 *               reader loop of the monitor on the other, for --seconds: what
 *               gets through, and the loss (none is the target). Unpaced,
 *               the producer would measure the programs, not the path: it
 *               makes up to 4 M events/s, and before wake-ups were spaced,
 *               the reader's wake-up interrupts slowed it to what the
 *               reader took
 *   slow        the reader stays away while 3 ring-fulls are produced: the
 *               loss must be counted exactly (written + lost = produced)
 *
 * Every phase checks the file's line count against the kernel counters.
 * Prints one JSON object per phase on stdout.
 *
 * `evbench --load` only loads the generator programs and exits 0 when the
 * verifier took them: make check runs it (the bpf layer), so a core that
 * no longer fits them fails there, not only in make bench.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "craft.h"
#include "events.h"
#include "loader.h"
#include "log.h"
#include "options.h"
#include "tcpshake/parse.h"
#include "reader.h"
#include "evgen.skel.h"
#include "tcpshake.skel.h"

#define FILL          20000u   /* events per drain round: below a ring-full */
#define DRAIN_ROUNDS  15
/* Refused pairs per pair of system calls: SYNs of a batch wait in the
 * handshake table for their RSTs, so a batch stays well below its size. */
#define BATCH         2048u
#define CONCURRENT_RATE 1000000.0   /* events/s: the target */

struct bench {
	struct evgen_bpf *skel;
	unsigned int ncpus;
	__u8 syn[256], rst[256];   /* the next client's SYN and the server's RST */
	__u32 syn_len, rst_len;
	struct events ev;
	struct snapshot names;
	const char *path;
	unsigned long long ring_events;   /* events of one full ring */
	int producer_cpu, reader_cpu;
	atomic_bool producing;
	unsigned long long produced_by_thread;
	int producer_err;
};

struct counts {
	unsigned long long refused, lost, lines;
	unsigned long long queue_lost;   /* dropped by the writer's queue or failed writes */
};

static double clock_s(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* The process's CPU time, user and system, of the reader and the writer
 * thread: what the event path costs, whatever else the machine runs. */
static double cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* The bench programs, configured and sized as the loader does the real
 * object for these options (map sizes copied by map name). */
static int bench_load(struct bench *b, const struct options *o)
{
	unsigned int lo = 1;
	struct loader l;
	struct bpf_map *m;
	__u32 spill_max;
	int err;

	if (loader_open(&l, o, &lo, 1))
		return -1;
	b->ncpus = l.ncpus;
	b->skel = evgen_bpf__open();
	if (!b->skel) {
		loader_close(&l);
		return -1;
	}
	memcpy((void *)&b->skel->rodata->cfg, (const void *)&l.skel->rodata->cfg,
	       sizeof(b->skel->rodata->cfg));
	bpf_object__for_each_map(m, b->skel->obj) {
		const struct bpf_map *real = bpf_object__find_map_by_name(l.skel->obj, bpf_map__name(m));

		if (real && !bpf_map__is_internal(m))
			bpf_map__set_max_entries(m, bpf_map__max_entries(real));
	}
	spill_max = l.geo.spill_max;
	loader_close(&l);
	err = evgen_bpf__load(b->skel);
	if (!err)
		err = loader_create_spill_parts(b->skel->maps.spill, spill_max, NULL);
	if (err) {
		fprintf(stderr, "evbench: loading the generator programs failed: %s\n", strerror(-err));
		return -1;
	}
	return 0;
}

/* The first client's SYN to 10.255.0.1:443 and the server's refusing RST;
 * the programs step both to the next client after every repetition. */
static void packets(struct bench *b)
{
	struct craft syn = { .family = 4, .src = "10.64.0.1", .dst = "10.255.0.1", .sport = 1024,
			     .dport = 443, .flags = TCPF_SYN, .seq = 1000 };
	struct craft rst = { .family = 4, .src = "10.255.0.1", .dst = "10.64.0.1", .sport = 443,
			     .dport = 1024, .flags = TCPF_RST | TCPF_ACK, .ack = 1001 };

	b->syn_len = (__u32)craft_packet(b->syn, sizeof(b->syn), &syn);
	b->rst_len = (__u32)craft_packet(b->rst, sizeof(b->rst), &rst);
}

/* n refused pairs; each packet buffer comes back stepped n clients on. */
static int run_batch(int fd, __u8 *pkt, __u32 len, __u32 n)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt, .data_size_in = len, .data_out = pkt,
		    .data_size_out = len, .repeat = n);

	return bpf_prog_test_run_opts(fd, &run) ? -errno : 0;
}

static unsigned long long file_lines(const char *path)
{
	unsigned long long n = 0;
	char buf[1 << 16];
	size_t got, k;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		for (k = 0; k < got; k++)
			n += buf[k] == '\n';
	fclose(f);
	return n;
}

static int reader_open(struct bench *b)
{
	return events_open(&b->ev, bpf_map__fd(b->skel->maps.events), b->path, &b->names);
}

/* Closes the reader (the writer thread writes everything queued first) and
 * adds what its queue lost to c. */
static void reader_close(struct bench *b, struct counts *c)
{
	__u64 write_errors, dropped;

	events_drain(&b->ev);
	events_counts(&b->ev, &write_errors, &dropped);
	c->queue_lost += write_errors + dropped;
	events_close(&b->ev);
}

/* Kernel counters and the event file's lines, with the reader closed; the
 * file is emptied after its lines are counted, so each phase starts from
 * an empty file. */
static int take_counts(struct bench *b, struct counts *c)
{
	struct iface_stats st;

	if (percpu_sum(bpf_map__fd(b->skel->maps.stats), 0, &st, sizeof(st), b->ncpus, NULL))
		return -1;
	c->refused = st.failures[FAIL_REFUSED];
	c->lost = st.events_lost;
	c->lines = file_lines(b->path);
	return truncate(b->path, 0);
}

static int produce(struct bench *b, unsigned long long n)
{
	while (n) {
		__u32 k = n < BATCH ? (__u32)n : BATCH;
		int err = run_batch(bpf_program__fd(b->skel->progs.evgen_syn), b->syn,
				    b->syn_len, k);

		if (!err)
			err = run_batch(bpf_program__fd(b->skel->progs.evgen_rst), b->rst,
					b->rst_len, k);
		if (err) {
			fprintf(stderr, "evbench: running the programs failed: %s\n", strerror(-err));
			return err;
		}
		n -= k;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Checks one phase: every produced event is a line, or counted as lost in
 * the ring buffer or in the writer's queue. */
static bool accounted(const char *phase, const struct counts *before, const struct counts *after,
		      unsigned long long lines, unsigned long long queue_lost)
{
	unsigned long long produced = after->refused - before->refused;
	unsigned long long lost = after->lost - before->lost;

	if (produced != lines + lost + queue_lost) {
		fprintf(stderr, "evbench %s: %llu events produced but %llu lines written, %llu counted "
			"lost in the ring buffer and %llu in the writer's queue\n", phase, produced,
			lines, lost, queue_lost);
		return false;
	}
	return true;
}

static int phase_drain(struct bench *b)
{
	double rate[DRAIN_ROUNDS], cpu_rate[DRAIN_ROUNDS], t, c;
	struct counts c0 = {}, c1 = {};
	unsigned long long lines = 0;
	int r;

	if (take_counts(b, &c0))
		return -1;
	for (r = 0; r < DRAIN_ROUNDS; r++) {
		if (produce(b, FILL))
			return -1;
		t = now_s();
		c = cpu_s();
		if (reader_open(b))
			return -1;
		if (events_poll(&b->ev, 0)) {
			reader_close(b, &c1);
			return -1;
		}
		reader_close(b, &c1);
		cpu_rate[r] = FILL / (cpu_s() - c);
		rate[r] = FILL / (now_s() - t);
		if (take_counts(b, &c1))
			return -1;
		lines += c1.lines;
	}
	if (!accounted("drain", &c0, &c1, lines, c1.queue_lost))
		return -1;
	qsort(rate, DRAIN_ROUNDS, sizeof(rate[0]), cmp_double);
	qsort(cpu_rate, DRAIN_ROUNDS, sizeof(cpu_rate[0]), cmp_double);
	printf("{\"phase\":\"drain\",\"fill\":%u,\"rounds\":%d,\"events_per_s_median\":%.0f,"
	       "\"events_per_s_min\":%.0f,\"events_per_s_max\":%.0f,"
	       "\"events_per_cpu_s_median\":%.0f,\"events_per_cpu_s_min\":%.0f,"
	       "\"events_per_cpu_s_max\":%.0f,\"lines\":%llu,\"lost\":%llu,\"queue_lost\":%llu}\n",
	       FILL, DRAIN_ROUNDS, rate[DRAIN_ROUNDS / 2], rate[0], rate[DRAIN_ROUNDS - 1],
	       cpu_rate[DRAIN_ROUNDS / 2], cpu_rate[0], cpu_rate[DRAIN_ROUNDS - 1], lines,
	       c1.lost - c0.lost, c1.queue_lost);
	return 0;
}

static void *producer(void *arg)
{
	struct bench *b = arg;
	double t0 = now_s(), ahead;

	pin(b->producer_cpu);
	while (atomic_load(&b->producing)) {
		b->producer_err = produce(b, BATCH);
		if (b->producer_err)
			break;
		b->produced_by_thread += BATCH;
		/* Paced: a batch is 2 ms of events at 1 M/s, within one ring. */
		ahead = t0 + (double)b->produced_by_thread / CONCURRENT_RATE - now_s();
		if (ahead > 0) {
			struct timespec ts = { 0, (long)(ahead * 1e9) };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static int phase_concurrent(struct bench *b, double seconds)
{
	struct counts c0 = {}, c1 = {};
	pthread_t th;
	double t0, t1;

	if (take_counts(b, &c0) || reader_open(b))
		return -1;
	atomic_store(&b->producing, true);
	pin(b->reader_cpu);
	t0 = now_s();
	if (pthread_create(&th, NULL, producer, b)) {
		reader_close(b, &c1);
		return -1;
	}
	/* The monitor's loop: poll with a 100 ms timeout until the deadline. */
	while (now_s() - t0 < seconds)
		if (events_poll(&b->ev, 100))
			break;
	atomic_store(&b->producing, false);
	pthread_join(th, NULL);
	/* Rates over the time events were made; the rest is written after. */
	t1 = now_s();
	events_poll(&b->ev, 0);
	reader_close(b, &c1);
	if (b->producer_err || take_counts(b, &c1))
		return -1;
	if (!accounted("concurrent", &c0, &c1, c1.lines, c1.queue_lost))
		return -1;
	printf("{\"phase\":\"concurrent\",\"seconds\":%.2f,\"produced_per_s\":%.0f,"
	       "\"written_per_s\":%.0f,\"lines\":%llu,\"lost\":%llu,\"queue_lost\":%llu}\n",
	       t1 - t0, (c1.refused - c0.refused) / (t1 - t0), c1.lines / (t1 - t0), c1.lines,
	       c1.lost - c0.lost, c1.queue_lost);
	return 0;
}

static int phase_slow(struct bench *b)
{
	unsigned long long n = 3 * b->ring_events;
	struct counts c0 = {}, c1 = {};

	if (take_counts(b, &c0) || produce(b, n) || reader_open(b))
		return -1;
	events_poll(&b->ev, 0);
	reader_close(b, &c1);
	if (take_counts(b, &c1))
		return -1;
	if (!accounted("slow", &c0, &c1, c1.lines, c1.queue_lost))
		return -1;
	printf("{\"phase\":\"slow\",\"produced\":%llu,\"lines\":%llu,\"lost\":%llu,"
	       "\"queue_lost\":%llu,\"ring_events\":%llu}\n", c1.refused - c0.refused, c1.lines,
	       c1.lost - c0.lost, c1.queue_lost, b->ring_events);
	if (c1.lost == c0.lost) {
		fprintf(stderr, "evbench slow: nothing was lost with the reader away: the ring "
			"buffer holds more than %llu events?\n", n);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b;
	struct options o;
	double seconds = 3;
	int rc = 1;

	bool load_only = argc == 2 && !strcmp(argv[1], "--load");

	if (argc < 2 || argc > 3 || (argc == 3 && (seconds = atof(argv[2])) <= 0)) {
		fprintf(stderr, "usage: evbench EVENT_FILE [SECONDS] | evbench --load\n");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "evbench: must run as root: try sudo make bench\n");
		return 1;
	}
	log_init(load_only ? 1 : 0);   /* --load: the verifier's log if it refuses */
	b.path = argv[1];
	options_defaults(&o);
	o.events_path = load_only ? "/dev/null" : b.path;
	if (bench_load(&b, &o))
		return 1;
	if (load_only) {
		printf("evbench: the generator programs loaded\n");
		evgen_bpf__destroy(b.skel);
		return 0;
	}
	packets(&b);
	/* A ring-full: each record carries an 8-byte header, 8-byte aligned. */
	b.ring_events = (unsigned long long)o.ringbuf_kb * 1024 / ((sizeof(struct event) + 8 + 7) / 8 * 8);
	b.names.nr_ifaces = 1;
	snprintf(b.names.iface[0].name, sizeof(b.names.iface[0].name), "bench0");
	b.producer_cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 0 : -1;
	b.reader_cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : -1;
	if (truncate(b.path, 0) && (errno != ENOENT || creat(b.path, 0644) < 0)) {
		fprintf(stderr, "evbench: cannot create %s: %s\n", b.path, strerror(errno));
		evgen_bpf__destroy(b.skel);
		return 1;
	}
	if (!phase_drain(&b) && !phase_concurrent(&b, seconds) && !phase_slow(&b))
		rc = 0;
	unlink(b.path);
	evgen_bpf__destroy(b.skel);
	return rc;
}
