/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the running kernel's BTF says about its own structs. */
#ifndef TCPSHAKE_KERNEL_BTF_H
#define TCPSHAKE_KERNEL_BTF_H

#include <linux/types.h>

/* The byte offsets of n member paths ("a.b.c", through nested structs and
 * unions) in struct type_name of the running kernel, read from its BTF by
 * a child process. Each is 0 where the kernel has no BTF, no such member,
 * or one that is not byte-aligned: 0 means unknown, so a member at offset
 * 0 cannot be asked for. 0 when the first was found, else -1. */
int kernel_member_offsets(const char *type_name, const char *const *paths, __u32 *offsets,
			  int n);

#endif /* TCPSHAKE_KERNEL_BTF_H */
