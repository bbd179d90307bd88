// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Flood alert outputs (src/alert.c, src/events.c): the line, the JSON, and
 * --alert-exec with real programs: it gets the JSON and the variables, a
 * hanging one is killed after the timeout, and emitting never waits for a
 * program however slow it is. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "alert.h"
#include "events.h"

static char dir[64];

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static struct flood_view view;
static struct flood_alert sample_alert(bool start)
{
	struct flood_alert a = {
		.start = start, .iface = "eth9", .wall_s = 1796101929.5, .started_wall_s = 1796101919.0,
		.duration_s = start ? 0 : 10.5, .v = &view, .flooded = &view, .half_open = 9087,
		.peak_syn_rate = 12203, .flood_sources = 253.4, .nr_ports = 1, .ports = { 8080 },
	};

	memset(&view, 0, sizeof(view));
	view.syn_rate = 9213.6;
	view.attempt_rate = 9213.6;
	view.synack_rate = 9213.6;
	view.handshake_rate = 93.7;
	view.uncompleted_rate = 9026.8;
	view.incomplete_share = 0.9797;
	view.sources = 257;
	view.alerts = 1;
	view.active = start;
	view.nr_prefixes = 2;
	strcpy(view.prefixes[0].name, "10.77.99.0/24");
	view.prefixes[0].rate = 9118;
	strcpy(view.prefixes[1].name, "2001:db8:7::/48");
	view.prefixes[1].rate = 95.6;
	view.nr_ports = 1;
	strcpy(view.ports[0].name, "8080");
	view.ports[0].rate = 9213.6;
	return a;
}

static void test_split(void **unused)
{
	char **v;

	(void)unused;
	v = alert_split_command("  /usr/bin/notify \t--team  net ");
	assert_non_null(v);
	assert_string_equal(v[0], "/usr/bin/notify");
	assert_string_equal(v[1], "--team");
	assert_string_equal(v[2], "net");
	assert_null(v[3]);
	alert_free_vector(v);
	assert_null(alert_split_command(""));
	assert_null(alert_split_command(" \t "));
}

static void test_line(void **unused)
{
	struct flood_alert a = sample_alert(true);
	char line[1024];

	(void)unused;
	flood_alert_line(&a, line, sizeof(line));
	assert_string_equal(line,
		"SYN flood started on eth9: 9214 SYN/s, 9214 SYN-ACK/s, 94 handshakes/s, 98.0% of "
		"attempts not completing (9027/s), 9087 half-open, ~257 sources; top prefixes: "
		"10.77.99.0/24 (9118/s), 2001:db8:7::/48 (96/s); top ports: 8080 (9214/s); "
		"labelled ports in flood: 8080");
	a = sample_alert(false);
	flood_alert_line(&a, line, sizeof(line));
	assert_string_equal(line,
		"SYN flood ended on eth9 after 10.5 s: peak 12203 attempts/s, ~253 sources; now "
		"9214 SYN/s, 94 handshakes/s, 9087 half-open; top prefixes: 10.77.99.0/24 (9118/s), "
		"2001:db8:7::/48 (96/s); top ports: 8080 (9214/s); labelled ports in flood: 8080");
	/* A short buffer truncates, never overflows. */
	flood_alert_line(&a, line, 20);
	assert_int_equal(strlen(line), 19);
}

static void test_json(void **unused)
{
	struct flood_alert a = sample_alert(true);
	char *text = flood_alert_to_json(&a);
	json_object *o = json_tokener_parse(text), *f;

	(void)unused;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "type", &f));
	assert_string_equal(json_object_get_string(f), "syn_flood");
	assert_true(json_object_object_get_ex(o, "phase", &f));
	assert_string_equal(json_object_get_string(f), "start");
	assert_true(json_object_object_get_ex(o, "iface", &f));
	assert_string_equal(json_object_get_string(f), "eth9");
	assert_true(json_object_object_get_ex(o, "duration_s", &f));
	assert_null(f);
	assert_true(json_object_object_get_ex(o, "sources", &f));
	assert_int_equal(json_object_get_int(f), 257);
	assert_true(json_object_object_get_ex(o, "top_prefixes", &f));
	assert_int_equal(json_object_array_length(f), 2);
	assert_string_equal(json_object_get_string(json_object_object_get(
		json_object_array_get_idx(f, 1), "prefix")), "2001:db8:7::/48");
	assert_true(json_object_object_get_ex(o, "ports", &f));
	assert_int_equal(json_object_get_int(json_object_array_get_idx(f, 0)), 8080);
	json_object_put(o);
	free(text);
}

static void script(const char *name, const char *body)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
}

/* Waits up to 5 s for a file to appear with content. */
static char *wait_file(const char *name)
{
	char path[128], *buf = NULL;
	long n;
	int i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (i = 0; i < 250; i++) {
		FILE *f = fopen(path, "r");

		if (f) {
			fseek(f, 0, SEEK_END);
			n = ftell(f);
			if (n > 0) {
				buf = calloc(1, (size_t)n + 1);
				rewind(f);
				assert_int_equal(fread(buf, 1, (size_t)n, f), n);
				fclose(f);
				return buf;
			}
			fclose(f);
		}
		nap_ms(20);
	}
	return NULL;
}

static void test_exec_gets_json_and_env(void **unused)
{
	struct flood_alert a = sample_alert(true);
	struct alerter al;
	char cmd[160], *json = flood_alert_to_json(&a), *got, *env;

	(void)unused;
	script("hook.sh", "cat > \"$0.$1.json.tmp\"; env > \"$0.env\"; mv \"$0.$1.json.tmp\" \"$0.$1.json\"");
	snprintf(cmd, sizeof(cmd), "%s/hook.sh  first", dir);
	assert_int_equal(alerter_start(&al, cmd, 5, false), 0);
	alerter_emit(&al, &a, json);
	got = wait_file("hook.sh.first.json");
	assert_non_null(got);
	/* The JSON, then a newline. */
	assert_int_equal(strncmp(got, json, strlen(json)), 0);
	assert_string_equal(got + strlen(json), "\n");
	env = wait_file("hook.sh.env");
	assert_non_null(env);
	assert_non_null(strstr(env, "TCPSHAKE_IFACE=eth9\n"));
	assert_non_null(strstr(env, "TCPSHAKE_PHASE=start\n"));
	assert_non_null(strstr(env, "TCPSHAKE_EVENT=syn_flood\n"));
	assert_non_null(strstr(env, "TCPSHAKE_TOP_PREFIXES=10.77.99.0/24 2001:db8:7::/48\n"));
	assert_non_null(strstr(env, "TCPSHAKE_PORTS=8080\n"));
	assert_non_null(strstr(env, "TCPSHAKE_SOURCES=257\n"));
	alerter_stop(&al);
	free(got);
	free(env);
	free(json);
}

static bool running_for(struct alerter *al, int ms, bool want)
{
	int i;

	for (i = 0; i < ms / 10; i++) {
		bool r;

		pthread_mutex_lock(&al->lock);
		r = al->running != 0;
		pthread_mutex_unlock(&al->lock);
		if (r == want)
			return true;
		nap_ms(10);
	}
	return false;
}

static void test_exec_hanging_is_killed_and_never_blocks(void **unused)
{
	struct flood_alert a = sample_alert(true);
	struct alerter al;
	char cmd[160], pidfile[128], *pid_text;
	pid_t pid;
	int i;

	(void)unused;
	script("hang.sh", "echo $$ > \"$0.pid.tmp\"; mv \"$0.pid.tmp\" \"$0.pid\"; exec sleep 60");
	snprintf(cmd, sizeof(cmd), "%s/hang.sh", dir);
	assert_int_equal(alerter_start(&al, cmd, 0.5, false), 0);
	alerter_emit(&al, &a, "{}");
	assert_true(running_for(&al, 5000, true));
	/* While it hangs, emitting 20 more returns each time: they queue, the
	 * oldest beyond 16 are dropped. */
	for (i = 0; i < 20; i++)
		alerter_emit(&al, &a, "{}");
	pthread_mutex_lock(&al.lock);
	assert_true(al.count <= ALERT_QUEUE);
	assert_true(al.dropped >= 20 - ALERT_QUEUE);
	pthread_mutex_unlock(&al.lock);
	snprintf(pidfile, sizeof(pidfile), "hang.sh.pid");
	pid_text = wait_file(pidfile);
	assert_non_null(pid_text);
	pid = (pid_t)atoi(pid_text);
	assert_true(pid > 0);
	/* Killed after the 0.5 s timeout: gone well before its sleep ends. */
	for (i = 0; i < 300 && kill(pid, 0) == 0; i++)
		nap_ms(10);
	assert_int_not_equal(kill(pid, 0), 0);
	/* Stopping kills the next one at once and drops the queue. */
	alerter_stop(&al);
	free(pid_text);
}

/* Waits up to 5 s until the queue is empty and nothing runs. */
static bool drained(struct alerter *al)
{
	int i;

	for (i = 0; i < 500; i++) {
		bool idle;

		pthread_mutex_lock(&al->lock);
		idle = !al->count && !al->busy;
		pthread_mutex_unlock(&al->lock);
		if (idle)
			return true;
		nap_ms(10);
	}
	return false;
}

/* Programs that cannot start or fail are reported, and the next alert
 * still runs. */
static void test_exec_failures(void **unused)
{
	struct flood_alert a = sample_alert(false);
	struct alerter al;
	char cmd[160], *got;

	(void)unused;
	snprintf(cmd, sizeof(cmd), "%s/no-such-program", dir);
	assert_int_equal(alerter_start(&al, cmd, 1, false), 0);
	alerter_emit(&al, &a, "{}");
	alerter_emit(&al, &a, "{}");
	assert_true(drained(&al));
	alerter_stop(&al);
	script("fail.sh", "n=$(cat \"$0.count\" 2>/dev/null || echo 0); echo $((n + 1)) > \"$0.count\"; exit 3");
	snprintf(cmd, sizeof(cmd), "%s/fail.sh", dir);
	assert_int_equal(alerter_start(&al, cmd, 1, false), 0);
	alerter_emit(&al, &a, "{}");
	alerter_emit(&al, &a, "{}");
	assert_true(drained(&al));
	alerter_stop(&al);
	got = wait_file("fail.sh.count");
	assert_non_null(got);
	assert_string_equal(got, "2\n");
	free(got);
	assert_int_not_equal(alerter_start(&al, "   ", 1, false), 0);
}

static int setup(void **unused)
{
	(void)unused;
	snprintf(dir, sizeof(dir), "/tmp/tcpshake-alert-test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **unused)
{
	char cmd[128];

	(void)unused;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_exec_gets_json_and_env),
		cmocka_unit_test(test_exec_hanging_is_killed_and_never_blocks),
		cmocka_unit_test(test_exec_failures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
