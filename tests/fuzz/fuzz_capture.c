// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness: the --read input path. Each input is a whole capture
 * file (pcap through src/pcapfile.c, or pcapng through src/pcapng.c) read
 * from memory; every packet goes through the link-layer conversion (src/frame.c)
 * into the natively compiled core, as src/replay.c does, with a sweeper
 * pass now and then. Whatever the bytes, the reader must end in a packet,
 * the end, "truncated" or one error sentence, and never read outside what
 * it was given (AddressSanitizer), and every packet it returns must lie
 * within the input or the reader's own buffer. The same bytes are also
 * read as a file, which the reader maps instead of reading it (src/inbuf.c),
 * and both readers must return the same packets, results and messages.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "capture.h"
#include "frame.h"
#include "geometry.h"
#include "native.h"

#define MAX_PACKETS 4096

static struct frame_scratch scratch;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_capture: %s\n", what);
	abort();
}

static void open_core(void)
{
	struct table_geometry g;
	struct options o;
	unsigned int ifindex[2] = { 1, 2 };

	options_defaults(&o);
	o.max_flows = 1024;
	o.handshake_slots = 1024;
	o.max_ports = 4;
	o.syn_timeout_s = 1;
	o.time_wait_s = 2;
	o.events_path = NULL;
	geometry_from_options(&g, &o);
	if (native_open(g.hs_buckets, g.flow_buckets, g.spill_max, g.port_slots))
		fail("out of memory opening the tables");
	config_from_options(&cfg, &o, &g, 0x5eed, ifindex, 2);
}

/* The input as a file of its own (a memfd: a regular file, so mapped). */
static FILE *as_file(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_capture", 0);
	FILE *f;

	if (fd < 0)
		fail("no memfd");
	if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET))
		fail("cannot write the memfd");
	f = fdopen(fd, "r");
	if (!f)
		fail("cannot open the memfd");
	return f;
}

/* The mapped reader against the reading one, packet by packet. */
static void same_when_mapped(const uint8_t *data, size_t size)
{
	struct capture_packet pr, pm;
	enum capture_result rr, rm;
	struct capture r, m;
	FILE *in = fmemopen((void *)data, size, "r");
	int n = 0, or, om;

	if (!in)
		return;
	or = capture_open_stream(&r, in, "fuzz");
	om = capture_open_stream(&m, as_file(data, size), "fuzz");
	if (or != om || strcmp(r.err, m.err))
		fail("mapped and read files open differently");
	if (!or && size > 64 && !(m.pcapng ? m.ng.b.map : m.pf.b.map))
		fail("a regular file was not mapped");
	while (!or && n++ < MAX_PACKETS) {
		rr = capture_next(&r, &pr);
		rm = capture_next(&m, &pm);
		if (rr != rm || strcmp(r.err, m.err))
			fail("mapped and read files end differently");
		if (rr != CAPTURE_PACKET)
			break;
		if (pr.ts_ns != pm.ts_ns || pr.has_ts != pm.has_ts || pr.caplen != pm.caplen ||
		    pr.len != pm.len || pr.linktype != pm.linktype || pr.iface != pm.iface ||
		    pr.dir != pm.dir || strcmp(pr.iface_name, pm.iface_name) ||
		    (pr.caplen && memcmp(pr.data, pm.data, pr.caplen)))
			fail("a packet differs between the mapped and the read file");
	}
	capture_close(&r);
	capture_close(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capture_packet p;
	enum capture_result rc;
	struct capture c;
	__u64 clock = 0, sweeps = 0;
	int n = 0;
	FILE *in;

	if (!size)
		return 0;
	same_when_mapped(data, size);
	in = fmemopen((void *)data, size, "r");
	if (!in)
		return 0;
	if (capture_open_stream(&c, in, "fuzz")) {
		if (!c.err[0])
			fail("open failed without a reason");
		capture_close(&c);
		return 0;
	}
	open_core();
	while (n++ < MAX_PACKETS && (rc = capture_next(&c, &p)) == CAPTURE_PACKET) {
		struct frame f;

		if (p.caplen > p.len)
			fail("more bytes captured than on the wire");
		if (p.caplen && !p.data)
			fail("a packet without data");
		if (!linktype_supported(p.linktype) ||
		    !frame_from(&f, p.linktype, p.data, p.caplen, &scratch))
			continue;
		if (f.end < f.data)
			fail("a frame that ends before it starts");
		if (p.has_ts && p.ts_ns > clock)
			clock = p.ts_ns;
		native_set_clock(clock);
		if (clock / 1000000000ull > sweeps) {
			sweeps = clock / 1000000000ull;
			native_sweep();
		}
		native_track(f.data, f.end, (p.iface & 1) + 1, f.sender);
	}
	if (n <= MAX_PACKETS && (rc == CAPTURE_ERROR || rc == CAPTURE_TRUNCATED) && !c.err[0])
		fail("an error without a reason");
	native_set_clock(clock + 600000000000ull);
	native_sweep();
	capture_close(&c);
	native_close();
	return 0;
}
