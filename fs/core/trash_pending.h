/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The deletions a crash left in the trash, as status sees them: such a
 * session is never safe to delete, and status-range lists it even when
 * its folder is gone. Reads only; mct_trash_recover() (operations.h)
 * finishes or undoes them.
 */
#pragma once

#include <stddef.h>

#include "config.h"
#include "session.h"

/* Is an interrupted deletion of ref in the trash (or is the trash not
 * ours, so nobody can tell)? 1 with *why the sentence for status, 0 no,
 * -errno. Such a session is never safe to delete. */
int mct_trash_pending(const struct mct_config *cfg, const struct mct_session_ref *ref, char **why);

/* The sessions with an entry in the trash, dated within [start, end]
 * (either may be NULL): status-range lists them even when their folder
 * is gone. *refs malloc'd, unsorted, may repeat a session. */
int mct_trash_pending_list(const struct mct_config *cfg, const char *start, const char *end,
                           struct mct_session_ref **refs, size_t *n);
