/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel side of the mount: libfuse's low-level API in front of the
 * path-based operations of ops.c. The high-level library, which did this
 * before, cannot let the kernel cache folder listings (libfuse 3.14), so a
 * tree walk paid four round trips per folder; measured on a 1,000-session
 * tree, `find` through it was 6-9x native and through this 1.0-1.2x. Here
 * OPENDIR is declined once (FUSE_CAP_NO_OPENDIR_SUPPORT): the kernel then
 * opens folders itself and keeps their listings until a folder's mtime
 * changes or mctfs says otherwise.
 *
 * Inodes are keyed by path, as in libfuse's own table; an inode number is
 * the address of its entry. The kernel holds a lookup count on each and
 * sends FORGET when it lets go; only then is the entry freed, so a number
 * the kernel may still use always points at a live entry.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "listing.h"
#include "log.h"
#include "mctfs.h"
#include "util.h"

struct mctfs *mctfs_instance;

struct inode {
    char *path; /* "/p001/20250104"; "/" for the root */
    uint64_t nlookup;
    struct inode *next; /* in its bucket */
};

#define N_BUCKETS 4096

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct inode *buckets[N_BUCKETS];
static struct inode root_inode = {.path = (char *)"/"};

/* Set at the start of every callback: who is asking (control.c's access
 * rule), valid until the reply. */
static __thread fuse_req_t current_req;
static bool kernel_skips_opendir;

const struct fuse_ctx *mctfs_caller(void)
{
    return fuse_req_ctx(current_req);
}

int mctfs_caller_groups(int size, gid_t list[])
{
    return fuse_req_getgroups(current_req, size, list);
}

static unsigned path_hash(const char *path)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = path; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % N_BUCKETS;
}

static fuse_ino_t ino_of(const struct inode *in)
{
    return in == &root_inode ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)in;
}

static struct inode *inode_of(fuse_ino_t ino)
{
    return ino == FUSE_ROOT_ID ? &root_inode : (struct inode *)(uintptr_t)ino;
}

/* Called with table_lock held. */
static struct inode *table_find(const char *path)
{
    if (streq(path, "/"))
        return &root_inode;
    for (struct inode *in = buckets[path_hash(path)]; in; in = in->next)
        if (streq(in->path, path))
            return in;
    return NULL;
}

/* The inode of path with one more lookup counted; NULL only on ENOMEM. */
static struct inode *inode_ref(const char *path)
{
    pthread_mutex_lock(&table_lock);
    struct inode *in = table_find(path);
    if (!in) {
        in = calloc(1, sizeof(*in));
        if (in && !(in->path = strdup(path))) {
            free(in);
            in = NULL;
        }
        if (in) {
            unsigned h = path_hash(path);
            in->next = buckets[h];
            buckets[h] = in;
        }
    }
    if (in)
        in->nlookup++;
    pthread_mutex_unlock(&table_lock);
    return in;
}

static void inode_forget(fuse_ino_t ino, uint64_t n)
{
    struct inode *in = inode_of(ino);
    if (in == &root_inode)
        return;
    pthread_mutex_lock(&table_lock);
    in->nlookup = n < in->nlookup ? in->nlookup - n : 0;
    if (in->nlookup == 0) {
        struct inode **p = &buckets[path_hash(in->path)];
        while (*p && *p != in)
            p = &(*p)->next;
        if (*p)
            *p = in->next;
        free(in->path);
        free(in);
    }
    pthread_mutex_unlock(&table_lock);
}

/* The number the kernel knows path by, 0 when it never looked it up. */
static fuse_ino_t inode_find(const char *path)
{
    pthread_mutex_lock(&table_lock);
    struct inode *in = table_find(path);
    fuse_ino_t ino = in ? ino_of(in) : 0;
    pthread_mutex_unlock(&table_lock);
    return ino;
}

static char *child_path(fuse_ino_t parent, const char *name)
{
    const char *dir = inode_of(parent)->path;
    return mct_strdup_printf("%s/%s", streq(dir, "/") ? "" : dir, name);
}

static const char *path_of(fuse_ino_t ino)
{
    return inode_of(ino)->path;
}

/* Names and attributes are cached by the kernel for mount.attr_seconds
 * (default 10), folders' listings as well: without, every stat is a round trip (24x native) and a
 * tree walk pays one per entry. What it costs: a size or time seen through
 * the mount may lag the disk by that long (open_real reads files changed
 * within it direct, so no byte is ever cut off), and no status reads the
 * mount. Virtual files stay right: their reads are direct, and a new
 * status or a command's progress makes the kernel forget their
 * attributes (node_forget_session). Listings are dropped when a folder's
 * mtime changes and when mctfs deletes a session. */
static double cache_seconds(void)
{
    return mctfs_get()->cfg->mount.attr_seconds;
}

static void begin(fuse_req_t req)
{
    current_req = req;
}

/* ---- names and attributes ---- */

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    begin(req);
    _cleanup_free_ char *path = child_path(parent, name);
    if (!path) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    struct fuse_entry_param e = {};
    int r = mctfs_ops.getattr(path, &e.attr, NULL);
    if (r < 0) {
        /* No negative entry: a new session must be seen at once. */
        fuse_reply_err(req, -r);
        return;
    }
    struct inode *in = inode_ref(path);
    if (!in) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    e.ino = ino_of(in);
    e.attr.st_ino = e.ino;
    e.attr_timeout = e.entry_timeout = cache_seconds();
    /* -ENOENT: the lookup was interrupted, the kernel holds no count. */
    if (fuse_reply_entry(req, &e) == -ENOENT)
        inode_forget(e.ino, 1);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    inode_forget(ino, nlookup);
    fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    for (size_t i = 0; i < count; i++)
        inode_forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

static void reply_attr_of(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct stat st;
    int r = mctfs_ops.getattr(path_of(ino), &st, fi);
    if (r < 0) {
        fuse_reply_err(req, -r);
        return;
    }
    st.st_ino = ino;
    fuse_reply_attr(req, &st, cache_seconds());
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    begin(req);
    /* A folder is never opened through us (fh 0): only files have handles. */
    reply_attr_of(req, ino, fi && fi->fh ? fi : NULL);
}

/* In the order libfuse's high-level API applied them; the first refusal
 * answers (in practice everything but truncating .control is refused). */
static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
    begin(req);
    const char *path = path_of(ino);
    fi = fi && fi->fh ? fi : NULL;
    int r = 0;
    if (to_set & FUSE_SET_ATTR_MODE)
        r = mctfs_ops.chmod(path, attr->st_mode, fi);
    if (r == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
        r = mctfs_ops.chown(path, attr->st_uid, attr->st_gid, fi);
    if (r == 0 && (to_set & FUSE_SET_ATTR_SIZE))
        r = mctfs_ops.truncate(path, attr->st_size, fi);
    if (r == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
                             FUSE_SET_ATTR_MTIME_NOW)))
        r = mctfs_ops.utimens(path, NULL, fi);
    if (r < 0) {
        fuse_reply_err(req, -r);
        return;
    }
    reply_attr_of(req, ino, fi);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
    begin(req);
    char buf[PATH_MAX + 1];
    int r = mctfs_ops.readlink(path_of(ino), buf, sizeof(buf));
    if (r < 0)
        fuse_reply_err(req, -r);
    else
        fuse_reply_readlink(req, buf);
}

static void ll_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    begin(req);
    fuse_reply_err(req, -mctfs_ops.access(path_of(ino), mask));
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
    begin(req);
    struct statvfs st;
    int r = mctfs_ops.statfs(path_of(ino), &st);
    if (r < 0)
        fuse_reply_err(req, -r);
    else
        fuse_reply_statfs(req, &st);
}

/* ---- folders ---- */

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    begin(req);
    if (kernel_skips_opendir) {
        /* Once: from now on the kernel opens folders without asking. */
        fuse_reply_err(req, ENOSYS);
        return;
    }
    /* An older kernel: same listings, cached the same way, just asked. */
    struct fuse_file_info dfi = {};
    int r = mctfs_ops.opendir(path_of(ino), &dfi);
    if (r < 0) {
        fuse_reply_err(req, -r);
        return;
    }
    mctfs_ops.releasedir(path_of(ino), &dfi);
    fi->fh = 0;
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

#define UNKNOWN_INO 0xffffffffu /* libfuse's FUSE_UNKNOWN_INO, not exported */

struct reply {
    fuse_req_t req;
    char *buf;
    size_t size, len;
};

static bool list_one(void *ud, const char *name, mode_t type, off_t next)
{
    struct reply *l = ud;
    /* Inode numbers are ours (stat says so), not the disk's, and 0 would
     * make readdir(3) skip the entry: the "unknown" number, as libfuse's
     * high-level API gives. */
    struct stat entry = {.st_ino = UNKNOWN_INO, .st_mode = type};
    size_t n = fuse_add_direntry(l->req, l->buf + l->len, l->size - l->len, name, &entry, next);
    if (n > l->size - l->len)
        return false; /* full: the kernel asks again from the last next */
    l->len += n;
    return true;
}

/* The folder is read at offset 0 and the rest of the sequence served from
 * that (listing.c); fh is 0, the kernel opens folders itself. */
static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    begin(req);
    _cleanup_free_ char *buf = malloc(size);
    struct reply l = {.req = req, .buf = buf, .size = size};
    int r = buf ? listings_serve(mctfs_get()->listings, path_of(ino), off, list_one, &l) : -ENOMEM;
    if (r < 0)
        fuse_reply_err(req, -r);
    else
        fuse_reply_buf(req, buf, l.len);
}

/* ---- files ---- */

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    begin(req);
    int r = mctfs_ops.open(path_of(ino), fi);
    if (r < 0) {
        fuse_reply_err(req, -r);
        return;
    }
    if (fuse_reply_open(req, fi) == -ENOENT) /* interrupted: never opened */
        mctfs_ops.release(path_of(ino), fi);
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    begin(req);
    _cleanup_free_ char *buf = malloc(size ? size : 1);
    int r = buf ? mctfs_ops.read(NULL, buf, size, off, fi) : -ENOMEM;
    if (r < 0)
        fuse_reply_err(req, -r);
    else
        fuse_reply_buf(req, buf, (size_t)r);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    begin(req);
    int r = mctfs_ops.write(path_of(ino), buf, size, off, fi);
    if (r < 0)
        fuse_reply_err(req, -r);
    else
        fuse_reply_write(req, (size_t)r);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    begin(req);
    fuse_reply_err(req, -mctfs_ops.release(NULL, fi));
}

/* ---- everything that would change the view ---- */

static void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
    fuse_reply_err(req, EROFS);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    fuse_reply_err(req, EROFS);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    fuse_reply_err(req, EROFS);
}

static void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    fuse_reply_err(req, EROFS);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    fuse_reply_err(req, EROFS);
}

static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    fuse_reply_err(req, EROFS);
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    fuse_reply_err(req, EROFS);
}

static void ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags)
{
    fuse_reply_err(req, EROFS);
}

/* Size 0 asks for the size; otherwise the value, or ERANGE when it does
 * not fit (fuse_reply_xattr / fuse_reply_buf, as the kernel expects). */
static void reply_xattr(fuse_req_t req, int r, const char *buf, size_t size)
{
    if (r < 0)
        fuse_reply_err(req, -r);
    else if (size == 0)
        fuse_reply_xattr(req, (size_t)r);
    else
        fuse_reply_buf(req, buf, (size_t)r);
}

static void ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    begin(req);
    _cleanup_free_ char *buf = size ? malloc(size) : NULL;
    int r = size && !buf ? -ENOMEM : mctfs_ops.getxattr(path_of(ino), name, buf, size);
    reply_xattr(req, r, buf, size);
}

static void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    begin(req);
    _cleanup_free_ char *buf = size ? malloc(size) : NULL;
    int r = size && !buf ? -ENOMEM : mctfs_ops.listxattr(path_of(ino), buf, size);
    reply_xattr(req, r, buf, size);
}

static void ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    fuse_reply_err(req, EROFS);
}

static void ll_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                         struct fuse_file_info *fi)
{
    fuse_reply_err(req, EROFS);
}

/* ---- the connection ---- */

static void ll_init(void *userdata, struct fuse_conn_info *conn)
{
    /* readdirplus makes `find` and `ls` pay for stats they do not use. */
    conn->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
    if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) {
        conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
        kernel_skips_opendir = true;
    }
    /* Not auto_inval_data: it makes every read(2) of a cached file check
     * the attributes first, 20 ms per GiB of re-read here (0.64 -> 0.8x
     * native). Its job is done at open instead: keep_cache only when the
     * file is unchanged (opencache), files changed within attr_seconds read
     * direct. Folder listings are still dropped when a lookup or stat after
     * attr_seconds shows a new mtime. */
    conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
    /* The kernel enforces the source's ACLs as it does the modes
     * (default_permissions, which this capability implies anyway), reading
     * them through getxattr. It caches them with the attributes, for up to
     * attr_seconds: opens are checked again against the disk (access.c). */
    if (conn->capable & FUSE_CAP_POSIX_ACL)
        conn->want |= FUSE_CAP_POSIX_ACL;
}

static void ll_destroy(void *userdata)
{
    mctfs_ops.destroy(userdata);
}

const struct fuse_lowlevel_ops mctfs_ll_ops = {
        .init = ll_init,
        .destroy = ll_destroy,
        .lookup = ll_lookup,
        .forget = ll_forget,
        .forget_multi = ll_forget_multi,
        .getattr = ll_getattr,
        .setattr = ll_setattr,
        .readlink = ll_readlink,
        .access = ll_access,
        .statfs = ll_statfs,
        .opendir = ll_opendir,
        .readdir = ll_readdir,
        .open = ll_open,
        .read = ll_read,
        .write = ll_write,
        .release = ll_release,
        .mknod = ll_mknod,
        .mkdir = ll_mkdir,
        .unlink = ll_unlink,
        .rmdir = ll_unlink,
        .symlink = ll_symlink,
        .rename = ll_rename,
        .link = ll_link,
        .create = ll_create,
        .setxattr = ll_setxattr,
        .getxattr = ll_getxattr,
        .listxattr = ll_listxattr,
        .removexattr = ll_removexattr,
        .fallocate = ll_fallocate,
};

/* ---- telling the kernel to forget ---- */

void mctfs_kernel_forget(struct mctfs *fs, const char *path)
{
    fuse_ino_t ino = fs->se ? inode_find(path) : 0;
    /* Not known: the kernel never looked it up, nothing to forget. Errors
     * (unmounting) change nothing either. */
    if (ino)
        (void)fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);
}

void mctfs_kernel_forget_entry(struct mctfs *fs, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!fs->se || !slash || !slash[1])
        return;
    _cleanup_free_ char *dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
    fuse_ino_t parent = dir ? inode_find(dir) : 0;
    if (!parent)
        return;
    (void)fuse_lowlevel_notify_inval_entry(fs->se, parent, slash + 1, strlen(slash + 1));
    /* Its listing too: the kernel caches folder listings. */
    (void)fuse_lowlevel_notify_inval_inode(fs->se, parent, 0, 0);
}
