// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * An XDP program that does nothing. `make bench` attaches it to the veth as
 * a reference configuration: attaching any XDP program switches a veth to
 * its NAPI receive path (and turns off its peer's GSO), which changes
 * throughput by itself. tcpshake-mon with XDP ingress is compared with this
 * as well as with no program, so the monitor's own cost can be told apart
 * from the cost of the hook.
 */
#include "kernel.bpf.h"

SEC("xdp")
int xdp_pass(struct xdp_md *ctx __attribute__((unused)))
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
