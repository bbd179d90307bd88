/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Periodic human output: a refreshing table on a terminal, else one line
 * per interface per interval; or JSON lines with --json. */
#ifndef TCPSHAKE_TERM_H
#define TCPSHAKE_TERM_H

#include <stdbool.h>
#include <stdio.h>
#include "snapshot.h"

struct term {
	FILE *out;
	bool tty;
	bool json;
	bool summary;               /* one final table (--read): no screen clearing */
	bool have_prev;
	struct snapshot prev;       /* for rates; ports are not kept */
};

void term_init(struct term *t, FILE *out, bool json);
void term_show(struct term *t, const struct snapshot *s, double wall_s);

#endif
