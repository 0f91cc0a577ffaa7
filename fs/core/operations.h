/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The commands that change things, as the CLI and the mount's .control
 * file run them: sync (rsync + verification), verify (file by file) and
 * the verified deletion, and the trash's recovery. Each takes the
 * session's lock (lock.h) and fails with -EBUSY when another command
 * holds it; each tells its user what happened in a struct mct_op_result
 * (op_result.h).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "op_result.h"
#include "rsync.h"
#include "session.h"
#include "status.h"
#include "util.h"

/*
 * Sync every enabled destination: probe the share (never copy into an
 * unmounted one), create the session's folder on it, run rsync, then
 * verify when verify_after_sync. 0 success, -EBUSY, -ENOTCONN/-ETIMEDOUT
 * share unreachable, -EIO rsync or verification failed.
 */
int mct_sync_session(const struct mct_config *cfg, const struct mct_session_ref *ref, bool dry_run,
                     mct_progress_fn progress, void *ud, struct mct_op_result *res);

/* File-by-file verification of every enabled destination, by the
 * configured verify_method. 0 all verified, -EIO when any file is missing
 * or differs, -ENOTCONN/-ETIMEDOUT, -EBUSY. Under checksum each file is
 * hashed on both sides, the hashes go to the hash cache and the session's
 * manifest (manifest.h) is written from the first copy that matched. */
int mct_verify_session(const struct mct_config *cfg, const struct mct_session_ref *ref,
                       mct_progress_fn progress, void *ud, struct mct_op_result *res);

/* The same with the method given (mctctl verify --checksum). */
int mct_verify_session_method(const struct mct_config *cfg, const struct mct_session_ref *ref,
                              enum mct_verify_method method, mct_progress_fn progress, void *ud,
                              struct mct_op_result *res);

/*
 * mctctl audit: re-hash the copy on every enabled destination (no cache:
 * it must read) and compare it with the session's manifest; the local
 * session may be gone. 0 every file of the manifest matches on every
 * destination; -EIO a file is missing or differs (named in reasons);
 * -ENOENT no manifest; -ENOTCONN/-ETIMEDOUT a share unreachable. Files
 * of the copy the manifest does not list are named in lines, a warning
 * only: nothing of the session is lost.
 */
int mct_audit_session(const struct mct_config *cfg, const struct mct_session_ref *ref,
                      mct_progress_fn progress, void *ud, struct mct_op_result *res);

enum mct_delete_mode {
    MCT_DELETE_NORMAL,
    MCT_DELETE_FORCE_UNVERIFIED, /* skips DataJoint and backup checks only */
};

struct mct_delete_request {
    struct mct_session_ref ref;
    enum mct_delete_mode mode;
    bool dry_run;
    /* A dry pass that a real one follows (mctctl delete's summary before
     * the typed confirmation): the trash's recovery runs for real. A dry
     * run the user asked for leaves it false, and changes nothing. */
    bool recover;
    /* A participant outside backup.filters.participant_prefixes is not
     * managed and never deleted, unless the user named it on purpose
     * (mctctl delete --include-unmanaged). */
    bool include_unmanaged;
    const char *who; /* mct_describe_user() of who asked, for the log */
    const char *via; /* "mctctl" or "mctfs" */
};

/* "name (uid N)", or "uid N" when uid has no passwd entry: the one way
 * the deletion log and the mount's .control name a user, whether the
 * deletion came through mctctl or the mount. */
#define MCT_USER_MAX 300
void mct_describe_user(uid_t uid, char *out, size_t len);

/*
 * The deletion protocol: lock, re-check everything now, refuse on
 * young/lock/tmp files, move to the trash, compare with the snapshot,
 * log, remove. 0 deleted (or dry run passed), -EPERM refused (reasons
 * filled), -EBUSY, -errno. Every refusal is logged (deletion.log_path),
 * but that of a dry run the user asked for: a dry pass with recover set
 * is the check before a real deletion, and its refusal is the answer to
 * that deletion.
 */
int mct_delete_session(const struct mct_config *cfg, const struct mct_delete_request *req,
                       struct mct_op_result *res);

/* Log a refusal that never reached the protocol (a user who may not write
 * .control): result "refused" with reason, in deletion.log_path. 0 or
 * -errno. */
int mct_delete_log_refusal(const struct mct_config *cfg, const struct mct_session_ref *ref,
                           const char *who, const char *via, const char *reason);

/* Finish or undo what a crashed deletion left in the trash. Reports each
 * entry in res->lines. With dry_run it changes nothing and says what it
 * would do ("would restore ...", "would finish deleting ..."). A trash
 * that is not ours (trash.h) is never used: a warning, and -EPERM. */
int mct_trash_recover(const struct mct_config *cfg, bool dry_run, struct mct_op_result *res);
