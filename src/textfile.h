/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Atomic writes for node_exporter's textfile collector. */
#ifndef TCPSHAKE_TEXTFILE_H
#define TCPSHAKE_TEXTFILE_H

#include <stdbool.h>
#include <stddef.h>

struct textfile {
	const char *path;
	bool failing;     /* last attempt failed: report recovery once */
};

/* Writes a temporary file in the same directory and renames it over path.
 * Errors are reported once per failure streak; monitoring goes on. */
int textfile_write(struct textfile *t, const char *data, size_t len);

#endif
