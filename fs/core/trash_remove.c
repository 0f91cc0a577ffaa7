/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Removing a trash entry: exactly what the deletion verified, nothing
 * else. A process whose working folder is the session follows it into
 * the trash and may go on writing there after the last comparison; what
 * it wrote has no backup, so it goes back to the session's place instead
 * of being removed with the rest.
 */
#include <fcntl.h>

#include "beneath.h"
#include "deletion_log.h"
#include "log.h"
#include "trash.h"
#include "tree.h"
#include "util.h"

struct removal {
    const struct mct_tsnap *snap;
    bool dry;
    struct mct_trash_removal *out;
    int err; /* the first failure; the walk goes on */
};

static int count_one(void *ud, const struct mct_tree_entry *e)
{
    size_t *n = ud;
    if (!e->after && !S_ISDIR(e->st->st_mode))
        (*n)++;
    return 0;
}

/* Files (anything but folders) in the folder name of dirfd, all depths. */
static int count_files_at(int dirfd, const char *name, size_t *n)
{
    _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    return mct_tree_walk(fd, count_one, n);
}

static void note(struct removal *rm, int err)
{
    if (rm->err == 0)
        rm->err = err;
}

static int remove_one(void *ud, const struct mct_tree_entry *e)
{
    struct removal *rm = ud;
    const struct mct_tsnap_entry *s = mct_tsnap_find(rm->snap, e->relpath);
    bool dir = S_ISDIR(e->st->st_mode);
    if (!s || !mct_tsnap_matches(s, e->st)) {
        /* Not what was verified: left alone (a removal counts what is
         * left once it is done; a survey counts it now). */
        if (rm->dry && dir)
            (void)count_files_at(e->dirfd, e->name, &rm->out->kept);
        else if (rm->dry)
            rm->out->kept++;
        return MCT_TREE_SKIP;
    }
    if (dir) {
        /* Still holding what was written into it: it goes back with that. */
        if (e->after && !rm->dry && unlinkat(e->dirfd, e->name, AT_REMOVEDIR) < 0 &&
            errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
            note(rm, -errno);
        return 0;
    }
    if (!rm->dry && unlinkat(e->dirfd, e->name, 0) < 0) {
        if (errno != ENOENT)
            note(rm, -errno);
        return 0;
    }
    rm->out->files += s->type == 'f' || s->type == 'l';
    if (s->type == 'f')
        rm->out->bytes += s->size;
    if (!rm->dry)
        mct_test_crash_point("mid-remove");
    return 0;
}

struct merge {
    int session_fd;
    size_t stuck;
    bool moved; /* something went back */
};

/* Move what is left into the session folder that exists again, entry by
 * entry, creating folders, never over a name that is taken there. */
static int merge_one(void *ud, const struct mct_tree_entry *e)
{
    struct merge *m = ud;
    if (e->after) {
        (void)unlinkat(e->dirfd, e->name, AT_REMOVEDIR); /* emptied, or holds what is stuck */
        return 0;
    }
    const char *slash = strrchr(e->relpath, '/');
    _cleanup_free_ char *dir =
            slash ? strndup(e->relpath, (size_t)(slash - e->relpath)) : strdup(".");
    if (!dir)
        return -ENOMEM;
    _cleanup_close_ int dfd = mct_mkdir_beneath(m->session_fd, dir, 0755, 0);
    int r = dfd < 0 ? dfd : mct_trash_rename_noreplace(e->dirfd, e->name, dfd, e->name);
    m->moved |= r == 0;
    if (r == 0)
        return MCT_TREE_SKIP; /* a folder goes whole */
    if (r == -EEXIST && S_ISDIR(e->st->st_mode))
        return 0; /* the folder is there: merge what is in it */
    if (S_ISDIR(e->st->st_mode))
        (void)count_files_at(e->dirfd, e->name, &m->stuck);
    else
        m->stuck++;
    return MCT_TREE_SKIP;
}

static int put_back(const struct mct_trash_entry *e, struct mct_trash_removal *out)
{
    int tfd = e->trash->fd;
    _cleanup_close_ int pfd = -1;
    const char *last;
    int r = mct_trash_session_parent(e, true, &pfd, &last);
    if (r < 0)
        return r;
    r = mct_trash_rename_noreplace(tfd, e->name, pfd, last);
    if (r == 0) {
        out->whole = out->back = true;
        (void)fsync(pfd);
        return mct_trash_forget(e);
    }
    if (r != -EEXIST)
        return r;

    _cleanup_close_ int sfd = mct_opendir_beneath(pfd, last, 0);
    if (sfd < 0)
        return sfd;
    _cleanup_close_ int fd = openat(tfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct merge m = {.session_fd = sfd};
    r = mct_tree_walk(fd, merge_one, &m);
    out->stuck = m.stuck;
    out->back = m.moved;
    if (r < 0)
        return r;
    (void)fsync(sfd);
    /* What could not go back stays in the entry, journal and all: the
     * next run tries again, and status shows the session stuck. */
    if (unlinkat(tfd, e->name, AT_REMOVEDIR) < 0)
        return m.stuck ? 0 : -errno;
    return mct_trash_forget(e);
}

static int walk_entry(const struct mct_trash_entry *e, struct removal *rm)
{
    _cleanup_close_ int fd =
            openat(e->trash->fd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = mct_tree_walk(fd, remove_one, rm);
    return r < 0 ? r : rm->err;
}

int mct_trash_remove(const struct mct_trash_entry *e, const struct mct_tsnap *snap,
                     struct mct_trash_removal *out)
{
    *out = (struct mct_trash_removal){0};
    struct removal rm = {.snap = snap, .out = out};
    int r = walk_entry(e, &rm);
    if (r == -ENOENT)
        return mct_trash_forget(e);
    if (r < 0)
        return r;
    if (unlinkat(e->trash->fd, e->name, AT_REMOVEDIR) == 0) {
        (void)fsync(e->trash->fd);
        return mct_trash_forget(e);
    }
    if (errno != ENOTEMPTY && errno != EEXIST)
        return -errno;
    r = count_files_at(e->trash->fd, e->name, &out->kept);
    if (r < 0)
        return r;
    return put_back(e, out);
}

int mct_trash_survey(const struct mct_trash_entry *e, const struct mct_tsnap *snap,
                     struct mct_trash_removal *out)
{
    *out = (struct mct_trash_removal){0};
    struct removal rm = {.snap = snap, .dry = true, .out = out};
    return walk_entry(e, &rm);
}

void mct_trash_report_kept(const struct mct_config *cfg, const struct mct_trash_entry *e,
                           const struct mct_trash_removal *out, const char *via, char ***lines)
{
    if (out->back) {
        (void)mct_strv_pushf(lines,
                             "  kept %zu files written during the deletion: not verified, back "
                             "at %s",
                             out->kept - out->stuck, e->orig_path);
        (void)mct_dlog_append_kept(cfg->deletion_log_path, &e->ref, via, e->orig_path,
                                   out->kept - out->stuck);
    }
    if (out->stuck) {
        log_warning("%zu files written into %s during its deletion could not go back (their "
                    "names are taken there): they stay in %s",
                    out->stuck, e->orig_path, e->path);
        (void)mct_strv_pushf(lines,
                             "WARNING: %zu files written during the deletion could not go back "
                             "(their names are taken in %s): they stay in %s",
                             out->stuck, e->orig_path, e->path);
    }
}
