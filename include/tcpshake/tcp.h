/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* TCP wire constants: the one flag vocabulary of the parser, the state
 * machine and the tests. */
#ifndef TCPSHAKE_TCP_H
#define TCPSHAKE_TCP_H

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10

#endif /* TCPSHAKE_TCP_H */
