/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The event stream: BPF ring buffer -> one JSON object per line. */
#ifndef TCPSHAKE_EVENTS_H
#define TCPSHAKE_EVENTS_H

#include <stdio.h>
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
/* Refresh the monotonic -> wall-clock offset. */
double clock_mono_to_wall(void);

#endif
