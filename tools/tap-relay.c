/* SPDX-License-Identifier: MIT */
/* tap-relay: the reference for what TAP itself costs. Joins two TAPs with a
 * minimal single-threaded epoll loop: a frame read from one is written to
 * the other, nothing else (no copy beyond the read buffer, no parsing). The
 * kernel-to-kernel throughput across it is the TAP limit scripts/bench
 * measures lwipd against.
 *
 *   tap-relay [NETNS:]TAP_A [NETNS:]TAP_B [SECONDS]
 *
 * Each TAP must exist (ip tuntap add ... mode tap); NETNS: attaches to the
 * TAP in that named network namespace (/run/netns/NETNS). Prints "READY"
 * once both are attached; on SIGTERM or SIGINT, or after SECONDS (default
 * 3600: it never outlives a forgotten caller for long), prints one JSON line
 * of counters and exits 0.
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
#include <sys/signalfd.h>
#include <unistd.h>

#define BATCH   64    /* frames moved per wake-up before epoll again */
#define BUFSIZE 65536 /* any MTU */

struct side {
    const char *spec;
    int fd;
    uint64_t frames, bytes, write_errors;
};

/* Attach to the TAP named in SPEC ([NETNS:]NAME), non-blocking.
 * Returns the fd, or -1 with a message printed. */
static int tap_attach(const char *spec)
{
    char ns[256] = "", name[IFNAMSIZ];
    const char *colon = strchr(spec, ':');
    struct ifreq ifr;
    int self = -1, fd = -1;

    if (colon) {
        snprintf(ns, sizeof(ns), "/run/netns/%.*s", (int)(colon - spec), spec);
        spec = colon + 1;
    }
    if (!*spec || strlen(spec) >= IFNAMSIZ) {
        fprintf(stderr, "tap-relay: bad TAP name '%s'\n", spec);
        return -1;
    }
    snprintf(name, sizeof(name), "%s", spec);
    if (ns[0]) {
        int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
        self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (nsfd < 0 || self < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
            fprintf(stderr, "tap-relay: %s: %s\n", ns, strerror(errno));
            if (nsfd >= 0)
                close(nsfd);
            goto out;
        }
        close(nsfd);
    }
    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "tap-relay: /dev/net/tun: %s\n", strerror(errno));
        goto out;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        fprintf(stderr, "tap-relay: %s: %s\n", name, strerror(errno));
        close(fd);
        fd = -1;
    }
out:
    if (self >= 0) {
        if (setns(self, CLONE_NEWNET) != 0) {
            fprintf(stderr, "tap-relay: back to our namespace: %s\n", strerror(errno));
            if (fd >= 0)
                close(fd);
            fd = -1;
        }
        close(self);
    }
    return fd;
}

/* Move up to BATCH frames from FROM to TO. Returns 0, or -1 on a read
 * error other than "nothing to read". */
static int relay(struct side *from, struct side *to, unsigned char *buf)
{
    for (int i = 0; i < BATCH; i++) {
        ssize_t n = read(from->fd, buf, BUFSIZE);

        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        if (n == 0)
            return 0;
        if (write(to->fd, buf, (size_t)n) != n) {
            to->write_errors++; /* the frame is lost, as on a full wire */
            continue;
        }
        from->frames++;
        from->bytes += (uint64_t)n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static unsigned char buf[BUFSIZE];
    struct side s[2] = {{.fd = -1}, {.fd = -1}};
    struct epoll_event ev;
    sigset_t sigs;
    int ep = -1, sfd = -1, rc = 1;

    long seconds = argc == 4 ? strtol(argv[3], NULL, 10) : 3600;

    if (argc < 3 || argc > 4 || seconds <= 0 || seconds > 86400) {
        fprintf(stderr, "usage: tap-relay [NETNS:]TAP_A [NETNS:]TAP_B [SECONDS (1-86400)]\n");
        return 64;
    }
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGALRM);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    for (int i = 0; i < 2; i++) {
        s[i].spec = argv[1 + i];
        s[i].fd = tap_attach(argv[1 + i]);
        if (s[i].fd < 0)
            goto out;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    if (ep < 0 || sfd < 0) {
        perror("tap-relay: epoll/signalfd");
        goto out;
    }
    for (int i = 0; i < 3; i++) {
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t)i;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, i < 2 ? s[i].fd : sfd, &ev) != 0) {
            perror("tap-relay: epoll_ctl");
            goto out;
        }
    }
    printf("READY\n");
    fflush(stdout);
    alarm((unsigned)seconds);
    for (;;) {
        struct epoll_event evs[3];
        int n = epoll_wait(ep, evs, 3, -1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror("tap-relay: epoll_wait");
            goto out;
        }
        for (int k = 0; k < n; k++) {
            uint32_t i = evs[k].data.u32;

            if (i == 2) {
                rc = 0;
                goto out;
            }
            if (relay(&s[i], &s[1 - i], buf) != 0) {
                fprintf(stderr, "tap-relay: %s: read: %s\n", s[i].spec, strerror(errno));
                goto out;
            }
        }
    }
out:
    if (rc == 0)
        printf("{\"a_to_b_frames\":%llu,\"a_to_b_bytes\":%llu,\"b_to_a_frames\":%llu,"
               "\"b_to_a_bytes\":%llu,\"write_errors\":%llu}\n",
               (unsigned long long)s[0].frames, (unsigned long long)s[0].bytes,
               (unsigned long long)s[1].frames, (unsigned long long)s[1].bytes,
               (unsigned long long)(s[0].write_errors + s[1].write_errors));
    for (int i = 0; i < 2; i++)
        if (s[i].fd >= 0)
            close(s[i].fd);
    if (ep >= 0)
        close(ep);
    if (sfd >= 0)
        close(sfd);
    return rc;
}
