// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness: the writers of what users and scrapers read, fed
 * hostile interface names (quotes, backslashes, newlines, control bytes,
 * invalid UTF-8) and arbitrary counter values. Each output is checked by a
 * parser of its own format, written here from the specifications and not
 * from the writers:
 *   - the Prometheus text exposition (format 0.0.4): every line is HELP,
 *     TYPE or a sample of the family just declared, label values use only
 *     the three escapes and decode to valid UTF-8, no series twice, and
 *     each interface's label is its name whenever the name is plain;
 *   - the periodic JSON lines and the event JSON: strict JSON, valid UTF-8
 *     (json-c's own validating parser), "iface" likewise;
 *   - the periodic text lines: exactly one line per interface.
 *
 * Input: names (count, then length-prefixed bytes), port rows (count, then
 * interface and port), then bytes spread over every counter and gauge.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "events.h"
#include "prom.h"
#include "term.h"

/* Enough interfaces and port rows for every label path; more only make
 * the exposition longer and the harness slower. */
/* The checkers' own branches are not instrumented: they must not steer
 * the fuzzer, and compare tracing in them took most of the time. */
#define CHECKER __attribute__((no_sanitize("coverage")))

#define MAX_NAMES 3
#define MAX_PORTS 4

struct input {
	const uint8_t *p, *end;
};

static void fail(const char *what, const char *line)
{
	fprintf(stderr, "fuzz_export: %s\n--- at:\n%.400s\n---\n", what, line ? line : "");
	abort();
}

static uint8_t byte(struct input *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

/* What is left of the input, repeated over dst: every counter gets some. */
static void spread(struct input *in, void *dst, size_t n)
{
	size_t left = (size_t)(in->end - in->p), i;
	uint8_t *d = dst;

	for (i = 0; i < n; i++)
		d[i] = left ? in->p[i % left] : 0;
}

/* ---- UTF-8 (RFC 3629), by decoding: glibc's mbrtowc still takes the
 * 5- and 6-byte forms of old, which Prometheus and JSON parsers reject ---- */

CHECKER static int valid_utf8(const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;
	static const unsigned int min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t i = 0, len, k;
	unsigned int cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0)
			len = 2, cp = s[i] & 0x1f;
		else if ((s[i] & 0xf0) == 0xe0)
			len = 3, cp = s[i] & 0x0f;
		else if ((s[i] & 0xf8) == 0xf0)
			len = 4, cp = s[i] & 0x07;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* A name shown as it is: valid UTF-8, no control character, no backslash. */
CHECKER static int plain(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;

	for (; *s; s++)
		if (*s < 0x20 || *s == 0x7f || *s == '\\')
			return 0;
	return valid_utf8(name, strlen(name));
}

/* ---- the Prometheus text format ---- */

struct family {
	char name[128];
	char type[16];
	int has_help;
};

CHECKER static int metric_char(int c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* A metric (or, without ':', label) name at *p; copied to out. */
CHECKER static int take_name(const char **p, const char *end, char *out, size_t cap, int colon)
{
	size_t n = 0;

	while (*p < end && metric_char(**p, n == 0) && (colon || **p != ':') && n + 1 < cap)
		out[n++] = *(*p)++;
	out[n] = 0;
	return n > 0;
}

/* A quoted label value; decoded into out. Only \\, \" and \n may follow a
 * backslash; a raw newline cannot occur inside a line. */
CHECKER static int take_label_value(const char **p, const char *end, char *out, size_t cap)
{
	size_t n = 0;

	if (*p >= end || **p != '"')
		return 0;
	for ((*p)++; *p < end && **p != '"'; (*p)++) {
		char c = **p;

		if (c == '\\') {
			if (++*p >= end)
				return 0;
			if (**p == 'n')
				c = '\n';
			else if (**p == '\\' || **p == '"')
				c = **p;
			else
				return 0;
		}
		if (n + 1 >= cap)
			return 0;
		out[n++] = c;
	}
	out[n] = 0;
	if (*p >= end)
		return 0;
	(*p)++;
	return valid_utf8(out, n);
}

CHECKER static int good_value(const char *v, const char *end)
{
	char buf[64], *stop;
	size_t n = (size_t)(end - v);

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, v, n);
	buf[n] = 0;
	if (!strcmp(buf, "+Inf") || !strcmp(buf, "-Inf") || !strcmp(buf, "NaN"))
		return 1;
	strtod(buf, &stop);
	return *stop == 0 && (buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9'));
}

/* One sample line of family f; the "iface" label goes to iface. */
CHECKER static void check_sample(const char *line, const char *end, const struct family *f,
			 char *iface, size_t cap)
{
	const char *p = line;
	char name[128], lname[64], value[256];
	size_t base = strlen(f->name);
	int has_le = 0;

	iface[0] = 0;
	if (!take_name(&p, end, name, sizeof(name), 1))
		fail("sample without a metric name", line);
	if (strncmp(name, f->name, base) ||
	    (name[base] && (strcmp(f->type, "histogram") ||
			    (strcmp(name + base, "_bucket") && strcmp(name + base, "_sum") &&
			     strcmp(name + base, "_count")))))
		fail("sample outside the family declared by TYPE", line);
	if (p < end && *p == '{') {
		for (p++; p < end && *p != '}';) {
			if (!take_name(&p, end, lname, sizeof(lname), 0) || p >= end || *p++ != '=')
				fail("bad label name", line);
			if (!take_label_value(&p, end, value, sizeof(value)))
				fail("bad label value (escape, quote or UTF-8)", line);
			if (!strcmp(lname, "iface"))
				snprintf(iface, cap, "%s", value);
			if (!strcmp(lname, "le"))
				has_le = 1;
			if (p < end && *p == ',')
				p++;
			else if (p < end && *p != '}')
				fail("labels not separated by commas", line);
		}
		if (p >= end)
			fail("label set not closed", line);
		p++;
	}
	if (has_le != !strcmp(name + base, "_bucket") && !strcmp(f->type, "histogram"))
		fail("le label on a bucket, and only there", line);
	if (p >= end || *p++ != ' ')
		fail("no space before the value", line);
	if (!good_value(p, end))
		fail("value is not a number", line);
}

CHECKER static void check_prom(const char *text, size_t len, const struct snapshot *s)
{
	const char *line = text, *end, *textend = text + len;
	struct family f = { .name = "" };
	char iface[256], *series[MAX_PORTS + MAX_NAMES];
	int up = 0, nseries = 0, i;

	if (len == 0 || text[len - 1] != '\n')
		fail("exposition does not end with a newline", text);
	if (strlen(text) != len)
		fail("NUL byte inside the exposition", text);
	for (; line < textend; line = end + 1) {
		end = memchr(line, '\n', (size_t)(textend - line));
		if (!strncmp(line, "# HELP ", 7)) {
			const char *p = line + 7;

			if (!take_name(&p, end, f.name, sizeof(f.name), 1) || p >= end || *p != ' ' ||
			    !valid_utf8(line, (size_t)(end - line)))
				fail("bad HELP line", line);
			f.type[0] = 0;
			f.has_help = 1;
		} else if (!strncmp(line, "# TYPE ", 7)) {
			const char *p = line + 7;
			char name[128];

			if (!take_name(&p, end, name, sizeof(name), 1) || strcmp(name, f.name) ||
			    p >= end || *p++ != ' ' || !f.has_help)
				fail("TYPE without its HELP", line);
			snprintf(f.type, sizeof(f.type), "%.*s", (int)(end - p), p);
			if (strcmp(f.type, "counter") && strcmp(f.type, "gauge") &&
			    strcmp(f.type, "histogram"))
				fail("unknown TYPE", line);
		} else if (line[0] == '#' || !f.type[0]) {
			fail("comment or sample before a TYPE", line);
		} else {
			check_sample(line, end, &f, iface, sizeof(iface));
			/* Every family has the label sets of one of these two:
			 * no series twice in them, none twice anywhere. */
			if (!strcmp(f.name, "tcpshake_up") || !strcmp(f.name, "tcpshake_handshakes_total")) {
				const char *sp = end;

				while (sp > line && *sp != ' ')
					sp--;
				series[nseries] = strndup(line, (size_t)(sp - line));
				for (i = 0; i < nseries; i++)
					if (!strcmp(series[i], series[nseries]))
						fail("a series twice", line);
				nseries++;
			}
			/* tcpshake_up: one sample per interface, in order. */
			if (!strcmp(f.name, "tcpshake_up")) {
				if (up >= s->nr_ifaces)
					fail("more up samples than interfaces", line);
				if (plain(s->iface[up].name) && strcmp(iface, s->iface[up].name))
					fail("a plain interface name not shown as it is", line);
				up++;
			}
		}
	}
	if (up != s->nr_ifaces)
		fail("not one up sample per interface", text);
	for (i = 0; i < nseries; i++)
		free(series[i]);
}

/* ---- JSON and text lines ---- */

CHECKER static json_object *parse_json(const char *text, size_t n)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)n);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != n || json_object_get_type(o) != json_type_object)
		fail("not one valid JSON object", text);
	json_tokener_free(tok);
	return o;
}

CHECKER static void check_iface_field(json_object *o, const char *name, const char *line)
{
	json_object *v;

	if (!json_object_object_get_ex(o, "iface", &v) || !json_object_is_type(v, json_type_string))
		fail("no iface string", line);
	if (plain(name) && strcmp(json_object_get_string(v), name))
		fail("a plain interface name not shown as it is", line);
}

/* One interval's output: one line per interface, JSON objects with --json. */
CHECKER static void check_lines(const char *text, const struct snapshot *s, bool json)
{
	const char *line, *nl;
	int i = 0;

	for (line = text; *line; line = nl + 1, i++) {
		nl = strchr(line, '\n');
		if (!nl)
			fail("output line without a newline", line);
		if (i >= s->nr_ifaces)
			fail("more lines than interfaces", line);
		if (json) {
			json_object *o = parse_json(line, (size_t)(nl - line));

			check_iface_field(o, s->iface[i].name, line);
			json_object_put(o);
		}
	}
	if (i != s->nr_ifaces)
		fail("not one line per interface", text);
}

/* Two intervals, so the rates are computed too: counters only grow, by
 * what the input says, over 0.1 s to 25.6 s. */
static void check_term(struct input *in, const struct snapshot *s, bool json)
{
	static struct term t;
	static struct snapshot next;
	char *text = NULL;
	size_t len = 0, k;
	FILE *f = open_memstream(&text, &len);
	int i;

	term_init(&t, f, json);
	term_show(&t, s, 1700000000.0);
	fclose(f);
	check_lines(text, s, json);
	free(text);
	text = NULL;
	t.out = f = open_memstream(&text, &len);
	next = *s;
	next.mono_s += 0.1 * (1 + byte(in));
	for (i = 0; i < next.nr_ifaces; i++) {
		__u64 *c = (__u64 *)&next.iface[i].stats;

		for (k = 0; k < sizeof(next.iface[i].stats) / sizeof(*c); k++)
			c[k] += byte(in);
		for (k = 0; k < HIST_SLOTS; k++)
			next.iface[i].hist[H_HANDSHAKE].count[k] += byte(in) & 1;
	}
	term_show(&t, &next, 1700000000.0 + next.mono_s - s->mono_s);
	fclose(f);
	check_lines(text, &next, json);
	free(text);
}

static void check_event(struct input *in, const struct snapshot *s)
{
	struct event ev;
	const char *name = s->nr_ifaces ? s->iface[0].name : "?";
	json_object *o;
	char *line;

	spread(in, &ev, sizeof(ev));
	ev.key.family = (ev.key.family & 1) ? 4 : 6;
	line = event_to_json(&ev, name, 0);
	if (!line)
		fail("event_to_json failed", NULL);
	o = parse_json(line, strlen(line));
	check_iface_field(o, name, line);
	json_object_put(o);
	free(line);
}

_Static_assert(offsetof(struct flood_view, sources) - offsetof(struct flood_view, syn_rate) ==
	       9 * sizeof(double), "the rates of flood_view are ten doubles in a row");

static void flood_view(struct input *in, struct flood_view *v)
{
	double *rate = &v->syn_rate;
	int h;

	/* The rates, syn_rate to sources: finite, from the input. */
	for (; rate <= &v->sources; rate++)
		*rate = byte(in) * 37.5;
	v->active = byte(in) & 1;
	v->since_mono_s = byte(in);
	v->alerts = byte(in);
	v->nr_prefixes = byte(in) % (FLOOD_TOP + 1);
	v->nr_ports = byte(in) % (FLOOD_TOP + 1);
	for (h = 0; h < FLOOD_TOP; h++) {
		snprintf(v->prefixes[h].name, sizeof(v->prefixes[h].name), "10.%u.%d.0/24", byte(in), h);
		v->prefixes[h].rate = byte(in) * 10.0;
		snprintf(v->ports[h].name, sizeof(v->ports[h].name), "%u", byte(in) * 8u + (unsigned)h);
		v->ports[h].rate = byte(in) * 10.0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct snapshot s;
	static struct port_snapshot ports[MAX_PORTS];
	struct input in = { data, data + size };
	char *text = NULL;
	size_t len = 0;
	int i, j, n;

	memset(&s, 0, sizeof(s));
	s.nr_ifaces = byte(&in) % (MAX_NAMES + 1);
	for (i = 0; i < s.nr_ifaces; i++) {
		n = byte(&in) % IF_NAMESIZE;
		while (n-- && in.p < in.end)
			s.iface[i].name[strlen(s.iface[i].name)] = (char)*in.p++;
		/* Interface names are unique, as the options make them. */
		for (j = 0; j < i; j++)
			if (!strcmp(s.iface[i].name, s.iface[j].name))
				return -1;
	}
	n = s.nr_ifaces ? byte(&in) % (MAX_PORTS + 1) : 0;
	for (i = 0; i < n; i++) {
		struct port_snapshot *r = &ports[s.nr_ports];

		memset(r, 0, sizeof(*r));
		r->iface = (__u8)(byte(&in) % s.nr_ifaces);
		r->port = (__u16)(byte(&in) << 8);
		r->port |= byte(&in);
		/* Port rows are unique per interface, as ports.c makes them. */
		for (j = 0; j < s.nr_ports; j++)
			if (ports[j].iface == r->iface && ports[j].port == r->port)
				break;
		if (j == s.nr_ports)
			s.nr_ports++;
	}
	for (i = 0; i < s.nr_ports; i++)
		spread(&in, &ports[i].handshakes,
		       sizeof(ports[i]) - offsetof(struct port_snapshot, handshakes));
	s.ports = ports;
	/* Counters, gauges and histograms take any value; the SYN-flood view
	 * is what floodwatch.c makes: finite rates, real flags, named hitters. */
	for (i = 0; i < s.nr_ifaces; i++) {
		size_t from = offsetof(struct iface_snapshot, stats);

		spread(&in, (char *)&s.iface[i] + from, offsetof(struct iface_snapshot, flood) - from);
		flood_view(&in, &s.iface[i].flood);
	}
	for (i = 0; i < s.nr_ports; i++) {
		struct port_flood_view *v = &ports[i].flood;

		v->syn_rate = byte(&in) * 100.0;
		v->handshake_rate = byte(&in) * 0.5;
		v->failure_rate = byte(&in) * 0.25;
		v->uncompleted_rate = byte(&in) * 3.0;
		v->p50_s = (in.p < in.end && (*in.p & 1)) ? NAN : byte(&in) * 1e-4;
		v->p99_s = byte(&in) * 1e-3;
		v->active = byte(&in) & 1;
		v->alerts = byte(&in);
		ports[i].half_open = (__s64)byte(&in) - 8;
	}
	s.hs_capacity = 4096;
	s.flow_capacity = 8192;
	s.up = size & 1;
	s.mono_s = 100;

	if (prom_render(&s, &text, &len))
		fail("prom_render failed", NULL);
	check_prom(text, len, &s);
	free(text);
	check_term(&in, &s, true);
	check_term(&in, &s, false);
	check_event(&in, &s);
	return 0;
}
