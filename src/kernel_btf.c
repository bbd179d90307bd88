// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One offset from the kernel's BTF. libbpf parses all of it (5.5 MB on this
 * kernel, about 10 MB of heap) to answer, which the monitor's memory budget
 * (16 MiB) cannot hold even for a moment: a child process does it and hands
 * back four bytes through a pipe.
 */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/btf.h>
#include "kernel_btf.h"

static __u32 member_offset(const char *type_name, const char *member)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_member *m;
	const struct btf_type *t;
	__u32 off = 0;
	__s32 id;
	int i;

	if (!btf)
		return 0;
	id = btf__find_by_name_kind(btf, type_name, BTF_KIND_STRUCT);
	t = id > 0 ? btf__type_by_id(btf, (__u32)id) : NULL;
	for (i = 0, m = t ? btf_members(t) : NULL; t && i < btf_vlen(t); i++, m++) {
		__u32 bits = btf_member_bit_offset(t, (__u32)i);

		if (strcmp(btf__name_by_offset(btf, m->name_off), member) == 0) {
			if (bits % 8 == 0 && !btf_member_bitfield_size(t, (__u32)i))
				off = bits / 8;
			break;
		}
	}
	btf__free(btf);
	return off;
}

__u32 kernel_member_offset(const char *type_name, const char *member)
{
	__u32 off = 0;
	int fds[2], status;
	pid_t pid;

	if (pipe(fds))
		return 0;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		off = member_offset(type_name, member);
		_exit(write(fds[1], &off, sizeof(off)) == sizeof(off) ? 0 : 1);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &off, sizeof(off)) != sizeof(off))
		off = 0;
	close(fds[0]);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return off;
}
