// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * connrate: short TCP connections as fast as the machine allows, for
 * `make bench`. One epoll thread per side, so the generator costs a few
 * system calls per connection and the kernel's TCP (and any monitor on the
 * path) is what limits the rate.
 *
 *   connrate server ADDR:PORT [--ready FILE]
 *       accepts, waits for the client's FIN, closes; until SIGINT/SIGTERM,
 *       then prints {"accepted":N,"closed":N,"errors":N}
 *   connrate client ADDR:PORT --seconds S [--warmup W] [--concurrency C] [--rate R]
 *                   [--request B]
 *       keeps C connections in flight; each sends its FIN as soon as it is
 *       established (the client closes first, so TIME-WAIT is on its side),
 *       or with B > 0 after sending a B-byte request and reading the
 *       server's B-byte echo (request/response traffic), and is complete
 *       when the server's FIN arrives. Waiting for it keeps the run closed
 *       loop: the server's accept queue never holds more than C
 *       connections. (Counted at establishment, a server that fell behind
 *       overflowed its queue, which drops SYNs, and the run stalled on 1 s
 *       SYN retransmissions: a cliff, not a rate.)
 *       R > 0 paces new connections to R per second. Prints the connections
 *       completed in total and inside the measured window after the warm-up.
 *
 * IPv4 only: the benchmark namespaces use IPv4 addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define MAX_EVENTS 256
#define DRAIN_S    5.0      /* how long the client waits for its last connects */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fputs("usage: connrate server ADDR:PORT [--ready FILE]\n"
	      "       connrate client ADDR:PORT --seconds S [--warmup W] [--concurrency C] [--rate R]\n"
	      "                       [--request BYTES]\n",
	      stderr);
	return 2;
}

static int parse_endpoint(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int epoll_add(int ep, int fd, unsigned int events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void accept_all(int ep, int lfd, unsigned long long *accepted, unsigned long long *errors)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				(*errors)++;
			return;
		}
		(*accepted)++;
		if (epoll_add(ep, fd, EPOLLIN | EPOLLRDHUP)) {
			(*errors)++;
			close(fd);
		}
	}
}

static int run_server(const struct sockaddr_in *sa, const char *ready)
{
	unsigned long long accepted = 0, closed = 0, errors = 0;
	struct epoll_event evs[MAX_EVENTS];
	int one = 1, lfd, ep, i, n;
	ssize_t got;
	char buf[512];

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (const struct sockaddr *)sa, sizeof(*sa)) || listen(lfd, 4096)) {
		fprintf(stderr, "connrate server: cannot listen: %s\n", strerror(errno));
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_add(ep, lfd, EPOLLIN)) {
		fprintf(stderr, "connrate server: epoll: %s\n", strerror(errno));
		return 1;
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (!f) {
			fprintf(stderr, "connrate server: cannot create %s: %s\n", ready, strerror(errno));
			return 1;
		}
		fclose(f);
	}
	while (!stop_requested) {
		n = epoll_wait(ep, evs, MAX_EVENTS, 200);
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				accept_all(ep, lfd, &accepted, &errors);
				continue;
			}
			/* A request is echoed; EOF (or an error) ends the connection. */
			got = read(fd, buf, sizeof(buf));
			if (got > 0) {
				if (write(fd, buf, (size_t)got) != got)
					errors++;
				continue;
			}
			close(fd);
			closed++;
		}
	}
	printf("{\"accepted\":%llu,\"closed\":%llu,\"errors\":%llu}\n", accepted, closed, errors);
	return 0;
}

/* Where a client connection is; descriptors index c->phase. */
enum phase {
	PHASE_CONNECTING = 0,   /* connect() in flight */
	PHASE_REQUEST,          /* --request: sent, waiting for the echo */
	PHASE_CLOSING,          /* our FIN is out, waiting for the server's */
};
#define MAX_FD 65536

struct client {
	struct sockaddr_in dst;
	double seconds, warmup, rate;
	int concurrency;
	int request;                      /* bytes sent and echoed; 0: none */
	unsigned char *phase;             /* per descriptor: enum phase */
	int ep, inflight;
	unsigned long long started, done, in_window, errors;
	int first_errno;
};

static void client_error(struct client *c, int err)
{
	c->errors++;
	if (!c->first_errno)
		c->first_errno = err;
}

static void client_open(struct client *c)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || fd >= MAX_FD) {
		client_error(c, fd < 0 ? errno : EMFILE);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (connect(fd, (const struct sockaddr *)&c->dst, sizeof(c->dst)) && errno != EINPROGRESS) {
		client_error(c, errno);
		close(fd);
		return;
	}
	if (epoll_add(c->ep, fd, EPOLLOUT)) {
		client_error(c, errno);
		close(fd);
		return;
	}
	c->started++;
	c->inflight++;
}

static void client_end(struct client *c, int fd)
{
	c->phase[fd] = PHASE_CONNECTING;
	close(fd);
	c->inflight--;
}

/* Sends our FIN and waits for the server's; false on failure. */
static bool client_shutdown(struct client *c, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = fd };

	if (shutdown(fd, SHUT_WR) || epoll_ctl(c->ep, EPOLL_CTL_MOD, fd, &ev))
		return false;
	c->phase[fd] = PHASE_CLOSING;
	return true;
}

/* Sends the request and waits for its echo; false on failure. */
static bool client_request(struct client *c, int fd)
{
	static const char payload[512];
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (write(fd, payload, (size_t)c->request) != c->request ||
	    epoll_ctl(c->ep, EPOLL_CTL_MOD, fd, &ev))
		return false;
	c->phase[fd] = PHASE_REQUEST;
	return true;
}

/* One readiness event of a client connection. */
static void client_step(struct client *c, int fd, double t, double t_begin, double t_end)
{
	int err = 0;
	socklen_t len = sizeof(err);
	char buf[512];
	ssize_t got;

	switch (c->phase[fd]) {
	case PHASE_CONNECTING:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err)
			break;
		if (c->request ? client_request(c, fd) : client_shutdown(c, fd))
			return;
		err = errno;
		break;
	case PHASE_REQUEST:
		/* The echo of a request this small arrives in one segment. */
		got = read(fd, buf, sizeof(buf));
		if (got < 0 && errno == EAGAIN)
			return;
		if (got > 0 && client_shutdown(c, fd))
			return;
		err = got < 0 ? errno : ECONNRESET;
		break;
	case PHASE_CLOSING:
		got = read(fd, buf, sizeof(buf));
		if (got > 0 || (got < 0 && errno == EAGAIN))
			return;
		if (got == 0) {
			c->done++;
			if (t >= t_begin && t < t_end)
				c->in_window++;
			client_end(c, fd);
			return;
		}
		err = errno;
		break;
	}
	client_error(c, err ? err : errno);
	client_end(c, fd);
}

static int run_client(struct client *c)
{
	struct epoll_event evs[MAX_EVENTS];
	double t0 = now_s(), t, t_begin = t0 + c->warmup, t_end = t_begin + c->seconds;
	double budget = 0, last = t0;
	int i, n;

	c->ep = epoll_create1(EPOLL_CLOEXEC);
	if (c->ep < 0) {
		fprintf(stderr, "connrate client: epoll: %s\n", strerror(errno));
		return 1;
	}
	for (t = t0; !stop_requested && (t < t_end || (c->inflight && t < t_end + DRAIN_S)); ) {
		if (t < t_end) {
			if (c->rate > 0) {
				/* Pacing: earn rate * elapsed connections, at most 10 ms worth. */
				budget += (t - last) * c->rate;
				if (budget > c->rate / 100 + 1)
					budget = c->rate / 100 + 1;
				last = t;
			}
			while (c->inflight < c->concurrency && (c->rate <= 0 || budget >= 1)) {
				unsigned long long errs = c->errors;

				client_open(c);
				budget -= 1;
				if (c->errors != errs)
					break;      /* no ports, no memory: let the loop breathe */
			}
		}
		n = epoll_wait(c->ep, evs, MAX_EVENTS, 1);
		t = now_s();
		for (i = 0; i < n; i++)
			client_step(c, evs[i].data.fd, t, t_begin, t_end);
	}
	printf("{\"connections\":%llu,\"measured\":%llu,\"seconds\":%.3f,\"rate\":%.1f,"
	       "\"errors\":%llu,\"first_error\":\"%s\",\"unfinished\":%d}\n",
	       c->done, c->in_window, c->seconds, (double)c->in_window / c->seconds, c->errors,
	       c->first_errno ? strerror(c->first_errno) : "", c->inflight);
	/* Connects that never finished are failures of the run, not of the tool. */
	return c->inflight || stop_requested ? 1 : 0;
}

static int parse_double(const char *s, double min, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return *end || end == s || *out < min ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sockaddr_in addr;
	const char *ready = NULL;
	struct client c = { .warmup = 0, .concurrency = 64 };
	bool server;
	int i;

	if (argc < 3 || (strcmp(argv[1], "server") && strcmp(argv[1], "client")) ||
	    parse_endpoint(argv[2], &addr))
		return usage();
	server = !strcmp(argv[1], "server");
	for (i = 3; i < argc; i++) {
		double v;

		if (i + 1 >= argc)
			return usage();
		if (server && !strcmp(argv[i], "--ready")) {
			ready = argv[++i];
		} else if (server) {
			return usage();
		} else if (parse_double(argv[i + 1], 0, &v)) {
			return usage();
		} else if (!strcmp(argv[i], "--seconds")) {
			c.seconds = v;
			i++;
		} else if (!strcmp(argv[i], "--warmup")) {
			c.warmup = v;
			i++;
		} else if (!strcmp(argv[i], "--concurrency") && v >= 1 && v <= 65536) {
			c.concurrency = (int)v;
			i++;
		} else if (!strcmp(argv[i], "--rate")) {
			c.rate = v;
			i++;
		} else if (!strcmp(argv[i], "--request") && v >= 1 && v <= 512) {
			c.request = (int)v;
			i++;
		} else {
			return usage();
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (server)
		return run_server(&addr, ready);
	if (c.seconds <= 0)
		return usage();
	c.dst = addr;
	if (!(c.phase = calloc(MAX_FD, 1))) {
		fputs("connrate client: out of memory\n", stderr);
		return 1;
	}
	return run_client(&c);
}
