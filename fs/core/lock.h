/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The locks every process honours: one per session, taken by each command
 * that changes it (sync, verify, audit, delete, the trash's recovery), and
 * one per job over the whole source tree (reclaim). flock on a file in
 * service.lock_dir, never on anything under the source base (lock.c says
 * why). Each fails with -EBUSY, without waiting, when another holds it.
 */
#pragma once

#include "config.h"
#include "session.h"

/* Take the session's lock without waiting: *fd_out holds it until closed
 * (a lock file, not the session folder). -EBUSY when held elsewhere,
 * -ENOENT when the session folder is gone, -ELOOP when it is a symlink or
 * reached through one, -EPERM when service.lock_dir (or the lock file) is
 * not the service user's alone (the log says which and why). */
int mct_session_lock(const struct mct_config *cfg, const struct mct_session_ref *ref, int *fd_out);

/* The same lock whether or not the session folder exists: the trash's
 * recovery locks sessions whose folder sits in the trash. */
int mct_session_lock_ref(const struct mct_config *cfg, const struct mct_session_ref *ref,
                         int *fd_out);

/* A lock on one job over the whole source tree ("reclaim"), in the same
 * folder and with the same checks as the session locks: -EBUSY when
 * another process holds it. */
int mct_tree_lock(const struct mct_config *cfg, const char *job, int *fd_out);
