/* SPDX-License-Identifier: MIT */
/* Dropping root (--user/--group). lwipd needs privileges only to open (or
 * create) the TAP and to bind the control socket where root may write; both
 * stay open across the drop. What it keeps writing later (the log and
 * capture files it already opened, which SIGHUP reopens) is handed to the
 * new owner first. glibc's setres[ug]id() changes every thread. */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "daemon/privs.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "base/log.h"

/* Become UID:GID (USER non-NULL: with USER's supplementary groups, else
 * GID alone). A no-op when already there. Afterwards no capability is left
 * and root cannot be regained. 0, or -errno with the process unchanged
 * (-EPERM: not root). */
int privs_drop(const char *user, uid_t uid, gid_t gid)
{
    if (geteuid() == uid && getegid() == gid && getuid() == uid && getgid() == gid)
        return 0;
    if (geteuid() != 0)
        return -EPERM;
    if (user ? initgroups(user, gid) != 0 : setgroups(1, &gid) != 0)
        return -errno;
    if (setresgid(gid, gid, gid) != 0)
        return -errno;
    if (setresuid(uid, uid, uid) != 0)
        return -errno;
    if (uid != 0 && setresuid(0, 0, 0) == 0)
        return -EPERM; /* cannot happen; never carry on as root */
    /* lwipd never executes anything; make sure nothing could gain privileges. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        log_warn("privs", "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    log_info("privs", "running as uid %u gid %u", (unsigned)uid, (unsigned)gid);
    return 0;
}

/* Give the files PATHS[N] (NULL entries skipped) to UID:GID, so that the
 * process can reopen them after privs_drop(). 0 or the first -errno. */
int privs_chown_files(const char *const *paths, int n, uid_t uid, gid_t gid)
{
    for (int i = 0; i < n; i++) {
        if (paths[i] && chown(paths[i], uid, gid) != 0) {
            int e = -errno;
            log_err("privs", "chown %s: %s", paths[i], strerror(errno));
            return e;
        }
    }
    return 0;
}
