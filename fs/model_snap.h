/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The model's snapshots: made from collected statuses, from a sweep's
 * root renderings, or as placeholders when nothing was computed in time.
 * Private to model.c. */
#pragma once

#include "model.h"

/* A snapshot of st[i], which moves into it (st[i] is left empty). */
struct status_snap *model_snap_take(struct mct_session_status *st, size_t i, int64_t started_ms);
/* The root's snapshot: the renderings rr holds (taken over) of n sessions. */
struct status_snap *model_snap_from_root(struct status_root_render *rr, size_t n,
                                         int64_t started_ms);
/* What a read is given when no status was computed in time: every answer
 * "unknown" (mct_status_unknown()), never "safe" (pending: a stat's, for
 * a session never yet computed, which a read would wait for). ref NULL:
 * the root. */
struct status_snap *model_snap_placeholder(const struct mct_config *cfg,
                                           const struct mct_session_ref *ref, bool pending);
