/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Turning state-machine effects into counters, gauges, histograms, per-port
 * statistics and events. Packet programs update per-CPU values with plain
 * adds (they cannot be interrupted by each other on one CPU); the sweeper
 * runs in preemptible task context and adds atomically (account_swept()).
 */
#ifndef TCPSHAKE_ACCOUNT_H
#define TCPSHAKE_ACCOUNT_H

#ifndef TCPSHAKE_PLATFORM
#error "include a platform first: platform.bpf.h (kernel) or native.h (user space)"
#endif
#include "tcpshake/fsm.h"
#include "tcpshake/histogram.h"

static __always_inline void stat_add(__u64 *p, __u64 v, bool atomic)
{
	if (atomic)
		sync_add64(p, v);
	else
		*p += v;
}

static __always_inline void hist_record(struct hist *h, __u64 ns, bool atomic)
{
	__u32 slot = hist_slot(ns);

	if (slot >= HIST_SLOTS)
		return;
	stat_add(&h->count[slot], 1, atomic);
	stat_add(&h->sum_ns, ns, atomic);
}

static __always_inline void observe(__u32 iface, __u32 id, __u64 ns, bool atomic)
{
	__u32 idx = iface * H_MAX + id;
	struct hist *h = hist_at(idx);

	if (h)
		hist_record(h, ns, atomic);
}

/* The per-port slot of (iface, port), or the interface's "other" slot. */
static __always_inline __u32 port_slot_find(__u32 iface, __u16 port)
{
	__u32 idx = iface << 16 | port;
	__u32 *slot = port_slot_at(idx);

	return slot && *slot ? *slot : iface;
}

/* Give a port its own slot on its first valid SYN-ACK (a real service
 * answered), while slots last; scans of closed ports never get one. */
static __always_inline void port_slot_claim(__u32 iface, __u16 port)
{
	__u32 idx = iface << 16 | port, n;
	__u32 *slot = port_slot_at(idx);
	struct port_owner *owner;

	if (!slot || *slot || !port)
		return;
	/* Once slots ran out the counter stops: it stays within the slot count
	 * plus the CPUs racing past this check, far from wrapping. */
	if (*(volatile __u32 *)&next_port_slot + PORT_SLOT_FIRST >= cfg.port_slots)
		return;
	n = sync_add(&next_port_slot, 1) + PORT_SLOT_FIRST;
	if (n >= cfg.port_slots || n >= PORT_SLOTS_MAX)
		return;
	owner = port_owner_at(n);
	if (!owner)
		return;
	if (sync_cas(slot, 0, n) != 0)
		return;          /* another CPU was faster; slot n stays unused */
	owner->iface = iface;
	owner->port = port;
}

static __always_inline struct service_stats *port_stats_of(__u32 iface, __u16 port)
{
	__u32 slot = port_slot_find(iface, port);

	return port_stats_at(slot);
}

/* The per-port signals of the SYN-flood detector that are not counted
 * elsewhere: SYN retransmissions and first valid SYN-ACKs by service port.
 * (A port's SYN rate comes from the sketches: counting it exactly would cost
 * the SYN fast path a lookup.) */
static __always_inline void account_port_attempt(__u32 iface, const struct conn *c, __u32 fx,
						 bool atomic)
{
	struct service_stats *ps = port_stats_of(iface, c->service_port);

	if (!ps)
		return;
	if (fx & FX_SYN_RETRANS)
		stat_add(&ps->syn_retransmits, 1, atomic);
	if (fx & FX_SYNACK_FIRST)
		stat_add(&ps->synacks, 1, atomic);
}

static __always_inline void emit_event(const struct flow_key *key, const struct conn *c,
				       __u64 now, struct iface_stats *st, bool atomic)
{
	struct event *e;

	if (!cfg.events_enabled)
		return;
	e = event_reserve();
	if (!e) {
		stat_add(&st->events_lost, 1, atomic);
		return;
	}
	e->key = *key;
	e->conn = *c;
	e->t_event = now;
	event_submit(e, now);
}

/* Intervals are fsm_elapsed(): a stamp taken by another CPU (or a capture
 * timestamp out of order) may be later than the end it is measured to, and
 * a wrapped-around difference would land in +Inf and break the _sum. */
static __always_inline void account_handshake(const struct conn *c, __u32 iface, __u32 fx,
					      struct iface_stats *st, bool atomic)
{
	struct service_stats *ps;

	if (fx & FX_SYNACK_FIRST) {
		if (c->t_syn)
			observe(iface, H_SYN_TO_SYNACK, fsm_elapsed(c->t_synack, c->t_syn), atomic);
		port_slot_claim(iface, c->service_port);
	}
	if (fx & (FX_SYNACK_FIRST | FX_SYN_RETRANS))
		account_port_attempt(iface, c, fx, atomic);
	if (!(fx & (FX_HANDSHAKE | FX_FAILED)))
		return;
	ps = port_stats_of(iface, c->service_port);
	if (fx & FX_HANDSHAKE) {
		stat_add(&st->handshakes, 1, atomic);
		if (c->t_synack)
			observe(iface, H_SYNACK_TO_ACK, fsm_elapsed(c->t_established, c->t_synack),
				atomic);
		if (c->t_syn)
			observe(iface, H_HANDSHAKE, fsm_elapsed(c->t_established, c->t_syn), atomic);
		if (ps) {
			stat_add(&ps->handshakes, 1, atomic);
			if (c->t_syn)
				hist_record(&ps->handshake, fsm_elapsed(c->t_established, c->t_syn),
					    atomic);
		}
	}
	if (fx & FX_FAILED) {
		__u32 reason = c->fail_reason;

		if (reason >= FAIL_MAX)   /* never: the state machine's; a bound the verifier sees */
			return;
		stat_add(&st->failures[reason], 1, atomic);
		if (ps)
			stat_add(&ps->failures[reason], 1, atomic);
	}
}

static __always_inline void account_close(const struct conn *c, __u32 iface, __u32 fx,
					  __u64 now, struct iface_stats *st, bool atomic)
{
	if (fx & FX_HALF_CLOSE)
		stat_add(&st->half_closes, 1, atomic);
	if (fx & FX_SIMCLOSE)
		stat_add(&st->simultaneous_closes, 1, atomic);
	if (fx & FX_CLOSED) {
		stat_add(&st->closes_graceful, 1, atomic);
		observe(iface, H_CLOSE, fsm_elapsed(c->t_end, c->t_fin), atomic);
	}
	if (fx & FX_RESET)
		stat_add(&st->closes_reset, 1, atomic);
	if (fx & (FX_CLOSED | FX_RESET))
		observe(iface, H_CONNECTION, fsm_elapsed(c->t_end, fsm_start_time(c)), atomic);
	if (fx & FX_EXPIRED)
		stat_add(&st->flows_expired, 1, atomic);
	if (fx & FX_SUPERSEDED)
		stat_add(&st->flows_superseded, 1, atomic);
	if (fx & FX_TW_END) {
		__u64 tw = fsm_elapsed(now, c->t_end);

		observe(iface, H_TIME_WAIT, tw < cfg.time_wait_ns ? tw : cfg.time_wait_ns, atomic);
	}
	if (fx & FX_REUSE)
		stat_add(&st->time_wait_reuses, 1, atomic);
}

/* The effects account() counts or reports: all but the tables' own
 * business. A step with none of them does not call it (about 9 ns). */
#define FX_ACCOUNTED (FX_ALL & ~(FX_NEW_ATTEMPT | FX_CLOSE_START | FX_RELEASE | FX_CONTEST | \
				     FX_HALF_OPEN_MOVED))

/* Everything one state-machine step means for the outside world; atomic
 * a constant in each caller below, so each has one kind of add. */
static __always_inline void account_effects(const struct flow_key *key, const struct conn *c,
					     __u32 fx, __u64 now, bool atomic)
{
	struct iface_stats *st;
	__u32 iface;

	iface = key->iface;
	st = stats_of(iface);
	if (!st)
		return;
	if (fx & FX_SYN_RETRANS)
		stat_add(&st->syn_retransmits, 1, atomic);
	if (fx & FX_SYNACK_RETRANS)
		stat_add(&st->synack_retransmits, 1, atomic);
	if (fx & FX_INVALID)
		stat_add(&st->invalid_segments, 1, atomic);
	if (fx & FX_SIMOPEN)
		stat_add(&st->simultaneous_opens, 1, atomic);
	if (fx & FX_RST_IGNORED)
		stat_add(&st->resets_ignored, 1, atomic);
	account_handshake(c, iface, fx, st, atomic);
	account_close(c, iface, fx, now, st, atomic);
	if (fx & FX_EVENT)
		emit_event(key, c, now, st, atomic);
}

/* account_effects() for a packet program: plain adds. A global function,
 * so the verifier checks it once, not once per call site; the sweeper has
 * its own (account_swept()), and neither carries the other's adds. */
CORE_GLOBAL int account(const struct flow_key *key, const struct conn *c, __u32 fx, __u64 now)
{
	if (key && c)
		account_effects(key, c, fx, now, false);
	return 0;
}

/* account_effects() for the sweeper, which runs in preemptible task
 * context: atomic adds. */
CORE_GLOBAL int account_swept(const struct flow_key *key, const struct conn *c, __u32 fx,
			      __u64 now)
{
	if (key && c)
		account_effects(key, c, fx, now, true);
	return 0;
}

/* A half-open attempt overwritten by a new SYN: remembered by the tick of
 * its SYN-ACK, so the half-open gauge still counts it until its SYN timeout
 * (per CPU, plain stores: the SYN path takes no atomic). */
static __always_inline void account_half_open_eviction(__u32 iface, __u32 tick)
{
	struct half_open_evictions *e = half_open_evictions_of(iface);
	__u32 slot = tick & (EVICTED_TICKS - 1);

	if (!e)
		return;
	if (e->tick[slot] != tick) {
		e->tick[slot] = tick;
		e->count[slot] = 0;
	}
	e->count[slot]++;
}

/* A record dropped or overwritten for lack of space. */
static __always_inline void account_eviction(__u32 iface)
{
	struct iface_stats *st = stats_of(iface);

	if (st)
		st->flow_evictions++;
}

/* The SYN-flood hooks of the core (they use port_slot_find above). */
#include "flood.h"

#endif /* TCPSHAKE_ACCOUNT_H */
