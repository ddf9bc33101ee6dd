/* SPDX-License-Identifier: MIT */
/* Linux TAP device access. */
#define _GNU_SOURCE
#include "netif_tap/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef TUNSETCARRIER
#define TUNSETCARRIER _IOW('T', 226, int)
#endif

/* Open /dev/net/tun bound to the TAP IFNAME (plain IFF_TAP | IFF_NO_PI:
 * MTU-sized frames with valid checksums, no offloads). Without CREATE the
 * device must already exist: a missing device is -ENODEV rather than a new
 * one. Returns a non-blocking, close-on-exec fd, or -errno. */
int tap_open(const char *ifname, bool create)
{
    struct ifreq ifr;
    int fd, err;

    if (strlen(ifname) >= IFNAMSIZ)
        return -ENAMETOOLONG;
    if (!create && if_nametoindex(ifname) == 0)
        return -ENODEV;
    fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* Switch the host-visible carrier of the attached TAP. 0 or -errno. */
int tap_set_carrier(int fd, bool on)
{
    int v = on ? 1 : 0;

    return ioctl(fd, TUNSETCARRIER, &v) == 0 ? 0 : -errno;
}

/* The host side's MTU of IFNAME, or -errno. */
int tap_get_mtu(const char *ifname)
{
    struct ifreq ifr;
    int s, ret;

    s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    ret = ioctl(s, SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu : -errno;
    close(s);
    return ret;
}
