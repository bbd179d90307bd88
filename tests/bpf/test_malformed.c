// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The malformed-packet corpus: several hundred frames a parser can trip on
 * (cut at every byte of every header, impossible IHL and data offsets,
 * IPv6 extension-header chains past the limit, VLAN stacks, fragments,
 * zero-length and jumbo frames, lengths that lie, bad checksums, bare IP
 * on layer-3 links), each run through the real XDP, tc ingress and tc
 * egress programs and through the native build of the same core. Every
 * frame must be passed on (XDP_PASS, TC_ACT_UNSPEC), and the counters must
 * move exactly as the man page says: a TCP segment counts in packets, an
 * unparsed one in unparsed and its reason, anything else nowhere.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "harness.h"
#include "names.h"
#include "tcpshake/parse.h"

#define MAX_CASES 1024
#define BIG       70000      /* a BIG TCP / jumbogram frame: native only */

struct mcase {
	char name[72];
	__u8 *buf;
	size_t len;
	bool raw_ip;             /* frame of a layer-3 link (no Ethernet header) */
	enum parse_result want;
};

static struct mcase cases[MAX_CASES];
static int nr_cases;

static void add(const char *name, const __u8 *buf, size_t len, bool raw, enum parse_result want)
{
	struct mcase *c;

	if (nr_cases >= MAX_CASES)
		fail_msg("corpus larger than MAX_CASES");
	c = &cases[nr_cases++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->buf = malloc(len ? len : 1);
	assert_non_null(c->buf);
	memcpy(c->buf, buf, len);
	c->len = len;
	c->raw_ip = raw;
	c->want = want;
}

#define V4(...) { .family = 4, .src = "10.0.0.2", .dst = "10.0.0.1", .sport = 40000, \
		  .dport = 80, .seq = 1000, .flags = TCPF_SYN, __VA_ARGS__ }
#define V6(...) { .family = 6, .src = "fd00::2", .dst = "fd00::1", .sport = 40000, \
		  .dport = 443, .seq = 1000, .flags = TCPF_SYN, __VA_ARGS__ }

static size_t build(__u8 *buf, size_t cap, struct craft c)
{
	size_t len = craft_packet(buf, cap, &c);

	assert_true(len > 0);
	return len;
}

static void put16(__u8 *p, __u16 v) { p[0] = (__u8)(v >> 8); p[1] = (__u8)v; }

/* IPv4 header checksum over the header at ip (IHL from the header). */
static void fix_ip_checksum(__u8 *ip)
{
	__u32 sum = 0, i, ihl = (ip[0] & 15u) * 4;

	ip[10] = ip[11] = 0;
	for (i = 0; i < ihl; i += 2)
		sum += (__u32)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(ip + 10, (__u16)~sum);
}

/* Every prefix of a valid frame, whose whole parses to `whole`: cut inside
 * the headers before the IP length field is complete, the frame is
 * truncated; after it, the IP length claims more than the frame holds
 * (bad_length). fixed_end is where the fixed IP header ends. */
static void add_cuts_of(const char *what, const __u8 *buf, size_t len, size_t fixed_end, bool raw,
			enum parse_result whole)
{
	char name[72];
	size_t cut;

	for (cut = 0; cut < len; cut++) {
		snprintf(name, sizeof(name), "%s cut to %zu of %zu bytes", what, cut, len);
		add(name, buf, cut, raw, cut < fixed_end ? PARSE_TRUNCATED : PARSE_BAD_LENGTH);
	}
	snprintf(name, sizeof(name), "%s whole (%zu bytes)", what, len);
	add(name, buf, len, raw, whole);
}

static void add_cuts(const char *what, const __u8 *buf, size_t len, size_t fixed_end, bool raw)
{
	add_cuts_of(what, buf, len, fixed_end, raw, PARSE_TCP);
}

static void corpus_truncations(void)
{
	__u8 b[512];
	size_t n;

	/* Ethernet, one VLAN tag, IPv4 with 8 option bytes, TCP with 12. */
	n = build(b, sizeof(b), (struct craft)V4(.vlans = 1, .ip_options = 8, .tcp_options = 12));
	add_cuts("ipv4+vlan+options", b, n, 14 + 4 + 20, false);
	/* Ethernet, QinQ, IPv6, hop-by-hop... two extension headers, TCP options. */
	n = build(b, sizeof(b), (struct craft)V4(.payload = 3));
	add_cuts("ipv4", b, n, 14 + 20, false);
	n = build(b, sizeof(b), (struct craft)V6());
	add_cuts("ipv6", b, n, 14 + 40, false);
	n = build(b, sizeof(b), (struct craft)V6(.vlans = 2, .qinq = true, .v6_ext = 2, .tcp_options = 8));
	add_cuts("ipv6+qinq+2 ext", b, n, 14 + 8 + 40, false);
	/* Bare IP (layer-3 link). */
	n = build(b, sizeof(b), (struct craft)V4(.tcp_options = 4));
	add_cuts("raw ipv4", b + 14, n - 14, 20, true);
	n = build(b, sizeof(b), (struct craft)V6(.v6_ext = 1));
	add_cuts("raw ipv6+ext", b + 14, n - 14, 40, true);
}

static void corpus_header_fields(void)
{
	char name[72];
	__u8 b[512];
	size_t n;
	int k;

	/* IHL: below 5 is impossible; above 5 without options makes the IP
	 * payload shorter than a TCP header, or the header longer than the
	 * packet (payload 0: total length 40). */
	for (k = 0; k < 16; k++) {
		if (k == 5)
			continue;
		n = build(b, sizeof(b), (struct craft)V4());
		b[14] = (__u8)(0x40 | k);
		fix_ip_checksum(b + 14);
		snprintf(name, sizeof(name), "ipv4 ihl %d", k);
		add(name, b, n, false, k < 5 ? PARSE_BAD_HEADER : PARSE_BAD_LENGTH);
	}
	/* TCP data offset, payload 0: below 5 impossible, above 5 longer
	 * than the IP payload. */
	for (k = 0; k < 16; k++) {
		if (k == 5)
			continue;
		n = build(b, sizeof(b), (struct craft)V4());
		b[14 + 20 + 12] = (__u8)(k << 4);
		snprintf(name, sizeof(name), "tcp doff %d, no payload", k);
		add(name, b, n, false, k < 5 ? PARSE_BAD_HEADER : PARSE_BAD_LENGTH);
		n = build(b, sizeof(b), (struct craft)V6());
		b[14 + 40 + 12] = (__u8)(k << 4);
		snprintf(name, sizeof(name), "ipv6 tcp doff %d, no payload", k);
		add(name, b, n, false, k < 5 ? PARSE_BAD_HEADER : PARSE_BAD_LENGTH);
	}
	/* A large data offset over enough payload is options, not an error. */
	n = build(b, sizeof(b), (struct craft)V4(.payload = 40, .bad_doff = 15));
	add("tcp doff 15 over 40 payload bytes", b, n, false, PARSE_TCP);
	/* IP version against the EtherType. */
	for (k = 0; k < 16; k++) {
		if (k == 4)
			continue;
		n = build(b, sizeof(b), (struct craft)V4());
		b[14] = (__u8)(k << 4 | 5);
		snprintf(name, sizeof(name), "ethertype ipv4, version %d", k);
		add(name, b, n, false, PARSE_BAD_HEADER);
	}
	for (k = 0; k < 16; k++) {
		if (k == 6)
			continue;
		n = build(b, sizeof(b), (struct craft)V6());
		b[14] = (__u8)(k << 4);
		snprintf(name, sizeof(name), "ethertype ipv6, version %d", k);
		add(name, b, n, false, PARSE_BAD_HEADER);
	}
	/* Bare IP whose version is neither 4 nor 6: not ours (MPLS, ...). */
	for (k = 0; k < 16; k++) {
		if (k == 4 || k == 6)
			continue;
		n = build(b, sizeof(b), (struct craft)V4());
		b[14] = (__u8)(k << 4 | 5);
		snprintf(name, sizeof(name), "raw ip version %d", k);
		add(name, b + 14, n - 14, true, PARSE_OTHER);
	}
}

static void corpus_lengths(void)
{
	static const int v4_delta[] = { 1, 2, 20, 100, 1000 };
	char name[72];
	__u8 b[4096];
	size_t n, i;
	int k;

	for (i = 0; i < sizeof(v4_delta) / sizeof(v4_delta[0]); i++) {
		n = build(b, sizeof(b), (struct craft)V4(.payload = 10));
		put16(b + 16, (__u16)(n - 14 + (size_t)v4_delta[i]));
		fix_ip_checksum(b + 14);
		snprintf(name, sizeof(name), "ipv4 total length frame + %d", v4_delta[i]);
		add(name, b, n, false, PARSE_BAD_LENGTH);
		n = build(b, sizeof(b), (struct craft)V6(.payload = 10));
		put16(b + 18, (__u16)(n - 54 + (size_t)v4_delta[i]));
		snprintf(name, sizeof(name), "ipv6 payload length frame + %d", v4_delta[i]);
		add(name, b, n, false, PARSE_BAD_LENGTH);
	}
	n = build(b, sizeof(b), (struct craft)V4());
	put16(b + 16, 0xffff);
	fix_ip_checksum(b + 14);
	add("ipv4 total length 65535 in a 54-byte frame", b, n, false, PARSE_BAD_LENGTH);
	/* A zero length field means "ask the frame" only for a frame too big
	 * for the field (BIG TCP); in a small frame it is a lie. */
	n = build(b, sizeof(b), (struct craft)V4());
	put16(b + 16, 0);
	fix_ip_checksum(b + 14);
	add("ipv4 total length 0, small frame", b, n, false, PARSE_BAD_LENGTH);
	n = build(b, sizeof(b), (struct craft)V6());
	put16(b + 18, 0);
	add("ipv6 payload length 0, small frame", b, n, false, PARSE_BAD_LENGTH);
	/* Total length below the header, or below header + TCP header. */
	for (k = 1; k < 40; k += 3) {
		n = build(b, sizeof(b), (struct craft)V4());
		put16(b + 16, (__u16)k);
		fix_ip_checksum(b + 14);
		snprintf(name, sizeof(name), "ipv4 total length %d", k);
		add(name, b, n, false, PARSE_BAD_LENGTH);
	}
	for (k = 0; k < 20; k += 4) {
		n = build(b, sizeof(b), (struct craft)V6(.v6_ext = 1));
		put16(b + 18, (__u16)(8 + k));     /* the extension header, not all of TCP */
		snprintf(name, sizeof(name), "ipv6 payload length %d over ext + tcp", 8 + k);
		add(name, b, n, false, PARSE_BAD_LENGTH);
	}
	/* A frame longer than its IP packet: Ethernet padding, not an error. */
	n = build(b, sizeof(b), (struct craft)V4(.flags = TCPF_ACK));
	memset(b + n, 0, 6);
	add("ipv4 ack padded to 60 bytes", b, n + 6, false, PARSE_TCP);
	n = build(b, sizeof(b), (struct craft)V6(.flags = TCPF_ACK));
	memset(b + n, 0xee, 30);
	add("ipv6 ack with 30 trailing bytes", b, n + 30, false, PARSE_TCP);
	/* Jumbo Ethernet frames that BPF_PROG_TEST_RUN still takes whole. */
	n = build(b, sizeof(b), (struct craft)V4(.flags = TCPF_ACK, .payload = 3000));
	add("ipv4 3054-byte jumbo frame", b, n, false, PARSE_TCP);
	n = build(b, sizeof(b), (struct craft)V6(.flags = TCPF_ACK, .payload = 3000, .vlans = 1));
	add("ipv6 vlan 3078-byte jumbo frame", b, n, false, PARSE_TCP);
	/* Too short for any header (the kernel's test runs refuse below 14). */
	for (k = 0; k < 14; k++) {
		snprintf(name, sizeof(name), "%d-byte frame", k);
		add(name, b, (size_t)k, false, PARSE_TRUNCATED);
	}
}

static void corpus_big_frames(void)
{
	__u8 *b = calloc(1, BIG + 512);
	size_t n;

	assert_non_null(b);
	/* BIG TCP: a GSO packet beyond 64 KiB carries length 0; the frame's
	 * length is the truth. Native only (test runs take one page). */
	n = build(b, BIG + 512, (struct craft)V4(.flags = TCPF_ACK));
	put16(b + 16, 0);
	fix_ip_checksum(b + 14);
	add("ipv4 BIG TCP, length 0, 70000-byte frame", b, BIG, false, PARSE_TCP);
	n = build(b, BIG + 512, (struct craft)V6(.flags = TCPF_ACK));
	put16(b + 18, 0);
	add("ipv6 BIG TCP, length 0, 70000-byte frame", b, BIG, false, PARSE_TCP);
	n = build(b, BIG + 512, (struct craft)V4(.flags = TCPF_ACK, .payload = 9000 - 54));
	add("ipv4 9000-byte jumbo frame", b, n, false, PARSE_TCP);
	free(b);
}

/* IPv6 chains of extension headers of the given types (each 8 bytes). */
static size_t v6_chain(__u8 *b, size_t cap, const __u8 *types, int n, __u8 last)
{
	size_t len = build(b, cap, (struct craft)V6(.v6_ext = n));
	__u8 *next = b + 14 + 6;
	int i;

	for (i = 0; i < n; i++) {
		__u8 *ext = b + 14 + 40 + 8 * i;

		*next = types[i];
		if (types[i] == 44)
			ext[2] = ext[3] = 0;        /* first fragment */
		next = ext;
	}
	*next = last;
	return len;
}

static void corpus_ipv6_chains(void)
{
	static const __u8 kinds[] = { 0, 43, 60, 51, 44 };
	__u8 types[16], b[512];
	char name[72];
	size_t n;
	int depth, k, i;

	for (k = 0; k < 5; k++) {
		for (depth = 1; depth <= 12; depth++) {
			for (i = 0; i < depth; i++)
				types[i] = kinds[(k + i) % 5];
			n = v6_chain(b, sizeof(b), types, depth, 6);
			snprintf(name, sizeof(name), "ipv6 %d extension headers from type %u", depth, kinds[k]);
			add(name, b, n, false, depth <= IPV6_MAX_EXT ? PARSE_TCP : PARSE_IPV6_EXT_DEPTH);
		}
	}
	/* The same header type over and over: a loop as far as the walk goes. */
	for (depth = 7; depth <= 16; depth++) {
		memset(types, 0, sizeof(types));
		n = v6_chain(b, sizeof(b), types, depth, 0);
		snprintf(name, sizeof(name), "ipv6 %d hop-by-hop headers, the last pointing to another", depth);
		add(name, b, n, false, PARSE_IPV6_EXT_DEPTH);
	}
	/* No next header, ESP, UDP after extension headers: not ours. */
	types[0] = 60;
	n = v6_chain(b, sizeof(b), types, 1, 59);
	add("ipv6 dest-opts then no-next-header", b, n, false, PARSE_OTHER);
	n = v6_chain(b, sizeof(b), types, 1, 50);
	add("ipv6 dest-opts then ESP", b, n, false, PARSE_OTHER);
	n = v6_chain(b, sizeof(b), types, 1, 17);
	add("ipv6 dest-opts then UDP", b, n, false, PARSE_OTHER);
	/* An extension header longer than the payload. */
	for (k = 1; k < 256; k += 50) {
		n = v6_chain(b, sizeof(b), types, 1, 6);
		b[14 + 40 + 1] = (__u8)k;
		snprintf(name, sizeof(name), "ipv6 dest-opts of %d bytes in a short packet", (k + 1) * 8);
		add(name, b, n, false, PARSE_BAD_LENGTH);
	}
	/* Fragments: the first carries TCP, the others do not. */
	n = build(b, sizeof(b), (struct craft)V6(.v6_frag = true, .payload = 8));
	add("ipv6 first fragment", b, n, false, PARSE_TCP);
	for (k = 1; k < 8000; k += 1111) {
		n = build(b, sizeof(b), (struct craft)V6(.v6_frag = true, .frag_offset = (__u16)k));
		snprintf(name, sizeof(name), "ipv6 fragment at offset %d", k * 8);
		add(name, b, n, false, PARSE_OTHER);
	}
}

static void corpus_vlans_and_fragments(void)
{
	char name[72];
	__u8 b[512];
	size_t n;
	int k;

	for (k = 0; k <= 10; k++) {
		n = build(b, sizeof(b), (struct craft)V4(.vlans = k));
		snprintf(name, sizeof(name), "ipv4 under %d vlan tags", k);
		add(name, b, n, false, k <= VLAN_MAX_DEPTH ? PARSE_TCP : PARSE_VLAN_DEPTH);
		n = build(b, sizeof(b), (struct craft)V6(.vlans = k, .qinq = k > 0));
		snprintf(name, sizeof(name), "ipv6 under %d tags, outer 802.1ad", k);
		add(name, b, n, false, k <= VLAN_MAX_DEPTH ? PARSE_TCP : PARSE_VLAN_DEPTH);
	}
	/* A frame ending inside a tag is truncated, unless the depth limit
	 * came first: the tags beyond it are never read. */
	for (k = 1; k <= 5; k++) {
		n = build(b, sizeof(b), (struct craft)V4(.vlans = k));
		snprintf(name, sizeof(name), "frame ending inside vlan tag %d", k);
		add(name, b, 14 + 4 * (size_t)(k - 1) + 2, false,
		    k <= VLAN_MAX_DEPTH ? PARSE_TRUNCATED : PARSE_VLAN_DEPTH);
	}
	n = build(b, sizeof(b), (struct craft)V4(.frag_offset = 0x2000));
	add("ipv4 first fragment (MF)", b, n, false, PARSE_TCP);
	for (k = 1; k < 0x2000; k += 0x3ff) {
		n = build(b, sizeof(b), (struct craft)V4(.frag_offset = (__u16)k));
		snprintf(name, sizeof(name), "ipv4 fragment at offset %d", k * 8);
		add(name, b, n, false, PARSE_OTHER);
		n = build(b, sizeof(b), (struct craft)V4(.frag_offset = (__u16)(k | 0x2000)));
		snprintf(name, sizeof(name), "ipv4 fragment at offset %d, more follow", k * 8);
		add(name, b, n, false, PARSE_OTHER);
	}
	/* Other protocols and EtherTypes pass unseen and uncounted. */
	n = build(b, sizeof(b), (struct craft)V4(.ip_proto = 17));
	add("ipv4 udp", b, n, false, PARSE_OTHER);
	n = build(b, sizeof(b), (struct craft)V4(.ip_proto = 1));
	add("ipv4 icmp", b, n, false, PARSE_OTHER);
	n = build(b, sizeof(b), (struct craft)V6(.ip_proto = 58));
	add("ipv6 icmpv6", b, n, false, PARSE_OTHER);
	n = build(b, sizeof(b), (struct craft)V4());
	put16(b + 12, 0x0806);
	add("arp ethertype", b, n, false, PARSE_OTHER);
	put16(b + 12, 0x88cc);
	add("lldp ethertype", b, n, false, PARSE_OTHER);
	put16(b + 12, 0x8847);
	add("mpls ethertype", b, n, false, PARSE_OTHER);
}

/* ICMP errors quoting a SYN (parse.h, parse_icmp_error()): neither a TCP
 * segment nor unparsed; every prefix is truncated or bad_length as any
 * frame's; a quote too short for the TCP ports and sequence number, an
 * error that ends no attempt, or one to another host than the quoted
 * sender is not ours. */
static void corpus_icmp_errors(void)
{
	static const struct { const char *name; __u8 family, type, code; size_t quote; const char *to;
			      enum parse_result want; } odd[] = {
		{ "icmp quote of no tcp byte", 4, 3, 1, 0, NULL, PARSE_OTHER },
		{ "icmp quote of 7 tcp bytes", 4, 3, 1, 7, NULL, PARSE_OTHER },
		{ "icmpv6 quote of 4 tcp bytes", 6, 1, 0, 4, NULL, PARSE_OTHER },
		{ "icmp fragmentation needed", 4, 3, 4, 8, NULL, PARSE_OTHER },
		{ "icmpv6 packet too big", 6, 2, 0, 8, NULL, PARSE_OTHER },
		{ "icmp to another host", 4, 3, 1, 8, "10.0.0.7", PARSE_OTHER },
		{ "icmp time exceeded", 4, 11, 0, 8, NULL, PARSE_ICMP_ERROR },
		{ "icmpv6 port unreachable, 20 bytes", 6, 1, 4, 20, NULL, PARSE_ICMP_ERROR },
	};
	struct craft v4 = V4(), v6 = V6();
	__u8 b[512];
	size_t n, i;

	n = craft_icmp_error(b, sizeof(b), &v4, "10.0.5.1", NULL, 3, 1, 8);
	add_cuts_of("icmp host unreachable", b, n, 14 + 20, false, PARSE_ICMP_ERROR);
	add_cuts_of("raw icmp host unreachable", b + 14, n - 14, 20, true, PARSE_ICMP_ERROR);
	n = craft_icmp_error(b, sizeof(b), &v6, "fd00::99", NULL, 1, 3, 8);
	add_cuts_of("icmpv6 address unreachable", b, n, 14 + 40, false, PARSE_ICMP_ERROR);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		n = craft_icmp_error(b, sizeof(b), odd[i].family == 4 ? &v4 : &v6,
				     odd[i].family == 4 ? "10.0.5.1" : "fd00::99", odd[i].to,
				     odd[i].type, odd[i].code, odd[i].quote);
		assert_true(n > 0);
		add(odd[i].name, b, n, false, odd[i].want);
	}
}

static void corpus_checksums(void)
{
	__u8 b[512];
	size_t n;

	/* Checksums are not verified (that would read every payload byte):
	 * such segments are counted like their intact twins. */
	n = build(b, sizeof(b), (struct craft)V4(.payload = 20));
	b[14 + 10] ^= 0x5a;
	add("ipv4 header checksum wrong", b, n, false, PARSE_TCP);
	n = build(b, sizeof(b), (struct craft)V4(.payload = 20));
	b[14 + 20 + 16] ^= 0xff;
	add("tcp checksum wrong", b, n, false, PARSE_TCP);
	n = build(b, sizeof(b), (struct craft)V6(.payload = 20));
	b[14 + 40 + 17] ^= 0xff;
	add("ipv6 tcp checksum wrong", b, n, false, PARSE_TCP);
}

static void build_corpus(void)
{
	if (nr_cases)
		return;
	corpus_truncations();
	corpus_header_fields();
	corpus_lengths();
	corpus_big_frames();
	corpus_ipv6_chains();
	corpus_vlans_and_fragments();
	corpus_checksums();
	corpus_icmp_errors();
}

/* Frames beyond one page: a test run would hand them to the XDP program
 * as multi-buffer frames, which a program without xdp.frags never gets on
 * a real interface, and refuse them for tc. They run natively only. */
#define TEST_RUN_MAX 3500

/* What BPF_PROG_TEST_RUN itself refuses (EINVAL) before any program runs:
 * frames shorter than an Ethernet header, and for tc skbs whose
 * EtherType promises an IP header the frame does not hold. */
static bool kernel_refuses(enum hook hook, const struct mcase *c)
{
	__u16 type = c->len >= 14 ? (__u16)(c->buf[12] << 8 | c->buf[13]) : 0;

	if (c->len < 14)
		return true;
	if (hook == HOOK_XDP_IN)
		return false;
	return (type == 0x0800 && c->len < 34) || (type == 0x86dd && c->len < 54);
}

static const char *hook_label(enum hook hook, enum backend b)
{
	if (b == BACKEND_NATIVE)
		return "native";
	return hook == HOOK_XDP_IN ? "xdp" : hook == HOOK_TC_IN ? "tc ingress" : "tc egress";
}

/* Runs the corpus part with the given link type through one hook; returns
 * the number of cases the kernel refused to run. */
static int run_corpus(enum hook hook, enum backend backend, bool raw)
{
	struct harness_config hc = { .backend = backend, .raw_ip = raw,
				     .ingress = harness_ingress_for(hook) };
	struct iface_stats before, after;
	struct harness h;
	int i, refused = 0, ran = 0;

	assert_int_equal(harness_load(&h, &hc), 0);
	for (i = 0; i < nr_cases; i++) {
		const struct mcase *c = &cases[i];
		__u64 want_unparsed[UNPARSED_MAX] = { 0 };
		int ret, r;

		if (c->raw_ip != raw || (backend == BACKEND_KERNEL && c->len > TEST_RUN_MAX))
			continue;
		harness_stats(&h, &before);
		ret = harness_run(&h, hook, c->buf, c->len, 1, NULL);
		harness_stats(&h, &after);
		if (backend == BACKEND_KERNEL && kernel_refuses(hook, c)) {
			if (ret != -EINVAL || after.packets != before.packets ||
			    after.unparsed != before.unparsed)
				fail_msg("%s via %s: the test run was expected to refuse it, returned %d",
					 c->name, hook_label(hook, backend), ret);
			refused++;
			continue;
		}
		ran++;
		if (ret != (hook == HOOK_XDP_IN ? 2 /* XDP_PASS */ : -1 /* TC_ACT_UNSPEC */))
			fail_msg("%s via %s: returned %d", c->name, hook_label(hook, backend), ret);
		if (c->want >= PARSE_UNPARSED_FIRST)
			want_unparsed[c->want - PARSE_UNPARSED_FIRST] = 1;
		if (after.packets - before.packets != (c->want == PARSE_TCP))
			fail_msg("%s via %s: packets +%llu, want +%d", c->name, hook_label(hook, backend),
				 (unsigned long long)(after.packets - before.packets), c->want == PARSE_TCP);
		if (after.unparsed - before.unparsed != (c->want >= PARSE_UNPARSED_FIRST))
			fail_msg("%s via %s: unparsed +%llu, want +%d", c->name, hook_label(hook, backend),
				 (unsigned long long)(after.unparsed - before.unparsed),
				 c->want >= PARSE_UNPARSED_FIRST);
		for (r = 0; r < UNPARSED_MAX; r++)
			if (after.unparsed_by[r] - before.unparsed_by[r] != want_unparsed[r])
				fail_msg("%s via %s: unparsed{%s} +%llu, want +%llu", c->name,
					 hook_label(hook, backend), unparsed_reason_name((unsigned)r),
					 (unsigned long long)(after.unparsed_by[r] - before.unparsed_by[r]),
					 (unsigned long long)want_unparsed[r]);
	}
	/* The sweeper still walks cleanly after the corpus. */
	assert_int_equal(harness_sweep(&h), 0);
	harness_close(&h);
	printf("  %s, %s links: %d cases run, %d refused by BPF_PROG_TEST_RUN itself\n",
	       hook_label(hook, backend), raw ? "layer-3" : "Ethernet", ran, refused);
	return refused;
}

static void test_corpus_size(void **unused)
{
	int per[PARSE_IPV6_EXT_DEPTH + 1] = { 0 }, i;

	(void)unused;
	build_corpus();
	for (i = 0; i < nr_cases; i++)
		per[cases[i].want]++;
	printf("  %d cases: %d tcp, %d other, %d icmp errors, %d truncated, %d bad_length, "
	       "%d bad_header, %d vlan_depth, %d ipv6_ext_depth\n", nr_cases, per[PARSE_TCP],
	       per[PARSE_OTHER], per[PARSE_ICMP_ERROR], per[PARSE_TRUNCATED], per[PARSE_BAD_LENGTH],
	       per[PARSE_BAD_HEADER],
	       per[PARSE_VLAN_DEPTH], per[PARSE_IPV6_EXT_DEPTH]);
	assert_true(nr_cases >= 200);
	for (i = 0; i <= PARSE_IPV6_EXT_DEPTH; i++)
		assert_true(per[i] > 0);
}

static void test_corpus_xdp(void **unused)
{
	(void)unused;
	build_corpus();
	assert_true(run_corpus(HOOK_XDP_IN, BACKEND_KERNEL, false) < nr_cases / 4);
	run_corpus(HOOK_XDP_IN, BACKEND_KERNEL, true);
}

static void test_corpus_tc(void **unused)
{
	(void)unused;
	build_corpus();
	assert_true(run_corpus(HOOK_TC_IN, BACKEND_KERNEL, false) < nr_cases / 4);
	run_corpus(HOOK_TC_IN, BACKEND_KERNEL, true);
	run_corpus(HOOK_TC_OUT, BACKEND_KERNEL, false);
	run_corpus(HOOK_TC_OUT, BACKEND_KERNEL, true);
}

/* Natively nothing is refused: the frames under 14 bytes and the BIG TCP
 * frames the kernel's test runs cannot take are checked here. */
static void test_corpus_native(void **unused)
{
	(void)unused;
	build_corpus();
	assert_int_equal(run_corpus(HOOK_TC_IN, BACKEND_NATIVE, false), 0);
	assert_int_equal(run_corpus(HOOK_TC_IN, BACKEND_NATIVE, true), 0);
}

/* A packet forwarded back out the interface it came in on was counted by
 * the ingress hook: tc egress skips it (and counts the skip). */
static void test_forwarded_hairpin_counted_once(void **unused)
{
	struct harness_config hc = { .ingress = INGRESS_TC_ONLY };
	struct iface_stats st;
	struct harness h;
	__u8 b[256];
	size_t n = build(b, sizeof(b), (struct craft)V4());

	(void)unused;
	assert_int_equal(harness_load(&h, &hc), 0);
	assert_int_equal(harness_run(&h, HOOK_TC_IN, b, n, 1, NULL), -1);
	assert_int_equal(harness_run_forwarded(&h, b, n, 1), -1);     /* back out lo */
	assert_int_equal(harness_run_forwarded(&h, b, n, 7), -1);     /* came from elsewhere */
	harness_stats(&h, &st);
	assert_int_equal(st.packets, 2);
	assert_int_equal(st.syn_packets, 2);
	assert_int_equal(st.syn_retransmits, 1);
	assert_int_equal(st.egress_duplicates, 1);
	harness_close(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_size),
		cmocka_unit_test(test_corpus_xdp),
		cmocka_unit_test(test_corpus_tc),
		cmocka_unit_test(test_corpus_native),
		cmocka_unit_test(test_forwarded_hairpin_counted_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
