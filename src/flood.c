// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <math.h>
#include <string.h>
#include "flood.h"

/* Attempts in one window below which its completed share says nothing. */
#define SHARE_MIN_ATTEMPTS 20.0
/* The completed share's baseline never counts as lower than this: on an
 * interface where most attempts fail anyway (scans), the rate conditions
 * decide. */
#define SHARE_BASELINE_FLOOR 0.5

void flood_params_default(struct flood_params *p)
{
	p->min_rate = FLOOD_MIN_RATE_DEFAULT;
	p->hold_s = FLOOD_HOLD_DEFAULT;
	p->factor = 8;
	p->collapse = 0.5;
	p->tau_s = 300;
	p->confirm = 1;
}

void flood_state_init(struct flood_state *s)
{
	memset(s, 0, sizeof(*s));
	s->baseline_share = 1;
}

static const struct flood_point *point(const struct flood_state *s, int age)
{
	return &s->hist[(s->next_hist - 1 - age + 2 * FLOOD_HISTORY) % FLOOD_HISTORY];
}

static void remember(struct flood_state *s, double t, const struct flood_sample *x)
{
	struct flood_point *p = &s->hist[s->next_hist];

	p->t = t;
	p->attempts = x->attempts;
	p->completed = x->completed;
	s->next_hist = (s->next_hist + 1) % FLOOD_HISTORY;
	if (s->nr_hist < FLOOD_HISTORY)
		s->nr_hist++;
}

/* The totals at time t, linear between ticks, the oldest kept before them. */
static struct flood_point at(const struct flood_state *s, double t)
{
	int age;

	for (age = 0; age + 1 < s->nr_hist; age++) {
		const struct flood_point *b = point(s, age), *a = point(s, age + 1);

		if (a->t <= t) {
			double f = b->t > a->t ? (t - a->t) / (b->t - a->t) : 1;
			struct flood_point r = {
				t, a->attempts + f * (b->attempts - a->attempts),
				a->completed + f * (b->completed - a->completed),
			};
			return r;
		}
	}
	return *point(s, s->nr_hist - 1);
}

static void learn(struct flood_state *s, const struct flood_params *p, double dt,
		  double attempts, double share)
{
	double a = 1 - exp(-dt / p->tau_s);

	s->baseline_rate += a * (s->uncompleted_rate - s->baseline_rate);
	if (attempts >= SHARE_MIN_ATTEMPTS)
		s->baseline_share += a * (share - s->baseline_share);
}

/* Keeps the totals at now_s, unless they went down (the history restarts)
 * or the last point is too recent; true if kept. */
static bool record(struct flood_state *s, const struct flood_sample *x, double now_s, double spacing_s)
{
	const struct flood_point *last = s->nr_hist ? point(s, 0) : NULL;

	if (last && (x->attempts < last->attempts || x->completed < last->completed)) {
		s->nr_hist = 0;
		s->stepped = false;
		last = NULL;
	}
	if (last && !(now_s - last->t >= spacing_s))
		return false;
	remember(s, now_s, x);
	return true;
}

void flood_observe(struct flood_state *s, const struct flood_sample *x, double now_s, double spacing_s)
{
	record(s, x, now_s, spacing_s > 0 ? spacing_s : 1e-9);
}

enum flood_change flood_step(struct flood_state *s, const struct flood_params *p,
			     const struct flood_sample *x, double now_s)
{
	struct flood_point to, prev;
	double dt, w, attempts, completed, uncompleted, share, share_base;
	int k;

	if (!record(s, x, now_s, 1e-9) && !(s->nr_hist && point(s, 0)->t == now_s))
		return FLOOD_SAME;
	if (!s->stepped || s->nr_hist < 2) {
		s->stepped = true;        /* the first decision needs a second tick */
		s->last_step_s = now_s;
		return FLOOD_SAME;
	}
	dt = now_s - s->last_step_s;
	if (!(dt > 0))
		return FLOOD_SAME;        /* a second look at the same instant decides nothing */
	s->last_step_s = now_s;
	prev = at(s, now_s - dt);
	s->attempt_rate = (x->attempts - prev.attempts) / dt;
	s->completion_rate = (x->completed - prev.completed) / dt;

	/* Completions of the last window against the attempts of the same
	 * window shifted back by a lag of 0 to the grace, the lag that leaves
	 * the fewest uncompleted: real clients' completions trail their SYNs by
	 * their handshake time, a flood's never come. */
	w = dt > FLOOD_WINDOW_S ? dt : FLOOD_WINDOW_S;
	to = at(s, now_s - w);
	completed = x->completed - to.completed;
	uncompleted = -1;
	attempts = 0;
	for (k = 0; k <= FLOOD_LAGS; k++) {
		double lag = FLOOD_GRACE_S * k / FLOOD_LAGS;
		double a = at(s, now_s - lag).attempts - at(s, now_s - lag - w).attempts;
		double u = a > completed ? a - completed : 0;

		if (uncompleted < 0 || u < uncompleted) {
			uncompleted = u;
			attempts = a;
		}
	}
	share = attempts > 0 ? 1 - uncompleted / attempts : 1;
	s->uncompleted_rate = uncompleted / w;
	s->incomplete_share = attempts > 0 ? uncompleted / attempts : 0;
	share_base = s->baseline_share > SHARE_BASELINE_FLOOR ? s->baseline_share : SHARE_BASELINE_FLOOR;
	s->condition = s->uncompleted_rate > p->min_rate &&
		       s->uncompleted_rate > p->factor * s->baseline_rate &&
		       share < p->collapse * share_base;
	s->streak = s->condition ? s->streak + 1 : 0;
	if (s->condition && !s->active && s->streak < p->confirm)
		return FLOOD_SAME;        /* not confirmed yet: learns nothing either */
	if (s->condition) {
		bool started = !s->active;

		s->last_true_s = now_s;
		if (started) {
			s->active = true;
			s->started_s = now_s - dt;   /* somewhere in this interval */
			s->peak_attempt_rate = 0;
			s->alerts++;
		}
		if (s->attempt_rate > s->peak_attempt_rate)
			s->peak_attempt_rate = s->attempt_rate;
		return started ? FLOOD_STARTED : FLOOD_SAME;
	}
	if (!s->active) {
		learn(s, p, dt, attempts, share);
		return FLOOD_SAME;
	}
	/* Ticks are never exactly an interval apart: a tenth of one is slack. */
	if (now_s - s->last_true_s >= p->hold_s - 0.1 * dt) {
		s->active = false;
		s->ended_s = s->last_true_s;
		return FLOOD_ENDED;
	}
	return FLOOD_SAME;
}
