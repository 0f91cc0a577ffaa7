/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The journal of a trash entry: <entry>.json next to it in the trash,
 * one key per line so that reading it back needs no JSON library:
 *   {"participant": "p001", "date": "20250104", "path": "/data/p001/20250104",
 *    "state": "moved|verified|logged", "pid": N, "time": N, "record": {...}}
 * Written to a temporary file, fsync'd and renamed over the old one, then
 * the trash folder is fsync'd: a reader sees the old state or the new one.
 * Private to trash.c.
 */
#pragma once

#include "session.h"

struct mct_journal {
    struct mct_session_ref ref;
    char *path;   /* the session's original folder */
    char *state;  /* "moved", "verified" or "logged" */
    char *record; /* the deletion log line (a JSON object), or NULL */
};

void mct_journal_done(struct mct_journal *j);
#define _cleanup_journal_ __attribute__((cleanup(mct_journal_done)))

int mct_journal_write(int trash_fd, const char *entry, const struct mct_journal *j);
/* -EBADMSG when the file is not a journal this code wrote. */
int mct_journal_read(int trash_fd, const char *entry, struct mct_journal *j);
int mct_journal_remove(int trash_fd, const char *entry);
