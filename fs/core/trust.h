/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Whose files mctfs and mctctl take orders from. The config says which
 * programs rsync runs with, where the password goes and what may be
 * deleted; it is read as root. A file someone else could write is that
 * someone's way to root, so it is used only when root, the service user or
 * the caller owns it and neither its group nor others may write it. The
 * checks take the fstat of the open file that is read, never a name.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define MCT_NO_UID ((uid_t)-1)

struct mct_trust {
    uid_t caller;  /* the real uid that started us */
    uid_t service; /* service.user's uid, MCT_NO_UID when unset or unknown */
    const char *service_name;
};

/* caller = getuid(); service looked up by name (NULL: none). */
void mct_trust_init(struct mct_trust *t, const char *service_user);

/*
 * 0 when st (of the file at path, what says what it is: "config") is a
 * regular file owned by root, the service user or the caller and not
 * writable by group or others. Else -EPERM with one sentence in err naming
 * the file, its owner and the chown/chmod that fixes it.
 */
int mct_trust_check(const struct mct_trust *t, const char *path, const char *what,
                    const struct stat *st, char *err, size_t errlen);

/*
 * The rule for ./backup_config.yaml, a folder anyone may have written to
 * (a session folder, /tmp): only a file the caller owns, that group and
 * others cannot write. 0, or -EPERM with the reason (no advice) in why.
 */
int mct_trust_check_local(uid_t caller, const struct stat *st, char *why, size_t whylen);

/*
 * A config trusted only because the service user owns it must not make
 * root read a file the service user could not: a password file it names
 * must then be the service user's too. 0 or -EPERM with a sentence.
 */
int mct_trust_check_named_by(const struct mct_trust *t, const char *path, const struct stat *st,
                             const char *config_path, const struct stat *config_st, char *err,
                             size_t errlen);

/* "uid 1001 (rig1)" for messages. */
const char *mct_uid_name(uid_t uid, char *out, size_t len);
