/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The data fast path's gate of a flow way (abi.h, FLOW_BLOCK_SHIFT;
 * docs/design.md, "Data packets of established connections"): what lets a
 * data segment of an established connection pass without its record.
 * Part of tables.h, which includes it.
 */
#ifndef TCPSHAKE_FLOW_GATE_H
#define TCPSHAKE_FLOW_GATE_H

/* The fast-path gate of flow way i (abi.h, FLOW_BLOCK_SHIFT): opened by a
 * sample in the sweeper's current tick, it lets data through until the
 * next tick, a jump, or the end of a run of FLOW_BLOCK_RUN blocks. How a
 * sample treats the gate's blocks: */
enum gate_sample {
	GATE_KEEP,       /* a FIN, or an ACK from the network: the blocks
			  * stand (the record's positions only moved forward),
			  * and the gate's line is cold for them */
	GATE_BLOCKS,     /* data, or an ACK this host sent: the gate's line
			  * is in hand (flow_gate_pass); the blocks start
			  * again from the record's positions */
	GATE_NEW,        /* a new record: a new epoch in the header, whose line
			  * it writes anyway, empties the gate without touching
			  * its line */
};

static __always_inline __u32 flow_gate_tick(__u32 tick)
{
	return (tick << FLOW_EPOCH_BITS) & ~FLOW_SAMPLED_HOST;
}

/* The block of a sequence number. */
static __always_inline __u32 flow_block_of(__u32 seq)
{
	return (seq >> FLOW_BLOCK_SHIFT) & FLOW_BLOCK_MASK;
}

/* Where endpoint a's or b's field sits in a gate word. */
static __always_inline __u32 flow_gate_shift(bool from_a)
{
	return from_a ? FLOW_GATE_FIELD_BITS : 0;
}

/* The gate's fields of a record: each endpoint's position, marked
 * FLOW_GATE_ACKED where it comes from this host's ACKs (fsm.h,
 * fsm_position_from_acks: the endpoint's peer is this host). */
static __always_inline __u32 flow_gate_blocks(const struct conn *c)
{
	__u32 a = c->orig_is_a ? c->pos_orig : c->pos_resp;
	__u32 b = c->orig_is_a ? c->pos_resp : c->pos_orig;
	__u32 acked_orig = (c->seen & SEEN_EGRESS_RESP) ? FLOW_GATE_ACKED : 0;
	__u32 acked_resp = (c->seen & SEEN_EGRESS_ORIG) ? FLOW_GATE_ACKED : 0;
	__u32 acked_a = c->orig_is_a ? acked_orig : acked_resp;
	__u32 acked_b = c->orig_is_a ? acked_resp : acked_orig;

	return (FLOW_GATE_SET | acked_a | flow_block_of(a)) << flow_gate_shift(true) |
	       (FLOW_GATE_SET | acked_b | flow_block_of(b)) << flow_gate_shift(false);
}

/* The header's word is stored only when it changes, so a stream sampled
 * again and again within a tick leaves the header clean. Plain stores: a
 * gate word lost to a concurrent packet holds an earlier block, which only
 * samples sooner, and a header word seen half-updated only samples
 * sooner. */
static __always_inline void flow_gate_open(struct flow_head *h, struct flow_gate *g, int i,
					   __u32 tick, enum gate_sample how, __u32 blocks, bool host)
{
	__u32 old, epoch, want;

	if (i < 0 || i >= FLOW_WAYS)
		return;
	old = h->sampled[i];
	epoch = (old + (how == GATE_NEW)) & FLOW_EPOCH_MASK;
	want = flow_gate_tick(tick) | epoch | (host ? FLOW_SAMPLED_HOST : 0);
	if (old != want)
		h->sampled[i] = want;
	if (how == GATE_BLOCKS && g)
		g->blocks[i] = epoch << FLOW_GATE_EPOCH_SHIFT | blocks;
}

/* The gate word of way i as its record knows it: the stored one, or an
 * empty one of the record's epoch when the stored one is of another. */
static __always_inline __u32 flow_gate_word(const struct flow_head *h, const struct flow_gate *g, int i)
{
	__u32 epoch = h->sampled[i] & FLOW_EPOCH_MASK, word = g->blocks[i];

	return word >> FLOW_GATE_EPOCH_SHIFT == epoch ? word : epoch << FLOW_GATE_EPOCH_SHIFT;
}

/* The field of endpoint a or b in a gate word. */
static __always_inline __u32 flow_gate_field(__u32 word, bool from_a)
{
	return (word >> flow_gate_shift(from_a)) & FLOW_GATE_FIELD_MASK;
}

/* Whether a segment [seq, seq + len) ends in another block than it starts
 * in. On a stream seen whole each segment starts where the one before
 * ended, so only such a segment can move its sender's block: the others
 * (pure ACKs, and all but about len / 128 KiB of the data) pass on the
 * header's tick alone and never load the gate's line. */
static __always_inline bool flow_block_crossed(__u32 seq, __u32 len)
{
	return flow_block_of(seq) != flow_block_of(seq + len);
}

/* Moves the field at shift of a gate word to block: 1 when the segment
 * passes (the word updated where the block was the field's first or the
 * next of its run), 0 for a sample (a jump, or the end of a run: the
 * record takes the position, so a gate on a stream never runs a run ahead
 * of it). A block the field holds, or one behind it, passes unchanged. */
static __always_inline int flow_gate_move(__u32 *word, __u32 shift, __u32 block)
{
	__u32 field = (*word >> shift) & FLOW_GATE_FIELD_MASK;
	__u32 held = field & FLOW_BLOCK_MASK, ahead = (block - held) & FLOW_BLOCK_MASK;

	if (field & FLOW_GATE_SET) {
		if (ahead == 0 || ahead >= FLOW_BLOCK_RUN)
			return 1;
		if (ahead > 1 || ((block ^ held) & FLOW_BLOCK_RUN))
			return 0;
	}
	*word = (*word & ~(FLOW_GATE_FIELD_MASK << shift)) |
		(FLOW_GATE_SET | (field & FLOW_GATE_ACKED) | block) << shift;
	return 1;
}

/* While the tick is current, a segment from the network that stays inside
 * one block passes; one that crosses into another passes when it ends in
 * its sender's block or behind it, and, as its sender's first crossing or
 * one into the next block of the same run, stores its block and passes. A
 * jump, or the end of a run, goes to a sample. A sender whose block this
 * host's ACKs keep (FLOW_GATE_ACKED) moves nothing: its crossings pass.
 * A segment this host sends (egress) moves its own block the same way, and
 * its ACK its peer's, which it marks FLOW_GATE_ACKED: so every egress
 * segment loads the gate's line, no ingress one but a crossing. */
static __always_inline bool flow_gate_pass(const struct flow_head *h, struct flow_gate *g, int i,
					   __u32 tick, const struct packet *p, __u32 egress)
{
	bool crossed = flow_block_crossed(p->seq, p->payload_len);
	__u32 word, next, own, peer, field;

	if (i < 0 || i >= FLOW_WAYS)
		return false;
	if ((h->sampled[i] & ~(FLOW_EPOCH_MASK | FLOW_SAMPLED_HOST)) != flow_gate_tick(tick))
		return false;
	if (egress != DIR_EGRESS && (!crossed || (h->sampled[i] & FLOW_SAMPLED_HOST)))
		return true;
	if (!g)
		return false;
	word = next = flow_gate_word(h, g, i);
	own = flow_gate_shift(p->from_a);
	if (crossed) {
		/* Marked by an egress ACK before a sample set the header bit. */
		if (egress != DIR_EGRESS && ((word >> own) & FLOW_GATE_ACKED))
			return true;
		if (!flow_gate_move(&next, own, flow_block_of(p->seq + p->payload_len)))
			return false;
	}
	if (egress == DIR_EGRESS && (p->flags & TCPF_ACK)) {
		peer = flow_gate_shift(!p->from_a);
		field = (next >> peer) & FLOW_GATE_FIELD_MASK;
		if (!(field & FLOW_GATE_ACKED))
			next = (next & ~(FLOW_GATE_FIELD_MASK << peer)) |
			       (FLOW_GATE_SET | FLOW_GATE_ACKED | flow_block_of(p->ack)) << peer;
		else if (!flow_gate_move(&next, peer, flow_block_of(p->ack)))
			return false;
	}
	if (next != word)
		g->blocks[i] = next;
	return true;
}

#endif /* TCPSHAKE_FLOW_GATE_H */
