/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "model_fresh.h"

#include "util.h"

int64_t model_sweep_period_ms(unsigned cache_seconds)
{
    if (cache_seconds == 0)
        return -1;
    return cache_seconds < 2 ? 1000 : (int64_t)cache_seconds * 500;
}

bool model_snap_young(int64_t computed_ms, int64_t now_ms, unsigned cache_seconds)
{
    return now_ms - computed_ms < (int64_t)cache_seconds * 1000;
}

bool model_snap_fresh(int64_t computed_ms, int64_t asked_ms, int64_t now_ms, unsigned cache_seconds)
{
    return model_snap_young(computed_ms, now_ms, cache_seconds) || computed_ms >= asked_ms;
}

bool model_folder_changed(const struct timespec *mtime_then, const struct timespec *ctime_then,
                          const struct stat *now)
{
    return !timespec_eq(&now->st_mtim, mtime_then) || !timespec_eq(&now->st_ctim, ctime_then);
}

struct timespec model_text_clock_tick(struct model_text_clock *c, uint64_t text_hash,
                                      const struct timespec *computed_at)
{
    if (!c->known || c->hash != text_hash) {
        c->known = true;
        c->hash = text_hash;
        c->changed = *computed_at;
    }
    return c->changed;
}
