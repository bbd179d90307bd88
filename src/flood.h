/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The SYN-flood decision for one interface or one service port: pure C, no
 * globals, the clock passed in, so it is unit-tested on synthetic series
 * like the state machine.
 *
 * Every interval it gets the running totals of handshake attempts (SYNs
 * that are not retransmissions) and of handshakes completed. The attempts
 * that do not complete are the flood's signature: a spoofed SYN is never
 * followed by a third ACK, whether the server answers it (SYN cookies) or
 * not, while real clients complete theirs however many they are. Attempts
 * get up to FLOOD_GRACE_S to complete: the completions of the last window
 * are compared with the attempts of the same window shifted back by the
 * lag (0 to FLOOD_GRACE_S) that explains them best, so a surge of slow
 * clients does not look like attempts left hanging. The state is entered
 * when, over that window,
 *   uncompleted/s > min_rate, and
 *   uncompleted/s > factor x baseline (EWMA learned only while not flooding), and
 *   the completed share < collapse x max(baseline share, 0.5);
 * it is left once that has been false for hold_s. docs/design.md says why.
 */
#ifndef TCPSHAKE_FLOOD_DETECT_H
#define TCPSHAKE_FLOOD_DETECT_H

#include <stdbool.h>
#include <linux/types.h>

struct flood_params {
	double min_rate;          /* uncompleted attempts/s floor (--flood-min-rate) */
	double hold_s;            /* condition false this long ends a flood (--flood-hold) */
	double factor;            /* uncompleted rate over its baseline */
	double collapse;          /* completed share under this part of its baseline */
	double tau_s;             /* baseline EWMA time constant */
	int confirm;              /* decisions in a row the condition must hold to enter */
};

#define FLOOD_MIN_RATE_DEFAULT 1000.0
#define FLOOD_HOLD_DEFAULT     3.0

void flood_params_default(struct flood_params *p);

#define FLOOD_GRACE_S  0.5     /* time an attempt gets to complete */
#define FLOOD_LAGS     10      /* lags tried, evenly from 0 to FLOOD_GRACE_S */
#define FLOOD_WINDOW_S 0.5     /* shortest window judged (else the interval) */
#define FLOOD_HISTORY  128     /* points kept: 12.8 s at one every 100 ms */

/* Running totals of one interface or port at one tick. */
struct flood_sample {
	double attempts;          /* handshake attempts (SYNs minus retransmissions) */
	double completed;         /* handshakes completed */
};

struct flood_point {
	double t, attempts, completed;
};

struct flood_state {
	struct flood_point hist[FLOOD_HISTORY];   /* ring of the last ticks */
	int nr_hist, next_hist;
	double last_step_s;       /* the last decision, if stepped */
	bool stepped;
	bool active;
	bool condition;           /* the entry condition held in the last interval */
	int streak;               /* decisions in a row it held */
	double baseline_rate;     /* EWMA of uncompleted/s while not flooding */
	double baseline_share;    /* EWMA of the completed share while not flooding */
	double last_true_s;       /* end of the last interval where the condition held */
	double started_s;         /* when the current (or last) flood started */
	double ended_s;
	__u64 alerts;             /* floods started */
	/* The last interval, for export. */
	double attempt_rate;      /* over the last interval */
	double completion_rate;
	double uncompleted_rate;  /* over the judged window */
	double incomplete_share;  /* uncompleted / attempts there, 0 without attempts */
	double peak_attempt_rate; /* highest attempt rate of the current flood */
};

enum flood_change { FLOOD_SAME = 0, FLOOD_STARTED, FLOOD_ENDED };

void flood_state_init(struct flood_state *s);
/* Feeds the totals at now_s and decides; says whether a flood started or
 * ended. Totals that go down (a counter moved elsewhere) restart the
 * history. */
enum flood_change flood_step(struct flood_state *s, const struct flood_params *p,
			     const struct flood_sample *x, double now_s);
/* Only keeps the totals at now_s (if the last point is spacing_s old), so
 * the next decision knows when within the interval attempts and
 * completions came: the monitor samples its counters every 100 ms. */
void flood_observe(struct flood_state *s, const struct flood_sample *x, double now_s, double spacing_s);

#endif
