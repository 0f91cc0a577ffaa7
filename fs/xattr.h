/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Extended attributes of real files, read-only, in libfuse's high-level
 * shape (mctfs_ops): the POSIX ACLs, so the kernel (FUSE_CAP_POSIX_ACL)
 * enforces them as on the disk, and user.* ones. Virtual files and
 * symlinks have none; setting or removing any is -EROFS (ops.c).
 */
#pragma once

#include <stddef.h>

/* The value's length (size 0: just that), or -errno (-ENODATA). */
int mctfs_getxattr(const char *path, const char *name, char *value, size_t size);
/* The names shown, NUL-separated: their length (size 0: just that). */
int mctfs_listxattr(const char *path, char *list, size_t size);
