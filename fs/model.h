/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount's live model of every session: what each virtual file renders
 * from. A sweeper thread collects the status of every local session with
 * the engine's set-based collection (mct_status_collect, a chunk of
 * sessions at a time: one share probe per destination, one child scanning
 * every copy, the DataJoint checks as a few queries), at mount and then
 * every cache_seconds / 2, and publishes a snapshot per session and the
 * root's renderings. A read that finds no snapshot younger than
 * cache_seconds queues its session, and worker threads compute what is
 * queued together, in one collection; a stat never waits (it gets the
 * newest snapshot, or a "pending" one). A hung share or database costs
 * the collection its timeout once (health.h), so every session waiting on
 * it is answered at once after that, "unreachable"/"unknown", never
 * "safe".
 *
 * Shaped like sshfs's cache.h: one way to read (model_get), one way to
 * say a status is out of date (model_invalidate).
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "forecast.h"
#include "metrics.h"
#include "report.h"
#include "session.h"
#include "status.h"
#include "util.h"

#define MODEL_SLOTS 4

/* One computed status (n = 1 for a session, every local session for the
 * root), immutable once published and shared by reference count. */
struct status_snap {
    struct mct_session_status *st; /* NULL for a computed root: only its renderings are kept */
    size_t n;
    int64_t computed_ms;         /* monotonic, when the computation started */
    struct timespec computed_at; /* wall clock */
    /* Per slot: when its text last changed, so a file's mtime moves only
     * when its content does. */
    struct timespec changed_at[MODEL_SLOTS];
    bool placeholder; /* not computed: every answer is "unknown" or "pending" */
    char *placeholder_reason;

    /* Renderings are pure functions of st, so each is made once; their
     * lengths are known from publishing, so a stat renders nothing. */
    pthread_mutex_t render_lock;
    char *rendered[MODEL_SLOTS];
    size_t rendered_len[MODEL_SLOTS];
    bool len_known[MODEL_SLOTS];

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

/* The root lists every session. Holding all their renderings at once would
 * double the mount's memory with years of sessions, so the sweep renders
 * the root a chunk of sessions at a time and keeps only its renderings:
 * called for each chunk (last: none follows; a tree without sessions gets
 * one call with n = 0). */
struct status_root_render {
    struct mct_buf out[MODEL_SLOTS]; /* one rendering per slot; unused slots stay empty */
    size_t done;                     /* sessions rendered by earlier calls */
    struct mct_range_totals totals;
    const struct mct_config *cfg; /* for the forecast under the table */
    struct mct_forecast_acc forecast;
    struct mct_metrics_sessions metrics; /* sessions by state, for .metrics */
    void *ud;                            /* the hooks' */
};
typedef int (*status_root_render_fn)(const struct mct_session_status *st, size_t n, bool last,
                                     struct status_root_render *r);

/* A session's rendering of slot (to tell whether its text changed). */
typedef int (*status_slot_render_fn)(const struct mct_session_status *st, unsigned slot,
                                     struct mct_buf *out);

/* Told (from a model thread, no lock held) when a new status of ref (NULL:
 * the root's) was published or its activity changed. */
typedef void (*status_update_fn)(void *ud, const struct mct_session_ref *ref);

struct model_hooks {
    status_root_render_fn root_render;
    status_slot_render_fn slot_render;
    status_update_fn on_update;
    void *ud;
};

/* What the model can say of itself (for metrics). */
struct model_counters {
    uint64_t sweeps, batches;
    int64_t last_sweep_ms; /* how long the last sweep took */
    time_t last_sweep_at;  /* when it ended, 0 never */
    size_t sessions;       /* in the last sweep */
    size_t safe, pending;  /* of them: safe; never computed */
    uint64_t source_walks; /* walks proving a "yes" still stands (model_watch.c) */
};

struct model;

int model_new(const struct mct_config *cfg, int base_fd, unsigned n_workers,
              const struct model_hooks *hooks, struct model **ret);
/* Stops the threads (each finishes its computation, bounded by the
 * engine's timeouts) and frees everything. */
void model_free(struct model *m);

enum {
    /* Never wait, never set off a computation of its own: a stat (ls -la,
     * a file browser) gets the newest snapshot whatever its age, or a
     * "pending" one, and the session joins the next batch. */
    MODEL_NO_WAIT = 1 << 0,
};

/*
 * The status of ref (NULL: every local session, for the root), never older
 * than cache_seconds: a fresh snapshot is returned at once; otherwise the
 * session is queued and this waits, at most mct_status_deadline_seconds(),
 * and returns an "unknown" placeholder when nothing answered in time.
 * A "safe" status is also checked against the source folder as it is now
 * (a grown file does not change the folder's mtime). *activity (may be
 * NULL) gets a copy of the running command's progress ("syncing 42%").
 */
int model_get(struct model *m, const struct mct_session_ref *ref, unsigned flags,
              struct status_snap **ret, char **activity);

/* The status of ref (and of the root, which lists it) is out of date: the
 * next get waits for a new computation. */
void model_invalidate(struct model *m, const struct mct_session_ref *ref);

/* Progress of a running command, overlaid on the renderings (NULL: idle). */
void model_set_activity(struct model *m, const struct mct_session_ref *ref, const char *activity);

/* The wait bound in seconds: the engine's (mct_status_deadline_seconds). */
unsigned model_wait_seconds(const struct model *m);

void model_counters(struct model *m, struct model_counters *out);

/* The sessions the model holds in the folder rel ("." for all of them):
 * how many, how many safe to delete now, how many not computed yet. */
struct model_summary {
    size_t sessions, safe, pending;
};
void model_summary(struct model *m, const char *rel, struct model_summary *out);
