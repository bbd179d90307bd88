/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one definition of every structure shared by the BPF programs and user
 * space. Only fixed-width __u* types, explicit padding, no pointers.
 *
 * The includer provides the __u* types: <linux/types.h> on both sides
 * (bpf/kernel.bpf.h for the BPF programs).
 */
#ifndef TCPSHAKE_ABI_H
#define TCPSHAKE_ABI_H

/* ---- limits and table geometry ---- */

#define MAX_IFACES        16   /* interfaces one monitor instance can watch */
#define HS_WAYS            4   /* ways per handshake-table bucket */
#define FLOW_WAYS          8   /* ways per flow-table bucket */
#define PORT_SLOTS_MAX  1024   /* upper bound for per-port statistics slots */
/* Port slots 0..MAX_IFACES-1 collect, per interface, the ports without a
 * slot of their own ("other"); handed-out slots start at PORT_SLOT_FIRST:
 * the n-th slot handed out (n counts from 0) is PORT_SLOT_FIRST + n. */
#define PORT_SLOT_FIRST   MAX_IFACES

/* A table way's tag, in its bucket header:
 *   TAG_FREE        the way holds nothing;
 *   TAG_BUSY        claimed, key and record being written (even: never a
 *                   published tag, never mistaken for a tombstone);
 *   fingerprint     a published record: bits of the flow hash with bit 0
 *                   (TAG_LIVE) set; bit 1 is a mark whose meaning depends on
 *                   the table, and fingerprints are compared without it.
 * In the handshake table the mark is TAG_TOMBSTONE, a failed attempt that a
 * new SYN may overwrite before any live attempt, without counting. In the
 * flow table it is TAG_ESTABLISHED, a record in plain ESTABLISHED state: its
 * data packets need nothing but an activity stamp, decided from the header. */
#define TAG_FREE        0u
#define TAG_LIVE        1u
#define TAG_TOMBSTONE   2u
#define TAG_ESTABLISHED 2u
#define TAG_BUSY        4u
_Static_assert((TAG_BUSY & (TAG_LIVE | TAG_TOMBSTONE | TAG_ESTABLISHED)) == 0,
	       "TAG_BUSY must not look like a record or a mark");

/* ---- the flow key ---- */

/* Canonical 4-tuple: endpoint a is the lower (address, port) pair, so both
 * directions of a connection map to the same key. IPv4 addresses are stored
 * as IPv4-mapped IPv6 addresses (::ffff:a.b.c.d). Ports in network order. */
struct flow_key {
	union {
		struct {
			__u8  addr_a[16];
			__u8  addr_b[16];
			__u16 port_a;
			__u16 port_b;
			__u8  family;     /* 4 or 6 */
			__u8  iface;      /* interface slot (tcpshake_config.ifindex) */
			__u16 pad;
		};
		__u64 words[5];   /* for hashing and comparing */
	};
};
_Static_assert(sizeof(struct flow_key) == 40, "flow_key is hashed as five 64-bit words");

/* ---- configuration (BPF read-only data, set by the loader) ---- */

struct tcpshake_config {
	__u64 hash_seed;          /* random per run */
	__u64 syn_timeout_ns;     /* handshake attempt lifetime */
	__u64 time_wait_ns;       /* 2MSL */
	__u64 close_timeout_ns;   /* FIN or last ACK never acknowledged */
	__u64 tombstone_ns;       /* how long a timed-out attempt absorbs retransmissions */
	__u32 idle_timeout_s;     /* established connection without packets */
	__u32 hs_mask;            /* handshake-table buckets - 1 (power of two) */
	__u32 flow_mask;          /* flow-table buckets - 1 (power of two) */
	__u32 port_slots;         /* entries of the port_stats map */
	__u32 nr_ifaces;
	__u32 ifindex[MAX_IFACES];/* interface slot -> ifindex */
	__u32 events_enabled;     /* 0: no ring buffer traffic at all */
	__u32 wakeup_bytes;       /* pending event bytes that wake the reader */
	__u32 raw_ip_mask;        /* bit i: interface slot i carries bare IP packets, no
	                           * link-layer header (tun, WireGuard, ipip, sit, gre, ppp) */
	__u32 spill_max;          /* records the spill maps hold together */
	__u32 tcp_rcv_nxt_off;    /* offsetof(struct tcp_sock, rcv_nxt) in this kernel,
	                           * from its BTF; 0: unknown, sockets are not read */
	__u32 tcp_backlog_len_off;/* the same of sk_backlog.len (struct sock inside it) */
};
_Static_assert(MAX_IFACES <= 32, "raw_ip_mask has one bit per interface slot");

/* ---- the per-connection record ---- */

/* Wire-level connection state, as seen between the two endpoints. */
enum conn_state {   /* stored in a byte */
	CS_NONE = 0,
	CS_SYN_SENT,      /* SYN seen, no valid SYN-ACK yet */
	CS_SYN_RCVD,      /* valid SYN-ACK seen, no third ACK yet: half-open */
	CS_ESTABLISHED,   /* validated third ACK */
	CS_FIN_WAIT_1,    /* first FIN sent, not acknowledged */
	CS_FIN_WAIT_2,    /* first FIN acknowledged, peer still open (CLOSE-WAIT) */
	CS_CLOSING,       /* both FINs sent, neither acknowledged (simultaneous close) */
	CS_LAST_ACK,      /* both FINs sent, only the first acknowledged */
	CS_TIME_WAIT,     /* both FINs acknowledged: the closer waits 2MSL */
	CS_FAILED,        /* a timed-out attempt, kept to recognise late retransmissions */
	CS_CLOSED,        /* finished; the record is being released */
	CS_MAX,
};

/* What a parsed packet (parse.h, struct packet.marks), and the segment the
 * state machine steps with (fsm.h, struct segment.marks), carries besides
 * its TCP header. */
#define PKT_HOST_RCV_KNOWN  (1u << 0)  /* host_rcv_nxt is set (the parser clears both) */
#define PKT_ICMP_ERROR      (1u << 1)  /* not the segment: an ICMP error quoting it
                                        * (parse.h, PARSE_ICMP_ERROR; fsm_icmp_error) */
#define PKT_ICMP_DROPS_REQUEST (1u << 2) /* with PKT_ICMP_ERROR: a kind of error that
                                        * makes a quoted SYN-ACK's sender drop its
                                        * half-open request (icmp_drops_request) */

/* Why a handshake attempt failed. */
enum fail_reason {
	FAIL_REFUSED = 0, /* SYN answered by RST */
	FAIL_RESET,       /* RST before the third ACK */
	FAIL_TIMEOUT,     /* no answer / no third ACK within the SYN timeout */
	FAIL_INVALID,     /* ended after a SYN-ACK or third ACK with a wrong ack number */
	FAIL_UNREACHABLE, /* SYN answered by an ICMP error (destination unreachable, ...) */
	FAIL_MAX,
};

/* How a record ended; becomes the event's "outcome". */
enum outcome {
	OUT_NONE = 0,
	OUT_REFUSED,
	OUT_RESET,        /* handshake or connection reset */
	OUT_TIMEOUT,
	OUT_INVALID,
	OUT_CLOSED,       /* graceful four-way close completed */
	OUT_EXPIRED,      /* idle established/closing connection expired */
	OUT_ESTABLISHED,  /* handshake completed (the attempt's outcome) */
	OUT_SUPERSEDED,   /* open record replaced by a new validated handshake on its tuple */
	OUT_UNREACHABLE,  /* SYN answered by an ICMP error */
	OUT_MAX,
};

/* conn.seen bits: what has been observed on the wire. */
#define SEEN_SYN          (1u << 0)   /* originator's SYN */
#define SEEN_SYNACK       (1u << 1)   /* responder's valid SYN-ACK */
#define SEEN_ACK3         (1u << 2)   /* validated third ACK */
#define SEEN_FIN_ORIG     (1u << 3)
#define SEEN_FIN_RESP     (1u << 4)
#define SEEN_FINACK_ORIG  (1u << 5)   /* originator's FIN acknowledged */
#define SEEN_FINACK_RESP  (1u << 6)   /* responder's FIN acknowledged */
#define SEEN_RST_ORIG     (1u << 7)
#define SEEN_RST_RESP     (1u << 8)
#define SEEN_INVALID      (1u << 9)   /* SYN-ACK or third ACK with a wrong ack */
#define SEEN_SIMOPEN      (1u << 10)  /* SYN crossed SYN */
#define SEEN_SIMCLOSE     (1u << 11)  /* FIN crossed FIN */
#define SEEN_HALFCLOSE    (1u << 12)  /* data after the peer's FIN */
#define SEEN_DATA_ORIG    (1u << 13)  /* payload seen while tracked in detail */
#define SEEN_DATA_RESP    (1u << 14)
#define SEEN_SIMACK_ORIG  (1u << 15)  /* simultaneous open: originator's SYN-ACK */
#define SEEN_CLOSE_RESP   (1u << 16)  /* the responder sent the first FIN */
/* Segments of this side left through this host's egress: the side is this
 * host (an originator so is an outbound connection), and the peer's
 * position is taken from its ACKs alone (fsm.h). */
#define SEEN_EGRESS_ORIG  (1u << 17)
#define SEEN_EGRESS_RESP  (1u << 25)  /* the same, of the responder */
#define SEEN_ORPHAN       (1u << 18)  /* record created from a SYN-ACK without SYN */
#define SEEN_RST_AFTER_CLOSE (1u << 19) /* RST after both FINs were exchanged */
#define SEEN_SIMOPEN_CAND (1u << 20)  /* a SYN from the responder: a simultaneous open
                                       * only if the SYN-ACKs validate it */
#define SEEN_ALT_ISN      (1u << 21)  /* a second originator ISN is in isn_alt */
#define SEEN_CONTESTED    (1u << 22)  /* a new handshake on this tuple got a valid SYN-ACK */
#define SEEN_RST_DOUBT_ORIG (1u << 23) /* a RST outside the sender's window, not yet */
#define SEEN_RST_DOUBT_RESP (1u << 24) /* believed (fsm.h: doubted resets) */
#define SEEN_RST_DOUBT    (SEEN_RST_DOUBT_ORIG | SEEN_RST_DOUBT_RESP)
/* The side's final sequence position came from a RST it sent that was
 * believed at once: its bytes are known (fsm.h, fsm_payload_sent). */
#define SEEN_RSTPOS_ORIG  (1u << 26)
#define SEEN_RSTPOS_RESP  (1u << 27)
/* One address and port at both ends: a socket connected to itself, or a
 * forged LAND packet; each segment is both sides' (fsm.h, fsm_again_as_peer). */
#define SEEN_SELF         (1u << 28)
/* The responder's SYN-ACK drew an ICMP error that made its kernel drop the
 * half-open request: the attempt waits for an answer again (fsm.h,
 * fsm_synack_error). */
#define SEEN_SYNACK_LOST  (1u << 29)

/* Everything known about one connection or attempt. Lives in a table way and
 * is copied into events. Times are CLOCK_MONOTONIC nanoseconds, 0 = not seen. */
struct conn {
	__u64 t_syn;          /* first SYN (or orphan SYN-ACK) */
	__u64 t_synack;       /* first valid SYN-ACK */
	__u64 t_established;  /* validated third ACK */
	__u64 t_fin;          /* first FIN */
	__u64 t_end;          /* close completed (TIME-WAIT start), reset or failure */
	__u32 isn_orig;       /* originator's initial sequence number */
	__u32 isn_resp;       /* responder's initial sequence number */
	__u32 isn_alt;        /* another originator ISN seen mid-handshake (SEEN_ALT_ISN) */
	/* Each side's sequence position: the furthest of its segments' ends and
	 * the peer's acks, as last sampled (fsm.h); after the side's FIN, the
	 * number just after that FIN. */
	__u32 pos_orig;
	__u32 pos_resp;
	__u32 seen;           /* SEEN_* bits */
	__u32 version;        /* even while nobody writes the record (record.h) */
	__u32 last_active;    /* coarse clock (seconds) of the last packet */
	__u16 service_port;   /* responder's port, host order */
	__u16 syn_len;        /* payload carried by the SYN (TCP Fast Open) */
	__u8  state;          /* enum conn_state */
	__u8  orig_is_a;      /* 1 when the originator is endpoint a of the key */
	__u8  syn_retransmits;
	__u8  synack_retransmits;
	__u8  outcome;        /* enum outcome, set when the record ends */
	__u8  fail_reason;    /* enum fail_reason, valid when outcome is a failure */
	/* How often each side's position passed its ISN + 1 (2^32 bytes each,
	 * up to 128 TiB): every move is counted (fsm.h, fsm_move_pos);
	 * negative only after a forged move backwards. */
	__s16 wraps_orig;
	__s16 wraps_resp;
	/* The ICMP error that ended the attempt (OUT_UNREACHABLE), of the
	 * family's ICMP: host or port unreachable, prohibited, TTL ... */
	__u8  icmp_type;
	__u8  icmp_code;
};
_Static_assert(sizeof(struct conn) == 88, "conn layout changed: check struct way");
_Static_assert(CS_MAX <= 255 && OUT_MAX <= 255, "state and outcome are stored in bytes");

/* A table way: the key and its record, two cache lines. */
struct way {
	struct flow_key key;
	struct conn conn;
};
_Static_assert(sizeof(struct way) == 128, "a way is two cache lines");

/* Per-CPU scratch space of the slow path: a record being updated lives
 * here rather than on the 512-byte BPF stack (see track.h, struct update). */
struct scratch {
	__u64 words[19];
};

/* The two direct-mapped tables. Each bucket is split in two arrays with the
 * same index: a header of one cache line (tags and what choosing a way
 * needs) and the ways. The fast paths read headers only, so those stay in
 * cache and TLB even when the ways take many megabytes. */
struct hs_head {
	__u32 tag[HS_WAYS];
	__u32 birth[HS_WAYS];     /* (ns >> 10) when the way was claimed: the oldest goes first */
	__u8  iface[HS_WAYS];     /* interface slot of each way's record */
	/* fsm_coarse tick + 1 of the way's first valid SYN-ACK, 0 before one:
	 * an evicted half-open attempt is known from the header, without a
	 * load of the way a flood SYN only writes (halfopen.h). */
	__u32 synack_tick[HS_WAYS];
	/* Attempts of this bucket held in its alternative bucket (tables.h). */
	__u32 elsewhere;
	/* 1: the way holds an attempt of another bucket, whose alternative
	 * this is; each byte is written only by the way's owner. */
	__u8  away[HS_WAYS];
	__u8  pad[64 - 14 * HS_WAYS - 4];
};
_Static_assert(sizeof(struct hs_head) == 64, "a bucket header is one cache line");

struct hs_ways {
	struct way way[HS_WAYS];
};

/* The data fast path's gate of a flow way: data of an established record
 * skips it while the record was sampled (sequence positions, activity) in
 * the sweeper's current coarse tick and the segment stays inside one
 * sequence block of 2^FLOW_BLOCK_SHIFT bytes, or crosses into the block
 * its sender's data last reached, as flow_gate holds it, or behind it. A
 * sender's first crossing sets its block; one into the next block moves
 * it; neither touches the record, and the gate is then a bound of its
 * sender's position the record does not hold, which a RST is checked
 * against (fsm.h, fsm_sender_position). A jump of more than a block,
 * crossing a multiple of FLOW_BLOCK_RUN blocks, or the next tick sends the
 * segment to the slow path, which samples the record and sets the gate
 * from it. For a connection of this host, each segment it sends (egress)
 * moves its peer's block by its ACK the same way (FLOW_GATE_ACKED), and
 * the peer's own segments move nothing (docs/design.md). */
#define FLOW_BLOCK_SHIFT   17
#define FLOW_BLOCK_BITS    10
#define FLOW_BLOCK_MASK   ((1u << FLOW_BLOCK_BITS) - 1)
/* A gate's block is at most this many blocks ahead of the record's
 * position on a stream: half the block numbers, so that ahead and behind
 * stay apart. */
#define FLOW_BLOCK_RUN    (1u << (FLOW_BLOCK_BITS - 1))

/* flow_head.sampled: the coarse tick of the way's last sample above
 * FLOW_EPOCH_BITS, below them the epoch of its gate. A gate word of
 * another epoch is empty: a new record moves the epoch, in the header it
 * writes anyway, and never touches the gate's line. */
#define FLOW_EPOCH_BITS    8
#define FLOW_EPOCH_MASK   ((1u << FLOW_EPOCH_BITS) - 1)
/* flow_head.sampled, top bit: the record is a connection of this host
 * (fsm.h, fsm_host_connection): a segment from the network never moves its
 * gate, so it passes a crossing without loading the gate's line, which
 * then stays in the cache of the CPU that sends this host's ACKs. */
#define FLOW_SAMPLED_HOST (1u << 31)
_Static_assert(FLOW_SAMPLED_HOST > FLOW_EPOCH_MASK, "the host bit is above the gate's epoch");
/* flow_gate.blocks: the epoch above a field per endpoint, a's above b's;
 * a field is FLOW_GATE_SET and a block, or 0 before the endpoint's data.
 * FLOW_GATE_ACKED: the block is where this host's ACKs put the endpoint
 * (it is the peer of a connection of this host); its own segments, which
 * come from the network, then move nothing (fsm.h, fsm_sender_position). */
#define FLOW_GATE_ACKED   (1u << FLOW_BLOCK_BITS)
#define FLOW_GATE_SET     (1u << (FLOW_BLOCK_BITS + 1))
#define FLOW_GATE_FIELD_BITS (FLOW_BLOCK_BITS + 2)
#define FLOW_GATE_FIELD_MASK ((1u << FLOW_GATE_FIELD_BITS) - 1)
#define FLOW_GATE_EPOCH_SHIFT (2 * FLOW_GATE_FIELD_BITS)
_Static_assert(FLOW_GATE_EPOCH_SHIFT + FLOW_EPOCH_BITS <= 32, "epoch and blocks share a word");

/* A flow bucket's header: its ways' tags and sample ticks. It changes
 * only when a record is claimed, marked, or sampled in a new tick: every
 * packet of a flow reads it, and it stays shared in the caches of the CPUs
 * that carry the flow's two directions. */
struct flow_head {
	__u32 tag[FLOW_WAYS];
	__u32 sampled[FLOW_WAYS];   /* tick and gate epoch (FLOW_EPOCH_BITS) */
};
_Static_assert(sizeof(struct flow_head) == 64, "a bucket header is one cache line");

/* Each way's data gate (FLOW_BLOCK_SHIFT), in a table of its own: read by
 * data packets only and written when a stream enters a new block, so a
 * stream's writes never make the other direction's ACKs miss the header. */
struct flow_gate {
	__u32 blocks[FLOW_WAYS];   /* epoch, endpoint a's field, endpoint b's */
};

struct flow_ways {
	struct way way[FLOW_WAYS];
};

/* Per flow bucket: how many of its records live elsewhere, in their
 * alternative buckets (each flow's own, by its hash) and in the spill map,
 * counted apart so that a lookup that misses at home asks only a place
 * that holds some: a spoofed segment into a crowded bucket then ends after
 * the alternative header instead of a spill-map lookup. Each count changes
 * by atomic adds of its own; the counts of 2^32 records cannot wrap. */
struct flow_away {
	__u32 alt;
	__u32 spill;
};

/* ---- histograms ---- */

enum hist_id {
	H_SYN_TO_SYNACK = 0,
	H_SYNACK_TO_ACK,
	H_HANDSHAKE,
	H_CLOSE,
	H_TIME_WAIT,
	H_CONNECTION,
	H_MAX,
};

/* Log-linear buckets, 8 per octave, upper bounds from 10.24 us to 120.26 s;
 * slot HIST_SLOTS-1 counts everything above (+Inf). See histogram.h. */
#define HIST_SLOTS 190

struct hist {
	__u64 count[HIST_SLOTS];
	__u64 sum_ns;
};

/* ---- counters ---- */

/* Why a packet was passed on without being parsed to its TCP header (the
 * packet itself always goes on). Label values of
 * tcpshake_unparsed_packets_total{reason}; names in src/names.c. */
enum unparsed_reason {
	UNPARSED_TRUNCATED = 0,   /* the readable bytes end inside a header */
	UNPARSED_BAD_LENGTH,      /* IP length field disagrees with the frame or the headers */
	UNPARSED_BAD_HEADER,      /* IP version, IPv4 IHL or TCP data offset impossible */
	UNPARSED_VLAN_DEPTH,      /* more than VLAN_MAX_DEPTH VLAN tags */
	UNPARSED_IPV6_EXT_DEPTH,  /* more than IPV6_MAX_EXT IPv6 extension headers */
	UNPARSED_MAX,
};

/* Per interface, per CPU, summed by user space. Gauges are not here: the
 * sweeper counts records by state (struct sweep_report). */
struct iface_stats {
	__u64 packets;            /* TCP segments inspected */
	__u64 unparsed;           /* every packet not parsed to TCP: the sum of unparsed_by */
	__u64 syn_packets;
	__u64 syn_retransmits;
	__u64 synack_packets;
	__u64 synack_retransmits;
	__u64 handshakes;
	__u64 simultaneous_opens;
	__u64 failures[FAIL_MAX];
	__u64 closes_graceful;
	__u64 closes_reset;
	__u64 simultaneous_closes;
	__u64 half_closes;
	__u64 time_wait_reuses;
	__u64 flows_expired;      /* idle connections expired without a close */
	__u64 flow_evictions;     /* state dropped or overwritten for lack of space */
	__u64 invalid_segments;   /* SYN-ACK / third ACK with a wrong ack number */
	__u64 events_lost;        /* ring buffer full */
	__u64 update_retries;     /* record updates recomputed: another CPU committed first */
	__u64 update_conflicts;   /* record updates given up after UPDATE_TRIES tries */
	__u64 resets_ignored;     /* RSTs implausible for their sender, or doubted and
	                           * then contradicted by the connection going on */
	__u64 synacks_unsolicited;/* SYN-ACKs from the network answering no SYN seen
	                           * (backscatter): not tracked */
	__u64 flows_superseded;   /* open records replaced by a new validated handshake */
	__u64 unparsed_by[UNPARSED_MAX]; /* unparsed, by enum unparsed_reason */
	__u64 egress_duplicates;  /* tc egress packets already seen by our ingress hook
	                           * (forwarded back out the interface they came in on) */
};

/* Half-open attempts (valid SYN-ACK, no third ACK) that a full handshake
 * table evicted, per interface and CPU, by the coarse tick (fsm_coarse) of
 * their SYN-ACK: on the wire they stay half-open until the SYN timeout, so
 * the half-open gauge adds those still inside it (halfopen.h). A slot is
 * reset when its tick comes round again. */
#define EVICTED_TICKS 128
struct half_open_evictions {
	__u32 tick[EVICTED_TICKS];
	__u32 count[EVICTED_TICKS];
};
_Static_assert((EVICTED_TICKS & (EVICTED_TICKS - 1)) == 0, "EVICTED_TICKS must be a power of two");

/* Per-service-port statistics (per CPU), indexed by a port slot. */
struct service_stats {
	__u64 handshakes;
	__u64 failures[FAIL_MAX];
	struct hist handshake;
	/* For the SYN-flood signals of the port. */
	__u64 syn_retransmits;
	__u64 synacks;            /* first valid SYN-ACK of an attempt */
};

/* Which (interface, port) a port slot belongs to. */
struct port_owner {
	__u16 port;               /* host order; 0 = slot unused */
	__u8  iface;
	__u8  pad;
};

/* ---- events ---- */

struct event {
	struct flow_key key;
	struct conn conn;
	__u64 t_event;            /* when the record ended (monotonic ns) */
};

/* ---- sweeper ---- */

/* The loader runs the sweeper as several programs per interval, each over a
 * slice of both tables' buckets: a kernel without preemption (this one's
 * default, PREEMPT_NONE) keeps a task off its CPU for the whole of one run,
 * so a run must stay short whatever the table size. A slice covers about
 * SWEEP_SLICE_WAYS ways (3.6 ns per way, 36 ns per live record while the
 * tables are cache-warm, about 200 ns when they are not, as at 1 M flow
 * slots: 0.06 ms empty, 0.6-2.5 ms full). Each slice also walks its share
 * of the spill map's parts (SPILL_PARTS). Slice 0 clears the report, the
 * last one completes it; the reader reads it after the last. */
#define SWEEP_SLICE_WAYS 16384u

/* The spill map is SPILL_PARTS hash maps (a map of maps), a record's part
 * chosen by its flow hash's low bits, so the sweeper walks a few parts per
 * run like the tables' slices: one kernel hash map is walked whole, every
 * bucket of it, which took 2-4 ms with 112 records at --max-flows 1048576
 * and 41 ms full. Each part holds up to twice its share of spill_max, the
 * parts together spill_max. */
#define SPILL_PARTS 64u
_Static_assert((SPILL_PARTS & (SPILL_PARTS - 1)) == 0, "a spill part is a mask of the flow hash");

/* Records a spill part may hold: twice its share, so that the parts' sum,
 * not one unlucky part, is what fills first. */
static inline __u32 spill_part_capacity(__u32 spill_max)
{
	__u32 n = spill_max / SPILL_PARTS * 2;

	return n > 16 ? n : 16;
}

struct sweep_slice {
	__u32 index;              /* 0 .. count - 1, run in order */
	__u32 count;
};

/* Slices for a geometry: each walks one bpf_loop per table, far below its
 * 2^23-iteration limit. */
static inline __u32 sweep_slice_count(__u32 hs_buckets, __u32 flow_buckets)
{
	__u64 ways = (__u64)hs_buckets * HS_WAYS + (__u64)flow_buckets * FLOW_WAYS;

	return ways ? (__u32)((ways + SWEEP_SLICE_WAYS - 1) / SWEEP_SLICE_WAYS) : 1;
}

/* What the sweeper program reports back (its .bss): records by interface
 * and state after its pass, i.e. the gauges. */
struct sweep_report {
	__u64 states[MAX_IFACES][CS_MAX];
	__u64 hs_entries[MAX_IFACES];
	__u64 flow_entries[MAX_IFACES];
	__u64 spill_entries;
	__u64 runs;
	__u32 port_half_open[PORT_SLOTS_MAX];   /* CS_SYN_RCVD records by port slot */
	__u64 walk_errors;        /* table walks cut short this pass (bpf_loop error) */
};

#endif /* TCPSHAKE_ABI_H */
