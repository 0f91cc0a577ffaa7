/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Session statuses built by hand, for the tests of the safety decision and
 * of the renderings. */
#pragma once

#include "report.h"
#include "status.h"

/* p001/20250104, 5 files and 4 videos, every DataJoint check passed and
 * n_dests (0, 1 or 2) destinations verified: safe unless a test spoils it
 * (then mct_status_decide again). Free with mct_session_status_free_array. */
struct mct_session_status *fake_status(size_t n_dests);

/* fn's rendering of st, malloc'd; fn must succeed. */
char *fake_status_render(int (*fn)(const struct mct_session_status *, struct mct_buf *),
                         const struct mct_session_status *st);
