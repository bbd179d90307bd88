// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Limits that must hold, not wrap: the per-port slot counter stops at the
 * slot count (every further port is counted under "other"), and the
 * sweeper walks tables in slices (one program run each), reporting a walk
 * it could not finish instead of ignoring it. Kernel programs through
 * BPF_PROG_TEST_RUN and the native core.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "harness.h"
#include "native.h"
#include "reader.h"
#include "tcpshake.skel.h"
#include "tcpshake/parse.h"

#define X 1000u
#define Y 5000u

static __u32 port_counter(struct harness *h)
{
	return h->backend == BACKEND_NATIVE ? next_port_slot : h->l.skel->bss->next_port_slot;
}

static void port_stats_read(struct harness *h, __u32 slot, struct service_stats *out)
{
	if (h->backend == BACKEND_NATIVE)
		*out = native.port_stats[slot];
	else
		assert_int_equal(percpu_sum(bpf_map__fd(h->l.skel->maps.port_stats), slot, out,
					    sizeof(*out), h->l.ncpus, NULL), 0);
}

static struct port_owner port_owner_read(struct harness *h, __u32 slot)
{
	struct port_owner o = { 0 };

	if (h->backend == BACKEND_NATIVE)
		return native.port_owner[slot];
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(h->l.skel->maps.port_owner), &slot, &o), 0);
	return o;
}

/* A complete handshake to a local server on port. */
static void handshake(struct harness *h, __u16 port)
{
	struct craft c = { .family = 4, .src = "10.0.0.2", .dst = "10.0.0.1", .sport = 40000,
			   .dport = port, .seq = X, .flags = TCPF_SYN };
	struct craft sa = { .family = 4, .src = "10.0.0.1", .dst = "10.0.0.2", .sport = port,
			    .dport = 40000, .seq = Y, .ack = X + 1, .flags = TCPF_SYN | TCPF_ACK };

	assert_int_equal(harness_run_craft(h, HOOK_TC_IN, &c), -1);
	assert_int_equal(harness_run_craft(h, HOOK_TC_OUT, &sa), -1);
	c.seq = X + 1;
	c.ack = Y + 1;
	c.flags = TCPF_ACK;
	assert_int_equal(harness_run_craft(h, HOOK_TC_IN, &c), -1);
}

static void port_slots_capped(enum backend backend)
{
	struct harness_config hc = { .backend = backend, .max_ports = 1,
				     .ingress = INGRESS_TC_ONLY };
	struct service_stats ss;
	struct iface_stats st;
	struct harness h;
	__u32 slots, own, slot, total = 0;
	int p;

	assert_int_equal(harness_load(&h, &hc), 0);
	slots = h.l.geo.port_slots;
	own = slots - MAX_IFACES;        /* slots that can be handed out */
	for (p = 0; p < 3 * (int)own; p++)
		handshake(&h, (__u16)(1000 + p));
	harness_stats(&h, &st);
	assert_int_equal(st.handshakes, 3 * own);
	/* The counter stopped at the slot count instead of running on. */
	assert_int_equal(port_counter(&h), own);
	for (slot = MAX_IFACES; slot < slots; slot++) {
		struct port_owner o = port_owner_read(&h, slot);

		assert_int_equal(o.port, 1000 + slot - MAX_IFACES);
		port_stats_read(&h, slot, &ss);
		assert_int_equal(ss.handshakes, 1);
		total += (__u32)ss.handshakes;
	}
	/* Every port after the last slot is counted under "other" (slot 0). */
	port_stats_read(&h, 0, &ss);
	assert_int_equal(ss.handshakes, 2 * own);
	assert_int_equal(total + ss.handshakes, 3 * own);
	/* Thousands more ports: still no growth, nothing wraps. */
	for (p = 0; p < 2000; p++)
		handshake(&h, (__u16)(20000 + p));
	assert_int_equal(port_counter(&h), own);
	port_stats_read(&h, 0, &ss);
	assert_int_equal(ss.handshakes, 2 * own + 2000);
	printf("  %s: %u port slots, counter at %u after %u ports\n",
	       backend == BACKEND_NATIVE ? "native" : "kernel", own, port_counter(&h), 3 * own + 2000);
	harness_close(&h);
}

static void test_port_slots_capped_kernel(void **unused)
{
	(void)unused;
	port_slots_capped(BACKEND_KERNEL);
}

static void test_port_slots_capped_native(void **unused)
{
	(void)unused;
	port_slots_capped(BACKEND_NATIVE);
}

/* Programs that believe in more buckets than the maps have cannot walk
 * them: the sweeper reports it, loading stops with an error, and the
 * count is what the exporters show as tcpshake_sweep_errors_total. */
static void test_walk_error_surfaces_kernel(void **unused)
{
	struct harness_config hc = { .hs_buckets = 1024, .claimed_hs_buckets = 2048,
				     .ingress = INGRESS_TC_ONLY };
	struct harness h;

	(void)unused;
	assert_int_equal(harness_load(&h, &hc), -1);
	assert_non_null(h.l.skel);
	assert_int_equal(h.l.skel->bss->report.walk_errors, 1);
	assert_int_equal(h.l.sweep_errors, 1);
	harness_close(&h);

	hc.claimed_hs_buckets = 0;
	assert_int_equal(harness_load(&h, &hc), 0);
	assert_int_equal(h.l.skel->bss->report.walk_errors, 0);
	assert_int_equal(h.l.sweep_errors, 0);
	harness_close(&h);
}

static long count_bucket(__u64 i, void *ctx)
{
	(void)i;
	(*(__u32 *)ctx)++;
	return 0;
}

#define SLICED_SYNS 600

static void send_syns(struct harness *h)
{
	char src[32];
	int i;

	for (i = 0; i < SLICED_SYNS; i++) {
		struct craft c = { .family = 4, .dst = "10.0.0.1", .sport = (__u16)(30000 + i),
				   .dport = 80, .seq = X, .flags = TCPF_SYN };

		snprintf(src, sizeof(src), "10.1.%d.%d", i / 250, 1 + i % 250);
		c.src = src;
		assert_int_equal(harness_run_craft(h, HOOK_TC_IN, &c), -1);
	}
}

/* The sweeper runs as 7 slices whose borders fall inside both tables
 * (4096 buckets each), kernel and native: every attempt is counted once by
 * the gauges, and every one times out once. */
static void test_sweep_in_slices(void **unused)
{
	struct harness_config hc = { .hs_buckets = 4096, .flow_buckets = 4096, .sweep_slices = 7,
				     .syn_timeout_ns = 2000000000ull, .ingress = INGRESS_TC_ONLY };
	struct harness h[2];
	struct iface_stats st;
	int b;

	(void)unused;
	for (b = 0; b < 2; b++) {
		hc.backend = b ? BACKEND_NATIVE : BACKEND_KERNEL;
		assert_int_equal(harness_load(&h[b], &hc), 0);
		send_syns(&h[b]);
		assert_int_equal(harness_sweep(&h[b]), 0);
		assert_int_equal(harness_gauge(&h[b], CS_SYN_SENT), SLICED_SYNS);
		assert_int_equal(harness_report(&h[b])->hs_entries[0], SLICED_SYNS);
		assert_int_equal(harness_report(&h[b])->walk_errors, 0);
	}
	usleep(2100 * 1000);
	for (b = 0; b < 2; b++) {
		assert_int_equal(harness_sweep(&h[b]), 0);
		harness_stats(&h[b], &st);
		assert_int_equal(st.failures[FAIL_TIMEOUT], SLICED_SYNS);
		assert_int_equal(harness_gauge(&h[b], CS_SYN_SENT), 0);
		assert_int_equal(harness_sweep(&h[b]), 0);   /* tombstones end nothing twice */
		harness_stats(&h[b], &st);
		assert_int_equal(st.failures[FAIL_TIMEOUT], SLICED_SYNS);
		harness_close(&h[b]);
	}
}

/* A slice larger than bpf_loop's limit (lowered here to 1000, then 16
 * iterations per call) cannot be walked: one call would fail as bpf_loop
 * does (E2BIG), and the walk is reported as cut short, not silently
 * partial. */
static void test_walk_too_large_native(void **unused)
{
	struct harness_config hc = { .backend = BACKEND_NATIVE, .hs_buckets = 4096,
				     .flow_buckets = 4096, .sweep_slices = 1 };
	struct harness h;
	__u32 visited = 0;

	(void)unused;
	assert_int_equal(harness_load(&h, &hc), 0);
	send_syns(&h);
	native.loop_max = 1000;
	assert_int_equal(loop(4096, count_bucket, &visited), -E2BIG);
	assert_int_equal(visited, 0);
	assert_int_equal(harness_sweep(&h), 0);
	assert_true(harness_report(&h)->walk_errors > 0);
	assert_true(harness_report(&h)->hs_entries[0] < SLICED_SYNS);
	native.loop_max = 0;
	assert_int_equal(harness_sweep(&h), 0);
	assert_int_equal(harness_report(&h)->walk_errors, 0);
	assert_int_equal(harness_report(&h)->hs_entries[0], SLICED_SYNS);
	harness_close(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_slots_capped_kernel),
		cmocka_unit_test(test_port_slots_capped_native),
		cmocka_unit_test(test_walk_error_surfaces_kernel),
		cmocka_unit_test(test_sweep_in_slices),
		cmocka_unit_test(test_walk_too_large_native),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
