/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The forecast's arithmetic (forecast.h). Pure but for the clock and the
 * statvfs of mct_forecast_end(), so the unit tests give it any day, any
 * sizes and any filesystem.
 */
#include "forecast.h"

#include "reclaim_plan.h"
#include "session.h"

/* Days from the civil date (proleptic Gregorian), as in Howard Hinnant's
 * days_from_civil: no time zones and no mktime, which would move with
 * the rig's TZ. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int64_t mct_date_days(const char *s)
{
    if (!s || !mct_session_date_valid(s))
        return INT64_MIN;
    int64_t y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    unsigned m = (unsigned)((s[4] - '0') * 10 + (s[5] - '0'));
    unsigned d = (unsigned)((s[6] - '0') * 10 + (s[7] - '0'));
    return days_from_civil(y, m, d);
}

int64_t mct_today_days(time_t now)
{
    struct tm tm;
    if (!localtime_r(&now, &tm))
        return (int64_t)(now / 86400);
    return days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
                           (unsigned)tm.tm_mday);
}

void mct_forecast_begin(struct mct_forecast_acc *a, int64_t today, unsigned keep_recent_days)
{
    *a = (struct mct_forecast_acc){.today = today, .keep_recent_days = keep_recent_days};
}

void mct_forecast_add_one(struct mct_forecast_acc *a, const char *date, uint64_t bytes,
                          bool reclaimable)
{
    int64_t day = mct_date_days(date);
    if (day == INT64_MIN)
        return;
    /* A date after today (a clock set wrong) is recorded now. */
    if (a->today - day < MCT_FORECAST_DAYS) {
        a->window_bytes += bytes;
        a->window_sessions++;
    }
    if (reclaimable) {
        a->reclaimable_bytes += bytes;
        a->reclaimable_sessions++;
    }
}

void mct_forecast_add(struct mct_forecast_acc *a, const struct mct_session_status *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        enum mct_reclaim_class c = mct_reclaim_classify(&st[i], a->today, a->keep_recent_days);
        if (c != MCT_RECLAIM_ABSENT)
            mct_forecast_add_one(a, st[i].ref.session_date, st[i].source.bytes,
                                 c == MCT_RECLAIM_ELIGIBLE);
    }
}

/* From the window's bytes, not the rounded rate. */
static double days_until(uint64_t bytes, uint64_t window_bytes)
{
    return window_bytes ? (double)bytes * MCT_FORECAST_DAYS / (double)window_bytes : -1.0;
}

void mct_forecast_finish(const struct mct_forecast_acc *a, const struct mct_fs_space *fs,
                         struct mct_forecast *f)
{
    *f = (struct mct_forecast){
            .fs_known = fs != NULL,
            .window_days = MCT_FORECAST_DAYS,
            .window_bytes = a->window_bytes,
            .window_sessions = a->window_sessions,
            .rate = a->window_bytes / MCT_FORECAST_DAYS,
            .reclaimable_bytes = a->reclaimable_bytes,
            .reclaimable_sessions = a->reclaimable_sessions,
            .days_full = -1.0,
            .days_full_reclaimed = -1.0,
    };
    if (!fs)
        return;
    f->fs = *fs;
    f->days_full = days_until(fs->avail, a->window_bytes);
    f->days_full_reclaimed = days_until(fs->avail + a->reclaimable_bytes, a->window_bytes);
}

void mct_forecast_start(struct mct_forecast_acc *a, const struct mct_config *cfg)
{
    mct_forecast_begin(a, mct_today_days(time(NULL)), cfg->reclaim.keep_recent_days);
}

void mct_forecast_end(const struct mct_config *cfg, const struct mct_forecast_acc *a,
                      struct mct_forecast *f)
{
    struct mct_fs_space fs;
    bool known = mct_fs_space_get(cfg->source_base_path, &fs) >= 0;
    mct_forecast_finish(a, known ? &fs : NULL, f);
}
