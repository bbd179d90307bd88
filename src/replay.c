// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Offline replay: packets of a capture file go through the natively compiled
 * core (native.h: track_parse() and track_parse_result() of bpf/track.h), the
 * same parser, tables, state machine and accounting the kernel programs
 * run, in capture order; the core's clock is the capture's timestamp, and
 * the sweeper runs whenever capture time crosses an --interval boundary, as
 * the live loader runs it once per interval. Segments are parsed PIPELINE
 * packets ahead of tracking so their table lines load meanwhile. The SYN-flood
 * detector runs on capture time too: counters sampled every 100 ms, a
 * snapshot and a decision at each interval boundary, as the live monitor's
 * ticks. At the end, one snapshot feeds the exporters the live monitor
 * uses. Memory is the tables plus one read buffer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "alert.h"
#include "capture.h"
#include "events.h"
#include "floodwatch.h"
#include "frame.h"
#include "geometry.h"
#include "log.h"
#include "native.h"
#include "prom.h"
#include "reader.h"
#include "replay.h"
#include "sketch.h"
#include "tcpshake/fsm.h"
#include "tcpshake/halfopen.h"
#include "term.h"
#include "textfile.h"

#define PROGRESS_EVERY   (1u << 16)   /* packets between looks at the wall clock */
#define PROGRESS_PERIOD  0.25         /* seconds between progress bar updates */
#define NO_SLOT          (-1)
#define PIPELINE         16           /* segments parsed ahead of tracking */
#define WAYS_AHEAD       8            /* segments ahead whose ways start loading */
#define LATER            4            /* segments later, what the ways lead to */
_Static_assert(WAYS_AHEAD + LATER < PIPELINE, "a segment passes every stage before its turn");
#define OBSERVE_NS       ((__u64)(FLOODWATCH_OBSERVE_S * 1e9))

/* A TCP segment parsed ahead, waiting for its turn. */
struct pending {
	__u64 ts;
	bool has_ts;
	__u8 later;                       /* for native_prefetch_later() */
	__u32 egress;
	struct native_segment seg;
};

struct replay {
	const struct options *o;
	const char *label;                /* the file, for messages */
	struct capture cap;
	struct table_geometry geo;
	struct snapshot snap;
	struct port_labels labels;
	char default_name[IF_NAMESIZE];   /* interfaces the file does not name */
	/* Interface of the previous packet: consecutive packets mostly share one. */
	__u32 last_seq;
	int last_slot;
	bool have_last;
	bool too_many_ifaces;
	/* The capture clock. */
	bool started;
	__u64 clock, first_ts, next_sweep, interval_ns;
	__u64 read_ts;                    /* latest timestamp read so far */
	/* The SYN-flood detector. */
	struct floodwatch flood;
	struct alerter alerter;
	bool alerter_on;
	__u64 next_observe, last_tick;
	bool flood_failed;
	/* What the file held. */
	__u64 packets, snap_truncated, backwards, unsupported;
	/* Events. */
	FILE *events;
	bool own_events;
	bool events_failed;
	/* Progress bar. */
	bool progress;
	double t_start, t_next_progress;
	struct frame_scratch scratch;
	/* Packets read but not yet tracked, oldest at head. */
	struct pending ring[PIPELINE];
	unsigned int head, count;
};

/* ---- the capture clock ---- */

static void sweep_at(__u64 now)
{
	native_set_clock(now);
	native_sweep();
}

static int take_snapshot(struct replay *r, __u64 now);
static void on_flood(const struct flood_alert *a, void *ctx);

/* reader_read_sketches() of the native platform: its one "CPU" per
 * interface, then the next sketch epoch. */
static int read_sketches(struct sketch_reading *out)
{
	int i, err = 0;

	for (i = 0; i < MAX_IFACES && !err; i++)
		err = sketch_reading_merge(&out[i], &native.sketches[i], sizeof(native.sketches[i]), 1,
					   sketch_epoch);
	sketch_epoch++;
	return err;
}

/* The live monitor's tick() at capture time now, after the sweep: the
 * snapshot, the sketches, the detector's decision. Capture timestamps are
 * wall-clock time already: the detector's clock maps to it with offset 0. */
static void flood_tick(struct replay *r, __u64 now, flood_alert_fn cb)
{
	r->last_tick = now;
	if (r->flood_failed)
		return;
	if (take_snapshot(r, now) || read_sketches(floodwatch_readings(&r->flood))) {
		log_error("out of memory for the SYN-flood detector: try a smaller --max-ports");
		r->flood_failed = true;
		return;
	}
	floodwatch_update(&r->flood, &r->snap, 0, cb, r);
}

/* Capture time moves on to ts (the packets before it are tracked): every
 * 100 ms the flood detector samples the counters, at every interval
 * boundary the sweeper runs and the detector decides. After a gap of many
 * intervals, only at the first and the last boundary: in between no packet
 * arrived, so only timers could fire, and they fire at the last one; the
 * counters stood still. */
static __attribute__((noinline)) void pass_time(struct replay *r, __u64 ts)
{
	while (r->next_sweep <= ts || r->next_observe <= ts) {
		if (r->next_observe < r->next_sweep) {
			floodwatch_observe(&r->flood, native.stats, r->snap.nr_ifaces,
					   (double)r->next_observe / 1e9);
			r->next_observe += OBSERVE_NS;
			continue;
		}
		sweep_at(r->next_sweep);
		flood_tick(r, r->next_sweep, on_flood);
		if (r->next_observe <= r->next_sweep)
			r->next_observe += OBSERVE_NS;
		r->next_sweep += r->interval_ns;
		if (ts >= r->next_sweep + r->interval_ns) {
			r->next_sweep += (ts - r->next_sweep) / r->interval_ns * r->interval_ns;
			r->next_observe = r->next_sweep;
		}
	}
}

static __attribute__((noinline)) void start_clock(struct replay *r, __u64 ts)
{
	r->started = true;
	r->first_ts = r->clock = ts;
	r->next_sweep = ts + r->interval_ns;
	r->next_observe = ts + OBSERVE_NS;
	sweep_at(ts);                  /* as the loader sweeps once at load */
	flood_tick(r, ts, on_flood);   /* as the monitor ticks once at start */
}

/* Moves the clock to a packet's timestamp (pass_time). Time never goes
 * back: an earlier timestamp is counted and taken as the current time.
 * Called for every packet, and a timer is due once in 100,000 of them at
 * 1 us apart: the timers are functions of their own, so that this one
 * inlines into the loop (25 instructions per packet less). */
static inline void advance_clock(struct replay *r, __u64 ts)
{
	if (!r->started) {
		start_clock(r, ts);
		return;
	}
	if (ts < r->clock)
		ts = r->clock;       /* counted when read */
	if (ts >= r->next_sweep || ts >= r->next_observe)
		pass_time(r, ts);
	r->clock = ts;
	native_set_clock(ts);
}

/* The end of the capture: its recorded end time when later than the last
 * packet (pcapng interface statistics), then one last sweep for the
 * gauges. With --expire-at-end that sweep ends every pending attempt as a
 * timeout at that time, and leaves other timers alone. */
static void finish_clock(struct replay *r)
{
	struct tcpshake_config saved = cfg;
	__u64 end = capture_end_ns(&r->cap);

	if (!r->started)
		return;
	if (end > r->clock)
		advance_clock(r, end);
	if (r->o->expire_at_end) {
		cfg.syn_timeout_ns = 0;
		cfg.time_wait_ns = cfg.close_timeout_ns = ~0ull >> 2;
		cfg.idle_timeout_s = ~0u >> 2;
	}
	sweep_at(r->clock);
	cfg = saved;
}

/* ---- interfaces ---- */

/* The interface slot named name, added on first sight (the core's ifindex
 * of slot i is i + 1). Past MAX_IFACES, the first slot takes the rest. */
static int slot_named(struct replay *r, const char *name)
{
	struct snapshot *s = &r->snap;
	int i;

	for (i = 0; i < s->nr_ifaces; i++)
		if (!strncmp(s->iface[i].name, name, IF_NAMESIZE - 1))
			return i;
	if (s->nr_ifaces == MAX_IFACES) {
		if (!r->too_many_ifaces)
			log_warn("%s has more than %d interfaces: %s and later ones are counted as %s",
				 r->label, MAX_IFACES, name, s->iface[0].name);
		r->too_many_ifaces = true;
		return 0;
	}
	i = s->nr_ifaces++;
	snprintf(s->iface[i].name, IF_NAMESIZE, "%s", name);
	cfg.ifindex[i] = (__u32)i + 1;
	cfg.nr_ifaces = (__u32)s->nr_ifaces;
	return i;
}

static int slot_of(struct replay *r, const struct capture_packet *p)
{
	if (r->have_last && p->iface == r->last_seq)
		return r->last_slot;
	r->have_last = true;
	r->last_seq = p->iface;
	if (!linktype_supported(p->linktype)) {
		log_warn("%s: skipping the packets of interface %u: link type %d is not supported "
			 "(tcpdump.org/linktypes.html)", r->label, p->iface, p->linktype);
		r->last_slot = NO_SLOT;
	} else {
		r->last_slot = slot_named(r, p->iface_name[0] ? p->iface_name : r->default_name);
	}
	return r->last_slot;
}

/* The name for interfaces a file does not name: its base name without the
 * extension ("lb1.pcap" -> "lb1"), "stdin" for standard input. */
static void default_name(char *out, const char *path)
{
	const char *base = strrchr(path, '/'), *dot;
	size_t n;

	if (!strcmp(path, "-")) {
		snprintf(out, IF_NAMESIZE, "stdin");
		return;
	}
	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	snprintf(out, IF_NAMESIZE, "%.*s", (int)n, base);
	if (!out[0])
		snprintf(out, IF_NAMESIZE, "capture");
}

/* ---- direction ---- */

/* The core's direction argument: DIR_EGRESS when this side sent the
 * packet, DIR_INGRESS when it received it, DIR_UNKNOWN when nothing says
 * (transit: trusted as from the network). --local-net decides first, then
 * what the link layer recorded (pcapng epb_flags, Linux cooked packet
 * types). */
_Static_assert((int)SENDER_LOCAL == (int)DIR_EGRESS && (int)SENDER_REMOTE == (int)DIR_INGRESS &&
	       (int)SENDER_UNKNOWN == (int)DIR_UNKNOWN, "a frame's sender is a direction");

static enum direction direction_of(const struct replay *r, const struct frame *f,
				const struct capture_packet *p)
{
	const struct localnets *nets = &r->o->local_nets;

	if (nets->n) {
		const __u8 *src, *dst;
		int family = frame_addresses(f, &src, &dst);

		if (family && localnets_match(nets, family, src))
			return DIR_EGRESS;
		if (family && localnets_match(nets, family, dst))
			return DIR_INGRESS;
	}
	if (p->dir == CAPTURE_DIR_OUT)
		return DIR_EGRESS;
	if (p->dir == CAPTURE_DIR_IN)
		return DIR_INGRESS;
	return (enum direction)f->sender;
}

/* ---- events ---- */

static void on_event(const struct event *e, void *ctx)
{
	struct replay *r = ctx;
	const char *iface = e->key.iface < r->snap.nr_ifaces ? r->snap.iface[e->key.iface].name : "?";
	char line[EVENT_LINE_MAX + 1];
	/* The clock is capture time, already wall-clock nanoseconds. */
	size_t n = event_format(line, EVENT_LINE_MAX, e, iface, 0);

	line[n] = '\n';
	if (!n || fwrite(line, 1, n + 1, r->events) != n + 1)
		r->events_failed = true;
}

static int open_events(struct replay *r)
{
	const char *path = r->o->events_path;

	if (!path)
		return 0;
	if (!strcmp(path, "-")) {
		r->events = stdout;
	} else {
		r->events = fopen(path, "a");
		if (!r->events) {
			log_error("cannot open the event file %s: %s", path, strerror(errno));
			return -1;
		}
		r->own_events = true;
	}
	native.on_event = on_event;
	native.event_ctx = r;
	return 0;
}

static int close_events(struct replay *r)
{
	int rc = 0;

	if (!r->events)
		return 0;
	if (fflush(r->events) || ferror(r->events) || r->events_failed)
		rc = -1;
	if (r->own_events && fclose(r->events))
		rc = -1;
	if (rc)
		log_error("writing the event file %s failed: %s", r->o->events_path, strerror(errno));
	r->events = NULL;
	return rc;
}

/* A SYN flood started or ended: the same line, event and syslog entry as
 * the live monitor's (--alert-exec is refused with --read). */
static void write_flood_line(const char *json, void *ctx)
{
	struct replay *r = ctx;

	if (fputs(json, r->events) < 0 || fputc('\n', r->events) < 0)
		r->events_failed = true;
}

static void on_flood(const struct flood_alert *a, void *ctx)
{
	struct replay *r = ctx;

	flood_alert_report(&r->alerter, a, r->events ? write_flood_line : NULL, r);
}

/* ---- progress bar (stderr, terminals only) ---- */

static void human_bytes(char *buf, size_t len, double b)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB" };
	int i = 0;

	while (b >= 1000 && i < 4) {
		b /= 1000;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", b, unit[i]);
}

static void show_progress(struct replay *r, double now)
{
	__u64 at = capture_offset(&r->cap), size = r->cap.size;
	double elapsed = now - r->t_start, frac = size ? (double)at / (double)size : 0;
	double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
	char done[24], total[24];

	human_bytes(done, sizeof(done), (double)at);
	human_bytes(total, sizeof(total), (double)size);
	fprintf(stderr, "\r%5.1f%%  %s of %s  %.2f M packets/s  ETA %d:%02d \033[K",
		frac * 100, done, total, elapsed > 0 ? (double)r->packets / elapsed / 1e6 : 0,
		(int)eta / 60, (int)eta % 60);
	r->t_next_progress = now + PROGRESS_PERIOD;
}

static void progress_tick(struct replay *r)
{
	double now = clock_mono_now();

	if (now >= r->t_next_progress)
		show_progress(r, now);
}

/* ---- the packet loop ---- */

static void track_oldest(struct replay *r)
{
	struct pending *q = &r->ring[r->head];

	if (q->has_ts || !r->started)
		advance_clock(r, q->has_ts ? q->ts : 0);
	native_track_segment(&q->seg, q->egress);
	r->head = (r->head + 1) % PIPELINE;
	r->count--;
}

static void drain(struct replay *r)
{
	while (r->count)
		track_oldest(r);
}

/* Segments are tracked PIPELINE segments after they are parsed, in order;
 * when parsed, the bucket headers they will need start loading, WAYS_AHEAD
 * segments later the ways, LATER segments after that what the ways lead
 * to (native.h). Frames that are not TCP segments leave the core untouched
 * (a malformed one is counted when parsed). */
static void queue(struct replay *r, const struct capture_packet *p, const struct frame *f,
		  __u32 ifindex)
{
	struct pending *q;

	if (r->count == PIPELINE)
		track_oldest(r);
	q = &r->ring[(r->head + r->count) % PIPELINE];
	if (!native_parse(f->data, f->end, p->len - p->caplen, ifindex, &q->seg))
		return;
	r->count++;
	q->ts = p->ts_ns;
	q->has_ts = p->has_ts;
	q->later = 0;
	q->egress = direction_of(r, f, p);
	native_prefetch_heads(&q->seg);
	if (r->count > WAYS_AHEAD) {
		struct pending *w = &r->ring[(r->head + r->count - 1 - WAYS_AHEAD) % PIPELINE];

		w->later = (__u8)native_prefetch_ways(&w->seg);
	}
	if (r->count > WAYS_AHEAD + LATER) {
		struct pending *l = &r->ring[(r->head + r->count - 1 - WAYS_AHEAD - LATER) % PIPELINE];

		if (l->later)
			native_prefetch_later(&l->seg, l->later);
	}
}

static enum capture_result read_all(struct replay *r)
{
	struct capture_packet p;
	enum capture_result rc;
	struct frame f;

	while ((rc = capture_next(&r->cap, &p)) == CAPTURE_PACKET) {
		int slot;

		r->packets++;
		if (r->progress && !(r->packets % PROGRESS_EVERY))
			progress_tick(r);
		if (p.has_ts) {
			if (p.ts_ns < r->read_ts)
				r->backwards++;
			else
				r->read_ts = p.ts_ns;
		}
		slot = slot_of(r, &p);
		if (slot == NO_SLOT) {
			r->unsupported++;
			continue;
		}
		if (p.caplen < p.len)
			r->snap_truncated++;
		if (!frame_from(&f, p.linktype, p.data, p.caplen, &r->scratch)) {
			native.stats[slot].unparsed++;   /* its link-layer header is cut off */
			continue;
		}
		queue(r, &p, &f, (__u32)slot + 1);
	}
	drain(r);
	if (r->progress)
		fputs("\r\033[K", stderr);
	return rc;
}

/* ---- the answer ---- */

/* The snapshot the live reader would take at capture time now, from the
 * native tables. */
static int take_snapshot(struct replay *r, __u64 now)
{
	struct snapshot *s = &r->snap;
	struct port_snapshot row;
	__u32 slot, used;
	int i;

	s->mono_s = (double)now / 1e9;
	for (i = 0; i < s->nr_ifaces; i++) {
		s->iface[i].stats = native.stats[i];
		memcpy(s->iface[i].hist, &native.hists[i * H_MAX], sizeof(s->iface[i].hist));
		snapshot_gauges(&s->iface[i], &report, (__u32)i);
		s->iface[i].half_open += (__s64)half_open_evicted(
			&native.half_open_evictions[i], fsm_coarse(now),
			(__u32)((cfg.syn_timeout_ns + (1ull << FSM_COARSE_SHIFT) - 1) >> FSM_COARSE_SHIFT));
	}
	s->hs_capacity = (__u64)r->geo.hs_buckets * HS_WAYS;
	s->flow_capacity = (__u64)r->geo.flow_buckets * FLOW_WAYS + r->geo.spill_max;
	/* Port slots: per-interface "other" slots, then handed-out slots. */
	used = next_port_slot + MAX_IFACES;
	if (used > r->geo.port_slots)
		used = r->geo.port_slots;
	for (slot = 0; slot < used; slot++) {
		struct port_owner owner = { .iface = (__u8)slot };

		if (slot >= MAX_IFACES) {
			owner = native.port_owner[slot];
			if (!owner.port)
				continue;
		}
		if (owner.iface >= s->nr_ifaces)
			continue;
		port_row_of(&row, owner.iface, slot < MAX_IFACES ? 0 : owner.port, &native.port_stats[slot],
			    slot < PORT_SLOTS_MAX ? report.port_half_open[slot] : 0);
		port_labels_update(&r->labels, &row);
	}
	return port_labels_export(&r->labels, s, s->mono_s);
}

/* The answer at the end of the capture: the live monitor's last tick (no
 * alerts from it). When the capture ends on the last tick's instant, that
 * tick's decision stands; the snapshot is taken again after the final
 * sweep, with the ports' flood views carried over. */
static int final_snapshot(struct replay *r)
{
	struct port_snapshot *before = r->snap.ports;
	int i, k, n = r->snap.nr_ports, rc;

	if (r->started && r->clock > r->last_tick) {
		flood_tick(r, r->clock, NULL);
		return r->flood_failed ? -1 : 0;
	}
	r->snap.ports = NULL;
	r->snap.nr_ports = 0;
	rc = take_snapshot(r, r->clock);
	for (i = 0; !rc && i < r->snap.nr_ports; i++)
		for (k = 0; k < n; k++)
			if (before[k].iface == r->snap.ports[i].iface && before[k].port == r->snap.ports[i].port)
				r->snap.ports[i].flood = before[k].flood;
	free(before);
	return rc;
}

static int write_outputs(struct replay *r)
{
	const struct options *o = r->o;
	struct textfile tf = { .path = o->prom_textfile };
	struct term t;
	char *body = NULL;
	size_t len = 0;
	int rc;

	r->snap.up = false;      /* written once, at the end: nothing is watching any more */
	if (!o->quiet) {
		term_init(&t, stdout, o->json);
		t.summary = true;    /* rates over the whole capture */
		t.have_prev = true;
		t.prev.mono_s = (double)r->first_ts / 1e9;
		term_show(&t, &r->snap, (double)r->clock / 1e9);
	}
	if (!o->prom_textfile)
		return 0;
	if (prom_render(&r->snap, &body, &len)) {
		log_error("rendering the metrics failed: out of memory");
		return -1;
	}
	rc = textfile_write(&tf, body, len);

	free(body);
	return rc;
}

static void report_input(const struct replay *r, double seconds)
{
	if (r->backwards)
		log_info("%s: %llu packets have timestamps earlier than a packet before them; they "
			 "were taken as happening at the latest time seen", r->label, (unsigned long long)r->backwards);
	if (r->unsupported)
		log_warn("%s: %llu packets of unsupported link types were skipped", r->label,
			 (unsigned long long)r->unsupported);
	if (r->snap_truncated)
		log_info("%s: %llu packets are cut short by the capture's snap length (counted as "
			 "unparsed where their headers are incomplete)", r->label,
			 (unsigned long long)r->snap_truncated);
	log_info("read %llu packets from %s in %.2f s (%.2f M packets/s), capture time %.3f s",
		 (unsigned long long)r->packets, r->label, seconds,
		 seconds > 0 ? (double)r->packets / seconds / 1e6 : 0,
		 r->started ? (double)(r->clock - r->first_ts) / 1e9 : 0);
}

static int setup(struct replay *r, const struct options *o)
{
	struct flood_params fp;

	r->o = o;
	r->label = strcmp(o->read_path, "-") ? o->read_path : "standard input";
	r->interval_ns = (__u64)(o->interval_s * 1e9);
	default_name(r->default_name, o->read_path);
	if (capture_open(&r->cap, o->read_path)) {
		log_error("%s", r->cap.err);
		return -1;
	}
	if (!r->cap.pcapng && !linktype_supported((int)r->cap.pf.linktype)) {
		log_error("%s has link type %u (tcpdump.org/linktypes.html), which tcpshake-mon does "
			  "not read: supported are Ethernet, Linux cooked (SLL, SLL2), raw IPv4/IPv6 and "
			  "BSD loopback", r->label, r->cap.pf.linktype);
		return -1;
	}
	geometry_from_options(&r->geo, o);
	if (native_open(r->geo.hs_buckets, r->geo.flow_buckets, r->geo.spill_max, r->geo.port_slots)) {
		log_error("not enough memory for the tables: try smaller --max-flows or --handshake-slots");
		return -1;
	}
	config_from_options(&cfg, o, &r->geo, o->seed, NULL, 0);
	if (floodwatch_init(&r->flood, options_flood_params(&fp, o), cfg.hash_seed, MAX_IFACES)) {
		log_error("out of memory for the SYN-flood sketches");
		return -1;
	}
	if (alerter_start(&r->alerter, NULL, 0, o->syslog))
		return -1;
	r->alerter_on = true;
	port_labels_init(&r->labels, o->max_ports);
	if (open_events(r))
		return -1;
	r->progress = !o->quiet && r->cap.size && isatty(STDERR_FILENO);
	r->t_start = clock_mono_now();
	return 0;
}

static void teardown(struct replay *r)
{
	close_events(r);
	capture_close(&r->cap);
	snapshot_free(&r->snap);
	if (r->alerter_on)
		alerter_stop(&r->alerter);
	floodwatch_free(&r->flood);
	native_close();
}

int replay_main(const struct options *o)
{
	/* Zeroed pages from the allocator, touched only where used: the port
	 * labels alone are megabytes, mostly never written. */
	struct replay *r = calloc(1, sizeof(*r));
	enum capture_result rc;
	int status = 0;

	if (!r) {
		log_error("out of memory for the replay state");
		return 1;
	}
	if (setup(r, o)) {
		teardown(r);
		free(r);
		return 1;
	}
	rc = read_all(r);
	if (rc == CAPTURE_TRUNCATED) {
		log_warn("%s ends inside a record (%s): reporting the %llu packets before it", r->label,
			 r->cap.err, (unsigned long long)r->packets);
	} else if (rc == CAPTURE_ERROR) {
		log_error("%s cannot be read past packet %llu (%s): reporting what came before", r->label,
			  (unsigned long long)r->packets, r->cap.err);
		status = 1;
	}
	finish_clock(r);
	report_input(r, clock_mono_now() - r->t_start);
	if (!r->snap.nr_ifaces)
		slot_named(r, r->default_name);
	if (close_events(r) || final_snapshot(r) || write_outputs(r) || r->flood_failed)
		status = 1;
	teardown(r);
	free(r);
	return status;
}
