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
/* The same for the folder open at fd (taken over and closed). */
int mct_scan_tree_fd(int fd, char *const *excludes, struct mct_scan *ret);

/* A relpath mct_scan_tree lists is shorter than this (-ENAMETOOLONG). */
#define MCT_SCAN_PATH_MAX 4096
/* Every folder level adds at least "/x" to the relpath: the deepest walk. */
#define MCT_SCAN_MAX_DEPTH (MCT_SCAN_PATH_MAX / 2)
/* getdents64 buffer per level (must hold one entry: ~280 bytes). */
#define MCT_SCAN_DENTS_BUF 2048

/* Called for every file a walk lists; f->relpath is valid only during the
 * call. A negative return ends the walk with it. */
typedef int (*mct_scan_file_fn)(void *ud, const struct mct_file *f);

/*
 * The walk mct_scan_tree makes, same rules and errors, handing each file
 * to fn unsorted instead of collecting them. dents: MCT_SCAN_MAX_DEPTH
 * 8-byte aligned buffers for the directory entries, or NULL to malloc one
 * per folder. With dents and an fn that allocates nothing, the walk itself
 * neither allocates nor takes a lock, so a child forked from the threaded
 * daemon can run it (share.c).
 */
int mct_scan_walk(const char *root, char *const *excludes, char (*dents)[MCT_SCAN_DENTS_BUF],
                  mct_scan_file_fn fn, void *ud);

/* The same walk of the folder open at fd (an O_DIRECTORY descriptor,
 * taken over and closed). */
int mct_scan_walk_fd(int fd, char *const *excludes, char (*dents)[MCT_SCAN_DENTS_BUF],
                     mct_scan_file_fn fn, void *ud);

/* Called for every folder the walk enters (the root first, relpath ""),
 * with its descriptor, before its entries are read. A negative return
 * ends the walk with it. */
typedef int (*mct_scan_dir_fn)(void *ud, int dfd, const char *relpath);
/* mct_scan_walk_fd telling dir_fn of each folder too. */
int mct_scan_walk_dirs_fd(int fd, char *const *excludes, mct_scan_file_fn fn,
                          mct_scan_dir_fn dir_fn, void *ud, char (*dents)[MCT_SCAN_DENTS_BUF]);

/* Append a copy of f (relpath duplicated) to s, counting bytes, videos and
 * the newest mtime as mct_scan_tree does; *cap is the allocated length
 * (start at 0). -ENOMEM. */
int mct_scan_add(struct mct_scan *s, size_t *cap, const struct mct_file *f);
/* The counting half of mct_scan_add: bytes, videos and the newest mtime of
 * f added to s, f not kept (n_files is the caller's). */
void mct_scan_tally(struct mct_scan *s, const struct mct_file *f);
/* After the last mct_scan_add: sort by relpath and give back the slack. */
void mct_scan_done(struct mct_scan *s, size_t cap);

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

/* What a discovery saw besides the sessions it returned, so that "no
 * sessions" can say what was looked for and what was there, and folders
 * that look like sessions but are none are not left out silently. */
#define MCT_DISCOVER_DEPTHS 8
struct mct_discovery {
    char **rejected;       /* strv "RELPATH: why" (session depth, session-like, no session) */
    size_t n_matched;      /* folders matching the template, before the filter and range */
    size_t n_unmanaged;    /* of those, participants outside participant_prefixes */
    size_t n_out_of_range; /* of those (managed), dated outside [start, end] */
    size_t depth;          /* the template's */
    size_t folders[MCT_DISCOVER_DEPTHS]; /* folders seen at depth i + 1 */
    size_t dates[MCT_DISCOVER_DEPTHS];   /* of which named as a valid YYYYMMDD date */
};
void mct_discovery_done(struct mct_discovery *d);

/* mct_discover_sessions(), filling *seen (zeroed first; free with
 * mct_discovery_done). */
int mct_discover_sessions_seen(const struct mct_config *cfg, const char *start_date,
                               const char *end_date, struct mct_session_ref **ret, size_t *n_ret,
                               struct mct_discovery *seen);
