// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The packet parser, natively, table-driven: the same code the BPF
 * programs run. Every layer's bound and sanity check is exercised. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <linux/types.h>
#include "tcpshake/parse.h"
#include "craft.h"

#define V4(...) { .family = 4, .src = "10.0.0.2", .dst = "10.0.0.1", .sport = 40000, \
		  .dport = 80, .seq = 1000, .ack = 0, .flags = TCPF_SYN, __VA_ARGS__ }
#define V6(...) { .family = 6, .src = "fd00::2", .dst = "fd00::1", .sport = 40000, \
		  .dport = 443, .seq = 1000, .flags = TCPF_SYN, __VA_ARGS__ }

struct parse_case {
	const char *name;
	struct craft pkt;
	enum parse_result want;
	__u32 want_payload;
};

static const struct parse_case cases[] = {
	{ "ipv4 syn",             V4(),                                   PARSE_TCP, 0 },
	{ "ipv4 data",            V4(.flags = TCPF_ACK, .payload = 100),  PARSE_TCP, 100 },
	{ "ipv4 ip options",      V4(.ip_options = 12, .payload = 5),     PARSE_TCP, 5 },
	{ "ipv4 tcp options",     V4(.tcp_options = 20, .payload = 7),    PARSE_TCP, 7 },
	{ "ipv4 max tcp options", V4(.tcp_options = 40),                  PARSE_TCP, 0 },
	{ "vlan",                 V4(.vlans = 1),                         PARSE_TCP, 0 },
	{ "qinq",                 V4(.vlans = 2, .qinq = true),           PARSE_TCP, 0 },
	{ "three vlan tags",      V4(.vlans = 3),                         PARSE_TCP, 0 },
	{ "four vlan tags",       V4(.vlans = 4),                         PARSE_VLAN_DEPTH, 0 },
	{ "ipv4 udp",             V4(.ip_proto = 17),                     PARSE_OTHER, 0 },
	{ "ipv4 first fragment",  V4(.frag_offset = 0x2000 /* MF */),     PARSE_TCP, 0 },
	{ "ipv4 later fragment",  V4(.frag_offset = 0x0010),              PARSE_OTHER, 0 },
	{ "ipv4 ihl too small",   V4(.bad_ihl = 4),                       PARSE_BAD_HEADER, 0 },
	{ "ipv4 ihl past end",    V4(.bad_ihl = 15),                      PARSE_BAD_LENGTH, 0 },
	{ "tcp doff too small",   V4(.bad_doff = 4),                      PARSE_BAD_HEADER, 0 },
	{ "tcp doff past end",    V4(.bad_doff = 15),                     PARSE_BAD_LENGTH, 0 },
	{ "truncated tcp",        V4(.truncate = 1),                      PARSE_BAD_LENGTH, 0 },
	{ "truncated ip",         V4(.truncate = 30),                     PARSE_TRUNCATED, 0 },
	{ "ethernet only",        V4(.truncate = 40),                     PARSE_TRUNCATED, 0 },
	{ "ipv6 syn",             V6(),                                   PARSE_TCP, 0 },
	{ "ipv6 data",            V6(.flags = TCPF_ACK, .payload = 64),   PARSE_TCP, 64 },
	{ "ipv6 ext headers",     V6(.v6_ext = 3, .payload = 9),          PARSE_TCP, 9 },
	{ "ipv6 six ext",         V6(.v6_ext = 6),                        PARSE_TCP, 0 },
	{ "ipv6 too many ext",    V6(.v6_ext = 7),                        PARSE_IPV6_EXT_DEPTH, 0 },
	{ "ipv6 first fragment",  V6(.v6_frag = true, .payload = 3),      PARSE_TCP, 3 },
	{ "ipv6 later fragment",  V6(.v6_frag = true, .frag_offset = 5),  PARSE_OTHER, 0 },
	{ "ipv6 vlan",            V6(.vlans = 1),                         PARSE_TCP, 0 },
	{ "ipv6 udp",             V6(.ip_proto = 17),                     PARSE_OTHER, 0 },
	{ "ipv6 truncated",       V6(.truncate = 5),                      PARSE_BAD_LENGTH, 0 },
	{ "ipv6 header cut",      V6(.truncate = 30),                     PARSE_TRUNCATED, 0 },
};

static void test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *tc = &cases[i];
		__u8 buf[512];
		struct packet p = { 0 };
		size_t len = craft_packet(buf, sizeof(buf), &tc->pkt);
		enum parse_result r;

		assert_true(len > 0 || tc->want == PARSE_TRUNCATED);
		r = parse_packet(buf, buf + len, &p);
		if (r != tc->want)
			fail_msg("%s: parse result %d, want %d", tc->name, r, tc->want);
		if (r == PARSE_TCP && p.payload_len != tc->want_payload)
			fail_msg("%s: payload %u, want %u", tc->name, p.payload_len, tc->want_payload);
	}
}

static void test_fields_and_canonical_key(void **state)
{
	struct craft out = V4(.flags = TCPF_SYN | TCPF_ACK, .seq = 0xdeadbeef, .ack = 0x12345678);
	struct craft back = V4(.src = "10.0.0.1", .dst = "10.0.0.2", .sport = 80, .dport = 40000);
	struct packet a = { 0 }, b = { 0 };
	__u8 buf[256];
	__u8 mapped[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 1 };

	(void)state;
	assert_int_equal(parse_packet(buf, buf + craft_packet(buf, sizeof(buf), &out), &a), PARSE_TCP);
	assert_int_equal(a.seq, 0xdeadbeef);
	assert_int_equal(a.ack, 0x12345678);
	assert_int_equal(a.flags, TCPF_SYN | TCPF_ACK);
	assert_int_equal(a.key.family, 4);
	/* 10.0.0.1:80 is the lower endpoint, so the sender 10.0.0.2 is b. */
	assert_int_equal(a.from_a, 0);
	assert_memory_equal(a.key.addr_a, mapped, 16);
	assert_int_equal(ntohs(a.key.port_a), 80);
	assert_int_equal(ntohs(a.key.port_b), 40000);

	/* The other direction maps to the very same key. */
	assert_int_equal(parse_packet(buf, buf + craft_packet(buf, sizeof(buf), &back), &b), PARSE_TCP);
	assert_int_equal(b.from_a, 1);
	assert_memory_equal(&a.key, &b.key, sizeof(a.key));
}

static void test_ipv6_addresses(void **state)
{
	struct craft c = V6(.v6_ext = 2);
	struct packet p = { 0 };
	__u8 buf[256], want[16];

	(void)state;
	assert_int_equal(parse_packet(buf, buf + craft_packet(buf, sizeof(buf), &c), &p), PARSE_TCP);
	assert_int_equal(p.key.family, 6);
	inet_pton(AF_INET6, "fd00::1", want);
	assert_memory_equal(p.key.addr_a, want, 16);
	assert_int_equal(ntohs(p.key.port_a), 443);
}

static void test_same_address_ports_decide(void **state)
{
	struct craft c = V4(.src = "10.0.0.1", .dst = "10.0.0.1", .sport = 5000, .dport = 80);
	struct packet p = { 0 };
	__u8 buf[256];

	(void)state;
	assert_int_equal(parse_packet(buf, buf + craft_packet(buf, sizeof(buf), &c), &p), PARSE_TCP);
	assert_int_equal(p.from_a, 0);
	assert_int_equal(ntohs(p.key.port_a), 80);
}

/* An address as the key holds it: IPv6, or IPv4-mapped. */
static void key_address(int family, const char *text, __u8 out[16])
{
	memset(out, 0, 16);
	if (family == 4) {
		out[10] = out[11] = 0xff;
		inet_pton(AF_INET, text, out + 12);
	} else {
		inet_pton(AF_INET6, text, out);
	}
}

/* The key's order of endpoints (parse.h): the address words as a
 * little-endian host loads them, first word first, then the port. */
static int endpoint_before(const __u8 x[16], __u16 xport, const __u8 y[16], __u16 yport)
{
	__u64 xw[2], yw[2];

	memcpy(xw, x, 16);
	memcpy(yw, y, 16);
	if (xw[0] != yw[0])
		return xw[0] < yw[0];
	if (xw[1] != yw[1])
		return xw[1] < yw[1];
	return xport <= yport;
}

/* Both directions of a connection parse to one key, its endpoint a the
 * first in the key's order, whichever part decides: the first address
 * word, the second, or, for equal addresses, the ports. */
static void test_endpoint_order(void **state)
{
	static const struct craft pairs[] = {
		{ .family = 4, .src = "10.0.0.1", .dst = "10.0.0.2", .sport = 40000, .dport = 80 },
		{ .family = 4, .src = "10.0.0.9", .dst = "192.168.0.1", .sport = 80, .dport = 40000 },
		{ .family = 4, .src = "127.0.0.1", .dst = "127.0.0.1", .sport = 80, .dport = 40000 },
		{ .family = 4, .src = "127.0.0.1", .dst = "127.0.0.1", .sport = 40000, .dport = 80 },
		{ .family = 6, .src = "fd00::1", .dst = "fe80::1", .sport = 443, .dport = 40000 },
		{ .family = 6, .src = "fd00::1:0:0:1", .dst = "fd00::1:0:0:2", .sport = 1, .dport = 2 },
		{ .family = 6, .src = "fd00::ff00:0:0:0", .dst = "fd00::1:0:0:0", .sport = 2, .dport = 1 },
		{ .family = 6, .src = "::1", .dst = "::1", .sport = 443, .dport = 40000 },
		{ .family = 6, .src = "::1", .dst = "::1", .sport = 40000, .dport = 443 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct craft up = pairs[i], down = pairs[i];
		struct packet a = { 0 }, b = { 0 };
		__u8 buf[256], src[16], dst[16];
		int src_first;

		up.flags = down.flags = TCPF_ACK;
		down.src = up.dst;
		down.dst = up.src;
		down.sport = up.dport;
		down.dport = up.sport;
		assert_int_equal(parse_packet(buf, buf + craft_packet(buf, sizeof(buf), &up), &a),
				 PARSE_TCP);
		assert_int_equal(parse_packet(buf, buf + craft_packet(buf, sizeof(buf), &down), &b),
				 PARSE_TCP);
		key_address(up.family, up.src, src);
		key_address(up.family, up.dst, dst);
		src_first = endpoint_before(src, up.sport, dst, up.dport);
		assert_int_equal(a.from_a, src_first);
		assert_int_equal(b.from_a, !src_first);
		assert_memory_equal(a.key.addr_a, src_first ? src : dst, 16);
		assert_memory_equal(a.key.addr_b, src_first ? dst : src, 16);
		assert_int_equal(ntohs(a.key.port_a), src_first ? up.sport : up.dport);
		assert_int_equal(ntohs(a.key.port_b), src_first ? up.dport : up.sport);
		assert_memory_equal(&a.key, &b.key, sizeof(a.key));
	}
}

/* A parsed packet is whole: every byte of it is written, whatever the
 * caller's struct held (the BPF programs do not clear theirs), and what
 * only the kernel hook sets (this host's RCV.NXT for a RST) is cleared. */
static void test_parse_writes_whole_packet(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct craft c = cases[i].pkt;
		struct packet zeros, ones;
		__u8 buf[256];
		size_t len;

		if (cases[i].want != PARSE_TCP)
			continue;
		c.flags = TCPF_RST | TCPF_ACK;
		len = craft_packet(buf, sizeof(buf), &c);
		memset(&zeros, 0, sizeof(zeros));
		memset(&ones, 0xff, sizeof(ones));
		assert_int_equal(parse_packet(buf, buf + len, &zeros), PARSE_TCP);
		assert_int_equal(parse_packet(buf, buf + len, &ones), PARSE_TCP);
		if (memcmp(&zeros, &ones, sizeof(zeros)))
			fail_msg("%s: the parse left bytes of struct packet unwritten", cases[i].name);
		assert_int_equal(ones.marks, 0);
		assert_int_equal(ones.host_rcv_nxt, 0);
		assert_int_equal(ones.host_backlog, 0);
	}
}

/* An ICMP error quoting a TCP segment parses as that segment, marked
 * (PARSE_ICMP_ERROR): the key and side the segment itself parses to, its
 * sequence number, taken for a SYN, no payload, every byte written;
 * for the errors that end a connection attempt only, addressed to the
 * segment's sender, with 8 bytes of TCP quoted at least. */
/* The marks of an error that ends an attempt: also one whose quoted
 * SYN-ACK's sender drops its request (Linux: tcp_req_err()), or not. */
#define DROPS (PKT_ICMP_ERROR | PKT_ICMP_DROPS_REQUEST)
#define KEEPS PKT_ICMP_ERROR

static void test_icmp_error(void **state)
{
	static const struct {
		const char *name;
		struct craft quoted;
		const char *from, *to;
		__u8 type, code;
		size_t quote_len;
		enum parse_result want;
		__u8 marks;
	} icmp[] = {
		{ "v4 host unreachable", V4(), "10.0.5.1", NULL, 3, 1, 8, PARSE_ICMP_ERROR, DROPS },
		{ "v4 port unreachable, whole header", V4(.tcp_options = 20), "10.0.0.1", NULL, 3, 3, 40,
		  PARSE_ICMP_ERROR, KEEPS },
		{ "v4 admin prohibited", V4(.ip_options = 8), "10.0.5.1", NULL, 3, 13, 8, PARSE_ICMP_ERROR,
		  KEEPS },
		{ "v4 time exceeded", V4(), "10.0.5.1", NULL, 11, 0, 8, PARSE_ICMP_ERROR, DROPS },
		{ "v4 parameter problem", V4(), "10.0.5.1", NULL, 12, 0, 8, PARSE_ICMP_ERROR, DROPS },
		{ "v6 no route", V6(), "fd00::99", NULL, 1, 0, 8, PARSE_ICMP_ERROR, KEEPS },
		{ "v6 port unreachable", V6(), "fd00::1", NULL, 1, 4, 20, PARSE_ICMP_ERROR, DROPS },
		{ "v6 time exceeded", V6(), "fd00::99", NULL, 3, 0, 8, PARSE_ICMP_ERROR, KEEPS },
		{ "v6 parameter problem", V6(), "fd00::99", NULL, 4, 0, 8, PARSE_ICMP_ERROR, DROPS },
		{ "v4 net unreachable", V4(), "10.0.5.1", NULL, 3, 0, 8, PARSE_ICMP_ERROR, DROPS },
		{ "v4 host prohibited", V4(), "10.0.5.1", NULL, 3, 10, 8, PARSE_ICMP_ERROR, KEEPS },
		{ "v6 admin prohibited", V6(), "fd00::99", NULL, 1, 1, 8, PARSE_ICMP_ERROR, DROPS },
		{ "v6 beyond scope", V6(), "fd00::99", NULL, 1, 2, 8, PARSE_ICMP_ERROR, KEEPS },
		{ "v6 address unreachable", V6(), "fd00::99", NULL, 1, 3, 8, PARSE_ICMP_ERROR, KEEPS },
		{ "v6 reject route", V6(), "fd00::99", NULL, 1, 6, 8, PARSE_ICMP_ERROR, DROPS },
		{ "v6 unknown unreachable code", V6(), "fd00::99", NULL, 1, 9, 8, PARSE_ICMP_ERROR, DROPS },
		{ "v4 fragmentation needed", V4(), "10.0.5.1", NULL, 3, 4, 8, PARSE_OTHER, 0 },
		{ "v4 unknown unreachable code", V4(), "10.0.5.1", NULL, 3, 16, 8, PARSE_OTHER, 0 },
		{ "v4 source quench", V4(), "10.0.5.1", NULL, 4, 0, 8, PARSE_OTHER, 0 },
		{ "v4 redirect", V4(), "10.0.5.1", NULL, 5, 0, 8, PARSE_OTHER, 0 },
		{ "v4 echo reply", V4(), "10.0.5.1", NULL, 0, 0, 8, PARSE_OTHER, 0 },
		{ "v6 packet too big", V6(), "fd00::99", NULL, 2, 0, 8, PARSE_OTHER, 0 },
		{ "v6 echo request", V6(), "fd00::99", NULL, 128, 0, 8, PARSE_OTHER, 0 },
		{ "v4 quote of udp", V4(.ip_proto = 17), "10.0.5.1", NULL, 3, 3, 8, PARSE_OTHER, 0 },
		{ "v4 quote of a later fragment", V4(.frag_offset = 0x10), "10.0.5.1", NULL, 3, 1, 8,
		  PARSE_OTHER, 0 },
		{ "v4 quote of 4 tcp bytes", V4(), "10.0.5.1", NULL, 3, 1, 4, PARSE_OTHER, 0 },
		{ "v6 quote of 4 tcp bytes", V6(), "fd00::99", NULL, 1, 0, 4, PARSE_OTHER, 0 },
		{ "v6 quote with extension headers", V6(.v6_ext = 1), "fd00::99", NULL, 1, 0, 16,
		  PARSE_OTHER, 0 },
		{ "v4 to another host", V4(), "10.0.5.1", "10.0.0.9", 3, 1, 8, PARSE_OTHER, 0 },
		{ "v4 to the quoted receiver", V4(), "10.0.5.1", "10.0.0.1", 3, 1, 8, PARSE_OTHER, 0 },
		{ "v6 to another host", V6(), "fd00::99", "fd00::9", 1, 0, 8, PARSE_OTHER, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(icmp) / sizeof(icmp[0]); i++) {
		struct packet seg = { 0 }, zeros, ones;
		__u8 buf[512];
		size_t len = craft_icmp_error(buf, sizeof(buf), &icmp[i].quoted, icmp[i].from,
					      icmp[i].to, icmp[i].type, icmp[i].code,
					      icmp[i].quote_len);
		enum parse_result r;

		assert_true(len > 0);
		memset(&zeros, 0, sizeof(zeros));
		memset(&ones, 0xff, sizeof(ones));
		r = parse_packet(buf, buf + len, &zeros);
		if (r != icmp[i].want)
			fail_msg("%s: parse result %d, want %d", icmp[i].name, r, icmp[i].want);
		if (r != PARSE_ICMP_ERROR)
			continue;
		assert_int_equal(parse_packet(buf, buf + len, &ones), PARSE_ICMP_ERROR);
		if (memcmp(&zeros, &ones, sizeof(zeros)))
			fail_msg("%s: the parse left bytes of struct packet unwritten", icmp[i].name);
		len = craft_packet(buf, sizeof(buf), &icmp[i].quoted);
		assert_int_equal(parse_packet(buf, buf + len, &seg), PARSE_TCP);
		assert_memory_equal(&zeros.key, &seg.key, sizeof(seg.key));
		assert_int_equal(zeros.from_a, seg.from_a);
		assert_int_equal(zeros.addr_order, seg.addr_order);
		assert_int_equal(zeros.seq, icmp[i].quoted.seq);
		assert_int_equal(zeros.flags, TCPF_SYN);
		assert_int_equal(zeros.ack, (__u32)icmp[i].type << 8 | icmp[i].code);
		assert_int_equal(zeros.payload_len, 0);
		if (zeros.marks != icmp[i].marks)
			fail_msg("%s: marks %#x, want %#x", icmp[i].name, zeros.marks, icmp[i].marks);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_fields_and_canonical_key),
		cmocka_unit_test(test_ipv6_addresses),
		cmocka_unit_test(test_same_address_ports_decide),
		cmocka_unit_test(test_endpoint_order),
		cmocka_unit_test(test_parse_writes_whole_packet),
		cmocka_unit_test(test_icmp_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
