/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Users made for a test run (the rig's user, a viewer, a service user):
 * what root may not be trusted to show, a test shows as someone else.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "kit.h"

/* useradd and userdel take a lock on /etc/passwd that a parallel test may
 * hold for a moment: try a few times. */
static int shell_retry(const char *what, const char *name)
{
    int r = -1;
    for (int i = 0; i < 20 && r != 0; i++) {
        r = kit_shell("%s %s", what, name);
        if (r != 0)
            kit_sleep_ms(250);
    }
    return r;
}

void kit_user_add(const char *name, uid_t *uid, gid_t *gid)
{
    /* A leftover of a killed run. */
    kit_shell("userdel %s >/dev/null 2>&1", name);
    ck_assert_int_eq(shell_retry("useradd -M -s /usr/sbin/nologin", name), 0);
    struct passwd *pw = getpwnam(name);
    ck_assert_ptr_nonnull(pw);
    if (uid)
        *uid = pw->pw_uid;
    if (gid)
        *gid = pw->pw_gid;
}

int kit_user_del(const char *name)
{
    return shell_retry("userdel", name);
}

int kit_become(uid_t uid, gid_t gid)
{
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return -errno;
    return 0;
}
