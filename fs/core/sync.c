/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sync, as mctctl and the mount's .control file run it: for every
 * enabled destination, probe the share (never copy into one that is not
 * mounted and answering), make and check the copy folder in a share
 * child, run rsync into that very folder, then verify it
 * (verify_after_sync; verify_session.c). The session's lock is held for
 * the whole run; the user is told per destination what happened.
 */

#include "log.h"
#include "marker.h"
#include "operations.h"
#include "session_run.h"
#include "share.h"

/* rsync's stderr lines shown per destination. */
#define MAX_STDERR_LINES 20

/* What one rsync copies: the folders as opened (-1: use the path) and
 * their paths for messages. */
struct sync_target {
    const char *src, *dst;
    int src_fd, dst_fd;
};

static void report_rsync_stderr(struct mct_op_result *res, const char *text)
{
    size_t n = 0;

    for (const char *p = text; p && *p && n < MAX_STDERR_LINES;) {
        size_t len = strcspn(p, "\n");
        if (len > 0) {
            mct_op_say(res, "%.*s", (int)len, p);
            n++;
        }
        p += len + (p[len] == '\n');
    }
}

static int run_rsync(const struct mct_config *cfg, const struct mct_destination *dest,
                     const struct sync_target *t, bool dry_run, mct_progress_fn progress, void *ud,
                     struct mct_op_result *res)
{
    _cleanup_free_ char *errtext = NULL;
    _cleanup_strv_ char **listed = NULL;
    int code = -1;
    int r = mct_rsync_run_listed(cfg, t->src_fd, t->src, t->dst_fd, t->dst, dry_run, progress, ud,
                                 &code, &errtext, &listed);

    if (r == -EIO) {
        const char *e = errtext ? errtext : "";
        mct_op_say(res, "destination '%s': rsync exited %d: %s", dest->name, code,
                   mct_rsync_exit_meaning(code));
        report_rsync_stderr(res, e);
        return mct_op_fail(res, r,
                           "destination '%s': rsync exited %d: %s (copying %s/ to %s/)%s%.*s",
                           dest->name, code, mct_rsync_exit_meaning(code), t->src, t->dst,
                           *e ? ": " : "", (int)strcspn(e, "\n"), e);
    }
    if (r < 0)
        return mct_op_fail(res, r, "destination '%s': cannot run rsync for %s/: %s", dest->name,
                           t->src, strerror(-r));
    if (dry_run) {
        size_t n = 0;
        for (char **l = listed; l && *l; l++)
            if (!streq(*l, "./")) {
                mct_op_say(res, "destination '%s': would copy %s", dest->name, *l);
                n++;
            }
        mct_op_say(res,
                   "destination '%s': dry run of %s/ -> %s/ passed (rsync exited 0): %zu "
                   "to copy, nothing copied",
                   dest->name, t->src, t->dst, n);
    } else
        mct_op_say(res, "destination '%s': copied %s/ to %s/ (rsync exited 0: success)", dest->name,
                   t->src, t->dst);
    return 0;
}

/* The copy folder as the share child found it: ours to write into, or
 * the reason not to (nothing is written then). */
static int check_copy_folder(const struct mct_destination *dest, const struct mct_session_ref *ref,
                             const char *dst, const struct mct_copy_scan *c,
                             struct mct_op_result *res)
{
    const char *name = dest->name;
    if (c->err == -ELOOP)
        return mct_op_fail(res, -EPERM,
                           "destination '%s': unsafe: symlink at %.*s on the share; not syncing "
                           "through it (remove it on the share)",
                           name, (int)(c->symlink_end ? c->symlink_end : strlen(dst)), dst);
    if (c->err == -EXDEV)
        return mct_op_fail(res, -EPERM,
                           "destination '%s': %s is on another filesystem than the share; not "
                           "syncing into it",
                           name, dst);
    if (c->err == -ETIMEDOUT)
        return mct_op_fail(res, -ETIMEDOUT,
                           "destination '%s': creating %s did not answer (hung share?)", name, dst);
    if (c->err < 0)
        return mct_op_fail(res, c->err, "destination '%s': cannot create %s: %s", name, dst,
                           strerror(-c->err));
    struct mct_session_ref other;
    int m = c->marker ? mct_marker_matches(c->marker, ref, &other) : 1;
    if (m == 0)
        return mct_op_fail(res, -EPERM,
                           "destination '%s': %s holds another session's copy (%s %s): not "
                           "syncing %s %s into it (on a share that ignores case, ids that differ "
                           "only in case are one folder)",
                           name, dst, other.participant_id, other.session_date, ref->participant_id,
                           ref->session_date);
    if (m < 0 || (!c->marker && c->marker_err != -ENOENT))
        return mct_op_fail(res, -EPERM,
                           "destination '%s': %s/%s is not a marker mctfs wrote; not syncing "
                           "into a folder whose owner is unknown",
                           name, dst, MCT_MARKER_FILE);
    return 0;
}

/* After rsync: is the copy folder still the one it wrote into? */
static int check_copy_unchanged(const struct mct_config *cfg, const struct mct_destination *dest,
                                const char *dst, const struct mct_copy_scan *before,
                                struct mct_op_result *res)
{
    _cleanup_(mct_copy_scan_done) struct mct_copy_scan now = {0};
    _cleanup_close_ int fd = -1;
    char why[512] = "";
    /* The share may have gone while rsync ran (then it wrote into what
     * was unmounted, never onto the local disk): say that first. */
    int r = mct_share_probe(cfg, dest, why, sizeof(why));
    if (r < 0)
        return mct_run_fail_probe(res, dest, "verified", why, r);
    r = mct_share_open_copy(cfg, dest, dst, false, &now, &fd);
    if (r == 0 && now.err == 0 && now.dev == before->dev && now.ino == before->ino)
        return 0;
    return mct_op_fail(res, -EIO,
                       "destination '%s': the copy folder %s is not the folder rsync wrote into "
                       "any more (replaced on the share during the sync)",
                       dest->name, dst);
}

static int sync_one(const struct mct_config *cfg, const struct mct_session_ref *ref,
                    const struct mct_destination *dest, const char *src, int src_fd,
                    const struct mct_scan *source, bool dry_run, mct_progress_fn progress, void *ud,
                    struct mct_op_result *res)
{
    _cleanup_free_ char *dst = NULL;
    _cleanup_(mct_copy_scan_done) struct mct_copy_scan folder = {0};
    _cleanup_close_ int dst_fd = -1;
    char why[512] = "";
    int r;

    r = mct_session_dest_path(dest, ref, &dst);
    if (r < 0)
        return mct_op_fail(res, r, "destination '%s': cannot build the session's path: %s",
                           dest->name, strerror(-r));
    /* Never copy into an unmounted share: it would fill the local disk and
     * later "verify" against a copy that is not on the network. */
    r = mct_share_probe(cfg, dest, why, sizeof(why));
    if (r < 0)
        return mct_run_fail_probe(res, dest, "synced", why, r);
    /* Made and opened in a share child (a share that hangs now costs a
     * timeout), handed to us, and written through: rsync gets this very
     * folder whatever a share user renames meanwhile. */
    r = mct_share_open_copy(cfg, dest, dst, !dry_run, &folder, &dst_fd);
    if (r < 0)
        folder.err = r;
    if (!(dry_run && folder.err == -ENOENT)) {
        r = check_copy_folder(dest, ref, dst, &folder, res);
        if (r < 0)
            return r;
    }
    if (!dry_run && !folder.marker) {
        _cleanup_free_ char *text = mct_marker_format(ref, src, source->n_files, source->bytes);
        r = text ? mct_share_write_marker(cfg, dest, dst, text) : -ENOMEM;
        if (r < 0)
            return mct_op_fail(res, r, "destination '%s': cannot write %s/%s: %s", dest->name, dst,
                               MCT_MARKER_FILE, strerror(-r));
    }
    struct sync_target t = {.src = src, .dst = dst, .src_fd = src_fd, .dst_fd = dst_fd};
    r = run_rsync(cfg, dest, &t, dry_run, progress, ud, res);
    if (r < 0 || dry_run)
        return r;
    return check_copy_unchanged(cfg, dest, dst, &folder, res);
}

static int verify_after_sync(const struct mct_config *cfg, const struct mct_session_ref *ref,
                             const struct mct_destination *dest, struct mct_run *run,
                             mct_progress_fn progress, void *ud, struct mct_op_result *res)
{
    /* Scanned again for each destination: files still growing since the
     * previous rsync must show up as differences, not pass. */
    _cleanup_(mct_scan_free) struct mct_scan source = {0};
    int r = mct_run_scan_source(cfg, run, res, &source);
    if (r < 0)
        return r;
    return mct_run_verify_one(cfg, ref, dest, run, &source, progress, ud, res);
}

static int check_flags(const struct mct_config *cfg, struct mct_op_result *res)
{
    char why[512] = "";
    int r = mct_rsync_flags_check(cfg->rsync_flags, why, sizeof(why));
    if (r < 0)
        return mct_op_fail(res, r, "%s: %s", cfg->path ? cfg->path : "configuration",
                           mct_why_or_errno(why, r));
    return 0;
}

static int sync_session(const struct mct_config *cfg, const struct mct_session_ref *ref,
                        bool dry_run, mct_progress_fn progress, void *ud, struct mct_op_result *res)
{
    _cleanup_(mct_run_done) struct mct_run run = MCT_RUN_INIT;
    bool verify = cfg->verify_after_sync && !dry_run;
    int r, first = 0;

    if ((r = check_flags(cfg, res)) < 0)
        return r;
    /* Its scan is for the markers: what is being copied. */
    r = mct_run_begin(cfg, ref, cfg->verify_method, res, &run);
    if (r < 0)
        return r;

    for (size_t i = 0; i < cfg->n_destinations; i++) {
        const struct mct_destination *dest = &cfg->destinations[i];
        if (!dest->enabled)
            continue;
        r = sync_one(cfg, ref, dest, run.src, run.src_fd, &run.source, dry_run, progress, ud, res);
        if (r == 0 && verify)
            r = verify_after_sync(cfg, ref, dest, &run, progress, ud, res);
        if (r < 0 && first == 0)
            first = r;
    }
    mct_run_finish(cfg, ref, &run, res);
    if (first < 0)
        return first;

    r = mct_status_collect(cfg, ref, 1, 0, &res->status);
    if (r < 0) {
        res->status = NULL;
        log_warning_errno(r, "sync of %s/%s done, but its status could not be collected",
                          ref->participant_id, ref->session_date);
    }
    return 0;
}

int mct_sync_session(const struct mct_config *cfg, const struct mct_session_ref *ref, bool dry_run,
                     mct_progress_fn progress, void *ud, struct mct_op_result *res)
{
    int r = sync_session(cfg, ref, dry_run, progress, ud, res);
    if (!dry_run)
        mct_run_record(cfg, MCT_JOB_SYNC, r);
    return r;
}
