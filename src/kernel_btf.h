/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the running kernel's BTF says about its own structs. */
#ifndef TCPSHAKE_KERNEL_BTF_H
#define TCPSHAKE_KERNEL_BTF_H

#include <linux/types.h>

/* The byte offset of member in struct type_name of the running kernel,
 * read from its BTF by a child process; 0 when the kernel has no BTF, no
 * such member, or a member that is not byte-aligned. */
__u32 kernel_member_offset(const char *type_name, const char *member);

#endif /* TCPSHAKE_KERNEL_BTF_H */
