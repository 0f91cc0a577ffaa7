/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the kernel is told of a name, by LOOKUP and by READDIRPLUS alike:
 * the entry's attributes, how long it may keep them and the name, and the
 * inode it then holds a lookup of (inode.h).
 */
#pragma once

#include "mctfs.h"
#include "node.h"

struct inode;

/* How long the kernel may cache n's attributes (entry_attr_seconds) and
 * its name (entry_name_seconds). */
double entry_attr_seconds(const struct node *n);
double entry_name_seconds(const struct node *n);

/* n's attributes as stat shows them now (never waits on a status). */
int entry_stat(struct mctfs *fs, const struct node *n, struct stat *st);

/* The entry of n (taken over, also on failure): e's attributes, timeouts,
 * node id and generation, with one lookup of its inode counted. 0, or
 * -errno of its stat, or -ENOMEM. */
int entry_make(struct mctfs *fs, struct node *n, struct fuse_entry_param *e);
