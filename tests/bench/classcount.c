// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * make bench: instructions per packet of the shared core for each class of
 * a connection's life (tests/bpf/lifecycle.h), counted by callgrind on the
 * same source compiled natively: the deterministic half of the per-step
 * cost breakdown (bench.c times the same classes in the kernel, where no
 * counter is readable on a VM without a PMU).
 *
 * Usage: valgrind --tool=callgrind --collect-atstart=no
 *            --callgrind-out-file=DIR/class.%p classcount
 * Each class is collected alone and dumped under its own name
 * (CALLGRIND_DUMP_STATS_AT); tests/bench/run.sh reads the dumps. Run
 * without valgrind, it does the same work and counts nothing.
 */
#include <stdio.h>
#include <valgrind/callgrind.h>
#include "craft.h"
#include "harness.h"
#include "lifecycle.h"
#include "native.h"

#define CONNECTIONS 256     /* as bench's warm lifecycle: tables in cache */
#define BATCHES     3       /* the last one is counted: code and tables warm */

static __u8 frames[CONNECTIONS][256];
static size_t lengths[CONNECTIONS];

static void craft_step(const struct step_class *s, int batch)
{
	char client[32];
	int i;

	for (i = 0; i < CONNECTIONS; i++) {
		struct craft c = { .family = 4, .flags = s->flags, .seq = s->seq, .ack = s->ack,
				   .payload = s->payload };

		snprintf(client, sizeof(client), "10.%d.%d.%d", (s->refused ? 160 : 64) + batch,
			 i / 250, 1 + i % 250);
		c.src = s->from_server ? "10.255.0.1" : client;
		c.dst = s->from_server ? client : "10.255.0.1";
		c.sport = s->from_server ? 443 : 1024;
		c.dport = s->from_server ? 1024 : 443;
		lengths[i] = craft_packet(frames[i], sizeof(frames[i]), &c);
	}
}

/* Every frame through the native core, its clock 1 us on per packet. */
static void track_all(bool egress, bool counted, const char *name)
{
	int i;

	if (counted)
		CALLGRIND_TOGGLE_COLLECT;
	for (i = 0; i < CONNECTIONS; i++) {
		native.now += 1000;
		native_track(frames[i], frames[i] + lengths[i], 1, egress);
	}
	if (counted) {
		CALLGRIND_TOGGLE_COLLECT;
		CALLGRIND_DUMP_STATS_AT(name);
	}
}

int main(void)
{
	struct harness_config hc = { .hs_buckets = 1024, .flow_buckets = 2048, .events = true,
				     .backend = BACKEND_NATIVE };
	struct harness h;
	size_t k;
	int batch;

	if (harness_load(&h, &hc)) {
		fprintf(stderr, "classcount: cannot open the native tables\n");
		return 1;
	}
	printf("connections per class: %d\n", CONNECTIONS);
	native.now = 1000000000ull;
	for (batch = 0; batch < BATCHES; batch++) {
		for (k = 0; k < LIFECYCLE_STEPS; k++) {
			craft_step(&lifecycle_steps[k], batch);
			track_all(lifecycle_steps[k].from_server, batch == BATCHES - 1,
				  lifecycle_steps[k].name);
		}
	}
	/* What any frame costs before the core: a UDP datagram, parsed and
	 * counted as not TCP. */
	for (k = 0; k < CONNECTIONS; k++) {
		struct craft c = { .family = 4, .src = "10.1.1.1", .dst = "10.255.0.1", .sport = 53,
				   .dport = 53, .ip_proto = 17 };

		lengths[k] = craft_packet(frames[k], sizeof(frames[k]), &c);
	}
	track_all(false, true, "a frame that is not TCP");
	harness_close(&h);
	return 0;
}
