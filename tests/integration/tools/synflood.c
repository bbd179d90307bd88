// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * synflood: paced, bounded spoofed TCP SYNs for the integration tests.
 *
 *   synflood --src 10.77.128.0/17 --dst 10.77.98.1 --dport 8080 \
 *            --rate 12000 --duration 10 [--count N] [--seed S]
 *
 * Every SYN has a random source address inside --src (network and broadcast
 * addresses excluded), a random source port (1024-65535) and a random
 * sequence number; the destination is fixed. Sent through a raw IPv4 socket
 * (IP_HDRINCL) with sendmmsg in batches, paced against the monotonic clock:
 * packet i leaves no earlier than start + i / rate. Stops at --count packets
 * or --duration seconds, whichever comes first; both are capped.
 *
 * Network rule of the tests: --src must be a range the test assigned to its
 * own namespaces and routed back into them. The tool refuses prefixes
 * shorter than /12 so that it can never spray the address space the way
 * hping3's random-source mode does.
 *
 * Prints one JSON object on stdout: packets sent, send errors, the wall-clock
 * instants of the first and the last SYN (epoch seconds, to compare with the
 * monitor's textfile times), seconds, the achieved rate and the number of
 * distinct source addresses used (ground truth for the monitor's
 * distinct-source estimate).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
	BATCH = 64,                    /* SYNs per sendmmsg */
	MIN_PREFIX = 12,               /* widest source range accepted */
	MAX_DURATION_S = 120,
	MAX_RATE = 2000000,
	OPT_LEN = 12,                  /* MSS, SACK-permitted, window scale */
	PKT_LEN = 20 + 20 + OPT_LEN,
};
_Static_assert(OPT_LEN % 4 == 0, "TCP options must fill whole 32-bit words");
static const uint64_t MAX_COUNT = 100000000;

struct pseudo_hdr {
	uint32_t src, dst;
	uint8_t zero, proto;
	uint16_t len;
};

struct args {
	uint32_t net, mask;            /* host byte order */
	struct in_addr dst;
	uint16_t dport;
	double rate, duration;
	uint64_t count;
	uint64_t seed;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: synflood --src CIDR --dst IPV4 --dport PORT --rate PPS --duration S"
		" [--count N] [--seed S]\n");
}

/* xorshift64*: fast, good enough for addresses, ports and sequence numbers. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static void sleep_until(double t)
{
	struct timespec ts = { .tv_sec = (time_t)t, .tv_nsec = (long)((t - (double)(time_t)t) * 1e9) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int parse_cidr(const char *s, uint32_t *net, uint32_t *mask)
{
	char buf[32], *slash, *end;
	struct in_addr a;
	long len;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	len = strtol(slash + 1, &end, 10);
	if (*end || len < MIN_PREFIX || len > 30 || inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*mask = ~0u << (32 - len);
	*net = ntohl(a.s_addr) & *mask;
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "src", required_argument, 0, 's' },
		{ "dst", required_argument, 0, 'd' },
		{ "dport", required_argument, 0, 'p' },
		{ "rate", required_argument, 0, 'r' },
		{ "duration", required_argument, 0, 't' },
		{ "count", required_argument, 0, 'c' },
		{ "seed", required_argument, 0, 'S' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int c, have_src = 0, have_dst = 0;
	long port = 0;

	memset(a, 0, sizeof(*a));
	a->count = MAX_COUNT;
	a->seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_cidr(optarg, &a->net, &a->mask)) {
				fprintf(stderr, "synflood: --src must be an IPv4 CIDR from /%d to /30, e.g. 10.77.128.0/17.\n",
					MIN_PREFIX);
				return -1;
			}
			have_src = 1;
			break;
		case 'd':
			if (inet_pton(AF_INET, optarg, &a->dst) != 1) {
				fprintf(stderr, "synflood: --dst must be an IPv4 address.\n");
				return -1;
			}
			have_dst = 1;
			break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 'r': a->rate = strtod(optarg, NULL); break;
		case 't': a->duration = strtod(optarg, NULL); break;
		case 'c': a->count = strtoull(optarg, NULL, 10); break;
		case 'S': a->seed = strtoull(optarg, NULL, 10); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (!have_src || !have_dst || port < 1 || port > 65535 || optind != argc) {
		usage(stderr);
		return -1;
	}
	if (!(a->rate > 0 && a->rate <= MAX_RATE) || !(a->duration > 0 && a->duration <= MAX_DURATION_S) ||
	    a->count < 1 || a->count > MAX_COUNT) {
		fprintf(stderr, "synflood: give --rate in 1..%d SYN/s, --duration in (0, %d] s and --count in 1..%llu.\n",
			MAX_RATE, MAX_DURATION_S, (unsigned long long)MAX_COUNT);
		return -1;
	}
	a->dport = (uint16_t)port;
	a->seed |= 1;                  /* xorshift state must not be 0 */
	return 0;
}

/* Fills one SYN: random host of the source range, random port and ISN. */
static void build_syn(uint8_t *pkt, const struct args *a, uint64_t *seed, uint32_t *src_host)
{
	static const uint8_t opts[OPT_LEN] = { 2, 4, 0x05, 0xb4,   /* MSS 1460 */
					       1, 1, 4, 2,         /* NOP NOP SACK-permitted */
					       1, 3, 3, 7 };       /* NOP window scale 7 */
	struct iphdr *ip = (struct iphdr *)pkt;
	struct tcphdr *tcp = (struct tcphdr *)(pkt + sizeof(*ip));
	uint32_t hosts = ~a->mask - 1;                 /* without network and broadcast */
	uint64_t r = rnd(seed);
	struct pseudo_hdr ph;
	uint32_t sum;

	*src_host = 1 + (uint32_t)(r % hosts);
	memset(pkt, 0, PKT_LEN);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = htonl(a->net | *src_host);
	ip->daddr = a->dst.s_addr;
	ip->tot_len = htons(PKT_LEN);                  /* the kernel fills id and checksum */
	ip->frag_off = htons(IP_DF);
	r = rnd(seed);
	tcp->source = htons((uint16_t)(1024 + r % (65536 - 1024)));
	tcp->dest = htons(a->dport);
	tcp->seq = htonl((uint32_t)(r >> 32));
	tcp->doff = (sizeof(*tcp) + OPT_LEN) / 4;
	tcp->syn = 1;
	tcp->window = htons(64240);
	memcpy(tcp + 1, opts, OPT_LEN);
	ph = (struct pseudo_hdr){ ip->saddr, ip->daddr, 0, IPPROTO_TCP, htons(sizeof(*tcp) + OPT_LEN) };
	sum = csum_add(0, &ph, sizeof(ph));
	sum = csum_add(sum, tcp, sizeof(*tcp) + OPT_LEN);
	tcp->check = htons(csum_fold(sum));
}

int main(int argc, char **argv)
{
	static uint8_t pkts[BATCH][PKT_LEN];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint64_t sent = 0, errors = 0, distinct = 0;
	uint8_t *seen;
	double t0, end, elapsed, wall0, wall_last = 0;
	struct args a;
	int fd, one = 1, i;

	if (parse_args(argc, argv, &a))
		return 2;
	seen = calloc((size_t)(~a.mask) / 8 + 1, 1);
	if (!seen) {
		fprintf(stderr, "synflood: out of memory.\n");
		return 1;
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one))) {
		fprintf(stderr, "synflood: cannot open a raw socket (%s): run as root.\n", strerror(errno));
		return 1;
	}
	to.sin_addr = a.dst;
	for (i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ pkts[i], PKT_LEN };
		msgs[i].msg_hdr = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof(to),
						   .msg_iov = &iov[i], .msg_iovlen = 1 };
	}

	wall0 = clock_s(CLOCK_REALTIME);
	t0 = now_s();
	end = t0 + a.duration;
	while (sent < a.count) {
		double now = now_s();
		uint64_t due, n;
		int k, r;

		if (now >= end)
			break;
		due = (uint64_t)((now - t0) * a.rate) + 1;   /* the first one leaves at once */
		if (due > a.count)
			due = a.count;
		if (due <= sent) {
			sleep_until(t0 + (double)sent / a.rate);
			continue;
		}
		n = due - sent < BATCH ? due - sent : BATCH;
		for (k = 0; k < (int)n; k++) {
			uint32_t host;

			build_syn(pkts[k], &a, &a.seed, &host);
			if (!(seen[host / 8] & (1u << (host % 8)))) {
				seen[host / 8] |= (uint8_t)(1u << (host % 8));
				distinct++;
			}
		}
		r = sendmmsg(fd, msgs, (unsigned int)n, 0);
		if (r < 0) {
			/* ENOBUFS and the like: the packet is lost, count it, go on. */
			if (errno != EINTR)
				errors += n;
			sent += n;
			continue;
		}
		if (r < (int)n)
			errors += n - (uint64_t)r;
		sent += n;
		wall_last = clock_s(CLOCK_REALTIME);
	}
	elapsed = now_s() - t0;
	close(fd);
	free(seen);
	printf("{\"sent\": %llu, \"errors\": %llu, \"ok\": %llu, \"start\": %.6f, \"end\": %.6f, "
	       "\"seconds\": %.3f, \"rate\": %.0f, \"distinct_sources\": %llu}\n",
	       (unsigned long long)sent, (unsigned long long)errors, (unsigned long long)(sent - errors),
	       wall0, wall_last, elapsed, elapsed > 0 ? (double)(sent - errors) / elapsed : 0.0, (unsigned long long)distinct);
	return errors ? 1 : 0;
}
