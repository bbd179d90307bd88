// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness: the command line. Each input is argv after the program
 * name, arguments separated by NUL bytes. Checks what options_parse()
 * promises: exit status 0 (help, version), 2 (usage error) or -1 (run);
 * a usage error is exactly one line "tcpshake-mon: error: ...", naming
 * options as the user wrote them, and nothing is printed when the options
 * are good; a run gets values inside
 * the documented ranges and distinct interface names; a --listen value
 * that passes http_check_listen() (as main() calls it) parses into an
 * IPv4 or IPv6 socket address.
 */
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"
#include "options.h"

#define MAX_ARGS 64

static void fail(const char *what, const char *out)
{
	fprintf(stderr, "fuzz_options: %s\n--- output:\n%s\n---\n", what, out ? out : "");
	abort();
}

static size_t count(const char *s, size_t n, const char *what)
{
	size_t k = 0, len = strlen(what), i;

	for (i = 0; i + len <= n; i++)
		if (!memcmp(s + i, what, len))
			k++;
	return k;
}

/* Options are named as the user wrote them, never by getopt's internal
 * value ('-\t' for --events): a message escapes a control character
 * (log.c writes \xNN) only when an argument carried one. */
static int escapes_only_input(const char *err, size_t errlen, const uint8_t *data, size_t size)
{
	size_t i;

	for (i = 0; i < size; i++)
		if (data[i] && (data[i] < 0x20 || data[i] == 0x7f))
			return 1;
	return count(err, errlen, "\\x") <= count((const char *)data, size, "\\x");
}

static void check_run(const struct options *o, const char *err)
{
	int i, j;

	if (o->nr_ifaces < 0 || o->nr_ifaces > MAX_IFACES)
		fail("interface count out of range", err);
	for (i = 0; i < o->nr_ifaces; i++) {
		if (!o->ifaces[i])
			fail("interface name missing", err);
		for (j = 0; j < i; j++)
			if (!strcmp(o->ifaces[i], o->ifaces[j]))
				fail("an interface accepted twice", err);
	}
	if (!isfinite(o->interval_s) || o->interval_s < 0.1 || o->interval_s > 31536000)
		fail("--interval out of range", err);
	if (!isfinite(o->duration_s) || (o->duration_s != 0 && o->duration_s < 0.1) ||
	    o->duration_s > 31536000)
		fail("--duration out of range", err);
	if (o->syn_timeout_s < 1 || o->time_wait_s < 1 || o->close_timeout_s < 1 ||
	    o->idle_timeout_s < 1 || o->syn_timeout_s > 604800 || o->time_wait_s > 604800 ||
	    o->close_timeout_s > 604800 || o->idle_timeout_s > 604800)
		fail("a timeout out of range", err);
	if (o->max_ports > PORT_SLOTS_MAX / 4)
		fail("--max-ports out of range", err);
	if (o->max_flows < 1024 || o->max_flows > (1u << 26) || o->handshake_slots < 1024 ||
	    o->handshake_slots > (1u << 26))
		fail("a table size out of range", err);
	if (o->ringbuf_kb < 64 || o->ringbuf_kb > (1u << 20))
		fail("--events-buffer out of range", err);
	if (o->ingress != INGRESS_AUTO && o->ingress != INGRESS_XDP && o->ingress != INGRESS_TC)
		fail("--ingress out of range", err);
	if (err[0])
		fail("good options printed a message", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *args = malloc(size + 1), *argv[MAX_ARGS + 2], *err = NULL, *out = NULL;
	size_t i, errlen = 0, outlen = 0;
	FILE *saved_err = stderr, *saved_out = stdout;
	struct options o;
	int argc = 1, rc;

	memcpy(args, data, size);
	args[size] = 0;
	argv[0] = "tcpshake-mon";
	if (size)
		argv[argc++] = args;
	for (i = 0; i < size && argc <= MAX_ARGS; i++)
		if (!args[i])
			argv[argc++] = args + i + 1;
	argv[argc] = NULL;

	/* The messages go to memory, to be checked; sanitizer reports still
	 * reach file descriptor 2. */
	stderr = open_memstream(&err, &errlen);
	stdout = open_memstream(&out, &outlen);
	optind = 0;     /* glibc: full re-initialisation of getopt */
	rc = options_parse(&o, argc, argv);
	/* --listen is checked next, as main() does. */
	if (rc == -1 && o.listen && http_check_listen(o.listen) != 0)
		rc = 2;
	fclose(stderr);
	fclose(stdout);
	stderr = saved_err;
	stdout = saved_out;

	if (rc == -1 && o.listen) {
		struct sockaddr_storage sa;
		unsigned int salen = 0;

		if (http_parse_listen(o.listen, &sa, &salen) ||
		    !((sa.ss_family == AF_INET && salen == sizeof(struct sockaddr_in)) ||
		      (sa.ss_family == AF_INET6 && salen == sizeof(struct sockaddr_in6))))
			fail("--listen accepted but no address", o.listen);
	}
	if (rc == -1)
		check_run(&o, err);
	else if (rc == 0) {
		if (err[0] || !out[0])
			fail("help or version: output on stdout only", err);
	} else if (rc == 2) {
		if (strncmp(err, "tcpshake-mon: error: ", 21) || count(err, errlen, "\n") != 1 ||
		    err[errlen - 1] != '\n' || out[0])
			fail("a usage error is one line: tcpshake-mon: error: ...", err);
		if (!escapes_only_input(err, errlen, data, size))
			fail("an option named by an unprintable character", err);
	} else {
		fail("exit status other than -1, 0, 2", err);
	}
	free(err);
	free(out);
	free(args);
	return 0;
}
