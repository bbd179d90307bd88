// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "names.h"
#include "prom.h"
#include "tcpshake/histogram.h"

#define P "tcpshake_"

/* An interface label value: the name as iface_label() shows it (valid
 * UTF-8, distinct per interface), then backslash, double quote and newline
 * escaped as the exposition format requires. */
static void put_iface(FILE *f, const char *name)
{
	char label[IFACE_LABEL_MAX];
	const char *v = iface_label(name, label);

	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*v, f);
	}
}

static void put_seconds(FILE *f, __u64 ns)
{
	char text[SECONDS_TEXT_MAX];

	fputs(seconds_text(ns, text), f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP " P "%s %s\n# TYPE " P "%s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const char *iface, const char *extra, __u64 v)
{
	fprintf(f, P "%s{iface=\"", name);
	put_iface(f, iface);
	fprintf(f, "\"%s} %llu\n", extra, (unsigned long long)v);
}

static void gauge_sample(FILE *f, const char *name, const char *iface, __s64 v)
{
	fprintf(f, P "%s{iface=\"", name);
	put_iface(f, iface);
	fprintf(f, "\"} %lld\n", (long long)v);
}

/* A value of the whole process, repeated per interface so that several
 * instances' textfiles never carry identical series. */
static void process_sample(FILE *f, const struct snapshot *s, const char *name, __u64 v)
{
	int i;

	for (i = 0; i < s->nr_ifaces; i++)
		sample(f, name, s->iface[i].name, "", v);
}

static void histogram(FILE *f, const char *name, const char *iface, const char *extra,
		      const struct hist *h)
{
	__u64 cum = 0;
	__u32 k;

	for (k = 0; k < HIST_SLOTS; k++) {
		cum += h->count[k];
		fprintf(f, P "%s_bucket{iface=\"", name);
		put_iface(f, iface);
		fprintf(f, "\"%s,le=\"", extra);
		if (k == HIST_SLOTS - 1)
			fputs("+Inf", f);
		else
			put_seconds(f, hist_upper_ns(k));
		fprintf(f, "\"} %llu\n", (unsigned long long)cum);
	}
	fprintf(f, P "%s_sum{iface=\"", name);
	put_iface(f, iface);
	fprintf(f, "\"%s} ", extra);
	put_seconds(f, h->sum_ns);
	fprintf(f, "\n" P "%s_count{iface=\"", name);
	put_iface(f, iface);
	fprintf(f, "\"%s} %llu\n", extra, (unsigned long long)cum);
}

static void port_label(char *buf, size_t len, __u16 port)
{
	if (port)
		snprintf(buf, len, ",port=\"%u\"", port);
	else
		snprintf(buf, len, ",port=\"other\"");
}

struct counter_def {
	const char *name;
	const char *help;
	size_t offset;
};

#define C(n, field, h) { n, h, offsetof(struct iface_stats, field) }
static const struct counter_def counters[] = {
	C("packets_total", packets, "TCP segments inspected."),
	C("syn_packets_total", syn_packets, "SYN segments (without ACK), retransmissions included."),
	C("syn_retransmits_total", syn_retransmits, "SYN segments repeating a known initial sequence number."),
	C("synack_packets_total", synack_packets, "SYN-ACK segments, retransmissions included."),
	C("synack_retransmits_total", synack_retransmits, "SYN-ACK segments repeating a known initial sequence number."),
	C("simultaneous_opens_total", simultaneous_opens, "Handshakes where SYN crossed SYN (a socket connected to itself too)."),
	C("simultaneous_closes_total", simultaneous_closes, "Closes where FIN crossed FIN (a socket connected to itself too)."),
	C("half_closes_total", half_closes, "Connections that carried data after one side's FIN."),
	C("time_wait_reuses_total", time_wait_reuses, "TIME-WAIT tuples reused by a new handshake before 2MSL."),
	C("flow_evictions_total", flow_evictions, "Connection states dropped or overwritten for lack of table space."),
	C("resets_ignored_total", resets_ignored, "RSTs not believed: outside the window of their sender, or contradicted by the connection going on."),
	C("synacks_unsolicited_total", synacks_unsolicited, "SYN-ACKs from the network answering no SYN seen here (backscatter); not tracked."),
	C("invalid_segments_total", invalid_segments, "SYN-ACKs and third ACKs whose ack number is not ISN + 1."),
	C("update_retries_total", update_retries, "Record updates recomputed because another CPU changed the record first."),
	C("update_conflicts_total", update_conflicts, "Record updates abandoned after losing the race to other CPUs repeatedly."),
	C("events_lost_total", events_lost, "Connection events dropped because the event buffer was full."),
	C("egress_duplicates_total", egress_duplicates, "Packets forwarded back out the interface they came in on, counted once at ingress."),
};

/* malformed_packets_total keeps its meaning from before the reasons:
 * truncated or inconsistent headers, not the depth limits. */
static __u64 malformed(const struct iface_stats *st)
{
	return st->unparsed_by[UNPARSED_TRUNCATED] + st->unparsed_by[UNPARSED_BAD_LENGTH] +
	       st->unparsed_by[UNPARSED_BAD_HEADER];
}

static void render_unparsed(FILE *f, const struct snapshot *s)
{
	char extra[48];
	unsigned int r;
	int i;

	family(f, "unparsed_packets_total", "counter",
	       "Packets passed on without reaching their TCP header, by reason (see the man page).");
	for (i = 0; i < s->nr_ifaces; i++) {
		for (r = 0; r < UNPARSED_MAX; r++) {
			snprintf(extra, sizeof(extra), ",reason=\"%s\"", unparsed_reason_name(r));
			sample(f, "unparsed_packets_total", s->iface[i].name, extra,
			       s->iface[i].stats.unparsed_by[r]);
		}
	}
	family(f, "malformed_packets_total", "counter",
	       "Packets with truncated or inconsistent headers (passed, not tracked): the truncated, bad_length and bad_header reasons of unparsed_packets_total.");
	for (i = 0; i < s->nr_ifaces; i++)
		sample(f, "malformed_packets_total", s->iface[i].name, "", malformed(&s->iface[i].stats));
}

static void render_counters(FILE *f, const struct snapshot *s)
{
	size_t c;
	int i;

	render_unparsed(f, s);
	for (c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		family(f, counters[c].name, "counter", counters[c].help);
		for (i = 0; i < s->nr_ifaces; i++) {
			const char *st = (const char *)&s->iface[i].stats;

			sample(f, counters[c].name, s->iface[i].name, "",
			       *(const __u64 *)(st + counters[c].offset));
		}
	}
	family(f, "closes_total", "counter", "Connections ended, by kind: graceful four-way close or reset.");
	for (i = 0; i < s->nr_ifaces; i++) {
		sample(f, "closes_total", s->iface[i].name, ",kind=\"graceful\"",
		       s->iface[i].stats.closes_graceful);
		sample(f, "closes_total", s->iface[i].name, ",kind=\"reset\"",
		       s->iface[i].stats.closes_reset);
	}
	family(f, "flows_expired_total", "counter",
	       "Open connections ended without a close: idle past --idle-timeout, or superseded by a new validated handshake on their tuple.");
	for (i = 0; i < s->nr_ifaces; i++) {
		sample(f, "flows_expired_total", s->iface[i].name, ",reason=\"idle\"",
		       s->iface[i].stats.flows_expired);
		sample(f, "flows_expired_total", s->iface[i].name, ",reason=\"superseded\"",
		       s->iface[i].stats.flows_superseded);
	}
}

static void render_ports(FILE *f, const struct snapshot *s)
{
	char extra[64];
	int p, r;

	family(f, "handshakes_total", "counter",
	       "Handshakes completed by a validated third ACK, by service port.");
	for (p = 0; p < s->nr_ports; p++) {
		port_label(extra, sizeof(extra), s->ports[p].port);
		sample(f, "handshakes_total", s->iface[s->ports[p].iface].name, extra,
		       s->ports[p].handshakes);
	}
	family(f, "handshake_failures_total", "counter",
	       "Handshake attempts that failed, by reason and service port.");
	for (p = 0; p < s->nr_ports; p++) {
		for (r = 0; r < FAIL_MAX; r++) {
			char both[96];

			port_label(extra, sizeof(extra), s->ports[p].port);
			snprintf(both, sizeof(both), ",reason=\"%s\"%s", fail_reason_name((unsigned)r), extra);
			sample(f, "handshake_failures_total", s->iface[s->ports[p].iface].name, both,
			       s->ports[p].failures[r]);
		}
	}
	family(f, "handshake_seconds", "histogram", hist_help(H_HANDSHAKE));
	for (p = 0; p < s->nr_ports; p++) {
		port_label(extra, sizeof(extra), s->ports[p].port);
		histogram(f, "handshake_seconds", s->iface[s->ports[p].iface].name, extra,
			  &s->ports[p].handshake);
	}
}

static void render_gauges(FILE *f, const struct snapshot *s)
{
	static const struct { const char *name, *help; size_t off; } g[] = {
		{ "syn_sent_connections", "Handshake attempts waiting for a SYN-ACK.",
		  offsetof(struct iface_snapshot, syn_sent) },
		{ "half_open_connections", "Handshakes with a SYN-ACK but no third ACK yet (wire view, "
		  "syncookies included; not one whose SYN-ACK an ICMP error turned back).",
		  offsetof(struct iface_snapshot, half_open) },
		{ "established_connections", "Connections established and not closing.",
		  offsetof(struct iface_snapshot, established) },
		{ "closing_connections", "Connections between the first FIN and TIME-WAIT (FIN-WAIT, CLOSE-WAIT, LAST-ACK, CLOSING).",
		  offsetof(struct iface_snapshot, closing) },
		{ "time_wait_connections", "Connections in TIME-WAIT on either side.",
		  offsetof(struct iface_snapshot, time_wait) },
	};
	size_t k;
	int i;

	for (k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		family(f, g[k].name, "gauge", g[k].help);
		for (i = 0; i < s->nr_ifaces; i++)
			gauge_sample(f, g[k].name, s->iface[i].name,
				     *(const __s64 *)((const char *)&s->iface[i] + g[k].off));
	}
	family(f, "table_entries", "gauge", "Records in the kernel tables, by table.");
	for (i = 0; i < s->nr_ifaces; i++) {
		sample(f, "table_entries", s->iface[i].name, ",table=\"handshake\"", s->iface[i].hs_entries);
		sample(f, "table_entries", s->iface[i].name, ",table=\"flow\"", s->iface[i].flow_entries);
	}
	/* Shared by the interfaces of one process, repeated per interface so
	 * that several instances' textfiles never carry identical series. */
	family(f, "table_capacity", "gauge", "Capacity of the kernel tables of this process.");
	for (i = 0; i < s->nr_ifaces; i++) {
		sample(f, "table_capacity", s->iface[i].name, ",table=\"handshake\"", s->hs_capacity);
		sample(f, "table_capacity", s->iface[i].name, ",table=\"flow\"", s->flow_capacity);
	}
	/* The event output and the sweeper are the process's (process_sample). */
	family(f, "events_write_errors_total", "counter",
	       "Connection events lost because writing the --events output failed.");
	process_sample(f, s, "events_write_errors_total", s->events_write_errors);
	family(f, "events_dropped_total", "counter",
	       "Events never written: a flood alert found the --events queue full, or the output took nothing more for seconds at exit.");
	process_sample(f, s, "events_dropped_total", s->events_dropped);
	family(f, "sweep_errors_total", "counter",
	       "Sweeper passes that could not walk the whole tables (timeouts and gauges are incomplete until it recovers).");
	process_sample(f, s, "sweep_errors_total", s->sweep_errors);
	family(f, "up", "gauge", "1 while tcpshake-mon is running and watching the interface; 0 in its last write.");
	process_sample(f, s, "up", s->up ? 1 : 0);
	family(f, "build_info", "gauge", "Always 1; the version label says which build is running.");
	for (i = 0; i < s->nr_ifaces; i++)
		sample(f, "build_info", s->iface[i].name, ",version=\"" TCPSHAKE_VERSION "\"", 1);
}

static void real_sample(FILE *f, const char *name, const char *iface, const char *extra, double v)
{
	fprintf(f, P "%s{iface=\"", name);
	put_iface(f, iface);
	fprintf(f, "\"%s} %.3f\n", extra, v == v ? v : 0);
}

/* The SYN-flood signals: per interface, and per labelled port where the
 * port has them (port rows with port 0 are "other": no detector). */
struct flood_gauge {
	const char *name, *help;
	size_t iface_off;          /* double in struct flood_view */
	size_t port_off;           /* double in struct port_flood_view, or NO_PORT */
};
#define NO_PORT ((size_t)-1)
#define FV(f) offsetof(struct flood_view, f)
#define PV(f) offsetof(struct port_flood_view, f)

static void render_flood_gauges(FILE *f, const struct snapshot *s)
{
	static const struct flood_gauge g[] = {
		{ "syn_per_second", "SYN segments per second over the last interval (per port: estimated from the sketches, arriving SYNs only).",
		  FV(syn_rate), PV(syn_rate) },
		{ "syn_attempts_per_second", "New handshake attempts per second (SYNs without the retransmissions).",
		  FV(attempt_rate), NO_PORT },
		{ "synack_per_second", "Valid first SYN-ACKs per second.", FV(synack_rate), NO_PORT },
		{ "handshakes_per_second", "Handshakes completed per second.", FV(handshake_rate), PV(handshake_rate) },
		{ "syn_uncompleted_per_second", "Handshake attempts per second left without completion (the SYN-flood signature).",
		  FV(uncompleted_rate), PV(uncompleted_rate) },
		{ "syn_uncompleted_ratio", "Share of the handshake attempts left without completion, 0 to 1.",
		  FV(incomplete_share), NO_PORT },
		{ "syn_uncompleted_baseline_per_second", "Uncompleted attempts per second learned as normal while no flood is on.",
		  FV(baseline_rate), NO_PORT },
		{ "half_open_growth_per_second", "Change of the half-open gauge per second over the last interval.",
		  FV(half_open_growth), NO_PORT },
		{ "syn_retransmit_ratio", "Share of the SYN segments that were retransmissions, 0 to 1.",
		  FV(syn_retransmit_share), NO_PORT },
		{ "syn_sources_estimate", "Distinct source addresses of the arriving SYNs in the last interval (HyperLogLog estimate).",
		  FV(sources), NO_PORT },
	};
	char extra[160];
	size_t k;
	int i, p, h;

	for (k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		family(f, g[k].name, "gauge", g[k].help);
		for (i = 0; i < s->nr_ifaces; i++)
			real_sample(f, g[k].name, s->iface[i].name, "",
				    *(const double *)((const char *)&s->iface[i].flood + g[k].iface_off));
		for (p = 0; p < s->nr_ports && g[k].port_off != NO_PORT; p++) {
			if (!s->ports[p].port)
				continue;
			port_label(extra, sizeof(extra), s->ports[p].port);
			real_sample(f, g[k].name, s->iface[s->ports[p].iface].name, extra,
				    *(const double *)((const char *)&s->ports[p].flood + g[k].port_off));
		}
	}
	family(f, "syn_flood_active", "gauge",
	       "1 while a SYN flood is detected on the interface (or aimed at the labelled port), else 0.");
	for (i = 0; i < s->nr_ifaces; i++)
		sample(f, "syn_flood_active", s->iface[i].name, "", s->iface[i].flood.active);
	for (p = 0; p < s->nr_ports; p++) {
		if (!s->ports[p].port)
			continue;
		port_label(extra, sizeof(extra), s->ports[p].port);
		sample(f, "syn_flood_active", s->iface[s->ports[p].iface].name, extra, s->ports[p].flood.active);
	}
	family(f, "syn_flood_alerts_total", "counter",
	       "SYN floods detected since the start, on the interface (or aimed at the labelled port).");
	for (i = 0; i < s->nr_ifaces; i++)
		sample(f, "syn_flood_alerts_total", s->iface[i].name, "", s->iface[i].flood.alerts);
	for (p = 0; p < s->nr_ports; p++) {
		if (!s->ports[p].port)
			continue;
		port_label(extra, sizeof(extra), s->ports[p].port);
		sample(f, "syn_flood_alerts_total", s->iface[s->ports[p].iface].name, extra,
		       s->ports[p].flood.alerts);
	}
	family(f, "service_half_open_connections", "gauge",
	       "Handshakes with a SYN-ACK but no third ACK yet, by labelled service port.");
	for (p = 0; p < s->nr_ports; p++) {
		if (!s->ports[p].port)
			continue;
		port_label(extra, sizeof(extra), s->ports[p].port);
		sample(f, "service_half_open_connections", s->iface[s->ports[p].iface].name, extra,
		       (__u64)(s->ports[p].half_open > 0 ? s->ports[p].half_open : 0));
	}
	family(f, "syn_top_prefix_per_second", "gauge",
	       "SYNs per second of the busiest source prefixes (/24, /48) in the last interval, estimated.");
	for (i = 0; i < s->nr_ifaces; i++) {
		for (h = 0; h < s->iface[i].flood.nr_prefixes; h++) {
			snprintf(extra, sizeof(extra), ",prefix=\"%s\"", s->iface[i].flood.prefixes[h].name);
			real_sample(f, "syn_top_prefix_per_second", s->iface[i].name, extra,
				    s->iface[i].flood.prefixes[h].rate);
		}
	}
	family(f, "syn_top_port_per_second", "gauge",
	       "SYNs per second of the busiest destination ports in the last interval, estimated.");
	for (i = 0; i < s->nr_ifaces; i++) {
		for (h = 0; h < s->iface[i].flood.nr_ports; h++) {
			snprintf(extra, sizeof(extra), ",port=\"%s\"", s->iface[i].flood.ports[h].name);
			real_sample(f, "syn_top_port_per_second", s->iface[i].name, extra,
				    s->iface[i].flood.ports[h].rate);
		}
	}
}

static void seconds_sample(FILE *f, const char *name, const char *iface, const char *extra, __u64 ns)
{
	fprintf(f, P "%s{iface=\"", name);
	put_iface(f, iface);
	fprintf(f, "\"%s} ", extra);
	put_seconds(f, ns);
	fputc('\n', f);
}

/* What the monitor costs the host (src/selfcost.c): the process's, so
 * repeated per interface (process_sample). The programs' figures only while the
 * kernel keeps them: a run count frozen at zero would look free. */
static void render_self(FILE *f, const struct snapshot *s)
{
	const struct self_cost *c = &s->self;
	char extra[64];
	int i, k;

	family(f, "self_cpu_seconds_total", "counter",
	       "CPU time of the tcpshake-mon process, all threads; system includes the sweeper's BPF runs.");
	for (i = 0; i < s->nr_ifaces; i++) {
		seconds_sample(f, "self_cpu_seconds_total", s->iface[i].name, ",mode=\"user\"", c->user_ns);
		seconds_sample(f, "self_cpu_seconds_total", s->iface[i].name, ",mode=\"system\"", c->system_ns);
	}
	family(f, "self_resident_memory_bytes", "gauge",
	       "Resident memory of the tcpshake-mon process, the mapped event ring included.");
	process_sample(f, s, "self_resident_memory_bytes", c->rss_bytes);
	family(f, "bpf_map_memory_bytes", "gauge",
	       "Kernel memory of this process's BPF maps (tables, spill maps, event ring), as the kernel charges it.");
	process_sample(f, s, "bpf_map_memory_bytes", c->map_bytes);
	if (!c->bpf_stats)
		return;
	family(f, "bpf_program_runs_total", "counter",
	       "Runs of each BPF program since it was loaded, counted while the kernel's BPF statistics are on (--bpf-stats or kernel.bpf_stats_enabled=1).");
	for (i = 0; i < s->nr_ifaces; i++)
		for (k = 0; k < c->nr_progs; k++) {
			snprintf(extra, sizeof(extra), ",program=\"%s\"", c->prog[k].name);
			sample(f, "bpf_program_runs_total", s->iface[i].name, extra, c->prog[k].runs);
		}
	family(f, "bpf_program_run_seconds_total", "counter",
	       "Time spent in each BPF program since it was loaded, while the kernel's BPF statistics are on; per run, what the program costs a packet.");
	for (i = 0; i < s->nr_ifaces; i++)
		for (k = 0; k < c->nr_progs; k++) {
			snprintf(extra, sizeof(extra), ",program=\"%s\"", c->prog[k].name);
			seconds_sample(f, "bpf_program_run_seconds_total", s->iface[i].name, extra,
				       c->prog[k].run_ns);
		}
}

int prom_render(const struct snapshot *s, char **out, size_t *len)
{
	FILE *f = open_memstream(out, len);
	unsigned int h;
	int i;

	if (!f)
		return -1;
	render_counters(f, s);
	render_ports(f, s);
	render_gauges(f, s);
	render_flood_gauges(f, s);
	if (s->self.valid)
		render_self(f, s);
	for (h = 0; h < H_MAX; h++) {
		if (h == H_HANDSHAKE)
			continue;    /* per port, above */
		family(f, hist_name(h), "histogram", hist_help(h));
		for (i = 0; i < s->nr_ifaces; i++)
			histogram(f, hist_name(h), s->iface[i].name, "", &s->iface[i].hist[h]);
	}
	return fclose(f) ? -1 : 0;
}
