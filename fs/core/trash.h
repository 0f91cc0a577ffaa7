/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The deletion trash: {source_base}/.mctfs-trash/. A session being deleted
 * is renamed into it as P__D__<unixtime>__<pid>, next to a journal
 * <entry>.json (trash_journal.h) whose state says how far the deletion got:
 *   "moved"    may have been moved, not yet compared: put it back;
 *   "verified" compared, its snapshot written (trash_snapshot.h), not yet
 *              logged: log, then remove what the snapshot lists;
 *   "logged"   logged: finish removing what the snapshot lists.
 * The journal is written before the rename, so no crash leaves an entry
 * without one. Whoever works on an entry holds its session's lock (a file
 * in service.lock_dir, lock.c), which recovery derives from the entry's
 * name.
 *
 * The source base is the rig user's ground: the trash is used only when
 * it is ours, checked on the descriptor at every open (a folder, not a
 * symlink, owned by the effective uid, mode 0700, on the source base's
 * filesystem). Nothing is ever taken from a path in a file: the session's
 * place comes from the entry's name and the source template, and every
 * move is a rename between folders opened below the source base without
 * following a symlink. Private to the engine's deletion files and to
 * trash_pending.c, which answers status's questions about it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "config.h"
#include "session.h"
#include "trash_snapshot.h"

#define MCT_TRASH_NAME ".mctfs-trash"

struct mct_trash {
    int base_fd; /* the source base, opened once */
    int fd;      /* its trash folder, checked to be ours */
    struct stat base_st, st;
    char *path; /* {source_base}/.mctfs-trash, for messages */
    const struct mct_config *cfg;
};

void mct_trash_done(struct mct_trash *t);
#define _cleanup_trash_ __attribute__((cleanup(mct_trash_done)))

/* Open the trash, creating it (0700) when create. -ENOENT (without
 * create) when there is none. A trash that is not ours is -EPERM (or
 * -ENOTDIR, -ELOOP, -EXDEV), never used, and why (may be NULL) names it
 * and the fix. */
int mct_trash_open(const struct mct_config *cfg, bool create, struct mct_trash *t, char *why,
                   size_t whylen);

struct mct_trash_entry {
    const struct mct_trash *trash; /* borrowed */
    char *name;                    /* P__D__<unixtime>__<pid> */
    struct mct_session_ref ref;    /* from the name */
    char *rel;                     /* the session folder below the source base (template) */
    char *path;                    /* in the trash, for messages */
    char *orig_path;               /* where the session was, for messages */
};

void mct_trash_entry_done(struct mct_trash_entry *e);
#define _cleanup_trash_entry_ __attribute__((cleanup(mct_trash_entry_done)))

/* Every name in the trash that may be an entry: its folders and the
 * names of its journals and snapshots, once each (strv). */
int mct_trash_list_entries(const struct mct_trash *t, char ***names);

/* A new entry for ref (named from the clock and our pid). */
int mct_trash_entry_new(const struct mct_trash *t, const struct mct_session_ref *ref,
                        struct mct_trash_entry *e);
/* An entry met in the trash: participant and date from its name,
 * validated as any session id. -EINVAL for a name we never make. */
int mct_trash_entry_parse(const struct mct_trash *t, const char *name, struct mct_trash_entry *e);

/* The folder holding the session folder (created when create and
 * missing), opened below the source base without following a symlink;
 * *last is the session folder's name in it (points into e->rel). */
int mct_trash_session_parent(const struct mct_trash_entry *e, bool create, int *fd_out,
                             const char **last);

/* renameat2(RENAME_NOREPLACE), emulated where the filesystem lacks it: a
 * folder renamed onto an empty one would silently take its place. */
int mct_trash_rename_noreplace(int ofd, const char *old, int nfd, const char *new);

/* Journal "moved", then rename the session folder into the trash. On
 * failure nothing has moved and no journal is left. */
int mct_trash_move_in(const struct mct_trash_entry *e);

/* Rename the entry back to the session's place (never over an existing
 * one: -EEXIST), then drop its journal and snapshot. */
int mct_trash_move_back(const struct mct_trash_entry *e);

/* Atomically rewrite the journal with a new state. */
int mct_trash_journal_set(const struct mct_trash_entry *e, const char *state);

/* Drop the snapshot and the journal of an entry whose folder is gone. */
int mct_trash_forget(const struct mct_trash_entry *e);

/* Drop the temporary files of the entry's journal and snapshot: with the
 * session's lock held nobody writes them, so whatever is there (a crash's
 * leftover, or anything else at the name) is stale, and would make every
 * later write fail (they are created O_EXCL). */
void mct_trash_drop_temporaries(const struct mct_trash_entry *e);

/* rmdir the session's parent folder if it is empty and is not the
 * source base. 1 when removed, 0 when kept. */
int mct_trash_rmdir_parent(const struct mct_trash_entry *e);

/* The outcome of removing an entry. */
struct mct_trash_removal {
    size_t files;   /* removed (would be, dry): files and symlinks the snapshot lists */
    uint64_t bytes; /* of those regular files */
    size_t kept;    /* files (and symlinks, ...) the snapshot does not list: put back */
    size_t stuck;   /* of those, not put back (a name taken in the session) */
    bool back;      /* something the snapshot does not list went back (maybe only folders) */
    bool whole;     /* the entry went back whole (the session folder did not exist) */
};

/*
 * Remove exactly what the snapshot lists (name, type, inode, size, mtime
 * all matching), never following a symlink nor entering another
 * filesystem, with bounded descriptors however deep the tree. Anything
 * else in the entry was written during the deletion: it goes back to the
 * session's place (the entry renamed back when the session folder is
 * gone, else moved in file by file, creating folders, never over a name
 * that exists). The journal and snapshot are dropped once the entry is
 * gone. -errno when something listed could not be removed (the entry
 * stays for the next run).
 */
int mct_trash_remove(const struct mct_trash_entry *e, const struct mct_tsnap *snap,
                     struct mct_trash_removal *out);
/* What mct_trash_remove would do, changing nothing. */
int mct_trash_survey(const struct mct_trash_entry *e, const struct mct_tsnap *snap,
                     struct mct_trash_removal *out);

/* Tell what a removal put back: a line for the user ("  kept N files
 * written during the deletion: ..."), a warning line for what could not
 * go back, and the "kept" record of the deletion log (via: who removed). */
void mct_trash_report_kept(const struct mct_config *cfg, const struct mct_trash_entry *e,
                           const struct mct_trash_removal *out, const char *via, char ***lines);

/* Test-only fault injection, never set in production: when
 * $MCT_TEST_CRASH_AT names this point ("before-move", "after-move",
 * "after-verify", "mid-remove") the process _exit(99)s there, as a power
 * cut would stop it; when $MCT_TEST_STOP_AT names it, the process stops
 * itself (SIGSTOP) so a test can change the session (or its copy) at that
 * moment. The tests use them to prove that mct_trash_recover(), the
 * snapshot comparison and the copies' re-scan lose nothing. */
void mct_test_crash_point(const char *point);
