// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "events.h"
#include "log.h"
#include "names.h"
#include "tcpshake/fsm.h"

double clock_mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* clk's time ms milliseconds from now, for the timed waits below. */
static struct timespec clock_after_ms(clockid_t clk, long ms)
{
	struct timespec t;

	clock_gettime(clk, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

double clock_mono_to_wall(void)
{
	struct timespec m, w;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &w);
	return ((double)w.tv_sec + w.tv_nsec / 1e9) - ((double)m.tv_sec + m.tv_nsec / 1e9);
}

/*
 * The event line is formatted by hand into one buffer: byte for byte what
 * json-c printed with JSON_C_TO_STRING_PLAIN (tests/unit/test_event_format.c
 * compares the two), without an object tree and a dozen allocations per
 * event, so the writer keeps up with over a million events per second.
 */

struct line {
	char *p, *end;
	bool overflow;
};

/* put, key and put_name inline into event_format, where their strings are
 * literals: the lengths fold and each copy is a few moves instead of a call
 * (about 2x faster formatting). */
static inline __attribute__((always_inline)) void put(struct line *l, const char *s, size_t n)
{
	if ((size_t)(l->end - l->p) < n) {
		l->overflow = true;
		return;
	}
	memcpy(l->p, s, n);
	l->p += n;
}

static void put_u64(struct line *l, unsigned long long v)
{
	char digits[20];
	int n = 0;

	do {
		digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(l, digits + sizeof(digits) - n, (size_t)n);
}

/* A JSON string escaped as json-c's json_escape_str does: the short escapes,
 * "\/" for '/', \u00xx (lower-case hex) for other control characters. */
static void put_string(struct line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	put(l, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = { '\\', 0, '0', '0', 0, 0 };
		size_t n = 2;

		switch (c) {
		case '\b': esc[1] = 'b'; break;
		case '\t': esc[1] = 't'; break;
		case '\n': esc[1] = 'n'; break;
		case '\f': esc[1] = 'f'; break;
		case '\r': esc[1] = 'r'; break;
		case '"': case '\\': case '/': esc[1] = (char)c; break;
		default:
			if (c >= ' ')
				continue;
			esc[1] = 'u';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		put(l, run, (size_t)(s - run));
		put(l, esc, n);
		run = s + 1;
	}
	put(l, run, (size_t)(s - run));
	put(l, "\"", 1);
}

/* "name": after a comma unless it is the object's first key. */
static inline __attribute__((always_inline)) void key(struct line *l, const char *name)
{
	size_t n = strlen(name);
	char *p = l->p;

	if ((size_t)(l->end - p) < n + 4) {
		l->overflow = true;
		return;
	}
	if (p[-1] != '{')
		*p++ = ',';
	*p++ = '"';
	memcpy(p, name, n);
	p += n;
	*p++ = '"';
	*p++ = ':';
	l->p = p;
}

static void put_bool(struct line *l, bool v)
{
	put(l, v ? "true" : "false", v ? 4 : 5);
}

/* Digits of v, exactly width of them (v < 10^width). */
static void put_digits(struct line *l, unsigned long v, int width)
{
	char digits[12];
	int i;

	for (i = width - 1; i >= 0; i--, v /= 10)
		digits[i] = (char)('0' + v % 10);
	put(l, digits, (size_t)width);
}

/* RFC 3339, UTC, microseconds. Events come in time order, so the text up to
 * the second is reused while the second stays the same. */
static void put_rfc3339(struct line *l, double wall)
{
	static _Thread_local time_t cached_sec;
	static _Thread_local char cached[32];
	static _Thread_local size_t cached_len;
	time_t sec = (time_t)wall;
	long usec = (long)((wall - (double)sec) * 1e6 + 0.5);

	if (usec >= 1000000) {
		sec++;
		usec -= 1000000;
	}
	if (!cached_len || sec != cached_sec) {
		struct tm tm;

		gmtime_r(&sec, &tm);
		cached_len = strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
		cached_sec = sec;
	}
	put(l, cached, cached_len);
	if (usec >= 0) {
		put(l, ".", 1);
		put_digits(l, (unsigned long)usec, 6);
	} else {
		char frac[16];   /* before 1970: as printf prints it */

		put(l, frac, (size_t)snprintf(frac, sizeof(frac), ".%06ld", usec));
	}
	put(l, "Z", 1);
}

/* The same text into buf, NUL-terminated (flood alerts). */
static void rfc3339(char *buf, size_t len, double wall)
{
	struct line l = { buf, buf + len - 1, false };

	put_rfc3339(&l, wall);
	*(l.overflow ? buf : l.p) = '\0';
}

/* Names from names.c and fixed words: never anything to escape (the unit
 * test compares every one of them with json-c's escaping). */
static inline __attribute__((always_inline)) void put_name(struct line *l, const char *name)
{
	put(l, "\"", 1);
	put(l, name, strlen(name));
	put(l, "\"", 1);
}

static void put_address(struct line *l, const __u8 *a, int family)
{
	char text[INET6_ADDRSTRLEN];
	int i;

	if (family != 4) {
		inet_ntop(AF_INET6, a, text, sizeof(text));
		put_name(l, text);
		return;
	}
	put(l, "\"", 1);
	for (i = 12; i < 16; i++) {
		if (i > 12)
			put(l, ".", 1);
		put_u64(l, a[i]);
	}
	put(l, "\"", 1);
}

/* Seconds with nanosecond precision, printed exactly ("0.000084406"). */
static void put_seconds(struct line *l, __u64 from, __u64 to)
{
	char frac[10];
	__u64 ns = to - from;
	int i;

	if (!from || !to || to < from) {
		put(l, "null", 4);
		return;
	}
	put_u64(l, ns / 1000000000ull);
	frac[0] = '.';
	for (i = 9; i >= 1; i--, ns /= 10)
		frac[i] = (char)('0' + ns % 10);
	put(l, frac, sizeof(frac));
}

/* A side's payload bytes, or null where the record does not hold them
 * exactly (fsm_payload_sent). */
static void put_payload(struct line *l, const struct conn *c, int orig)
{
	__u64 bytes;

	if (fsm_payload_sent(c, orig, &bytes))
		put_u64(l, bytes);
	else
		put(l, "null", 4);
}

/* Formats the event into buf (no newline); returns its length, 0 if it does
 * not fit. */
size_t event_format(char *buf, size_t len, const struct event *ev, const char *iface,
		    double mono_to_wall)
{
	const struct conn *c = &ev->conn;
	const struct flow_key *k = &ev->key;
	__u64 start = c->t_syn ? c->t_syn : c->t_synack;
	struct line l = { buf, buf + len, false };
	char label[IFACE_LABEL_MAX];

	put(&l, "{", 1);
	key(&l, "ts");
	put(&l, "\"", 1);
	put_rfc3339(&l, (double)start / 1e9 + mono_to_wall);
	put(&l, "\"", 1);
	key(&l, "iface");
	put_string(&l, iface_json(iface, label));
	key(&l, "family");
	put_name(&l, k->family == 4 ? "ipv4" : "ipv6");
	key(&l, "src");
	put_address(&l, c->orig_is_a ? k->addr_a : k->addr_b, k->family);
	key(&l, "sport");
	put_u64(&l, ntohs(c->orig_is_a ? k->port_a : k->port_b));
	key(&l, "dst");
	put_address(&l, c->orig_is_a ? k->addr_b : k->addr_a, k->family);
	key(&l, "dport");
	put_u64(&l, ntohs(c->orig_is_a ? k->port_b : k->port_a));
	key(&l, "direction");
	put_name(&l, (c->seen & SEEN_EGRESS_ORIG) ? "outbound" : "inbound");
	key(&l, "outcome");
	put_name(&l, outcome_name(c->outcome));
	key(&l, "conn_state");
	put_name(&l, zeek_conn_state(c));
	key(&l, "icmp_type");
	if (c->outcome == OUT_UNREACHABLE)
		put_u64(&l, c->icmp_type);
	else
		put(&l, "null", 4);
	key(&l, "icmp_code");
	if (c->outcome == OUT_UNREACHABLE)
		put_u64(&l, c->icmp_code);
	else
		put(&l, "null", 4);
	key(&l, "syn_to_synack_s");
	put_seconds(&l, c->t_syn, c->t_synack);
	key(&l, "synack_to_ack_s");
	put_seconds(&l, c->t_synack, c->t_established);
	key(&l, "handshake_s");
	put_seconds(&l, c->t_syn, c->t_established);
	key(&l, "close_s");
	if (c->outcome == OUT_CLOSED)
		put_seconds(&l, c->t_fin, c->t_end);
	else
		put(&l, "null", 4);
	key(&l, "duration_s");
	put_seconds(&l, start, c->t_end);
	key(&l, "orig_bytes");
	put_payload(&l, c, 1);
	key(&l, "resp_bytes");
	put_payload(&l, c, 0);
	key(&l, "syn_retransmits");
	put_u64(&l, c->syn_retransmits);
	key(&l, "synack_retransmits");
	put_u64(&l, c->synack_retransmits);
	key(&l, "close_initiator");
	if (c->t_fin)
		put_name(&l, (c->seen & SEEN_CLOSE_RESP) ? "responder" : "originator");
	else
		put(&l, "null", 4);
	key(&l, "half_close");
	put_bool(&l, c->seen & SEEN_HALFCLOSE);
	key(&l, "simultaneous_open");
	put_bool(&l, c->seen & SEEN_SIMOPEN);
	key(&l, "simultaneous_close");
	put_bool(&l, c->seen & SEEN_SIMCLOSE);
	put(&l, "}", 1);
	return l.overflow ? 0 : (size_t)(l.p - buf);
}

char *event_to_json(const struct event *ev, const char *iface, double mono_to_wall)
{
	char buf[EVENT_LINE_MAX];
	size_t n = event_format(buf, sizeof(buf), ev, iface, mono_to_wall);

	return n ? strndup(buf, n) : NULL;
}

/* Lines waiting for the writer thread, at most this many bytes (about
 * 550 lines): the writer writes one queue while the loop fills the next,
 * and the ring buffer, in kernel memory already, is the buffer beyond. Two
 * queues' worth of heap at the most, 512 KiB (4 MiB each took the loader's
 * RSS past 16 MiB under load). */
#define EVENTS_QUEUE_BYTES (256u << 10)

/* An idle writer is woken once this much is queued, or when the loop's poll
 * ends: waking it for every staged block cost a wake-up and, on the loop's
 * own CPU, a switch to the writer and back per 16 KiB, which held the loop
 * below 1 M events/s with a producer on the other CPU. */
#define EVENTS_WAKE_BYTES (64u << 10)
_Static_assert(EVENTS_WAKE_BYTES < EVENTS_QUEUE_BYTES, "a full queue has woken the writer");

/* Interrupts the writer thread's write() when events_drain abandons the
 * output; ignored by default, so it is harmless anywhere else. */
#define WAKE_SIGNAL SIGURG

static __u64 count_lines(const char *p, size_t len)
{
	const char *end = p + len;
	__u64 n = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
		n++;
		p++;
	}
	return n;
}

static int open_output(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

/* Either thread may notice first; one line either way. */
static void mark_closed(struct events *e)
{
	if (!__atomic_exchange_n(&e->closed, true, __ATOMIC_ACQ_REL))
		log_error("the event output was closed by its reader (broken pipe): stopping");
}

/* The writer thread's side of a failed write: count the lines it lost,
 * report once per failure streak. EPIPE: nobody will ever read again. */
static void write_failed(struct events *e, int err, const char *rest, size_t len)
{
	__atomic_add_fetch(&e->write_errors, count_lines(rest, len), __ATOMIC_RELAXED);
	if (err == EPIPE) {
		mark_closed(e);
		return;
	}
	if (!e->failing)
		log_error("cannot write events to %s (%s): lost events are counted in "
			  "tcpshake_events_write_errors_total; retrying", e->path ? e->path : "stdout",
			  strerror(err));
	e->failing = true;
}

/* Lines not (wholly) written when events_drain gives up on the output. */
static void count_abandoned(struct events *e)
{
	__atomic_add_fetch(&e->dropped, count_lines(e->unwritten, e->unwritten_len), __ATOMIC_RELAXED);
	e->unwritten_len = 0;
}

/* Progress is kept in e->unwritten, for the lines left when events_drain
 * abandons the output: it interrupts a write() that blocks (WAKE_SIGNAL),
 * which returns what it wrote. */
static void write_batch(struct events *e, const char *p, size_t len)
{
	e->unwritten = p;
	e->unwritten_len = len;
	while (e->unwritten_len) {
		ssize_t n;

		if (__atomic_load_n(&e->abandon, __ATOMIC_ACQUIRE)) {
			count_abandoned(e);
			return;
		}
		n = write(e->fd, e->unwritten, e->unwritten_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			write_failed(e, n < 0 ? errno : EIO, e->unwritten, e->unwritten_len);
			e->unwritten_len = 0;
			return;
		}
		e->unwritten += n;
		e->unwritten_len -= (size_t)n;
	}
	if (e->failing)
		log_info("writing events to %s works again", e->path ? e->path : "stdout");
	e->failing = false;
}

/* SIGHUP (log rotation): the path is opened anew; lines already queued go
 * to whichever file is open when they are written, none is lost. */
static void reopen_output(struct events *e)
{
	int fd;

	if (!e->path)
		return;
	fd = open_output(e->path);
	if (fd < 0) {
		log_error("cannot reopen the event file %s (%s): still writing to the old one",
			  e->path, strerror(errno));
		return;
	}
	close(e->fd);
	e->fd = fd;
	log_info("reopened the event file %s", e->path);
}

/* The last resort, a writer that signals do not move: cancelled. (With
 * glibc 2.36 a write() cancelled after a partial write loses its count, so
 * the count is exact only as far as e->unwritten is.) */
static void writer_cancelled(void *arg)
{
	struct events *e = arg;

	count_abandoned(e);
	free(e->batch);
	e->batch = NULL;
}

static void *writer_main(void *arg)
{
	struct events *e = arg;
	size_t len, cap;
	bool reopen, stop;

	pthread_cleanup_push(writer_cancelled, e);
	for (;;) {
		pthread_mutex_lock(&e->lock);
		while (!e->qlen && !e->stopping && !e->reopen) {
			e->writer_idle = true;
			pthread_cond_wait(&e->wake, &e->lock);
		}
		e->writer_idle = false;
		e->batch = e->queue;
		len = e->qlen;
		cap = e->qcap;
		pthread_cond_signal(&e->room);
		e->queue = NULL;
		e->qlen = e->qcap = 0;
		reopen = e->reopen;
		e->reopen = false;
		stop = e->stopping;
		pthread_mutex_unlock(&e->lock);

		if (reopen)
			reopen_output(e);
		if (len && __atomic_load_n(&e->closed, __ATOMIC_ACQUIRE))
			__atomic_add_fetch(&e->write_errors, count_lines(e->batch, len), __ATOMIC_RELAXED);
		else if (len)
			write_batch(e, e->batch, len);
		/* The buffer comes back as the next queue: its pages stay mapped. */
		pthread_mutex_lock(&e->lock);
		if (!e->spare) {
			e->spare = e->batch;
			e->spare_cap = cap;
			e->batch = NULL;
		}
		pthread_mutex_unlock(&e->lock);
		free(e->batch);
		e->batch = NULL;
		if (stop && !len)
			break;
	}
	pthread_cleanup_pop(0);
	return NULL;
}

/* Wakes an idle writer for what is queued; e->lock held. */
static void wake_writer_locked(struct events *e, bool urgent)
{
	if (e->writer_idle && e->qlen && (urgent || e->qlen >= EVENTS_WAKE_BYTES)) {
		e->writer_idle = false;
		pthread_cond_signal(&e->wake);
	}
}

/* Hands len bytes of complete lines to the writer thread, with a newline
 * after them when the text has none of its own; urgent: wake the writer
 * for them now, else once EVENTS_WAKE_BYTES are queued. A full queue
 * returns -EAGAIN and takes nothing. Never blocks on the output. */
static int enqueue(struct events *e, const char *lines, size_t len, bool newline, bool urgent)
{
	size_t n = len + (newline ? 1 : 0);
	int rc = 0;

	pthread_mutex_lock(&e->lock);
	if (e->qlen + n > EVENTS_QUEUE_BYTES) {
		rc = -EAGAIN;
	} else {
		if (!e->queue && e->spare) {
			e->queue = e->spare;
			e->qcap = e->spare_cap;
			e->spare = NULL;
		}
		if (e->qlen + n > e->qcap) {
			size_t cap = e->qcap ? e->qcap : 65536;
			char *q;

			while (cap < e->qlen + n)
				cap *= 2;
			q = realloc(e->queue, cap);
			if (!q) {
				rc = -ENOMEM;
				goto out;
			}
			e->queue = q;
			e->qcap = cap;
		}
		memcpy(e->queue + e->qlen, lines, len);
		if (newline)
			e->queue[e->qlen + len] = '\n';
		e->qlen += n;
	}
out:
	wake_writer_locked(e, urgent);
	pthread_mutex_unlock(&e->lock);
	return rc;
}

static json_object *rounded(double v, int decimals)
{
	char text[48];

	snprintf(text, sizeof(text), "%.*f", decimals, v);
	return json_object_new_double_s(v, text);
}

static json_object *hits_json(const struct flood_hit *h, int n, bool ports)
{
	json_object *a = json_object_new_array();
	int k;

	for (k = 0; k < n; k++) {
		json_object *e = json_object_new_object();

		if (ports)
			json_object_object_add(e, "port", json_object_new_int(atoi(h[k].name)));
		else
			json_object_object_add(e, "prefix", json_object_new_string(h[k].name));
		json_object_object_add(e, "syn_rate", rounded(h[k].rate, 1));
		json_object_array_add(a, e);
	}
	return a;
}

char *flood_alert_to_json(const struct flood_alert *a)
{
	const struct flood_view *v = a->v, *f = a->flooded;
	json_object *o = json_object_new_object(), *ports = json_object_new_array();
	char ts[48], label[IFACE_LABEL_MAX];
	char *line;
	int k;

	json_object_object_add(o, "type", json_object_new_string("syn_flood"));
	json_object_object_add(o, "phase", json_object_new_string(a->start ? "start" : "end"));
	rfc3339(ts, sizeof(ts), a->wall_s);
	json_object_object_add(o, "ts", json_object_new_string(ts));
	json_object_object_add(o, "iface", json_object_new_string(iface_json(a->iface, label)));
	rfc3339(ts, sizeof(ts), a->started_wall_s);
	json_object_object_add(o, "started", json_object_new_string(ts));
	json_object_object_add(o, "duration_s", a->start ? NULL : rounded(a->duration_s, 1));
	json_object_object_add(o, "syn_rate", rounded(v->syn_rate, 1));
	json_object_object_add(o, "attempt_rate", rounded(v->attempt_rate, 1));
	json_object_object_add(o, "synack_rate", rounded(v->synack_rate, 1));
	json_object_object_add(o, "handshake_rate", rounded(v->handshake_rate, 1));
	json_object_object_add(o, "uncompleted_rate", rounded(v->uncompleted_rate, 1));
	json_object_object_add(o, "incomplete_share", rounded(v->incomplete_share, 4));
	json_object_object_add(o, "baseline_rate", rounded(v->baseline_rate, 1));
	json_object_object_add(o, "peak_attempt_rate", rounded(a->peak_syn_rate, 1));
	json_object_object_add(o, "half_open", json_object_new_int64(a->half_open));
	json_object_object_add(o, "half_open_growth", rounded(v->half_open_growth, 1));
	json_object_object_add(o, "syn_retransmit_share", rounded(v->syn_retransmit_share, 4));
	json_object_object_add(o, "sources", json_object_new_int64((long long)(v->sources + 0.5)));
	json_object_object_add(o, "flood_sources", json_object_new_int64((long long)(a->flood_sources + 0.5)));
	json_object_object_add(o, "top_prefixes", hits_json(f->prefixes, f->nr_prefixes, false));
	json_object_object_add(o, "top_ports", hits_json(f->ports, f->nr_ports, true));
	for (k = 0; k < a->nr_ports; k++)
		json_object_array_add(ports, json_object_new_int(a->ports[k]));
	json_object_object_add(o, "ports", ports);
	json_object_object_add(o, "alerts_total", json_object_new_uint64(v->alerts));
	line = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return line;
}

static void count_dropped(struct events *e)
{
	__atomic_add_fetch(&e->dropped, 1, __ATOMIC_RELAXED);
}

/* The staged lines are given up, counted as dropped. */
static void drop_stage(struct events *e)
{
	__atomic_add_fetch(&e->dropped, count_lines(e->stage, e->stage_len), __ATOMIC_RELAXED);
	e->stage_len = 0;
}

/* The staged lines into the queue: 0 when the stage is empty after it,
 * -EAGAIN when the queue is full (the lines stay staged). Lines the queue
 * cannot take for another reason (no memory) are counted as dropped.
 * urgent: the writer is woken for everything queued (enqueue). */
static int flush_stage(struct events *e, bool urgent)
{
	int rc;

	if (!e->stage_len) {
		if (urgent) {
			pthread_mutex_lock(&e->lock);
			wake_writer_locked(e, true);
			pthread_mutex_unlock(&e->lock);
		}
		return 0;
	}
	rc = enqueue(e, e->stage, e->stage_len, false, urgent);
	if (rc == -EAGAIN)
		return rc;
	if (rc)
		drop_stage(e);
	e->stage_len = 0;
	return 0;
}

/* Whether the stage can take another line: below its block size, or
 * flushed to get there. */
static bool stage_room(struct events *e)
{
	return e->stage_len < EVENTS_STAGE_BYTES || !flush_stage(e, false);
}

/* Lines from elsewhere (flood alerts) go through the same writer thread,
 * after the events staged before them (unless the queue is too full for
 * those: they follow at the next poll). */
void events_write_line(struct events *e, const char *line)
{
	/* An alert line has no ring to wait in: a full queue drops it, counted. */
	flush_stage(e, false);
	if (enqueue(e, line, strlen(line), true, true))
		count_dropped(e);
}

/* Each event is formatted straight into the stage, which always has room
 * for one line more than its block size. A block the full queue cannot
 * take stays staged, and the callback's error stops libbpf reading the
 * ring (which it has already advanced past this record, now staged). The
 * ring then buffers far more than the queue; only when it is full too does
 * the kernel drop, counted in events_lost_total. */
static int handle_event(void *ctx, void *data, size_t size)
{
	struct events *e = ctx;
	const struct event *ev = data;
	const char *iface;
	size_t n;

	_Static_assert(sizeof(e->stage) >= EVENTS_STAGE_BYTES + EVENT_LINE_MAX + 1,
		       "a line and its newline fit after a stage just short of a block");
	if (size < sizeof(*ev))
		return 0;
	if (e->discard) {
		count_dropped(e);
		return 0;
	}
	iface = ev->key.iface < e->names->nr_ifaces ? e->names->iface[ev->key.iface].name : "?";
	/* The line and its newline; no allocation. */
	n = event_format(e->stage + e->stage_len, EVENT_LINE_MAX, ev, iface, e->mono_to_wall);
	if (!n) {
		count_dropped(e);
		return 0;
	}
	e->stage[e->stage_len + n] = '\n';
	e->stage_len += n + 1;
	return stage_room(e) ? 0 : -EAGAIN;
}

static void on_wake_signal(int sig)
{
	(void)sig;
}

int events_open(struct events *e, int ringbuf_fd, const char *path, const struct snapshot *names)
{
	/* No SA_RESTART: the signal interrupts the writer's write(). */
	struct sigaction wake = { .sa_handler = on_wake_signal };
	pthread_condattr_t mono;

	memset(e, 0, sizeof(*e));
	e->names = names;
	e->mono_to_wall = clock_mono_to_wall();
	e->fd = -1;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->wake, NULL);
	pthread_condattr_init(&mono);
	pthread_condattr_setclock(&mono, CLOCK_MONOTONIC);
	pthread_cond_init(&e->room, &mono);
	pthread_condattr_destroy(&mono);
	if (!strcmp(path, "-")) {
		e->fd = dup(STDOUT_FILENO);
	} else {
		e->path = path;
		e->fd = open_output(path);
	}
	if (e->fd < 0) {
		log_error("cannot open the event file %s: %s", path, strerror(errno));
		events_close(e);
		return -1;
	}
	e->rb = ring_buffer__new(ringbuf_fd, handle_event, e, NULL);
	if (!e->rb) {
		log_error("cannot set up the event ring buffer: %s", strerror(errno));
		events_close(e);
		return -1;
	}
	if (sigaction(WAKE_SIGNAL, &wake, NULL) || pthread_create(&e->writer, NULL, writer_main, e)) {
		log_error("cannot start the event writer thread: out of resources");
		events_close(e);
		return -1;
	}
	e->writer_on = true;
	return 0;
}

/* A pipe or socket whose reader has gone reports POLLERR or POLLHUP even
 * before we write to it again: `--events - | head -1` ends at once. */
static bool output_gone(struct events *e)
{
	struct pollfd p = { .fd = e->fd, .events = POLLOUT };

	if (poll(&p, 1, 0) != 1 || !(p.revents & (POLLERR | POLLHUP)))
		return false;
	mark_closed(e);
	return true;
}

/* The queue is full: waits until the writer takes it, at most ms. */
static void wait_for_room(struct events *e, int ms)
{
	struct timespec until = clock_after_ms(CLOCK_MONOTONIC, ms);

	pthread_mutex_lock(&e->lock);
	while (e->qlen + e->stage_len > EVENTS_QUEUE_BYTES &&
	       !pthread_cond_timedwait(&e->room, &e->lock, &until))
		;
	pthread_mutex_unlock(&e->lock);
}

int events_poll(struct events *e, int timeout_ms)
{
	int n = stage_room(e) ? ring_buffer__poll(e->rb, timeout_ms) : -EAGAIN;

	if (n == -EAGAIN) {
		/* The writer is behind: the rest waits in the ring until it has
		 * taken the queue, instead of spinning on a ring that stays
		 * readable; a stalled output costs the loop 10 ms at a time. */
		wait_for_room(e, timeout_ms < 10 ? timeout_ms : 10);
		return events_closed(e) || output_gone(e) ? -EPIPE : 0;
	}
	if (n < 0 && n != -EINTR) {
		log_error("reading events failed: %s", strerror(-n));
		return n;
	}
	/* The kernel side wakes us only once much is pending: take whatever
	 * is there at every timeout, so events are never older than that. */
	if (n >= 0)
		ring_buffer__consume(e->rb);
	flush_stage(e, true);   /* a full queue keeps them staged for the next poll */
	return events_closed(e) || output_gone(e) ? -EPIPE : 0;
}

void events_reopen(struct events *e)
{
	pthread_mutex_lock(&e->lock);
	e->reopen = true;
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->lock);
}

bool events_closed(struct events *e)
{
	return __atomic_load_n(&e->closed, __ATOMIC_ACQUIRE);
}

void events_counts(struct events *e, __u64 *write_errors, __u64 *dropped)
{
	*write_errors = __atomic_load_n(&e->write_errors, __ATOMIC_RELAXED);
	*dropped = __atomic_load_n(&e->dropped, __ATOMIC_RELAXED);
}

/* A reader that takes no more gets EVENTS_DRAIN_S to take the ring's
 * events, and as long again for the queue's, before they are counted as
 * dropped: exit never hangs. */
#define EVENTS_DRAIN_S 2

/* The output took nothing for EVENTS_DRAIN_S: the writer counts what is
 * left as dropped instead of writing it. A write() blocked on a pipe or
 * socket is interrupted by WAKE_SIGNAL (its handler does nothing), again
 * until the thread has ended, in case the signal came just before it. */
static void abandon_writer(struct events *e)
{
	struct timespec deadline;
	__u64 before = __atomic_load_n(&e->dropped, __ATOMIC_RELAXED);
	int tries;

	__atomic_store_n(&e->abandon, true, __ATOMIC_RELEASE);
	for (tries = 0; tries < 100; tries++) {
		pthread_kill(e->writer, WAKE_SIGNAL);
		deadline = clock_after_ms(CLOCK_REALTIME, 10);
		if (!pthread_timedjoin_np(e->writer, NULL, &deadline))
			break;
	}
	if (tries == 100) {
		pthread_cancel(e->writer);
		pthread_join(e->writer, NULL);
	}
	log_error("the event output takes no more data: %llu events not written "
		  "(counted in tcpshake_events_dropped_total)",
		  (unsigned long long)(__atomic_load_n(&e->dropped, __ATOMIC_RELAXED) - before));
}

void events_drain(struct events *e)
{
	if (e->rb) {
		double give_up = clock_mono_now() + EVENTS_DRAIN_S;

		/* What waits in the ring goes to the queue as the writer makes room. */
		while (!(stage_room(e) && ring_buffer__consume(e->rb) >= 0 && !flush_stage(e, true)) &&
		       e->writer_on && !events_closed(e) && clock_mono_now() < give_up)
			wait_for_room(e, 10);
		e->discard = true;
		drop_stage(e);
		ring_buffer__consume(e->rb);   /* counts the rest */
	}
	if (e->writer_on) {
		struct timespec deadline;

		pthread_mutex_lock(&e->lock);
		e->stopping = true;
		pthread_cond_signal(&e->wake);
		pthread_mutex_unlock(&e->lock);
		deadline = clock_after_ms(CLOCK_REALTIME, EVENTS_DRAIN_S * 1000L);
		if (pthread_timedjoin_np(e->writer, NULL, &deadline))
			abandon_writer(e);
		e->writer_on = false;
	}
}

void events_close(struct events *e)
{
	events_drain(e);
	if (e->rb)
		ring_buffer__free(e->rb);
	if (e->fd >= 0)
		close(e->fd);
	free(e->queue);
	free(e->spare);
	pthread_cond_destroy(&e->wake);
	pthread_cond_destroy(&e->room);
	pthread_mutex_destroy(&e->lock);
	memset(e, 0, sizeof(*e));
	e->fd = -1;
}
