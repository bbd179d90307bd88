// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <net/if_arp.h>
#include <linux/sockios.h>
#include "iface.h"
#include "log.h"

#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE 823       /* glibc's <net/if_arp.h> predates it */
#endif

/* ioctls, not sysfs: /sys/class/net shows the namespace /sys was mounted
 * in, which need not be ours (nsenter, containers). */
static int iface_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -1;
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	rc = ioctl(fd, req, ifr);
	close(fd);
	return rc;
}

enum link_kind iface_link_kind(const char *name, unsigned short *arphrd)
{
	struct ifreq ifr;

	*arphrd = 0;
	if (iface_ioctl(name, SIOCGIFHWADDR, &ifr) != 0)
		return LINK_UNSUPPORTED;
	*arphrd = ifr.ifr_hwaddr.sa_family;
	switch (ifr.ifr_hwaddr.sa_family) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK:      /* lo carries a zeroed Ethernet header */
		return LINK_ETHERNET;
	case ARPHRD_NONE:          /* tun, WireGuard */
	case ARPHRD_TUNNEL:        /* ipip */
	case ARPHRD_TUNNEL6:       /* ip6tnl */
	case ARPHRD_SIT:
	case ARPHRD_IPGRE:
	case ARPHRD_IP6GRE:
	case ARPHRD_PPP:
	case ARPHRD_RAWIP:
		return LINK_RAW_IP;
	default:
		return LINK_UNSUPPORTED;
	}
}

bool iface_is_loopback(const char *name)
{
	struct ifreq ifr;

	return iface_ioctl(name, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_LOOPBACK);
}

unsigned int iface_check(const char *name)
{
	unsigned int ifindex;
	unsigned short arphrd;
	struct ifreq ifr;

	if (strlen(name) >= IF_NAMESIZE || !(ifindex = if_nametoindex(name))) {
		log_error("unknown interface '%s': see 'ip link' for the names on this host", name);
		return 0;
	}
	if (iface_ioctl(name, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		log_error("interface %s is down: bring it up with 'ip link set %s up'", name, name);
		return 0;
	}
	if (iface_link_kind(name, &arphrd) == LINK_UNSUPPORTED) {
		log_error("interface %s has link type %u, neither Ethernet nor bare IP: tcpshake-mon "
			  "cannot parse its frames; watch the Ethernet or IP device it runs over", name,
			  arphrd);
		return 0;
	}
	return ifindex;
}

bool iface_is_up(const char *name)
{
	struct ifreq ifr;

	return iface_ioctl(name, SIOCGIFFLAGS, &ifr) != 0 || (ifr.ifr_flags & IFF_UP);
}

/* A device without a bus behind it (veth, bridge, bond, tun, ...). */
bool iface_is_virtual(const char *name)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return true;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (char *)&info;
	rc = ioctl(fd, SIOCETHTOOL, &ifr);
	close(fd);
	return rc != 0 || info.bus_info[0] == 0;
}

static int default_route_v4(char name[IF_NAMESIZE])
{
	char line[256], ifn[64];
	unsigned long dest, mask;
	FILE *f = fopen("/proc/net/route", "r");
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lx %*x %*x %*d %*d %*d %lx", ifn, &dest, &mask) == 3 &&
		    dest == 0 && mask == 0 && strlen(ifn) < IF_NAMESIZE) {
			strcpy(name, ifn);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

static int default_route_v6(char name[IF_NAMESIZE])
{
	char line[512], dst[40], ifn[64];
	unsigned int plen;
	FILE *f = fopen("/proc/net/ipv6_route", "r");
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%39s %x %*s %*s %*s %*s %*s %*s %*s %63s", dst, &plen, ifn) == 3 &&
		    plen == 0 && !strcmp(dst, "00000000000000000000000000000000") &&
		    strcmp(ifn, "lo") && strlen(ifn) < IF_NAMESIZE) {
			strcpy(name, ifn);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

int iface_default_route(char name[IF_NAMESIZE])
{
	return default_route_v4(name) == 0 ? 0 : default_route_v6(name);
}
