// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The data gate (abi.h, FLOW_BLOCK_SHIFT) through the real programs: a
 * bulk stream moves only its own gate word, crossing blocks within a run
 * passes, a jump or the end of a run takes a sample, and this host's ACKs
 * mark where its peer's stream stands, so RSTs are judged against it.
 * (Split from test_tables.c.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "harness.h"
#include "names.h"
#include "tcpshake/flowhash.h"
#include "tcpshake/fsm.h"
#include "tcpshake/parse.h"
#include "tcpshake.skel.h"
#include "dialogue.h"

/* The whole flow table's headers and gates, as the kernel holds them. */
struct flow_tables_copy {
	struct flow_head head[2];
	struct flow_gate gate[2];
};

static void copy_flow_tables(struct harness *h, struct flow_tables_copy *c)
{
	__u32 k;

	for (k = 0; k < 2; k++) {
		assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(h->l.skel->maps.flow_heads), &k, &c->head[k]), 0);
		assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(h->l.skel->maps.flow_gate), &k, &c->gate[k]), 0);
	}
}

/* The one live flow record: its originator's sampled position, and its
 * gate's fields when the gate is of the record's epoch (else 0: empty). */
static __u32 live_flow(struct harness *h, __u32 *gate_fields)
{
	struct flow_tables_copy c;
	struct flow_ways ways;
	__u32 k, word;
	int i;

	copy_flow_tables(h, &c);
	for (k = 0; k < 2; k++)
		for (i = 0; i < FLOW_WAYS; i++)
			if (c.head[k].tag[i] & TAG_LIVE) {
				assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(h->l.skel->maps.flow_ways), &k, &ways), 0);
				word = c.gate[k].blocks[i];
				*gate_fields = word >> FLOW_GATE_EPOCH_SHIFT == (c.head[k].sampled[i] & FLOW_EPOCH_MASK) ?
						       word & ((1u << FLOW_GATE_EPOCH_SHIFT) - 1) : 0;
				return ways.way[i].conn.pos_orig;
			}
	fail_msg("no live flow record");
	return 0;
}

/* A gate field: the block of a sequence number, or none (UNSET). */
#define UNSET 1u   /* not a sequence number the tests use */
static __u32 field_of(__u32 seq)
{
	return seq == UNSET ? 0 : FLOW_GATE_SET | ((seq >> FLOW_BLOCK_SHIFT) & FLOW_BLOCK_MASK);
}

/* Whether gate fields hold the client's block at client_seq and the
 * server's at server_seq (which endpoint is a depends on the key's order). */
static bool gate_holds(__u32 fields, __u32 client_seq, __u32 server_seq)
{
	__u32 c = field_of(client_seq), s = field_of(server_seq);

	return fields == (c << FLOW_GATE_FIELD_BITS | s) || fields == (s << FLOW_GATE_FIELD_BITS | c);
}

/* A data segment of seg bytes from the client 10.9.0.1:port at seq. */
static void client_data(struct harness *h, __u16 port, __u32 seq, __u32 ack, __u16 seg)
{
	struct craft d = { .family = 4, .src = "10.9.0.1", .dst = "10.1.0.1", .sport = port,
			   .dport = 80, .flags = TCPF_ACK | TCPF_PSH, .seq = seq, .ack = ack,
			   .payload = seg };

	assert_int_equal(harness_run_craft(h, HOOK_XDP_IN, &d), 2);
}

/* Client data of seg bytes from seq until the next segment would pass
 * until, each acknowledged by the server, whose ACKs pass ack_hook;
 * returns where it stopped. */
static __u32 client_stream(struct harness *h, enum hook ack_hook, __u16 port, __u32 seq,
			   __u32 until, __u32 y, __u16 seg)
{
	while (seq + seg <= until) {
		client_data(h, port, seq, y + 1, seg);
		seq += seg;
		pkt(h, ack_hook, "10.1.0.1", 80, "10.9.0.1", port, TCPF_ACK, y + 1, seq);
	}
	return seq;
}

/* connect_one() as a monitor on a mirror port sees it: every segment
 * comes from the network, none from this host. */
static void connect_transit(struct harness *h, __u16 port, __u32 x, __u32 y)
{
	pkt(h, HOOK_XDP_IN, "10.9.0.1", port, "10.1.0.1", 80, TCPF_SYN, x, 0);
	pkt(h, HOOK_XDP_IN, "10.1.0.1", 80, "10.9.0.1", port, TCPF_SYN | TCPF_ACK, y, x + 1);
	pkt(h, HOOK_XDP_IN, "10.9.0.1", port, "10.1.0.1", 80, TCPF_ACK, x + 1, y + 1);
}

/* A bulk transfer through the data fast path (abi.h, FLOW_BLOCK_SHIFT),
 * seen in transit (no segment from this host): segments that stay inside
 * a block read the bucket header only, like the ACKs going back; the client's first crossing sets its block in the gate,
 * and one that enters the next block moves the block and nothing else: the
 * header stays byte for byte and the record's position at the handshake.
 * A RST at the stream's end is believed all the same (the gate's block is
 * the position it is checked against: the record's is more than the RST
 * window behind); one beyond the sender's block is doubted. A crossing
 * jump and the end of a run of FLOW_BLOCK_RUN blocks sample the record; a
 * jump inside one block passes unseen until the next crossing; a new
 * record on the tuple leaves the gate's line alone. All within one
 * sweeper tick (no sweep runs here). */
static void test_bulk_stream_moves_only_its_gate(void **unused)
{
	struct harness_config hc = { .flow_buckets = 2, .spill_max = 64, .ingress = INGRESS_XDP_ONLY };
	const __u32 block = 1u << FLOW_BLOCK_SHIFT;
	/* 400,000 bytes before the end of a run of FLOW_BLOCK_RUN blocks. */
	const __u32 run_end = FLOW_BLOCK_RUN << FLOW_BLOCK_SHIFT, x = run_end - 400000, y = 0x7000000;
	const __u16 seg = 1000;
	struct flow_tables_copy before, after;
	struct iface_stats st;
	struct harness h;
	__u32 seq, fields;

	(void)unused;
	assert_int_equal(harness_load(&h, &hc), 0);

	/* Connection 1: 300 kB through new blocks, the header untouched,
	 * the record's position where the handshake left it, the gate at the
	 * stream's end for the client and empty for the server. */
	connect_transit(&h, 40000, x, y);
	copy_flow_tables(&h, &before);
	seq = client_stream(&h, HOOK_XDP_IN, 40000, x + 1, x + 1 + 2 * seg, y, seg);
	assert_int_equal(field_of(seq), field_of(x + 1));
	copy_flow_tables(&h, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	seq = client_stream(&h, HOOK_XDP_IN, 40000, seq, run_end - 100000, y, seg);
	assert_true(field_of(seq) >= field_of(x + 1) + 2);
	copy_flow_tables(&h, &after);
	assert_memory_equal(before.head, after.head, sizeof(before.head));
	assert_memory_not_equal(before.gate, after.gate, sizeof(before.gate));
	assert_int_equal(live_flow(&h, &fields), x + 1);
	assert_true(gate_holds(fields, seq, UNSET));
	assert_true(seq - (x + 1) > FSM_RST_WINDOW);

	/* The client's RST at its position ends the connection. */
	pkt(&h, HOOK_XDP_IN, "10.9.0.1", 40000, "10.1.0.1", 80, TCPF_RST, seq, 0);
	harness_stats(&h, &st);
	assert_int_equal(st.closes_reset, 1);
	assert_int_equal(harness_flow_used(&h), 0);

	/* Connection 2 on the same tuple: the new record leaves the gate's
	 * line alone (its epoch empties the gate). */
	copy_flow_tables(&h, &before);
	connect_transit(&h, 40000, x, y);
	copy_flow_tables(&h, &after);
	assert_memory_equal(before.gate, after.gate, sizeof(before.gate));
	assert_int_equal(live_flow(&h, &fields), x + 1);
	assert_int_equal(fields, 0);

	/* Its stream crosses the end of the run: that segment is sampled,
	 * and the gate set from the record's positions. */
	seq = client_stream(&h, HOOK_XDP_IN, 40000, x + 1, run_end - 500, y, seg);
	assert_int_equal(live_flow(&h, &fields), x + 1);
	seq = client_stream(&h, HOOK_XDP_IN, 40000, seq, seq + seg, y, seg);
	assert_true(seq > run_end);
	assert_int_equal(live_flow(&h, &fields), seq);
	assert_true(gate_holds(fields, seq, y + 1));

	/* A segment two blocks on (a gap) is sampled too. */
	seq += 2 * block;
	client_data(&h, 40000, seq - seg, y + 1, seg);
	assert_int_equal(live_flow(&h, &fields), seq);
	assert_true(gate_holds(fields, seq, y + 1));

	/* A jump that stays inside one block (a gap the monitor did not see)
	 * reads the header only; the next crossing finds the gate behind and
	 * samples the record. */
	seq = (((seq >> FLOW_BLOCK_SHIFT) + 3) << FLOW_BLOCK_SHIFT) + seg;
	copy_flow_tables(&h, &before);
	client_data(&h, 40000, seq, y + 1, seg);
	copy_flow_tables(&h, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_not_equal(live_flow(&h, &fields), seq + seg);
	seq = (((seq >> FLOW_BLOCK_SHIFT) + 1) << FLOW_BLOCK_SHIFT) - seg / 2;
	client_data(&h, 40000, seq, y + 1, seg);
	seq += seg;
	assert_int_equal(live_flow(&h, &fields), seq);
	assert_true(gate_holds(fields, seq, y + 1));

	/* A RST beyond its sender's block is doubted, and the client's next
	 * segment shows it was not real. */
	pkt(&h, HOOK_XDP_IN, "10.9.0.1", 40000, "10.1.0.1", 80, TCPF_RST, seq + FSM_RST_WINDOW + seg, 0);
	client_data(&h, 40000, seq, y + 1, seg);
	harness_stats(&h, &st);
	assert_int_equal(st.closes_reset, 1);
	assert_int_equal(st.resets_ignored, 1);
	assert_int_equal(st.handshakes, 2);
	assert_int_equal(harness_gauge(&h, CS_ESTABLISHED), 1);
	harness_close(&h);
}

/* A gate field the server's ACKs set: the client's block at seq. */
static __u32 acked_field_of(__u32 seq)
{
	return field_of(seq) | FLOW_GATE_ACKED;
}

/* The stream to a server of this host (its SYN-ACK and ACKs leave through
 * egress): the server's ACKs keep the client's block in the gate, marked
 * FLOW_GATE_ACKED, and the client's own segments move nothing (fsm.h,
 * fsm_position_from_acks). A blind spoofer's data far ahead, crossing a
 * block, passes without a write; its RST at that data's end is doubted and
 * the client's next segment contradicts it. An ACK of the server's that
 * jumps is sampled; the client's RST where the server's ACKs are is
 * believed. */
static void test_local_stream_position_from_acks(void **unused)
{
	struct harness_config hc = { .flow_buckets = 2, .spill_max = 64, .ingress = INGRESS_XDP_ONLY };
	const __u32 block = 1u << FLOW_BLOCK_SHIFT, x = 999999, y = 0x7000000;
	const __u16 seg = 1000;
	struct flow_tables_copy before, after;
	struct iface_stats st;
	struct harness h;
	__u32 seq, fields, forged;

	(void)unused;
	assert_int_equal(harness_load(&h, &hc), 0);
	connect_one(&h, "10.9.0.1", 40000, x, y);
	seq = client_stream(&h, HOOK_TC_OUT, 40000, x + 1, x + 1 + 400000, y, seg);
	assert_int_equal(live_flow(&h, &fields), x + 1);
	assert_true(fields == acked_field_of(seq) << FLOW_GATE_FIELD_BITS ||
		    fields == acked_field_of(seq));

	/* The client's crossing moves nothing; the server's ACK of it does. */
	seq = ((seq >> FLOW_BLOCK_SHIFT) + 1) * block - seg / 2;
	pkt(&h, HOOK_TC_OUT, "10.1.0.1", 80, "10.9.0.1", 40000, TCPF_ACK, y + 1, seq);
	copy_flow_tables(&h, &before);
	client_data(&h, 40000, seq, y + 1, seg);
	seq += seg;
	copy_flow_tables(&h, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	pkt(&h, HOOK_TC_OUT, "10.1.0.1", 80, "10.9.0.1", 40000, TCPF_ACK, y + 1, seq);
	copy_flow_tables(&h, &after);
	assert_memory_equal(before.head, after.head, sizeof(before.head));
	assert_int_equal(live_flow(&h, &fields), x + 1);
	assert_true(fields == acked_field_of(seq) << FLOW_GATE_FIELD_BITS ||
		    fields == acked_field_of(seq));

	/* Forged client data 2^28 on, crossing a block: no write at all. */
	forged = ((seq + (1u << 28)) | (block - 1)) - seg / 2;
	copy_flow_tables(&h, &before);
	client_data(&h, 40000, forged, y + 1, seg);
	copy_flow_tables(&h, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	/* Its RST at the forged data's end: doubted, then contradicted. */
	pkt(&h, HOOK_XDP_IN, "10.9.0.1", 40000, "10.1.0.1", 80, TCPF_RST, forged + seg, 0);
	harness_stats(&h, &st);
	assert_int_equal(st.closes_reset, 0);
	assert_int_equal(harness_flow_used(&h), 1);
	client_data(&h, 40000, seq, y + 1, seg);
	seq += seg;
	harness_stats(&h, &st);
	assert_int_equal(st.resets_ignored, 1);
	assert_int_equal(harness_gauge(&h, CS_ESTABLISHED), 1);

	/* With the fast path off after a doubted RST, forged data reaches
	 * the state machine (and contradicts that RST), and still moves
	 * nothing: a RST at its end is doubted again. */
	pkt(&h, HOOK_XDP_IN, "10.9.0.1", 40000, "10.1.0.1", 80, TCPF_RST, seq + 0x80000000u, 0);
	client_data(&h, 40000, forged, y + 1, seg);
	assert_int_equal(live_flow(&h, &fields), x + 1);
	pkt(&h, HOOK_XDP_IN, "10.9.0.1", 40000, "10.1.0.1", 80, TCPF_RST, forged + seg, 0);
	client_data(&h, 40000, seq, y + 1, seg);
	seq += seg;
	harness_stats(&h, &st);
	assert_int_equal(st.closes_reset, 0);
	assert_int_equal(st.resets_ignored, 3);

	/* An ACK of the server's three blocks on (client data the monitor
	 * missed) is sampled: the record takes it. */
	seq += 3 * block;
	pkt(&h, HOOK_TC_OUT, "10.1.0.1", 80, "10.9.0.1", 40000, TCPF_ACK, y + 1, seq);
	assert_int_equal(live_flow(&h, &fields), seq);

	/* The client's RST at the server's ACK: believed. */
	pkt(&h, HOOK_XDP_IN, "10.9.0.1", 40000, "10.1.0.1", 80, TCPF_RST, seq, 0);
	harness_stats(&h, &st);
	assert_int_equal(st.closes_reset, 1);
	assert_int_equal(st.resets_ignored, 3);
	assert_int_equal(harness_flow_used(&h), 0);
	harness_close(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bulk_stream_moves_only_its_gate),
		cmocka_unit_test(test_local_stream_position_from_acks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
