/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* /metrics and /healthz over HTTP (libmicrohttpd, its own thread). */
#ifndef TCPSHAKE_HTTP_H
#define TCPSHAKE_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct MHD_Daemon;

struct http {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	char *body;               /* the latest exposition */
	size_t len;
	bool healthy;
};

/* listen: "PORT", ":PORT", "ADDR:PORT" or "[ADDR6]:PORT"; default address 127.0.0.1. */
int http_start(struct http *h, const char *listen);
/* Replaces the served exposition (takes ownership of body). */
void http_publish(struct http *h, char *body, size_t len, bool healthy);
void http_stop(struct http *h);
/* 0 if listen is a valid [ADDR:]PORT, else says why and returns 2. */
int http_check_listen(const char *listen);
/* Parses listen into a socket address; 0 on success. Exposed for tests. */
int http_parse_listen(const char *listen, void *sockaddr_storage_out, unsigned int *len);

#endif
