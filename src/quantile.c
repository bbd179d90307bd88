// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <math.h>
#include <stdio.h>
#include "quantile.h"
#include "tcpshake/histogram.h"

double hist_quantile(const struct hist *h, double q)
{
	__u64 total = 0, cum = 0;
	double rank, lower = 0;
	__u32 k;

	for (k = 0; k < HIST_SLOTS; k++)
		total += h->count[k];
	if (!total)
		return NAN;
	rank = q * (double)total;
	for (k = 0; k < HIST_SLOTS - 1; k++) {
		double upper = (double)hist_upper_ns(k) / 1e9;

		if ((double)(cum + h->count[k]) >= rank && h->count[k]) {
			return lower + (upper - lower) * (rank - (double)cum) / (double)h->count[k];
		}
		cum += h->count[k];
		lower = upper;
	}
	return lower;   /* in the +Inf bucket: the highest finite bound */
}

void hist_delta(struct hist *out, const struct hist *a, const struct hist *b)
{
	__u32 k;

	for (k = 0; k < HIST_SLOTS; k++)
		out->count[k] = a->count[k] - b->count[k];
	out->sum_ns = a->sum_ns - b->sum_ns;
}

const char *format_duration(char *buf, unsigned long len, double s)
{
	if (isnan(s))
		snprintf(buf, len, "-");
	else if (s < 1e-3)
		snprintf(buf, len, "%.0fus", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.1fms", s * 1e3);
	else
		snprintf(buf, len, "%.2fs", s);
	return buf;
}
