// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The SYN-flood decision (src/flood.c) on synthetic rate series: one tick a
 * second, rates given as piecewise-constant functions of time and
 * integrated over each interval, as the monitor's counters would be. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "flood.h"
#include "floodwatch.h"
#include "tcpshake/sketch.h"

/* attempts/s and completed/s as functions of time. */
typedef void (*rates_fn)(double t, double *attempts, double *completed);

struct run {
	struct flood_params p;
	struct flood_state s;
	struct flood_sample total;
	double now;
	double started_at, ended_at;   /* ticks where the state changed, or -1 */
	int starts, ends;
};

static void run_init(struct run *r)
{
	flood_params_default(&r->p);
	flood_state_init(&r->s);
	r->now = 0;
	r->total.attempts = r->total.completed = 0;
	flood_step(&r->s, &r->p, &r->total, 0);
	r->started_at = r->ended_at = -1;
	r->starts = r->ends = 0;
}

/* Sampling between ticks, as the monitor does (0: ticks only). */
static double observe_every = 0.1;

/* Ticks every dt until `until`, integrating the rates in steps of 1 ms and
 * sampling the totals every observe_every in between. */
static void run_until(struct run *r, rates_fn f, double until, double dt)
{
	while (r->now + dt <= until + 1e-9) {
		double t, a, c, next_obs = r->now + observe_every;
		enum flood_change ch;

		for (t = r->now + 0.0005; t < r->now + dt; t += 0.001) {
			f(t, &a, &c);
			r->total.attempts += a * 0.001;
			r->total.completed += c * 0.001;
			if (observe_every > 0 && t + 0.0005 >= next_obs - 1e-9 && t + 0.0005 < r->now + dt - 1e-6) {
				flood_observe(&r->s, &r->total, t + 0.0005, observe_every * 0.9);
				next_obs += observe_every;
			}
		}
		r->now += dt;
		ch = flood_step(&r->s, &r->p, &r->total, r->now);
		if (ch == FLOOD_STARTED) {
			r->starts++;
			r->started_at = r->now;
		} else if (ch == FLOOD_ENDED) {
			r->ends++;
			r->ended_at = r->now;
		}
	}
}

/* Real clients: 200 attempts/s, 97 % complete. */
static void quiet(double t, double *a, double *c)
{
	(void)t;
	*a = 200;
	*c = 194;
}

static double flood_from, flood_to, flood_rate;

/* The quiet server plus an unanswered (or SYN-cookie answered: nothing
 * completes either way) flood between flood_from and flood_to. */
static void flooded(double t, double *a, double *c)
{
	quiet(t, a, c);
	if (t >= flood_from && t < flood_to)
		*a += flood_rate;
}

static void test_entry_and_exit(void **unused)
{
	static const double offsets[] = { 0.05, 0.3, 0.5, 0.93, 0.999 };
	static const double intervals[] = { 1, 0.5, 0.25 };
	struct run r;
	size_t i, k;

	(void)unused;
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]) * 6; i++) {
		k = i / (sizeof(offsets) / sizeof(offsets[0])) % 3;
		/* Half of the runs decide from the ticks alone. */
		observe_every = i < sizeof(offsets) / sizeof(offsets[0]) * 3 ? 0.1 : 0;
		run_init(&r);
		flood_from = 120 + offsets[i % (sizeof(offsets) / sizeof(offsets[0]))];
		flood_to = flood_from + 10;
		flood_rate = 10000;
		run_until(&r, flooded, 200, intervals[k]);
		assert_int_equal(r.starts, 1);
		assert_int_equal(r.ends, 1);
		assert_int_equal(r.s.alerts, 1);
		/* On within 2 s of the start, off within 5 s of the end. */
		assert_true(r.started_at > flood_from && r.started_at <= flood_from + 2);
		assert_true(r.ended_at > flood_to && r.ended_at <= flood_to + 5);
		/* Not before the hold time has passed since the last flooded interval. */
		assert_true(r.ended_at >= flood_to + r.p.hold_s - 1);
		assert_false(r.s.active);
	}
	observe_every = 0.1;
}

/* A busy server, 6000 real clients a second, half the flood's rate. */
static void busy_flooded(double t, double *a, double *c)
{
	*a = 6000;
	*c = 5900;
	if (t >= flood_from && t < flood_to)
		*a += flood_rate;
}

static void test_flood_over_busy_server(void **unused)
{
	struct run r;

	(void)unused;
	run_init(&r);
	flood_from = 100.6;
	flood_to = 110.6;
	flood_rate = 10000;
	run_until(&r, busy_flooded, 200, 1);
	assert_int_equal(r.starts, 1);
	assert_true(r.started_at > flood_from && r.started_at <= flood_from + 2);
	assert_true(r.ended_at > flood_to && r.ended_at <= flood_to + 5);
}

/* A 2 s pause inside the flood is shorter than the hold: one flood. */
static void pulses(double t, double *a, double *c)
{
	quiet(t, a, c);
	if ((t >= 100 && t < 110) || (t >= 112 && t < 120))
		*a += 20000;
}

static void test_hold(void **unused)
{
	struct run r;

	(void)unused;
	run_init(&r);
	run_until(&r, pulses, 111.5, 1);
	assert_true(r.s.active);
	run_until(&r, pulses, 200, 1);
	assert_int_equal(r.starts, 1);
	assert_int_equal(r.ends, 1);
	assert_true(r.ended_at >= 122 && r.ended_at <= 125);
	/* A longer hold keeps it on longer; the same series. */
	run_init(&r);
	r.p.hold_s = 10;
	run_until(&r, pulses, 200, 1);
	assert_int_equal(r.starts, 1);
	assert_true(r.ended_at >= 129 && r.ended_at <= 131);
}

/* A legitimate 10x surge whose handshakes complete: never an alert, even
 * far above the floor and with completions lagging the SYNs by 400 ms.
 * (From 1 s ticks alone this cannot be told from a 0.3 s burst of a flood
 * when the surge starts late in an interval: the samples in between say
 * when the attempts came.) */
static double surge_at;

static void surge(double t, double *a, double *c)
{
	double base = 2000, rate = t >= surge_at && t < surge_at + 300 ? 10 * base : base;

	*a = rate;
	/* Completions trail the attempts by 400 ms (slow clients), 99 % of them. */
	t -= 0.4;
	*c = 0.99 * (t >= surge_at && t < surge_at + 300 ? 10 * base : base);
}

static void test_surge_never_alerts(void **unused)
{
	struct run r;

	static const double starts[] = { 300, 300.1, 300.3, 300.5, 300.7, 300.95 };
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		surge_at = starts[i];
		run_init(&r);
		run_until(&r, surge, 900, 1);
		assert_int_equal(r.starts, 0);
		/* Also with short intervals, where the lag weighs more. */
		run_init(&r);
		run_until(&r, surge, 900, 0.25);
		assert_int_equal(r.starts, 0);
		/* Ticks alone (ports) need two decisions in a row. */
		observe_every = 0;
		run_init(&r);
		r.p.confirm = 2;
		run_until(&r, surge, 900, 1);
		assert_int_equal(r.starts, 0);
		observe_every = 0.1;
	}
}

/* A half-second burst: one decision; two in a row are asked for. */
static void burst(double t, double *a, double *c)
{
	quiet(t, a, c);
	if (t >= 100.2 && t < 100.7)
		*a += 20000;
}

static void test_confirm(void **unused)
{
	struct run r;

	(void)unused;
	run_init(&r);
	run_until(&r, burst, 200, 1);
	assert_int_equal(r.starts, 1);
	run_init(&r);
	r.p.confirm = 2;
	run_until(&r, burst, 200, 1);
	assert_int_equal(r.starts, 0);
	/* A real flood still starts, one tick later. */
	run_init(&r);
	r.p.confirm = 2;
	flood_from = 120.5;
	flood_to = 130.5;
	flood_rate = 10000;
	run_until(&r, flooded, 200, 1);
	assert_int_equal(r.starts, 1);
	assert_true(r.started_at <= flood_from + 3);
}

/* Failing attempts grow, but most still complete: the completed share has
 * not collapsed, so this is trouble of another kind, not a SYN flood. */
static void lossy(double t, double *a, double *c)
{
	*a = 50000;
	*c = t < 100 ? 49000 : 30000;
}

static void test_share_must_collapse(void **unused)
{
	struct run r;

	(void)unused;
	run_init(&r);
	run_until(&r, lossy, 300, 1);
	assert_int_equal(r.starts, 0);
}

/* A spoofed trickle below the floor, for ever: nothing. */
static void trickle(double t, double *a, double *c)
{
	quiet(t, a, c);
	if (t >= 50)
		*a += 900;
}

static void test_trickle_below_floor(void **unused)
{
	struct run r;

	(void)unused;
	run_init(&r);
	run_until(&r, trickle, 1000, 1);
	assert_int_equal(r.starts, 0);
	/* The same trickle over a floor set lower is a flood. */
	run_init(&r);
	r.p.min_rate = 500;
	run_until(&r, trickle, 1000, 1);
	assert_int_equal(r.starts, 1);
	assert_true(r.started_at <= 52);
}

/* Background of uncompleted attempts that grows slowly (a busier scan
 * mix): the baseline follows, so 10k/s of them is no flood any more, while
 * ten times the baseline still is. */
static double ramp_end, jump;

static void ramp(double t, double *a, double *c)
{
	double bg = t < ramp_end ? 2000 * t / ramp_end : 2000;

	*a = 300 + bg + (t >= ramp_end + 600 && t < ramp_end + 660 ? jump : 0);
	*c = 290;
}

static void test_baseline_learning(void **unused)
{
	struct run r;
	double before;

	(void)unused;
	ramp_end = 1800;
	jump = 8000;               /* 10k/s uncompleted: 5x the learned 2000 */
	run_init(&r);
	run_until(&r, ramp, ramp_end + 600, 1);
	assert_true(fabs(r.s.baseline_rate - (2300 - 290)) < 100);
	run_until(&r, ramp, ramp_end + 900, 1);
	assert_int_equal(r.starts, 0);

	jump = 30000;              /* 32k/s: 16x the baseline */
	run_init(&r);
	run_until(&r, ramp, ramp_end + 600, 1);
	before = r.s.baseline_rate;
	run_until(&r, ramp, ramp_end + 900, 1);
	assert_int_equal(r.starts, 1);
	assert_true(r.started_at <= ramp_end + 602);
	/* The flood itself taught the baseline nothing. */
	assert_true(r.s.baseline_rate < before * 1.2);
}

/* A flood long enough for an EWMA to absorb it stays a flood to the end,
 * and the baseline afterwards is the quiet one. */
static void test_long_flood_not_learned(void **unused)
{
	struct run r;

	(void)unused;
	run_init(&r);
	flood_from = 60.5;
	flood_to = 60.5 + 3600;
	flood_rate = 12000;
	run_until(&r, flooded, 60.5 + 3600 + 30, 1);
	assert_int_equal(r.starts, 1);
	assert_int_equal(r.ends, 1);
	assert_true(r.ended_at <= flood_to + 5);
	assert_true(r.s.baseline_rate < 50);
}

/* The glue: snapshots with counters growing as a flood would make them, and
 * sketch readings of its sources, through floodwatch_update(): one start and
 * one end alert, in time, with the flood's distinct sources. */
struct seen_alert {
	bool start;
	double at, duration, flood_sources;
	char iface[16];
	int nr_ports;
	__u16 port;
};

static struct seen_alert seen[8];
static int nr_seen;

static void record_alert(const struct flood_alert *a, void *ctx)
{
	(void)ctx;
	if (nr_seen == 8)
		return;
	seen[nr_seen].start = a->start;
	seen[nr_seen].at = a->wall_s;
	seen[nr_seen].duration = a->duration_s;
	seen[nr_seen].flood_sources = a->flood_sources;
	snprintf(seen[nr_seen].iface, sizeof(seen[nr_seen].iface), "%s", a->iface);
	seen[nr_seen].nr_ports = a->nr_ports;
	seen[nr_seen].port = a->nr_ports ? a->ports[0] : 0;
	nr_seen++;
}

/* n sources from `from` on, each sending `repeat` SYNs to port 443. */
static void feed_sources(struct syn_sketch *sk, __u32 from, __u32 n, int repeat, __u32 epoch)
{
	struct flow_key k;
	__u32 i;

	for (i = 0; i < n * (__u32)repeat; i++) {
		__u32 a = from + i % n;

		memset(&k, 0, sizeof(k));
		k.family = 4;
		k.addr_a[10] = k.addr_a[11] = 0xff;
		k.addr_a[12] = 10;
		k.addr_a[13] = (__u8)(a >> 16);
		k.addr_a[14] = (__u8)(a >> 8);
		k.addr_a[15] = (__u8)a;
		k.port_a = 0x3412;
		k.port_b = 0xbb01;     /* 443, network order */
		sketch_syn(sk, &k, 1, epoch, 42);
	}
}

static void test_floodwatch(void **unused)
{
	static struct snapshot s;
	static struct syn_sketch sk;
	static struct port_snapshot port_row;
	struct flood_params p;
	struct floodwatch fw;
	double syns = 0, done = 0, t;
	__u32 src = 0, tick;
	bool was_active = false, port_active = false;

	(void)unused;
	nr_seen = 0;
	memset(&s, 0, sizeof(s));
	memset(&sk, 0, sizeof(sk));
	flood_params_default(&p);
	assert_int_equal(floodwatch_init(&fw, &p, 42, 1), 0);
	s.nr_ifaces = 1;
	strcpy(s.iface[0].name, "eth0");
	flood_from = 20.3;
	flood_to = 30.3;
	flood_rate = 10000;
	for (tick = 0; tick <= 60; tick++) {
		t = tick;
		if (tick) {
			double a, c, x;

			for (x = t - 1 + 0.0005; x < t; x += 0.001) {
				flooded(x, &a, &c);
				syns += a * 0.001;
				done += c * 0.001;
			}
			/* 1000 new spoofed sources each flooded second, 10 SYNs
			 * each, all to the labelled port 443. */
			if (t > flood_from && t - 1 < flood_to) {
				feed_sources(&sk, src, 1000, 10, tick);
				src += 1000;
			}
		}
		/* The labelled port: its rows are rebuilt every interval. */
		memset(&port_row, 0, sizeof(port_row));
		port_row.port = 443;
		port_row.handshakes = (__u64)done;
		s.ports = &port_row;
		s.nr_ports = 1;
		s.mono_s = t;
		s.iface[0].stats.syn_packets = (__u64)syns;
		s.iface[0].stats.handshakes = (__u64)done;
		s.iface[0].stats.synack_packets = (__u64)done;
		assert_int_equal(sketch_reading_merge(&floodwatch_readings(&fw)[0], &sk, sizeof(sk), 1, tick), 0);
		floodwatch_update(&fw, &s, 1000, record_alert, NULL);
		if (s.iface[0].flood.active)
			was_active = true;
		if (port_row.flood.active)
			port_active = true;
		assert_int_equal(s.iface[0].flood.active, fw.st[0].active);
	}
	assert_true(was_active);
	assert_true(port_active);
	assert_int_equal(port_row.flood.alerts, 1);
	assert_false(port_row.flood.active);
	assert_int_equal(nr_seen, 2);
	assert_int_equal(seen[0].nr_ports, 1);
	assert_int_equal(seen[0].port, 443);
	assert_true(seen[0].start);
	assert_string_equal(seen[0].iface, "eth0");
	assert_true(seen[0].at - 1000 > flood_from && seen[0].at - 1000 <= flood_from + 2);
	assert_false(seen[1].start);
	assert_true(seen[1].at - 1000 > flood_to && seen[1].at - 1000 <= flood_to + 5);
	assert_true(seen[1].duration >= 9 && seen[1].duration <= 12);
	/* All of the flood's sources, within 5 %. */
	assert_true(fabs(seen[1].flood_sources - src) < 0.05 * src);
	assert_int_equal(s.iface[0].flood.alerts, 1);
	floodwatch_free(&fw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_and_exit),
		cmocka_unit_test(test_flood_over_busy_server),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_confirm),
		cmocka_unit_test(test_surge_never_alerts),
		cmocka_unit_test(test_share_must_collapse),
		cmocka_unit_test(test_trickle_below_floor),
		cmocka_unit_test(test_baseline_learning),
		cmocka_unit_test(test_long_flood_not_learned),
		cmocka_unit_test(test_floodwatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
