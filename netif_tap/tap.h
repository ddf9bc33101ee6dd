/* SPDX-License-Identifier: MIT */
/* Linux TAP device access: attach/create, carrier, MTU. No lwIP here. */
#pragma once

#include <stdbool.h>

int tap_open(const char *ifname, bool create);
int tap_set_carrier(int fd, bool on);
int tap_get_mtu(const char *ifname);
