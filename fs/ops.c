/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE operations: thin entry points that resolve the path to a node
 * and dispatch on its kind. Real files are served from an O_PATH fd of the
 * source base, every path resolved below it at the moment of use without
 * following a symlink anywhere (beneath.h): a folder the rig user swaps for
 * a symlink after the kernel cached it gives ELOOP, never what it points
 * to. Symlinks are shown, never followed; every change is -EROFS. Opens
 * check the caller against the disk as it is now (access.c) and count
 * against the caller's descriptor cap (fdcap.c). Virtual files come from
 * vfile.c and control.c. No policy lives here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "access.h"
#include "beneath.h"
#include "caller.h"
#include "control.h"
#include "fdcap.h"
#include "log.h"
#include "mctfs.h"
#include "node.h"
#include "opencache.h"
#include "vfile.h"
#include "xattr.h"

/* What fi->fh points to. */
struct handle {
    enum node_kind kind;
    int fd;       /* real files */
    bool counted; /* the fd counts against uid's cap */
    uid_t uid;
    struct vfile_content content; /* virtual files: rendered once at open */
    struct mct_session_ref ref;   /* .control */
    struct handle *prev, *next;   /* in open_handles */
};

/* Every open file. A file still open when the mount goes away (SIGTERM
 * while a reader is in it) is never released by libfuse: op_destroy frees
 * what is left, so nothing leaks and no fd outlives the mount. */
static pthread_mutex_t open_handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct handle *open_handles;

static struct handle *handle_new(enum node_kind kind)
{
    struct handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->kind = kind;
    h->fd = -1;
    pthread_mutex_lock(&open_handles_lock);
    h->next = open_handles;
    if (open_handles)
        open_handles->prev = h;
    open_handles = h;
    pthread_mutex_unlock(&open_handles_lock);
    return h;
}

static struct handle *handle_of(const struct fuse_file_info *fi)
{
    return (struct handle *)(uintptr_t)fi->fh;
}

static void handle_free(struct handle *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&open_handles_lock);
    if (h->prev)
        h->prev->next = h->next;
    else
        open_handles = h->next;
    if (h->next)
        h->next->prev = h->prev;
    pthread_mutex_unlock(&open_handles_lock);
    if (h->fd >= 0)
        close(h->fd);
    if (h->counted)
        fdcap_put(mctfs_get()->fdcap, h->uid);
    vfile_content_release(&h->content);
    free(h);
}

/* After the loop ended: no operation runs any more. */
static void op_destroy(void *private_data)
{
    while (open_handles)
        handle_free(open_handles);
}

static void fill_virtual_stat(struct mctfs *fs, enum node_kind kind, size_t len,
                              const struct timespec *mtime, struct stat *st)
{
    *st = (struct stat){};
    /* .control is open to write for everyone as far as modes go: who may
     * write is decided at open (the owner, mount.allow_uids/gids), which
     * modes cannot express. */
    st->st_mode = S_IFREG | (kind == NODE_CONTROL ? 0666 : 0444);
    st->st_nlink = 1;
    st->st_uid = fs->owner_uid;
    st->st_gid = fs->owner_gid;
    st->st_size = (off_t)len;
    st->st_blksize = 4096;
    st->st_blocks = (blkcnt_t)((len + 511) / 512);
    st->st_mtim = st->st_ctim = st->st_atim = *mtime;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct mctfs *fs = mctfs_get();
    struct handle *h = fi ? handle_of(fi) : NULL;

    struct node n;
    int r;

    if (h) {
        if (h->kind == NODE_REAL)
            return fstat(h->fd, st) < 0 ? -errno : 0;
        if (h->kind != NODE_CONTROL || h->content.data) {
            /* The size of what this open reads. */
            fill_virtual_stat(fs, h->kind, h->content.len, &h->content.mtime, st);
            return 0;
        }
        /* .control open for writing: its text now. */
        n = (struct node){.kind = NODE_CONTROL, .ref = h->ref, .session = true};
    } else {
        /* With nullpath_ok, libfuse passes no path only with a handle. */
        if (!path)
            return -ESTALE;
        r = node_resolve(fs, path, &n);
        if (r < 0)
            return r;
    }
    if (n.kind == NODE_HIDDEN)
        return -ENOENT;
    if (n.kind == NODE_REAL)
        return mct_stat_beneath(fs->base_fd, n.rel, st, 0);

    struct vfile_content c;
    r = vfile_render(fs, &n, false, &c);
    if (r < 0)
        return r;
    fill_virtual_stat(fs, n.kind, c.len, &c.mtime, st);
    vfile_content_release(&c);
    return 0;
}

static int op_access(const char *path, int mask)
{
    struct mctfs *fs = mctfs_get();
    struct node n;
    int r = node_resolve(fs, path, &n);
    if (r < 0)
        return r;
    switch (n.kind) {
    case NODE_HIDDEN:
        return -ENOENT;
    case NODE_REAL: {
        /* Only without default_permissions does the kernel ask: the
         * caller's rights, not ours. */
        if (mask & W_OK)
            return -EROFS;
        struct caller who;
        int fd = access_open_beneath(fs->base_fd, n.rel, O_PATH, caller_cred(&who), mask, NULL);
        if (fd < 0)
            return fd;
        close(fd);
        return 0;
    }
    case NODE_CONTROL:
        /* A question, not an attempt: nothing to log. */
        return (mask & W_OK) ? control_check_access(fs, NULL) : 0;
    default:
        return (mask & (W_OK | X_OK)) ? -EACCES : 0;
    }
}

static int op_readlink(const char *path, char *buf, size_t size)
{
    struct mctfs *fs = mctfs_get();
    struct node n;
    int r = node_resolve_real(fs, path, &n, -EINVAL);
    if (r < 0)
        return r;
    if (size == 0)
        return -EINVAL;
    /* O_PATH|O_NOFOLLOW opens the link itself; nothing on the way to it
     * may be one. */
    _cleanup_close_ int fd = mct_openat_beneath(fs->base_fd, n.rel, O_PATH | O_NOFOLLOW, 0, 0);
    if (fd < 0)
        return fd;
    ssize_t k = readlinkat(fd, "", buf, size - 1);
    if (k < 0)
        return errno == ENOENT ? -EINVAL : -errno; /* not a link */
    buf[k] = '\0';
    return 0;
}

/* What fi->fh of a directory points to. */
struct dirhandle {
    int fd;
    const char *const *vfiles; /* the virtual files it shows, or NULL */
    bool root;
};

static int op_opendir(const char *path, struct fuse_file_info *fi)
{
    struct mctfs *fs = mctfs_get();
    struct node n;
    int r = node_resolve_real(fs, path, &n, -ENOTDIR);
    if (r < 0)
        return r;

    struct dirhandle *dh = calloc(1, sizeof(*dh));
    if (!dh)
        return -ENOMEM;
    /* The caller's right to read it (and reach it) as the disk says now. */
    struct caller who;
    dh->fd = access_open_beneath(fs->base_fd, n.rel, O_RDONLY | O_DIRECTORY, caller_cred(&who),
                                 R_OK, NULL);
    if (dh->fd < 0) {
        r = dh->fd;
        free(dh);
        return r;
    }
    dh->root = streq(n.rel, ".");
    dh->vfiles = dh->root ? node_root_vfiles : n.session ? node_session_vfiles : NULL;
    fi->fh = (uint64_t)(uintptr_t)dh;
    return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    const struct dirhandle *dh = (const struct dirhandle *)(uintptr_t)fi->fh;

    /* A fresh descriptor per listing: libfuse asks once per opendir (it
     * keeps the whole listing), and a rewound shared one would race. */
    int fd = openat(dh->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int r = -errno;
        close(fd);
        return r;
    }

    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        if (dh->root && streq(de->d_name, MCTFS_TRASH_NAME))
            continue;
        /* A real file under a virtual file's name is shadowed by it. */
        if (dh->vfiles && node_name_in(dh->vfiles, de->d_name))
            continue;
        struct stat st = {.st_ino = de->d_ino, .st_mode = DTTOIF(de->d_type)};
        if (filler(buf, de->d_name, &st, 0, 0))
            break;
    }
    int r = errno ? -errno : 0;
    closedir(d);
    if (r < 0)
        return r;

    for (size_t i = 0; dh->vfiles && dh->vfiles[i]; i++) {
        struct stat st = {.st_mode = S_IFREG};
        if (filler(buf, dh->vfiles[i], &st, 0, 0))
            break;
    }
    return 0;
}

static int op_releasedir(const char *path, struct fuse_file_info *fi)
{
    struct dirhandle *dh = (struct dirhandle *)(uintptr_t)fi->fh;
    if (dh) {
        close(dh->fd);
        free(dh);
    }
    return 0;
}

static int open_real(struct mctfs *fs, const struct node *n, struct fuse_file_info *fi,
                     struct handle *h)
{
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
        return -EROFS;

    /* Counted before it exists, so the daemon's reserve is never touched;
     * root and the owner are limited by the total only. */
    struct caller who;
    struct access_cred *c = caller_cred(&who);
    int r = fdcap_take(fs->fdcap, c->uid, c->uid == 0 || c->uid == fs->owner_uid);
    if (r < 0)
        return r;
    h->counted = true;
    h->uid = c->uid;

    /* O_NONBLOCK: a FIFO in the source must not hold a FUSE thread. The
     * caller's rights are checked on what was opened: a chmod or setfacl
     * bites at the next open, whatever the kernel still caches. */
    struct stat st;
    h->fd = access_open_beneath(fs->base_fd, n->rel, O_RDONLY | O_NONBLOCK, c, R_OK, &st);
    if (h->fd < 0)
        return h->fd;
    if (!S_ISREG(st.st_mode))
        return -EACCES;
    /* The kernel may hold a size from up to attr_seconds ago, and a cached
     * read ends there: the tail of a recording still being written would
     * be cut off. A file changed within that window (ctime, which touch
     * cannot set back) is read direct, so every read asks us and sees the
     * file as it is now. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec - st.st_ctim.tv_sec <= (time_t)fs->cfg->mount.attr_seconds + 1) {
        fi->direct_io = 1;
        fi->keep_cache = 0;
        return 0;
    }
    fi->keep_cache = opencache_unchanged(fs->opencache, n->rel, &st);
    return 0;
}

static int open_virtual(struct mctfs *fs, const struct node *n, struct fuse_file_info *fi,
                        struct handle *h)
{
    bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;

    if (n->kind != NODE_CONTROL && (writing || (fi->flags & O_TRUNC)))
        return -EACCES;
    if (writing) {
        int r = control_check_access(fs, &n->ref);
        if (r < 0)
            return r;
    }
    h->ref = n->ref;

    /* Direct I/O: every read comes here, so no stale page of an older status
     * is ever shown, and reads are not cut at a size the kernel cached before
     * the status changed. The content is fixed for this open, so partial
     * reads of it are consistent. */
    fi->direct_io = 1;
    fi->keep_cache = 0;

    if (n->kind == NODE_CONTROL && writing)
        return 0;
    return vfile_render(fs, n, true, &h->content);
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
    struct mctfs *fs = mctfs_get();
    struct node n;
    int r = node_resolve(fs, path, &n);
    if (r < 0)
        return r;
    if (n.kind == NODE_HIDDEN)
        return -ENOENT;

    struct handle *h = handle_new(n.kind);
    if (!h)
        return -ENOMEM;

    r = n.kind == NODE_REAL ? open_real(fs, &n, fi, h) : open_virtual(fs, &n, fi, h);
    if (r < 0) {
        handle_free(h);
        return r;
    }
    fi->fh = (uint64_t)(uintptr_t)h;
    return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct handle *h = handle_of(fi);

    if (h->kind == NODE_REAL) {
        /* Plain pread into the reply buffer was the fastest path measured. */
        size_t done = 0;
        while (done < size) {
            ssize_t k = pread(h->fd, buf + done, size - done, off + (off_t)done);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return done ? (int)done : -errno;
            if (k == 0)
                break;
            done += (size_t)k;
        }
        return (int)done;
    }

    const struct vfile_content *c = &h->content;
    if (off < 0 || (size_t)off >= c->len)
        return 0;
    size_t n = c->len - (size_t)off;
    if (n > size)
        n = size;
    memcpy(buf, c->data + off, n);
    return (int)n;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct handle *h = handle_of(fi);

    if (h->kind == NODE_REAL)
        return -EROFS;
    if (h->kind != NODE_CONTROL)
        return -EACCES;
    return control_write(mctfs_get(), &h->ref, buf, size, off);
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    handle_free(handle_of(fi));
    return 0;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    struct mctfs *fs = mctfs_get();
    struct handle *h = fi ? handle_of(fi) : NULL;
    enum node_kind kind;

    if (h) {
        kind = h->kind;
    } else {
        struct node n;
        int r = node_resolve(fs, path, &n);
        if (r < 0)
            return r;
        kind = n.kind;
        if (kind == NODE_CONTROL && (r = control_check_access(fs, &n.ref)) < 0)
            return r;
    }
    if (kind == NODE_HIDDEN)
        return -ENOENT;
    if (kind == NODE_REAL)
        return -EROFS;
    if (kind != NODE_CONTROL)
        return -EACCES;
    /* `echo CMD > .control` truncates first (when the kernel does not pass
     * O_TRUNC to open): there is nothing to cut. */
    return size == 0 ? 0 : -EINVAL;
}

static int op_statfs(const char *path, struct statvfs *st)
{
    return fstatvfs(mctfs_get()->base_fd, st) < 0 ? -errno : 0;
}

/* Nothing in the view is created, removed, renamed or changed. */
static int op_mknod(const char *path, mode_t mode, dev_t dev)
{
    return -EROFS;
}

static int op_mkdir(const char *path, mode_t mode)
{
    return -EROFS;
}

static int op_unlink(const char *path)
{
    return -EROFS;
}

static int op_rmdir(const char *path)
{
    return -EROFS;
}

static int op_symlink(const char *target, const char *path)
{
    return -EROFS;
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
    return -EROFS;
}

static int op_link(const char *from, const char *to)
{
    return -EROFS;
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return -EROFS;
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    return -EROFS;
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    return -EROFS;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return -EROFS;
}

static int op_setxattr(const char *path, const char *name, const char *value, size_t size,
                       int flags)
{
    return -EROFS;
}

static int op_removexattr(const char *path, const char *name)
{
    return -EROFS;
}

static int op_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
    return -EROFS;
}

const struct fuse_operations mctfs_ops = {
        .destroy = op_destroy,
        .getattr = op_getattr,
        .access = op_access,
        .readlink = op_readlink,
        .opendir = op_opendir,
        .readdir = op_readdir,
        .releasedir = op_releasedir,
        .open = op_open,
        .read = op_read,
        .write = op_write,
        .release = op_release,
        .truncate = op_truncate,
        .statfs = op_statfs,
        .mknod = op_mknod,
        .mkdir = op_mkdir,
        .unlink = op_unlink,
        .rmdir = op_rmdir,
        .symlink = op_symlink,
        .rename = op_rename,
        .link = op_link,
        .chmod = op_chmod,
        .chown = op_chown,
        .utimens = op_utimens,
        .create = op_create,
        .setxattr = op_setxattr,
        .getxattr = mctfs_getxattr,
        .listxattr = mctfs_listxattr,
        .removexattr = op_removexattr,
        .fallocate = op_fallocate,
};
