// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stddef.h>
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

/* Control characters of a message (from an argument, an interface name, a
 * path) are written as \xNN: one message stays one line, and cannot move
 * the cursor of the terminal or the journal reading it. */
static void escape_controls(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	for (; *s && o + 5 <= cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o < cap ? o : cap - 1] = 0;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	char msg[1024], line[4 * sizeof(msg)];
	va_list ap;

	if (level == LOG_INFO && verbosity < 0)
		return;
	if (level == LOG_DEBUG && verbosity < 1)
		return;
	/* One write per line: the event writer, HTTP and --alert-exec threads log too. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	escape_controls(line, sizeof(line), msg);
	fprintf(stderr, "tcpshake-mon: %s%s\n", prefix[level], line);
}
