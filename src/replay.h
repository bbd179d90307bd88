/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tcpshake-mon --read FILE: a capture through the same tracking core as the
 * live monitor (native.h), on the capture's clock, into the same outputs.
 */
#ifndef TCPSHAKE_REPLAY_H
#define TCPSHAKE_REPLAY_H

#include "options.h"

/* Runs a whole replay; returns the exit status. */
int replay_main(const struct options *o);

#endif
