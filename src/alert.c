// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "alert.h"
#include "events.h"
#include "log.h"
#include "sysalert.h"

extern char **environ;

/* ---- the line ---- */

struct buf {
	char *p;
	size_t len, used;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->used >= b->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->used, b->len - b->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->used += (size_t)n;
}

static void put_hits(struct buf *b, const char *what, const struct flood_hit *h, int n)
{
	int k;

	put(b, "; top %s:", what);
	if (!n)
		put(b, " -");
	for (k = 0; k < n; k++)
		put(b, "%s %s (%.0f/s)", k ? "," : "", h[k].name, h[k].rate);
}

void flood_alert_line(const struct flood_alert *fa, char *p, size_t len)
{
	const struct flood_view *v = fa->v, *f = fa->flooded;
	struct buf b = { p, len, 0 };
	int k;

	if (len)
		p[0] = 0;
	if (fa->start)
		put(&b, "SYN flood started on %s: %.0f SYN/s, %.0f SYN-ACK/s, %.0f handshakes/s, "
		    "%.1f%% of attempts not completing (%.0f/s), %lld half-open, ~%.0f sources",
		    fa->iface, v->syn_rate, v->synack_rate, v->handshake_rate,
		    100 * v->incomplete_share, v->uncompleted_rate, (long long)fa->half_open, v->sources);
	else
		put(&b, "SYN flood ended on %s after %.1f s: peak %.0f attempts/s, ~%.0f sources; "
		    "now %.0f SYN/s, %.0f handshakes/s, %lld half-open",
		    fa->iface, fa->duration_s, fa->peak_syn_rate, fa->flood_sources, v->syn_rate,
		    v->handshake_rate, (long long)fa->half_open);
	put_hits(&b, "prefixes", f->prefixes, f->nr_prefixes);
	put_hits(&b, "ports", f->ports, f->nr_ports);
	if (fa->nr_ports) {
		put(&b, "; labelled ports in flood:");
		for (k = 0; k < fa->nr_ports; k++)
			put(&b, "%s %u", k ? "," : "", fa->ports[k]);
	}
}

/* ---- the command ---- */

void alert_free_vector(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

char **alert_split_command(const char *line)
{
	size_t n = 0, len;
	char **v = calloc(strlen(line) / 2 + 2, sizeof(*v));
	const char *s = line;

	if (!v)
		return NULL;
	for (;;) {
		s += strspn(s, " \t");
		if (!*s)
			break;
		len = strcspn(s, " \t");
		v[n] = strndup(s, len);
		if (!v[n++]) {
			alert_free_vector(v);
			return NULL;
		}
		s += len;
	}
	if (!n) {
		free(v);
		return NULL;
	}
	return v;
}

static char *env_pair(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *env_pair(const char *name, const char *fmt, ...)
{
	char value[512], *out = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (asprintf(&out, "%s=%s", name, value) < 0)
		return NULL;
	return out;
}

static void hit_names(char *buf, size_t len, const struct flood_hit *h, int n)
{
	struct buf b = { buf, len, 0 };
	int k;

	buf[0] = 0;
	for (k = 0; k < n; k++)
		put(&b, "%s%s", k ? " " : "", h[k].name);
}

/* The program's environment: ours, then the alert's key fields. */
static char **alert_env(const struct flood_alert *fa)
{
	char prefixes[FLOOD_TOP * 50], ports[FLOOD_TOP * 50], labelled[FLOOD_TOP * 8], ts[32];
	size_t n = 0, i;
	char **env;
	struct buf b = { labelled, sizeof(labelled), 0 };
	time_t sec = (time_t)fa->wall_s;
	struct tm tm;
	int k;

	labelled[0] = 0;
	for (k = 0; k < fa->nr_ports; k++)
		put(&b, "%s%u", k ? " " : "", fa->ports[k]);
	hit_names(prefixes, sizeof(prefixes), fa->flooded->prefixes, fa->flooded->nr_prefixes);
	hit_names(ports, sizeof(ports), fa->flooded->ports, fa->flooded->nr_ports);
	gmtime_r(&sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	while (environ && environ[n])
		n++;
	env = calloc(n + 16, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++)
		env[i] = strdup(environ[i]);
	env[n++] = env_pair("TCPSHAKE_EVENT", "syn_flood");
	env[n++] = env_pair("TCPSHAKE_PHASE", "%s", fa->start ? "start" : "end");
	env[n++] = env_pair("TCPSHAKE_IFACE", "%s", fa->iface);
	env[n++] = env_pair("TCPSHAKE_TS", "%s", ts);
	env[n++] = env_pair("TCPSHAKE_SYN_RATE", "%.0f", fa->v->syn_rate);
	env[n++] = env_pair("TCPSHAKE_UNCOMPLETED_RATE", "%.0f", fa->v->uncompleted_rate);
	env[n++] = env_pair("TCPSHAKE_PEAK_ATTEMPT_RATE", "%.0f", fa->peak_syn_rate);
	env[n++] = env_pair("TCPSHAKE_SOURCES", "%.0f", fa->start ? fa->v->sources : fa->flood_sources);
	env[n++] = env_pair("TCPSHAKE_HALF_OPEN", "%lld", (long long)fa->half_open);
	env[n++] = env_pair("TCPSHAKE_DURATION_S", "%.1f", fa->duration_s);
	env[n++] = env_pair("TCPSHAKE_TOP_PREFIXES", "%s", prefixes);
	env[n++] = env_pair("TCPSHAKE_TOP_PORTS", "%s", ports);
	env[n++] = env_pair("TCPSHAKE_PORTS", "%s", labelled);
	env[n++] = env_pair("TCPSHAKE_ALERTS_TOTAL", "%llu", (unsigned long long)fa->v->alerts);
	for (i = 0; i < n; i++) {
		if (!env[i]) {
			alert_free_vector(env);
			return NULL;
		}
	}
	return env;
}

/* ---- the runner thread ---- */

static pid_t spawn(struct alerter *a, char **env, int stdin_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, defaults;
	pid_t pid = 0;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, stdin_fd, STDIN_FILENO);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &defaults);
	/* A process group of its own: a timeout kills what it started too. */
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
				 POSIX_SPAWN_SETPGROUP);
	err = posix_spawnp(&pid, a->argv[0], &fa, &at, a->argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (err) {
		log_warn("cannot run the --alert-exec program %s: %s", a->argv[0], strerror(err));
		return -1;
	}
	return pid;
}

static void run_job(struct alerter *a, struct alert_job *j)
{
	double deadline = clock_mono_now() + a->timeout_s;
	struct timespec nap = { 0, 20 * 1000000L };
	int fds[2], status = 0;
	bool killed = false;
	size_t len;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC)) {
		log_warn("cannot run the --alert-exec program: pipe: %s", strerror(errno));
		return;
	}
	pid = spawn(a, j->env, fds[0]);
	close(fds[0]);
	if (pid > 0) {
		/* The JSON is far smaller than a pipe's buffer: this never blocks,
		 * and a program that does not read it just loses it. */
		fcntl(fds[1], F_SETFL, O_NONBLOCK);
		len = strlen(j->json);
		if (write(fds[1], j->json, len) != (ssize_t)len || write(fds[1], "\n", 1) != 1)
			log_debug("the --alert-exec program did not take the whole alert on stdin");
	}
	close(fds[1]);
	if (pid <= 0)
		return;
	pthread_mutex_lock(&a->lock);
	a->running = pid;
	pthread_mutex_unlock(&a->lock);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		bool stopping;

		if (r == pid || (r < 0 && errno != EINTR))
			break;
		pthread_mutex_lock(&a->lock);
		stopping = a->stopping;
		pthread_mutex_unlock(&a->lock);
		if (!killed && (stopping || clock_mono_now() >= deadline)) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed = true;
			if (!stopping)
				log_warn("the --alert-exec program %s ran longer than %g s: killed",
					 a->argv[0], a->timeout_s);
		}
		nanosleep(&nap, NULL);
	}
	pthread_mutex_lock(&a->lock);
	a->running = 0;
	pthread_mutex_unlock(&a->lock);
	if (killed)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status))
		log_warn("the --alert-exec program %s failed with exit status %d", a->argv[0],
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warn("the --alert-exec program %s was killed by signal %d", a->argv[0],
			 WTERMSIG(status));
}

static void free_job(struct alert_job *j)
{
	free(j->json);
	alert_free_vector(j->env);
	j->json = NULL;
	j->env = NULL;
}

static void *runner(void *arg)
{
	struct alerter *a = arg;
	struct alert_job j;
	sigset_t pipe_signal;

	/* A program that exits before reading its stdin makes the write fail
	 * with EPIPE: blocked here, the SIGPIPE stays pending on this thread
	 * and never ends a process that has not ignored it (the unit tests;
	 * main.c ignores it). Its children start with an empty mask (spawn). */
	sigemptyset(&pipe_signal);
	sigaddset(&pipe_signal, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_signal, NULL);
	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->count && !a->stopping)
			pthread_cond_wait(&a->wake, &a->lock);
		if (a->stopping)
			break;
		j = a->queue[a->head];
		a->head = (a->head + 1) % ALERT_QUEUE;
		a->count--;
		a->busy = true;
		pthread_mutex_unlock(&a->lock);
		run_job(a, &j);
		free_job(&j);
		pthread_mutex_lock(&a->lock);
		a->busy = false;
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int alerter_start(struct alerter *a, const char *exec_line, double timeout_s, bool use_syslog)
{
	sigset_t block, old;
	int err;

	memset(a, 0, sizeof(*a));
	a->timeout_s = timeout_s;
	a->use_syslog = use_syslog;
	if (use_syslog)
		sysalert_open();
	if (!exec_line)
		return 0;
	a->argv = alert_split_command(exec_line);
	if (!a->argv) {
		log_error("--alert-exec names no program: give 'PROGRAM [ARGS]'");
		return -1;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	/* Signals stay with the main thread. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	err = pthread_create(&a->thread, NULL, runner, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		log_error("cannot start the --alert-exec thread: %s", strerror(err));
		alert_free_vector(a->argv);
		a->argv = NULL;
		return -1;
	}
	a->thread_on = true;
	return 0;
}

void alerter_emit(struct alerter *a, const struct flood_alert *fa, const char *json)
{
	struct alert_job j = { 0 };
	char line[2048];

	flood_alert_line(fa, line, sizeof(line));
	fprintf(stderr, "tcpshake-mon: %s\n", line);
	fflush(stderr);
	if (a->use_syslog)
		sysalert_line(fa->start, line);
	if (!a->thread_on || !json)
		return;
	j.json = strdup(json);
	j.env = alert_env(fa);
	if (!j.json || !j.env) {
		log_warn("out of memory: an alert was not passed to the --alert-exec program");
		free_job(&j);
		return;
	}
	pthread_mutex_lock(&a->lock);
	if (a->count == ALERT_QUEUE) {
		/* The program is stuck behind: the oldest waiting alert goes. */
		free_job(&a->queue[a->head]);
		a->head = (a->head + 1) % ALERT_QUEUE;
		a->count--;
		a->dropped++;
		log_warn("the --alert-exec program is too slow: an older alert was dropped");
	}
	a->queue[(a->head + a->count) % ALERT_QUEUE] = j;
	a->count++;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
}

void flood_alert_report(struct alerter *a, const struct flood_alert *fa,
			void (*write_line)(const char *json, void *ctx), void *ctx)
{
	char *json = flood_alert_to_json(fa);

	if (json && write_line)
		write_line(json, ctx);
	alerter_emit(a, fa, json);
	free(json);
}

void alerter_stop(struct alerter *a)
{
	if (a->thread_on) {
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		pthread_cond_signal(&a->wake);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
		while (a->count) {
			free_job(&a->queue[a->head]);
			a->head = (a->head + 1) % ALERT_QUEUE;
			a->count--;
		}
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->wake);
	}
	alert_free_vector(a->argv);
	if (a->use_syslog)
		sysalert_close();
	memset(a, 0, sizeof(*a));
}
