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

enum flood_change flood_step(struct flood_state *s, const struct flood_params *p,
			     const struct flood_sample *x, double now_s)
{
	const struct flood_point *last = s->nr_hist ? point(s, 0) : NULL;
	struct flood_point from, to;
	double dt, w, attempts, uncompleted, share, share_base;

	if (last && (x->attempts < last->attempts || x->completed < last->completed))
		s->nr_hist = 0;
	if (!s->nr_hist || !(now_s > point(s, 0)->t)) {
		if (!s->nr_hist)
			remember(s, now_s, x);
		return FLOOD_SAME;
	}
	dt = now_s - point(s, 0)->t;
	s->attempt_rate = (x->attempts - point(s, 0)->attempts) / dt;
	s->completion_rate = (x->completed - point(s, 0)->completed) / dt;
	remember(s, now_s, x);

	/* Attempts of [now - grace - w, now - grace] against completions from
	 * the window's start up to now. */
	w = dt - FLOOD_GRACE_S > FLOOD_WINDOW_S ? dt - FLOOD_GRACE_S : FLOOD_WINDOW_S;
	from = at(s, now_s - FLOOD_GRACE_S - w);
	to = at(s, now_s - FLOOD_GRACE_S);
	w = to.t - from.t;
	if (w <= 0)
		w = dt;
	attempts = to.attempts - from.attempts;
	uncompleted = attempts - (x->completed - from.completed);
	if (uncompleted < 0)
		uncompleted = 0;
	share = attempts > 0 ? 1 - uncompleted / attempts : 1;
	s->uncompleted_rate = uncompleted / w;
	s->incomplete_share = attempts > 0 ? uncompleted / attempts : 0;
	share_base = s->baseline_share > SHARE_BASELINE_FLOOR ? s->baseline_share : SHARE_BASELINE_FLOOR;
	s->condition = s->uncompleted_rate > p->min_rate &&
		       s->uncompleted_rate > p->factor * s->baseline_rate &&
		       share < p->collapse * share_base;
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
