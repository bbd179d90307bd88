/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Names of the enums shared with the kernel side, as users see them. */
#ifndef TCPSHAKE_NAMES_H
#define TCPSHAKE_NAMES_H

#include <net/if.h>
#include <linux/types.h>
#include "tcpshake/abi.h"

const char *fail_reason_name(unsigned int reason);   /* refused, reset, ... */
const char *outcome_name(unsigned int outcome);      /* established, closed, ... */
const char *unparsed_reason_name(unsigned int reason); /* truncated, bad_length, ... */
const char *hist_name(unsigned int id);              /* metric name without prefix */
const char *hist_help(unsigned int id);
/* An interface name as every output shows it (metric labels, JSON): valid
 * UTF-8 without control characters, and distinct names stay distinct. A
 * byte that is no UTF-8 or a control character becomes \xNN, a backslash
 * is doubled; any other name, "eth0" or "wlan-café", is shown as it is.
 * Returns out. */
#define IFACE_LABEL_MAX (4 * IF_NAMESIZE)
const char *iface_label(const char *name, char out[IFACE_LABEL_MAX]);
/* The same for JSON, whose escaping covers quotes, backslashes and control
 * characters: the name as it is when it is valid UTF-8, else iface_label(). */
const char *iface_json(const char *name, char out[IFACE_LABEL_MAX]);
/* Nanoseconds as an exact decimal number of seconds ("12.00025", "3.0"),
 * as the metrics and the --json lines write them. Returns out. */
#define SECONDS_TEXT_MAX 32
const char *seconds_text(__u64 ns, char out[SECONDS_TEXT_MAX]);
/* Zeek's conn_state (S0, S1, SF, REJ, ...) for a record. */
const char *zeek_conn_state(const struct conn *c);

#endif
