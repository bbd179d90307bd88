// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Command line: getopt_long, strict number parsing, one sentence per error. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flood.h"
#include "log.h"
#include "options.h"

enum {
	OPT_INGRESS = 256, OPT_SYN_TIMEOUT, OPT_TIME_WAIT, OPT_CLOSE_TIMEOUT, OPT_IDLE_TIMEOUT,
	OPT_MAX_PORTS, OPT_MAX_FLOWS, OPT_HS_SLOTS, OPT_RINGBUF, OPT_EVENTS, OPT_JSON,
	OPT_TEXTFILE, OPT_LISTEN, OPT_READ, OPT_LOCAL_NET, OPT_EXPIRE_AT_END, OPT_SEED,
	OPT_FLOOD_MIN_RATE, OPT_FLOOD_HOLD, OPT_ALERT_EXEC, OPT_ALERT_TIMEOUT, OPT_SYSLOG,
	OPT_BPF_STATS,
};

static const struct option long_options[] = {
	{ "interval",        required_argument, 0, 'i' },
	{ "duration",        required_argument, 0, 'd' },
	{ "ingress",         required_argument, 0, OPT_INGRESS },
	{ "syn-timeout",     required_argument, 0, OPT_SYN_TIMEOUT },
	{ "time-wait",       required_argument, 0, OPT_TIME_WAIT },
	{ "close-timeout",   required_argument, 0, OPT_CLOSE_TIMEOUT },
	{ "idle-timeout",    required_argument, 0, OPT_IDLE_TIMEOUT },
	{ "max-ports",       required_argument, 0, OPT_MAX_PORTS },
	{ "max-flows",       required_argument, 0, OPT_MAX_FLOWS },
	{ "handshake-slots", required_argument, 0, OPT_HS_SLOTS },
	{ "events-buffer",   required_argument, 0, OPT_RINGBUF },
	{ "events",          required_argument, 0, OPT_EVENTS },
	{ "json",            no_argument,       0, OPT_JSON },
	{ "prom-textfile",   required_argument, 0, OPT_TEXTFILE },
	{ "listen",          required_argument, 0, OPT_LISTEN },
	{ "read",            required_argument, 0, OPT_READ },
	{ "local-net",       required_argument, 0, OPT_LOCAL_NET },
	{ "expire-at-end",   no_argument,       0, OPT_EXPIRE_AT_END },
	{ "seed",            required_argument, 0, OPT_SEED },
	{ "flood-min-rate",  required_argument, 0, OPT_FLOOD_MIN_RATE },
	{ "flood-hold",      required_argument, 0, OPT_FLOOD_HOLD },
	{ "alert-exec",      required_argument, 0, OPT_ALERT_EXEC },
	{ "alert-timeout",   required_argument, 0, OPT_ALERT_TIMEOUT },
	{ "syslog",          no_argument,       0, OPT_SYSLOG },
	{ "bpf-stats",       no_argument,       0, OPT_BPF_STATS },
	{ "quiet",           no_argument,       0, 'q' },
	{ "verbose",         no_argument,       0, 'v' },
	{ "help",            no_argument,       0, 'h' },
	{ "version",         no_argument,       0, 'V' },
	{ 0, 0, 0, 0 },
};

void options_usage(FILE *out)
{
	fputs(
"Usage: tcpshake-mon [options] [IFACE...]\n"
"       tcpshake-mon --read FILE [options]\n"
"Watch TCP handshakes and closes on network interfaces with XDP/tc BPF programs,\n"
"or get the same answers from a capture file.\n"
"Without IFACE, the interface of the default route is used (at most 16).\n"
"\n"
"Output:\n"
"  -i, --interval SECONDS       refresh and export interval (default 1, min 0.1)\n"
"  -d, --duration SECONDS       stop after SECONDS (default: until SIGINT/SIGTERM)\n"
"      --json                   print periodic statistics as JSON lines\n"
"      --events PATH            write JSON events to PATH ('-': stdout, which then\n"
"                               carries no table): one per completed handshake and\n"
"                               one per finished attempt or connection\n"
"      --prom-textfile PATH     write the Prometheus exposition to PATH atomically\n"
"                               every interval (node_exporter textfile collector)\n"
"      --listen [ADDR:]PORT     serve /metrics and /healthz over HTTP; ADDR is a\n"
"                               numeric address ([::1] for IPv6), default 127.0.0.1\n"
"  -q, --quiet                  no periodic output and no informational messages\n"
"      --bpf-stats              keep the kernel's BPF run-time statistics on while\n"
"                               running, for tcpshake_bpf_program_run_seconds_total\n"
"                               (each program run then reads the clock twice)\n"
"\n"
"SYN-flood detection (an alert line on stderr whenever a flood starts or ends):\n"
"      --flood-min-rate N       handshake attempts per second left without\n"
"                               completion that a flood needs at least (default\n"
"                               1000); it also needs 8 times the learned normal\n"
"                               rate and most attempts failing\n"
"      --flood-hold SECONDS     a flood ends after this long without its\n"
"                               signature (default 3)\n"
"      --alert-exec 'PROGRAM [ARGS]'\n"
"                               run PROGRAM (split at blanks, no shell) at every\n"
"                               flood start and end: the alert JSON on its stdin,\n"
"                               TCPSHAKE_* variables in its environment; one at a\n"
"                               time, never delaying the metrics; not with --read\n"
"      --alert-timeout SECONDS  kill an --alert-exec program after SECONDS\n"
"                               (default 10)\n"
"      --syslog                 send alert lines to syslog (LOG_DAEMON) too; on by\n"
"                               itself under systemd (JOURNAL_STREAM set, stderr\n"
"                               not a terminal)\n"
"\n"
"Tracking (timeouts in whole seconds):\n"
"      --ingress xdp|tc|auto    ingress hook (default auto: native XDP on physical\n"
"                               NICs, else tc; xdp falls back to generic XDP)\n"
"      --syn-timeout SECONDS    unanswered handshake lifetime (default 30)\n"
"      --time-wait SECONDS      TIME-WAIT length, 2MSL (default 60, as Linux)\n"
"      --close-timeout SECONDS  unacknowledged FIN lifetime (default 120)\n"
"      --idle-timeout SECONDS   idle connection lifetime (default 3600)\n"
"      --max-ports N            service ports per interface with a port label of\n"
"                               their own, the busiest (default 32); the rest are\n"
"                               counted under port=\"other\"\n"
"      --max-flows N            flow-table capacity, rounded up to a power of two\n"
"                               (default 262144)\n"
"      --handshake-slots N      handshake-table capacity, rounded up to a power of\n"
"                               two (default 32768)\n"
"      --events-buffer KB       event ring buffer size (default 4096)\n"
"\n"
"Offline:\n"
"      --read FILE              read a pcap or pcapng capture ('-': standard input)\n"
"                               instead of watching interfaces; the capture's\n"
"                               timestamps are the clock; no root needed\n"
"      --local-net CIDR         addresses of this side of the capture, e.g.\n"
"                               10.0.0.0/8 (repeatable): their packets count as\n"
"                               sent, for inbound/outbound\n"
"      --expire-at-end          end attempts still pending when the capture ends\n"
"                               as timeouts (default: report them as pending)\n"
"      --seed N                 hash seed of the tables, 1 to 2^64-1: the same\n"
"                               capture and N give the same answers (default:\n"
"                               random, as live)\n"
"\n"
"  -v, --verbose                more messages; twice for libbpf debug output\n"
"  -h, --help                   show this help\n"
"  -V, --version                show the version\n"
"\n"
"Exit status: 0 on success, 1 on a runtime error, 2 on a usage error.\n",
	      out);
}

static int bad_value(const char *opt, const char *value, const char *expected)
{
	log_error("invalid value '%s' for %s: expected %s", value, opt, expected);
	return 2;
}

static int parse_number(const char *opt, const char *s, double min, double max,
			const char *expected, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		return bad_value(opt, s, expected);
	*out = v;
	return 0;
}

static int parse_seconds(const char *opt, const char *s, double min, double *out)
{
	return parse_number(opt, s, min, 31536000, "a number of seconds", out);
}

static int parse_u32(const char *opt, const char *s, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		char expected[96];

		snprintf(expected, sizeof(expected), "an integer from %u to %u", min, max);
		return bad_value(opt, s, expected);
	}
	*out = (__u32)v;
	return 0;
}

/* --seed: a whole number from 1 to 2^64-1, decimal or 0x hexadecimal (0
 * would mean "pick one at random" to the configuration). */
static int parse_seed(const char *s, __u64 *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || !v)
		return bad_value("--seed", s, "a whole number from 1 to 18446744073709551615");
	*out = v;
	return 0;
}

static int parse_whole_seconds(const char *opt, const char *s, __u32 *out)
{
	return parse_u32(opt, s, 1, 86400 * 7, out);
}

void options_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->interval_s = 1;
	o->syn_timeout_s = 30;
	o->time_wait_s = 60;
	o->close_timeout_s = 120;
	o->idle_timeout_s = 3600;
	o->max_ports = 32;
	o->max_flows = 262144;
	o->handshake_slots = 32768;
	o->ringbuf_kb = 4096;
	o->flood_min_rate = 1000;
	o->flood_hold_s = 3;
	o->alert_timeout_s = 10;
}

static int parse_one(struct options *o, int c, const char *arg)
{
	switch (c) {
	case 'i': return parse_seconds("--interval", arg, 0.1, &o->interval_s);
	case 'd': return parse_seconds("--duration", arg, 0.1, &o->duration_s);
	case OPT_INGRESS:
		if (!strcmp(arg, "auto"))
			o->ingress = INGRESS_AUTO;
		else if (!strcmp(arg, "xdp"))
			o->ingress = INGRESS_XDP;
		else if (!strcmp(arg, "tc"))
			o->ingress = INGRESS_TC;
		else
			return bad_value("--ingress", arg, "xdp, tc or auto");
		return 0;
	case OPT_SYN_TIMEOUT:   return parse_whole_seconds("--syn-timeout", arg, &o->syn_timeout_s);
	case OPT_TIME_WAIT:     return parse_whole_seconds("--time-wait", arg, &o->time_wait_s);
	case OPT_CLOSE_TIMEOUT: return parse_whole_seconds("--close-timeout", arg, &o->close_timeout_s);
	case OPT_IDLE_TIMEOUT:  return parse_whole_seconds("--idle-timeout", arg, &o->idle_timeout_s);
	case OPT_MAX_PORTS:     return parse_u32("--max-ports", arg, 0, PORT_SLOTS_MAX / 4, &o->max_ports);
	case OPT_MAX_FLOWS:     return parse_u32("--max-flows", arg, 1024, 1u << 26, &o->max_flows);
	case OPT_HS_SLOTS:      return parse_u32("--handshake-slots", arg, 1024, 1u << 26, &o->handshake_slots);
	case OPT_RINGBUF:       return parse_u32("--events-buffer", arg, 64, 1u << 20, &o->ringbuf_kb);
	case OPT_EVENTS:        o->events_path = arg; return 0;
	case OPT_JSON:          o->json = true; return 0;
	case OPT_TEXTFILE:      o->prom_textfile = arg; return 0;
	case OPT_LISTEN:        o->listen = arg; return 0;
	case OPT_READ:          o->read_path = arg; return 0;
	case OPT_LOCAL_NET:
		if (o->local_nets.n == LOCALNET_MAX) {
			log_error("too many --local-net blocks: at most %d", LOCALNET_MAX);
			return 2;
		}
		if (cidr_parse(&o->local_nets.net[o->local_nets.n], arg))
			return bad_value("--local-net", arg, "an address or CIDR block, e.g. 10.0.0.0/8");
		o->local_nets.n++;
		return 0;
	case OPT_EXPIRE_AT_END: o->expire_at_end = true; return 0;
	case OPT_SEED:          return parse_seed(arg, &o->seed);
	case OPT_FLOOD_MIN_RATE: return parse_number("--flood-min-rate", arg, 1, 1e9,
						 "a rate per second of at least 1", &o->flood_min_rate);
	case OPT_FLOOD_HOLD:    return parse_seconds("--flood-hold", arg, 0, &o->flood_hold_s);
	case OPT_ALERT_EXEC:    o->alert_exec = arg; return 0;
	case OPT_ALERT_TIMEOUT: return parse_seconds("--alert-timeout", arg, 0.1, &o->alert_timeout_s);
	case OPT_SYSLOG:        o->syslog = true; return 0;
	case OPT_BPF_STATS:     o->bpf_stats = true; return 0;
	case 'q':               o->quiet = true; return 0;
	case 'v':               o->verbose++; return 0;
	default:                return 2;
	}
}

/* The long option that "--NAME[=VALUE]" names, exactly or as the unique
 * abbreviation getopt accepts; *matches counts the candidates. */
static const struct option *long_option_named(const char *arg, int *matches)
{
	size_t n = strcspn(arg, "=");
	const struct option *lo, *found = NULL;

	*matches = 0;
	for (lo = long_options; lo->name; lo++) {
		if (strncmp(lo->name, arg, n))
			continue;
		if (strlen(lo->name) == n) {
			*matches = 1;
			return lo;
		}
		found = lo;
		(*matches)++;
	}
	return *matches == 1 ? found : NULL;
}

/* One sentence, naming the option as --help does, for what getopt_long
 * rejected: it reports long options by their value, which is no character
 * for most of ours. arg is the last argument getopt consumed; for an error
 * inside a cluster of short options ("-qx") it is an earlier one. */
static int option_error(int c, const char *arg)
{
	const char *name = arg && !strncmp(arg, "--", 2) ? arg + 2 : NULL;
	int matches = 0;
	const struct option *lo = name ? long_option_named(name, &matches) : NULL;
	const struct option *cand;
	char candidates[128] = "";

	if (lo && optopt && lo->val != optopt)
		lo = NULL;           /* the error is a short option's, after a long one */
	if (c == ':' && lo)
		log_error("missing value for option '--%s'; see --help", lo->name);
	else if (c == ':')
		log_error("missing value for option '-%c'; see --help", optopt);
	else if (lo)
		log_error("option '--%s' takes no value; see --help", lo->name);
	else if (optopt)
		log_error("unknown option '-%c'; see --help", optopt);
	else if (matches > 1 && matches <= 3) {
		for (cand = long_options; cand->name; cand++) {
			size_t used = strlen(candidates);

			if (!strncmp(cand->name, name, strcspn(name, "=")))
				snprintf(candidates + used, sizeof(candidates) - used, "%s--%s",
					 used ? " or " : "", cand->name);
		}
		log_error("ambiguous option '--%.*s': did you mean %s?", (int)strcspn(name, "="), name, candidates);
	} else
		log_error("unknown option '--%.*s'; see --help", name ? (int)strcspn(name, "=") : 0,
			  name ? name : "");
	return 2;
}

int options_parse(struct options *o, int argc, char **argv)
{
	int c, rc;

	options_defaults(o);
	optind = 0;        /* a full restart of getopt: callers may parse twice */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:d:qvhV", long_options, NULL)) != -1) {
		if (c == 'h') {
			options_usage(stdout);
			return 0;
		}
		if (c == 'V') {
			printf("tcpshake-mon %s\n", TCPSHAKE_VERSION);
			return 0;
		}
		if (c == '?' || c == ':')
			return option_error(c, optind > 0 && optind <= argc ? argv[optind - 1] : NULL);
		rc = parse_one(o, c, optarg);
		if (rc)
			return rc;
	}
	for (; optind < argc; optind++) {
		int i;

		if (o->nr_ifaces == MAX_IFACES) {
			log_error("too many interfaces: at most %d", MAX_IFACES);
			return 2;
		}
		for (i = 0; i < o->nr_ifaces; i++) {
			if (!strcmp(o->ifaces[i], argv[optind])) {
				log_error("interface %s given twice", argv[optind]);
				return 2;
			}
		}
		o->ifaces[o->nr_ifaces++] = argv[optind];
	}
	if (o->read_path) {
		if (o->nr_ifaces) {
			log_error("--read takes no interface: drop '%s' or --read", o->ifaces[0]);
			return 2;
		}
		if (o->listen) {
			log_error("--listen cannot be used with --read: use --prom-textfile");
			return 2;
		}
		if (o->bpf_stats) {
			log_error("--bpf-stats cannot be used with --read: a capture runs no BPF program");
			return 2;
		}
		if (o->alert_exec) {
			log_error("--alert-exec cannot be used with --read: drop it (floods of a capture are "
				  "reported on standard error and in --events)");
			return 2;
		}
	} else if (o->local_nets.n || o->expire_at_end || o->seed) {
		log_error("--local-net, --expire-at-end and --seed only apply to --read FILE");
		return 2;
	}
	if (o->events_path && !strcmp(o->events_path, "-") && !o->json && !o->quiet)
		o->quiet = true;   /* stdout carries the events */
	return -1;
}

const struct flood_params *options_flood_params(struct flood_params *p, const struct options *o)
{
	flood_params_default(p);
	p->min_rate = o->flood_min_rate;
	p->hold_s = o->flood_hold_s;
	return p;
}
