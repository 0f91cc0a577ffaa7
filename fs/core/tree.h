/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Walking a folder tree with a bounded number of open descriptors,
 * however deep it is: a tree thousands of levels deep (anyone who can
 * write into a session can make one) must not run a walk out of
 * descriptors halfway through a removal. Each folder's names are read
 * once, when the walk enters it; only the deepest MCT_TREE_MAX_FDS
 * folders on the way down stay open, and a folder closed on the way down
 * is opened again from its nearest open ancestor, one component at a
 * time, never following a symlink, and checked to be the folder it was
 * (device and inode) when the walk comes back to it.
 */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

/* Descriptors a walk holds at most (the root's copy included). */
#define MCT_TREE_MAX_FDS 32

struct mct_tree_entry {
    int dirfd;             /* the folder holding the entry, open during the call */
    const char *name;      /* the entry's name in dirfd */
    const char *relpath;   /* from the root, '/'-separated, any bytes but '/' and NUL */
    const struct stat *st; /* lstat of the entry when the walk met it */
    bool after;            /* a folder, visited again after everything in it */
};

/* fn's answer for a folder met before its contents: do not enter it (no
 * visit after either). 0 enters it; negative stops the walk. */
#define MCT_TREE_SKIP 1

typedef int (*mct_tree_fn)(void *ud, const struct mct_tree_entry *e);

/*
 * Visit everything below the folder root_fd (not that folder itself),
 * never following a symlink and never entering a folder on another
 * filesystem than root_fd's. Each entry is visited once with after =
 * false; each folder fn entered is visited again with after = true once
 * its contents were. Entries gone by the time they are visited are
 * skipped; entries created after the walk read their folder are not
 * visited. Returns 0, fn's negative answer, -ESTALE when a folder was
 * replaced while the walk was below it, or -errno.
 */
int mct_tree_walk(int root_fd, mct_tree_fn fn, void *ud);
