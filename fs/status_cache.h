/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount's status cache, shaped like sshfs's cache.h: a small layer with
 * one way to read (status_cache_get) and one way to declare a status out of
 * date (status_cache_invalidate). Statuses are computed by a pool of worker
 * threads calling mct_status_collect(); a FUSE callback never runs the engine
 * itself. It waits for a worker at most share + database timeout + 1 s and
 * otherwise gets a placeholder that says "unknown", never "safe".
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "forecast.h"
#include "report.h"
#include "session.h"
#include "status.h"
#include "util.h"

#define STATUS_SNAP_SLOTS 4

/* One computed status (n = 1 for a session, all local sessions for the
 * root), immutable once published and shared by reference count. */
struct status_snap {
    struct mct_session_status *st; /* NULL for a computed root: only its renderings are kept */
    size_t n;
    int64_t computed_ms;         /* monotonic, when the computation started */
    struct timespec computed_at; /* wall clock, for st_mtime */
    bool placeholder;            /* not computed: every answer is "unknown" */
    char *placeholder_reason;

    /* Renderings are pure functions of st, so each is made once. */
    pthread_mutex_t render_lock;
    char *rendered[STATUS_SNAP_SLOTS];
    size_t rendered_len[STATUS_SNAP_SLOTS];

    int refs;
};

struct status_snap *status_snap_ref(struct status_snap *s);
void status_snap_unref(struct status_snap *s);
static inline void status_snap_unrefp(struct status_snap **s)
{
    if (*s)
        status_snap_unref(*s);
}
#define _cleanup_snap_ _cleanup_(status_snap_unrefp)

/* note: the placeholder's reason, NULL for a computed status. */
typedef int (*status_render_fn)(const struct mct_session_status *st, size_t n, const char *note,
                                struct mct_buf *out);

/* The rendering of slot, made once per snapshot. *ret (may be NULL when
 * only the length is wanted) points into the snapshot: valid while the
 * caller holds a reference, so an open file shares it instead of a copy. */
int status_snap_render(struct status_snap *s, unsigned slot, status_render_fn fn, const char **ret,
                       size_t *len);

/* Told (from a worker thread, no lock held) when a new status of ref (NULL:
 * the root's) was published or its activity changed. */
typedef void (*status_update_fn)(void *ud, const struct mct_session_ref *ref);

struct status_cache;

/* The root lists every session. Holding all their statuses at once would
 * double the mount's memory with years of sessions, so a worker computes
 * the root a chunk of sessions at a time and keeps only its renderings,
 * which the renderer builds in parts: called for each chunk (last: none
 * follows; a tree without sessions gets one call with n = 0). */
struct status_root_render {
    struct mct_buf out[STATUS_SNAP_SLOTS]; /* one rendering per slot; unused slots stay empty */
    size_t done;                           /* sessions rendered by earlier calls */
    struct mct_range_totals totals;
    const struct mct_config *cfg; /* for the forecast under the table */
    struct mct_forecast_acc forecast;
};
typedef int (*status_root_render_fn)(const struct mct_session_status *st, size_t n, bool last,
                                     struct status_root_render *r);

int status_cache_new(const struct mct_config *cfg, int base_fd, unsigned n_workers,
                     status_root_render_fn root_render, status_update_fn on_update, void *ud,
                     struct status_cache **ret);
/* Stops the workers (each finishes its computation, bounded by the
 * engine's timeouts) and frees everything. */
void status_cache_free(struct status_cache *c);

enum {
    /* Refuse a status older than mount.cache_seconds (wait for a new one):
     * what .safe_to_delete uses, so "yes" is never old. */
    STATUS_FRESH = 1 << 0,
    /* Serve a stale status without refreshing it behind: a stat (ls -la,
     * a file browser) must not set off a computation of every session it
     * passes. The next read refreshes it. */
    STATUS_NO_REFRESH = 1 << 1,
};

/*
 * The status of ref (NULL: every local session, for the root). A cached one
 * is returned at once (a stale one too, unless STATUS_FRESH, while a refresh
 * runs in the background); otherwise this waits for a worker, bounded, and
 * returns a placeholder when none answered in time. With STATUS_FRESH a
 * "safe" status is also checked against the source folder as it is now
 * (a grown file does not change the folder's mtime). *activity (may be NULL)
 * gets a copy of the running command's progress ("syncing 42%").
 */
int status_cache_get(struct status_cache *c, const struct mct_session_ref *ref, unsigned flags,
                     struct status_snap **ret, char **activity);

/* The status of ref (and of the root, which lists it) is out of date: the
 * next get waits for a new computation. */
void status_cache_invalidate(struct status_cache *c, const struct mct_session_ref *ref);

/* Progress of a running command, overlaid on the renderings (NULL: idle). */
void status_cache_set_activity(struct status_cache *c, const struct mct_session_ref *ref,
                               const char *activity);

/* The wait bound in seconds (share + database timeout + 1). */
unsigned status_cache_wait_seconds(const struct status_cache *c);
