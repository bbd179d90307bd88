/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The Prometheus text exposition (format 0.0.4) of a snapshot. */
#ifndef TCPSHAKE_PROM_H
#define TCPSHAKE_PROM_H

#include <stddef.h>
#include "snapshot.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Renders into a malloc'ed, NUL-terminated buffer; 0 on success. */
int prom_render(const struct snapshot *s, char **out, size_t *len);

#endif
