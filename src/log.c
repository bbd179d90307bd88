// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "log.h"

static int verbosity;

/* libbpf's own messages: warnings with -v, debug output with -vv. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && verbosity < 2)
		return 0;
	if (level != LIBBPF_DEBUG && verbosity < 1)
		return 0;
	fputs("libbpf: ", stderr);
	return vfprintf(stderr, fmt, args);
}

void log_init(int v)
{
	verbosity = v;
	libbpf_set_print(libbpf_print);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	char msg[1024];
	va_list ap;

	if (level == LOG_INFO && verbosity < 0)
		return;
	if (level == LOG_DEBUG && verbosity < 1)
		return;
	/* One write per line: the event writer, HTTP and --alert-exec threads log too. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tcpshake-mon: %s%s\n", prefix[level], msg);
}
