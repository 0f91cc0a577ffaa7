/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The real files and folders of the source, as the view shows them:
 * every path resolved below the source base at the moment of use without
 * following a symlink anywhere (beneath.h), so a folder the rig user swaps
 * for a symlink after the kernel cached it gives ELOOP, never what it
 * points to; read-only (no write bits, so file browsers offer no delete or
 * rename); inode numbers from the source (ino.h); opens checked against
 * the caller's rights on the disk as it is now (access.h) and counted
 * against the caller's cap (fdcap.h).
 */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#include "handle.h"
#include "mctfs.h"
#include "node.h"

/* stat of a real node, as the view shows it. */
int real_stat(struct mctfs *fs, const struct node *n, struct stat *st);
/* The view's face of a real stat: st_ino from the source, no write bits. */
void real_face(struct mctfs *fs, struct stat *st);

int real_open(struct mctfs *fs, const struct node *n, struct fuse_file_info *fi, struct handle *h);
int real_read(const struct handle *h, char *buf, size_t size, off_t off);
int real_readlink(struct mctfs *fs, const struct node *n, char *buf, size_t size);
int real_access(struct mctfs *fs, const struct node *n, int mask);

/* Every entry of the folder n as the view lists it: the trash hidden at
 * the root, a real file under a virtual file's name shadowed by it, the
 * virtual files added (root and session folders). emit returns non-zero
 * to stop. The caller's right to read the folder is checked first. */
typedef int (*real_list_fn)(void *ud, const char *name, mode_t type, uint64_t ino);
int real_list(struct mctfs *fs, const struct node *n, real_list_fn emit, void *ud);
