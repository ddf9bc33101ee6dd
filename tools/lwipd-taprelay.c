/* SPDX-License-Identifier: MIT */
/* lwipd-taprelay: copy Ethernet frames between two TAPs, each in its own
 * network namespace, from one epoll thread. The kernel-to-kernel reference
 * path of the benchmarks: the same TAP boundary lwipd has, with a plain
 * user-space relay where lwIP would be.
 *
 *   lwipd-taprelay NETNS_A:TAP_A NETNS_B:TAP_B [SECONDS]
 *
 * Stops after SECONDS (default 600) or on SIGTERM/SIGINT, then prints its
 * counters as one JSON line. Needs root (setns, TUNSETIFF).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define FRAME_MAX 65536

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Enter the namespace named NS (/run/netns/NS) and attach its TAP. Returns
 * the TAP fd, or -1 with a message printed. */
static int open_tap_in(const char *spec)
{
    char ns[128], path[160];
    const char *colon = strchr(spec, ':');
    struct ifreq ifr;
    int nsfd, fd;

    if (!colon || (size_t)(colon - spec) >= sizeof(ns) || strlen(colon + 1) >= IFNAMSIZ) {
        fprintf(stderr, "lwipd-taprelay: '%s' is not NETNS:TAP\n", spec);
        return -1;
    }
    memcpy(ns, spec, (size_t)(colon - spec));
    ns[colon - spec] = '\0';
    snprintf(path, sizeof(path), "/run/netns/%s", ns);
    nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
        fprintf(stderr, "lwipd-taprelay: netns %s: %s\n", ns, strerror(errno));
        if (nsfd >= 0)
            close(nsfd);
        return -1;
    }
    close(nsfd);
    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", colon + 1);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
        fprintf(stderr, "lwipd-taprelay: TAP %s in %s: %s\n", colon + 1, ns, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    static unsigned char buf[FRAME_MAX];
    uint64_t frames[2] = {0, 0}, bytes[2] = {0, 0}, drops[2] = {0, 0};
    struct itimerspec its = {0};
    struct epoll_event ev;
    int fd[2], ep, tfd;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "Usage: lwipd-taprelay NETNS_A:TAP_A NETNS_B:TAP_B [SECONDS]\n");
        return 64;
    }
    its.it_value.tv_sec = argc == 4 ? atol(argv[3]) : 600;
    if (its.it_value.tv_sec <= 0 || its.it_value.tv_sec > 86400) {
        fprintf(stderr, "lwipd-taprelay: SECONDS must be 1-86400\n");
        return 64;
    }
    fd[0] = open_tap_in(argv[1]);
    fd[1] = fd[0] >= 0 ? open_tap_in(argv[2]) : -1;
    if (fd[0] < 0 || fd[1] < 0)
        return 1;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    ep = epoll_create1(EPOLL_CLOEXEC);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    timerfd_settime(tfd, 0, &its, NULL);
    for (int i = 0; i < 2; i++) {
        ev = (struct epoll_event){.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &ev);
    }
    ev = (struct epoll_event){.events = EPOLLIN, .data.u32 = 2};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    printf("{\"relaying\":[\"%s\",\"%s\"]}\n", argv[1], argv[2]);
    fflush(stdout);
    while (!stop) {
        struct epoll_event evs[3];
        int n = epoll_wait(ep, evs, 3, -1);

        for (int k = 0; k < n; k++) {
            int from = (int)evs[k].data.u32;

            if (from == 2) {
                stop = 1;
                break;
            }
            /* Drain this side: one frame per read on a TAP. */
            for (int burst = 0; burst < 64; burst++) {
                ssize_t r = read(fd[from], buf, sizeof(buf));
                if (r <= 0)
                    break;
                if (write(fd[1 - from], buf, (size_t)r) == r) {
                    frames[from]++;
                    bytes[from] += (uint64_t)r;
                } else {
                    drops[from]++;
                }
            }
        }
    }
    printf("{\"a_to_b\":{\"frames\":%llu,\"bytes\":%llu,\"drops\":%llu},"
           "\"b_to_a\":{\"frames\":%llu,\"bytes\":%llu,\"drops\":%llu}}\n",
           (unsigned long long)frames[0], (unsigned long long)bytes[0],
           (unsigned long long)drops[0], (unsigned long long)frames[1],
           (unsigned long long)bytes[1], (unsigned long long)drops[1]);
    return 0;
}
