/* SPDX-License-Identifier: MIT */
/* The daemon's one instance: what main() set up, shared with the control
 * commands. */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "daemon/args.h"

struct event_base;
struct netif_tap;
struct capture;
struct control;
struct link_flapper;
struct fault;

struct daemon {
    const struct args *args;
    struct event_base *base;
    struct netif_tap *tap;
    struct capture *capture;
    struct control *control;
    char control_path[108];
    char report_dir[400];
    uint64_t start_ns;
    uint64_t seed;
    struct link_flapper *flapper;
    struct fault *fault;
    int exit_code;
    int tap_loss_fd; /* eventfd: the TAP went away (--exit-on-tap-loss) */
};

int daemon_run(const struct args *a);
int daemon_check_config(const struct args *a, FILE *out);
void daemon_request_stop(struct daemon *d, int exit_code);
