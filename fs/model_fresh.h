/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The live model's freshness rules (model.h, mctfs(8) "Freshness"), apart
 * from its threads and locks so each can be checked alone: how old a
 * status a read may be given, when a stat (which never waits) sets off a
 * computation behind its answer, how often the sweep runs, how long a
 * read may wait, when a session folder's change voids a status, and that
 * a virtual file's modification time moves only when its text does.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"

/* Milliseconds between sweeps: half of cache_seconds, so a snapshot is
 * rarely older than cache_seconds when read, but at least a second; -1
 * (no sweep: every read computes) with cache_seconds 0. */
int64_t model_sweep_period_ms(unsigned cache_seconds);

/* Is a snapshot computed at computed_ms (monotonic) younger than
 * cache_seconds at now_ms? A stat given an older one (it never waits)
 * queues its session for the next batch. */
bool model_snap_young(int64_t computed_ms, int64_t now_ms, unsigned cache_seconds);

/* May a read asked at asked_ms be given that snapshot at now_ms? When
 * young, or when its computation started after the read asked: with
 * cache_seconds 0 nothing else ever is. */
bool model_snap_fresh(int64_t computed_ms, int64_t asked_ms, int64_t now_ms,
                      unsigned cache_seconds);

/* A file added or removed in the session folder changes its mtime or
 * ctime: has the folder now (st) changed since the computation saw it? */
bool model_folder_changed(const struct timespec *mtime_then, const struct timespec *ctime_then,
                          const struct stat *now);

/* When a rendering's text last changed, told by its hash. */
struct model_text_clock {
    bool known;
    uint64_t hash;
    struct timespec changed;
};

/* A new rendering with text_hash, computed at computed_at: the clock moves
 * to computed_at only when the text changed (or was never seen); returns
 * the file's modification time. */
struct timespec model_text_clock_tick(struct model_text_clock *c, uint64_t text_hash,
                                      const struct timespec *computed_at);
