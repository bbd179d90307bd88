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
	va_list ap;

	if (level == LOG_INFO && verbosity < 0)
		return;
	if (level == LOG_DEBUG && verbosity < 1)
		return;
	/* One line even when the --alert-exec thread logs at the same time. */
	flockfile(stderr);
	fprintf(stderr, "tcpshake-mon: %s", prefix[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}
