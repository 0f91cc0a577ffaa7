/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reclaim: keep deletion.reclaim.keep_free free on the source filesystem
 * by deleting the oldest safe sessions (session date, then participant),
 * each through mct_delete_session() with its full re-check, lock, trash
 * and log, until the target is met; never a session recorded within
 * keep_recent_days. Like git-annex's `drop --auto` with
 * annex.diskreserve, or a retention policy's prune, but nothing is
 * deleted that the one rule set (policy.h) does not call safe.
 */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "reclaim_plan.h"

struct mct_reclaim_request {
    bool dry_run;
    const char *who; /* for the deletion log, as mct_delete_request's */
    const char *via; /* "mctctl reclaim", "mctfs reclaim" */
    time_t now;      /* 0: now; which day is "today" */
    /* Told after each session the protocol ran on (may be NULL). */
    void (*on_item)(void *ud, const struct mct_reclaim_item *it, size_t k);
    void *ud;
};

/*
 * Run it. 0 the target is met (or was already; in a dry run: would be),
 * -ENOSPC it is not (res says why), -EPERM deletion.reclaim is off (a
 * dry run runs anyway), -EBUSY another reclaim of this tree runs, -errno
 * when the filesystem or the sessions cannot be read (res->error).
 */
int mct_reclaim(const struct mct_config *cfg, const struct mct_reclaim_request *req,
                struct mct_reclaim_result *res);
