/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The event stream: BPF ring buffer -> one JSON object per line. The
 * caller's thread formats the lines into a bounded queue; a writer thread
 * writes them, so a slow or stuck reader never stalls the caller. */
#ifndef TCPSHAKE_EVENTS_H
#define TCPSHAKE_EVENTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include "floodwatch.h"
#include "snapshot.h"

struct ring_buffer;

/* The longest event line is about 700 bytes. */
#define EVENT_LINE_MAX 1024
/* A block of staged lines goes to the writer's queue once it is this long
 * (about 30 lines), and at the end of every poll. */
#define EVENTS_STAGE_BYTES (16u << 10)

struct events {
	struct ring_buffer *rb;
	const struct snapshot *names;   /* interface names by slot */
	double mono_to_wall;            /* add to CLOCK_MONOTONIC seconds */
	const char *path;               /* NULL: standard output */
	int fd;                         /* the writer thread's; swapped on reopen */
	pthread_t writer;
	bool writer_on;
	pthread_mutex_t lock;           /* guards the queue and the flags below */
	pthread_cond_t wake;            /* the writer: lines, a reopen, or stop */
	pthread_cond_t room;            /* the loop: the writer took the queue */
	char *queue;                    /* complete lines, at most EVENTS_QUEUE_BYTES */
	size_t qlen, qcap;
	char *spare;                    /* the writer's last buffer, for the next queue */
	size_t spare_cap;
	bool reopen, stopping;
	bool writer_idle;               /* waiting for lines: woken by wake_writer_locked */
	bool failing;                   /* writer thread only: in a failure streak */
	bool closed;                    /* atomic: the reader went away (EPIPE) */
	__u64 write_errors;             /* atomic: lines lost to failed writes */
	__u64 dropped;                  /* atomic: lines never written (see events_drain) */
	/* Lines formatted by the loop, handed to the queue a block at a time
	 * (one lock per block, not per line; the writer is woken per
	 * EVENTS_WAKE_BYTES queued or at the end of a poll). libbpf consumes a ring record even when its callback fails:
	 * when the full queue cannot take a block, the lines wait here, and
	 * the ring is not read again until they have gone into the queue. */
	char stage[EVENTS_STAGE_BYTES + EVENT_LINE_MAX + 1];
	size_t stage_len;
	bool discard;                   /* events_drain gave up: count, do not queue */
	bool abandon;                   /* atomic: the writer counts, does not write */
	/* The writer thread's batch and what of it is not yet written, for
	 * its cancellation handler to count. */
	char *batch;
	const char *unwritten;
	size_t unwritten_len;
};

int events_open(struct events *e, int ringbuf_fd, const char *path, const struct snapshot *names);
/* Waits up to timeout_ms for events and queues them; < 0 on error, -EPIPE
 * once the output's reader has gone. */
int events_poll(struct events *e, int timeout_ms);
/* Log rotation: the writer reopens the path before its next write. */
void events_reopen(struct events *e);
bool events_closed(struct events *e);
void events_counts(struct events *e, __u64 *write_errors, __u64 *dropped);
/* At exit, once nothing produces events any more: every event in the ring
 * and the queue is written, or, when the output takes nothing for
 * EVENTS_DRAIN_S, counted in dropped; the writer thread has ended. Then
 * events_counts() is final. */
void events_drain(struct events *e);
/* Drains (if not done) and frees everything. */
void events_close(struct events *e);
/* Formats one event as a JSON line (no newline, no NUL) into buf; its
 * length, or 0 when it does not fit (EVENT_LINE_MAX always does). */
size_t event_format(char *buf, size_t len, const struct event *ev, const char *iface,
		    double mono_to_wall);
/* The same into a malloc'ed string. */
char *event_to_json(const struct event *ev, const char *iface, double mono_to_wall);
/* A SYN-flood start or end as a JSON object ({"type":"syn_flood",...}),
 * for the event stream and --alert-exec; malloc'ed, no newline. */
char *flood_alert_to_json(const struct flood_alert *a);
/* One line of JSON into the event stream, flushed. */
void events_write_line(struct events *e, const char *line);
/* Refresh the monotonic -> wall-clock offset. */
double clock_mono_to_wall(void);
/* CLOCK_MONOTONIC in seconds. */
double clock_mono_now(void);

#endif
