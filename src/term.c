// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "names.h"
#include "quantile.h"
#include "term.h"

void term_init(struct term *t, FILE *out, bool json)
{
	memset(t, 0, sizeof(*t));
	t->out = out;
	t->json = json;
	t->tty = !json && isatty(fileno(out));
}

static double rate(__u64 now, __u64 before, double dt)
{
	return dt > 0 ? (double)(now - before) / dt : 0;
}

static __u64 failures(const struct iface_stats *st)
{
	__u64 n = 0;
	int i;

	for (i = 0; i < FAIL_MAX; i++)
		n += st->failures[i];
	return n;
}

static void wall_time(char *buf, size_t len, double wall_s, bool iso)
{
	time_t sec = (time_t)wall_s;
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(buf, len, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* Handshake latency of the last interval (falls back to all time). */
static void latency(const struct term *t, const struct iface_snapshot *is, int i,
		    double *p50, double *p99)
{
	struct hist d = is->hist[H_HANDSHAKE];

	if (t->have_prev)
		hist_delta(&d, &is->hist[H_HANDSHAKE], &t->prev.iface[i].hist[H_HANDSHAKE]);
	*p50 = hist_quantile(&d, 0.5);
	*p99 = hist_quantile(&d, 0.99);
}

static void put_hits(FILE *out, const char *what, const struct flood_hit *h, int n)
{
	int k;

	fprintf(out, " | %s:", what);
	for (k = 0; k < n; k++)
		fprintf(out, "%s %s %.0f/s", k ? "," : "", h[k].name, h[k].rate);
	if (!n)
		fputs(" -", out);
}

/* The flood banner of an interface, with the same facts as the alert line. */
static void flood_banner(struct term *t, const struct snapshot *s, int i, double wall_s)
{
	const struct flood_view *v = &s->iface[i].flood;
	double since = wall_s - (s->mono_s - v->since_mono_s);
	char when[40];

	wall_time(when, sizeof(when), since, false);
	fprintf(t->out, "\033[1;37;41m SYN FLOOD on %s since %s (%.0f s) \033[0m %.0f SYN/s, %.0f SYN-ACK/s, "
		"%.0f handshakes/s, %.1f%% not completing, ~%.0f sources",
		s->iface[i].name, when, s->mono_s - v->since_mono_s, v->syn_rate, v->synack_rate,
		v->handshake_rate, 100 * v->incomplete_share, v->sources);
	put_hits(t->out, "top prefixes", v->prefixes, v->nr_prefixes);
	put_hits(t->out, "top ports", v->ports, v->nr_ports);
	fputc('\n', t->out);
}

static double port_load(const struct port_snapshot *p)
{
	return p->flood.syn_rate + p->flood.handshake_rate + p->flood.failure_rate + (double)p->half_open;
}

static int by_busiest(const void *a, const void *b)
{
	const struct port_snapshot *x = *(const struct port_snapshot *const *)a;
	const struct port_snapshot *y = *(const struct port_snapshot *const *)b;

	if (x->flood.active != y->flood.active)
		return y->flood.active - x->flood.active;
	return port_load(x) < port_load(y) ? 1 : port_load(x) > port_load(y) ? -1 : 0;
}

/* The busiest labelled ports of interface i, flooded ones first. */
static void port_rows(struct term *t, const struct snapshot *s, int i)
{
	const struct port_snapshot **shown = calloc((size_t)s->nr_ports + 1, sizeof(*shown));
	char a[16], b[16];
	int n = 0, p, k;

	for (p = 0; shown && p < s->nr_ports; p++) {
		const struct port_snapshot *r = &s->ports[p];

		if (r->iface == i && r->port && port_load(r) > 0)
			shown[n++] = r;
	}
	if (!shown)
		return;
	qsort(shown, (size_t)n, sizeof(*shown), by_busiest);
	if (n > FLOOD_TOP)
		n = FLOOD_TOP;
	if (!n) {
		free(shown);
		return;
	}
	fprintf(t->out, "%-12s %7s %9s %9s %9s %9s %8s %8s\n", "", "PORT", "SYN/s", "DONE/s",
		"FAILED/s", "HALF-OPEN", "p50", "p99");
	for (k = 0; k < n; k++) {
		const struct port_snapshot *r = shown[k];

		fprintf(t->out, "%-12s %7u %9.1f %9.1f %9.1f %9lld %8s %8s%s\n", "", r->port,
			r->flood.syn_rate, r->flood.handshake_rate, r->flood.failure_rate,
			(long long)r->half_open, format_duration(a, sizeof(a), r->flood.p50_s),
			format_duration(b, sizeof(b), r->flood.p99_s),
			r->flood.active ? "  SYN FLOOD" : "");
	}
	free(shown);
}

/* The packet programs' run time since load: the sweeper's is in the
 * process's system time already. */
static __u64 packet_program_ns(const struct self_cost *c)
{
	__u64 ns = 0;
	int k;

	for (k = 0; k < c->nr_progs; k++)
		if (strcmp(c->prog[k].name, "tcpshake_sweep"))
			ns += c->prog[k].run_ns;
	return ns;
}

/* What the monitor costs: the process, its maps, its packet programs. */
static void self_line(struct term *t, const struct snapshot *s, double dt)
{
	const struct self_cost *c = &s->self, *pv = &t->prev.self;
	double cpu = 0, bpf = 0;

	if (t->have_prev && dt > 0 && pv->valid) {
		cpu = 100.0 * ((double)(c->user_ns + c->system_ns) - (double)(pv->user_ns + pv->system_ns)) /
		      1e9 / dt;
		bpf = 100.0 * ((double)packet_program_ns(c) - (double)packet_program_ns(pv)) / 1e9 / dt;
	}
	fprintf(t->out, "\ntcpshake-mon itself: CPU %.1f%% | RSS %.1f MiB | BPF maps %.1f MiB | ", cpu,
		(double)c->rss_bytes / 1048576.0, (double)c->map_bytes / 1048576.0);
	if (c->bpf_stats && pv->bpf_stats)
		fprintf(t->out, "packet programs %.2f%% of a CPU\n", bpf);
	else if (c->bpf_stats)
		fputs("packet programs: next interval\n", t->out);
	else
		fputs("packet programs: not measured (--bpf-stats)\n", t->out);
}

static void show_table(struct term *t, const struct snapshot *s, double wall_s, double dt)
{
	char when[40], a[16], b[16];
	int i;

	wall_time(when, sizeof(when), wall_s, false);
	if (t->summary) {
		fprintf(t->out, "tcpshake-mon %s   capture up to %s   (rates: capture averages)\n\n",
			TCPSHAKE_VERSION, when);
	} else {
		fprintf(t->out, "\033[H\033[2J");
		fprintf(t->out, "tcpshake-mon %s   %s   (Ctrl-C to stop)\n\n", TCPSHAKE_VERSION, when);
	}
	fprintf(t->out, "%-12s %9s %9s %9s %10s %10s %10s %8s %9s %9s %9s %8s %8s\n",
		"IFACE", "SYN/s", "SYNACK/s", "DONE/s", "SYN", "SYN-ACK", "HANDSHAKE", "FAILED",
		"HALF-OPEN", "ESTAB", "TIME-WAIT", "p50", "p99");
	for (i = 0; i < s->nr_ifaces; i++) {
		const struct iface_snapshot *is = &s->iface[i];
		const struct iface_stats *st = &is->stats, *pv = &t->prev.iface[i].stats;
		char label[IFACE_LABEL_MAX];
		double p50, p99;

		latency(t, is, i, &p50, &p99);
		fprintf(t->out, "%-12s %9.1f %9.1f %9.1f %10llu %10llu %10llu %8llu %9lld %9lld %9lld %8s %8s\n",
			iface_label(is->name, label),
			t->have_prev ? rate(st->syn_packets, pv->syn_packets, dt) : 0,
			t->have_prev ? rate(st->synack_packets, pv->synack_packets, dt) : 0,
			t->have_prev ? rate(st->handshakes, pv->handshakes, dt) : 0,
			(unsigned long long)st->syn_packets, (unsigned long long)st->synack_packets,
			(unsigned long long)st->handshakes, (unsigned long long)failures(st),
			(long long)is->half_open, (long long)is->established, (long long)is->time_wait,
			format_duration(a, sizeof(a), p50), format_duration(b, sizeof(b), p99));
		fprintf(t->out, "%-12s failed: refused %llu reset %llu timeout %llu invalid %llu "
			"unreachable %llu | closes: graceful %llu reset %llu | closing %lld | "
			"evicted %llu\n", "",
			(unsigned long long)st->failures[FAIL_REFUSED],
			(unsigned long long)st->failures[FAIL_RESET],
			(unsigned long long)st->failures[FAIL_TIMEOUT],
			(unsigned long long)st->failures[FAIL_INVALID],
			(unsigned long long)st->failures[FAIL_UNREACHABLE],
			(unsigned long long)st->closes_graceful, (unsigned long long)st->closes_reset,
			(long long)is->closing, (unsigned long long)st->flow_evictions);
		fprintf(t->out, "%-12s syn: uncompleted %.0f/s (%.1f%%, normal %.0f/s) | ~%.0f sources | "
			"half-open %+.0f/s | retransmits %.1f%% | floods %llu\n", "",
			is->flood.uncompleted_rate, 100 * is->flood.incomplete_share, is->flood.baseline_rate,
			is->flood.sources, is->flood.half_open_growth, 100 * is->flood.syn_retransmit_share,
			(unsigned long long)is->flood.alerts);
		if (is->flood.active)
			flood_banner(t, s, i, wall_s);
		port_rows(t, s, i);
	}
	if (s->self.valid)
		self_line(t, s, dt);
}

static void show_lines(struct term *t, const struct snapshot *s, double wall_s, double dt)
{
	char when[40], a[16], b[16];
	int i;

	wall_time(when, sizeof(when), wall_s, true);
	for (i = 0; i < s->nr_ifaces; i++) {
		const struct iface_snapshot *is = &s->iface[i];
		const struct iface_stats *st = &is->stats, *pv = &t->prev.iface[i].stats;
		char label[IFACE_LABEL_MAX];
		double p50, p99;

		latency(t, is, i, &p50, &p99);
		fprintf(t->out, "%s %s syn=%llu synack=%llu handshakes=%llu failed=%llu "
			"syn/s=%.1f handshakes/s=%.1f half_open=%lld established=%lld closing=%lld "
			"time_wait=%lld closes=%llu resets=%llu p50=%s p99=%s syn_flood=%d sources=%.0f "
			"uncompleted/s=%.1f\n",
			when, iface_label(is->name, label), (unsigned long long)st->syn_packets,
			(unsigned long long)st->synack_packets, (unsigned long long)st->handshakes,
			(unsigned long long)failures(st),
			t->have_prev ? rate(st->syn_packets, pv->syn_packets, dt) : 0,
			t->have_prev ? rate(st->handshakes, pv->handshakes, dt) : 0,
			(long long)is->half_open, (long long)is->established, (long long)is->closing,
			(long long)is->time_wait, (unsigned long long)st->closes_graceful,
			(unsigned long long)st->closes_reset,
			format_duration(a, sizeof(a), p50), format_duration(b, sizeof(b), p99),
			is->flood.active, is->flood.sources, is->flood.uncompleted_rate);
	}
}

static void json_u64(json_object *o, const char *k, __u64 v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

/* A measured rate or estimate to 9 significant digits: json-c would print
 * 17 (9.9812175245780832, 5.6320000000000003e-05). NaN is null. */
static json_object *json_measure(double v)
{
	char text[32];

	if (v != v)
		return NULL;
	snprintf(text, sizeof(text), "%.9g", v);
	return json_object_new_double_s(v, text);
}

/* Seconds from nanoseconds, written exactly (seconds_text), where a double
 * would print 17 digits of binary rounding. */
static void json_seconds(json_object *o, const char *k, __u64 ns)
{
	char text[SECONDS_TEXT_MAX];

	json_object_object_add(o, k, json_object_new_double_s((double)ns / 1e9, seconds_text(ns, text)));
}

/* What the monitor costs, as its metrics say (the process's figures on every
 * interface's line, as in the Prometheus exposition): CPU seconds and run
 * times are totals since start, like the counters above. The programs'
 * runs are null while the kernel keeps no statistics: zeros would look free. */
static void json_self(json_object *o, const struct self_cost *c)
{
	json_object *cpu = json_object_new_object(), *progs = NULL;
	int k;

	json_seconds(cpu, "user", c->user_ns);
	json_seconds(cpu, "system", c->system_ns);
	json_object_object_add(o, "self_cpu_seconds", cpu);
	json_u64(o, "self_resident_bytes", c->rss_bytes);
	json_u64(o, "bpf_map_bytes", c->map_bytes);
	if (c->bpf_stats) {
		progs = json_object_new_object();
		for (k = 0; k < c->nr_progs; k++) {
			json_object *p = json_object_new_object();

			json_u64(p, "runs", c->prog[k].runs);
			json_seconds(p, "run_seconds", c->prog[k].run_ns);
			json_object_object_add(progs, c->prog[k].name, p);
		}
	}
	json_object_object_add(o, "bpf_programs", progs);
}

static void show_json(struct term *t, const struct snapshot *s, double wall_s, double dt)
{
	char when[40];
	int i, r;

	wall_time(when, sizeof(when), wall_s, true);
	for (i = 0; i < s->nr_ifaces; i++) {
		const struct iface_snapshot *is = &s->iface[i];
		const struct iface_stats *st = &is->stats, *pv = &t->prev.iface[i].stats;
		json_object *o = json_object_new_object(), *f = json_object_new_object();
		char label[IFACE_LABEL_MAX];
		double p50, p99;

		latency(t, is, i, &p50, &p99);
		json_object_object_add(o, "ts", json_object_new_string(when));
		json_object_object_add(o, "iface", json_object_new_string(iface_json(is->name, label)));
		json_u64(o, "syn_packets", st->syn_packets);
		json_u64(o, "syn_retransmits", st->syn_retransmits);
		json_u64(o, "synack_packets", st->synack_packets);
		json_u64(o, "synack_retransmits", st->synack_retransmits);
		json_u64(o, "handshakes", st->handshakes);
		for (r = 0; r < FAIL_MAX; r++)
			json_u64(f, fail_reason_name((unsigned)r), st->failures[r]);
		json_object_object_add(o, "failures", f);
		json_u64(o, "closes_graceful", st->closes_graceful);
		json_u64(o, "closes_reset", st->closes_reset);
		json_u64(o, "time_wait_reuses", st->time_wait_reuses);
		json_u64(o, "flow_evictions", st->flow_evictions);
		json_u64(o, "events_lost", st->events_lost);
		json_object_object_add(o, "half_open", json_object_new_int64(is->half_open));
		json_object_object_add(o, "established", json_object_new_int64(is->established));
		json_object_object_add(o, "closing", json_object_new_int64(is->closing));
		json_object_object_add(o, "time_wait", json_object_new_int64(is->time_wait));
		json_object_object_add(o, "syn_rate", json_measure(
			t->have_prev ? rate(st->syn_packets, pv->syn_packets, dt) : 0));
		json_object_object_add(o, "handshake_rate", json_measure(
			t->have_prev ? rate(st->handshakes, pv->handshakes, dt) : 0));
		json_object_object_add(o, "syn_flood_active", json_object_new_boolean(is->flood.active));
		json_u64(o, "syn_flood_alerts", is->flood.alerts);
		json_object_object_add(o, "syn_sources_estimate", json_measure(is->flood.sources));
		json_object_object_add(o, "syn_uncompleted_rate", json_measure(is->flood.uncompleted_rate));
		json_object_object_add(o, "handshake_p50_s", json_measure(p50));
		json_object_object_add(o, "handshake_p99_s", json_measure(p99));
		if (s->self.valid)
			json_self(o, &s->self);
		fprintf(t->out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
}

void term_show(struct term *t, const struct snapshot *s, double wall_s)
{
	double dt = t->have_prev ? s->mono_s - t->prev.mono_s : 0;

	if (t->json)
		show_json(t, s, wall_s, dt);
	else if (t->tty || t->summary)
		show_table(t, s, wall_s, dt);
	else
		show_lines(t, s, wall_s, dt);
	fflush(t->out);
	t->prev = *s;
	t->prev.ports = NULL;
	t->prev.nr_ports = 0;
	t->have_prev = true;
}
