// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * connchurn: legitimate TCP connection churn, as fast as the machine goes or
 * paced, for the integration tests (the Python tcpgen tops out far below
 * what the kernel can do).
 *
 *   connchurn server --addr 10.77.0.2 --port 8081 --duration 20 [--backlog N]
 *   connchurn client --addr 10.77.0.2 --port 8081 --duration 5
 *                    [--rate CPS] [--parallel N] [--count N]
 *
 * Each connection: the client connects, sends a 64-byte request, reads the
 * 256-byte response and closes first (client TIME-WAIT); the server reads
 * the request, answers, waits for the client's FIN and closes. Single
 * thread, non-blocking sockets and epoll on both sides. The client starts
 * new connections at --rate per second (0: as fast as --parallel slots free
 * up) until --duration or --count; each connection must finish within
 * --timeout seconds. Both sides stop by themselves (durations are capped)
 * and print a JSON summary on stdout; the client exits 0 only if every
 * connection it started completed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
	REQ_LEN = 64,
	RESP_LEN = 256,
	MAX_PARALLEL = 4096,
	MAX_FDS = 65536,
	MAX_DURATION_S = 120,
	EVENTS = 256,
};

enum stage { FREE, CONNECTING, READING, DRAINING };

/* One connection, indexed by its fd. */
struct conn {
	uint8_t stage;
	uint16_t done;                 /* bytes of the request (server) / response (client) so far */
	double deadline;
};

struct args {
	int server;
	struct sockaddr_in addr;
	double duration, rate, timeout;
	int parallel, backlog;
	uint64_t count;
};

struct tally {
	uint64_t started, ok, accepted, refused, timeouts, resets, other;
};

static struct conn conns[MAX_FDS];
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "addr", required_argument, 0, 'a' },
		{ "port", required_argument, 0, 'p' },
		{ "duration", required_argument, 0, 'd' },
		{ "rate", required_argument, 0, 'r' },
		{ "parallel", required_argument, 0, 'P' },
		{ "count", required_argument, 0, 'c' },
		{ "timeout", required_argument, 0, 't' },
		{ "backlog", required_argument, 0, 'b' },
		{ 0, 0, 0, 0 },
	};
	long port = 0;
	int c;

	memset(a, 0, sizeof(*a));
	a->addr.sin_family = AF_INET;
	a->parallel = 64;
	a->backlog = 4096;
	a->timeout = 5;
	a->count = UINT64_MAX;
	if (argc < 2 || (strcmp(argv[1], "server") && strcmp(argv[1], "client")))
		goto usage;
	a->server = !strcmp(argv[1], "server");
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &a->addr.sin_addr) != 1)
				goto usage;
			break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 'd': a->duration = strtod(optarg, NULL); break;
		case 'r': a->rate = strtod(optarg, NULL); break;
		case 'P': a->parallel = atoi(optarg); break;
		case 'c': a->count = strtoull(optarg, NULL, 10); break;
		case 't': a->timeout = strtod(optarg, NULL); break;
		case 'b': a->backlog = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (port < 1 || port > 65535 || !a->addr.sin_addr.s_addr || optind != argc)
		goto usage;
	if (!(a->duration > 0 && a->duration <= MAX_DURATION_S) || a->parallel < 1 ||
	    a->parallel > MAX_PARALLEL || a->rate < 0 || !(a->timeout > 0 && a->timeout <= 60) || !a->count) {
		fprintf(stderr, "connchurn: give --duration in (0, %d] s, --parallel in 1..%d, --rate >= 0 and "
			"--timeout in (0, 60] s.\n", MAX_DURATION_S, MAX_PARALLEL);
		return -1;
	}
	a->addr.sin_port = htons((uint16_t)port);
	return 0;
usage:
	fprintf(stderr, "usage: connchurn server|client --addr IPV4 --port PORT --duration S [--rate CPS]"
		" [--parallel N] [--count N] [--timeout S] [--backlog N]\n");
	return -1;
}

static void drop(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	conns[fd].stage = FREE;
}

static void count_error(struct tally *t, int err)
{
	if (err == ECONNREFUSED)
		t->refused++;
	else if (err == ETIMEDOUT)
		t->timeouts++;
	else if (err == ECONNRESET || err == EPIPE)
		t->resets++;
	else
		t->other++;
}

/* ---- server ---------------------------------------------------------------- */

static void server_event(int ep, int fd, struct tally *t)
{
	static const char resp[RESP_LEN] = { 'R' };
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (conns[fd].stage == READING) {
		if (n <= 0) {
			count_error(t, n < 0 ? errno : EPIPE);
			drop(ep, fd);
			return;
		}
		conns[fd].done = (uint16_t)(conns[fd].done + n);
		if (conns[fd].done < REQ_LEN)
			return;
		/* 256 bytes always fit an empty socket buffer: one write. */
		if (write(fd, resp, sizeof(resp)) != (ssize_t)sizeof(resp)) {
			count_error(t, errno);
			drop(ep, fd);
			return;
		}
		conns[fd].stage = DRAINING;
		return;
	}
	if (n == 0)
		t->ok++;               /* the client's FIN after the response */
	else if (n > 0)
		return;
	else
		count_error(t, errno);
	drop(ep, fd);
}

static int run_server(const struct args *a, int ep)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[EVENTS];
	struct tally t = {};
	double end = now_s() + a->duration;
	int ls, one = 1, i;

	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&a->addr, sizeof(a->addr)) || listen(ls, a->backlog)) {
		fprintf(stderr, "connchurn: cannot listen on the given address (%s).\n", strerror(errno));
		return 1;
	}
	ev.data.fd = ls;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	fprintf(stderr, "connchurn: listening\n");
	while (!stop && now_s() < end) {
		int n = epoll_wait(ep, evs, EVENTS, 100);

		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd != ls) {
				server_event(ep, fd, &t);
				continue;
			}
			for (;;) {
				int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK);

				if (c < 0)
					break;
				if (c >= MAX_FDS) {
					close(c);
					t.other++;
					continue;
				}
				t.accepted++;
				conns[c] = (struct conn){ .stage = READING };
				ev.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
			}
		}
	}
	printf("{\"side\": \"server\", \"accepted\": %llu, \"ok\": %llu, \"resets\": %llu, \"other\": %llu}\n",
	       (unsigned long long)t.accepted, (unsigned long long)t.ok, (unsigned long long)t.resets,
	       (unsigned long long)(t.other + t.refused + t.timeouts));
	return 0;
}

/* ---- client ---------------------------------------------------------------- */

static int client_start(const struct args *a, int ep, double now)
{
	struct epoll_event ev = { .events = EPOLLOUT };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (fd >= MAX_FDS) {
		close(fd);
		return -EMFILE;
	}
	if (connect(fd, (const struct sockaddr *)&a->addr, sizeof(a->addr)) && errno != EINPROGRESS) {
		int err = errno;

		close(fd);
		return -err;
	}
	conns[fd] = (struct conn){ .stage = CONNECTING, .deadline = now + a->timeout };
	ev.data.fd = fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return fd;
}

/* Returns 1 when the connection is finished (either way). */
static int client_event(int ep, int fd, struct tally *t)
{
	static const char req[REQ_LEN] = { 'Q' };
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	char buf[RESP_LEN];
	int err = 0;
	socklen_t len = sizeof(err);
	ssize_t n;

	if (conns[fd].stage == CONNECTING) {
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || write(fd, req, sizeof(req)) != (ssize_t)sizeof(req)) {
			count_error(t, err ? err : errno);
			drop(ep, fd);
			return 1;
		}
		conns[fd].stage = READING;
		epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
		return 0;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		count_error(t, n < 0 ? errno : EPIPE);
		drop(ep, fd);
		return 1;
	}
	conns[fd].done = (uint16_t)(conns[fd].done + n);
	if (conns[fd].done < RESP_LEN)
		return 0;
	t->ok++;
	drop(ep, fd);                  /* the client closes first */
	return 1;
}

static int run_client(const struct args *a, int ep)
{
	struct epoll_event evs[EVENTS];
	struct tally t = {};
	double t0 = now_s(), end = t0 + a->duration, last_sweep = t0, now = t0, elapsed;
	int inflight = 0, i;

	for (;;) {
		int n;

		now = now_s();
		/* Start what the pace allows (all free slots when unpaced). */
		while (!stop && now < end && t.started < a->count && inflight < a->parallel &&
		       (a->rate <= 0 || (double)t.started < (now - t0) * a->rate + 1)) {
			int fd = client_start(a, ep, now);

			t.started++;
			if (fd < 0) {
				count_error(&t, -fd);
				continue;
			}
			inflight++;
		}
		if (inflight == 0 && (stop || now >= end || t.started >= a->count))
			break;
		n = epoll_wait(ep, evs, EVENTS, a->rate > 0 ? 1 : 50);
		for (i = 0; i < n; i++)
			inflight -= client_event(ep, evs[i].data.fd, &t);
		if (now - last_sweep > 0.1) {
			/* Bounded: a connection that outlives --timeout is a failure. */
			last_sweep = now;
			for (i = 0; i < MAX_FDS; i++) {
				if (conns[i].stage != FREE && conns[i].deadline < now) {
					t.timeouts++;
					drop(ep, i);
					inflight--;
				}
			}
		}
	}
	elapsed = now_s() - t0;
	printf("{\"side\": \"client\", \"started\": %llu, \"ok\": %llu, \"refused\": %llu, \"timeouts\": %llu, "
	       "\"resets\": %llu, \"other\": %llu, \"seconds\": %.3f, \"rate\": %.0f}\n",
	       (unsigned long long)t.started, (unsigned long long)t.ok, (unsigned long long)t.refused,
	       (unsigned long long)t.timeouts, (unsigned long long)t.resets, (unsigned long long)t.other,
	       elapsed, elapsed > 0 ? (double)t.ok / elapsed : 0.0);
	return t.ok == t.started ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct rlimit rl = { MAX_FDS, MAX_FDS };
	struct args a;
	int ep;

	if (parse_args(argc, argv, &a))
		return 2;
	setrlimit(RLIMIT_NOFILE, &rl);         /* best effort: fds stay below MAX_FDS */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	ep = epoll_create1(0);
	if (ep < 0) {
		fprintf(stderr, "connchurn: epoll_create1 failed (%s).\n", strerror(errno));
		return 1;
	}
	return a.server ? run_server(&a, ep) : run_client(&a, ep);
}
