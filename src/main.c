// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcpshake-mon: open -> configure -> load -> attach, then once per interval
 * sweep, read and export; events stream in between. Signals only set a flag;
 * on the way out we detach exactly what we attached.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <bpf/libbpf.h>
#include "alert.h"
#include "attach.h"
#include "events.h"
#include "floodwatch.h"
#include "http.h"
#include "iface.h"
#include "loader.h"
#include "log.h"
#include "prom.h"
#include "replay.h"
#include "reader.h"
#include "selfcost.h"
#include "term.h"
#include "textfile.h"
#include "tcpshake.skel.h"

static volatile sig_atomic_t stop_requested, reopen_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen_requested = 1;
	else
		stop_requested = 1;
}

/* What became of a watched interface since we attached. */
enum iface_fate { IFACE_OK, IFACE_DOWN, IFACE_RENAMED };

struct monitor {
	struct options opt;
	unsigned int ifindex[MAX_IFACES];
	char default_iface[IF_NAMESIZE];
	struct loader loader;
	struct attachment att[MAX_IFACES];
	int nr_attached;
	struct reader reader;
	struct port_labels labels;
	struct snapshot snap;
	struct term term;
	struct events events;
	bool events_on;
	struct http http;
	bool http_on;
	struct textfile textfile;
	struct floodwatch flood;
	struct alerter alerter;
	bool alerter_on;
	struct self_probe self;
	bool self_on;
	double last_observe;
	bool healthy;
	enum iface_fate fate[MAX_IFACES];
	double next_iface_check;
};

static int resolve_ifaces(struct monitor *m)
{
	int i;

	if (!m->opt.nr_ifaces) {
		if (iface_default_route(m->default_iface)) {
			log_error("no interface given and no default route found: name one, e.g. "
				  "'tcpshake-mon eth0'");
			return -1;
		}
		m->opt.ifaces[m->opt.nr_ifaces++] = m->default_iface;
		log_info("no interface given: watching %s, the default route's", m->default_iface);
	}
	for (i = 0; i < m->opt.nr_ifaces; i++) {
		m->ifindex[i] = iface_check(m->opt.ifaces[i]);
		if (!m->ifindex[i])
			return -1;
		snprintf(m->snap.iface[i].name, IF_NAMESIZE, "%s", m->opt.ifaces[i]);
	}
	m->snap.nr_ifaces = m->opt.nr_ifaces;
	return 0;
}

/* Loads the BPF object with only the ingress programs the interfaces'
 * hooks may use (attach_ingress_programs). */
static int load_programs(struct monitor *m)
{
	unsigned int need = 0;
	int i;

	if (loader_open(&m->loader, &m->opt, m->ifindex, m->opt.nr_ifaces))
		return -1;
	for (i = 0; i < m->opt.nr_ifaces; i++)
		need |= attach_ingress_programs(m->opt.ifaces[i], m->opt.ingress);
	loader_skip_ingress(&m->loader, !(need & INGRESS_PROG_XDP), !(need & INGRESS_PROG_TC));
	return loader_finish(&m->loader);
}

/* Alerts go to syslog when asked, or by themselves under systemd. */
static bool want_syslog(const struct options *o)
{
	return o->syslog || (getenv("JOURNAL_STREAM") && !isatty(STDERR_FILENO));
}

static int start_outputs(struct monitor *m)
{
	term_init(&m->term, stdout, m->opt.json);
	if (self_probe_init(&m->self, &m->loader, m->opt.bpf_stats))
		return 1;
	m->self_on = true;
	if (alerter_start(&m->alerter, m->opt.alert_exec, m->opt.alert_timeout_s,
			  want_syslog(&m->opt)))
		return 1;
	m->alerter_on = true;
	m->textfile.path = m->opt.prom_textfile;
	if (m->opt.events_path) {
		if (events_open(&m->events, bpf_map__fd(m->loader.skel->maps.events),
				m->opt.events_path, &m->snap))
			return 1;
		m->events_on = true;
	}
	if (m->opt.listen) {
		int rc = http_start(&m->http, m->opt.listen);

		if (rc)
			return rc;
		m->http_on = true;
	}
	return 0;
}

static void write_event_line(const char *json, void *ctx)
{
	struct monitor *m = ctx;

	events_write_line(&m->events, json);
}

/* A SYN flood started or ended: every output hears of it. */
static void on_flood(const struct flood_alert *a, void *ctx)
{
	struct monitor *m = ctx;

	flood_alert_report(&m->alerter, a, m->events_on ? write_event_line : NULL, m);
}

/* One interval: expire, read, judge, export. */
static void tick(struct monitor *m, bool last)
{
	int swept = loader_sweep(&m->loader), read;   /* read even when the sweep failed */
	char *body = NULL;
	size_t len = 0;

	/* Last, the programs are detached and the sweep is done: nothing makes
	 * events any more. Those still waiting are written, or counted, before
	 * the final numbers. */
	if (last && m->events_on)
		events_drain(&m->events);

	read = reader_read(&m->reader, &m->snap, &m->labels);
	m->healthy = read == 0 && swept == 0;
	if (read == 0 && reader_read_sketches(&m->reader, floodwatch_readings(&m->flood),
					      m->snap.nr_ifaces) == 0)
		floodwatch_update(&m->flood, &m->snap, clock_mono_to_wall(), last ? NULL : on_flood, m);
	m->snap.up = !last;
	if (m->self_on)
		self_probe_read(&m->self, &m->snap.self);
	if (m->events_on) {
		m->events.mono_to_wall = clock_mono_to_wall();
		events_counts(&m->events, &m->snap.events_write_errors, &m->snap.events_dropped);
	}
	if (!m->opt.quiet)
		term_show(&m->term, &m->snap, clock_mono_now() + clock_mono_to_wall());
	if (!m->opt.prom_textfile && !m->http_on)
		return;
	if (prom_render(&m->snap, &body, &len)) {
		log_error("rendering the metrics failed: out of memory");
		m->healthy = false;
		return;
	}
	if (m->opt.prom_textfile)
		textfile_write(&m->textfile, body, len);
	if (m->http_on)
		http_publish(&m->http, body, len, m->healthy && !last);
	else
		free(body);
}

/* Interfaces can vanish, be renamed or go down under us. Deleted: our
 * hooks went with it, so stop (exit 1; a service manager restarts us once
 * it is back). Down: keep the hooks and wait. Renamed: the hooks follow the
 * device; the labels keep the name it had. One line per change. */
static int watch_ifaces(struct monitor *m)
{
	int i;

	for (i = 0; i < m->nr_attached; i++) {
		const char *was = m->opt.ifaces[i];
		char now[IF_NAMESIZE];
		enum iface_fate fate = IFACE_OK;

		if (!if_indextoname(m->ifindex[i], now)) {
			log_error("interface %s was deleted: stopping", was);
			return -1;
		}
		if (strcmp(now, was))
			fate = IFACE_RENAMED;
		else if (!iface_is_up(now))
			fate = IFACE_DOWN;
		if (fate == m->fate[i])
			continue;
		if (fate == IFACE_RENAMED)
			log_warn("interface %s was renamed to %s: still watching it, metrics keep "
				 "iface=\"%s\"", was, now, was);
		else if (fate == IFACE_DOWN)
			log_warn("interface %s is down: waiting for it to come back up", was);
		else if (m->fate[i] == IFACE_DOWN)
			log_warn("interface %s is up again", was);
		m->fate[i] = fate;
	}
	return 0;
}

/* The flood detector's samples between ticks: counters every 100 ms. */
static void observe(struct monitor *m)
{
	struct iface_stats st[MAX_IFACES];
	double now = clock_mono_now();
	int i;

	if (now - m->last_observe < FLOODWATCH_OBSERVE_S)
		return;
	m->last_observe = now;
	for (i = 0; i < m->snap.nr_ifaces; i++)
		if (reader_read_stats(&m->reader, (__u32)i, &st[i]))
			return;
	floodwatch_observe(&m->flood, st, m->snap.nr_ifaces, now);
}

static int wait_until(struct monitor *m, double deadline)
{
	while (!stop_requested) {
		double now = clock_mono_now(), left = deadline - now;
		int ms = left > 0.1 ? 100 : (int)(left * 1000);

		if (reopen_requested) {
			reopen_requested = 0;
			if (m->events_on)
				events_reopen(&m->events);
			else
				log_info("SIGHUP: no --events file to reopen");
		}
		if (now >= m->next_iface_check) {
			m->next_iface_check = now + 0.5;
			if (watch_ifaces(m))
				return -1;
		}
		observe(m);
		if (left <= 0)
			return 0;
		if (m->events_on) {
			if (events_poll(&m->events, ms < 1 ? 1 : ms))
				return -1;
		} else {
			struct timespec ts = { 0, (long)(ms < 1 ? 1 : ms) * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

static int run(struct monitor *m)
{
	double start = clock_mono_now(), next = start + m->opt.interval_s;
	double end = m->opt.duration_s > 0 ? start + m->opt.duration_s : INFINITY;

	tick(m, false);
	while (!stop_requested) {
		double deadline = next < end ? next : end;

		if (wait_until(m, deadline))
			return 1;
		if (stop_requested || clock_mono_now() >= end)
			break;
		tick(m, false);
		next += m->opt.interval_s;
		if (next < clock_mono_now())
			next = clock_mono_now() + m->opt.interval_s;
	}
	return 0;
}

static void shutdown_monitor(struct monitor *m, bool ran)
{
	int i;

	for (i = m->nr_attached - 1; i >= 0; i--)
		detach_iface(&m->att[i]);
	if (ran)
		tick(m, true);         /* final numbers, with tcpshake_up 0, also after errors */
	if (m->events_on)
		events_close(&m->events);
	if (m->http_on)
		http_stop(&m->http);
	if (m->alerter_on)
		alerter_stop(&m->alerter);
	if (m->self_on)
		self_probe_close(&m->self);
	floodwatch_free(&m->flood);
	reader_free(&m->reader);
	snapshot_free(&m->snap);
	loader_close(&m->loader);
}

int main(int argc, char **argv)
{
	static struct monitor m;
	struct flood_params fp;
	struct sigaction sa = { .sa_handler = on_signal };
	bool ran = false;
	int rc, i;

	rc = options_parse(&m.opt, argc, argv);
	if (rc >= 0)
		return rc;
	log_init(m.opt.quiet && !m.opt.verbose ? -1 : m.opt.verbose);
	if (m.opt.read_path)
		return replay_main(&m.opt);
	/* Before the programs load (a second or more): a stop asked for
	 * meanwhile is kept, also where SIGINT came in ignored, as it does
	 * for a background job of a script. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (m.opt.listen && http_check_listen(m.opt.listen))
		return 2;
	if (resolve_ifaces(&m) || loader_check_environment())
		return 1;
	if (load_programs(&m) || reader_init(&m.reader, &m.loader)) {
		loader_close(&m.loader);
		return 1;
	}
	if (floodwatch_init(&m.flood, options_flood_params(&fp, &m.opt), reader_hash_seed(&m.reader),
			    m.opt.nr_ifaces)) {
		log_error("out of memory for the SYN-flood sketches");
		reader_free(&m.reader);
		loader_close(&m.loader);
		return 1;
	}
	port_labels_init(&m.labels, m.opt.max_ports);

	/* Stopped while loading: nothing attached, nothing to report. */
	rc = 0;
	for (i = 0; i < m.opt.nr_ifaces && !rc && !stop_requested; i++) {
		if (attach_iface(m.loader.skel, &m.att[i], m.opt.ifaces[i], m.ifindex[i], m.opt.ingress))
			rc = 1;
		else
			m.nr_attached++;
	}
	if (!rc && !stop_requested)
		rc = start_outputs(&m);
	if (!rc && !stop_requested) {
		ran = true;
		rc = run(&m);
	}
	shutdown_monitor(&m, ran);
	return rc;
}
