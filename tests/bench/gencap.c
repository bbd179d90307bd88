// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Writes a pcap file of short TCP connections for the --read benchmark:
 * Ethernet/IPv4/TCP frames of 66 to 96 bytes, CONCURRENT connections in
 * flight, interleaved packet by packet, GAP_NS apart (default 1 us). Each connection: SYN,
 * SYN-ACK, ACK, a request, a response, FIN, FIN, ACK (8 packets); every
 * 20th is refused instead (SYN, RST). Deterministic for a given count.
 *
 * Usage: gencap FILE PACKETS [CONCURRENT [GAP_NS]]   (CONCURRENT: default and
 * at most 4096)
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONCURRENT 4096
#define TCP_OPTS   12          /* SYN/SYN-ACK: MSS, SACK-permitted, wscale... */

enum { F_FIN = 1, F_SYN = 2, F_RST = 4, F_PSH = 8, F_ACK = 16 };

struct conn {
	uint32_t client, server;
	uint16_t sport, dport;
	uint32_t cseq, sseq;
	int step;
	int refused;
};

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (; n > 1; p += 2, n -= 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static size_t frame(uint8_t *b, const struct conn *c, int from_client, uint8_t flags,
		    uint32_t seq, uint32_t ack, int payload)
{
	int opts = (flags & F_SYN) ? TCP_OPTS : 0;
	size_t tcp_len = 20 + (size_t)opts, ip_len = 20 + tcp_len + (size_t)payload;
	uint32_t src = from_client ? c->client : c->server, dst = from_client ? c->server : c->client;
	uint16_t sp = from_client ? c->sport : c->dport, dp = from_client ? c->dport : c->sport;
	uint8_t *ip = b + 14, *tcp = ip + 20;

	memset(b, 0, 14 + ip_len);
	memcpy(b, from_client ? "\x02\0\0\0\0\x02" : "\x02\0\0\0\0\x01", 6);
	memcpy(b + 6, from_client ? "\x02\0\0\0\0\x01" : "\x02\0\0\0\0\x02", 6);
	b[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, &(uint32_t){ htonl(src) }, 4);
	memcpy(ip + 16, &(uint32_t){ htonl(dst) }, 4);
	memcpy(ip + 10, &(uint16_t){ htons(csum(ip, 20)) }, 2);
	memcpy(tcp, &(uint16_t){ htons(sp) }, 2);
	memcpy(tcp + 2, &(uint16_t){ htons(dp) }, 2);
	memcpy(tcp + 4, &(uint32_t){ htonl(seq) }, 4);
	memcpy(tcp + 8, &(uint32_t){ htonl(ack) }, 4);
	tcp[12] = (uint8_t)((tcp_len / 4) << 4);
	tcp[13] = flags;
	tcp[14] = 0xfa;
	if (opts)
		memcpy(tcp + 20, "\x02\x04\x05\xb4\x04\x02\x01\x03\x03\x07\x01\x01", TCP_OPTS);
	return 14 + ip_len;
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void new_conn(struct conn *c, uint32_t n)
{
	c->client = 0x0a010000u | (rnd() & 0xffff);                /* 10.1.0.0/16 */
	c->server = 0x0a020001u + (n % 8);                         /* 8 servers */
	c->sport = (uint16_t)(1024 + n % 60000);
	c->dport = (n % 4) ? 80 : 443;
	c->cseq = rnd();
	c->sseq = rnd();
	c->step = 0;
	c->refused = n % 20 == 19;
}

/* The next packet of c into b; returns its length. */
static size_t next_packet(uint8_t *b, struct conn *c)
{
	uint32_t x = c->cseq, y = c->sseq;

	if (c->refused)
		return c->step++ == 0 ? frame(b, c, 1, F_SYN, x, 0, 0)
				      : frame(b, c, 0, F_RST | F_ACK, 0, x + 1, 0);
	switch (c->step++) {
	case 0:  return frame(b, c, 1, F_SYN, x, 0, 0);
	case 1:  return frame(b, c, 0, F_SYN | F_ACK, y, x + 1, 0);
	case 2:  return frame(b, c, 1, F_ACK, x + 1, y + 1, 0);
	case 3:  return frame(b, c, 1, F_PSH | F_ACK, x + 1, y + 1, 30);
	case 4:  return frame(b, c, 0, F_PSH | F_ACK, y + 1, x + 31, 42);
	case 5:  return frame(b, c, 1, F_FIN | F_ACK, x + 31, y + 43, 0);
	case 6:  return frame(b, c, 0, F_FIN | F_ACK, y + 43, x + 32, 0);
	default: return frame(b, c, 1, F_ACK, x + 32, y + 44, 0);
	}
}

static int done(const struct conn *c)
{
	return c->step >= (c->refused ? 2 : 8);
}

int main(int argc, char **argv)
{
	static struct conn conns[CONCURRENT];
	uint32_t hdr[6] = { 0xa1b23c4d, 0x00040002, 0, 0, 65535, 1 };   /* ns timestamps */
	uint64_t packets, i, ts = 1700000000ull * 1000000000ull;
	uint32_t n = 0, concurrent = CONCURRENT, gap = 1000;
	uint8_t b[256];
	FILE *f;

	if (argc < 3 || argc > 5 || !(packets = strtoull(argv[2], NULL, 10))) {
		fprintf(stderr, "usage: gencap FILE PACKETS [CONCURRENT [GAP_NS]]\n");
		return 2;
	}
	if (argc >= 4)
		concurrent = (uint32_t)strtoul(argv[3], NULL, 10);
	if (argc == 5)
		gap = (uint32_t)strtoul(argv[4], NULL, 10);
	if (!concurrent || concurrent > CONCURRENT)
		concurrent = CONCURRENT;
	f = fopen(argv[1], "wb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	for (i = 0; i < concurrent; i++)
		new_conn(&conns[i], n++);
	fwrite(hdr, sizeof(hdr), 1, f);
	for (i = 0; i < packets; i++) {
		struct conn *c = &conns[rnd() % concurrent];
		size_t len = next_packet(b, c);
		uint32_t rec[4] = { (uint32_t)(ts / 1000000000u), (uint32_t)(ts % 1000000000u),
				    (uint32_t)len, (uint32_t)len };

		fwrite(rec, sizeof(rec), 1, f);
		fwrite(b, len, 1, f);
		ts += gap;
		if (done(c))
			new_conn(c, n++);
	}
	return fclose(f) ? 1 : 0;
}
