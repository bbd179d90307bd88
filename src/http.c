// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"
#include "log.h"
#include "prom.h"

/* A scrape is one short request: a client that holds more connections than
 * a few Prometheus servers would, or idles, is cut off, so no single address
 * can take all the slots and slowloris clients time out. */
#define HTTP_MAX_CONNECTIONS 128u
#define HTTP_MAX_PER_ADDRESS 8u
#define HTTP_IDLE_TIMEOUT_S  10u

static int parse_port(const char *s, unsigned short *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

int http_parse_listen(const char *listen, void *out, unsigned int *len)
{
	struct sockaddr_in *v4 = out;
	struct sockaddr_in6 *v6 = out;
	const char *colon = strrchr(listen, ':');
	char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1";
	unsigned short port;

	memset(out, 0, sizeof(struct sockaddr_in6));
	if (colon) {
		size_t hl = (size_t)(colon - listen);

		if (hl >= sizeof(host))
			return -1;
		if (hl) {
			memcpy(host, listen, hl);
			host[hl] = 0;
		}
		listen = colon + 1;
	}
	if (parse_port(listen, &port))
		return -1;
	if (host[0] == '[') {
		size_t hl = strlen(host);

		if (hl < 3 || host[hl - 1] != ']')
			return -1;
		host[hl - 1] = 0;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		*len = sizeof(*v6);
		return inet_pton(AF_INET6, host + 1, &v6->sin6_addr) == 1 ? 0 : -1;
	}
	v4->sin_family = AF_INET;
	v4->sin_port = htons(port);
	*len = sizeof(*v4);
	return inet_pton(AF_INET, host, &v4->sin_addr) == 1 ? 0 : -1;
}

int http_check_listen(const char *listen)
{
	struct sockaddr_in6 sa;
	unsigned int len;

	if (http_parse_listen(listen, &sa, &len) == 0)
		return 0;
	log_error("invalid value '%s' for --listen: expected [ADDR:]PORT, e.g. 127.0.0.1:9431 "
		  "or [::1]:9431", listen);
	return 2;
}

/* libmicrohttpd is loaded when --listen asks for it, not linked: linked,
 * it and the TLS libraries it initialises at start (gnutls, p11-kit,
 * nettle) took 2.9 MiB of the monitor's RSS whether or not HTTP was served
 * (docs/performance.md, "The loader's RSS"). */
#define MHD_LIBRARY "libmicrohttpd.so.12"

static struct {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
} mhd;

/* 0 once every function above is resolved (the library stays loaded). */
static int mhd_load(void)
{
	const struct {
		const char *name;
		void **slot;   /* POSIX: a function pointer is stored as a void * */
	} syms[] = {
		{ "MHD_start_daemon", (void **)&mhd.start_daemon },
		{ "MHD_stop_daemon", (void **)&mhd.stop_daemon },
		{ "MHD_create_response_from_buffer", (void **)&mhd.create_response_from_buffer },
		{ "MHD_add_response_header", (void **)&mhd.add_response_header },
		{ "MHD_queue_response", (void **)&mhd.queue_response },
		{ "MHD_destroy_response", (void **)&mhd.destroy_response },
	};
	void *lib;
	size_t i;

	if (mhd.start_daemon)
		return 0;
	lib = dlopen(MHD_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		log_error("cannot load %s for --listen (%s): install libmicrohttpd12, or export "
			  "with --prom-textfile", MHD_LIBRARY, dlerror());
		return -1;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].slot = dlsym(lib, syms[i].name);
		if (!*syms[i].slot) {
			log_error("%s has no %s: install libmicrohttpd12 0.9.71 or newer", MHD_LIBRARY,
				  syms[i].name);
			memset(&mhd, 0, sizeof(mhd));
			dlclose(lib);
			return -1;
		}
	}
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *type,
			     const char *body, size_t len)
{
	struct MHD_Response *r = mhd.create_response_from_buffer(len, (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = mhd.queue_response(conn, status, r);
	mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	enum MHD_Result ret;
	static const char text[] = "text/plain; charset=utf-8";

	(void)version; (void)upload_data; (void)upload_size; (void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, "method not allowed\n", 19);
	if (!strcmp(url, "/metrics")) {
		pthread_mutex_lock(&h->lock);
		if (h->body)
			ret = reply(conn, MHD_HTTP_OK, PROM_CONTENT_TYPE, h->body, h->len);
		else
			ret = reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text, "starting\n", 9);
		pthread_mutex_unlock(&h->lock);
		return ret;
	}
	if (!strcmp(url, "/healthz")) {
		bool ok;

		pthread_mutex_lock(&h->lock);
		ok = h->healthy;
		pthread_mutex_unlock(&h->lock);
		return ok ? reply(conn, MHD_HTTP_OK, text, "ok\n", 3) :
			    reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text, "unhealthy\n", 10);
	}
	if (!strcmp(url, "/"))
		return reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8",
			     "<html><body><h1>tcpshake-mon</h1><a href=\"/metrics\">metrics</a></body></html>\n", 81);
	return reply(conn, MHD_HTTP_NOT_FOUND, text, "not found\n", 10);
}

/* libmicrohttpd reports every refused connection: a flood would flood the
 * log too, so its messages are debug output (-v). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	log_debug("http: %s", msg);
}

int http_start(struct http *h, const char *listen)
{
	struct sockaddr_in6 sa;
	unsigned int len;
	/* epoll (or poll) in its own thread: no FD_SETSIZE ceiling, and the
	 * metrics loop never waits for a client. */
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	if (http_check_listen(listen))
		return 2;
	http_parse_listen(listen, &sa, &len);
	if (mhd_load())
		return 1;
	if (sa.sin6_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->daemon = mhd.start_daemon(flags, ntohs(sa.sin6_port), NULL, NULL, handle, h,
				     MHD_OPTION_SOCK_ADDR, &sa,
				     MHD_OPTION_CONNECTION_LIMIT, HTTP_MAX_CONNECTIONS,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTP_MAX_PER_ADDRESS,
				     MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_TIMEOUT_S,
				     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				     MHD_OPTION_END);
	if (!h->daemon) {
		log_error("cannot listen on %s: the address is in use or not local", listen);
		return 1;
	}
	return 0;
}

void http_publish(struct http *h, char *body, size_t len, bool healthy)
{
	char *old;

	pthread_mutex_lock(&h->lock);
	old = h->body;
	h->body = body;
	h->len = len;
	h->healthy = healthy;
	pthread_mutex_unlock(&h->lock);
	free(old);
}

void http_stop(struct http *h)
{
	if (h->daemon)
		mhd.stop_daemon(h->daemon);
	h->daemon = NULL;
	free(h->body);
	h->body = NULL;
	pthread_mutex_destroy(&h->lock);
}
