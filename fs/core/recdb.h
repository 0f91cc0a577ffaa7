/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rig's recording database (SQLite, owned by the acquisition GUI),
 * read-only: whether a session was imported, and which sessions it knows.
 * Anything that cannot be read within timeouts.database_seconds is
 * UNKNOWN, and the reason says why.
 */
#pragma once

#include <stddef.h>

#include "config.h"
#include "session.h"
#include "util.h"

/* The imported flag per session: out[i] = YES/NO, or UNKNOWN when the
 * file cannot be read (why says so). Returns 0 or -errno. */
int mct_recdb_imported(const struct mct_config *cfg, const struct mct_session_ref *refs, size_t n,
                       enum mct_tristate *out, char *why, size_t whylen);

/* Sessions the recording database knows in [start, end] (NULL = open),
 * participant = participants.name, sorted by date then participant. */
int mct_recdb_sessions_in_range(const struct mct_config *cfg, const char *start_date,
                                const char *end_date, struct mct_session_ref **ret, size_t *n_ret,
                                char *why, size_t whylen);
