/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Finishing or undoing the deletions a crash interrupted (what status
 * says of them meanwhile is trash_pending.c). Recovery trusts the trash
 * only when it is ours (trash.c), and even then takes nothing from a
 * journal but its state: the session comes from the entry's name and the
 * source template, what is removed is what the snapshot lists, and the
 * deletion log line is one recovery writes from what it checked.
 */
#include <fcntl.h>
#include <time.h>

#include "deletion_log.h"
#include "log.h"
#include "lock.h"
#include "operations.h"
#include "trash.h"
#include "trash_journal.h"

/* Add a line to res. err != 0 makes it loud (a warning in the log too)
 * and is returned, so callers can write `return report(res, r, ...)`. */
static int report(struct mct_op_result *res, int err, const char *fmt, ...) _printf_(3, 4);
static int report(struct mct_op_result *res, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    if (err)
        log_warning("%s", s);
    int r = mct_strv_push(&res->lines, err ? mct_strdup_printf("WARNING: %s", s) : strdup(s));
    return err ? err : r;
}

/* Moved but never compared: put it back. */
static int recover_moved(const struct mct_trash_entry *e, bool dry, struct mct_op_result *res)
{
    const char *p = e->ref.participant_id, *d = e->ref.session_date;
    if (dry)
        return report(res, 0, "would restore %s/%s from an interrupted deletion (back at %s)", p, d,
                      e->orig_path);
    int r = mct_trash_move_back(e);
    if (r == -EEXIST)
        return report(res, r,
                      "interrupted deletion of %s/%s not restored: %s exists again; the "
                      "interrupted one is kept in %s: compare the two and merge by hand",
                      p, d, e->orig_path, e->path);
    if (r < 0)
        return report(res, r, "could not restore %s/%s from %s to %s: %s", p, d, e->path,
                      e->orig_path, strerror(-r));
    return report(res, 0, "restored %s/%s from an interrupted deletion (back at %s)", p, d,
                  e->orig_path);
}

/* The deletion log line of a deletion recovery finishes: what the
 * snapshot lists and the entry still holds, nothing from the journal. */
static int recover_log(const struct mct_config *cfg, const struct mct_trash_entry *e,
                       const struct mct_trash_removal *sv)
{
    char when[32];
    mct_dlog_iso_time(time(NULL), when, sizeof(when));
    _cleanup_buf_ struct mct_buf b = {0};
    struct mct_dlog_info info = {.ref = &e->ref,
                                 .via = "recovery",
                                 .path = e->orig_path,
                                 .files = sv->files,
                                 .bytes = sv->bytes,
                                 .result = "deleted"};
    _cleanup_json_ struct json_object *record = mct_dlog_record(&info);
    if (mct_json_add_str(record, "finished_by", "recovery") < 0 ||
        mct_json_add_str(record, "finished_at", when) < 0)
        return -ENOMEM;
    int r = mct_json_write(record, &b);
    return r < 0 ? r : mct_dlog_append(cfg->deletion_log_path, b.data);
}

/* Verified (and maybe logged): the deletion was decided; finish it. */
static int recover_finish(const struct mct_config *cfg, const struct mct_trash_entry *e,
                          const char *state, bool dry, struct mct_op_result *res)
{
    const char *p = e->ref.participant_id, *d = e->ref.session_date;
    _cleanup_tsnap_ struct mct_tsnap snap = {0};
    int r = mct_tsnap_read(e->trash->fd, e->name, &snap);
    if (r < 0) {
        /* Without the list of what was verified nothing may be removed. */
        if (dry)
            return report(res, 0,
                          "would restore %s/%s: its interrupted deletion has no readable "
                          "snapshot of what was verified",
                          p, d);
        int k = mct_trash_move_back(e);
        return report(res, -EBADMSG,
                      "interrupted deletion of %s/%s has no readable snapshot of what was "
                      "verified (%s): nothing removed; %s %s",
                      p, d, strerror(-r), k < 0 ? "it stays in" : "restored at",
                      k < 0 ? e->path : e->orig_path);
    }
    struct mct_trash_removal sv;
    r = mct_trash_survey(e, &snap, &sv);
    if (r < 0)
        return report(res, r, "cannot read trash entry %s: %s", e->path, strerror(-r));
    if (dry)
        return report(res, 0,
                      "would finish deleting %s/%s (an interrupted deletion of %s: %zu verified "
                      "files to remove, %zu files written during the deletion to put back)",
                      p, d, e->orig_path, sv.files, sv.kept);

    if (streq(state, "verified")) {
        r = recover_log(cfg, e, &sv);
        if (r < 0)
            return report(res, r,
                          "interrupted deletion of %s/%s not finished: cannot write deletion "
                          "log %s: %s; the session stays in %s",
                          p, d, cfg->deletion_log_path, strerror(-r), e->path);
        r = mct_trash_journal_set(e, "logged");
        if (r < 0)
            return report(res, r, "cannot update trash journal %s.json: %s", e->path, strerror(-r));
    }
    struct mct_trash_removal out;
    r = mct_trash_remove(e, &snap, &out);
    if (r < 0)
        return report(res, r, "could not finish deleting %s/%s in %s: %s", p, d, e->path,
                      strerror(-r));
    report(res, 0, "finished deleting %s/%s (an interrupted deletion of %s)", p, d, e->orig_path);
    if (!out.back)
        (void)mct_trash_rmdir_parent(e);
    mct_trash_report_kept(cfg, e, &out, "recovery", &res->lines);
    return out.stuck ? -EEXIST : 0;
}

/* One entry, under its session's lock. */
static int recover_entry(const struct mct_config *cfg, const struct mct_trash_entry *e, bool dry,
                         struct mct_op_result *res)
{
    if (!dry)
        mct_trash_drop_temporaries(e);
    struct stat st;
    bool has_dir = fstatat(e->trash->fd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (has_dir && !S_ISDIR(st.st_mode))
        return report(res, -EUCLEAN, "trash entry %s is not a folder: left in place", e->path);
    struct mct_journal j;
    int r = mct_journal_read(e->trash->fd, e->name, &j);
    if (r == -ENOENT && has_dir)
        return report(res, -EUCLEAN,
                      "trash entry %s has no journal: left in place; restore or remove it by "
                      "hand",
                      e->path);
    if (r < 0 && r != -ENOENT)
        return report(res, r, "unreadable trash journal %s.json (%s); entry left alone", e->path,
                      strerror(-r));
    if (r == 0 && mct_session_ref_cmp(&j.ref, &e->ref) != 0)
        return report(res, -EUCLEAN,
                      "trash journal %s.json names %s/%s, not the session of its entry: left "
                      "alone",
                      e->path, j.ref.participant_id, j.ref.session_date);
    if (!has_dir) {
        /* Never moved, moved back, or removed to the end: only its
         * files are left. */
        if (dry)
            return 0;
        if (r == 0 && streq(j.state, "logged"))
            (void)mct_trash_rmdir_parent(e);
        return mct_trash_forget(e);
    }
    if (streq(j.state, "moved"))
        return recover_moved(e, dry, res);
    return recover_finish(cfg, e, j.state, dry, res);
}

static int recover_one(const struct mct_config *cfg, const struct mct_trash *t, const char *name,
                       bool dry, struct mct_op_result *res)
{
    _cleanup_trash_entry_ struct mct_trash_entry e = {0};
    int r = mct_trash_entry_parse(t, name, &e);
    if (r == -EINVAL)
        return report(res, -EUCLEAN,
                      "%s/%s is not named like a trash entry (P__D__<time>__<pid>): left alone",
                      t->path, name);
    if (r < 0)
        return r;
    /* The deletion's own lock: a deletion at work holds it. */
    _cleanup_close_ int lock = -1;
    r = mct_session_lock_ref(cfg, &e.ref, &lock);
    if (r == -EBUSY)
        return report(res, 0, "deletion of %s/%s in progress in another command",
                      e.ref.participant_id, e.ref.session_date);
    if (r < 0)
        return report(res, r, "cannot lock %s/%s to recover %s: %s", e.ref.participant_id,
                      e.ref.session_date, e.path, strerror(-r));
    return recover_entry(cfg, &e, dry, res);
}

int mct_trash_recover(const struct mct_config *cfg, bool dry_run, struct mct_op_result *res)
{
    _cleanup_trash_ struct mct_trash t = {.fd = -1, .base_fd = -1};
    char why[1024];
    int r = mct_trash_open(cfg, false, &t, why, sizeof(why));
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return report(res, r, "%s; trash recovery skipped", why);

    _cleanup_strv_ char **names = NULL;
    int ret = mct_trash_list_entries(&t, &names);
    for (size_t i = 0; names && names[i]; i++) {
        r = recover_one(cfg, &t, names[i], dry_run, res);
        if (r < 0 && ret == 0)
            ret = r;
    }
    return ret;
}
