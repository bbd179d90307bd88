// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* syslog(3) for alert lines, apart from log.h whose level names collide
 * with <syslog.h>'s macros. */
#include <stdbool.h>
#include <syslog.h>
#include "sysalert.h"

void sysalert_open(void)
{
	openlog("tcpshake-mon", LOG_PID, LOG_DAEMON);
}

void sysalert_line(bool warning, const char *line)
{
	syslog(warning ? LOG_WARNING : LOG_NOTICE, "%s", line);
}

void sysalert_close(void)
{
	closelog();
}
