/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * IPv4 dialogues for the table tests through the real programs (or the
 * native core): one crafted segment, and a client of the local server
 * 10.1.0.1:80 connecting and closing. Include after cmocka.h and harness.h.
 */
#ifndef TCPSHAKE_TEST_DIALOGUE_H
#define TCPSHAKE_TEST_DIALOGUE_H

static inline void pkt(struct harness *h, enum hook hook, const char *src, __u16 sport, const char *dst,
		__u16 dport, __u8 flags, __u32 seq, __u32 ack)
{
	struct craft c = { .family = 4, .src = src, .dst = dst, .sport = sport, .dport = dport,
			   .flags = flags, .seq = seq, .ack = ack };

	assert_int_equal(harness_run_craft(h, hook, &c), hook == HOOK_XDP_IN ? 2 : -1);
}

/* A client at 10.9.x.y:port connects to the local server 10.1.0.1:80. */
static inline void connect_one(struct harness *h, const char *client, __u16 port, __u32 x, __u32 y)
{
	pkt(h, HOOK_XDP_IN, client, port, "10.1.0.1", 80, TCPF_SYN, x, 0);
	pkt(h, HOOK_TC_OUT, "10.1.0.1", 80, client, port, TCPF_SYN | TCPF_ACK, y, x + 1);
	pkt(h, HOOK_XDP_IN, client, port, "10.1.0.1", 80, TCPF_ACK, x + 1, y + 1);
}

static inline void close_one(struct harness *h, const char *client, __u16 port, __u32 x, __u32 y)
{
	pkt(h, HOOK_XDP_IN, client, port, "10.1.0.1", 80, TCPF_FIN | TCPF_ACK, x + 1, y + 1);
	pkt(h, HOOK_TC_OUT, "10.1.0.1", 80, client, port, TCPF_FIN | TCPF_ACK, y + 1, x + 2);
	pkt(h, HOOK_XDP_IN, client, port, "10.1.0.1", 80, TCPF_ACK, x + 2, y + 2);
}

#endif /* TCPSHAKE_TEST_DIALOGUE_H */
