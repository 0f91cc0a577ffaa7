/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The files of the trash: the journal of an entry, <entry>.json next to
 * it, one key per line (jsondoc.h), read back as any JSON:
 *   {"participant": "p001", "date": "20250104", "state": "moved|verified|logged",
 *    "pid": N, "time": N}
 * It names no path and carries no deletion log line: recovery takes the
 * session from the entry's name and writes its own record, so a journal
 * can at most say how far a deletion got. Every file here is written to a
 * temporary name created O_EXCL|O_NOFOLLOW (a name that exists already,
 * whatever it is, fails the write instead of being opened), fsync'd and
 * renamed over the old one, then the trash folder is fsync'd: a reader
 * sees the old content or the new. Read back only when it is a regular
 * file of the effective uid, opened O_NOFOLLOW|O_NONBLOCK (a FIFO never
 * blocks) and small enough. Private to the trash.
 */
#pragma once

#include <stddef.h>

#include "session.h"

struct mct_journal {
    struct mct_session_ref ref;
    char state[16]; /* "moved", "verified" or "logged" */
};

int mct_journal_write(int trash_fd, const char *entry, const struct mct_session_ref *ref,
                      const char *state);
/* -EBADMSG when the file is not a journal this code wrote, -EPERM when it
 * is not a regular file of ours. */
int mct_journal_read(int trash_fd, const char *entry, struct mct_journal *j);
int mct_journal_remove(int trash_fd, const char *entry);
/* The journal in the len bytes at text: -EBADMSG, with why, for anything
 * but one JSON object naming a valid session and a known state. */
int mct_journal_parse(const char *text, size_t len, struct mct_journal *j, char *why,
                      size_t whylen);

/* Write name in the trash atomically (see above); -EEXIST when its
 * temporary name is taken. */
int mct_trash_file_write(int trash_fd, const char *name, const void *data, size_t len);
/* Read name (at most max bytes) into a NUL-terminated *text. */
int mct_trash_file_read(int trash_fd, const char *name, size_t max, char **text, size_t *len);
/* Unlink name if it is there; fsync the trash folder. */
int mct_trash_file_remove(int trash_fd, const char *name);
