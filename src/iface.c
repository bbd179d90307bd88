// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "iface.h"
#include "log.h"

static int read_sysfs(const char *name, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, attr);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

unsigned int iface_check(const char *name)
{
	unsigned int ifindex;
	unsigned long flags;
	char buf[64];

	if (strlen(name) >= IF_NAMESIZE || !(ifindex = if_nametoindex(name))) {
		log_error("unknown interface '%s': see 'ip link' for the names on this host", name);
		return 0;
	}
	if (read_sysfs(name, "flags", buf, sizeof(buf)) == 0 && sscanf(buf, "%lx", &flags) == 1 &&
	    !(flags & IFF_UP)) {
		log_error("interface %s is down: bring it up with 'ip link set %s up'", name, name);
		return 0;
	}
	return ifindex;
}

bool iface_is_virtual(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/class/net/%s/device", name);
	return access(path, F_OK) != 0;
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
