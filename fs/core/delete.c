/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The deletion protocol, the one way anything deletes a session: lock,
 * re-check everything now, refuse on young or *.lock or *.tmp files,
 * snapshot, move into the trash, compare with the snapshot, read every
 * counted copy again, log, remove exactly what was compared. Deleting the
 * rig's only local copy of a recording is the one irreversible act of the
 * product, so every step fails closed: anything unknown is a refusal, and
 * a crash leaves the session whole or a trash entry that
 * mct_trash_recover() finishes or restores.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>

#include "delete_checks.h"
#include "deletion_log.h"
#include "hashcache.h"
#include "log.h"
#include "policy.h"
#include "lock.h"
#include "operations.h"
#include "trash.h"
#include "trash_pending.h"

static void deletion_done(struct mct_deletion *d)
{
    free(d->source_path);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    if (d->dir_fd >= 0)
        close(d->dir_fd);
    mct_trash_done(&d->trash);
    mct_scan_free(&d->snap);
    if (d->status)
        mct_session_status_free_array(d->status, 1);
    mct_strv_free(d->reasons);
}

static const char *sess_p(const struct mct_deletion *d)
{
    return d->req->ref.participant_id;
}

static const char *sess_d(const struct mct_deletion *d)
{
    return d->req->ref.session_date;
}

static int refuse(struct mct_deletion *d, int err, const char *fmt, ...) _printf_(3, 4);
static int refuse(struct mct_deletion *d, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = mct_strv_pushv(&d->reasons, fmt, ap);
    va_end(ap);
    return r < 0 ? r : err;
}

static int line(struct mct_deletion *d, const char *fmt, ...) _printf_(2, 3);
static int line(struct mct_deletion *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = mct_strv_pushv(&d->res->lines, fmt, ap);
    va_end(ap);
    return r;
}

static bool same_inode(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The trash, only if it is ours (a dry run makes none), and no earlier
 * deletion of this session still in it. */
static int deletion_trash(struct mct_deletion *d)
{
    char why[1024];
    int r = mct_trash_open(d->cfg, !d->req->dry_run, &d->trash, why, sizeof(why));
    if (r == -ENOENT && d->req->dry_run)
        return 0;
    if (r < 0)
        return refuse(d, r, "%s; nothing deleted", why);
    _cleanup_free_ char *pending = NULL;
    r = mct_trash_pending(d->cfg, &d->req->ref, &pending);
    if (r < 0)
        return refuse(d, r, "cannot read the trash %s: %s", d->trash.path, strerror(-r));
    if (r > 0)
        return refuse(d, -EPERM, "%s", pending);
    return 0;
}

/* Take the session lock, then open the very folder that will be moved,
 * below the source base without following a symlink. */
static int deletion_lock(struct mct_deletion *d)
{
    const char *p = sess_p(d), *dt = sess_d(d);
    int r = mct_session_source_path(d->cfg, &d->req->ref, &d->source_path);
    if (r < 0)
        return refuse(d, r, "cannot build the source path of %s/%s: %s", p, dt, strerror(-r));
    struct stat st;
    if (lstat(d->source_path, &st) < 0)
        return refuse(d, -errno, "session %s/%s not found at %s: %s", p, dt, d->source_path,
                      strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return refuse(d, -EPERM, "%s is not a session folder (a symlink or a file)",
                      d->source_path);

    r = mct_session_lock(d->cfg, &d->req->ref, &d->lock_fd);
    if (r == -EBUSY)
        return refuse(d, r, "another command is running on %s/%s", p, dt);
    if (r == -ENOENT)
        return refuse(d, r, "session %s/%s is gone from %s", p, dt, d->source_path);
    if (r < 0)
        return refuse(d, r, "cannot lock %s/%s: %s", p, dt, strerror(-r));
    r = deletion_trash(d);
    if (r < 0)
        return r;
    r = mct_session_open_dir(d->cfg, &d->req->ref, &d->dir_fd);
    if (r >= 0 && fstat(d->dir_fd, &d->dir_st) < 0)
        r = -errno;
    if (r < 0)
        return refuse(d, r, "session %s/%s is gone from %s: %s", p, dt, d->source_path,
                      strerror(-r));
    return 0;
}

static int deletion_check(struct mct_deletion *d)
{
    bool normal = d->req->mode == MCT_DELETE_NORMAL;
    /* --force-unverified leaves out the copies and DataJoint, never the
     * rig's own files or the participant filter. */
    unsigned classes = normal ? MCT_RULES_ALL : MCT_RULES_IDLE | MCT_RULES_MANAGED;
    if (d->req->include_unmanaged)
        classes &= ~MCT_RULES_MANAGED;
    /* The snapshot comes first: the status below must verify exactly it.
     * It reads the folder that was locked and opened, not its name. */
    int fd = openat(d->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = fd < 0 ? -errno : mct_scan_tree_fd(fd, NULL, &d->snap);
    if (r < 0)
        return refuse(d, -EPERM, "cannot read %s: %s", d->source_path, strerror(-r));
    r = mct_status_collect(d->cfg, &d->req->ref, 1, MCT_STATUS_KEEP_FILES, &d->status);
    if (r < 0)
        return r;
    if (!d->status)
        return -EIO;
    /* Under checksum the copies are hashed now, which may change their
     * states; then the same rules as the status decide. */
    if (normal && (r = mct_delete_check_content(d)) < 0)
        return r;
    r = mct_status_decide(d->status);
    if (r >= 0)
        r = mct_policy_reasons(d->status, classes, &d->reasons);
    if (r >= 0 && normal)
        r = mct_delete_check_snapshot(d);
    if (r >= 0)
        r = mct_delete_check_mounts(d);
    if (r < 0)
        return r;
    char why[1024];
    if (mct_dlog_check_writable(d->cfg->deletion_log_path, why, sizeof(why)) < 0)
        return refuse(d, 0, "%s", why);
    return 0;
}

static const char *tristate_word(enum mct_tristate t)
{
    return t == MCT_YES ? "fully imported" : t == MCT_NO ? "NOT imported" : "unknown";
}

static const char *preserved_word(bool force, bool ok)
{
    if (force)
        return ok ? "preserved (not required: --force-unverified)"
                  : "NOT preserved (not checked: --force-unverified)";
    return ok ? "preserved" : "NOT preserved";
}

/* Path, files, size, and where the data is preserved. */
static int deletion_summary(struct mct_deletion *d)
{
    char size[32];
    bool force = d->req->mode == MCT_DELETE_FORCE_UNVERIFIED;
    const struct mct_session_status *st = d->status;
    int r = line(d, "Session %s/%s: %s", sess_p(d), sess_d(d), d->source_path);
    if (r >= 0)
        r = line(d, "  %zu files, %s", d->snap.n_files,
                 mct_format_bytes(d->snap.bytes, size, sizeof(size)));
    for (size_t i = 0; r >= 0 && i < st->n_dests; i++) {
        const struct mct_dest_status *ds = &st->dests[i];
        bool ok = ds->state == MCT_DEST_VERIFIED;
        r = line(d, "  %s at '%s': %s (%s, %zu files, %s)", preserved_word(force, ok),
                 ds->dest ? ds->dest->name : "?", ds->path ? ds->path : "?",
                 mct_dest_state_name(ds->state), ds->files,
                 mct_format_bytes(ds->bytes, size, sizeof(size)));
    }
    if (r >= 0)
        r = line(d, "  %s in DataJoint: %s%s", preserved_word(force, st->dj.state == MCT_YES),
                 tristate_word(st->dj.state), st->dj.state == MCT_YES ? " (all six checks)" : "");
    return r;
}

static void dlog_info(const struct mct_deletion *d, const char *result, char *const *reasons,
                      struct mct_dlog_info *info)
{
    *info = (struct mct_dlog_info){
            .ref = &d->req->ref,
            .who = d->req->who,
            .via = d->req->via,
            .path = d->source_path,
            .files = d->snap.n_files,
            .bytes = d->snap.bytes,
            .mode = d->req->mode,
            .status = d->status,
            .result = result,
            .reasons = reasons,
    };
}

/* Hand the reasons and the status to the caller; log a real refusal
 * (not a removal cut short after its "deleted" line was logged). */
static int deletion_refused(struct mct_deletion *d, int err)
{
    if ((!d->req->dry_run || d->req->recover) && !d->logged) {
        _cleanup_buf_ struct mct_buf msg = {0};
        for (size_t i = 0; d->reasons && d->reasons[i]; i++)
            mct_buf_printf(&msg, "%s%s", i ? "; " : "", d->reasons[i]);
        /* The check before a real deletion tells its user itself. */
        if (!d->req->dry_run)
            log_warning("refused to delete %s/%s (%s): %s", sess_p(d), sess_d(d),
                        strempty(d->source_path) ? "?" : d->source_path, msg.data ? msg.data : "");
        struct mct_dlog_info info;
        _cleanup_buf_ struct mct_buf rec = {0};
        dlog_info(d, "refused", d->reasons, &info);
        if (d->source_path && mct_dlog_format(&info, &rec) >= 0)
            (void)mct_dlog_append(d->cfg->deletion_log_path, rec.data);
    }
    for (size_t i = 0; d->reasons && d->reasons[i]; i++)
        if (mct_strv_push(&d->res->reasons, TAKE_PTR(d->reasons[i])) < 0)
            return -ENOMEM;
    free(TAKE_PTR(d->reasons));
    d->res->status = TAKE_PTR(d->status);
    return err;
}

static int diff_reason(struct mct_deletion *d, const char *file, const char *what)
{
    return refuse(d, 0, "session changed during deletion: %s (%s)", file, what);
}

/* The files and symlinks of the moved tree against the snapshot of the
 * checks: the same files, sizes, mtimes and inodes. Differences become
 * reasons. */
static int compare_files(struct mct_deletion *d, const struct mct_tsnap *now)
{
    size_t i = 0, j = 0;
    int r = 0;
    while (r >= 0 && (i < d->snap.n_files || j < now->n)) {
        if (j < now->n && now->e[j].type != 'f' && now->e[j].type != 'l') {
            j++; /* folders and what a scan never lists */
            continue;
        }
        const struct mct_file *a = i < d->snap.n_files ? &d->snap.files[i] : NULL;
        const struct mct_tsnap_entry *b = j < now->n ? &now->e[j] : NULL;
        int c = !a ? 1 : !b ? -1 : strcmp(a->relpath, b->relpath);
        if (c < 0)
            r = diff_reason(d, a->relpath, "removed");
        else if (c > 0)
            r = diff_reason(d, b->relpath, "appeared");
        else if (a->size != b->size)
            r = diff_reason(d, a->relpath, b->size > a->size ? "grew" : "shrank");
        else if (a->mtime.tv_sec != b->mtime.tv_sec || a->mtime.tv_nsec != b->mtime.tv_nsec)
            r = diff_reason(d, a->relpath, "modified");
        else if ((uint64_t)a->ino != b->ino || mct_tsnap_type(a->mode) != b->type)
            r = diff_reason(d, a->relpath, "replaced");
        i += c <= 0;
        j += c >= 0;
    }
    return r;
}

/* The moved folder is the one checked, and holds what was checked; *now
 * gets every entry of it, the list of what the removal may remove. */
static int compare_moved(struct mct_deletion *d, const struct mct_trash_entry *e,
                         struct mct_tsnap *now)
{
    _cleanup_close_ int fd =
            openat(d->trash.fd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !same_inode(&st, &d->dir_st))
        return refuse(d, 0,
                      "session changed during deletion: the folder moved is not the "
                      "one checked");
    int r = mct_tsnap_take(fd, now);
    if (r < 0)
        return refuse(d, 0, "cannot read %s after moving it: %s", e->path, strerror(-r));
    return compare_files(d, now);
}

/* Undo the move after a refusal found after it. */
static int put_back(struct mct_deletion *d, struct mct_trash_entry *e, int err)
{
    (void)mct_trash_journal_set(e, "moved");
    int r = mct_trash_move_back(e);
    if (r < 0)
        refuse(d, 0,
               "could not move the session back from %s to %s: %s; it is kept whole in "
               "the trash, and the next mctctl run restores it or says why not",
               e->path, e->orig_path, strerror(-r));
    return deletion_refused(d, err);
}

/* Remove what was compared; what was written into the session since
 * goes back to its place. */
static int deletion_finish(struct mct_deletion *d, struct mct_trash_entry *e,
                           const struct mct_tsnap *snap)
{
    char size[32];
    struct mct_trash_removal out;
    int r = mct_trash_remove(e, snap, &out);
    if (r < 0)
        return refuse(d, r,
                      "removing %s stopped: %s; the session is out of the view and the next "
                      "mctctl run finishes removing it",
                      e->path, strerror(-r));
    struct stat st;
    if (!out.back && lstat(d->source_path, &st) == 0)
        line(d, "WARNING: %s exists again (created after the deletion)", d->source_path);
    /* Its source entries can never be fresh again. */
    mct_hashcache_remove(d->cfg, &d->req->ref);
    if (!out.back && mct_trash_rmdir_parent(e) > 0)
        line(d, "  removed the empty folder above %s", d->source_path);
    r = line(d, "Deleted %s/%s: %zu files, %s freed from %s", sess_p(d), sess_d(d), out.files,
             mct_format_bytes(out.bytes, size, sizeof(size)), d->source_path);
    mct_trash_report_kept(d->cfg, e, &out, d->req->via, &d->res->lines);
    return r;
}

static int deletion_log(struct mct_deletion *d, struct mct_trash_entry *e)
{
    struct mct_dlog_info info;
    _cleanup_buf_ struct mct_buf rec = {0};
    dlog_info(d, "deleted", NULL, &info);
    int r = mct_dlog_format(&info, &rec);
    if (r >= 0)
        r = mct_dlog_append(d->cfg->deletion_log_path, rec.data);
    if (r < 0) {
        refuse(d, 0, "cannot write deletion log %s: %s; nothing deleted", d->cfg->deletion_log_path,
               strerror(-r));
        return put_back(d, e, -EPERM);
    }
    d->logged = true;
    /* Best effort: a journal still saying "verified" only logs twice. */
    (void)mct_trash_journal_set(e, "logged");
    syslog(LOG_NOTICE,
           "mctfs: deleted session %s/%s at %s (%zu files, %llu bytes, mode %s, "
           "via %s, by %s)",
           sess_p(d), sess_d(d), d->source_path, d->snap.n_files, (unsigned long long)d->snap.bytes,
           d->req->mode == MCT_DELETE_NORMAL ? "normal" : "force-unverified",
           d->req->via ? d->req->via : "?", d->req->who ? d->req->who : "?");
    return 0;
}

static int deletion_execute(struct mct_deletion *d)
{
    mct_test_crash_point("before-move");
    _cleanup_trash_entry_ struct mct_trash_entry e = {0};
    int r = mct_trash_entry_new(&d->trash, &d->req->ref, &e);
    if (r >= 0)
        r = mct_trash_move_in(&e);
    if (r < 0) {
        refuse(d, 0, "cannot move %s into the trash %s: %s; nothing deleted", d->source_path,
               d->trash.path, strerror(-r));
        return deletion_refused(d, r);
    }
    mct_test_crash_point("after-move");

    _cleanup_tsnap_ struct mct_tsnap snap = {0};
    r = compare_moved(d, &e, &snap);
    /* A copy that was the source itself left with it. */
    if (r >= 0 && !d->reasons && d->req->mode == MCT_DELETE_NORMAL)
        r = mct_delete_check_copies_moved(d);
    if (r < 0 || d->reasons)
        return put_back(d, &e, r < 0 ? r : -EPERM);

    r = mct_tsnap_write(d->trash.fd, e.name, &snap);
    if (r >= 0)
        r = mct_trash_journal_set(&e, "verified");
    if (r < 0) {
        refuse(d, 0, "cannot record the deletion in the trash journal: %s", strerror(-r));
        return put_back(d, &e, r);
    }
    mct_test_crash_point("after-verify");

    r = deletion_log(d, &e);
    if (r < 0)
        return r;
    r = deletion_finish(d, &e, &snap);
    if (d->reasons)
        return deletion_refused(d, r < 0 ? r : -EIO);
    return r;
}

int mct_delete_session(const struct mct_config *cfg, const struct mct_delete_request *req,
                       struct mct_op_result *res)
{
    if (!mct_participant_id_valid(req->ref.participant_id) ||
        !mct_session_date_valid(req->ref.session_date))
        return mct_strv_pushf(&res->reasons, "invalid session \"%s\" \"%s\"",
                              req->ref.participant_id, req->ref.session_date) < 0
                       ? -ENOMEM
                       : -EINVAL;
    /* A dry run says what recovery would do and changes nothing. */
    (void)mct_trash_recover(cfg, req->dry_run && !req->recover, res);

    _cleanup_(deletion_done) struct mct_deletion d = {.cfg = cfg,
                                                      .req = req,
                                                      .res = res,
                                                      .lock_fd = -1,
                                                      .dir_fd = -1,
                                                      .trash = {.fd = -1, .base_fd = -1}};
    int r = deletion_lock(&d);
    if (r < 0)
        return deletion_refused(&d, r);
    r = deletion_check(&d);
    if (r < 0)
        return deletion_refused(&d, r);
    r = deletion_summary(&d);
    if (r < 0)
        return r;
    if (d.reasons)
        return deletion_refused(&d, -EPERM);
    if (req->dry_run) {
        char size[32];
        mct_format_bytes(d.snap.bytes, size, sizeof(size));
        /* The check before a real deletion is no dry run to the user. */
        r = req->recover ? line(&d, "Ready to delete %s (%zu files, %s)", d.source_path,
                                d.snap.n_files, size)
                         : line(&d, "Dry run: would delete %s (%zu files, %s); nothing deleted",
                                d.source_path, d.snap.n_files, size);
        res->status = TAKE_PTR(d.status);
        return r;
    }
    return deletion_execute(&d);
}
