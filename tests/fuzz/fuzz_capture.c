// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness: the --read input path. Each input is a whole capture
 * file (pcap through src/pcapfile.c, or pcapng through src/pcapng.c) read
 * from memory; every packet goes through the link-layer conversion (src/frame.c)
 * into the natively compiled core, as src/replay.c does, with a sweeper
 * pass now and then. Whatever the bytes, the reader must end in a packet,
 * the end, "truncated" or one error sentence, and never read outside what
 * it was given (AddressSanitizer), and every packet it returns must lie
 * within the input or the reader's own buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
