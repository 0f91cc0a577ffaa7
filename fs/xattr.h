/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Extended attributes, read-only: a real file's own (its POSIX ACLs and
 * user.* attributes, so the kernel can enforce the ACLs and cp -a keeps
 * them); every change is EROFS.
 */
#pragma once

#include <stddef.h>

#include "mctfs.h"
#include "node.h"

/* As getxattr(2)/listxattr(2): the length, or -errno (-ERANGE when size
 * is too small, size 0 asks for the length). */
int xattr_get(struct mctfs *fs, const struct node *n, const char *name, char *value, size_t size);
int xattr_list(struct mctfs *fs, const struct node *n, char *list, size_t size);
