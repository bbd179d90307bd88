// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Zeek conn_state and outcome of records produced by the real state
 * machine for each kind of dialogue. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>
#include "tcpshake/fsm.h"
#include "names.h"

#define SEC 1000000000ull
#define O 1
#define R 0

static const struct fsm_timeouts t = { 30 * SEC, 60 * SEC, 120 * SEC, 3600 * SEC, FSM_TOMBSTONE_NS };

static void seg(struct conn *c, int from_orig, __u8 flags, __u32 seq, __u32 ack, __u32 len)
{
	struct segment s = { .seq = seq, .ack = ack, .payload_len = len, .flags = flags,
			     .from_orig = (__u8)from_orig };

	fsm_segment(c, &s, 2 * SEC);
}

static void syn(struct conn *c)
{
	struct segment s = { .seq = 100, .flags = TCPF_SYN, .from_orig = 1 };

	fsm_start_syn(c, &s, SEC);
}

static void established(struct conn *c)
{
	syn(c);
	seg(c, R, TCPF_SYN | TCPF_ACK, 500, 101, 0);
	seg(c, O, TCPF_ACK, 101, 501, 0);
}

static void expect(const struct conn *c, const char *state, const char *outcome)
{
	assert_string_equal(zeek_conn_state(c), state);
	if (outcome)
		assert_string_equal(outcome_name(c->outcome), outcome);
}

static void test_attempts(void **unused)
{
	struct conn c;

	(void)unused;
	syn(&c);
	fsm_expire(&c, 40 * SEC, &t);
	expect(&c, "S0", "timeout");

	syn(&c);
	seg(&c, R, TCPF_RST | TCPF_ACK, 0, 101, 0);
	expect(&c, "REJ", "refused");

	syn(&c);
	seg(&c, O, TCPF_RST, 101, 0, 0);
	expect(&c, "RSTOS0", "reset");

	syn(&c);
	seg(&c, O, TCPF_FIN | TCPF_ACK, 101, 0, 0);
	fsm_expire(&c, 40 * SEC, &t);
	expect(&c, "SH", "timeout");

	/* SYN and SYN-ACK without a third ACK: Zeek calls both sides established. */
	syn(&c);
	seg(&c, R, TCPF_SYN | TCPF_ACK, 500, 101, 0);
	fsm_expire(&c, 40 * SEC, &t);
	expect(&c, "S1", "timeout");

	syn(&c);
	seg(&c, R, TCPF_SYN | TCPF_ACK, 500, 101, 0);
	seg(&c, O, TCPF_RST, 101, 0, 0);
	expect(&c, "RSTO", "reset");

	syn(&c);
	seg(&c, R, TCPF_SYN | TCPF_ACK, 500, 101, 0);
	seg(&c, R, TCPF_RST, 501, 0, 0);
	expect(&c, "RSTR", "reset");
}

static void test_orphans(void **unused)
{
	struct segment sa = { .seq = 500, .ack = 101, .flags = TCPF_SYN | TCPF_ACK };
	struct conn c;

	(void)unused;
	fsm_start_orphan_synack(&c, &sa, SEC);
	seg(&c, R, TCPF_RST, 501, 0, 0);
	expect(&c, "RSTRH", "reset");

	fsm_start_orphan_synack(&c, &sa, SEC);
	seg(&c, R, TCPF_FIN | TCPF_ACK, 501, 101, 0);
	fsm_expire(&c, 40 * SEC, &t);
	expect(&c, "SHR", "timeout");

	fsm_start_orphan_synack(&c, &sa, SEC);
	fsm_expire(&c, 40 * SEC, &t);
	expect(&c, "OTH", "timeout");
}

static void test_connections(void **unused)
{
	struct conn c;

	(void)unused;
	established(&c);
	expect(&c, "S1", "established");

	established(&c);
	seg(&c, O, TCPF_FIN | TCPF_ACK, 101, 501, 0);
	seg(&c, R, TCPF_FIN | TCPF_ACK, 501, 102, 0);
	seg(&c, O, TCPF_ACK, 102, 502, 0);
	expect(&c, "SF", "closed");

	established(&c);
	seg(&c, O, TCPF_FIN | TCPF_ACK, 101, 501, 0);
	c.last_active = 0;
	fsm_expire(&c, 4000 * SEC, &t);
	expect(&c, "S2", "expired");

	established(&c);
	seg(&c, R, TCPF_FIN | TCPF_ACK, 501, 101, 0);
	fsm_expire(&c, 4000 * SEC, &t);
	expect(&c, "S3", "expired");

	established(&c);
	seg(&c, O, TCPF_RST, 101, 0, 0);
	expect(&c, "RSTO", "reset");

	established(&c);
	seg(&c, R, TCPF_RST, 501, 0, 0);
	expect(&c, "RSTR", "reset");

	/* A RST after both FINs is still a normal termination for Zeek. */
	established(&c);
	seg(&c, O, TCPF_FIN | TCPF_ACK, 101, 501, 0);
	seg(&c, R, TCPF_FIN | TCPF_ACK, 501, 102, 0);
	seg(&c, R, TCPF_RST, 502, 0, 0);
	expect(&c, "SF", "reset");
}

static void test_names(void **unused)
{
	(void)unused;
	assert_string_equal(fail_reason_name(FAIL_REFUSED), "refused");
	assert_string_equal(fail_reason_name(FAIL_INVALID), "invalid");
	assert_string_equal(fail_reason_name(99), "unknown");
	assert_string_equal(outcome_name(OUT_EXPIRED), "expired");
	assert_string_equal(hist_name(H_TIME_WAIT), "time_wait_seconds");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attempts),
		cmocka_unit_test(test_orphans),
		cmocka_unit_test(test_connections),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
