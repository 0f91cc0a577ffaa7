/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A FUSE filesystem for the tests that folds case like the lab's SMB share:
 * a read-write passthrough of BACKING_DIR in which every path component is
 * matched without regard to ASCII case (`sa02` finds `sA02`), a name that
 * already exists in another case is that entry (mkdir gives EEXIST, create
 * opens it), and a new name keeps the case it was given. This kernel has no
 * SMB, no casefold tmpfs and no loop devices, so the tests need this to see
 * what two spellings of one participant do to a copy.
 *
 *     foldfs BACKING_DIR MOUNTPOINT [-f] [fuse options]
 *
 * Every backing access is an *at() call below an fd of BACKING_DIR, each
 * folder on the way opened O_NOFOLLOW: the kernel has already followed the
 * mount's own symlinks, so a symlink met here is one to show, never to
 * follow, and ".." never reaches us. st_ino is the backing file's (use_ino),
 * so both spellings of a folder report one (st_dev, st_ino), as on SMB.
 *
 * Not like SMB: names fold ASCII only; and GNU mv refuses `mv a A` here
 * ("are the same file") because the kernel, holding a positive dentry for
 * "A", fails its RENAME_NOREPLACE before asking us; rename(2) does it, as
 * rsync and the product do.
 */
#define FUSE_USE_VERSION 312

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static int root_fd = -1;

/* Resolving a name and then creating, renaming or removing it must be one
 * step, or `mkdir sA02` and `mkdir sa02` at once would make two folders.
 * The data path (read, write, fsync on an open file) does not take it. */
static pthread_mutex_t ns_lock = PTHREAD_MUTEX_INITIALIZER;

/* A path resolved to the folder that holds its last component: dir is an
 * O_PATH fd of that folder, name the entry's name as stored when it exists
 * (in any case), else as given; given is always as given (a case-only
 * rename needs both). The root itself is dir = root, name ".". */
struct res {
    int dir;
    bool exists;
    char name[NAME_MAX + 1];
    char given[NAME_MAX + 1];
};

/* ASCII folding only, whatever the locale: SMB's default for these ids,
 * and a multibyte rule would make the tests depend on the environment. */
static bool same_folded(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? *a + 32 : *a;
        char y = *b >= 'A' && *b <= 'Z' ? *b + 32 : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

/* The stored name in dir that matches name: the exact one when it exists,
 * else the smallest case variant (several can exist when the backing dir
 * was written directly; the choice must not depend on readdir's order).
 * 1 found, 0 not, negative errno. */
static int find_name(int dir, const char *name, char *out)
{
    struct stat st;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        strcpy(out, name);
        return 1;
    }
    if (errno != ENOENT)
        return -errno;
    int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int err = -errno;
        close(fd);
        return err;
    }
    int found = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (same_folded(de->d_name, name) && (!found || strcmp(de->d_name, out) < 0)) {
            strcpy(out, de->d_name);
            found = 1;
        }
    }
    closedir(d);
    return found;
}

/* Walks path from the root, folding case in every component. Only the last
 * component may be missing; "." and ".." are refused, as FUSE never sends
 * them and honouring ".." could leave the backing dir. */
static int resolve(const char *path, struct res *r)
{
    r->exists = true;
    strcpy(r->name, ".");
    strcpy(r->given, ".");
    r->dir = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
    if (r->dir < 0)
        return -errno;
    for (const char *p = path;;) {
        p += strspn(p, "/");
        if (!*p)
            return 0;
        size_t n = strcspn(p, "/");
        if (n > NAME_MAX)
            return -ENAMETOOLONG;
        if (!r->exists)
            return -ENOENT; /* a missing folder on the way */
        if (strcmp(r->name, ".") != 0) {
            /* Step into the previous component: a folder, never a link. */
            int next = openat(r->dir, r->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0)
                return errno == ELOOP ? -ENOTDIR : -errno;
            close(r->dir);
            r->dir = next;
        }
        memcpy(r->given, p, n);
        r->given[n] = '\0';
        p += n;
        if (!strcmp(r->given, ".") || !strcmp(r->given, ".."))
            return -EINVAL;
        int found = find_name(r->dir, r->given, r->name);
        if (found < 0)
            return found;
        r->exists = found;
        if (!found)
            strcpy(r->name, r->given);
    }
}

/* Takes the lock and resolves path (must_exist: a missing entry is
 * ENOENT). done() undoes both, whatever lookup returned. */
static int lookup(const char *path, struct res *r, bool must_exist)
{
    pthread_mutex_lock(&ns_lock);
    int err = resolve(path, r);
    return !err && must_exist && !r->exists ? -ENOENT : err;
}

static void done(struct res *r)
{
    if (r->dir >= 0)
        close(r->dir);
    r->dir = -1;
    pthread_mutex_unlock(&ns_lock);
}

static int ok(int ret)
{
    return ret < 0 ? -errno : 0;
}

/* The usual shape: resolve an existing entry, one call on it. */
#define ON_ENTRY(path, call)                                                                       \
    do {                                                                                           \
        struct res r;                                                                              \
        int err = lookup(path, &r, true);                                                          \
        if (!err)                                                                                  \
            err = ok(call);                                                                        \
        done(&r);                                                                                  \
        return err;                                                                                \
    } while (0)

/* A new entry belongs to the caller, as on a local disk (foldfs runs as
 * root; a service user must be able to reopen what it made). ret passes
 * through: ownership is best effort, like a share's. */
static int owned(int ret, const struct res *r)
{
    if (ret == 0 && geteuid() == 0) {
        struct fuse_context *c = fuse_get_context();
        (void)fchownat(r->dir, r->name, c->uid, c->gid, AT_SYMLINK_NOFOLLOW);
    }
    return ret;
}

/* A new name: EEXIST when it exists in any case, else made as given. */
#define ON_NEW(path, call)                                                                         \
    do {                                                                                           \
        struct res r;                                                                              \
        int err = lookup(path, &r, false);                                                         \
        if (!err)                                                                                  \
            err = r.exists ? -EEXIST : owned(ok(call), &r);                                        \
        done(&r);                                                                                  \
        return err;                                                                                \
    } while (0)

static int fold_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    if (fi)
        return ok(fstat((int)fi->fh, st));
    ON_ENTRY(path, fstatat(r.dir, r.name, st, AT_SYMLINK_NOFOLLOW));
}

static int fold_access(const char *path, int mask)
{
    ON_ENTRY(path, faccessat(r.dir, r.name, mask, AT_SYMLINK_NOFOLLOW));
}

static int fold_readlink(const char *path, char *buf, size_t size)
{
    struct res r;
    int err = lookup(path, &r, true);
    ssize_t n = err ? 0 : readlinkat(r.dir, r.name, buf, size - 1);
    if (n < 0)
        err = -errno;
    else
        buf[n] = '\0';
    done(&r);
    return err;
}

static int fold_mknod(const char *path, mode_t mode, dev_t rdev)
{
    ON_NEW(path, mknodat(r.dir, r.name, mode, rdev));
}

static int fold_mkdir(const char *path, mode_t mode)
{
    ON_NEW(path, mkdirat(r.dir, r.name, mode));
}

static int fold_symlink(const char *target, const char *path)
{
    ON_NEW(path, symlinkat(target, r.dir, r.name));
}

static int fold_unlink(const char *path)
{
    ON_ENTRY(path, unlinkat(r.dir, r.name, 0));
}

static int fold_rmdir(const char *path)
{
    ON_ENTRY(path, unlinkat(r.dir, r.name, AT_REMOVEDIR));
}

static bool same_dir(int a, int b)
{
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int fold_rename(const char *from, const char *to, unsigned int flags)
{
    struct res f, t = {.dir = -1};
    int err = lookup(from, &f, true);
    if (!err)
        err = resolve(to, &t);
    if (!err) {
        const char *target = t.name;
        if (!t.exists) {
            /* a new name: as given */
        } else if (same_dir(f.dir, t.dir) && !strcmp(f.name, t.name)) {
            /* `mv a A`: the target is the source in another case, so this
             * renames it, replacing nothing, as SMB does. */
            target = t.given;
            flags &= ~RENAME_NOREPLACE;
        } else if (flags & RENAME_NOREPLACE) {
            err = -EEXIST;
        }
        /* Replacing another entry keeps that entry's stored name: the
         * share resolves the target first and renames onto what it found. */
        if (!err && !(target == t.given && !strcmp(f.name, target)))
            err = ok(renameat2(f.dir, f.name, t.dir, target, flags));
    }
    if (t.dir >= 0)
        close(t.dir);
    done(&f);
    return err;
}

static int fold_link(const char *from, const char *to)
{
    struct res f, t = {.dir = -1};
    int err = lookup(from, &f, true);
    if (!err)
        err = resolve(to, &t);
    if (!err)
        err = t.exists ? -EEXIST : ok(linkat(f.dir, f.name, t.dir, t.name, 0));
    if (t.dir >= 0)
        close(t.dir);
    done(&f);
    return err;
}

static int fold_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    if (fi)
        return ok(fchmod((int)fi->fh, mode));
    ON_ENTRY(path, fchmodat(r.dir, r.name, mode, AT_SYMLINK_NOFOLLOW));
}

/* As root this passes the owner through (rsync -a sets it); as anyone
 * else the backing dir's refusal is the answer a share would give too. */
static int fold_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    if (fi)
        return ok(fchown((int)fi->fh, uid, gid));
    ON_ENTRY(path, fchownat(r.dir, r.name, uid, gid, AT_SYMLINK_NOFOLLOW));
}

static int truncate_at(int dir, const char *name, off_t size)
{
    int fd = openat(dir, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int ret = ftruncate(fd, size);
    int saved = errno;
    close(fd);
    errno = saved;
    return ret;
}

static int fold_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    if (fi)
        return ok(ftruncate((int)fi->fh, size));
    ON_ENTRY(path, truncate_at(r.dir, r.name, size));
}

static int fold_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    if (fi)
        return ok(futimens((int)fi->fh, tv));
    ON_ENTRY(path, utimensat(r.dir, r.name, tv, AT_SYMLINK_NOFOLLOW));
}

/* Opens the entry path names (in any case), creating it as given when
 * create and it is missing. The kernel follows the mount's symlinks before
 * it opens, so O_NOFOLLOW only stops a backing link from being followed. */
static int open_entry(const char *path, struct fuse_file_info *fi, bool create, mode_t mode)
{
    struct res r;
    int err = lookup(path, &r, !create);
    int flags = fi->flags | O_NOFOLLOW | O_CLOEXEC;
    if (!err && r.exists && (flags & O_CREAT) && (flags & O_EXCL))
        err = -EEXIST;
    if (!err && r.exists)
        flags &= ~(O_CREAT | O_EXCL);
    int fd = err ? -1 : openat(r.dir, r.name, flags, mode);
    if (!err && fd < 0)
        err = -errno;
    else if (!err && !r.exists)
        owned(0, &r);
    done(&r);
    fi->fh = (uint64_t)fd;
    return err;
}

static int fold_open(const char *path, struct fuse_file_info *fi)
{
    return open_entry(path, fi, false, 0);
}

static int fold_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return open_entry(path, fi, true, mode);
}

static int fold_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    ssize_t n = pread((int)fi->fh, buf, size, off);
    return n < 0 ? -errno : (int)n;
}

static int fold_write(const char *path, const char *buf, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    ssize_t n = pwrite((int)fi->fh, buf, size, off);
    return n < 0 ? -errno : (int)n;
}

static int fold_statfs(const char *path, struct statvfs *st)
{
    return ok(fstatvfs(root_fd, st));
}

static int fold_flush(const char *path, struct fuse_file_info *fi)
{
    return 0; /* the backing fd stays open until release, so nothing to flush */
}

static int fold_release(const char *path, struct fuse_file_info *fi)
{
    close((int)fi->fh);
    return 0;
}

static int fold_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    return ok(datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh));
}

/* An open folder: the stream, and the entry that did not fit in the last
 * reply (readdir is called again from its offset). */
struct dir_handle {
    DIR *dp;
    struct dirent *entry;
    off_t offset;
};

static int fold_opendir(const char *path, struct fuse_file_info *fi)
{
    struct res r;
    int err = lookup(path, &r, true);
    int fd = err ? -1 : openat(r.dir, r.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (!err && fd < 0)
        err = -errno;
    done(&r);
    if (err)
        return err;
    struct dir_handle *d = calloc(1, sizeof(*d));
    if (!d || !(d->dp = fdopendir(fd))) {
        free(d);
        close(fd);
        return -ENOMEM;
    }
    fi->fh = (uintptr_t)d;
    return 0;
}

/* Names as stored: the share preserves case, only matching folds it. */
static int fold_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                        struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
    if (off != d->offset) {
        seekdir(d->dp, off);
        d->entry = NULL;
        d->offset = off;
    }
    for (;;) {
        if (!d->entry && !(d->entry = readdir(d->dp)))
            return 0;
        struct stat st = {.st_ino = d->entry->d_ino, .st_mode = DTTOIF(d->entry->d_type)};
        off_t next = telldir(d->dp);
        if (filler(buf, d->entry->d_name, &st, next, 0))
            return 0;
        d->entry = NULL;
        d->offset = next;
    }
}

static int fold_releasedir(const char *path, struct fuse_file_info *fi)
{
    struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
    closedir(d->dp);
    free(d);
    return 0;
}

static void *fold_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    /* The backing inode numbers, so both spellings of a folder are one
     * (st_dev, st_ino) to stat and to rsync's hard-link checks. */
    cfg->use_ino = 1;
    cfg->readdir_ino = 1;
    /* No cached names or attributes: the kernel's dentry cache matches
     * case exactly, so a cached `sa02` would outlive `rmdir sA02`. */
    cfg->entry_timeout = 0;
    cfg->attr_timeout = 0;
    cfg->negative_timeout = 0;
    /* Open files are backing fds: an unlinked one needs no hiding. */
    cfg->hard_remove = 1;
    cfg->nullpath_ok = 1;
    return NULL;
}

static const struct fuse_operations ops = {
        .init = fold_init,
        .getattr = fold_getattr,
        .access = fold_access,
        .readlink = fold_readlink,
        .mknod = fold_mknod,
        .mkdir = fold_mkdir,
        .symlink = fold_symlink,
        .unlink = fold_unlink,
        .rmdir = fold_rmdir,
        .rename = fold_rename,
        .link = fold_link,
        .chmod = fold_chmod,
        .chown = fold_chown,
        .truncate = fold_truncate,
        .utimens = fold_utimens,
        .open = fold_open,
        .create = fold_create,
        .read = fold_read,
        .write = fold_write,
        .statfs = fold_statfs,
        .flush = fold_flush,
        .release = fold_release,
        .fsync = fold_fsync,
        .opendir = fold_opendir,
        .readdir = fold_readdir,
        .releasedir = fold_releasedir,
};

int main(int argc, char *argv[])
{
    if (argc < 3 || argv[1][0] == '-') {
        fprintf(stderr, "usage: foldfs BACKING_DIR MOUNTPOINT [-f] [fuse options]\n");
        return 2;
    }
    root_fd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        fprintf(stderr, "foldfs: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    /* The kernel has applied the caller's umask already. */
    umask(0);
    argv[1] = argv[0];
    return fuse_main(argc - 1, argv + 1, &ops, NULL);
}
