/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rules, one function each, over collected facts (policy.h). No I/O
 * here: what a rule needs to know was gathered by status.c.
 */
#include "policy.h"

#include <time.h>

#include "marker.h"
#include "util.h"

/* One reason per rule, naming the first file and how many more. */
static int push_rule(char ***reasons, const char *what, const char *first, size_t n)
{
    if (n == 0)
        return 0;
    if (n == 1)
        return mct_strv_pushf(reasons, "%s: %s", what, first);
    return mct_strv_pushf(reasons, "%s: %s (and %zu more)", what, first, n - 1);
}

int mct_policy_local_files(const struct mct_config *cfg, const struct mct_scan *raw,
                           struct mct_session_status *st)
{
    int64_t min_age_s = (int64_t)cfg->deletion_min_age_minutes * 60;
    int64_t now = time(NULL);
    const char *young = NULL, *rig = NULL, *unbacked = NULL;
    size_t n_young = 0, n_rig = 0, n_unbacked = 0;
    for (size_t i = 0; i < raw->n_files; i++) {
        const struct mct_file *f = &raw->files[i];
        if (now - (int64_t)f->mtime.tv_sec < min_age_s && n_young++ == 0)
            young = f->relpath;
        if (mct_is_rig_file(f->relpath)) {
            if (n_rig++ == 0)
                rig = f->relpath;
        } else if (!mct_scan_find(&st->source, f->relpath) && n_unbacked++ == 0) {
            unbacked = f->relpath;
        }
    }
    _cleanup_free_ char *young_what =
            mct_strdup_printf("file younger than %u min", cfg->deletion_min_age_minutes);
    if (!young_what)
        return -ENOMEM;
    int r = push_rule(&st->local_reasons, young_what, young, n_young);
    if (r == 0)
        r = push_rule(&st->local_reasons,
                      "lock or temporary file present (the rig may be recording)", rig, n_rig);
    if (r == 0)
        r = push_rule(&st->unbacked_reasons,
                      "not in any backup (excluded from copies by exclude_patterns)", unbacked,
                      n_unbacked);
    return r;
}

int mct_policy_folder_symlinked(struct mct_session_status *st)
{
    return mct_strv_pushf(&st->local_reasons,
                          "%s is a symlink or is reached through one: not a session folder",
                          st->source_path);
}

static int set_state(struct mct_dest_status *d, enum mct_dest_state state, char *detail)
{
    d->state = state;
    free(d->detail);
    d->detail = detail;
    return detail ? 1 : -ENOMEM;
}

/* The copy folder answered: is it this session's? */
static int copy_identity(const struct mct_session_status *st, const struct mct_copy_scan *c,
                         struct mct_dest_status *d)
{
    struct mct_session_ref other;
    int m = c->marker ? mct_marker_matches(c->marker, &st->ref, &other) : 0;
    if (c->marker && m < 0)
        return set_state(d, MCT_DEST_UNSAFE,
                         mct_strdup_printf("%s/%s is not a marker mctfs wrote: whose copy this "
                                           "folder holds is unknown",
                                           c->path, MCT_MARKER_FILE));
    if (c->marker && m == 0)
        return set_state(d, MCT_DEST_UNSAFE,
                         mct_strdup_printf("holds another session's copy (%s %s, says %s/%s)",
                                           other.participant_id, other.session_date, c->path,
                                           MCT_MARKER_FILE));
    if (c->folded && c->partners)
        return set_state(d, MCT_DEST_UNSAFE,
                         mct_strdup_printf("one folder on the share with %s (the share ignores "
                                           "case): two sessions of the same day whose ids differ "
                                           "only in case cannot both be copied there; rename one "
                                           "participant's folder",
                                           c->partners[c->folded - 1]));
    if (!c->marker && c->marker_err != -ENOENT && c->marker_err != 0)
        return set_state(d, MCT_DEST_UNSAFE,
                         mct_strdup_printf("cannot read %s/%s: %s", c->path, MCT_MARKER_FILE,
                                           c->marker_err == -EBADMSG ? "not a regular file"
                                                                     : strerror(-c->marker_err)));
    return 0;
}

int mct_policy_copy_found(const struct mct_config *cfg, const struct mct_session_status *st,
                          const struct mct_copy_scan *c, struct mct_dest_status *d)
{
    switch (c->err) {
    case 0:
        return copy_identity(st, c, d);
    case -ENOENT:
        return set_state(d, MCT_DEST_MISSING, mct_strdup_printf("no copy at %s", d->path));
    case -ELOOP:
        return set_state(d, MCT_DEST_UNSAFE,
                         mct_strdup_printf("unsafe: symlink at %.*s on the share: a copy is "
                                           "never read or written through a symlink",
                                           (int)(c->symlink_end ? c->symlink_end : strlen(c->path)),
                                           c->path));
    case -EXDEV:
        return set_state(d, MCT_DEST_UNSAFE,
                         mct_strdup_printf("%s is on another filesystem than the share", d->path));
    case -ENOTDIR:
        return set_state(d, MCT_DEST_UNSAFE,
                         mct_strdup_printf("%s is not a folder on the share", d->path));
    case -ETIMEDOUT:
        return set_state(d, MCT_DEST_UNREACHABLE,
                         mct_strdup_printf("%s did not answer within %u s (stale or hung share?)",
                                           d->path, cfg->share_timeout_s));
    default:
        return set_state(d, MCT_DEST_UNREACHABLE,
                         mct_strdup_printf("cannot read %s: %s", d->path, strerror(-c->err)));
    }
}

int mct_policy_copy_verified(const struct mct_session_status *st, const struct mct_copy_scan *c,
                             struct mct_dest_status *d)
{
    const char *same = NULL;
    size_t n_same = 0, n_ino = 0;
    for (size_t i = 0; i < st->source.n_files; i++) {
        const struct mct_file *f = &st->source.files[i];
        const struct mct_file *k = mct_scan_find(&c->scan, f->relpath);
        /* The same inode and the same change time to the nanosecond: the
         * very file. (A copy's ctime is when it was copied, which nothing
         * can set back; equal inode numbers alone happen on two fresh
         * filesystems filled in the same order.) */
        n_ino += k && k->ino == f->ino && k->ctime.tv_sec == f->ctime.tv_sec &&
                 k->ctime.tv_nsec == f->ctime.tv_nsec;
        if (k && k->dev == f->dev && k->ino == f->ino && n_same++ == 0)
            same = f->relpath;
    }
    if (n_same > 0)
        return set_state(d, MCT_DEST_UNSAFE,
                         mct_strdup_printf("the copy at %s is the source itself (%s and %zu "
                                           "other file(s) have the same device and inode): a "
                                           "bind mount of the source or a destination inside it "
                                           "is no backup",
                                           d->path, same, n_same - 1));
    /* An overlay or an NFS export of this machine shows the source's files
     * under its own device but with their inode numbers and change times. */
    if (st->source.n_files > 0 && n_ino == st->source.n_files)
        return set_state(d, MCT_DEST_UNSAFE,
                         mct_strdup_printf("every file of the copy at %s has its source file's "
                                           "inode number and change time: the source seen "
                                           "through another filesystem (an overlay, an NFS "
                                           "export of this machine) is no copy",
                                           d->path));
    if (!c->marker)
        return set_state(d, MCT_DEST_UNVERIFIED,
                         mct_strdup_printf("files match, but no %s marker says whose copy this "
                                           "is (made by another tool?): run mctctl sync %s %s to "
                                           "add it (nothing is copied again when the files "
                                           "match)",
                                           MCT_MARKER_FILE, st->ref.participant_id,
                                           st->ref.session_date));
    return 0;
}

int mct_policy_distinct_copies(struct mct_session_status *st)
{
    for (size_t j = 1; j < st->n_dests; j++) {
        struct mct_dest_status *b = &st->dests[j];
        if (!b->copy_seen)
            continue;
        for (size_t i = 0; i < j; i++) {
            const struct mct_dest_status *a = &st->dests[i];
            if (!a->copy_seen || a->copy_dev != b->copy_dev || a->copy_ino != b->copy_ino)
                continue;
            int r = set_state(b, MCT_DEST_UNSAFE,
                              mct_strdup_printf("%s is the same folder as destination '%s''s "
                                                "copy %s: one folder counts once",
                                                b->path, a->dest->name, a->path));
            if (r < 0)
                return r;
            break;
        }
    }
    return 0;
}

/* At least k destinations (k = required_copies, default all) in a "yes"
 * state: YES; could be with the unreachable ones: UNKNOWN; else NO. */
static size_t required(const struct mct_session_status *st)
{
    size_t k = st->required_copies;
    return k == 0 || k > st->n_dests ? st->n_dests : k;
}

static int backup_reasons(const struct mct_session_status *st, char ***reasons)
{
    int r = 0;
    for (char **l = st->unbacked_reasons; r == 0 && l && *l; l++)
        r = mct_strv_push(reasons, strdup(*l));
    if (r == 0 && st->n_dests == 0)
        r = mct_strv_pushf(reasons, "no backup destination is enabled");
    /* Reasons are blockers: with enough verified copies the other
     * destinations' states are in the report, not here. */
    if (st->verified == MCT_YES)
        return r;
    if (r == 0 && st->n_dests > 0 && required(st) < st->n_dests)
        r = mct_strv_pushf(reasons,
                           "fewer than %zu of %zu destinations hold a verified copy "
                           "(backup.required_copies)",
                           required(st), st->n_dests);
    for (size_t i = 0; r == 0 && i < st->n_dests; i++) {
        const struct mct_dest_status *d = &st->dests[i];
        if (d->state != MCT_DEST_VERIFIED)
            r = mct_strv_pushf(reasons, "destination '%s' %s: %s", d->dest->name,
                               mct_dest_state_name(d->state), d->detail ? d->detail : "no details");
    }
    return r;
}

int mct_policy_reasons(const struct mct_session_status *st, unsigned classes, char ***reasons)
{
    int r = 0;
    if (st->source_err)
        r = mct_strv_pushf(reasons, "cannot read the local session %s: %s", st->source_path,
                           strerror(-st->source_err));
    else if (!st->source_exists)
        r = mct_strv_pushf(reasons, "no local session at %s", st->source_path);
    else if (st->source.n_files == 0)
        r = mct_strv_pushf(reasons, "local session %s holds no files", st->source_path);

    if (r == 0 && (classes & MCT_RULES_MANAGED) && st->not_managed)
        r = mct_strv_pushf(reasons,
                           "participant '%s' is not managed: its id starts with none of "
                           "backup.filters.participant_prefixes (mctctl delete "
                           "--include-unmanaged deletes it anyway)",
                           st->ref.participant_id);

    for (char **l = st->local_reasons; r == 0 && (classes & MCT_RULES_IDLE) && l && *l; l++)
        r = mct_strv_push(reasons, strdup(*l));

    if (r == 0 && (classes & MCT_RULES_DATAJOINT) && st->dj.state == MCT_NO)
        r = mct_strv_pushf(reasons, "not in DataJoint: %s", st->dj.reason);
    else if (r == 0 && (classes & MCT_RULES_DATAJOINT) && st->dj.state != MCT_YES)
        r = mct_strv_pushf(reasons, "DataJoint state unknown: %s", st->dj.reason);

    if (r == 0 && (classes & MCT_RULES_BACKUP))
        r = backup_reasons(st, reasons);
    return r;
}

static enum mct_tristate enough_dests(const struct mct_session_status *st,
                                      bool (*yes)(enum mct_dest_state))
{
    if (st->n_dests == 0)
        return MCT_NO;
    size_t n_yes = 0, n_unknown = 0;
    for (size_t i = 0; i < st->n_dests; i++) {
        if (yes(st->dests[i].state))
            n_yes++;
        else if (st->dests[i].state == MCT_DEST_UNREACHABLE)
            n_unknown++;
    }
    if (n_yes >= required(st))
        return MCT_YES;
    return n_yes + n_unknown >= required(st) ? MCT_UNKNOWN : MCT_NO;
}

static bool has_copy(enum mct_dest_state s)
{
    return s == MCT_DEST_UNVERIFIED || s == MCT_DEST_VERIFIED;
}

static bool is_verified(enum mct_dest_state s)
{
    return s == MCT_DEST_VERIFIED;
}

int mct_status_decide(struct mct_session_status *st)
{
    mct_strv_free(st->reasons);
    st->reasons = NULL;
    st->backup = enough_dests(st, has_copy);
    st->verified = enough_dests(st, is_verified);
    if (!st->source_exists)
        st->verified = MCT_NO;
    int r = mct_policy_reasons(st, MCT_RULES_ALL, &st->reasons);
    if (r < 0)
        return r;
    /* Unknown anywhere is a reason above, so "no reasons" is the verdict. */
    st->safe_to_delete = st->source_exists && mct_strv_length(st->reasons) == 0 &&
                         st->dj.state == MCT_YES && st->verified == MCT_YES;
    return 0;
}

int mct_policy_unknowns(const struct mct_session_status *st, char ***out)
{
    int r = 0;
    if (st->source_err)
        r = mct_strv_pushf(out, "source: cannot read %s: %s", st->source_path,
                           strerror(-st->source_err));
    /* A database that did not answer, even when another check (a NO in
     * recordings.db) decided the verdict: monitoring must see it. */
    if (r == 0 && (st->dj.error[0] || st->dj.state == MCT_UNKNOWN))
        r = mct_strv_pushf(out, "DataJoint: %s",
                           st->dj.error[0]    ? st->dj.error
                           : st->dj.reason[0] ? st->dj.reason
                                              : "the database did not answer");
    for (size_t i = 0; r == 0 && i < st->n_dests; i++) {
        const struct mct_dest_status *d = &st->dests[i];
        if (d->state != MCT_DEST_UNREACHABLE)
            continue;
        /* The probe's words already name the destination. */
        const char *why = d->detail ? d->detail : "no details";
        _cleanup_free_ char *prefix = mct_strdup_printf("destination '%s': ", d->dest->name);
        if (prefix && startswith(why, prefix))
            why += strlen(prefix);
        r = mct_strv_pushf(out, "destination '%s' unreachable: %s", d->dest->name, why);
    }
    return r;
}

bool mct_policy_only_unknowns(const struct mct_session_status *st)
{
    if (st->safe_to_delete || st->not_managed || st->local_reasons || st->unbacked_reasons)
        return false;
    if (st->dj.state == MCT_NO)
        return false;
    /* An unreadable folder leaves its copies undecided too. */
    if (st->source_err)
        return true;
    if (!st->source_exists || st->verified == MCT_NO)
        return false;
    return st->dj.state == MCT_UNKNOWN || st->verified == MCT_UNKNOWN;
}

static bool any_dest(const struct mct_session_status *st, enum mct_dest_state state)
{
    for (size_t i = 0; i < st->n_dests; i++)
        if (st->dests[i].state == state)
            return true;
    return false;
}

const char *mct_status_state(const struct mct_session_status *st, bool placeholder)
{
    if (placeholder)
        return "pending";
    if (st->safe_to_delete)
        return "safe";
    if (!st->source_exists)
        return "gone";
    if (mct_strv_length(st->local_reasons) > 0)
        return "recording";
    if (st->dj.state == MCT_NO)
        return "not_imported";
    if (st->dj.state != MCT_YES)
        return "unknown";
    if (st->verified == MCT_YES)
        return "recording"; /* only local rules (excluded files) stand in the way */
    if (st->backup == MCT_NO && !any_dest(st, MCT_DEST_UNSAFE) &&
        !any_dest(st, MCT_DEST_UNVERIFIED))
        return "not_copied";
    if (st->verified == MCT_UNKNOWN)
        return "unreachable";
    if (any_dest(st, MCT_DEST_UNSAFE))
        return "unsafe";
    return "unverified";
}
