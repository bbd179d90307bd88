// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Histogram buckets, quantiles, the Prometheus text, port labels, the
 * textfile writer and option parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <linux/types.h>
#include "tcpshake/abi.h"
#include "tcpshake/histogram.h"
#include "http.h"
#include "names.h"
#include "options.h"
#include "ports.h"
#include "prom.h"
#include "quantile.h"
#include "term.h"
#include "textfile.h"

static void test_histogram_bounds(void **unused)
{
	__u32 k;

	(void)unused;
	assert_int_equal(hist_upper_ns(0), 10240);               /* 10.24 us */
	assert_int_equal(hist_upper_ns(HIST_SLOTS - 2), 120259084288ull);  /* 120.26 s */
	for (k = 1; k < HIST_SLOTS - 1; k++) {
		double ratio = (double)hist_upper_ns(k) / (double)hist_upper_ns(k - 1);

		assert_true(ratio > 1.0 && ratio <= 1.125 + 1e-9);
		/* A value on the bound belongs to that bucket (le is inclusive). */
		assert_int_equal(hist_slot(hist_upper_ns(k)), k);
		assert_int_equal(hist_slot(hist_upper_ns(k) + 1), k + 1);
		assert_int_equal(hist_slot(hist_upper_ns(k - 1) + 1), k);
	}
	assert_int_equal(hist_slot(0), 0);
	assert_int_equal(hist_slot(1), 0);
	assert_int_equal(hist_slot(10240), 0);
	assert_int_equal(hist_slot(10241), 1);
	assert_int_equal(hist_slot(120259084289ull), HIST_SLOTS - 1);
	assert_int_equal(hist_slot(~0ull), HIST_SLOTS - 1);
}

/* hist_msb64() is shifts (BPF has no count-leading-zeros): the compiler's
 * builtin is the reference, on every bit and around it. */
static void test_histogram_msb(void **unused)
{
	__u64 x = 88172645463325252ull, v;
	int b, d, i;

	(void)unused;
	assert_int_equal(hist_msb64(0), 0);
	for (b = 0; b < 64; b++) {
		for (d = -1; d <= 1; d++) {
			v = (1ull << b) + (__u64)(__s64)d;
			if (v)
				assert_int_equal(hist_msb64(v), 63 - __builtin_clzll(v));
		}
	}
	for (i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = x >> (x & 63);
		if (v)
			assert_int_equal(hist_msb64(v), 63 - __builtin_clzll(v));
	}
}

static void test_quantile_accuracy(void **unused)
{
	static struct hist h;
	__u64 v;

	(void)unused;
	assert_true(isnan(hist_quantile(&h, 0.5)));
	/* 1..1000 us, uniformly: p50 = 500 us, p99 = 990 us, within a few percent. */
	for (v = 1; v <= 1000; v++)
		hist_add(&h, v * 1000);
	assert_true(fabs(hist_quantile(&h, 0.5) / 500e-6 - 1) < 0.03);
	assert_true(fabs(hist_quantile(&h, 0.99) / 990e-6 - 1) < 0.03);
}

static void test_prom_text(void **unused)
{
	static struct snapshot s;
	struct port_snapshot ports[2] = {
		{ .iface = 0, .port = 443, .handshakes = 7 },
		{ .iface = 0, .port = 0, .handshakes = 2 },
	};
	char *text = NULL;
	size_t len = 0;

	(void)unused;
	s.nr_ifaces = 1;
	strcpy(s.iface[0].name, "eth\"0");
	s.iface[0].stats.syn_packets = 12;
	s.iface[0].stats.failures[FAIL_REFUSED] = 3;
	s.iface[0].stats.closes_reset = 4;
	s.iface[0].time_wait = 5;
	s.iface[0].hist[H_CLOSE].count[0] = 1;
	s.iface[0].hist[H_CLOSE].count[3] = 2;
	s.iface[0].hist[H_CLOSE].sum_ns = 1500000000ull;
	ports[0].failures[FAIL_TIMEOUT] = 1;
	ports[0].handshake.count[HIST_SLOTS - 1] = 7;
	s.ports = ports;
	s.nr_ports = 2;
	s.up = true;
	assert_int_equal(prom_render(&s, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	/* Label values are escaped; every family has HELP and TYPE. */
	assert_non_null(strstr(text, "tcpshake_syn_packets_total{iface=\"eth\\\"0\"} 12\n"));
	assert_non_null(strstr(text, "# TYPE tcpshake_syn_packets_total counter\n"));
	assert_non_null(strstr(text, "tcpshake_closes_total{iface=\"eth\\\"0\",kind=\"reset\"} 4\n"));
	assert_non_null(strstr(text, "tcpshake_time_wait_connections{iface=\"eth\\\"0\"} 5\n"));
	assert_non_null(strstr(text, "tcpshake_handshakes_total{iface=\"eth\\\"0\",port=\"443\"} 7\n"));
	assert_non_null(strstr(text, "tcpshake_handshakes_total{iface=\"eth\\\"0\",port=\"other\"} 2\n"));
	assert_non_null(strstr(text,
		"tcpshake_handshake_failures_total{iface=\"eth\\\"0\",reason=\"timeout\",port=\"443\"} 1\n"));
	/* Cumulative buckets with exact bounds, +Inf equal to _count. */
	assert_non_null(strstr(text, "tcpshake_close_seconds_bucket{iface=\"eth\\\"0\",le=\"0.00001024\"} 1\n"));
	assert_non_null(strstr(text, "tcpshake_close_seconds_bucket{iface=\"eth\\\"0\",le=\"0.000013312\"} 3\n"));
	assert_non_null(strstr(text, "tcpshake_close_seconds_bucket{iface=\"eth\\\"0\",le=\"120.259084288\"} 3\n"));
	assert_non_null(strstr(text, "tcpshake_close_seconds_bucket{iface=\"eth\\\"0\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(text, "tcpshake_close_seconds_sum{iface=\"eth\\\"0\"} 1.5\n"));
	assert_non_null(strstr(text, "tcpshake_close_seconds_count{iface=\"eth\\\"0\"} 3\n"));
	assert_non_null(strstr(text,
		"tcpshake_handshake_seconds_bucket{iface=\"eth\\\"0\",port=\"443\",le=\"+Inf\"} 7\n"));
	assert_non_null(strstr(text, "tcpshake_up{iface=\"eth\\\"0\"} 1\n"));
	assert_non_null(strstr(text, "tcpshake_build_info{iface=\"eth\\\"0\",version=\"" TCPSHAKE_VERSION "\"} 1\n"));
	free(text);
}

/* The SYN-flood series: per interface, per labelled port (never "other"),
 * the heavy hitters; and the terminal's banner and port rows. */
static void test_flood_outputs(void **unused)
{
	static struct snapshot s;
	struct port_snapshot ports[2] = {
		{ .iface = 0, .port = 443, .half_open = 77 },
		{ .iface = 0, .port = 0 },
	};
	struct flood_view *v = &s.iface[0].flood;
	char *text = NULL;
	size_t len = 0;
	struct term t;
	FILE *out;

	(void)unused;
	s.nr_ifaces = 1;
	strcpy(s.iface[0].name, "eth0");
	v->active = true;
	v->alerts = 2;
	v->sources = 1234.4;
	v->syn_rate = 10500;
	v->uncompleted_rate = 10100.25;
	v->nr_prefixes = 1;
	strcpy(v->prefixes[0].name, "10.77.99.0/24");
	v->prefixes[0].rate = 10400;
	v->nr_ports = 1;
	strcpy(v->ports[0].name, "443");
	v->ports[0].rate = 10450;
	ports[0].flood.active = true;
	ports[0].flood.alerts = 1;
	ports[0].flood.syn_rate = 10450;
	ports[0].flood.p50_s = ports[0].flood.p99_s = NAN;
	s.ports = ports;
	s.nr_ports = 2;
	s.up = true;
	assert_int_equal(prom_render(&s, &text, &len), 0);
	assert_non_null(strstr(text, "# TYPE tcpshake_syn_flood_active gauge\n"));
	assert_non_null(strstr(text, "tcpshake_syn_flood_active{iface=\"eth0\"} 1\n"));
	assert_non_null(strstr(text, "tcpshake_syn_flood_active{iface=\"eth0\",port=\"443\"} 1\n"));
	assert_null(strstr(text, "tcpshake_syn_flood_active{iface=\"eth0\",port=\"other\"}"));
	assert_non_null(strstr(text, "# TYPE tcpshake_syn_flood_alerts_total counter\n"));
	assert_non_null(strstr(text, "tcpshake_syn_flood_alerts_total{iface=\"eth0\"} 2\n"));
	assert_non_null(strstr(text, "tcpshake_syn_flood_alerts_total{iface=\"eth0\",port=\"443\"} 1\n"));
	assert_non_null(strstr(text, "tcpshake_syn_sources_estimate{iface=\"eth0\"} 1234.400\n"));
	assert_non_null(strstr(text, "tcpshake_syn_uncompleted_per_second{iface=\"eth0\"} 10100.250\n"));
	assert_non_null(strstr(text, "tcpshake_syn_per_second{iface=\"eth0\",port=\"443\"} 10450.000\n"));
	assert_non_null(strstr(text, "tcpshake_service_half_open_connections{iface=\"eth0\",port=\"443\"} 77\n"));
	assert_non_null(strstr(text,
		"tcpshake_syn_top_prefix_per_second{iface=\"eth0\",prefix=\"10.77.99.0/24\"} 10400.000\n"));
	assert_non_null(strstr(text, "tcpshake_syn_top_port_per_second{iface=\"eth0\",port=\"443\"} 10450.000\n"));
	free(text);

	out = open_memstream(&text, &len);
	assert_non_null(out);
	term_init(&t, out, false);
	t.tty = true;
	s.mono_s = 100;
	v->since_mono_s = 88;
	term_show(&t, &s, 1796101929);
	fclose(out);
	assert_non_null(strstr(text, "SYN FLOOD on eth0 since "));
	assert_non_null(strstr(text, "(12 s)"));
	assert_non_null(strstr(text, "top prefixes: 10.77.99.0/24 10400/s"));
	assert_non_null(strstr(text, "    443   10450.0"));
	assert_non_null(strstr(text, "  SYN FLOOD\n"));
	free(text);
}

/* Interface names in outputs: plain ones as they are, anything else valid
 * UTF-8 on one line, and two names never under one label. */
static void test_iface_label(void **unused)
{
	static struct snapshot s;
	char out[IFACE_LABEL_MAX], *text = NULL;
	size_t len = 0;

	(void)unused;
	assert_string_equal(iface_label("eth0", out), "eth0");
	assert_string_equal(iface_label("wlan-caf\xc3\xa9", out), "wlan-caf\xc3\xa9");
	assert_string_equal(iface_label("a\"b", out), "a\"b");
	assert_string_equal(iface_label("a\\b", out), "a\\\\b");
	assert_string_equal(iface_label("a\nb\tc", out), "a\\x0ab\\x09c");
	/* Not UTF-8: a lone continuation byte, a cut sequence, an overlong
	 * form, a surrogate, beyond U+10FFFF. */
	assert_string_equal(iface_label("\x80", out), "\\x80");
	assert_string_equal(iface_label("\xc3", out), "\\xc3");
	assert_string_equal(iface_label("\xc0\xaf", out), "\\xc0\\xaf");
	assert_string_equal(iface_label("\xed\xa0\x80", out), "\\xed\\xa0\\x80");
	assert_string_equal(iface_label("\xf4\x90\x80\x80", out), "\\xf4\\x90\\x80\\x80");
	/* The longest name of the worst bytes still fits. */
	assert_int_equal(strlen(iface_label("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", out)),
			 60);
	/* JSON escapes what is valid UTF-8 itself; only the rest is rewritten. */
	assert_string_equal(iface_json("a\\b\n", out), "a\\b\n");
	assert_string_equal(iface_json("eth\xff", out), "eth\\xff");
	/* A name and its escaped spelling stay two series. */
	s.nr_ifaces = 2;
	strcpy(s.iface[0].name, "\xff");
	strcpy(s.iface[1].name, "\\xff");
	assert_int_equal(prom_render(&s, &text, &len), 0);
	assert_non_null(strstr(text, "tcpshake_up{iface=\"\\\\xff\"} 0\n"));
	assert_non_null(strstr(text, "tcpshake_up{iface=\"\\\\\\\\xff\"} 0\n"));
	free(text);
}

static struct port_snapshot row(__u16 port, __u64 handshakes)
{
	struct port_snapshot r = { .iface = 0, .port = port, .handshakes = handshakes };

	return r;
}

static __u64 exported(const struct snapshot *s, __u16 port, int *found)
{
	int i;

	*found = 0;
	for (i = 0; i < s->nr_ports; i++) {
		if (s->ports[i].port == port) {
			*found = 1;
			return s->ports[i].handshakes;
		}
	}
	return 0;
}

static void test_port_labels(void **unused)
{
	static struct port_labels pl;
	static struct snapshot s;
	struct port_snapshot r;
	__u64 other_before;
	int found;

	(void)unused;
	s.nr_ifaces = 1;
	port_labels_init(&pl, 2);
	r = row(0, 5);   port_labels_update(&pl, &r);   /* kernel "other" slot */
	r = row(80, 10); port_labels_update(&pl, &r);
	r = row(443, 4); port_labels_update(&pl, &r);
	r = row(22, 1);  port_labels_update(&pl, &r);
	assert_int_equal(port_labels_export(&pl, &s, 0), 0);
	/* Two labels, given as ports appear; everything else is "other". */
	assert_int_equal(exported(&s, 80, &found), 10);
	assert_true(found);
	assert_int_equal(exported(&s, 443, &found), 4);
	exported(&s, 22, &found);
	assert_false(found);
	assert_int_equal(exported(&s, 0, &found), 6);

	/* Port 22 becomes the busiest: after a minute it displaces 443, and no
	 * counter ever goes down. */
	other_before = exported(&s, 0, &found);
	r = row(22, 1001); port_labels_update(&pl, &r);
	r = row(443, 5);   port_labels_update(&pl, &r);
	r = row(80, 500);  port_labels_update(&pl, &r);
	port_labels_export(&pl, &s, 30);
	assert_true(exported(&s, 0, &found) >= other_before);
	other_before = exported(&s, 0, &found);
	port_labels_export(&pl, &s, 61);
	exported(&s, 443, &found);
	assert_false(found);
	assert_int_equal(exported(&s, 22, &found), 0);   /* "other" keeps the 1001 it reported */
	assert_true(found);
	assert_true(exported(&s, 0, &found) >= other_before);
	/* Totals are preserved. */
	assert_int_equal(exported(&s, 0, &found) + exported(&s, 22, &found) +
			 exported(&s, 80, &found), 5 + 1001 + 5 + 500);
	free(s.ports);
}

static void test_textfile_atomic(void **unused)
{
	char dir[] = "/tmp/tcpshake-unit-XXXXXX", path[128], buf[64];
	struct textfile t = { 0 };
	struct stat st;
	FILE *f;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/metrics.prom", dir);
	t.path = path;
	assert_int_equal(textfile_write(&t, "a 1\n", 4), 0);
	assert_int_equal(textfile_write(&t, "a 2\n", 4), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);       /* node_exporter can read it */
	f = fopen(path, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "a 2\n");
	unlink(path);
	assert_int_equal(rmdir(dir), 0);                  /* no temporary left */
	/* A missing directory fails, and says so once. */
	assert_true(textfile_write(&t, "a 3\n", 4) < 0);
	assert_true(t.failing);
}

static void test_listen_parse(void **unused)
{
	struct sockaddr_in6 sa;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&sa;
	unsigned int len;

	(void)unused;
	assert_int_equal(http_parse_listen("9431", &sa, &len), 0);
	assert_int_equal(v4->sin_family, AF_INET);
	assert_int_equal(ntohl(v4->sin_addr.s_addr), 0x7f000001);   /* loopback by default */
	assert_int_equal(ntohs(v4->sin_port), 9431);
	assert_int_equal(http_parse_listen(":9431", &sa, &len), 0);
	assert_int_equal(ntohl(v4->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(http_parse_listen("0.0.0.0:80", &sa, &len), 0);
	assert_int_equal(v4->sin_addr.s_addr, 0);
	assert_int_equal(http_parse_listen("[::1]:9431", &sa, &len), 0);
	assert_int_equal(sa.sin6_family, AF_INET6);
	assert_int_not_equal(http_parse_listen("99999", &sa, &len), 0);
	assert_int_not_equal(http_parse_listen("localhost:80", &sa, &len), 0);
	assert_int_not_equal(http_parse_listen("1.2.3.4:", &sa, &len), 0);
	assert_int_not_equal(http_parse_listen("[::1:80", &sa, &len), 0);
}

static int parse(struct options *o, int argc, const char **argv)
{
	optind = 0;
	return options_parse(o, argc, (char **)argv);
}

static void test_options(void **unused)
{
	struct options o;
	const char *ok[] = { "tcpshake-mon", "-i", "0.5", "--ingress", "tc", "--max-ports", "8",
			     "--syn-timeout", "3", "--events", "-", "eth0", "eth1" };
	const char *bad_num[] = { "tcpshake-mon", "--interval", "abc", "eth0" };
	const char *bad_ingress[] = { "tcpshake-mon", "--ingress", "fast", "eth0" };
	const char *negative[] = { "tcpshake-mon", "--max-flows", "-5", "eth0" };
	const char *unknown[] = { "tcpshake-mon", "--frobnicate", "eth0" };
	const char *twice[] = { "tcpshake-mon", "eth0", "eth0" };
	const char *help[] = { "tcpshake-mon", "--help" };
	const char *flood[] = { "tcpshake-mon", "--flood-min-rate", "250.5", "--flood-hold", "7",
				"--alert-exec", "/bin/true -x", "--alert-timeout", "2", "--syslog", "eth0" };
	const char *bad_rate[] = { "tcpshake-mon", "--flood-min-rate", "0", "eth0" };
	FILE *saved = stdout;

	(void)unused;
	assert_int_equal(parse(&o, 13, ok), -1);
	assert_true(fabs(o.interval_s - 0.5) < 1e-9);
	assert_int_equal(o.ingress, INGRESS_TC);
	assert_int_equal(o.max_ports, 8);
	assert_int_equal(o.syn_timeout_s, 3);
	assert_int_equal(o.nr_ifaces, 2);
	assert_true(o.quiet);        /* events on stdout silence the table */
	assert_int_equal(parse(&o, 4, bad_num), 2);
	assert_int_equal(parse(&o, 4, bad_ingress), 2);
	assert_int_equal(parse(&o, 4, negative), 2);
	assert_int_equal(parse(&o, 3, unknown), 2);
	assert_int_equal(parse(&o, 3, twice), 2);
	assert_int_equal(parse(&o, 11, flood), -1);
	assert_true(fabs(o.flood_min_rate - 250.5) < 1e-9);
	assert_true(fabs(o.flood_hold_s - 7) < 1e-9);
	assert_string_equal(o.alert_exec, "/bin/true -x");
	assert_true(fabs(o.alert_timeout_s - 2) < 1e-9);
	assert_true(o.syslog);
	assert_int_equal(parse(&o, 4, bad_rate), 2);
	options_defaults(&o);
	assert_true(o.flood_min_rate == 1000 && o.flood_hold_s == 3 && o.alert_timeout_s == 10);
	assert_null(o.alert_exec);
	assert_false(o.syslog);
	stdout = fopen("/dev/null", "w");
	assert_int_equal(parse(&o, 2, help), 0);
	fclose(stdout);
	stdout = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_histogram_bounds),
		cmocka_unit_test(test_histogram_msb),
		cmocka_unit_test(test_quantile_accuracy),
		cmocka_unit_test(test_prom_text),
		cmocka_unit_test(test_iface_label),
		cmocka_unit_test(test_port_labels),
		cmocka_unit_test(test_flood_outputs),
		cmocka_unit_test(test_textfile_atomic),
		cmocka_unit_test(test_listen_parse),
		cmocka_unit_test(test_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
