/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * How several CPUs update one record of a table way. Part of tables.h,
 * which includes it after the platform.
 *
 * Records. Each record carries a version word, even while nobody writes it.
 * An update reads the version, copies the record, computes the new record
 * from the copy, and takes the version from v to v + 1 with a compare-and-
 * swap, which succeeds only if nobody committed since the copy was taken;
 * then it writes the record and releases the version as v + 2. A failed
 * swap means another CPU's transition came first: the update is recomputed
 * from the new record (record_update in track.h), so no transition is ever
 * overwritten by a stale copy. New records start with a fresh version
 * derived from the clock, so an update computed from a record that was
 * released and replaced meanwhile fails its swap.
 */
#ifndef TCPSHAKE_RECORD_H
#define TCPSHAKE_RECORD_H

/* The version a new record starts with: even, and as good as random (the
 * clock's low bits and a per-flow salt such as its fingerprint or ISN), so
 * it matches a version the way's previous record held with odds of about
 * 2^-31. */
static __always_inline __u32 version_fresh(__u64 now, __u32 salt)
{
	return ((__u32)now * 2654435761u ^ salt) & ~1u;
}

/* A writer holds a record for the time of one 88-byte copy; a reader that
 * finds it odd waits this many version reads (a few microseconds, room for
 * a hardware interrupt on the writer's CPU) before the try counts as lost.
 * Packets never interrupt a writer on their own CPU: packet programs run in
 * softirq context, and the sweeper commits with interrupts off
 * (commit_guard_enter). What remains is a writer's vCPU descheduled by the
 * hypervisor mid-commit: the reader gives up, counted. */
#define RECORD_WAIT_READS 1024

/* How often an update is recomputed when other CPUs keep committing to the
 * same record first; each retry is counted, giving up is counted too. */
#define UPDATE_TRIES 4

/* An update given up (update_conflicts), per CPU as packet programs count. */
static __always_inline void count_update_given_up(__u32 iface)
{
	struct iface_stats *st = stats_of(iface);

	if (st)
		st->update_conflicts++;
}

/* A reader's wait for an even version (loop() callback). */
struct version_wait {
	const __u32 *version;
	__u32 v;
};

static long version_wait_read(__u64 i, void *ctx)
{
	struct version_wait *vw = ctx;

	(void)i;
	vw->v = *(volatile const __u32 *)vw->version;
	return !(vw->v & 1);
}

/* Copies the record and returns the version it was copied at; odd when a
 * CPU is still writing it after the wait (the copy is then not to be used).
 * The wait is a loop() callback: the verifier checks its read once, not
 * RECORD_WAIT_READS times, which also made inlining this affordable (3k
 * instructions per packet program; a global call costs about 9 ns and
 * every update of a record makes one). */
static __always_inline __u32 record_read(const struct way *w, struct conn *c)
{
	__u32 v;

	v = *(volatile const __u32 *)&w->conn.version;
	if (v & 1) {
		struct version_wait vw = { .version = &w->conn.version, .v = v };

		loop(RECORD_WAIT_READS, version_wait_read, &vw);
		v = vw.v;
	}
	__asm__ __volatile__("" ::: "memory");   /* the version before the fields */
	*c = w->conn;
	return v;
}

#define CONN_VERSION_AT  __builtin_offsetof(struct conn, version)
#define CONN_VERSION_END (CONN_VERSION_AT + sizeof(__u32))

/* A writer's copy of every field of c into w but the version, which stays
 * odd meanwhile, then the version: the fields before it. */
static __always_inline void record_write(struct way *w, const struct conn *c, __u32 version)
{
	__builtin_memcpy(&w->conn, c, CONN_VERSION_AT);
	__builtin_memcpy((__u8 *)&w->conn + CONN_VERSION_END, (const __u8 *)c + CONN_VERSION_END,
			 sizeof(struct conn) - CONN_VERSION_END);
	__asm__ __volatile__("" ::: "memory");   /* the fields before the version */
	*(volatile __u32 *)&w->conn.version = version;
}

/* Makes c the record of w if nobody committed since version v was read;
 * false when another CPU came first. */
static __always_inline bool record_commit(struct way *w, __u32 v, struct conn *c)
{
	if (sync_cas(&w->conn.version, v, v + 1) != v)
		return false;
	/* c's version is set after the copy: stored right before it, natively
	 * the copy's wide load of it would wait for that store to reach the
	 * cache. */
	record_write(w, c, v + 2);
	c->version = v + 2;
	return true;
}

/* A writer's wait to seize a way (loop() callback): one more try. */
struct seize_wait {
	__u32 *version;
	int done;
};

static long seize_try(__u64 i, void *ctx)
{
	struct seize_wait *sw = ctx;
	__u32 v = *(volatile const __u32 *)sw->version;

	(void)i;
	sw->done = !(v & 1) && sync_cas(sw->version, v, v + 1) == v;
	return sw->done;
}

/* Makes the way's version odd for a writer; 0 when a commit on it did not
 * end within RECORD_WAIT_READS more tries (its writer stalled). The first
 * try inline, the wait a loop() callback: verified once, not on each of
 * flow_insert()'s paths, and no call when the way is free. */
static __always_inline int record_seize(struct way *w)
{
	struct seize_wait sw = { .version = &w->conn.version };
	__u32 v = *(volatile const __u32 *)&w->conn.version;

	if (!(v & 1) && sync_cas(&w->conn.version, v, v + 1) == v)
		return 1;
	loop(RECORD_WAIT_READS, seize_try, &sw);
	return sw.done;
}

/* Writes a new record into a way that held another one: first the version
 * is made odd by compare-and-swap, as a commit does, so a CPU still
 * updating the previous record (it found the way before it was released)
 * fails its commit and reads again, then sees the new key; then key and
 * fields, the version last. A plain copy could interleave with such a
 * commit, and the way would hold the old flow's fields under the new key. */
static __always_inline void record_replace(struct way *w, const struct way *src)
{
	/* A writer stalled mid-commit (its vCPU descheduled) may still write
	 * over the new record: an update given up, counted. */
	if (!record_seize(w))
		count_update_given_up(src->key.iface);
	__asm__ __volatile__("" ::: "memory");   /* odd before the fields */
	w->key = src->key;
	record_write(w, &src->conn, src->conn.version);
}

/* Did a step change anything that must be written back? */
static __always_inline bool record_changed(const struct conn *a, const struct conn *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	__u32 i;

	for (i = 0; i < sizeof(struct conn) / sizeof(__u64); i++)
		if (x[i] != y[i])
			return true;
	return false;
}

#endif /* TCPSHAKE_RECORD_H */
