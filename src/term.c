// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <json-c/json.h>
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
		double p50, p99;

		latency(t, is, i, &p50, &p99);
		fprintf(t->out, "%-12s %9.1f %9.1f %9.1f %10llu %10llu %10llu %8llu %9lld %9lld %9lld %8s %8s\n",
			is->name,
			t->have_prev ? rate(st->syn_packets, pv->syn_packets, dt) : 0,
			t->have_prev ? rate(st->synack_packets, pv->synack_packets, dt) : 0,
			t->have_prev ? rate(st->handshakes, pv->handshakes, dt) : 0,
			(unsigned long long)st->syn_packets, (unsigned long long)st->synack_packets,
			(unsigned long long)st->handshakes, (unsigned long long)failures(st),
			(long long)is->half_open, (long long)is->established, (long long)is->time_wait,
			format_duration(a, sizeof(a), p50), format_duration(b, sizeof(b), p99));
		fprintf(t->out, "%-12s failed: refused %llu reset %llu timeout %llu invalid %llu | closes: "
			"graceful %llu reset %llu | closing %lld | evicted %llu\n", "",
			(unsigned long long)st->failures[FAIL_REFUSED],
			(unsigned long long)st->failures[FAIL_RESET],
			(unsigned long long)st->failures[FAIL_TIMEOUT],
			(unsigned long long)st->failures[FAIL_INVALID],
			(unsigned long long)st->closes_graceful, (unsigned long long)st->closes_reset,
			(long long)is->closing, (unsigned long long)st->flow_evictions);
	}
}

static void show_lines(struct term *t, const struct snapshot *s, double wall_s, double dt)
{
	char when[40], a[16], b[16];
	int i;

	wall_time(when, sizeof(when), wall_s, true);
	for (i = 0; i < s->nr_ifaces; i++) {
		const struct iface_snapshot *is = &s->iface[i];
		const struct iface_stats *st = &is->stats, *pv = &t->prev.iface[i].stats;
		double p50, p99;

		latency(t, is, i, &p50, &p99);
		fprintf(t->out, "%s %s syn=%llu synack=%llu handshakes=%llu failed=%llu "
			"syn/s=%.1f handshakes/s=%.1f half_open=%lld established=%lld closing=%lld "
			"time_wait=%lld closes=%llu resets=%llu p50=%s p99=%s\n",
			when, is->name, (unsigned long long)st->syn_packets,
			(unsigned long long)st->synack_packets, (unsigned long long)st->handshakes,
			(unsigned long long)failures(st),
			t->have_prev ? rate(st->syn_packets, pv->syn_packets, dt) : 0,
			t->have_prev ? rate(st->handshakes, pv->handshakes, dt) : 0,
			(long long)is->half_open, (long long)is->established, (long long)is->closing,
			(long long)is->time_wait, (unsigned long long)st->closes_graceful,
			(unsigned long long)st->closes_reset,
			format_duration(a, sizeof(a), p50), format_duration(b, sizeof(b), p99));
	}
}

static void json_u64(json_object *o, const char *k, __u64 v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
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
		double p50, p99;

		latency(t, is, i, &p50, &p99);
		json_object_object_add(o, "ts", json_object_new_string(when));
		json_object_object_add(o, "iface", json_object_new_string(is->name));
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
		json_object_object_add(o, "syn_rate", json_object_new_double(
			t->have_prev ? rate(st->syn_packets, pv->syn_packets, dt) : 0));
		json_object_object_add(o, "handshake_rate", json_object_new_double(
			t->have_prev ? rate(st->handshakes, pv->handshakes, dt) : 0));
		json_object_object_add(o, "handshake_p50_s", p50 == p50 ? json_object_new_double(p50) : NULL);
		json_object_object_add(o, "handshake_p99_s", p99 == p99 ? json_object_new_double(p99) : NULL);
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
