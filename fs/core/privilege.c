/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Becoming the service user (privilege.h): the order is systemd's and
 * OpenSSH's, groups first (only root may set them), then the gids, then
 * the uids, all three ids of each so that no saved id lets root back in.
 */
#include "privilege.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static bool root_allowed(bool allow_root)
{
    const char *e = getenv(MCT_ALLOW_ROOT_ENV);
    return allow_root || (e && streq(e, "1"));
}

/* Every id is the service user's and setuid(0) fails: else we must not go
 * on, not even to print a report. */
static int verify_dropped(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;

    if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid || eu != uid ||
        su != uid || rg != gid || eg != gid || sg != gid) {
        snprintf(err, errlen, "switching to uid %u failed: ids are still mixed", (unsigned)uid);
        return -EPERM;
    }
    if (setuid(0) == 0 || seteuid(0) == 0) {
        snprintf(err, errlen, "switched to uid %u, but root could be regained", (unsigned)uid);
        return -EPERM;
    }
    return 0;
}

int mct_privilege_drop(const struct mct_config *cfg, bool allow_root, const char *prog, char *err,
                       size_t errlen)
{
    const char *name = cfg->service.user;
    struct passwd pw, *res = NULL;
    char buf[4096];

    if (getuid() != 0 && geteuid() != 0)
        return 0;
    if (strempty(name)) {
        if (root_allowed(allow_root))
            return 0;
        snprintf(err, errlen,
                 "refusing to run as root: %s reads folders other users write (the recordings, "
                 "the share) and runs rsync in them, so a flaw there would give them root. Set "
                 "service.user in %s to the unprivileged user to run as (see the admin guide), "
                 "or run it as that user; --allow-root (or %s=1) runs it as root anyway",
                 prog, cfg->path, MCT_ALLOW_ROOT_ENV);
        return -EPERM;
    }

    int r = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
    if (r != 0 || !res) {
        snprintf(err, errlen, "%s: service.user: no user '%s'%s%s (create it: useradd --system %s)",
                 cfg->path, name, r ? ": " : "", r ? strerror(r) : "", name);
        return r ? -r : -ENOENT;
    }
    if (pw.pw_uid == 0 || pw.pw_gid == 0) {
        snprintf(err, errlen,
                 "%s: service.user: '%s' is root (uid %u, gid %u): name an "
                 "unprivileged user",
                 cfg->path, name, (unsigned)pw.pw_uid, (unsigned)pw.pw_gid);
        return -EPERM;
    }
    if (initgroups(pw.pw_name, pw.pw_gid) < 0 || setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) < 0 ||
        setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot switch to service.user '%s': %s", name, strerror(-r));
        return r;
    }
    r = verify_dropped(pw.pw_uid, pw.pw_gid, err, errlen);
    if (r < 0)
        return r;
    /* rsync and libraries look in $HOME (~/.popt, ~/.my.cnf): root's is
     * not ours any more. */
    (void)setenv("HOME", pw.pw_dir, 1);
    (void)setenv("USER", pw.pw_name, 1);
    (void)setenv("LOGNAME", pw.pw_name, 1);
    log_debug("running as %s (uid %u, gid %u)", name, (unsigned)pw.pw_uid, (unsigned)pw.pw_gid);
    return 0;
}
