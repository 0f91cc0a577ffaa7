/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The deletion trash: {source_base}/.mctfs-trash/ (0700). A session being
 * deleted is renamed into it as P__D__<unixtime>__<pid>, next to a journal
 * <entry>.json whose state says how far the deletion got:
 *   "moved"    may have been moved, not yet compared: put it back;
 *   "verified" compared with the snapshot, not yet logged: log, remove;
 *   "logged"   logged: finish removing it.
 * The journal is written before the rename, so no crash leaves an entry
 * without one. Whoever works on an entry holds flock on its folder (the
 * session lock travels with the folder through the rename). Private to
 * delete.c and trash.c.
 */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "session.h"

struct mct_trash_entry {
    int trash_fd;    /* the trash folder */
    char *trash_dir; /* {source_base}/.mctfs-trash */
    char *name;      /* P__D__<unixtime>__<pid> */
    char *path;      /* trash_dir/name */
    char *orig_path; /* where the session was */
    struct mct_session_ref ref;
};

void mct_trash_entry_done(struct mct_trash_entry *e);
#define _cleanup_trash_entry_ __attribute__((cleanup(mct_trash_entry_done)))

/* Create (0700) and open the trash folder; refuses a symlink. */
int mct_trash_open(const struct mct_config *cfg, int *fd_out, char **path_out);

/* Journal "moved", then rename source_path into the trash atomically.
 * On failure nothing has moved and no journal is left. */
int mct_trash_move_in(const struct mct_config *cfg, const struct mct_session_ref *ref,
                      const char *source_path, struct mct_trash_entry *ret);

/* Rename the entry back to its original path (never over an existing one:
 * -EEXIST), then drop the journal. */
int mct_trash_move_back(const struct mct_trash_entry *e);

/* Atomically rewrite the journal with a new state; record (a JSON object,
 * may be NULL) is the deletion log line to append if we crash before. */
int mct_trash_journal_set(const struct mct_trash_entry *e, const char *state, const char *record);

/* Remove the entry's tree (openat/unlinkat, never following symlinks,
 * never crossing into another filesystem), then its journal. */
int mct_trash_remove(const struct mct_trash_entry *e);

/* rmdir path's parent if it is empty and is not the source base. Returns
 * 1 when removed, 0 when kept. */
int mct_trash_rmdir_parent(const struct mct_config *cfg, const char *path);

/* Test-only fault injection, never set in production: when
 * $MCT_TEST_CRASH_AT names this point ("after-move", "after-verify",
 * "mid-remove") the process _exit(99)s there, as a power cut would stop
 * it; when $MCT_TEST_STOP_AT names it, the process stops itself (SIGSTOP)
 * so a test can change the session at that moment. The tests use them
 * to prove that mct_trash_recover() and the snapshot comparison lose
 * nothing. */
void mct_test_crash_point(const char *point);
