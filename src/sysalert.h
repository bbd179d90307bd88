/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Alert lines to syslog, facility LOG_DAEMON, ident tcpshake-mon. */
#ifndef TCPSHAKE_SYSALERT_H
#define TCPSHAKE_SYSALERT_H

#include <stdbool.h>

void sysalert_open(void);
/* warning: LOG_WARNING (a flood started), else LOG_NOTICE. */
void sysalert_line(bool warning, const char *line);
void sysalert_close(void);

#endif
