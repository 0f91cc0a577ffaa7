/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The live model's insides, shared by model.c (entries, reads, the
 * workers) and model_sweep.c (the periodic sweep of every session and
 * the root). Not for the rest of the mount: model.h is its interface.
 */
#pragma once

#include <sys/stat.h>

#include "hashtab.h"
#include "model.h"
#include "model_fresh.h"
#include "model_snap.h"

#define N_BUCKETS 1024

struct entry {
    bool root;
    struct mct_session_ref ref;
    char *rel; /* the session folder relative to the source base */

    struct status_snap *snap;    /* the newest computed status, NULL when none or invalid */
    struct status_snap *pending; /* what a stat shows until there is one, made once */
    uint64_t gen;                /* bumped by invalidate: a running computation is void */
    bool queued, running;
    bool swept; /* the running sweep has been here: it will not bring a status */

    /* The session folder as the computation behind snap saw it: a file
     * added or removed changes its mtime/ctime, which is a cheap test. */
    bool dir_known;
    struct timespec dir_mtime, dir_ctime;

    /* Each rendering's hash and when it last changed. */
    struct model_text_clock slot_clock[MODEL_SLOTS];

    /* The walk that proved the source unchanged since snap, and the
     * inotify watches that keep the proof (model_watch.c). */
    uint64_t published; /* snapshots published so far */
    uint64_t proven_published;
    bool proven, watch_event;
    struct model_watch_rec *watches;
    size_t n_watches;

    char *activity;
    struct mct_hash_link by_ref; /* in sessions (not the root) */
    struct entry *queue_next;
};

struct model {
    const struct mct_config *cfg;
    int base_fd;
    struct model_hooks hooks;

    pthread_mutex_t lock;
    pthread_cond_t work;         /* queue not empty, a sweep asked for, or stopping */
    pthread_cond_t done;         /* some status was published */
    struct mct_hashtab sessions; /* by ref */
    struct entry root;
    struct entry *queue_head, *queue_tail;
    bool sweep_asked, stopping;
    struct model_counters counters;

    int inotify_fd;
    pthread_mutex_t prove_lock;       /* one proof walk at a time */
    struct mct_hashtab watches_by_wd; /* struct model_watch_rec */
    size_t n_watches, watch_budget;
    uint64_t unknown_events; /* events of no registered watch: no proof during them */

    pthread_t sweeper;
    bool have_sweeper;
    pthread_t *workers;
    unsigned n_workers;
};

/* With m->lock held: the entry of ref, made when new (NULL on ENOMEM). */
struct entry *model_entry_of(const struct mct_hash_link *link);
struct entry *model_entry_get(struct model *m, const struct mct_session_ref *ref);
/* The session folder rel, stat'ed beneath the source (no lock needed). */
bool model_dir_stat(const struct model *m, const char *rel, struct stat *st);
/* Without the lock: each slot's length and text hash of s. */
void model_measure(struct model *m, struct status_snap *s, uint64_t hashes[MODEL_SLOTS]);
/* With the lock: s takes over e's snapshot (see model.c). */
void model_publish(struct model *m, struct entry *e, struct status_snap *s,
                   const uint64_t hashes[MODEL_SLOTS], bool have_dir, const struct stat *dst);
/* Without the lock: tell the mount ref's status changed (NULL: a sweep ended). */
void model_tell(struct model *m, const struct mct_session_ref *ref);

/* The proof that a safe session's source is what its status saw
 * (model_watch.c). */
void model_watch_init(struct model *m);
void model_watch_done(struct model *m);
/* With m->lock held. */
void model_watch_forget(struct model *m, struct entry *e);
/* Without the lock: does the proof for s (ref's snapshot) still stand? */
bool model_watch_proven(struct model *m, const struct mct_session_ref *ref,
                        const struct status_snap *s);
/* Without the lock: walk the source and compare with what s saw; when the
 * same, the proof stands until one of its folders changes. */
bool model_watch_prove(struct model *m, const struct mct_session_ref *ref,
                       const struct status_snap *s);

/* The sweeper thread (model_sweep.c). */
void *model_sweeper(void *arg);
