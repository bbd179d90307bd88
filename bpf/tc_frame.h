/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The frame a tc program hands the core (kernel programs only). */
#ifndef TCPSHAKE_TC_FRAME_H
#define TCPSHAKE_TC_FRAME_H

#include "hook_frame.h"

/* skb->len counts the paged part too: IP lengths are checked against it. */
static __always_inline struct hook_frame skb_hook_frame(struct __sk_buff *skb)
{
	struct hook_frame f = { .data = (void *)(long)skb->data, .data_end = (void *)(long)skb->data_end,
			   .len = skb->len, .skb = skb };

	return f;
}

#endif /* TCPSHAKE_TC_FRAME_H */
