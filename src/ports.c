// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "ports.h"

#define RERANK_INTERVAL_S 60.0

/* Tracks are zeroed when taken (find_or_add), not here: the array is
 * 5 MB, and writing it would make all of it resident for nothing. */
void port_labels_init(struct port_labels *pl, __u32 max_ports)
{
	pl->max_ports = max_ports;
	pl->nr = 0;
	pl->last_rerank_s = 0;
}

static __u64 *row_words(struct port_snapshot *r, size_t *n)
{
	*n = (sizeof(*r) - offsetof(struct port_snapshot, handshakes)) / sizeof(__u64);
	return &r->handshakes;
}

void port_row_add(struct port_snapshot *a, const struct port_snapshot *b)
{
	size_t n, i;
	__u64 *x = row_words(a, &n);
	const __u64 *y = &b->handshakes;

	for (i = 0; i < n; i++)
		x[i] += y[i];
}

void port_row_sub(struct port_snapshot *a, const struct port_snapshot *b)
{
	size_t n, i;
	__u64 *x = row_words(a, &n);
	const __u64 *y = &b->handshakes;

	for (i = 0; i < n; i++)
		x[i] -= y[i];
}

static __u64 activity(const struct port_snapshot *r)
{
	__u64 a = r->handshakes;
	int i;

	for (i = 0; i < FAIL_MAX; i++)
		a += r->failures[i];
	return a;
}

static struct port_track *find_or_add(struct port_labels *pl, __u8 iface, __u16 port)
{
	int i;

	for (i = 0; i < pl->nr; i++) {
		if (pl->t[i].iface == iface && pl->t[i].port == port)
			return &pl->t[i];
	}
	if (pl->nr == PORT_SLOTS_MAX)
		return NULL;
	memset(&pl->t[pl->nr], 0, sizeof(pl->t[0]));
	pl->t[pl->nr].iface = iface;
	pl->t[pl->nr].port = port;
	return &pl->t[pl->nr++];
}

void port_labels_update(struct port_labels *pl, const struct port_snapshot *ps)
{
	struct port_track *t = find_or_add(pl, ps->iface, ps->port);

	if (t)
		t->cur = *ps;
}

static int labelled_count(const struct port_labels *pl, __u8 iface)
{
	int i, n = 0;

	for (i = 0; i < pl->nr; i++)
		n += pl->t[i].iface == iface && pl->t[i].labelled;
	return n;
}

static void label(struct port_track *t)
{
	t->labelled = true;
	t->base = t->in_other;
}

/* Free label capacity goes to active ports right away. */
static void fill_free_labels(struct port_labels *pl)
{
	int i;

	for (i = 0; i < pl->nr; i++) {
		struct port_track *t = &pl->t[i];

		if (t->port && !t->labelled && activity(&t->cur) &&
		    labelled_count(pl, t->iface) < (int)pl->max_ports)
			label(t);
	}
}

/* Once a minute, the busiest unlabelled port of an interface may displace
 * the least busy labelled one if it was at least twice as busy. */
static void rerank(struct port_labels *pl, __u8 iface)
{
	struct port_track *best = NULL, *worst = NULL;
	__u64 best_a = 0, worst_a = ~0ull;
	int i;

	for (i = 0; i < pl->nr; i++) {
		struct port_track *t = &pl->t[i];
		__u64 a = activity(&t->cur) - t->activity_mark;

		if (t->iface != iface || !t->port)
			continue;
		if (t->labelled && a < worst_a) {
			worst = t;
			worst_a = a;
		} else if (!t->labelled && a > best_a) {
			best = t;
			best_a = a;
		}
	}
	if (best && worst && best_a > 2 * worst_a && labelled_count(pl, iface) >= (int)pl->max_ports) {
		worst->labelled = false;
		label(best);
	}
}

static int cmp_rows(const void *a, const void *b)
{
	const struct port_snapshot *x = a, *y = b;

	if (x->iface != y->iface)
		return x->iface - y->iface;
	if (!x->port || !y->port)            /* "other" last */
		return !x->port - !y->port;
	return x->port - y->port;
}

int port_labels_export(struct port_labels *pl, struct snapshot *s, double now_s)
{
	struct port_snapshot *rows;
	int i, iface, n = 0;

	fill_free_labels(pl);
	if (now_s - pl->last_rerank_s >= RERANK_INTERVAL_S) {
		for (iface = 0; iface < s->nr_ifaces; iface++)
			rerank(pl, (__u8)iface);
		for (i = 0; i < pl->nr; i++)
			pl->t[i].activity_mark = activity(&pl->t[i].cur);
		pl->last_rerank_s = now_s;
	}

	rows = calloc((size_t)pl->nr + (size_t)s->nr_ifaces, sizeof(*rows));
	if (!rows)
		return -1;
	for (iface = 0; iface < s->nr_ifaces; iface++) {
		rows[n].iface = (__u8)iface;
		rows[n].port = 0;
		n++;
	}
	for (i = 0; i < pl->nr; i++) {
		struct port_track *t = &pl->t[i];
		struct port_snapshot *other;

		if (t->iface >= s->nr_ifaces)
			continue;
		other = &rows[t->iface];
		if (!t->labelled) {
			port_row_add(other, &t->cur);
			t->in_other = t->cur;
			continue;
		}
		port_row_add(other, &t->base);
		rows[n] = t->cur;
		port_row_sub(&rows[n], &t->base);
		n++;
	}
	qsort(rows, (size_t)n, sizeof(*rows), cmp_rows);
	free(s->ports);
	s->ports = rows;
	s->nr_ports = n;
	return 0;
}
