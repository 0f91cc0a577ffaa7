/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Walking session folders: one pass that gives the file list (relative
 * path, size, mtime), counts and sizes, with the exclude patterns applied
 * exactly as rsync applies them; and discovery of the sessions under the
 * source base by its path template.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "session.h"

struct mct_file {
    char *relpath; /* relative to the session folder, '/'-separated */
    uint64_t size;
    struct timespec mtime;
    struct timespec ctime;
    dev_t dev;
    ino_t ino;
    mode_t mode; /* S_IFREG or S_IFLNK: symlinks are listed, never followed */
};

struct mct_scan {
    struct mct_file *files; /* sorted by relpath (strcmp) */
    size_t n_files;
    uint64_t bytes; /* sum of sizes of regular files */
    size_t videos;  /* regular files ending in ".mp4" (case-insensitive) */
    struct timespec newest_mtime;
};

void mct_scan_free(struct mct_scan *scan);

/*
 * rsync-style exclude match. A pattern without '/' matches the last path
 * component of any file or directory at any depth; a pattern containing '/'
 * matches the whole relative path (a leading '/' anchors it at the session
 * root); a trailing '/' matches directories only; '*' does not cross '/',
 * '**' does. An excluded directory excludes everything under it.
 */
bool mct_exclude_match(char *const *patterns, const char *relpath, bool is_dir);

/*
 * Walk root (not following symlinks, not crossing into other filesystems
 * is NOT enforced: a session is what is under it). Excluded entries are
 * skipped. -ENOENT when root does not exist, -ENOTDIR when it is not a dir.
 */
int mct_scan_tree(const char *root, char *const *excludes, struct mct_scan *ret);

/* *.lock / *.tmp (any case): files the acquisition software leaves while it
 * writes. Their presence means the rig may be recording into the session. */
bool mct_is_rig_file(const char *relpath);

/* The files of raw that the exclude patterns keep (as mct_scan_tree with
 * those excludes would have found them), into *out. -ENOMEM. */
int mct_scan_filter(const struct mct_scan *raw, char *const *excludes, struct mct_scan *out);

/* Binary search by relpath; NULL when absent. */
const struct mct_file *mct_scan_find(const struct mct_scan *scan, const char *relpath);

/*
 * Sessions on local disk: folders under cfg->source_base_path matching
 * source_path_structure, whose participant passes the prefix filter and
 * whose date lies in [start, end] (either may be NULL = open). Entries
 * starting with '.' (the trash, hidden files) and files such as
 * recordings.db are ignored. Sorted by date, then participant.
 */
int mct_discover_sessions(const struct mct_config *cfg, const char *start_date,
                          const char *end_date, struct mct_session_ref **ret, size_t *n_ret);
