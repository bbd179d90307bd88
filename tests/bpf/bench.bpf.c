// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark-only programs around the production core (track.h). The
 * "_next_src"/"_next_dst" variants rewrite the client's address and port
 * after each run (client = source for packets from the client, destination
 * for packets from the server), so one BPF_PROG_TEST_RUN with many
 * repetitions walks through a sequence of distinct flows: a SYN flood from
 * random sources, or the Nth packet of N prepared connections.
 * bench_bare_next does the same rewrite around nothing: the baseline.
 */
#include "kernel.bpf.h"
#include "platform.bpf.h"
#include "hook.h"
#include "bench.h"

/* The client address steps through a full-period LCG; the port by 7. */
static __always_inline void next_client(struct xdp_md *ctx, __u32 addr_off, __u32 port_off)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 *addr = data + addr_off;
	__u16 *port = data + port_off;

	if ((void *)(addr + 1) > end || (void *)(port + 1) > end)
		return;
	*addr = __builtin_bswap32(__builtin_bswap32(*addr) * 1103515245u + 12345u);
	*port = __builtin_bswap16(__builtin_bswap16(*port) + 7);
}

/* The core on the frame as tcpshake_xdp runs it (hook.h); egress as
 * tcpshake_tc_out passes it. */
static __always_inline void track_xdp(struct xdp_md *ctx, __u32 egress)
{
	__u32 iface = iface_slot(ctx->ingress_ifindex);
	struct packet p;

	if (iface < MAX_IFACES)
		hook_xdp(ctx, iface, egress, &p);
}

/* The production parse alone, p in memory as a hook's packet is (its
 * address goes to the core's global functions). Left in registers, clang
 * spilled a field that one path leaves undefined from a register the
 * extension walk's call had clobbered, which the verifier refuses. */
static __always_inline int parse_alone(struct xdp_md *ctx, struct packet *p)
{
	asm volatile("" : : "r"(p) : "memory");
	return parse_xdp(ctx, 0, p);
}

#define SRC_OFFSETS 14 + 12, 14 + 20
#define DST_OFFSETS 14 + 16, 14 + 22

SEC("xdp")
int bench_bare(struct xdp_md *ctx __attribute__((unused)))
{
	return XDP_PASS;
}

SEC("xdp")
int bench_bare_next(struct xdp_md *ctx)
{
	next_client(ctx, SRC_OFFSETS);
	return XDP_PASS;
}

SEC("xdp")
int bench_track(struct xdp_md *ctx)
{
	track_xdp(ctx, 0);
	return XDP_PASS;
}

SEC("xdp")
int bench_track_next_src(struct xdp_md *ctx)
{
	track_xdp(ctx, 0);
	next_client(ctx, SRC_OFFSETS);
	return XDP_PASS;
}

/* The same SYN path without the SYN-flood sketches: flood_syn() feeds
 * them only for arriving packets, and the egress flag changes nothing
 * else a bare SYN costs (one bit of the new record). */
SEC("xdp")
int bench_track_next_src_nosketch(struct xdp_md *ctx)
{
	track_xdp(ctx, 1);
	next_client(ctx, SRC_OFFSETS);
	return XDP_PASS;
}

/* Steps of a flood SYN's cost: the parser alone, then the parser and the
 * sketches' update. */
SEC("xdp")
int bench_parse_next_src(struct xdp_md *ctx)
{
	struct packet p;

	if (parse_alone(ctx, &p) == PARSE_TCP)
		asm volatile("" : : "r"(p.key.words[1]), "r"(p.from_a));
	next_client(ctx, SRC_OFFSETS);
	return XDP_PASS;
}

/* The parser and the clock read every new SYN takes (its t_syn). */
SEC("xdp")
int bench_clock_next_src(struct xdp_md *ctx)
{
	struct packet p;

	if (parse_alone(ctx, &p) == PARSE_TCP) {
		__u64 now = clock_ns();

		asm volatile("" : : "r"(p.key.words[1]), "r"(now));
	}
	next_client(ctx, SRC_OFFSETS);
	return XDP_PASS;
}

SEC("xdp")
int bench_sketch_next_src(struct xdp_md *ctx)
{
	struct packet p;

	if (parse_alone(ctx, &p) == PARSE_TCP) {
		p.key.iface = 0;
		flood_syn(&p, 0);
	}
	next_client(ctx, SRC_OFFSETS);
	return XDP_PASS;
}

SEC("xdp")
int bench_track_next_dst(struct xdp_md *ctx)
{
	track_xdp(ctx, 1);
	next_client(ctx, DST_OFFSETS);
	return XDP_PASS;
}

/* What two steps every class takes cost on this machine: a call of a
 * global function (the core's are global so the verifier checks them once;
 * each call returns through the kernel's return thunk where a CPU needs
 * one), and a clock read. PROBE_STEPS of each, chained, so none can be
 * dropped or overlapped; the same arithmetic inlined is their baseline. */

__noinline int probe_step(struct xdp_md *ctx, int a)
{
	if (!ctx)
		return 0;
	return a * 3 + 1;
}

static __always_inline int probe_step_inline(int a)
{
	return a * 3 + 1;
}

SEC("xdp")
int bench_probe_inline(struct xdp_md *ctx)
{
	int a = (int)ctx->ingress_ifindex, i;

	for (i = 0; i < PROBE_STEPS; i++)
		a = probe_step_inline(a);
	asm volatile("" : : "r"(a));
	return XDP_PASS;
}

SEC("xdp")
int bench_probe_calls(struct xdp_md *ctx)
{
	int a = (int)ctx->ingress_ifindex, i;

	for (i = 0; i < PROBE_STEPS; i++)
		a = probe_step(ctx, a);
	asm volatile("" : : "r"(a));
	return XDP_PASS;
}

SEC("xdp")
int bench_probe_clock(struct xdp_md *ctx)
{
	__u64 sum = ctx->ingress_ifindex;
	int i;

	for (i = 0; i < PROBE_STEPS; i++)
		sum += clock_ns() & (sum | 1);
	asm volatile("" : : "r"(sum));
	return XDP_PASS;
}

/* A RST from the network learns this host's RCV.NXT (host_socket.h): the
 * packet parsed once, then PROBE_STEPS lookups of its tuple; against the
 * parse alone. */
static __always_inline int probe_host_socket(struct xdp_md *ctx, int steps)
{
	struct packet p;
	__u32 sum = 0;
	int i;

	if (parse_alone(ctx, &p) != PARSE_TCP)
		return XDP_PASS;
	for (i = 0; i < steps; i++) {
		host_rcv_nxt(ctx, &p);
		sum += p.host_rcv_nxt + p.marks;
	}
	asm volatile("" : : "r"(sum), "r"(p.seq));
	return XDP_PASS;
}

SEC("xdp")
int bench_probe_parse(struct xdp_md *ctx)
{
	return probe_host_socket(ctx, 0);
}

SEC("xdp")
int bench_probe_host_socket(struct xdp_md *ctx)
{
	return probe_host_socket(ctx, PROBE_STEPS);
}

/* One event written to the ring buffer as account.h writes one: reserve,
 * fill, submit (with the reader's wake-up check). PROBE_STEPS chained, as
 * the probes above; and one per program run, as a packet writes it, where
 * the ring's next lines are not yet in cache. */
static __always_inline __u64 probe_event(__u64 sum)
{
	struct event *e = event_reserve();

	if (!e)
		return 0;
	__builtin_memset(e, (int)sum, sizeof(*e));
	sum += e->t_event | 1;
	event_submit(e, 0);   /* no wake-up: the bench has no reader waiting */
	return sum;
}

SEC("xdp")
int bench_probe_events(struct xdp_md *ctx)
{
	__u64 sum = ctx->ingress_ifindex;
	int i;

	for (i = 0; i < PROBE_STEPS; i++)
		sum = probe_event(sum);
	return sum ? XDP_PASS : XDP_ABORTED;
}

SEC("xdp")
int bench_probe_event(struct xdp_md *ctx)
{
	return probe_event(ctx->ingress_ifindex) ? XDP_PASS : XDP_ABORTED;
}

/* The floor of a core that keeps one 64-byte record per connection (the
 * design proposed for issue 15's per-packet targets): the parser, the flow
 * hash, the record found by that hash, read and written in place (a key
 * compared, state and time stored), and for a handshake or close packet
 * the clock. No bucket header, no second table, no counter, no call. The
 * table has a record per slot of the class's table (bench_load sizes it),
 * so each new connection's packet touches one random line of it (struct
 * floor_record, bench.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct floor_record);
} floor_records SEC(".maps");

__u32 floor_mask;

static __always_inline int floor_step(struct xdp_md *ctx, bool clock, __u32 addr_off,
				      __u32 port_off)
{
	struct floor_record *r;
	struct packet p;
	__u64 now = 0;
	__u32 idx;

	if (parse_alone(ctx, &p) == PARSE_TCP) {
		/* As the core does: the clock first, its latency overlapping
		 * the record's miss. */
		if (clock)
			now = clock_ns();
		idx = (__u32)flow_hash(&p.key, cfg.hash_seed) & floor_mask;
		r = bpf_map_lookup_elem(&floor_records, &idx);
		if (r) {
			if (r->key[0] != p.key.words[0] || r->key[1] != p.key.words[1] ||
			    r->key[2] != p.key.words[2] || r->key[3] != p.key.words[3] ||
			    r->key[4] != p.key.words[4])
				__builtin_memcpy(r->key, p.key.words, sizeof(r->key));
			r->seq = p.seq;
			r->state = p.flags;
			if (clock)
				r->t = now;
		}
	}
	next_client(ctx, addr_off, port_off);
	return XDP_PASS;
}

SEC("xdp")
int bench_floor_next_src(struct xdp_md *ctx)
{
	return floor_step(ctx, false, SRC_OFFSETS);
}

SEC("xdp")
int bench_floor_clock_next_src(struct xdp_md *ctx)
{
	return floor_step(ctx, true, SRC_OFFSETS);
}

/* What a call of BPF_PROG_TEST_RUN leaves of a table in cache for the next
 * (bench.c, line_costs): one line read per run, at an index from a
 * generator user space restarts (floor_state), so calls can read the same
 * lines again; against the generator alone. The value read (zero) goes
 * into the next index, so no read overlaps the next one, as a packet's
 * lookup does not: the latency, not the throughput. */
__u32 floor_state;

static __always_inline __u32 floor_index(void)
{
	return floor_state >> 8 & floor_mask;
}

SEC("xdp")
int bench_probe_index(struct xdp_md *ctx __attribute__((unused)))
{
	floor_state = floor_state * 1103515245u + 12345u;
	return XDP_PASS;
}

SEC("xdp")
int bench_probe_line(struct xdp_md *ctx __attribute__((unused)))
{
	__u32 i = floor_index();
	struct floor_record *r = bpf_map_lookup_elem(&floor_records, &i);

	floor_state = floor_state * 1103515245u + 12345u + (r ? r->seq : 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
