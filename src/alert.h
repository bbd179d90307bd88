/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where a SYN-flood start or end goes besides metrics and the terminal:
 * one line on stderr, the same to syslog (LOG_DAEMON) when enabled, and
 * --alert-exec: a program run without a shell, the alert JSON on its
 * stdin and key fields in TCPSHAKE_* environment variables. Programs run
 * one at a time on a thread of their own, are killed after a timeout, and
 * their failures are logged: the metrics loop never waits for them.
 */
#ifndef TCPSHAKE_ALERT_H
#define TCPSHAKE_ALERT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "floodwatch.h"

#define ALERT_QUEUE 16         /* alerts waiting for the program; more are dropped */

struct alert_job {
	char *json;
	char **env;                /* NULL-terminated, malloc'ed */
};

struct alerter {
	bool use_syslog;
	char **argv;               /* --alert-exec split at blanks; NULL: none */
	double timeout_s;
	pthread_t thread;
	bool thread_on;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct alert_job queue[ALERT_QUEUE];
	int head, count;
	bool stopping;
	bool busy;                 /* a job is taken off the queue and not done */
	pid_t running;             /* the child being waited for, 0: none */
	unsigned long dropped;
};

/* exec_line: "PROGRAM [ARGS]" or NULL. 0, or -1 with the reason logged. */
int alerter_start(struct alerter *a, const char *exec_line, double timeout_s, bool use_syslog);
/* Reports one alert on every output; json is the event object (kept only
 * for the duration of the call). */
void alerter_emit(struct alerter *a, const struct flood_alert *fa, const char *json);
/* A SYN flood started or ended: its JSON object to write_line (the event
 * stream, when there is one), then every output of alerter_emit. The live
 * monitor and --read both report floods through here. */
void flood_alert_report(struct alerter *a, const struct flood_alert *fa,
			void (*write_line)(const char *json, void *ctx), void *ctx);
/* Drops what waits, kills a running program, joins the thread. */
void alerter_stop(struct alerter *a);

/* The stderr/syslog line, without the program name. */
void flood_alert_line(const struct flood_alert *fa, char *buf, size_t len);
/* Splits an --alert-exec value at blanks into a NULL-terminated vector;
 * NULL if it names no program or memory runs out. */
char **alert_split_command(const char *line);
void alert_free_vector(char **v);

#endif
