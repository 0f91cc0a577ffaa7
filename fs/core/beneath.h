/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Opening names on ground others control (the rig user's /data, a share
 * anyone in the lab may write) without ever following a symlink or
 * leaving the tree we started from. Every access below a base folder
 * goes through here at the moment of use: a check made earlier on a path
 * proves nothing once someone can swap a folder for a symlink.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

enum {
    /* Also refuse to cross into another filesystem below dirfd (a share's
     * copy must live on the share's own device). -EXDEV. */
    MCT_BENEATH_NO_XDEV = 1 << 0,
};

/*
 * openat(dirfd, rel, flags, mode) where no component of rel may be a
 * symlink ("..", absolute paths and magic links are refused too), and the
 * result is below dirfd. rel "" or "." reopens dirfd itself. O_CLOEXEC is
 * always added. Uses openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS); on kernels without openat2 it walks rel one
 * component at a time with O_NOFOLLOW. Returns the fd or -errno: -ELOOP
 * when a component is a symlink, -EXDEV for an escape or (with
 * MCT_BENEATH_NO_XDEV) another filesystem, -ENOENT, -ENOTDIR, ...
 * Safe in a child forked from a threaded process (no allocation).
 */
int mct_openat_beneath(int dirfd, const char *rel, int flags, mode_t mode, unsigned how);

/* Open the folder rel below dirfd (O_RDONLY|O_DIRECTORY), same rules. */
int mct_opendir_beneath(int dirfd, const char *rel, unsigned how);

/*
 * fstatat(dirfd, rel) with the same rules for every component but the
 * last, which is not followed either (AT_SYMLINK_NOFOLLOW): the entry
 * itself, whatever it is. -errno.
 */
int mct_stat_beneath(int dirfd, const char *rel, struct stat *st, unsigned how);

/*
 * mkdir -p of rel below dirfd (mode for each folder created), never
 * through a symlink: -ELOOP names a symlink on the way. Returns an fd of
 * the last folder (O_RDONLY|O_DIRECTORY) or -errno. Allocation-free.
 */
int mct_mkdir_beneath(int dirfd, const char *rel, mode_t mode, unsigned how);

/* The next component of the relative path at *p (the slashes before it
 * skipped) into comp; *p moves past it and the slashes after it. 1 when
 * it was the last, 0 when more follow, -EINVAL when none is left (only
 * slashes), -ENAMETOOLONG. Allocation-free. */
int mct_path_next_component(const char **p, char comp[NAME_MAX + 1]);

/* Tests: use the component walk even where openat2 exists. */
void mct_beneath_force_fallback(bool on);

/* "/proc/self/fd/N" of fd into out (at least 32 bytes): how a program we
 * start (rsync) reaches a folder we opened and checked, whatever happens
 * to its name afterwards. */
const char *mct_fd_path(int fd, char *out, size_t len);
/* The same without stdio, for share children. */
const char *mct_fd_path_static(int fd, char *out, size_t len);

/* After -ELOOP: the end of the first component of rel that is a symlink
 * (rel[0..*end) names it), found with the component walk. 1 found, 0 not
 * (it changed meanwhile), -errno. Allocation-free. */
int mct_beneath_find_symlink(int dirfd, const char *rel, size_t *end);
