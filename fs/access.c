/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "access.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "beneath.h"
#include "util.h"

/* The xattr form of a POSIX ACL (linux/posix_acl_xattr.h): a version,
 * then entries sorted by tag and id, little-endian. */
#define ACL_XATTR_VERSION 2
#define ACL_USER_OBJ      0x01
#define ACL_USER          0x02
#define ACL_GROUP_OBJ     0x04
#define ACL_GROUP         0x08
#define ACL_MASK          0x10
#define ACL_OTHER         0x20
#define ACL_XATTR_NAME    "system.posix_acl_access"

struct acl_entry {
    uint16_t tag;
    uint16_t perm;
    uint32_t id;
};

static bool in_group(struct access_cred *c, gid_t gid)
{
    if (c->gid == gid)
        return true;
    if (c->load_groups) {
        void (*load)(struct access_cred *) = c->load_groups;
        c->load_groups = NULL;
        load(c);
    }
    for (size_t i = 0; i < c->n_groups; i++)
        if (c->groups[i] == gid)
            return true;
    return false;
}

static struct acl_entry entry_at(const void *acl, size_t i)
{
    const unsigned char *p = (const unsigned char *)acl + 4 + 8 * i;
    uint16_t tag, perm;
    uint32_t id;
    memcpy(&tag, p, 2);
    memcpy(&perm, p + 2, 2);
    memcpy(&id, p + 4, 4);
    return (struct acl_entry){le16toh(tag), le16toh(perm), le32toh(id)};
}

/* The kernel's posix_acl_permission(), owner already handled. */
static int acl_permission(struct access_cred *c, const struct stat *st, const void *acl, size_t len,
                          int want)
{
    uint32_t version;
    if (len < 4 || (len - 4) % 8 != 0)
        return -EACCES;
    memcpy(&version, acl, 4);
    if (le32toh(version) != ACL_XATTR_VERSION)
        return -EACCES;

    size_t n = (len - 4) / 8, i;
    bool found = false;
    struct acl_entry e = {};
    for (i = 0; i < n; i++) {
        e = entry_at(acl, i);
        switch (e.tag) {
        case ACL_USER_OBJ:
            if (c->uid == st->st_uid)
                goto check;
            break;
        case ACL_USER:
            if (c->uid == e.id)
                goto masked;
            break;
        case ACL_GROUP_OBJ:
        case ACL_GROUP:
            if (in_group(c, e.tag == ACL_GROUP_OBJ ? st->st_gid : e.id)) {
                found = true;
                if ((e.perm & want) == want)
                    goto masked;
            }
            break;
        case ACL_MASK:
            break;
        case ACL_OTHER:
            if (found)
                return -EACCES;
            goto check;
        default:
            return -EACCES;
        }
    }
    return -EACCES; /* no ACL_OTHER: malformed */

masked:
    /* The mask follows every entry it limits (entries are sorted). */
    for (size_t k = i + 1; k < n; k++) {
        struct acl_entry m = entry_at(acl, k);
        if (m.tag == ACL_MASK)
            return (e.perm & m.perm & want) == want ? 0 : -EACCES;
    }
check:
    return (e.perm & want) == want ? 0 : -EACCES;
}

int access_check(struct access_cred *c, const struct stat *st, const void *acl, size_t len,
                 int mask)
{
    unsigned mode = st->st_mode;
    mask &= R_OK | W_OK | X_OK;

    if (c->uid == 0) {
        /* CAP_DAC_OVERRIDE: only execution of a non-folder needs a bit. */
        if (!(mask & X_OK) || S_ISDIR(mode) || (mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
            return 0;
        return -EACCES;
    }
    if (c->uid == st->st_uid)
        return (mask & ~(mode >> 6)) ? -EACCES : 0;
    if (len > 0 && (mode & S_IRWXG))
        return acl_permission(c, st, acl, len, mask);
    /* Group and other bits; the groups are looked at only when they
     * would change the answer. */
    if ((mask & (mode ^ (mode >> 3))) && in_group(c, st->st_gid))
        mode >>= 3;
    return (mask & ~mode & 7) ? -EACCES : 0;
}

/* The access ACL of fd into *buf (malloc'd when it does not fit small):
 * its length, 0 when it has none. An O_PATH fd has no fgetxattr(); its
 * /proc/self/fd link reaches the same inode. */
static ssize_t read_acl(int fd, char *small, size_t small_len, char **big)
{
    char proc[64];
    const char *path = NULL;
    ssize_t n = fgetxattr(fd, ACL_XATTR_NAME, small, small_len);
    if (n < 0 && errno == EBADF) {
        path = mct_fd_path(fd, proc, sizeof(proc));
        n = getxattr(path, ACL_XATTR_NAME, small, small_len);
    }
    if (n < 0 && errno == ERANGE) {
        *big = malloc(XATTR_SIZE_MAX);
        if (!*big)
            return -ENOMEM;
        n = path ? getxattr(path, ACL_XATTR_NAME, *big, XATTR_SIZE_MAX)
                 : fgetxattr(fd, ACL_XATTR_NAME, *big, XATTR_SIZE_MAX);
    }
    if (n < 0)
        return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
    return n;
}

int access_check_fd(struct access_cred *c, int fd, const struct stat *st, int mask)
{
    /* The owner's and root's answers never depend on the ACL. */
    if (c->uid == 0 || c->uid == st->st_uid)
        return access_check(c, st, NULL, 0, mask);
    char small[512];
    _cleanup_free_ char *big = NULL;
    ssize_t n = read_acl(fd, small, sizeof(small), &big);
    if (n < 0)
        return (int)n;
    return access_check(c, st, big ? big : small, (size_t)n, mask);
}

static int check_fd(struct access_cred *c, int fd, int mask, struct stat *st)
{
    if (fstat(fd, st) < 0)
        return -errno;
    return access_check_fd(c, fd, st, mask);
}

/* name below dir opened with flags, then checked for mask. */
static int open_checked(int dir, const char *name, int flags, struct access_cred *c, int mask,
                        struct stat *ret_st)
{
    struct stat st;
    _cleanup_close_ int fd = mct_openat_beneath(dir, name, flags, 0, 0);
    if (fd < 0)
        return fd;
    int r = check_fd(c, fd, mask, &st);
    if (r < 0)
        return r;
    if (ret_st)
        *ret_st = st;
    return TAKE_FD(fd);
}

int access_open_beneath(int base_fd, const char *rel, int flags, struct access_cred *c, int mask,
                        struct stat *ret_st)
{
    char comp[NAME_MAX + 1];
    struct stat st;
    int r;

    /* The top itself; or root, who may cross every folder: one lookup. */
    if (streq(rel, ".") || rel[0] == '\0' || c->uid == 0)
        return open_checked(base_fd, rel, flags, c, mask, ret_st);

    _cleanup_close_ int dir = fcntl(base_fd, F_DUPFD_CLOEXEC, 3);
    if (dir < 0)
        return -errno;
    for (const char *p = rel;;) {
        int last = mct_path_next_component(&p, comp);
        if (last < 0)
            return last;

        /* Search permission on the folder we are in, as it is now. */
        if ((r = check_fd(c, dir, X_OK, &st)) < 0)
            return r;
        if (last)
            return open_checked(dir, comp, flags, c, mask, ret_st);
        int sub = mct_openat_beneath(dir, comp, O_PATH | O_DIRECTORY, 0, 0);
        if (sub < 0)
            return sub;
        close(dir);
        dir = sub;
    }
}
