/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "xattr.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "access.h"
#include "beneath.h"
#include "caller.h"
#include "mctfs.h"
#include "node.h"
#include "util.h"

/* Not trusted.* (root's only: mctfs runs as root, viewers must not see
 * them) nor security.* (capabilities and labels of the source are not the
 * mount's). */
static bool xattr_shown(const char *name)
{
    return startswith(name, "user.") || streq(name, "system.posix_acl_access") ||
           streq(name, "system.posix_acl_default");
}

/* An O_PATH fd of a real node's path and its stat; -ENODATA for a node
 * that has no attributes (virtual files, symlinks). */
static int xattr_target(struct mctfs *fs, const struct node *n, struct stat *st)
{
    int r;
    if (n->kind != NODE_REAL)
        return -ENODATA;
    int fd = mct_openat_beneath(fs->base_fd, n->rel, O_PATH | O_NOFOLLOW, 0, 0);
    if (fd < 0)
        return fd;
    r = fstat(fd, st) < 0 ? -errno : S_ISLNK(st->st_mode) ? -ENODATA : 0;
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

int xattr_get(struct mctfs *fs, const struct node *node, const char *name, char *value, size_t size)
{
    char proc[64];
    struct stat st;
    if (!xattr_shown(name))
        return -ENODATA;
    _cleanup_close_ int fd = xattr_target(fs, node, &st);
    if (fd < 0)
        return fd;
    /* user.* needs read permission, as on the disk (the ACLs do not). */
    struct caller who;
    int r;
    if (startswith(name, "user.") && (r = access_check_fd(caller_cred(&who), fd, &st, R_OK)) < 0)
        return r;
    /* An O_PATH fd has no fgetxattr(): its /proc link is the same inode. */
    ssize_t n = getxattr(mct_fd_path(fd, proc, sizeof(proc)), name, value, size);
    return n < 0 ? (errno == ENOTSUP ? -ENODATA : -errno) : (int)n;
}

int xattr_list(struct mctfs *fs, const struct node *node, char *list, size_t size)
{
    char proc[64];
    struct stat st;
    _cleanup_close_ int fd = xattr_target(fs, node, &st);
    if (fd == -ENODATA)
        return 0;
    if (fd < 0)
        return fd;
    mct_fd_path(fd, proc, sizeof(proc));
    ssize_t n = listxattr(proc, NULL, 0);
    if (n <= 0)
        return n < 0 ? (errno == ENOTSUP ? 0 : -errno) : 0;
    _cleanup_free_ char *all = malloc((size_t)n);
    if (!all)
        return -ENOMEM;
    n = listxattr(proc, all, (size_t)n);
    if (n < 0)
        return errno == ERANGE ? -EAGAIN : -errno; /* grew meanwhile */

    size_t len = 0;
    for (char *p = all; p < all + n; p += strlen(p) + 1) {
        if (!xattr_shown(p))
            continue;
        size_t k = strlen(p) + 1;
        if (size && len + k <= size)
            memcpy(list + len, p, k);
        else if (size)
            return -ERANGE;
        len += k;
    }
    return (int)len;
}
