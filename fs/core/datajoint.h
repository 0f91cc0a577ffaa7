/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * "Fully imported to DataJoint": the six checks of the acquisition system
 * (SQLite imported flag, then subject, session, recording,
 * multi_camera_recording, single_camera_video in MySQL/MariaDB), with the
 * GUI's participant-id normalisation applied before the MySQL look-ups.
 * For many sessions the checks run as a few set-based queries, not six
 * queries per session. Anything that cannot be known within
 * timeouts.database_seconds is UNKNOWN, never "imported".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "session.h"
#include "util.h"

enum mct_dj_check {
    MCT_DJ_SQLITE_IMPORTED,
    MCT_DJ_SUBJECT,
    MCT_DJ_SESSION,
    MCT_DJ_RECORDING,
    MCT_DJ_MULTI_CAMERA_RECORDING,
    MCT_DJ_SINGLE_CAMERA_VIDEO,
    MCT_DJ_N_CHECKS,
};

/* JSON keys / report labels: "sqlite_imported", "subject", "session",
 * "recording", "multi_camera_recording", "single_camera_video". */
extern const char *const mct_dj_check_names[MCT_DJ_N_CHECKS];
/* Human sentences for a failed check, e.g. "single_camera_video has no rows". */
extern const char *const mct_dj_check_failures[MCT_DJ_N_CHECKS];

struct mct_dj_status {
    enum mct_tristate state; /* YES only when all six checks are YES */
    enum mct_tristate checks[MCT_DJ_N_CHECKS];
    char reason[512]; /* why NO/UNKNOWN: failed checks or the database error */
    char error[320];  /* the database errors alone, "" when every database answered:
                       * what could not be checked, even when another check said NO */
};

/*
 * Fill out[i] for each refs[i]. Never fails half-way silently: when the
 * SQLite file or the MySQL server cannot be read, the affected checks are
 * UNKNOWN and reason says why (naming the file or host and the error).
 * Returns 0 when every answer is known, -EIO (or -ETIMEDOUT) when some
 * are UNKNOWN; out is valid in both cases.
 */
int mct_dj_check_sessions(const struct mct_config *cfg, const struct mct_session_ref *refs,
                          size_t n, struct mct_dj_status *out);

/* The host the client library is given: datajoint.host, localhost when
 * it is empty (DJ_HOST=""). */
const char *mct_dj_host(const struct mct_config *cfg);

/* Is a DataJoint check (one given up on at its deadline included) still
 * running? It works on its own copy of the config, but inside the client
 * library: a program ends with _exit() then, so the exit's destructors do
 * not pull the library from under it. */
bool mct_dj_checks_running(void);
