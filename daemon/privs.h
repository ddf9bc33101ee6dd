/* SPDX-License-Identifier: MIT */
/* Dropping root: --user/--group after the TAP and the control socket are open. */
#pragma once

#include <sys/types.h>

int privs_drop(const char *user, uid_t uid, gid_t gid);
int privs_chown_files(const char *const *paths, int n, uid_t uid, gid_t gid);
