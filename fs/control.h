/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A session's .control file: write SYNC, VERIFY or DELETE, and the write
 * returns when the command finished (the root's: RECLAIM, reclaim.h); read it for the last
 * command's time, caller, outcome and message. Like LXCFS's control files: the caller is checked at
 * open, anything unexpected written is -EINVAL with nothing done.
 */
#pragma once

#include <sys/types.h>

#include "mctfs.h"
#include "session.h"
#include "util.h"

/* Longest write accepted: "VERIFY" with generous whitespace. */

struct control;

int control_new(struct control **ret);
void control_free(struct control *c);

/* May the calling process (fuse_get_context) write ref's .control? The
 * mount owner and mount.allow_uids / allow_gids may; 0 or -EACCES. A
 * refusal goes to the deletion log (once a minute per user and session);
 * ref NULL: only asking (access(2)), nothing logged. */
int control_check_access(struct mctfs *fs, const struct mct_session_ref *ref);

/*
 * Run the command written to ref's .control (ref with an empty
 * participant id: the root's). Returns size on success, -EINVAL (not a
 * command, or not one write at offset 0, or not one for this .control),
 * -EBUSY (another command on this session, or another reclaim, runs),
 * -EPERM (refused by a safety rule; reclaim switched off), -EIO (sync or
 * verification failed; reclaim's target not met), -ENOENT (session gone).
 */
int control_write(struct mctfs *fs, const struct mct_session_ref *ref, const char *buf, size_t size,
                  off_t off);

/* What reading .control gives: the last command on this session, and when
 * that text last changed (a command started or ended; the mount's start
 * before any), so tar and rsync see it unchanged while it is. */
int control_render(struct mctfs *fs, const struct mct_session_ref *ref, struct mct_buf *out,
                   struct timespec *mtime);
