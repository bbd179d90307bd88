/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Network interfaces: resolve, check, classify, find the default route's. */
#ifndef TCPSHAKE_IFACE_H
#define TCPSHAKE_IFACE_H

#include <stdbool.h>
#include <net/if.h>

/* What a packet on the interface starts with. */
enum link_kind { LINK_UNSUPPORTED = -1, LINK_ETHERNET = 0, LINK_RAW_IP };

/* By the device's ARPHRD type (stored in *arphrd): Ethernet (and lo), bare
 * IP (tun, WireGuard, ipip, sit, gre, ppp), or something we cannot parse. */
enum link_kind iface_link_kind(const char *name, unsigned short *arphrd);
/* The loopback device: every packet leaves it and enters it again. */
bool iface_is_loopback(const char *name);
/* ifindex of an existing, up interface whose link type we parse, or 0
 * after printing why not. */
unsigned int iface_check(const char *name);
/* Administratively up (or unknown: not worth a false alarm). */
bool iface_is_up(const char *name);
/* A device without a bus behind it (veth, bridge, tun, ...): ethtool's
 * driver info has no bus address. */
bool iface_is_virtual(const char *name);
/* Name of the interface of the IPv4 (else IPv6) default route; 0 on success. */
int iface_default_route(char name[IF_NAMESIZE]);

#endif
