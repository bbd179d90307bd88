/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef TCPSHAKE_QUANTILE_H
#define TCPSHAKE_QUANTILE_H

#include <linux/types.h>
#include "tcpshake/abi.h"

/* The q-quantile in seconds, interpolated inside the bucket like
 * Prometheus' histogram_quantile(); NAN when the histogram is empty. */
double hist_quantile(const struct hist *h, double q);
/* a - b for every bucket (the histogram of one interval). */
void hist_delta(struct hist *out, const struct hist *a, const struct hist *b);
/* "850us", "1.2ms", "3.4s", or "-" for NAN. */
const char *format_duration(char *buf, unsigned long len, double seconds);

#endif
