// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "events.h"
#include "log.h"
#include "names.h"

double clock_mono_to_wall(void)
{
	struct timespec m, w;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &w);
	return ((double)w.tv_sec + w.tv_nsec / 1e9) - ((double)m.tv_sec + m.tv_nsec / 1e9);
}

/* RFC 3339, UTC, microseconds. */
static void rfc3339(char *buf, size_t len, double wall)
{
	time_t sec = (time_t)wall;
	long usec = (long)((wall - (double)sec) * 1e6 + 0.5);
	struct tm tm;
	size_t n;

	if (usec >= 1000000) {
		sec++;
		usec -= 1000000;
	}
	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06ldZ", usec);
}

static void address(char *buf, size_t len, const __u8 *a, int family)
{
	if (family == 4)
		inet_ntop(AF_INET, a + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a, buf, (socklen_t)len);
}

/* Seconds with nanosecond precision, printed exactly ("0.000084406"). */
static json_object *seconds_between(__u64 from, __u64 to)
{
	char text[32];
	__u64 ns;

	if (!from || !to || to < from)
		return NULL;
	ns = to - from;
	snprintf(text, sizeof(text), "%llu.%09llu", (unsigned long long)(ns / 1000000000ull),
		 (unsigned long long)(ns % 1000000000ull));
	return json_object_new_double_s((double)ns / 1e9, text);
}

char *event_to_json(const struct event *ev, const char *iface, double mono_to_wall)
{
	const struct conn *c = &ev->conn;
	const struct flow_key *k = &ev->key;
	const __u8 *src = c->orig_is_a ? k->addr_a : k->addr_b;
	const __u8 *dst = c->orig_is_a ? k->addr_b : k->addr_a;
	__u16 sport = ntohs(c->orig_is_a ? k->port_a : k->port_b);
	__u16 dport = ntohs(c->orig_is_a ? k->port_b : k->port_a);
	__u64 start = c->t_syn ? c->t_syn : c->t_synack;
	json_object *o = json_object_new_object();
	char ts[48], addr[INET6_ADDRSTRLEN];
	const char *closer = NULL;
	char *line;

	rfc3339(ts, sizeof(ts), (double)start / 1e9 + mono_to_wall);
	json_object_object_add(o, "ts", json_object_new_string(ts));
	json_object_object_add(o, "iface", json_object_new_string(iface));
	json_object_object_add(o, "family", json_object_new_string(k->family == 4 ? "ipv4" : "ipv6"));
	address(addr, sizeof(addr), src, k->family);
	json_object_object_add(o, "src", json_object_new_string(addr));
	json_object_object_add(o, "sport", json_object_new_int(sport));
	address(addr, sizeof(addr), dst, k->family);
	json_object_object_add(o, "dst", json_object_new_string(addr));
	json_object_object_add(o, "dport", json_object_new_int(dport));
	json_object_object_add(o, "direction", json_object_new_string(
		(c->seen & SEEN_LOCAL_ORIG) ? "outbound" : "inbound"));
	json_object_object_add(o, "outcome", json_object_new_string(outcome_name(c->outcome)));
	json_object_object_add(o, "conn_state", json_object_new_string(zeek_conn_state(c)));
	json_object_object_add(o, "syn_to_synack_s", seconds_between(c->t_syn, c->t_synack));
	json_object_object_add(o, "synack_to_ack_s", seconds_between(c->t_synack, c->t_established));
	json_object_object_add(o, "handshake_s", seconds_between(c->t_syn, c->t_established));
	json_object_object_add(o, "close_s", c->outcome == OUT_CLOSED ?
			       seconds_between(c->t_fin, c->t_end) : NULL);
	json_object_object_add(o, "duration_s", seconds_between(start, c->t_end));
	json_object_object_add(o, "syn_retransmits", json_object_new_int(c->syn_retransmits));
	json_object_object_add(o, "synack_retransmits", json_object_new_int(c->synack_retransmits));
	if (c->t_fin)
		closer = (c->seen & SEEN_CLOSE_RESP) ? "responder" : "originator";
	json_object_object_add(o, "close_initiator", closer ? json_object_new_string(closer) : NULL);
	json_object_object_add(o, "half_close", json_object_new_boolean(!!(c->seen & SEEN_HALFCLOSE)));
	json_object_object_add(o, "simultaneous_open", json_object_new_boolean(!!(c->seen & SEEN_SIMOPEN)));
	json_object_object_add(o, "simultaneous_close", json_object_new_boolean(!!(c->seen & SEEN_SIMCLOSE)));
	line = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return line;
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
	char ts[48];
	char *line;
	int k;

	json_object_object_add(o, "type", json_object_new_string("syn_flood"));
	json_object_object_add(o, "phase", json_object_new_string(a->start ? "start" : "end"));
	rfc3339(ts, sizeof(ts), a->wall_s);
	json_object_object_add(o, "ts", json_object_new_string(ts));
	json_object_object_add(o, "iface", json_object_new_string(a->iface));
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

void events_write_line(struct events *e, const char *line)
{
	fputs(line, e->out);
	fputc('\n', e->out);
	fflush(e->out);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct events *e = ctx;
	const struct event *ev = data;
	const char *iface;
	char *line;

	if (size < sizeof(*ev))
		return 0;
	iface = ev->key.iface < e->names->nr_ifaces ? e->names->iface[ev->key.iface].name : "?";
	line = event_to_json(ev, iface, e->mono_to_wall);
	if (!line)
		return -ENOMEM;
	fputs(line, e->out);
	fputc('\n', e->out);
	free(line);
	return 0;
}

int events_open(struct events *e, int ringbuf_fd, const char *path, const struct snapshot *names)
{
	memset(e, 0, sizeof(*e));
	e->names = names;
	e->mono_to_wall = clock_mono_to_wall();
	if (!strcmp(path, "-")) {
		e->out = stdout;
	} else {
		e->out = fopen(path, "a");
		if (!e->out) {
			log_error("cannot open the event file %s: %s", path, strerror(errno));
			return -1;
		}
		e->own_out = true;
	}
	e->rb = ring_buffer__new(ringbuf_fd, handle_event, e, NULL);
	if (!e->rb) {
		log_error("cannot set up the event ring buffer: %s", strerror(errno));
		events_close(e);
		return -1;
	}
	return 0;
}

int events_poll(struct events *e, int timeout_ms)
{
	int n = ring_buffer__poll(e->rb, timeout_ms), more;

	if (n < 0 && n != -EINTR) {
		log_error("reading events failed: %s", strerror(-n));
		return n;
	}
	/* The kernel side wakes us only once much is pending: take whatever
	 * is there at every timeout, so events are never older than that. */
	more = ring_buffer__consume(e->rb);
	if (n > 0 || more > 0)
		fflush(e->out);
	return 0;
}

void events_close(struct events *e)
{
	if (e->rb) {
		ring_buffer__consume(e->rb);
		ring_buffer__free(e->rb);
	}
	if (e->out)
		fflush(e->out);
	if (e->own_out && e->out)
		fclose(e->out);
	memset(e, 0, sizeof(*e));
}
