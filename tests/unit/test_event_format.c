// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The hand-written event formatter (src/events.c) against json-c, the
 * library it replaced for speed: for crafted edge cases and 200,000 random
 * events, event_to_json() must print exactly the bytes json-c prints for the
 * same object, and the line must parse back to the same values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <linux/types.h>
#include "events.h"
#include "names.h"
#include "tcpshake/fsm.h"

/* ---- the reference: the object json-c builds for an event ---- */

static void ref_rfc3339(char *buf, size_t len, double wall)
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

static json_object *ref_address(const __u8 *a, int family)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(family == 4 ? AF_INET : AF_INET6, family == 4 ? a + 12 : a, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static json_object *ref_seconds(__u64 from, __u64 to)
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

static json_object *ref_payload(const struct conn *c, int orig)
{
	__u64 bytes;

	return fsm_payload_sent(c, orig, &bytes) ? json_object_new_uint64(bytes) : NULL;
}

static json_object *reference(const struct event *ev, const char *iface, double mono_to_wall)
{
	const struct conn *c = &ev->conn;
	const struct flow_key *k = &ev->key;
	__u64 start = c->t_syn ? c->t_syn : c->t_synack;
	json_object *o = json_object_new_object();
	const char *closer = NULL;
	char ts[48];

	ref_rfc3339(ts, sizeof(ts), (double)start / 1e9 + mono_to_wall);
	json_object_object_add(o, "ts", json_object_new_string(ts));
	json_object_object_add(o, "iface", json_object_new_string(iface));
	json_object_object_add(o, "family", json_object_new_string(k->family == 4 ? "ipv4" : "ipv6"));
	json_object_object_add(o, "src", ref_address(c->orig_is_a ? k->addr_a : k->addr_b, k->family));
	json_object_object_add(o, "sport", json_object_new_int(ntohs(c->orig_is_a ? k->port_a : k->port_b)));
	json_object_object_add(o, "dst", ref_address(c->orig_is_a ? k->addr_b : k->addr_a, k->family));
	json_object_object_add(o, "dport", json_object_new_int(ntohs(c->orig_is_a ? k->port_b : k->port_a)));
	json_object_object_add(o, "direction", json_object_new_string(
		(c->seen & SEEN_EGRESS_ORIG) ? "outbound" : "inbound"));
	json_object_object_add(o, "outcome", json_object_new_string(outcome_name(c->outcome)));
	json_object_object_add(o, "conn_state", json_object_new_string(zeek_conn_state(c)));
	json_object_object_add(o, "icmp_type", c->outcome == OUT_UNREACHABLE ?
				json_object_new_int(c->icmp_type) : NULL);
	json_object_object_add(o, "icmp_code", c->outcome == OUT_UNREACHABLE ?
				json_object_new_int(c->icmp_code) : NULL);
	json_object_object_add(o, "syn_to_synack_s", ref_seconds(c->t_syn, c->t_synack));
	json_object_object_add(o, "synack_to_ack_s", ref_seconds(c->t_synack, c->t_established));
	json_object_object_add(o, "handshake_s", ref_seconds(c->t_syn, c->t_established));
	json_object_object_add(o, "close_s", c->outcome == OUT_CLOSED ? ref_seconds(c->t_fin, c->t_end) : NULL);
	json_object_object_add(o, "duration_s", ref_seconds(start, c->t_end));
	json_object_object_add(o, "orig_bytes", ref_payload(c, 1));
	json_object_object_add(o, "resp_bytes", ref_payload(c, 0));
	json_object_object_add(o, "syn_retransmits", json_object_new_int(c->syn_retransmits));
	json_object_object_add(o, "synack_retransmits", json_object_new_int(c->synack_retransmits));
	if (c->t_fin)
		closer = (c->seen & SEEN_CLOSE_RESP) ? "responder" : "originator";
	json_object_object_add(o, "close_initiator", closer ? json_object_new_string(closer) : NULL);
	json_object_object_add(o, "half_close", json_object_new_boolean(!!(c->seen & SEEN_HALFCLOSE)));
	json_object_object_add(o, "simultaneous_open", json_object_new_boolean(!!(c->seen & SEEN_SIMOPEN)));
	json_object_object_add(o, "simultaneous_close", json_object_new_boolean(!!(c->seen & SEEN_SIMCLOSE)));
	return o;
}

/* The formatter's line equals json-c's bytes and parses back to the object. */
static void check_same(const struct event *ev, const char *iface, double mono_to_wall)
{
	json_object *ref = reference(ev, iface, mono_to_wall), *back;
	char *line = event_to_json(ev, iface, mono_to_wall);

	assert_non_null(line);
	assert_string_equal(line, json_object_to_json_string_ext(ref, JSON_C_TO_STRING_PLAIN));
	back = json_tokener_parse(line);
	assert_non_null(back);
	assert_int_equal(json_object_object_length(back), json_object_object_length(ref));
	assert_string_equal(json_object_get_string(json_object_object_get(back, "iface")), iface);
	json_object_put(back);
	json_object_put(ref);
	free(line);
}

/* ---- events ---- */

static __u64 rng_state = 0x243f6a8885a308d3ull;

static __u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void set_v4(__u8 *a, __u32 host_order)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	host_order = htonl(host_order);
	memcpy(a + 12, &host_order, 4);
}

/* A random event: any family, any ports, any mix of present, absent and
 * reversed times, every seen bit and outcome, retransmit counts to 255. */
static void random_event(struct event *ev)
{
	struct conn *c = &ev->conn;
	__u64 base = rnd() % (1ull << 50);
	int i;

	memset(ev, 0, sizeof(*ev));
	ev->key.family = (rnd() & 1) ? 4 : 6;
	if (ev->key.family == 4) {
		set_v4(ev->key.addr_a, (__u32)rnd());
		set_v4(ev->key.addr_b, (__u32)rnd());
	} else {
		for (i = 0; i < 16; i++) {
			/* Runs of zeros exercise the "::" compression. */
			ev->key.addr_a[i] = (rnd() % 3) ? 0 : (__u8)rnd();
			ev->key.addr_b[i] = (__u8)rnd();
		}
	}
	ev->key.port_a = (__u16)rnd();
	ev->key.port_b = (__u16)rnd();
	c->orig_is_a = rnd() & 1;
	c->seen = (__u32)rnd();
	c->outcome = (__u8)(rnd() % (OUT_MAX + 1));
	c->syn_retransmits = (__u8)rnd();
	c->synack_retransmits = (__u8)rnd();
	/* Positions anywhere, up to 2^47 bytes and below 0 (a forged wrap). */
	c->isn_orig = (__u32)rnd();
	c->isn_resp = (__u32)rnd();
	c->pos_orig = (__u32)rnd();
	c->pos_resp = (__u32)rnd();
	c->wraps_orig = (__s16)rnd();
	c->wraps_resp = (__s16)(rnd() % 3) - 1;
	c->syn_len = (__u16)rnd();
	/* Each time is absent, or after (usually) or before the previous one. */
	{
		__u64 *t[] = { &c->t_syn, &c->t_synack, &c->t_established, &c->t_fin, &c->t_end };
		__u64 now = base;

		for (i = 0; i < 5; i++) {
			switch (rnd() % 4) {
			case 0: *t[i] = 0; break;
			case 1: *t[i] = now > 1000 ? now - rnd() % 1000 : now; break;
			default: now += rnd() % (rnd() & 1 ? 200000000000ull : 2000000ull); *t[i] = now;
			}
		}
	}
}

static void test_random_events(void **unused)
{
	static const char *const ifaces[] = { "eth0", "veth-a.100", "?", "br_lan:1" };
	struct event ev;
	int n;

	(void)unused;
	for (n = 0; n < 200000; n++) {
		random_event(&ev);
		/* Wall-clock offsets from 1970 to 2200, fractions of a microsecond. */
		check_same(&ev, ifaces[n % 4], (double)(rnd() % 7258118400ull) + (double)(rnd() % 1000000) / 1e6);
	}
}

static void test_edge_cases(void **unused)
{
	static const char *const odd_ifaces[] = {
		"", "a\"b", "back\\slash", "sl/ash", "\b\f\n\r\t", "\x01\x1f\x7f", "\xc3\xa9th0",
		"123456789012345",
	};
	struct event ev;
	size_t i;

	(void)unused;
	memset(&ev, 0, sizeof(ev));
	ev.key.family = 4;                 /* nothing seen at all: every time null */
	check_same(&ev, "eth0", 0);
	ev.conn.t_synack = 5;              /* orphan SYN-ACK: ts from t_synack */
	check_same(&ev, "eth0", 1e9);
	ev.conn.t_syn = 1;                 /* 1 ns after the epoch */
	ev.conn.t_end = 1000000000ull * 86400 * 365 * 300;   /* a 300-year connection */
	ev.conn.outcome = OUT_CLOSED;
	ev.conn.t_fin = 2;
	check_same(&ev, "eth0", 0.9999996);   /* rounds up into the next second */
	check_same(&ev, "eth0", -1.5);        /* a clock before 1970 prints as before */
	ev.key.family = 6;
	memset(ev.key.addr_a, 0xff, 16);
	ev.conn.syn_retransmits = 255;
	ev.conn.seen = ~0u;
	ev.conn.t_established = 3;         /* the largest byte count: 2^47 - 1 */
	ev.conn.wraps_orig = 0x7fff;
	ev.conn.pos_orig = 0;
	ev.conn.isn_orig = 0;
	for (i = 0; i < sizeof(odd_ifaces) / sizeof(odd_ifaces[0]); i++)
		check_same(&ev, odd_ifaces[i], 1764561600.123456);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edge_cases),
		cmocka_unit_test(test_random_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
