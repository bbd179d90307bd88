/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Names of the enums shared with the kernel side, as users see them. */
#ifndef TCPSHAKE_NAMES_H
#define TCPSHAKE_NAMES_H

#include <linux/types.h>
#include "tcpshake/abi.h"

const char *fail_reason_name(unsigned int reason);   /* refused, reset, ... */
const char *outcome_name(unsigned int outcome);      /* established, closed, ... */
const char *unparsed_reason_name(unsigned int reason); /* truncated, bad_length, ... */
const char *hist_name(unsigned int id);              /* metric name without prefix */
const char *hist_help(unsigned int id);
/* Zeek's conn_state (S0, S1, SF, REJ, ...) for a record. */
const char *zeek_conn_state(const struct conn *c);

#endif
