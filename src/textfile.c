// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "textfile.h"

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int try_write(const char *path, const char *data, size_t len)
{
	char dir_buf[PATH_MAX], base_buf[PATH_MAX], tmp[PATH_MAX * 2];
	int fd, err;

	snprintf(dir_buf, sizeof(dir_buf), "%s", path);
	snprintf(base_buf, sizeof(base_buf), "%s", path);
	/* The temporary name does not end in .prom: the collector ignores it. */
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dirname(dir_buf), basename(base_buf));
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	/* fsync before rename: after a crash the name points at the old
	 * contents or the new, never at a truncated file. */
	err = write_all(fd, data, len) || fchmod(fd, 0644) || fsync(fd) ? -errno : 0;
	/* close() exactly once: after a failed close the descriptor is gone
	 * anyway, and its number may already belong to another thread. */
	if (close(fd) && !err)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	if (rename(tmp, path)) {
		err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}

int textfile_write(struct textfile *t, const char *data, size_t len)
{
	int err = try_write(t->path, data, len);

	if (err && !t->failing)
		log_error("cannot write %s (%s): monitoring goes on, retrying every interval",
			  t->path, strerror(-err));
	else if (!err && t->failing)
		log_info("writing %s works again", t->path);
	t->failing = err != 0;
	return err;
}
