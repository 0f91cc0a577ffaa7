/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The commands that change things, as the CLI and the mount's .control
 * file run them: sync (rsync + verification), verify (file by file) and
 * the verified deletion. Each takes the session's lock, which every
 * process honours (flock on a file in service.lock_dir, lock.c), and fails
 * with -EBUSY when another command holds it.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "rsync.h"
#include "session.h"
#include "status.h"
#include "util.h"

/* Take the session's lock without waiting: *fd_out holds it until closed
 * (a lock file, not the session folder). -EBUSY when held elsewhere,
 * -ENOENT when the session folder is gone, -ELOOP when it is a symlink or
 * reached through one, -EPERM when service.lock_dir (or the lock file) is
 * not the service user's alone (the log says which and why). */
int mct_session_lock(const struct mct_config *cfg, const struct mct_session_ref *ref, int *fd_out);

/* The same lock whether or not the session folder exists: the trash's
 * recovery locks sessions whose folder sits in the trash. */
int mct_session_lock_ref(const struct mct_config *cfg, const struct mct_session_ref *ref,
                         int *fd_out);

/* A lock on one job over the whole source tree ("reclaim"), in the same
 * folder and with the same checks as the session locks: -EBUSY when
 * another process holds it. */
int mct_tree_lock(const struct mct_config *cfg, const char *job, int *fd_out);

/* Open the session's folder from the source base one component at a time,
 * never following a symlink below the base: -ELOOP when the session folder
 * or a folder above it (a participant's) is a symlink, -ENOENT, -errno. */
int mct_session_open_dir(const struct mct_config *cfg, const struct mct_session_ref *ref,
                         int *fd_out);

struct mct_op_result {
    char **lines;   /* strv: what happened, for the user (per destination, per file) */
    char **reasons; /* strv: why it failed or was refused */
    struct mct_session_status *status; /* the status afterwards (1 element), may be NULL */
};
void mct_op_result_free(struct mct_op_result *res);
/* Add a line for the user (and log it at info level). */
void mct_op_say(struct mct_op_result *res, const char *fmt, ...) _printf_(2, 3);
/* Add a reason (and log it as an error); returns err for `return mct_op_fail(...)`. */
int mct_op_fail(struct mct_op_result *res, int err, const char *fmt, ...) _printf_(3, 4);

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

/* Is an interrupted deletion of ref in the trash (or is the trash not
 * ours, so nobody can tell)? 1 with *why the sentence for status, 0 no,
 * -errno. Such a session is never safe to delete. */
int mct_trash_pending(const struct mct_config *cfg, const struct mct_session_ref *ref, char **why);

/* The sessions with an entry in the trash, dated within [start, end]
 * (either may be NULL): status-range lists them even when their folder
 * is gone. *refs malloc'd, unsorted, may repeat a session. */
int mct_trash_pending_list(const struct mct_config *cfg, const char *start, const char *end,
                           struct mct_session_ref **refs, size_t *n);
