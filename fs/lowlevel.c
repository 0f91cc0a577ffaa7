/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount on libfuse's low-level API: every callback finds its inode
 * (inode.h), whose node says what it is, and dispatches on the kind to
 * real.c (the source's files and folders) or vfile.c (the status files)
 * and control.c. OPENDIR is declined once (FUSE_CAP_NO_OPENDIR_SUPPORT):
 * the kernel then opens folders itself and keeps their listings until a
 * folder's mtime changes or mctfs says otherwise (measured on a
 * 1,000-session tree: `find` at 1.0-1.2x native, against 6-9x through
 * libfuse's high-level API, which cannot let the kernel cache listings).
 * Every change to the view is refused in one place, ll_refuse().
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "control.h"
#include "entry.h"
#include "handle.h"
#include "inode.h"
#include "readdir.h"
#include "log.h"
#include "mctfs.h"
#include "open_text.h"
#include "real.h"
#include "vfile.h"
#include "xattr.h"

struct mctfs *mctfs_instance;

/* Set at the start of every callback: who is asking (control.c's access
 * rule, access.c's checks), valid until the reply. */
static __thread fuse_req_t current_req;
static bool kernel_skips_opendir;
static atomic_uint_fast64_t lookups;

uint64_t mctfs_lookups(void)
{
    return atomic_load(&lookups);
}

const struct fuse_ctx *mctfs_caller(void)
{
    return fuse_req_ctx(current_req);
}

int mctfs_caller_groups(int size, gid_t list[])
{
    return fuse_req_getgroups(current_req, size, list);
}

static struct mctfs *begin(fuse_req_t req, fuse_ino_t ino, const char *op, const char *name)
{
    current_req = req;
    if (mct_log_get_max_level() >= LOG_DEBUG) {
        const struct node *n = &inode_get(ino)->node;
        log_debug("%s %s%s%s", op, n->rel, name ? "/" : "", name ? name : "");
    }
    return mctfs_get();
}

/* ---- names and attributes ---- */

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct mctfs *fs = begin(req, parent, "LOOKUP", name);
    atomic_fetch_add(&lookups, 1);
    struct node n;
    struct fuse_entry_param e;
    int r = node_child(fs, &inode_get(parent)->node, name, &n);
    if (r == 0)
        r = entry_make(fs, &n, &e);
    if (r < 0) {
        /* No negative entry: a new session must be seen at once. */
        fuse_reply_err(req, -r);
        return;
    }
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

/* fstat of an open file: what that open reads (a virtual file's text is
 * fixed at open, and the kernel asks by inode, which an open status file
 * keeps to itself), else the node as it is now. */
static int stat_of(struct mctfs *fs, fuse_ino_t ino, const struct node *n,
                   struct fuse_file_info *fi, struct stat *st)
{
    struct handle *h = fi && fi->fh ? handle_of(fi->fh) : NULL;
    if (!h && node_is_virtual(n->kind)) {
        int r = entry_stat(fs, n, st);
        size_t len = r == 0 ? (size_t)st->st_size : 0;
        struct timespec mtime = r == 0 ? st->st_mtim : (struct timespec){0};
        /* An open's text if one holds it; what the kernel is told is
         * recorded (inode.h). */
        if (!inode_attr_told(ino, &len, &mtime, true))
            return r;
        vfile_fill_stat(fs, n, len, &mtime, st);
        return 0;
    }
    if (h && h->kind == NODE_REAL) {
        if (fstat(h->fd, st) < 0)
            return -errno;
        real_face(fs, st);
        return 0;
    }
    if (h && (h->kind != NODE_CONTROL || h->content.data)) {
        vfile_fill_stat(fs, n, h->content.len, &h->content.mtime, st);
        size_t len = h->content.len;
        struct timespec mtime = h->content.mtime;
        (void)inode_attr_told(ino, &len, &mtime, false);
        return 0;
    }
    return entry_stat(fs, n, st);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mctfs *fs = begin(req, ino, "GETATTR", NULL);
    const struct node *n = &inode_get(ino)->node;
    struct stat st;
    int r = stat_of(fs, ino, n, fi, &st);
    if (r < 0)
        fuse_reply_err(req, -r);
    else
        fuse_reply_attr(req, &st, entry_attr_seconds(n));
}

/* Everything that would change the view. `echo CMD > .control` truncates
 * first when the kernel does not pass O_TRUNC to open: there is nothing to
 * cut, so a truncation of .control to 0 by one who may write it is fine. */
static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
    struct mctfs *fs = begin(req, ino, "SETATTR", NULL);
    const struct node *n = &inode_get(ino)->node;
    int r = -EROFS;
    if (n->kind == NODE_CONTROL && to_set == FUSE_SET_ATTR_SIZE)
        r = attr->st_size != 0 ? -EINVAL : fi && fi->fh ? 0 : control_check_access(fs, &n->ref);
    else if (node_is_virtual(n->kind))
        r = -EACCES;
    struct stat st;
    if (r == 0)
        r = stat_of(fs, ino, n, fi, &st);
    if (r < 0)
        fuse_reply_err(req, -r);
    else
        fuse_reply_attr(req, &st, entry_attr_seconds(n));
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
    struct mctfs *fs = begin(req, ino, "READLINK", NULL);
    const struct node *n = &inode_get(ino)->node;
    char buf[PATH_MAX + 1];
    int r = n->kind == NODE_REAL ? real_readlink(fs, n, buf, sizeof(buf)) : -EINVAL;
    if (r < 0)
        fuse_reply_err(req, -r);
    else
        fuse_reply_readlink(req, buf);
}

static void ll_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    struct mctfs *fs = begin(req, ino, "ACCESS", NULL);
    const struct node *n = &inode_get(ino)->node;
    int r;
    if (n->kind == NODE_REAL)
        r = real_access(fs, n, mask);
    else if (n->kind == NODE_CONTROL)
        /* A question, not an attempt: nothing to log. */
        r = (mask & W_OK) ? control_check_access(fs, NULL) : (mask & X_OK) ? -EACCES : 0;
    else
        r = (mask & (W_OK | X_OK)) ? -EACCES : 0;
    fuse_reply_err(req, -r);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct mctfs *fs = begin(req, ino, "STATFS", NULL);
    struct statvfs st;
    if (fstatvfs(fs->base_fd, &st) < 0)
        fuse_reply_err(req, errno);
    else
        fuse_reply_statfs(req, &st);
}

/* ---- folders ---- */

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    begin(req, ino, "OPENDIR", NULL);
    if (kernel_skips_opendir) {
        /* Once: from now on the kernel opens folders without asking. */
        fuse_reply_err(req, ENOSYS);
        return;
    }
    /* An older kernel: same listings, cached the same way, just asked. */
    if (inode_get(ino)->node.kind != NODE_REAL) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    fi->fh = 0;
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    struct mctfs *fs = begin(req, ino, "READDIR", NULL);
    readdir_reply(req, fs, &inode_get(ino)->node, size, off, false);
}

static void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    struct mctfs *fs = begin(req, ino, "READDIRPLUS", NULL);
    readdir_reply(req, fs, &inode_get(ino)->node, size, off, true);
}

/* ---- files ---- */

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mctfs *fs = begin(req, ino, "OPEN", NULL);
    const struct node *n = &inode_get(ino)->node;
    struct handle *h = handle_new(n->kind);
    int r = !h                     ? -ENOMEM
            : n->kind == NODE_REAL ? real_open(fs, n, fi, h)
                                   : vfile_open(fs, n, fi, h);
    if (r < 0) {
        handle_free(h);
        fuse_reply_err(req, -r);
        return;
    }
    r = h->content.data ? open_text_pin(fs, req, ino, n, h, fi) : 0;
    if (r < 0) {
        handle_free(h);
        fuse_reply_err(req, -r);
        return;
    }
    if (n->kind == NODE_CONTROL && (fi->flags & O_ACCMODE) != O_RDONLY) {
        inode_writer_begin(ino);
        h->writer_ino = ino;
    }
    fi->fh = (uint64_t)(uintptr_t)h;
    if (fuse_reply_open(req, fi) == -ENOENT) { /* interrupted: never opened */
        if (h->pinned_ino)
            inode_unpin(ino);
        if (h->writer_ino)
            inode_writer_end(ino);
        handle_free(h);
    }
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    current_req = req;
    const struct handle *h = handle_of(fi->fh);
    _cleanup_free_ char *buf = malloc(size ? size : 1);
    int r = !buf                   ? -ENOMEM
            : h->kind == NODE_REAL ? real_read(h, buf, size, off)
                                   : vfile_read(h, buf, size, off);
    if (r < 0)
        fuse_reply_err(req, -r);
    else
        fuse_reply_buf(req, buf, (size_t)r);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    struct mctfs *fs = begin(req, ino, "WRITE", NULL);
    const struct handle *h = handle_of(fi->fh);
    int r = h->kind == NODE_REAL      ? -EROFS
            : h->kind != NODE_CONTROL ? -EACCES
                                      : control_write(fs, &h->ref, buf, size, off);
    if (r < 0)
        fuse_reply_err(req, -r);
    else
        fuse_reply_write(req, (size_t)r);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    current_req = req;
    struct handle *h = handle_of(fi->fh);
    if (h->pinned_ino)
        inode_unpin(ino);
    if (h->writer_ino)
        inode_writer_end(ino);
    handle_free(h);
    fuse_reply_err(req, 0);
}

/* ---- extended attributes ---- */

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
    struct mctfs *fs = begin(req, ino, "GETXATTR", name);
    _cleanup_free_ char *buf = size ? malloc(size) : NULL;
    int r = size && !buf ? -ENOMEM : xattr_get(fs, &inode_get(ino)->node, name, buf, size);
    reply_xattr(req, r, buf, size);
}

static void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    struct mctfs *fs = begin(req, ino, "LISTXATTR", NULL);
    _cleanup_free_ char *buf = size ? malloc(size) : NULL;
    int r = size && !buf ? -ENOMEM : xattr_list(fs, &inode_get(ino)->node, buf, size);
    reply_xattr(req, r, buf, size);
}

/* ---- the one answer to every change ---- */

static void ll_refuse(fuse_req_t req)
{
    fuse_reply_err(req, EROFS);
}

static void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
    ll_refuse(req);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    ll_refuse(req);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    ll_refuse(req);
}

static void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    ll_refuse(req);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    ll_refuse(req);
}

static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    ll_refuse(req);
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    ll_refuse(req);
}

static void ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags)
{
    ll_refuse(req);
}

static void ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    ll_refuse(req);
}

static void ll_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                         struct fuse_file_info *fi)
{
    ll_refuse(req);
}

/* ---- the connection ---- */

static void ll_init(void *userdata, struct fuse_conn_info *conn)
{
    /* Names with their attributes on the first reply of each listing,
     * and on the rest when they were looked at (readdir.c). */
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want |= FUSE_CAP_READDIRPLUS;
    if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO)
        conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
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
    handle_free_all();
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
        .readdirplus = ll_readdirplus,
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

void mctfs_kernel_forget(struct mctfs *fs, const char *dir, const char *name)
{
    _cleanup_free_ char *rel =
            streq(dir, ".") ? strdup(name) : mct_strdup_printf("%s/%s", dir, name);
    fuse_ino_t ino = fs->se && rel ? inode_find(rel) : 0;
    /* Not known: the kernel never looked it up, nothing to forget. Errors
     * (unmounting) change nothing either. */
    if (!ino)
        return;
    size_t len;
    struct timespec mtime;
    if (!inode_pinned(ino, &len, &mtime)) {
        (void)fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);
        return;
    }
    /* An open holds it with the old text, its size and pages: those stay
     * (tail -f), the name goes, so a new open finds an inode of its own. */
    fuse_ino_t parent = inode_find(dir);
    if (parent)
        (void)fuse_lowlevel_notify_inval_entry(fs->se, parent, name, strlen(name));
}

void mctfs_kernel_forget_entry(struct mctfs *fs, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    _cleanup_free_ char *dir = slash ? strndup(rel, (size_t)(slash - rel)) : strdup(".");
    const char *name = slash ? slash + 1 : rel;
    fuse_ino_t parent = fs->se && dir ? inode_find(dir) : 0;
    if (!parent)
        return;
    (void)fuse_lowlevel_notify_inval_entry(fs->se, parent, name, strlen(name));
    /* Its listing too: the kernel caches folder listings. */
    (void)fuse_lowlevel_notify_inval_inode(fs->se, parent, 0, 0);
}
