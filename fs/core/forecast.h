/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * When does the rig's disk fill? The recording rate is the bytes of the
 * local sessions dated within the last MCT_FORECAST_DAYS days (today
 * included) divided by that many days; the days left are the free space
 * over that rate, and the free space plus what reclaim could delete now
 * over it. Session sizes are their local bytes, dates their folder names:
 * nothing is read here, the statuses were collected already.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "space.h"
#include "status.h"

#define MCT_FORECAST_DAYS 14

/* Days since 1970-01-01 of a valid YYYYMMDD date; INT64_MIN when invalid. */
int64_t mct_date_days(const char *yyyymmdd);
/* Today's day number on the rig's (local) calendar, which names sessions. */
int64_t mct_today_days(time_t now);

/* Summed a chunk of statuses at a time (the mount's root never holds them all). */
struct mct_forecast_acc {
    int64_t today;
    unsigned keep_recent_days;
    uint64_t window_bytes;
    size_t window_sessions;
    uint64_t reclaimable_bytes;
    size_t reclaimable_sessions;
};

void mct_forecast_begin(struct mct_forecast_acc *a, int64_t today, unsigned keep_recent_days);
/* One session on local disk: its date, its local bytes, and whether
 * reclaim could delete it now. */
void mct_forecast_add_one(struct mct_forecast_acc *a, const char *date, uint64_t bytes,
                          bool reclaimable);
/* Statuses, judged by reclaim's rules (mct_reclaim_classify()). */
void mct_forecast_add(struct mct_forecast_acc *a, const struct mct_session_status *st, size_t n);

struct mct_forecast {
    bool fs_known;          /* fs holds the source filesystem's numbers */
    struct mct_fs_space fs; /* size and free space now */
    unsigned window_days;
    uint64_t window_bytes;
    size_t window_sessions;
    uint64_t rate; /* bytes per day */
    uint64_t reclaimable_bytes;
    size_t reclaimable_sessions;
    /* Days until full at that rate, and counting what is reclaimable now;
     * negative when never (nothing recorded) or not known (fs unknown). */
    double days_full;
    double days_full_reclaimed;
};

/* fs NULL: the filesystem could not be asked (the days are unknown). */
void mct_forecast_finish(const struct mct_forecast_acc *a, const struct mct_fs_space *fs,
                         struct mct_forecast *f);

/* The same for the source filesystem as it is now: begin with today and
 * deletion.reclaim.keep_recent_days, end with a statvfs of the source
 * base (what status-range and the mount's root show). */
void mct_forecast_start(struct mct_forecast_acc *a, const struct mct_config *cfg);
void mct_forecast_end(const struct mct_config *cfg, const struct mct_forecast_acc *a,
                      struct mct_forecast *f);
