/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trash of the deletion protocol: moving a session out of the view
 * atomically, the journal that lets the next run finish or undo what a
 * crash interrupted, and removing a tree without following symlinks.
 */
#include "trash.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "deletion_log.h"
#include "log.h"
#include "operations.h"
#include "report.h"
#include "trash_journal.h"

#define TRASH_NAME ".mctfs-trash"

void mct_test_crash_point(const char *point)
{
    const char *want = getenv("MCT_TEST_CRASH_AT");
    if (want && streq(want, point))
        _exit(99);
    want = getenv("MCT_TEST_STOP_AT");
    if (want && streq(want, point))
        raise(SIGSTOP);
}

void mct_trash_entry_done(struct mct_trash_entry *e)
{
    if (e->trash_fd >= 0)
        close(e->trash_fd);
    e->trash_fd = -1;
    free(e->trash_dir);
    free(e->name);
    free(e->path);
    free(e->orig_path);
    e->trash_dir = e->name = e->path = e->orig_path = NULL;
}

int mct_trash_open(const struct mct_config *cfg, int *fd_out, char **path_out)
{
    _cleanup_free_ char *path = mct_path_join(cfg->source_base_path, TRASH_NAME);
    if (!path)
        return -ENOMEM;
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return -errno;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    *fd_out = fd;
    if (path_out)
        *path_out = TAKE_PTR(path);
    return 0;
}

/* rename without ever replacing: a directory renamed onto an empty one
 * would silently take its place. */
static int rename_noreplace(int ofd, const char *old, int nfd, const char *new)
{
    if (renameat2(ofd, old, nfd, new, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    struct stat st;
    if (fstatat(nfd, new, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return -EEXIST;
    if (errno != ENOENT)
        return -errno;
    return renameat(ofd, old, nfd, new) < 0 ? -errno : 0;
}

static int fsync_path(const char *path)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return fsync(fd) < 0 ? -errno : 0;
}

static int fsync_parent(const char *path)
{
    _cleanup_free_ char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    return fsync_path(dirname(copy));
}

int mct_trash_journal_set(const struct mct_trash_entry *e, const char *state, const char *record)
{
    struct mct_journal j = {
            .ref = e->ref,
            .path = e->orig_path,
            .state = (char *)state,
            .record = (char *)record,
    };
    return mct_journal_write(e->trash_fd, e->name, &j);
}

int mct_trash_move_in(const struct mct_config *cfg, const struct mct_session_ref *ref,
                      const char *source_path, struct mct_trash_entry *ret)
{
    _cleanup_trash_entry_ struct mct_trash_entry e = {.trash_fd = -1, .ref = *ref};
    int r = mct_trash_open(cfg, &e.trash_fd, &e.trash_dir);
    if (r < 0)
        return r;
    e.name = mct_strdup_printf("%s__%s__%lld__%d", ref->participant_id, ref->session_date,
                               (long long)time(NULL), (int)getpid());
    e.orig_path = strdup(source_path);
    if (!e.name || !e.orig_path)
        return -ENOMEM;
    e.path = mct_path_join(e.trash_dir, e.name);
    if (!e.path)
        return -ENOMEM;

    /* The journal goes first: a crash right after the rename must find it. */
    r = mct_trash_journal_set(&e, "moved", NULL);
    if (r < 0)
        return r;
    r = rename_noreplace(AT_FDCWD, source_path, e.trash_fd, e.name);
    if (r < 0) {
        mct_journal_remove(e.trash_fd, e.name);
        return r;
    }
    (void)fsync(e.trash_fd);
    (void)fsync_parent(source_path);
    *ret = e;
    e = (struct mct_trash_entry){.trash_fd = -1};
    return 0;
}

int mct_trash_move_back(const struct mct_trash_entry *e)
{
    _cleanup_free_ char *parent = strdup(e->orig_path);
    if (!parent)
        return -ENOMEM;
    /* Another deletion may have removed the emptied participant folder. */
    int r = mct_mkdir_p(dirname(parent), 0755);
    if (r < 0)
        return r;
    r = rename_noreplace(e->trash_fd, e->name, AT_FDCWD, e->orig_path);
    if (r < 0)
        return r;
    (void)fsync_parent(e->orig_path);
    return mct_journal_remove(e->trash_fd, e->name);
}

/* Remove everything under dfd. Entries on another filesystem (something
 * mounted inside the session) are left alone and reported as -EXDEV. */
static int rm_children(int dfd, dev_t dev)
{
    int fd2 = dup(dfd);
    if (fd2 < 0)
        return -errno;
    DIR *d = fdopendir(fd2);
    if (!d) {
        close(fd2);
        return -errno;
    }
    int ret = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT && ret == 0)
                ret = -errno;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (st.st_dev != dev) {
                ret = ret ? ret : -EXDEV;
                continue;
            }
            int cfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cfd < 0) {
                ret = ret ? ret : -errno;
                continue;
            }
            int r = rm_children(cfd, dev);
            close(cfd);
            if (r < 0 && ret == 0)
                ret = r;
            if (unlinkat(dfd, de->d_name, AT_REMOVEDIR) < 0 && ret == 0)
                ret = -errno;
            continue;
        }
        if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT && ret == 0)
            ret = -errno;
        mct_test_crash_point("mid-remove");
    }
    closedir(d);
    return ret;
}

int mct_trash_remove(const struct mct_trash_entry *e)
{
    _cleanup_close_ int fd =
            openat(e->trash_fd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT)
        return -errno;
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) < 0)
            return -errno;
        int r = rm_children(fd, st.st_dev);
        if (r < 0)
            return r;
        if (unlinkat(e->trash_fd, e->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
            return -errno;
    }
    return mct_journal_remove(e->trash_fd, e->name);
}

static bool same_dir(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int mct_trash_rmdir_parent(const struct mct_config *cfg, const char *path)
{
    _cleanup_free_ char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    const char *parent = dirname(copy);
    if (same_dir(parent, cfg->source_base_path))
        return 0;
    if (rmdir(parent) == 0)
        return 1;
    return errno == ENOTEMPTY || errno == EEXIST || errno == ENOENT ? 0 : -errno;
}

/* --- finishing or undoing interrupted deletions --- */

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

/* Lock a folder the way the session lock does (flock on the folder,
 * which travels with it through the rename into the trash). -EBUSY: a
 * deletion is working on it right now. */
static int lock_dir_at(int dfd, const char *name, int *fd_out)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int r = errno == EWOULDBLOCK ? -EBUSY : -errno;
        close(fd);
        return r;
    }
    *fd_out = fd;
    return 0;
}

/* Moved but never compared with its snapshot: put it back. */
static int recover_moved(const struct mct_trash_entry *e, struct mct_op_result *res)
{
    const char *p = e->ref.participant_id, *d = e->ref.session_date;
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

/* Append the record the deleter prepared (or, failing that, one made
 * from the entry) marked as finished by recovery. */
static int recover_log(const struct mct_config *cfg, const struct mct_trash_entry *e,
                       const char *record)
{
    char when[32];
    mct_dlog_iso_time(time(NULL), when, sizeof(when));
    _cleanup_buf_ struct mct_buf b = {0};
    int r;
    if (record) {
        r = mct_buf_append(&b, record, strlen(record) - 1); /* reopen the object */
    } else {
        struct mct_scan scan = {0};
        (void)mct_scan_tree(e->path, NULL, &scan);
        struct mct_dlog_info info = {.ref = &e->ref,
                                     .via = "recovery",
                                     .path = e->orig_path,
                                     .files = scan.n_files,
                                     .bytes = scan.bytes,
                                     .result = "deleted"};
        r = mct_dlog_format(&info, &b);
        mct_scan_free(&scan);
        if (r >= 0)
            b.data[--b.len] = '\0';
    }
    if (r >= 0)
        r = mct_buf_printf(&b, ",\"finished_by\":\"recovery\",\"finished_at\":\"%s\"}", when);
    return r < 0 ? r : mct_dlog_append(cfg->deletion_log_path, b.data);
}

/* Verified (and maybe logged): the deletion was decided; finish it. */
static int recover_finish(const struct mct_config *cfg, const struct mct_trash_entry *e,
                          const struct mct_journal *j, struct mct_op_result *res)
{
    const char *p = e->ref.participant_id, *d = e->ref.session_date;
    int r;
    if (streq(j->state, "verified")) {
        r = recover_log(cfg, e, j->record);
        if (r < 0)
            return report(res, r,
                          "interrupted deletion of %s/%s not finished: cannot write deletion "
                          "log %s: %s; the session stays in %s",
                          p, d, cfg->deletion_log_path, strerror(-r), e->path);
        r = mct_trash_journal_set(e, "logged", j->record);
        if (r < 0)
            return report(res, r, "cannot update trash journal %s.json: %s", e->path, strerror(-r));
    }
    r = mct_trash_remove(e);
    if (r < 0)
        return report(res, r, "could not finish deleting %s/%s in %s: %s", p, d, e->path,
                      strerror(-r));
    (void)mct_trash_rmdir_parent(cfg, e->orig_path);
    return report(res, 0, "finished deleting %s/%s (an interrupted deletion of %s)", p, d,
                  e->orig_path);
}

/* The journal exists but its entry does not: the rename never happened
 * (the session is in place) or the removal completed before the crash. */
static int recover_without_entry(const struct mct_config *cfg, const struct mct_trash_entry *e,
                                 const struct mct_journal *j, struct mct_op_result *res)
{
    /* "verified" without its folder: moved back after a failure, or
     * removed after it was logged; nothing left to log either way. */
    if (streq(j->state, "verified"))
        return mct_journal_remove(e->trash_fd, e->name);
    if (streq(j->state, "logged"))
        return recover_finish(cfg, e, j, res);

    _cleanup_close_ int fd = -1;
    int r = lock_dir_at(AT_FDCWD, e->orig_path, &fd);
    if (r == -EBUSY)
        return 0; /* its deleter is between the journal and the rename */
    struct stat st;
    if (fstatat(e->trash_fd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return 0; /* moved meanwhile: the next run sees it */
    if (r < 0)
        return report(res, -ENOENT,
                      "trash journal %s.json names %s/%s, but neither %s nor the trash entry "
                      "exists; journal kept",
                      e->path, j->ref.participant_id, j->ref.session_date, e->orig_path);
    return mct_journal_remove(e->trash_fd, e->name);
}

static int recover_one(const struct mct_config *cfg, int trash_fd, const char *trash_dir,
                       const char *name, struct mct_op_result *res)
{
    _cleanup_free_ char *path = mct_path_join(trash_dir, name);
    if (!path)
        return -ENOMEM;
    _cleanup_journal_ struct mct_journal j = {0};
    int r = mct_journal_read(trash_fd, name, &j);
    if (r < 0)
        return report(res, r, "unreadable trash journal %s.json (%s); entry left alone", path,
                      strerror(-r));
    struct mct_trash_entry e = {
            .trash_fd = trash_fd,
            .trash_dir = (char *)trash_dir,
            .name = (char *)name,
            .path = path,
            .orig_path = j.path,
            .ref = j.ref,
    };

    _cleanup_close_ int fd = -1;
    r = lock_dir_at(trash_fd, name, &fd);
    if (r == -EBUSY)
        return report(res, 0, "deletion of %s/%s in progress in another process",
                      j.ref.participant_id, j.ref.session_date);
    if (r == -ENOENT)
        return recover_without_entry(cfg, &e, &j, res);
    if (r < 0)
        return report(res, r, "cannot open trash entry %s: %s", path, strerror(-r));
    if (streq(j.state, "moved"))
        return recover_moved(&e, res);
    return recover_finish(cfg, &e, &j, res);
}

/* Journals by entry name, and entry folders that have none. */
static int list_trash(int trash_fd, char ***journals, char ***orphans)
{
    int fd2 = dup(trash_fd);
    if (fd2 < 0)
        return -errno;
    DIR *d = fdopendir(fd2);
    if (!d) {
        close(fd2);
        return -errno;
    }
    int r = 0;
    struct dirent *de;
    while (r >= 0 && (de = readdir(d))) {
        struct stat st;
        if (de->d_name[0] == '.' || fstatat(trash_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISREG(st.st_mode) && endswith(de->d_name, ".json"))
            r = mct_strv_push(journals, strndup(de->d_name, strlen(de->d_name) - strlen(".json")));
        else if (S_ISDIR(st.st_mode))
            r = mct_strv_push(orphans, strdup(de->d_name));
    }
    closedir(d);
    return r;
}

/* A folder without a journal. Checked after the journals were handled,
 * and again under its lock, so a deletion finishing meanwhile is not
 * mistaken for one. */
static int is_orphan(int trash_fd, const char *name)
{
    _cleanup_free_ char *jn = mct_strdup_printf("%s.json", name);
    if (!jn)
        return -ENOMEM;
    _cleanup_close_ int fd = -1;
    if (lock_dir_at(trash_fd, name, &fd) < 0)
        return 0;
    struct stat st;
    return fstatat(trash_fd, jn, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

int mct_trash_recover(const struct mct_config *cfg, struct mct_op_result *res)
{
    _cleanup_free_ char *dir = mct_path_join(cfg->source_base_path, TRASH_NAME);
    if (!dir)
        return -ENOMEM;
    _cleanup_close_ int tfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (tfd < 0)
        return errno == ENOENT ? 0 : -errno;

    _cleanup_strv_ char **journals = NULL;
    _cleanup_strv_ char **folders = NULL;
    int ret = list_trash(tfd, &journals, &folders);
    for (size_t i = 0; journals && journals[i]; i++) {
        int r = recover_one(cfg, tfd, dir, journals[i], res);
        if (r < 0 && ret == 0)
            ret = r;
    }
    for (size_t i = 0; folders && folders[i]; i++) {
        if (is_orphan(tfd, folders[i]) <= 0)
            continue;
        int r = report(res, -EUCLEAN,
                       "trash entry %s/%s has no journal: left in place; restore or remove it "
                       "by hand",
                       dir, folders[i]);
        if (ret == 0)
            ret = r;
    }
    return ret;
}
