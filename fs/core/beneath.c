/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Symlink-free, escape-free opens below a folder: openat2() with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS does it in one call and also
 * refuses "..", absolute names and /proc magic links. The fallback walks
 * one component at a time with O_NOFOLLOW, refusing ".." itself. Both are
 * plain system calls on caller buffers, so share children (forked from
 * the threaded daemon, see share.c) may use them.
 */
#include "beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

static int no_openat2; /* set once the kernel said ENOSYS */

void mct_beneath_force_fallback(bool on)
{
    no_openat2 = on;
}

static int openat2_beneath(int dirfd, const char *rel, int flags, mode_t mode, unsigned how)
{
    struct open_how oh = {
            .flags = (unsigned long long)(flags | O_CLOEXEC),
            .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                       ((how & MCT_BENEATH_NO_XDEV) ? RESOLVE_NO_XDEV : 0),
    };
    long fd;
    do
        fd = syscall(SYS_openat2, dirfd, rel, &oh, sizeof(oh));
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : (int)fd;
}

/* Is the entry name in dirfd a symlink? Turns the fallback's ENOTDIR or
 * ELOOP into one answer. */
static bool is_symlink_at(int dirfd, const char *name)
{
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

int mct_path_next_component(const char **p, char comp[NAME_MAX + 1])
{
    const char *s = *p;
    while (*s == '/')
        s++;
    size_t n = strcspn(s, "/");
    if (n == 0) /* only slashes: nothing names an entry */
        return -EINVAL;
    if (n > NAME_MAX)
        return -ENAMETOOLONG;
    memcpy(comp, s, n);
    comp[n] = '\0';
    for (s += n; *s == '/'; s++)
        ;
    *p = s;
    return *s == '\0';
}

static int walk_beneath(int dirfd, const char *rel, int flags, mode_t mode, unsigned how)
{
    char comp[NAME_MAX + 1];
    struct stat top;
    if ((how & MCT_BENEATH_NO_XDEV) && fstat(dirfd, &top) < 0)
        return -errno;
    if (rel[0] == '/')
        return -EXDEV;

    int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return -errno;
    for (const char *p = rel;;) {
        int last = mct_path_next_component(&p, comp);
        if (last < 0) {
            close(fd);
            return last;
        }
        if (streq(comp, "..")) {
            close(fd);
            return -EXDEV;
        }
        if (streq(comp, ".") && !last)
            continue;
        int f = last ? flags | O_NOFOLLOW | O_CLOEXEC
                     : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        int nfd = openat(fd, comp, f, mode);
        if (nfd < 0) {
            int r = -errno;
            if ((r == -ENOTDIR || r == -ELOOP) && is_symlink_at(fd, comp))
                r = -ELOOP;
            close(fd);
            return r;
        }
        close(fd);
        fd = nfd;
        if (how & MCT_BENEATH_NO_XDEV) {
            struct stat st;
            if (fstat(fd, &st) < 0 || st.st_dev != top.st_dev) {
                close(fd);
                return -EXDEV;
            }
        }
        if (last)
            return fd;
    }
}

int mct_openat_beneath(int dirfd, const char *rel, int flags, mode_t mode, unsigned how)
{
    if (!rel)
        return -EINVAL;
    if (rel[0] == '\0')
        rel = ".";
    if (!no_openat2) {
        int fd = openat2_beneath(dirfd, rel, flags, mode, how);
        if (fd != -ENOSYS)
            return fd;
        no_openat2 = 1;
    }
    return walk_beneath(dirfd, rel, flags, mode, how);
}

int mct_opendir_beneath(int dirfd, const char *rel, unsigned how)
{
    return mct_openat_beneath(dirfd, rel, O_RDONLY | O_DIRECTORY, 0, how);
}

/* Split rel into its folder part (copied into dir) and last component. */
static const char *split_last(const char *rel, char *dir, size_t dirlen)
{
    size_t len = strlen(rel);
    while (len > 1 && rel[len - 1] == '/')
        len--;
    const char *slash = NULL;
    for (size_t i = len; i-- > 0;)
        if (rel[i] == '/') {
            slash = rel + i;
            break;
        }
    if (!slash) {
        snprintf(dir, dirlen, ".");
        return rel;
    }
    size_t dn = (size_t)(slash - rel);
    if (dn + 1 > dirlen)
        return NULL;
    memcpy(dir, rel, dn);
    dir[dn] = '\0';
    if (dn == 0)
        snprintf(dir, dirlen, ".");
    return slash + 1;
}

int mct_stat_beneath(int dirfd, const char *rel, struct stat *st, unsigned how)
{
    char dir[PATH_MAX], name[NAME_MAX + 1];
    const char *last = split_last(rel, dir, sizeof(dir));
    if (!last)
        return -ENAMETOOLONG;
    size_t n = strcspn(last, "/");
    if (n > NAME_MAX)
        return -ENAMETOOLONG;
    memcpy(name, last, n);
    name[n] = '\0';
    if (streq(name, ".."))
        return -EXDEV;
    int fd = mct_openat_beneath(dirfd, dir, O_PATH | O_DIRECTORY, 0, how);
    if (fd < 0)
        return fd;
    int r = fstatat(fd, n ? name : "", st, AT_SYMLINK_NOFOLLOW | (n ? 0 : AT_EMPTY_PATH));
    r = r < 0 ? -errno : 0;
    if (r == 0 && (how & MCT_BENEATH_NO_XDEV)) {
        struct stat top;
        if (fstat(dirfd, &top) < 0)
            r = -errno;
        else if (top.st_dev != st->st_dev)
            r = -EXDEV;
    }
    close(fd);
    return r;
}

int mct_mkdir_beneath(int dirfd, const char *rel, mode_t mode, unsigned how)
{
    char comp[NAME_MAX + 1];
    int fd = mct_opendir_beneath(dirfd, ".", how);
    if (fd < 0)
        return fd;
    for (const char *p = rel;;) {
        int r = mct_path_next_component(&p, comp);
        if (r == -EINVAL) /* no component left */
            return fd;
        if (r < 0) {
            close(fd);
            return r;
        }
        if (streq(comp, "."))
            continue;
        if (mkdirat(fd, comp, mode) < 0 && errno != EEXIST) {
            r = -errno;
            close(fd);
            return r;
        }
        int nfd = mct_opendir_beneath(fd, comp, how);
        close(fd);
        if (nfd < 0)
            return nfd;
        fd = nfd;
    }
}

const char *mct_fd_path(int fd, char *out, size_t len)
{
    snprintf(out, len, "/proc/self/fd/%d", fd);
    return out;
}

int mct_beneath_find_symlink(int dirfd, const char *rel, size_t *end)
{
    char comp[NAME_MAX + 1];
    int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return -errno;
    int found = 0;
    for (const char *p = rel; !found;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n == 0 || n > NAME_MAX)
            break;
        memcpy(comp, p, n);
        comp[n] = '\0';
        if (is_symlink_at(fd, comp)) {
            *end = (size_t)(p + n - rel);
            found = 1;
            break;
        }
        int nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0)
            break;
        close(fd);
        fd = nfd;
        p += n;
    }
    close(fd);
    return found;
}

const char *mct_fd_path_static(int fd, char *out, size_t len)
{
    static const char prefix[] = "/proc/self/fd/";
    char digits[12];
    size_t nd = 0, n = sizeof(prefix) - 1;
    if (len < n + sizeof(digits))
        return "";
    memcpy(out, prefix, n);
    for (unsigned v = (unsigned)fd; nd == 0 || v; v /= 10)
        digits[nd++] = (char)('0' + v % 10);
    while (nd)
        out[n++] = digits[--nd];
    out[n] = '\0';
    return out;
}
