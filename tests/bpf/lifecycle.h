/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The packet classes of a connection's life that make bench measure: each
 * step is packet P of a fresh connection between a client and the server
 * 10.255.0.1:443. bench.c times them in the kernel; tests/bench/classcount.c
 * counts the shared core's instructions for them natively.
 */
#ifndef TCPSHAKE_LIFECYCLE_H
#define TCPSHAKE_LIFECYCLE_H

#include <stdbool.h>
#include "tcpshake/parse.h"

#define LIFECYCLE_X 1000u   /* client ISN of every benchmark connection */
#define LIFECYCLE_Y 5000u   /* server ISN */

struct step_class {
	const char *name;
	bool from_server;
	__u8 flags;
	__u32 seq, ack;
	__u16 payload;
	double target;          /* ns over the baseline; 0: not a target of its own */
	bool refused;           /* a connection of the refused set */
};

static const struct step_class lifecycle_steps[] = {
	{ "SYN (handshake table not full)", false, TCPF_SYN, LIFECYCLE_X, 0, 0, 60, false },
	{ "SYN-ACK", true, TCPF_SYN | TCPF_ACK, LIFECYCLE_Y, LIFECYCLE_X + 1, 0, 100, false },
	{ "third ACK (completes, moves to flow table)", false, TCPF_ACK, LIFECYCLE_X + 1,
	  LIFECYCLE_Y + 1, 0, 100, false },
	{ "data", false, TCPF_ACK | TCPF_PSH, LIFECYCLE_X + 1, LIFECYCLE_Y + 1, 100, 20, false },
	{ "first FIN", false, TCPF_FIN | TCPF_ACK, LIFECYCLE_X + 101, LIFECYCLE_Y + 1, 0, 100, false },
	{ "second FIN (acks the first)", true, TCPF_FIN | TCPF_ACK, LIFECYCLE_Y + 1,
	  LIFECYCLE_X + 102, 0, 100, false },
	{ "last ACK (enters TIME-WAIT)", false, TCPF_ACK, LIFECYCLE_X + 102, LIFECYCLE_Y + 2, 0, 100,
	  false },
	{ "SYN of an attempt to be refused", false, TCPF_SYN, LIFECYCLE_X, 0, 0, 0, true },
	{ "RST refusing a SYN", true, TCPF_RST | TCPF_ACK, 0, LIFECYCLE_X + 1, 0, 100, true },
};

#define LIFECYCLE_STEPS (sizeof(lifecycle_steps) / sizeof(lifecycle_steps[0]))

#endif
