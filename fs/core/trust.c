/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ownership rules for the files we take orders from (trust.h), in the
 * spirit of git's safe.directory and sshd's StrictModes: the owner must be
 * someone who could do the harm anyway, and nobody else may write it.
 */
#include "trust.h"

#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

#include "util.h"

const char *mct_uid_name(uid_t uid, char *out, size_t len)
{
    struct passwd pw, *res = NULL;
    char buf[1024];

    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
        snprintf(out, len, "uid %u (%s)", (unsigned)uid, res->pw_name);
    else
        snprintf(out, len, "uid %u", (unsigned)uid);
    return out;
}

void mct_trust_init(struct mct_trust *t, const char *service_user)
{
    struct passwd pw, *res = NULL;
    char buf[1024];

    *t = (struct mct_trust){.caller = getuid(), .service = MCT_NO_UID};
    if (strempty(service_user))
        return;
    t->service_name = service_user;
    if (getpwnam_r(service_user, &pw, buf, sizeof(buf), &res) == 0 && res)
        t->service = res->pw_uid;
}

static bool trusted_owner(const struct mct_trust *t, uid_t uid)
{
    return uid == 0 || uid == t->caller || (t->service != MCT_NO_UID && uid == t->service);
}

int mct_trust_check(const struct mct_trust *t, const char *path, const char *what,
                    const struct stat *st, char *err, size_t errlen)
{
    char owner[128];

    if (!S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s %s: not a regular file", what, path);
        return -EPERM;
    }
    if (!trusted_owner(t, st->st_uid)) {
        char allowed[160];
        if (t->service_name)
            snprintf(allowed, sizeof(allowed), "root, the service user %s or you", t->service_name);
        else
            snprintf(allowed, sizeof(allowed), "root or you");
        snprintf(err, errlen,
                 "%s %s is owned by %s, who may not give mctfs orders (only %s may own it): "
                 "run 'chown root %s'",
                 what, path, mct_uid_name(st->st_uid, owner, sizeof(owner)), allowed, path);
        return -EPERM;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, errlen,
                 "%s %s is writable by %s (mode %04o): anyone who may write it could run "
                 "programs as its reader; run 'chmod go-w %s'",
                 what, path, st->st_mode & S_IWOTH ? "every user" : "its group",
                 (unsigned)(st->st_mode & 07777), path);
        return -EPERM;
    }
    return 0;
}

int mct_trust_check_local(uid_t caller, const struct stat *st, char *why, size_t whylen)
{
    char owner[128];

    if (!S_ISREG(st->st_mode)) {
        snprintf(why, whylen, "not a regular file");
        return -EPERM;
    }
    if (st->st_uid != caller) {
        snprintf(why, whylen, "owned by %s, not by you",
                 mct_uid_name(st->st_uid, owner, sizeof(owner)));
        return -EPERM;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, whylen, "writable by group or others (mode %04o)",
                 (unsigned)(st->st_mode & 07777));
        return -EPERM;
    }
    return 0;
}

int mct_trust_check_named_by(const struct mct_trust *t, const char *path, const struct stat *st,
                             const char *config_path, const struct stat *config_st, char *err,
                             size_t errlen)
{
    char owner[128], cfg_owner[128];

    if (!config_st || config_st->st_uid == 0 || config_st->st_uid == t->caller ||
        st->st_uid == config_st->st_uid)
        return 0;
    snprintf(err, errlen,
             "%s is owned by %s, but the config %s that names it is owned by %s: a config the "
             "service user may write can only name a password file of its own; run 'chown %s %s' "
             "or 'chown root %s'",
             path, mct_uid_name(st->st_uid, owner, sizeof(owner)), config_path,
             mct_uid_name(config_st->st_uid, cfg_owner, sizeof(cfg_owner)),
             t->service_name ? t->service_name : "SERVICE_USER", path, config_path);
    return -EPERM;
}
