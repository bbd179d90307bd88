/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The event stream: BPF ring buffer -> one JSON object per line. */
#ifndef TCPSHAKE_EVENTS_H
#define TCPSHAKE_EVENTS_H

#include <stdio.h>
#include "floodwatch.h"
#include "snapshot.h"

struct ring_buffer;

struct events {
	struct ring_buffer *rb;
	FILE *out;
	bool own_out;
	const struct snapshot *names;   /* interface names by slot */
	double mono_to_wall;            /* add to CLOCK_MONOTONIC seconds */
};

int events_open(struct events *e, int ringbuf_fd, const char *path, const struct snapshot *names);
/* Waits up to timeout_ms for events and writes them; < 0 on error. */
int events_poll(struct events *e, int timeout_ms);
void events_close(struct events *e);
/* Formats one event as a JSON line (no newline) into a malloc'ed string. */
char *event_to_json(const struct event *ev, const char *iface, double mono_to_wall);
/* A SYN-flood start or end as a JSON object ({"type":"syn_flood",...}),
 * for the event stream and --alert-exec; malloc'ed, no newline. */
char *flood_alert_to_json(const struct flood_alert *a);
/* One line of JSON into the event stream, flushed. */
void events_write_line(struct events *e, const char *line);
/* Refresh the monotonic -> wall-clock offset. */
double clock_mono_to_wall(void);

#endif
