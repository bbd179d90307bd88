/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The kernel's types for every BPF object: the UAPI headers, not a
 * vmlinux.h. The programs touch only the UAPI context structs (xdp_md,
 * __sk_buff), whose layout is ABI, so nothing needs CO-RE; without CO-RE
 * relocations libbpf never reads the kernel's BTF (5.5 MB on this kernel,
 * parsed into about 10 MB of the loader's heap), and the monitor loads on
 * kernels built without CONFIG_DEBUG_INFO_BTF.
 */
#ifndef TCPSHAKE_KERNEL_BPF_H
#define TCPSHAKE_KERNEL_BPF_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* tc: continue with the next program, else the default action (the value
 * of linux/pkt_cls.h's TC_ACT_UNSPEC). */
#define TC_ACT_UNSPEC_ (-1)

#endif /* TCPSHAKE_KERNEL_BPF_H */
