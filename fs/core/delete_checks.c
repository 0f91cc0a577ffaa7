/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The checks of the deletion protocol, each adding named reasons to
 * d->reasons. A reason is a refusal: anything unknown is one.
 */
#include "delete_checks.h"

#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "share.h"
#include "util.h"

static bool endswith_nocase(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcasecmp(s + ls - lx, suffix) == 0;
}

static const char *basename_of(const char *relpath)
{
    const char *slash = strrchr(relpath, '/');
    return slash ? slash + 1 : relpath;
}

static int reason(struct mct_deletion *d, const char *fmt, ...) _printf_(2, 3);
static int reason(struct mct_deletion *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = mct_strv_pushv(&d->reasons, fmt, ap);
    va_end(ap);
    return r;
}

int mct_delete_check_datajoint(struct mct_deletion *d)
{
    const struct mct_dj_status *dj = &d->status->dj;
    if (dj->state == MCT_YES)
        return 0;
    int r = 0;
    bool named = false;
    for (int i = 0; r >= 0 && i < MCT_DJ_N_CHECKS; i++) {
        if (dj->checks[i] != MCT_NO)
            continue;
        r = reason(d, "not in DataJoint: %s", mct_dj_check_failures[i]);
        named = true;
    }
    for (int i = 0; r >= 0 && i < MCT_DJ_N_CHECKS; i++) {
        if (dj->checks[i] != MCT_UNKNOWN)
            continue;
        /* Without recordings the per-recording checks had nothing to
         * check (datajoint.c): "no recording rows" above says it all. */
        if (i > MCT_DJ_RECORDING && dj->checks[MCT_DJ_RECORDING] == MCT_NO)
            continue;
        r = reason(d, "DataJoint import unknown (%s could not be checked): %s",
                   mct_dj_check_names[i], strempty(dj->reason) ? "no answer" : dj->reason);
        named = true;
        break; /* one database error explains every unknown check */
    }
    if (r >= 0 && !named)
        r = reason(d, "not in DataJoint: %s",
                   strempty(dj->reason) ? "import not confirmed" : dj->reason);
    return r;
}

static int check_unverified(struct mct_deletion *d, const struct mct_dest_status *ds)
{
    const struct mct_verify_result *v = &ds->verify;
    int r = 0;
    for (size_t i = 0; r >= 0 && i < v->n_mismatched; i++)
        r = reason(d, "copy differs: %s size %llu vs %llu", v->mismatched[i].relpath,
                   (unsigned long long)v->mismatched[i].source_size,
                   (unsigned long long)v->mismatched[i].copy_size);
    for (size_t i = 0; r >= 0 && v->missing && v->missing[i]; i++)
        r = reason(d, "copy missing: %s", v->missing[i]);
    if (r >= 0 && v->n_mismatched == 0 && mct_strv_length(v->missing) == 0)
        r = reason(d, "copy at %s not verified: %s", ds->path,
                   ds->detail ? ds->detail : "files missing or different");
    return r;
}

int mct_delete_check_destinations(struct mct_deletion *d)
{
    const struct mct_session_status *st = d->status;
    if (mct_config_enabled_destinations(d->cfg) == 0 || st->n_dests == 0)
        return reason(d, "no backup destination is enabled");
    size_t need = mct_config_required_copies(d->cfg), n_verified = 0;
    for (size_t i = 0; i < st->n_dests; i++)
        n_verified += st->dests[i].state == MCT_DEST_VERIFIED;
    if (n_verified >= need && need > 0)
        return 0;
    int r = 0;
    if (need < st->n_dests)
        r = reason(d,
                   "%zu of %zu destinations hold a verified copy, %zu required "
                   "(backup.required_copies)",
                   n_verified, st->n_dests, need);
    for (size_t i = 0; r >= 0 && i < st->n_dests; i++) {
        const struct mct_dest_status *ds = &st->dests[i];
        const char *name = ds->dest ? ds->dest->name : "?";
        switch (ds->state) {
        case MCT_DEST_VERIFIED:
            break;
        case MCT_DEST_UNREACHABLE:
            r = reason(d, "destination '%s' unreachable: %s", name,
                       ds->detail ? ds->detail : "no answer");
            break;
        case MCT_DEST_MISSING:
            r = reason(d, "no copy at %s (destination '%s')", ds->path ? ds->path : "?", name);
            break;
        case MCT_DEST_UNVERIFIED:
        default:
            r = check_unverified(d, ds);
            break;
        }
    }
    return r;
}

/* A verified copy once more against the source files: every file there
 * with its size, and never the very same file (dev, ino), which is what a
 * bind mount of the source or a destination inside it looks like. A scan
 * without its file list (not kept) fails here, closed. */
static int check_copy_scan(struct mct_deletion *d, const struct mct_dest_status *ds,
                           const struct mct_scan *copy)
{
    const struct mct_scan *src = &d->status->source;
    const char *name = ds->dest ? ds->dest->name : "?";
    const char *same = NULL;
    size_t n_same = 0;
    int r = 0;
    for (size_t i = 0; r >= 0 && i < src->n_files; i++) {
        const struct mct_file *f = &src->files[i];
        const struct mct_file *c = mct_scan_find(copy, f->relpath);
        if (!c)
            r = reason(d, "copy missing: %s (destination '%s')", f->relpath, name);
        else if (c->size != f->size)
            r = reason(d, "copy differs: %s size %llu vs %llu (destination '%s')", f->relpath,
                       (unsigned long long)f->size, (unsigned long long)c->size, name);
        else if (c->dev == f->dev && c->ino == f->ino && n_same++ == 0)
            same = f->relpath;
    }
    if (r >= 0 && n_same > 0)
        r = reason(d,
                   "destination '%s': the copy at %s is the source itself (%s and %zu other "
                   "file(s) have the same device and inode): a bind mount of the source or a "
                   "destination inside it is no backup",
                   name, ds->path, same, n_same - 1);
    return r;
}

int mct_delete_check_copies(struct mct_deletion *d)
{
    const struct mct_session_status *st = d->status;
    int r = 0;
    for (size_t i = 0; r >= 0 && i < st->n_dests; i++)
        if (st->dests[i].state == MCT_DEST_VERIFIED)
            r = check_copy_scan(d, &st->dests[i], &st->dests[i].scan);
    return r;
}

/* The same files with the same sizes? what gets the first difference. */
static bool same_files(const struct mct_scan *a, const struct mct_scan *b, const char **what)
{
    for (size_t i = 0; i < a->n_files || i < b->n_files; i++) {
        const struct mct_file *x = i < a->n_files ? &a->files[i] : NULL;
        const struct mct_file *y = i < b->n_files ? &b->files[i] : NULL;
        if (!x || !y || !streq(x->relpath, y->relpath) || x->size != y->size) {
            *what = x ? x->relpath : y->relpath;
            return false;
        }
    }
    return true;
}

int mct_delete_check_copies_moved(struct mct_deletion *d)
{
    const struct mct_session_status *st = d->status;
    _cleanup_free_ char **paths = calloc(st->n_dests + 1, sizeof(char *));
    _cleanup_free_ size_t *which = calloc(st->n_dests + 1, sizeof(size_t));
    _cleanup_free_ struct mct_scan *scans = calloc(st->n_dests + 1, sizeof(struct mct_scan));
    _cleanup_free_ int *errs = calloc(st->n_dests + 1, sizeof(int));
    if (!paths || !which || !scans || !errs)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < st->n_dests; i++)
        if (st->dests[i].state == MCT_DEST_VERIFIED) {
            which[n] = i;
            paths[n++] = st->dests[i].path;
        }
    if (n == 0)
        return 0;
    (void)mct_share_scan_many(d->cfg, paths, n, scans, errs);
    int r = 0;
    for (size_t k = 0; r >= 0 && k < n; k++) {
        const struct mct_dest_status *ds = &st->dests[which[k]];
        const char *name = ds->dest ? ds->dest->name : "?", *what = NULL;
        if (errs[k] == -ENOENT)
            r = reason(d,
                       "copy vanished when the source moved: the destination shows the source "
                       "(destination '%s', %s)",
                       name, ds->path);
        else if (errs[k] < 0)
            r = reason(d,
                       "cannot read the copy at %s again after the source moved (destination "
                       "'%s'): %s",
                       ds->path, name,
                       errs[k] == -ETIMEDOUT ? "the share stopped answering" : strerror(-errs[k]));
        else if (!same_files(&ds->scan, &scans[k], &what))
            r = reason(d,
                       "copy changed when the source moved: the destination shows the source "
                       "(destination '%s', %s: %s)",
                       name, ds->path, what);
    }
    for (size_t k = 0; k < n; k++)
        mct_scan_free(&scans[k]);
    return r;
}

int mct_delete_check_snapshot(struct mct_deletion *d)
{
    const struct mct_scan *src = &d->status->source;
    int r = 0;
    for (size_t i = 0; r >= 0 && i < src->n_files; i++) {
        const struct mct_file *f = &src->files[i];
        const struct mct_file *s = mct_scan_find(&d->snap, f->relpath);
        if (!s)
            r = reason(d, "session changed while it was checked: %s disappeared", f->relpath);
        else if (s->size != f->size || s->mtime.tv_sec != f->mtime.tv_sec ||
                 s->mtime.tv_nsec != f->mtime.tv_nsec)
            r = reason(d, "session changed while it was checked: %s", f->relpath);
    }
    /* Files the copies exclude by configuration have no backup at all. */
    for (size_t i = 0; r >= 0 && i < d->snap.n_files; i++) {
        const char *rel = d->snap.files[i].relpath;
        if (!mct_scan_find(src, rel) && !mct_is_rig_file(rel))
            r = reason(d, "not in any backup (excluded from copies by exclude_patterns): %s", rel);
    }
    return r;
}

int mct_delete_check_rig_idle(struct mct_deletion *d)
{
    time_t now = time(NULL);
    int64_t min_age_s = (int64_t)d->cfg->deletion_min_age_minutes * 60;
    int r = 0;
    for (size_t i = 0; r >= 0 && i < d->snap.n_files; i++) {
        const struct mct_file *f = &d->snap.files[i];
        const char *base = basename_of(f->relpath);
        if (endswith_nocase(base, ".lock"))
            r = reason(d, "lock file present (the rig may be recording): %s", f->relpath);
        else if (endswith_nocase(base, ".tmp"))
            r = reason(d, "temporary file present (the rig may be recording): %s", f->relpath);
        if (r >= 0 && (int64_t)now - (int64_t)f->mtime.tv_sec < min_age_s)
            r = reason(d, "file younger than %u min: %s", d->cfg->deletion_min_age_minutes,
                       f->relpath);
    }
    return r;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *w++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
            p += 3;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
}

/* A mount at or under the session would make the rename fail or, worse,
 * make the removal reach into another filesystem. Taken from mountinfo
 * rather than st_dev, which overlayfs reports per lower layer. */
int mct_delete_check_mounts(struct mct_deletion *d)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return reason(d, "cannot read /proc/self/mountinfo to rule out mounts inside %s: %s",
                      d->source_path, strerror(errno));
    /* mountinfo has resolved paths; /data may be a symlink. */
    _cleanup_free_ char *real = realpath(d->source_path, NULL);
    if (!real)
        return reason(d, "cannot resolve %s: %s", d->source_path, strerror(errno));
    size_t len = strlen(real);
    char line[8192];
    int r = 0;
    while (r >= 0 && fgets(line, sizeof(line), f)) {
        char mnt[4096];
        /* id parent major:minor root MOUNTPOINT ... */
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
            continue;
        unescape_octal(mnt);
        if (strncmp(mnt, real, len) == 0 && (mnt[len] == '\0' || mnt[len] == '/'))
            r = reason(d, "a filesystem is mounted in the session: %s", mnt);
    }
    return r;
}
