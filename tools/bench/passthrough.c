/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE floor for tools/bench/run: the smallest read-only passthrough
 * on libfuse's low-level API, set up as mctfs is (no OPENDIR, kernel-cached
 * listings, names and attributes cached for TIMEOUT seconds, keep_cache on
 * every open, readdirplus off), mounted over the same folder. Whatever it
 * cannot beat in the same run is a limit of FUSE on this kernel and VM, not
 * of mctfs. Not installed, not part of the product; it never frees an
 * inode (a bench run looks up a few tens of thousands).
 *
 * With "xattr" it also passes extended attributes through and lets the
 * kernel enforce ACLs (default_permissions, FUSE_CAP_POSIX_ACL), as mctfs
 * does: ls -l then asks for security.selinux of every entry, a round trip
 * each, which no FUSE filesystem with xattrs avoids (the kernel does not
 * cache them); without, the first getxattr's ENOSYS stops them all.
 *
 *   passthrough SOURCE MOUNTPOINT TIMEOUT [xattr]
 */
#define _GNU_SOURCE      /* O_PATH */
#define FUSE_USE_VERSION 314
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

static int base_fd = -1;
static double timeout;
static int with_xattr;

/* An inode number is the address of its relative path ("." the root). */
static const char *path_of(fuse_ino_t ino)
{
    return ino == FUSE_ROOT_ID ? "." : (const char *)(uintptr_t)ino;
}

static void pt_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", path_of(parent), name);
    struct fuse_entry_param e = {.attr_timeout = timeout, .entry_timeout = timeout};
    if (fstatat(base_fd, path, &e.attr, AT_SYMLINK_NOFOLLOW) < 0) {
        fuse_reply_err(req, errno);
        return;
    }
    char *copy = strdup(path);
    if (!copy) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    e.ino = e.attr.st_ino = (fuse_ino_t)(uintptr_t)copy;
    fuse_reply_entry(req, &e);
}

static void pt_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct stat st;
    if (fstatat(base_fd, path_of(ino), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        fuse_reply_err(req, errno);
        return;
    }
    st.st_ino = ino;
    fuse_reply_attr(req, &st, timeout);
}

static void pt_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    fuse_reply_err(req, ENOSYS); /* the kernel opens folders itself from now on */
}

static void pt_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    int fd = openat(base_fd, path_of(ino), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fuse_reply_err(req, errno);
        return;
    }
    DIR *d = fdopendir(fd);
    char *buf = malloc(size);
    if (!d || !buf) {
        fuse_reply_err(req, ENOMEM);
        free(buf);
        if (d)
            closedir(d);
        else
            close(fd);
        return;
    }
    size_t len = 0;
    off_t i = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (i++ < off)
            continue;
        struct stat st = {.st_ino = 0xffffffffu, .st_mode = DTTOIF(de->d_type)};
        size_t n = fuse_add_direntry(req, buf + len, size - len, de->d_name, &st, i);
        if (n > size - len)
            break;
        len += n;
    }
    closedir(d);
    fuse_reply_buf(req, buf, len);
    free(buf);
}

static void pt_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    int fd = openat(base_fd, path_of(ino), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        fuse_reply_err(req, errno);
        return;
    }
    fi->fh = (uint64_t)fd;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

static void pt_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    char *buf = malloc(size ? size : 1);
    ssize_t k = buf ? pread((int)fi->fh, buf, size, off) : -1;
    if (k < 0)
        fuse_reply_err(req, buf ? errno : ENOMEM);
    else
        fuse_reply_buf(req, buf, (size_t)k);
    free(buf);
}

static void pt_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    close((int)fi->fh);
    fuse_reply_err(req, 0);
}

/* The source's path for the *xattr calls, which take no directory fd. */
static void xattr_path(fuse_ino_t ino, char *out, size_t len)
{
    snprintf(out, len, "/proc/self/fd/%d/%s", base_fd, path_of(ino));
}

/* size 0 asks for the length; else the value (or list), as the kernel
 * expects either. */
static void reply_xattr(fuse_req_t req, size_t size, ssize_t n, const char *buf)
{
    if (n < 0)
        fuse_reply_err(req, errno);
    else if (size == 0)
        fuse_reply_xattr(req, (size_t)n);
    else
        fuse_reply_buf(req, buf, (size_t)n);
}

static void pt_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    if (!with_xattr) {
        fuse_reply_err(req, ENOSYS);
        return;
    }
    char path[4200], *buf = size ? malloc(size) : NULL;
    xattr_path(ino, path, sizeof(path));
    ssize_t n = size && !buf ? (errno = ENOMEM, -1) : lgetxattr(path, name, buf, size);
    reply_xattr(req, size, n, buf);
    free(buf);
}

static void pt_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    if (!with_xattr) {
        fuse_reply_err(req, ENOSYS);
        return;
    }
    char path[4200], *buf = size ? malloc(size) : NULL;
    xattr_path(ino, path, sizeof(path));
    ssize_t n = size && !buf ? (errno = ENOMEM, -1) : llistxattr(path, buf, size);
    reply_xattr(req, size, n, buf);
    free(buf);
}

static void pt_init(void *userdata, struct fuse_conn_info *conn)
{
    if (with_xattr && (conn->capable & FUSE_CAP_POSIX_ACL))
        conn->want |= FUSE_CAP_POSIX_ACL;
    conn->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
    if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT)
        conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
}

static const struct fuse_lowlevel_ops pt_ops = {
        .init = pt_init,
        .lookup = pt_lookup,
        .getattr = pt_getattr,
        .opendir = pt_opendir,
        .readdir = pt_readdir,
        .open = pt_open,
        .read = pt_read,
        .release = pt_release,
        .getxattr = pt_getxattr,
        .listxattr = pt_listxattr,
};

int main(int argc, char **argv)
{
    with_xattr = argc == 5 && strcmp(argv[4], "xattr") == 0;
    if (argc != 4 && !with_xattr) {
        fprintf(stderr, "usage: passthrough SOURCE MOUNTPOINT TIMEOUT [xattr]\n");
        return 2;
    }
    base_fd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (base_fd < 0) {
        perror(argv[1]);
        return 1;
    }
    timeout = atof(argv[3]);
    char *fuse_argv[] = {argv[0], "-o",
                         with_xattr ? "ro,fsname=passthrough,default_permissions"
                                    : "ro,fsname=passthrough",
                         NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
    struct fuse_session *se = fuse_session_new(&args, &pt_ops, sizeof(pt_ops), NULL);
    if (!se || fuse_session_mount(se, argv[2]) != 0)
        return 1;
    fuse_set_signal_handlers(se);
    struct fuse_loop_config *lc = fuse_loop_cfg_create();
    int r = fuse_session_loop_mt(se, lc);
    fuse_loop_cfg_destroy(lc);
    fuse_remove_signal_handlers(se);
    fuse_session_unmount(se);
    fuse_session_destroy(se);
    return r < 0 ? 1 : 0;
}
