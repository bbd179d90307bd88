// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Offsets from the kernel's BTF. libbpf parses all of it (5.5 MB on this
 * kernel, about 10 MB of heap) to answer, which the monitor's memory budget
 * (16 MiB) cannot hold even for a moment: a child process does it and hands
 * back a few bytes through a pipe.
 */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/btf.h>
#include "kernel_btf.h"

/* The member called name (a component of a path) of struct or union id:
 * its byte offset added to *off, its type returned; 0 when there is none
 * or it is a bit field or not byte-aligned. */
static __u32 member_step(const struct btf *btf, __u32 id, const char *name, size_t len,
			 __u32 *off)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m;
	int i;

	if (!t || (!btf_is_struct(t) && !btf_is_union(t)))
		return 0;
	for (i = 0, m = btf_members(t); i < btf_vlen(t); i++, m++) {
		const char *n = btf__name_by_offset(btf, m->name_off);
		__u32 bits = btf_member_bit_offset(t, (__u32)i);

		if (!n || strlen(n) != len || strncmp(n, name, len))
			continue;
		if (bits % 8 || btf_member_bitfield_size(t, (__u32)i))
			return 0;
		*off += bits / 8;
		return (__u32)btf__resolve_type(btf, m->type);
	}
	return 0;
}

/* The byte offset of a dotted member path in struct type_name, 0 if none. */
static __u32 path_offset(const struct btf *btf, const char *type_name, const char *path)
{
	__s32 id = btf__find_by_name_kind(btf, type_name, BTF_KIND_STRUCT);
	__u32 off = 0, type = id > 0 ? (__u32)id : 0;
	const char *p = path;

	while (type) {
		size_t len = strcspn(p, ".");

		type = member_step(btf, type, p, len, &off);
		if (!p[len])
			return type ? off : 0;
		p += len + 1;
	}
	return 0;
}

int kernel_member_offsets(const char *type_name, const char *const *paths, __u32 *offsets,
			  int n)
{
	size_t size = (size_t)n * sizeof(*offsets);
	int fds[2], status, i;
	pid_t pid;

	memset(offsets, 0, size);
	if (n <= 0 || pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct btf *btf = btf__load_vmlinux_btf();

		close(fds[0]);
		for (i = 0; btf && i < n; i++)
			offsets[i] = path_offset(btf, type_name, paths[i]);
		btf__free(btf);
		_exit(write(fds[1], offsets, size) == (ssize_t)size ? 0 : 1);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], offsets, size) != (ssize_t)size)
		memset(offsets, 0, size);
	close(fds[0]);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return offsets[0] ? 0 : -1;
}
