// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * make bench: nanoseconds per packet for each packet class, measured with
 * BPF_PROG_TEST_RUN, each reported as a difference and a ratio to a bare
 * XDP program measured in the same run.
 *
 * Every class runs as one test with many repetitions. Classes that change
 * state walk through distinct flows: the bench programs (bench.bpf.c, the
 * production core plus a client-address rewrite) step to the next client
 * after each repetition, so repetition k is packet P of connection k. The
 * baseline for those does the same rewrite around nothing.
 *
 * Usage: bench [loop | lifecycle | data]: every part, the loop classes
 * only, the lifecycle classes only, or the data packet alone (for A/B runs
 * of a change to the fast path: seconds instead of minutes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "harness.h"
#include "loader.h"
#include "log.h"
#include "options.h"
#include "reader.h"
#include "selfcost.h"
#include "tcpshake/parse.h"
#include "bench.h"
#include "bench_run.h"
#include "lifecycle.h"
#include "bench.skel.h"
#include "tcpshake.skel.h"

#define LOOP_REPS   5000000u
#define FLOWS       20000u
#define FILL_FLOWS  200000u
#define X           LIFECYCLE_X
#define Y           LIFECYCLE_Y

struct bench_geometry {
	__u32 hs_ways;
	__u32 flows;
	bool events;
	__u32 floor_records;   /* the floor's table (bench.bpf.c); 0: one record */
};

/* A packet between client a.b.c.d:port and the server 10.255.0.1:443. */
static size_t packet(__u8 *buf, size_t cap, const char *client, __u16 port, bool from_server,
		     __u8 flags, __u32 seq, __u32 ack, __u16 payload)
{
	struct craft k = { .family = 4, .flags = flags, .seq = seq, .ack = ack, .payload = payload };

	k.src = from_server ? "10.255.0.1" : client;
	k.dst = from_server ? client : "10.255.0.1";
	k.sport = from_server ? 443 : port;
	k.dport = from_server ? port : 443;
	return craft_packet(buf, cap, &k);
}

static void print_row(const char *name, double ns, double base, const char *verdict)
{
	printf("  %-44s %7.1f ns  %+7.1f ns  %5.2fx   %s\n", name, ns, ns - base, ns / base, verdict);
}

/* A row of the one-record core (bench.bpf.c, floor_step): what of the
 * class's target its minimum leaves to everything else a core does. */
static void floor_row(const char *name, double ns, double base, double target)
{
	char verdict[64];

	if (ns - base <= target)
		snprintf(verdict, sizeof(verdict), "leaves %.0f ns of the +%.0f target",
			 target - (ns - base), target);
	else
		snprintf(verdict, sizeof(verdict), "alone above the +%.0f target", target);
	print_row(name, ns, base, verdict);
}

static void row(const char *name, double ns, double base, double target)
{
	char verdict[40] = "";

	if (target > 0)
		snprintf(verdict, sizeof(verdict), "target <= +%.0f: %s", target,
			 ns - base <= target ? "met" : "MISSED");
	print_row(name, ns, base, verdict);
}

static struct bench_bpf *bench_load(const struct bench_geometry *g)
{
	struct bench_bpf *b = bench_bpf__open();
	struct tcpshake_config *cfg;

	if (!b)
		return NULL;
	cfg = (struct tcpshake_config *)&b->rodata->cfg;
	cfg->hash_seed = 0x9e3779b97f4a7c15ull;
	cfg->hs_mask = g->hs_ways / HS_WAYS - 1;
	cfg->flow_mask = g->flows / FLOW_WAYS - 1;
	cfg->port_slots = 160;
	cfg->nr_ifaces = 1;
	cfg->ifindex[0] = 1;
	cfg->syn_timeout_ns = 30000000000ull;
	cfg->time_wait_ns = 60000000000ull;
	cfg->close_timeout_ns = 120000000000ull;
	cfg->idle_timeout_s = 3600;
	cfg->events_enabled = g->events;
	cfg->wakeup_bytes = 1u << 30;
	cfg->spill_max = 32768;
	config_host_socket(cfg);
	bpf_map__set_max_entries(b->maps.hs_heads, g->hs_ways / HS_WAYS);
	bpf_map__set_max_entries(b->maps.hs_ways, g->hs_ways / HS_WAYS);
	bpf_map__set_max_entries(b->maps.flow_heads, g->flows / FLOW_WAYS);
	bpf_map__set_max_entries(b->maps.flow_ways, g->flows / FLOW_WAYS);
	bpf_map__set_max_entries(b->maps.flow_gate, g->flows / FLOW_WAYS);
	bpf_map__set_max_entries(b->maps.flow_away, g->flows / FLOW_WAYS);
	bpf_map__set_max_entries(b->maps.port_stats, 160);
	bpf_map__set_max_entries(b->maps.events, 1u << 24);
	bpf_map__set_max_entries(b->maps.floor_records, g->floor_records ? g->floor_records : 1);
	b->bss->floor_mask = g->floor_records ? g->floor_records - 1 : 0;
	if (bench_bpf__load(b) || loader_create_spill_parts(b->maps.spill, cfg->spill_max, NULL)) {
		bench_bpf__destroy(b);
		return NULL;
	}
	return b;
}

static void bench_stats(struct bench_bpf *b, struct iface_stats *st)
{
	percpu_sum(bpf_map__fd(b->maps.stats), 0, st, sizeof(*st),
		   (unsigned int)libbpf_num_possible_cpus(), NULL);
}

/* Kernel memory of the production maps at their default sizes, the spill
 * map's parts included. */
static void footprint(void)
{
	unsigned int lo = 1;
	struct self_probe p;
	struct self_cost c;
	struct loader l;
	struct options o;

	options_defaults(&o);
	if (loader_load(&l, &o, &lo, 1))
		return;
	if (!self_probe_init(&p, &l, false)) {
		self_probe_read(&p, &c);
		self_probe_close(&p);
		printf("Kernel memory of all maps at the default sizes (%u handshake slots, %u flows, "
		       "events off): %.1f MiB\n", o.handshake_slots, o.max_flows, c.map_bytes / 1048576.0);
	}
	loader_close(&l);
}

static double bare_xdp(void)
{
	struct bench_geometry g = { 1024, 8192, false, 0 };
	struct bench_bpf *b = bench_load(&g);
	__u8 pkt[256];
	size_t len = packet(pkt, sizeof(pkt), "10.1.0.1", 40000, false, TCPF_ACK, X + 1, Y + 1, 64);
	double ns;

	if (!b)
		return -1;
	ns = best_of(bpf_program__fd(b->progs.bench_bare), pkt, len, LOOP_REPS);
	bench_bpf__destroy(b);
	return ns;
}

/* `bench load`: the bench programs, loaded and released. make check runs
 * it (the bpf layer), so a core that no longer fits them fails there, not
 * only in make bench. 0 when the verifier took them all. */
static int load_programs(void)
{
	struct bench_geometry g = { 1024, 8192, false, 0 };
	struct bench_bpf *b = bench_load(&g);

	if (!b) {
		fprintf(stderr, "bench: cannot load the bench programs: %s\n", strerror(errno));
		return 1;
	}
	printf("bench: the bench programs loaded\n");
	bench_bpf__destroy(b);
	return 0;
}

/* Data on an established connection, through the production XDP program. */
static int data_packet(double bare)
{
	struct harness_config hc = { 0 };
	struct harness h;
	__u8 p[256];
	size_t n;

	if (harness_load(&h, &hc))
		return -1;
	n = packet(p, sizeof(p), "10.1.0.1", 40000, false, TCPF_SYN, X, 0, 0);
	harness_run(&h, HOOK_XDP_IN, p, n, 1, NULL);
	n = packet(p, sizeof(p), "10.1.0.1", 40000, true, TCPF_SYN | TCPF_ACK, Y, X + 1, 0);
	harness_run(&h, HOOK_TC_OUT, p, n, 1, NULL);
	n = packet(p, sizeof(p), "10.1.0.1", 40000, false, TCPF_ACK, X + 1, Y + 1, 0);
	harness_run(&h, HOOK_XDP_IN, p, n, 1, NULL);
	n = packet(p, sizeof(p), "10.1.0.1", 40000, false, TCPF_ACK | TCPF_PSH, X + 1, Y + 1, 64);
	row("data packet, established connection", best_of(bpf_program__fd(h.l.skel->progs.tcpshake_xdp),
						       p, n, LOOP_REPS), bare, 20);
	harness_close(&h);
	return 0;
}

/* A pure ACK, then a RST, of no connection, from a new source each time,
 * against b's tables as they are: the headers read in vain (data fast path,
 * no_record()); a RST pays no socket lookup and no slow path when neither
 * table may hold its connection. The issue sets no target: it is the
 * price of a packet that changes nothing. */
static void no_connection_rows(struct bench_bpf *b, double base, const char *ack_row,
			       const char *rst_row)
{
	int fd = bpf_program__fd(b->progs.bench_track_next_src);
	__u8 p[256];
	size_t n;

	n = packet(p, sizeof(p), "10.251.0.1", 1024, false, TCPF_ACK, 91, 92, 0);
	row(ack_row, best_of(fd, p, n, LOOP_REPS), base, 0);
	n = packet(p, sizeof(p), "10.252.0.1", 1024, false, TCPF_RST, 93, 0, 0);
	row(rst_row, best_of(fd, p, n, LOOP_REPS), base, 0);
}

/* SYNs from ever new sources with both tables full. */
static int syn_flood(double bare, __u32 hs_ways)
{
	struct bench_geometry g = { hs_ways, 262144, false, hs_ways };
	struct bench_bpf *b = bench_load(&g);
	double base, flood;
	struct paired sk;
	struct iface_stats st;
	char name[80];
	__u8 p[256];
	size_t n;
	__u32 i;

	(void)bare;
	if (!b)
		return -1;
	/* Fill the flow table first (the flood must not care), in rounds small
	 * enough for the handshake table, then fill that, then measure. */
	for (i = 0; i < FILL_FLOWS / (hs_ways / 4); i++) {
		char client[32];

		snprintf(client, sizeof(client), "10.%u.0.1", 16 + i);
		n = packet(p, sizeof(p), client, 1024, false, TCPF_SYN, X, 0, 0);
		run_once(bpf_program__fd(b->progs.bench_track_next_src), p, n, hs_ways / 4);
		n = packet(p, sizeof(p), client, 1024, true, TCPF_SYN | TCPF_ACK, Y, X + 1, 0);
		run_once(bpf_program__fd(b->progs.bench_track_next_dst), p, n, hs_ways / 4);
		n = packet(p, sizeof(p), client, 1024, false, TCPF_ACK, X + 1, Y + 1, 0);
		run_once(bpf_program__fd(b->progs.bench_track_next_src), p, n, hs_ways / 4);
	}
	n = packet(p, sizeof(p), "10.250.0.1", 1024, false, TCPF_SYN, 77, 0, 0);
	run_once(bpf_program__fd(b->progs.bench_track_next_src), p, n, 2000000);
	base = best_of(bpf_program__fd(b->progs.bench_bare_next), p, n, LOOP_REPS);
	/* With and without the sketches, trial by trial (compare_paired()). */
	if (compare_paired(bpf_program__fd(b->progs.bench_track_next_src),
			   bpf_program__fd(b->progs.bench_track_next_src_nosketch), p, n, LOOP_REPS,
			   &sk)) {
		bench_bpf__destroy(b);
		return -1;
	}
	flood = sk.a;
	bench_stats(b, &st);
	snprintf(name, sizeof(name), "SYN flood, tables full, %u handshake slots", hs_ways);
	row(name, flood, base, 60);
	printf("  %-44s (%llu flows established; flood baseline: bare + rewrite = %.1f ns)\n", "",
	       (unsigned long long)st.handshakes, base);
	printf("  %-44s %7.1f ns  %+7.1f ns  %5.3fx   target <= +10: %s\n",
	       "  with SYN sketches vs without", flood, sk.diff, 1 + sk.diff / sk.b,
	       sk.diff <= 10 ? "met" : "MISSED");
	printf("  %-44s (the median of %d trials' differences, each order in half;"
	       " range %+.1f..%+.1f ns)\n", "", sk.trials, sk.diff_lo, sk.diff_hi);
	/* The rows above run before any sweeper pass, like the first interval
	 * of a flood: SYNs still look at their alternative bucket (and, full,
	 * try to move an attempt). The sweeper then finds the table more than
	 * 3/4 full and sets hs_crowded, what a flood costs from then on. */
	b->bss->hs_crowded = 1;
	flood = best_of(bpf_program__fd(b->progs.bench_track_next_src), p, n, LOOP_REPS);
	snprintf(name, sizeof(name), "  the same, table crowded (after a sweep)");
	row(name, flood, base, 60);
	snprintf(name, sizeof(name), "  one record of %u (%.1f MiB), clock", hs_ways,
		 FLOOR_MIB(hs_ways));
	floor_row(name, best_of(bpf_program__fd(b->progs.bench_floor_clock_next_src), p, n, LOOP_REPS),
		  base, 60);
	/* A spoofed ACK and RST flood (a scan's stray ACKs too) against the
	 * same full tables. */
	no_connection_rows(b, base, "ACK of no connection (spoofed ACK flood)",
			   "RST of no connection (spoofed RST flood)");
	/* And a SYN-ACK from the network that answers no SYN seen here: the
	 * backscatter of a flood that spoofs this host, counted unsolicited. */
	n = packet(p, sizeof(p), "10.253.0.1", 1024, false, TCPF_SYN | TCPF_ACK, 95, 96, 0);
	row("SYN-ACK of no connection (backscatter)",
	    best_of(bpf_program__fd(b->progs.bench_track_next_src), p, n, LOOP_REPS), base, 0);
	bench_bpf__destroy(b);
	return 0;
}

/* A busy server, not a flood: the handshake table 3/4 full of pending
 * attempts from distinct sources, where two choices have put some in their
 * alternative bucket; segments of no connection arrive. Those whose home
 * bucket counts attempts there also read the alternative header. */
static int busy_table(void)
{
	enum { SLOTS = 32768, BUCKETS = SLOTS / HS_WAYS };
	struct bench_geometry g = { SLOTS, 262144, false, SLOTS };
	struct bench_bpf *b = bench_load(&g);
	__u32 i, guests = 0;
	struct hs_head hh;
	struct iface_stats st;
	double base;
	__u8 p[256];
	size_t n;

	if (!b)
		return -1;
	n = packet(p, sizeof(p), "10.240.0.1", 1024, false, TCPF_SYN, X, 0, 0);
	run_once(bpf_program__fd(b->progs.bench_track_next_src), p, n, SLOTS / 4 * 3);
	for (i = 0; i < BUCKETS; i++)
		if (!bpf_map_lookup_elem(bpf_map__fd(b->maps.hs_heads), &i, &hh) && hh.elsewhere)
			guests++;
	bench_stats(b, &st);
	printf("  handshake table 3/4 full (%u slots), not a flood: %u%% of its buckets count\n"
	       "  attempts in their alternative; %llu evictions\n", SLOTS, guests * 100 / BUCKETS,
	       (unsigned long long)st.flow_evictions);
	base = best_of(bpf_program__fd(b->progs.bench_bare_next), p, n, LOOP_REPS);
	no_connection_rows(b, base, "  ACK of no connection, busy table",
			   "  RST of no connection, busy table");
	bench_bpf__destroy(b);
	return 0;
}

/* A flood SYN's sketch cost on its own: the parser, then the parser and the
 * SYN sketches (HyperLogLog every SYN, count-min one SYN in 16), each a
 * program over the same packets (a new source every repetition). */
static int syn_sketch_steps(void)
{
	struct bench_geometry g = { 8192, 16384, false, 0 };
	struct bench_bpf *b = bench_load(&g);
	double base, parse, clock, sketch;
	__u8 p[256];
	size_t n;

	if (!b)
		return -1;
	n = packet(p, sizeof(p), "10.250.0.1", 1024, false, TCPF_SYN, 77, 0, 0);
	base = best_of(bpf_program__fd(b->progs.bench_bare_next), p, n, LOOP_REPS);
	parse = best_of(bpf_program__fd(b->progs.bench_parse_next_src), p, n, LOOP_REPS);
	clock = best_of(bpf_program__fd(b->progs.bench_clock_next_src), p, n, LOOP_REPS);
	sketch = best_of(bpf_program__fd(b->progs.bench_sketch_next_src), p, n, LOOP_REPS);
	printf("\nFlood SYN steps (new source each; baseline bare + rewrite = %.1f ns;\n"
	       "the table's share is the full flood SYN above minus these)\n", base);
	row("parse", parse, base, 0);
	row("parse + clock read", clock, base, 0);
	row("parse + SYN sketches", sketch, base, 0);
	printf("  %-44s %+7.1f ns\n", "clock read alone", clock - parse);
	printf("  %-44s %+7.1f ns\n", "SYN sketches alone", sketch - parse);
	bench_bpf__destroy(b);
	return 0;
}

static int drop_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

/* best_of() for a probe that writes per_run events a run: runs short
 * enough that the ring never fills (a failed reserve would be timed
 * instead), emptied between; each writes half the ring, so TRIALS of them
 * write all of it. *first (if asked): the first run, into ring pages a
 * fresh map has not written before. */
static double best_of_ring(struct bench_bpf *b, int fd, const __u8 *pkt, size_t len,
			   __u32 per_run, double *first)
{
	__u32 reps = (1u << 24) / 2 / (per_run * (__u32)(sizeof(struct event) + 8));
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(b->maps.events), drop_event, NULL,
						   NULL);
	double best = -1, d;
	int t;

	if (!rb)
		return -1;
	for (t = 0; t < TRIALS; t++) {
		d = run_once(fd, pkt, len, reps);
		if (!t && first)
			*first = d;
		if (d >= 0 && (best < 0 || d < best))
			best = d;
		ring_buffer__consume(rb);
	}
	ring_buffer__free(rb);
	return best;
}

/* What a RST from the network adds to learn this host's RCV.NXT
 * (host_socket.h), per lookup: of a tuple no socket has, and of the server
 * side of a connection established over lo. In a child, in a network
 * namespace of its own (an XDP test run looks sockets up in the caller's),
 * so the bench's connection touches nothing outside it. 0 with both costs
 * written to out[2]. */
static int host_socket_costs(struct bench_bpf *b, double out[2])
{
	int fds[2], status;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		struct sockaddr_in c = a;
		socklen_t len = sizeof(a);
		struct ifreq ifr = { 0 };
		double r[2] = { -1, -1 }, parse;
		int ls, cs, ss, sk;
		struct craft k = { .family = 4, .src = "127.0.0.1", .dst = "127.0.0.1",
				   .flags = TCPF_RST | TCPF_ACK, .seq = X, .ack = Y };
		__u8 p[256];
		size_t n;

		close(fds[0]);
		strcpy(ifr.ifr_name, "lo");
		if (unshare(CLONE_NEWNET) || (sk = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
		    ioctl(sk, SIOCGIFFLAGS, &ifr) ||
		    (ifr.ifr_flags |= IFF_UP, ioctl(sk, SIOCSIFFLAGS, &ifr)))
			_exit(1);
		ls = socket(AF_INET, SOCK_STREAM, 0);
		cs = socket(AF_INET, SOCK_STREAM, 0);
		if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ||
		    getsockname(ls, (struct sockaddr *)&a, &len) ||
		    connect(cs, (struct sockaddr *)&a, sizeof(a)) ||
		    (ss = accept(ls, NULL, NULL)) < 0 ||
		    getsockname(cs, (struct sockaddr *)&c, &len))
			_exit(1);
		k.sport = ntohs(c.sin_port);
		k.dport = ntohs(a.sin_port);
		n = craft_packet(p, sizeof(p), &k);
		parse = best_of(bpf_program__fd(b->progs.bench_probe_parse), p, n, LOOP_REPS / 10);
		r[1] = (best_of(bpf_program__fd(b->progs.bench_probe_host_socket), p, n,
				LOOP_REPS / 10) - parse) / PROBE_STEPS;
		k.sport++;
		n = craft_packet(p, sizeof(p), &k);
		r[0] = (best_of(bpf_program__fd(b->progs.bench_probe_host_socket), p, n,
				LOOP_REPS / 10) - parse) / PROBE_STEPS;
		_exit(write(fds[1], r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], out, 2 * sizeof(double)) != 2 * sizeof(double))
		out[0] = out[1] = -1;
	close(fds[0]);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return out[0] < 0 ? -1 : 0;
}

/* Writes every bucket of the tables once (with the zeros they hold), as a
 * monitor's have been written after its first connections: on this guest
 * a page of a fresh map costs its first write about 8 us (the hypervisor),
 * which the classes would otherwise measure in place of the packet's own
 * work (third ACK +625..+774 ns in fresh tables, +322..+359 after). */
static int touch_tables(struct bench_bpf *b)
{
	struct bpf_map *tables[] = { b->maps.hs_heads, b->maps.hs_ways, b->maps.flow_heads,
				     b->maps.flow_ways, b->maps.flow_gate, b->maps.floor_records };
	size_t t;

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		__u32 n = bpf_map__max_entries(tables[t]), key;
		void *zeros = calloc(1, bpf_map__value_size(tables[t]));
		int fd = bpf_map__fd(tables[t]), err = 0;

		for (key = 0; zeros && key < n && !err; key++)
			err = bpf_map_update_elem(fd, &key, zeros, BPF_EXIST);
		free(zeros);
		if (!zeros || err)
			return -1;
	}
	return 0;
}

#define LINE_RUN 256

/* One trial of line_costs() in one way of calling: the generator alone,
 * LINE_RUN lines read, and the same lines read again; the best of the
 * first and the last in *base and *again. */
static void lines_again(struct bench_bpf *b, int idx, int line, const __u8 *p, size_t n,
			bool singles, double *base, double *again)
{
	int fds[3] = { idx, line, line }, k;
	double d[3];

	for (k = 0; k < 3; k++) {
		b->bss->floor_state = 0;
		d[k] = singles ? run_singles(fds[k], p, n, LINE_RUN, false) :
				 run_once(fds[k], p, n, LINE_RUN);
	}
	if (d[0] >= 0 && d[0] < *base)
		*base = d[0];
	if (d[2] >= 0 && d[2] < *again)
		*again = d[2];
}

/* A line read from a table of floor_records (bench.bpf.c) at random, one
 * per program run: in one long BPF_PROG_TEST_RUN, where lines and pages
 * stay cached; LINE_RUN lines read again by the next call of LINE_RUN runs;
 * and the same again where each call is one run. ns per read over the
 * index's generator alone. What it shows on this guest: a call of more
 * than one run (the XDP dispatcher's update around it) leaves every line
 * cold, a call of one run does not (run_singles()). */
static void line_costs(struct bench_bpf *b, const __u8 *p, size_t n, double out[3])
{
	int idx = bpf_program__fd(b->progs.bench_probe_index);
	int line = bpf_program__fd(b->progs.bench_probe_line);
	double base = 1e18, again = 1e18, base1 = 1e18, again1 = 1e18;
	int t;

	out[0] = best_of(line, p, n, LOOP_REPS / 10) - best_of(idx, p, n, LOOP_REPS / 10);
	for (t = 0; t < TRIALS; t++) {
		lines_again(b, idx, line, p, n, false, &base, &again);
		lines_again(b, idx, line, p, n, true, &base1, &again1);
	}
	out[1] = again - base;
	out[2] = again1 - base1;
}

/* Per call of a global function, per clock read and per event, on this
 * machine: the probes chain PROBE_STEPS of each after the same arithmetic
 * inlined (an event also once per run, against the bare program). */
static int machine_costs(void)
{
	struct bench_geometry g = { 1024, 8192, false, 16384 };
	struct bench_bpf *b = bench_load(&g);
	double inlined, calls, clock, events, event, fresh = -1, bare, sock[2], lines[3];
	__u8 p[256];
	size_t n;

	if (!b)
		return -1;
	n = packet(p, sizeof(p), "10.1.0.1", 40000, false, TCPF_ACK, X + 1, Y + 1, 0);
	inlined = best_of(bpf_program__fd(b->progs.bench_probe_inline), p, n, LOOP_REPS / 10);
	calls = best_of(bpf_program__fd(b->progs.bench_probe_calls), p, n, LOOP_REPS / 10);
	clock = best_of(bpf_program__fd(b->progs.bench_probe_clock), p, n, LOOP_REPS / 10);
	/* One per run first, while the ring is as the map was created. */
	event = best_of_ring(b, bpf_program__fd(b->progs.bench_probe_event), p, n, 1, &fresh);
	events = best_of_ring(b, bpf_program__fd(b->progs.bench_probe_events), p, n, PROBE_STEPS,
			      NULL);
	bare = best_of(bpf_program__fd(b->progs.bench_bare), p, n, LOOP_REPS / 10);
	if (touch_tables(b)) {
		bench_bpf__destroy(b);
		return -1;
	}
	line_costs(b, p, n, lines);
	printf("\nMachine costs, each the mean of %d chained steps (every class below pays\n"
	       "them: the core's global functions and one clock read per packet)\n", PROBE_STEPS);
	printf("  %-44s %7.1f ns\n", "call and return of a global BPF function",
	       (calls - inlined) / PROBE_STEPS);
	printf("  %-44s %7.1f ns\n", "clock read (bpf_ktime_get_ns)", (clock - inlined) / PROBE_STEPS);
	printf("  %-44s %7.1f ns\n", "event into the ring buffer (chained)",
	       (events - inlined) / PROBE_STEPS);
	printf("  %-44s %7.1f ns\n", "the same, one per program run", event - bare);
	printf("  %-44s %7.1f ns\n", "the same, into ring pages not yet written", fresh - bare);
	if (host_socket_costs(b, sock) == 0) {
		printf("  %-44s %7.1f ns\n", "a RST's socket lookup (RCV.NXT), no socket", sock[0]);
		printf("  %-44s %7.1f ns\n", "the same, an established socket", sock[1]);
	} else {
		printf("  %-44s %s\n", "a RST's socket lookup (RCV.NXT)",
		       b->rodata->cfg.tcp_rcv_nxt_off ? "not measured (no network namespace)"
						      : "none (the kernel has no BTF)");
	}
	printf("  A random line of a %.0f MiB table, read once a program run (dependent):\n",
	       FLOOR_MIB(g.floor_records));
	printf("  %-44s %7.1f ns\n", "in one call of many runs (lines cached)", lines[0]);
	printf("  %-44s %7.1f ns\n", "256 lines again, after a call of 256 runs", lines[1]);
	printf("  %-44s %7.1f ns\n", "the same, calls of one run (the classes')", lines[2]);
	bench_bpf__destroy(b);
	return 0;
}

/* Each packet of a connection's life (lifecycle.h), for `flows` connections
 * at a time, in `batches` batches of fresh connections; the best batch
 * counts (the first ones also warm up code, branch predictors and page
 * tables). */
static int lifecycle(const struct bench_geometry *g, __u32 flows, int batches, const char *regime,
		     bool cross_check, bool disturbed)
{
	const struct step_class *steps = lifecycle_steps;
	enum { NSTEPS = LIFECYCLE_STEPS };
	struct bench_bpf *b = bench_load(g);
	double best[NSTEPS], best_stats[NSTEPS], base, base_stats;
	enum { FLOOR_NEW, FLOOR_LATER, FLOOR_NO_CLOCK, FLOORS };
	double floor[FLOORS] = { 1e18, 1e18, 1e18 };
	struct ring_buffer *rb = NULL;
	struct iface_stats st;
	int batch, stats_fd = -1;
	__u8 p[256];
	size_t n, k;

	if (!b)
		return -1;
	if (disturbed && disturb_setup()) {
		fprintf(stderr, "bench: cannot map the pages the disturbed regime walks: %s\n",
			strerror(errno));
		bench_bpf__destroy(b);
		return -1;
	}
	if (touch_tables(b)) {
		fprintf(stderr, "bench: cannot write the tables: %s\n", strerror(errno));
		bench_bpf__destroy(b);
		return -1;
	}
	if (cross_check) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0) {
			fprintf(stderr, "bench: cannot enable bpf_stats: %s\n", strerror(errno));
			bench_bpf__destroy(b);
			return -1;
		}
	}
	for (k = 0; k < NSTEPS; k++)
		best[k] = best_stats[k] = 1e18;
	n = packet(p, sizeof(p), "10.64.0.1", 1024, false, TCPF_ACK, X + 1, Y + 1, 0);
	/* A monitor's ring has been written all over after its first lap; a
	 * fresh map's pages cost each event far more the first time (machine
	 * costs), which the classes would otherwise measure. Emptied after
	 * each run, as a reader keeps it, so no reserve fails. */
	if (g->events) {
		best_of_ring(b, bpf_program__fd(b->progs.bench_probe_event), p, n, 1, NULL);
		rb = ring_buffer__new(bpf_map__fd(b->maps.events), drop_event, NULL, NULL);
		if (!rb) {
			if (stats_fd >= 0)
				close(stats_fd);
			bench_bpf__destroy(b);
			return -1;
		}
	}
	base = best_of_stats(bpf_program__fd(b->progs.bench_bare_next), p, n, flows, disturbed,
			     &base_stats);
	for (batch = 0; batch < batches; batch++) {
		char client[32], refused[32];

		snprintf(client, sizeof(client), "10.%d.0.1", 64 + batch);
		snprintf(refused, sizeof(refused), "10.%d.0.1", 160 + batch);
		for (k = 0; k < NSTEPS; k++) {
			const struct step_class *s = &steps[k];
			int fd = bpf_program__fd(s->from_server ? b->progs.bench_track_next_dst :
						 b->progs.bench_track_next_src);
			double ns, st_ns;

			n = packet(p, sizeof(p), s->refused ? refused : client, 1024, s->from_server,
				   s->flags, s->seq, s->ack, s->payload);
			ns = run_stats(fd, p, n, flows, disturbed, &st_ns);
			if (rb)
				ring_buffer__consume(rb);
			if (ns >= 0 && ns < best[k])
				best[k] = ns;
			if (st_ns >= 0 && st_ns < best_stats[k])
				best_stats[k] = st_ns;
		}
		/* The floor over as many new connections: their records' first
		 * touch (a SYN's), then again (every later packet finds its
		 * record as one class before left it), then without the clock (a
		 * data packet). */
		snprintf(client, sizeof(client), "10.%d.0.1", 200 + batch);
		n = packet(p, sizeof(p), client, 1024, false, TCPF_ACK, X + 1, Y + 1, 0);
		for (k = 0; k < FLOORS; k++) {
			double ns = run_singles(bpf_program__fd(k == FLOOR_NO_CLOCK ?
								b->progs.bench_floor_next_src :
								b->progs.bench_floor_clock_next_src),
						p, n, flows, disturbed);

			if (ns >= 0 && ns < floor[k])
				floor[k] = ns;
		}
	}
	printf("\nConnection lifecycle, %s: %d batches of %u connections, %u handshake slots,\n"
	       "%u flows, events %s; a call per packet; baseline bare + rewrite = %.1f ns\n",
	       regime, batches, flows, g->hs_ways, g->flows,
	       g->events ? "on" : "off (no --events, the default)", base);
	if (disturbed)
		print_disturb_note();
	for (k = 0; k < NSTEPS; k++)
		if (steps[k].target > 0)
			row(steps[k].name, best[k], base, steps[k].target);
	printf("  What a core of one 64-byte record per connection pays at least: parse,\n"
	       "  hash, and the record (of %u, %.1f MiB) read and written; nothing else\n",
	       g->floor_records, FLOOR_MIB(g->floor_records));
	floor_row("one record: a new connection's, clock", floor[FLOOR_NEW], base, 60);
	floor_row("one record: one class later, clock", floor[FLOOR_LATER], base, 100);
	floor_row("one record: the same without a clock", floor[FLOOR_NO_CLOCK], base, 20);
	if (cross_check) {
		/* Each run also reads the clock twice for bpf_stats: both columns
		 * carry that in the baseline and the class alike. */
		printf("  The same runs as the kernel's bpf_stats timed each program run (outside\n"
		       "  BPF_PROG_TEST_RUN's loop), against its bare + rewrite (%.1f ns):\n",
		       base_stats);
		for (k = 0; k < NSTEPS; k++)
			if (steps[k].target > 0)
				printf("  %-44s %+7.1f ns test run  %+7.1f ns bpf_stats\n", steps[k].name,
				       best[k] - base, best_stats[k] - base_stats);
		close(stats_fd);
	}
	bench_stats(b, &st);
	printf("  (check: %llu handshakes, %llu graceful closes, %llu refused, %llu evictions, "
	       "%llu events lost; %u expected each)\n",
	       (unsigned long long)st.handshakes, (unsigned long long)st.closes_graceful,
	       (unsigned long long)st.failures[FAIL_REFUSED], (unsigned long long)st.flow_evictions,
	       (unsigned long long)st.events_lost, flows * (unsigned)batches);
	ring_buffer__free(rb);
	bench_bpf__destroy(b);
	return 0;
}

/* bench [loop|lifecycle]: every class, or only the loop classes (quick A/B
 * runs of the data-packet and flood-SYN costs), or only the lifecycle
 * classes (A/B runs and profiles of the slow path). */
int main(int argc, char **argv)
{
	static const __u32 hs_sizes[] = { 8192, 32768, 131072 };
	bool loop_only = argc > 1 && !strcmp(argv[1], "loop");
	bool lifecycle_only = argc > 1 && !strcmp(argv[1], "lifecycle");
	bool data_only = argc > 1 && !strcmp(argv[1], "data");
	bool load_only = argc > 1 && !strcmp(argv[1], "load");
	double bare;
	size_t i;

	if (argc > 2 || (argc == 2 && !loop_only && !lifecycle_only && !data_only && !load_only)) {
		fprintf(stderr, "usage: bench [loop | lifecycle | data | load]\n");
		return 2;
	}

	if (geteuid() != 0) {
		fprintf(stderr, "bench: must run as root: try sudo make bench\n");
		return 1;
	}
	log_init(load_only ? 1 : 0);   /* load: the verifier's log if it refuses */
	if (load_only)
		return load_programs();
	printf("tcpshake-mon packet-class costs, BPF_PROG_TEST_RUN, %ld CPUs\n\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
	footprint();
	bare = bare_xdp();
	if (bare <= 0) {
		fprintf(stderr, "bench: cannot load the bench programs: %s\n", strerror(errno));
		return 1;
	}
	if (lifecycle_only)
		goto lifecycles;
	printf("\nLoop classes: %u repetitions, best of %d\n", LOOP_REPS, TRIALS);
	row("bare XDP_PASS", bare, bare, 0);
	if (data_packet(bare))
		return 1;
	if (data_only)
		return 0;
	for (i = 0; i < sizeof(hs_sizes) / sizeof(hs_sizes[0]); i++)
		if (syn_flood(bare, hs_sizes[i]))
			return 1;
	if (busy_table())
		return 1;
	if (loop_only)
		return 0;
	if (syn_sketch_steps())
		return 1;
lifecycles:
	{
		/* Warm: small tables, the same 256 connections' records for every
		 * class, so mostly the code's own cost (a completing handshake still
		 * writes a way of the 2 MB flow table that is not in cache). The
		 * same with events off: the default monitor, without --events, whose
		 * programs write no ring buffer. Cold: default sizes, every packet a
		 * different connection, so every packet pays cache and TLB misses.
		 * Disturbed: the quiet warm regime with TLBs, caches and branch
		 * history pushed out between packets (disturb()), what a packet
		 * of real traffic finds after the kernel's work since the
		 * previous one (docs/performance.md). */
		struct bench_geometry warm = { 8192, 16384, true, 16384 };
		struct bench_geometry cold = { 32768, 262144, true, 262144 };
		struct bench_geometry quiet = { 8192, 16384, false, 16384 };

		if (machine_costs() || lifecycle(&warm, 256, 8, "warm", false, false) ||
		    lifecycle(&quiet, 256, 8, "warm", false, false) ||
		    lifecycle(&cold, FLOWS, 3, "cold", false, false) ||
		    lifecycle(&quiet, 256, 8, "warm tables, disturbed between packets", false, true) ||
		    lifecycle(&warm, 256, 8, "warm, cross-checked by bpf_stats", true, false))
			return 1;
	}
	return 0;
}
