/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The deletion's own checks, each adding named reasons to d->reasons (a
 * reason is a refusal: anything unknown is one). Whether the session is
 * safe at all is policy.c's to say, the same rules the status shows.
 */
#include "delete_checks.h"

#include <stdlib.h>

#include "share.h"
#include "util.h"

static int reason(struct mct_deletion *d, const char *fmt, ...) _printf_(2, 3);
static int reason(struct mct_deletion *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = mct_strv_pushv(&d->reasons, fmt, ap);
    va_end(ap);
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

/* One counted copy read again, as every copy is read (share.h). */
static int copy_moved(struct mct_deletion *d, const struct mct_dest_status *ds)
{
    const char *name = ds->dest ? ds->dest->name : "?", *what = NULL;
    struct mct_copy_scan c = {.path = ds->path};
    int r = mct_share_scan_copies(d->cfg, ds->dest, &c, 1);
    int err = c.err ? c.err : r;
    if (err == -ENOENT)
        r = reason(d,
                   "copy vanished when the source moved: the destination shows the source "
                   "(destination '%s', %s)",
                   name, ds->path);
    else if (err < 0)
        r = reason(d,
                   "cannot read the copy at %s again after the source moved (destination "
                   "'%s'): %s",
                   ds->path, name,
                   err == -ETIMEDOUT ? "the share stopped answering" : strerror(-err));
    else if (!same_files(&ds->scan, &c.scan, &what))
        r = reason(d,
                   "copy changed when the source moved: the destination shows the source "
                   "(destination '%s', %s: %s)",
                   name, ds->path, what);
    else
        r = 0;
    mct_copy_scan_done(&c);
    return r;
}

int mct_delete_check_copies_moved(struct mct_deletion *d)
{
    const struct mct_session_status *st = d->status;
    int r = 0;
    for (size_t i = 0; r >= 0 && i < st->n_dests; i++)
        if (st->dests[i].state == MCT_DEST_VERIFIED)
            r = copy_moved(d, &st->dests[i]);
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
