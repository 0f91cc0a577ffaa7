/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "status_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "beneath.h"
#include "log.h"
#include "scan.h"

#define N_BUCKETS 256

struct entry {
    bool root;
    struct mct_session_ref ref;
    char *rel; /* the session folder relative to the source base */

    struct status_snap *snap; /* the newest computed status, NULL when invalid */
    uint64_t gen;             /* bumped by invalidate: a running computation is void */
    bool queued, running;

    /* The session folder as the computation behind snap saw it: a file
     * added or removed changes its mtime/ctime, which is a cheap test. */
    bool dir_known;
    struct timespec dir_mtime, dir_ctime;

    char *activity;
    struct entry *bucket_next, *queue_next;
};

struct status_cache {
    const struct mct_config *cfg;
    int base_fd;
    status_root_render_fn root_render;
    status_update_fn on_update;
    void *ud;

    pthread_mutex_t lock;
    pthread_cond_t work; /* queue not empty, or stopping */
    pthread_cond_t done; /* some status was published */
    struct entry *buckets[N_BUCKETS];
    struct entry root;
    struct entry *queue_head, *queue_tail;
    bool stopping;

    pthread_t *workers;
    unsigned n_workers;
};

/* ---- snapshots ---- */

struct status_snap *status_snap_ref(struct status_snap *s)
{
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    return s;
}

void status_snap_unref(struct status_snap *s)
{
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    mct_session_status_free_array(s->st, s->n);
    for (unsigned i = 0; i < STATUS_SNAP_SLOTS; i++)
        free(s->rendered[i]);
    free(s->placeholder_reason);
    pthread_mutex_destroy(&s->render_lock);
    free(s);
}

static struct status_snap *snap_new(struct mct_session_status *st, size_t n, int64_t started_ms)
{
    struct status_snap *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->st = st;
    s->n = n;
    s->computed_ms = started_ms;
    clock_gettime(CLOCK_REALTIME, &s->computed_at);
    pthread_mutex_init(&s->render_lock, NULL);
    s->refs = 1;
    return s;
}

int status_snap_render(struct status_snap *s, unsigned slot, status_render_fn fn, const char **ret,
                       size_t *len)
{
    int r = 0;

    pthread_mutex_lock(&s->render_lock);
    if (!s->rendered[slot]) {
        _cleanup_buf_ struct mct_buf b = {};
        /* A computed root has every slot it serves rendered already. */
        r = s->st || s->n == 0 ? fn(s->st, s->n, s->placeholder_reason, &b) : -EIO;
        if (r >= 0) {
            s->rendered_len[slot] = b.len;
            s->rendered[slot] = mct_buf_steal(&b);
        }
    }
    if (r >= 0 && len)
        *len = s->rendered_len[slot];
    if (r >= 0 && ret)
        *ret = s->rendered[slot];
    pthread_mutex_unlock(&s->render_lock);
    return r;
}

/* ---- placeholders: what we say when no worker answered in time ---- */

static int placeholder_status(const struct mct_config *cfg, const struct mct_session_ref *ref,
                              const char *why, struct mct_session_status *st)
{
    *st = (struct mct_session_status){.ref = *ref, .source_exists = true};
    st->dj.state = MCT_UNKNOWN;
    for (unsigned i = 0; i < MCT_DJ_N_CHECKS; i++)
        st->dj.checks[i] = MCT_UNKNOWN;
    snprintf(st->dj.reason, sizeof(st->dj.reason), "%s", why);
    st->backup = MCT_UNKNOWN;
    st->verified = MCT_UNKNOWN;
    st->safe_to_delete = false;

    int r = mct_session_source_path(cfg, ref, &st->source_path);
    if (r < 0)
        return r;
    r = mct_strv_pushf(&st->reasons, "%s", why);
    if (r < 0)
        return r;

    st->dests = calloc(cfg->n_destinations ? cfg->n_destinations : 1, sizeof(*st->dests));
    if (!st->dests)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->n_destinations; i++) {
        const struct mct_destination *d = &cfg->destinations[i];
        if (!d->enabled)
            continue;
        struct mct_dest_status *ds = &st->dests[st->n_dests++];
        ds->dest = d;
        ds->state = MCT_DEST_UNREACHABLE;
        ds->verify.state = MCT_DEST_UNREACHABLE;
        ds->detail = strdup(why);
        if (!ds->detail)
            return -ENOMEM;
        r = mct_session_dest_path(d, ref, &ds->path);
        if (r < 0)
            return r;
    }
    return 0;
}

static struct status_snap *placeholder_snap(const struct status_cache *c,
                                            const struct mct_session_ref *ref)
{
    _cleanup_free_ struct mct_session_ref *refs = NULL;
    size_t n = 0;
    _cleanup_free_ char *why =
            mct_strdup_printf("status not computed within %u s (share or database slow)",
                              status_cache_wait_seconds(c));
    if (!why)
        return NULL;

    if (ref) {
        refs = malloc(sizeof(*refs));
        if (!refs)
            return NULL;
        refs[0] = *ref;
        n = 1;
    } else if (mct_discover_sessions(c->cfg, NULL, NULL, &refs, &n) < 0) {
        /* Listing local folders only; if even that fails the root says so. */
        n = 0;
    }

    struct mct_session_status *st = calloc(n ? n : 1, sizeof(*st));
    if (!st)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (placeholder_status(c->cfg, &refs[i], why, &st[i]) < 0) {
            mct_session_status_free_array(st, i + 1);
            return NULL;
        }

    struct status_snap *s = snap_new(st, n, mct_now_ms());
    if (!s) {
        mct_session_status_free_array(st, n);
        return NULL;
    }
    s->placeholder = true;
    s->placeholder_reason = TAKE_PTR(why);
    return s;
}

/* ---- entries ---- */

static unsigned ref_hash(const struct mct_session_ref *ref)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = ref->participant_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (const char *p = ref->session_date; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % N_BUCKETS;
}

static bool ref_eq(const struct mct_session_ref *a, const struct mct_session_ref *b)
{
    return streq(a->participant_id, b->participant_id) && streq(a->session_date, b->session_date);
}

/* Called with the lock held. NULL only on ENOMEM. */
static struct entry *entry_get(struct status_cache *c, const struct mct_session_ref *ref)
{
    if (!ref)
        return &c->root;

    unsigned h = ref_hash(ref);
    for (struct entry *e = c->buckets[h]; e; e = e->bucket_next)
        if (ref_eq(&e->ref, ref))
            return e;

    struct entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->ref = *ref;
    if (mct_template_expand(c->cfg->source_path_structure, ref, &e->rel) < 0) {
        free(e);
        return NULL;
    }
    e->bucket_next = c->buckets[h];
    c->buckets[h] = e;
    return e;
}

static void entry_enqueue(struct status_cache *c, struct entry *e)
{
    if (e->queued)
        return;
    e->queued = true;
    e->queue_next = NULL;
    if (c->queue_tail)
        c->queue_tail->queue_next = e;
    else
        c->queue_head = e;
    c->queue_tail = e;
    pthread_cond_signal(&c->work);
}

static void entry_drop_snap(struct entry *e)
{
    if (e->snap)
        status_snap_unref(e->snap);
    e->snap = NULL;
}

static bool timespec_eq(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Stat the session folder (a cheap local call; the root has none). */
static bool dir_stat(const struct status_cache *c, const struct entry *e, struct stat *st)
{
    return !e->root && mct_stat_beneath(c->base_fd, e->rel, st, 0) == 0;
}

/* ---- workers ---- */

static void root_render_clear(struct status_root_render *rr)
{
    for (unsigned i = 0; i < STATUS_SNAP_SLOTS; i++)
        mct_buf_free(&rr->out[i]);
}

static struct status_snap *compute_root(struct status_cache *c, int64_t started)
{
    _cleanup_free_ struct mct_session_ref *refs = NULL;
    size_t n = 0;
    int r = mct_discover_sessions(c->cfg, NULL, NULL, &refs, &n);
    if (r < 0) {
        log_warning_errno(r, "cannot list the sessions under %s", c->cfg->source_base_path);
        return NULL;
    }

    struct status_root_render rr = {.cfg = c->cfg};
    size_t off = 0;
    do {
        size_t k = n - off < MCT_STATUS_CHUNK ? n - off : MCT_STATUS_CHUNK;
        struct mct_session_status *st = NULL;
        r = mct_status_collect(c->cfg, n ? refs + off : NULL, k, 0, &st);
        if (r >= 0) {
            r = c->root_render(st, k, off + k == n, &rr);
            mct_session_status_free_array(st, k);
        }
        off += k;
        rr.done = off;
    } while (r >= 0 && off < n);
    if (r < 0) {
        log_warning_errno(r, "status of all sessions failed");
        root_render_clear(&rr);
        return NULL;
    }

    struct status_snap *s = snap_new(NULL, n, started);
    if (!s) {
        root_render_clear(&rr);
        return NULL;
    }
    for (unsigned i = 0; i < STATUS_SNAP_SLOTS; i++)
        if (rr.out[i].data) {
            s->rendered_len[i] = rr.out[i].len;
            s->rendered[i] = mct_buf_steal(&rr.out[i]);
        }
    return s;
}

static struct status_snap *compute(struct status_cache *c, const struct entry *e, int64_t started)
{
    if (e->root)
        return compute_root(c, started);

    struct mct_session_status *st = NULL;
    int r = mct_status_collect(c->cfg, &e->ref, 1, 0, &st);
    if (r < 0) {
        log_warning_errno(r, "status of %s failed", e->rel);
        return NULL;
    }
    struct status_snap *s = snap_new(st, 1, started);
    if (!s)
        mct_session_status_free_array(st, 1);
    return s;
}

static void *worker(void *arg)
{
    struct status_cache *c = arg;

    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->stopping && !c->queue_head)
            pthread_cond_wait(&c->work, &c->lock);
        if (c->stopping)
            break;

        struct entry *e = c->queue_head;
        c->queue_head = e->queue_next;
        if (!c->queue_head)
            c->queue_tail = NULL;
        e->queued = false;
        e->running = true;
        uint64_t gen = e->gen;
        pthread_mutex_unlock(&c->lock);

        /* Stat before collecting: a change during the collection then shows
         * as a difference at the next read and triggers another one. */
        struct stat dst;
        bool have_dir = dir_stat(c, e, &dst);
        struct status_snap *s = compute(c, e, mct_now_ms());

        pthread_mutex_lock(&c->lock);
        e->running = false;
        bool published = false;
        if (e->gen != gen) {
            /* Invalidated meanwhile (a command finished): this result may
             * predate it, so it is thrown away and computed again. */
            if (s)
                status_snap_unref(s);
            entry_enqueue(c, e);
        } else if (s) {
            entry_drop_snap(e);
            e->snap = s;
            e->dir_known = have_dir;
            if (have_dir) {
                e->dir_mtime = dst.st_mtim;
                e->dir_ctime = dst.st_ctim;
            }
            published = true;
        }
        pthread_cond_broadcast(&c->done);

        if (published && c->on_update) {
            struct mct_session_ref ref = e->ref;
            bool root = e->root;
            pthread_mutex_unlock(&c->lock);
            c->on_update(c->ud, root ? NULL : &ref);
            pthread_mutex_lock(&c->lock);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* ---- the API ---- */

unsigned status_cache_wait_seconds(const struct status_cache *c)
{
    return c->cfg->share_timeout_s + c->cfg->database_timeout_s + 1;
}

int status_cache_new(const struct mct_config *cfg, int base_fd, unsigned n_workers,
                     status_root_render_fn root_render, status_update_fn on_update, void *ud,
                     struct status_cache **ret)
{
    struct status_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cfg = cfg;
    c->base_fd = base_fd;
    c->root_render = root_render;
    c->on_update = on_update;
    c->ud = ud;
    c->root.root = true;
    pthread_mutex_init(&c->lock, NULL);

    /* Deadlines are monotonic: a wall clock step must not stretch a wait. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->done, &ca);
    pthread_cond_init(&c->work, &ca);
    pthread_condattr_destroy(&ca);

    c->workers = calloc(n_workers, sizeof(*c->workers));
    if (!c->workers) {
        status_cache_free(c);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < n_workers; i++) {
        int r = pthread_create(&c->workers[i], NULL, worker, c);
        if (r != 0) {
            status_cache_free(c);
            return -r;
        }
        c->n_workers++;
    }
    *ret = c;
    return 0;
}

void status_cache_free(struct status_cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_broadcast(&c->work);
    pthread_mutex_unlock(&c->lock);
    for (unsigned i = 0; i < c->n_workers; i++)
        pthread_join(c->workers[i], NULL);
    free(c->workers);

    for (unsigned h = 0; h < N_BUCKETS; h++)
        while (c->buckets[h]) {
            struct entry *e = c->buckets[h];
            c->buckets[h] = e->bucket_next;
            entry_drop_snap(e);
            free(e->activity);
            free(e->rel);
            free(e);
        }
    entry_drop_snap(&c->root);
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static void deadline_after(struct timespec *ts, unsigned seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += seconds;
}

static int get_once(struct status_cache *c, const struct mct_session_ref *ref, unsigned flags,
                    struct status_snap **ret, char **activity)
{
    int64_t ttl_ms = (int64_t)c->cfg->mount.cache_seconds * 1000;
    /* A computation that started after this question was asked is fresh
     * for it whatever the ttl: with cache_seconds 0 nothing else ever is. */
    int64_t asked_ms = mct_now_ms();
    struct timespec deadline;
    deadline_after(&deadline, status_cache_wait_seconds(c));

    pthread_mutex_lock(&c->lock);
    struct entry *e = entry_get(c, ref);
    if (!e) {
        pthread_mutex_unlock(&c->lock);
        return -ENOMEM;
    }

    for (;;) {
        if (e->snap) {
            bool fresh = mct_now_ms() - e->snap->computed_ms < ttl_ms ||
                         e->snap->computed_ms >= asked_ms;
            bool changed = false;
            struct stat dst;
            if (e->dir_known && dir_stat(c, e, &dst))
                changed = !timespec_eq(&dst.st_mtim, &e->dir_mtime) ||
                          !timespec_eq(&dst.st_ctim, &e->dir_ctime);
            if (changed) {
                /* Files were added or removed: what we have is wrong. */
                entry_drop_snap(e);
                e->gen++;
            } else if (fresh || !(flags & STATUS_FRESH)) {
                if (!fresh && !e->running && !(flags & STATUS_NO_REFRESH))
                    entry_enqueue(c, e); /* served stale, refreshed behind */
                *ret = status_snap_ref(e->snap);
                break;
            }
        }
        if (!e->running)
            entry_enqueue(c, e);

        if (pthread_cond_timedwait(&c->done, &c->lock, &deadline) == ETIMEDOUT) {
            /* One last look: the status may have landed with the timeout. */
            if (e->snap && (!(flags & STATUS_FRESH) || e->snap->computed_ms >= asked_ms ||
                            mct_now_ms() - e->snap->computed_ms < ttl_ms)) {
                *ret = status_snap_ref(e->snap);
                break;
            }
            pthread_mutex_unlock(&c->lock);
            log_warning("status of %s not computed within %u s, answering unknown",
                        ref ? e->rel : "all sessions", status_cache_wait_seconds(c));
            struct status_snap *s = placeholder_snap(c, ref);
            if (!s)
                return -ENOMEM;
            *ret = s;
            if (activity)
                *activity = NULL;
            return 0;
        }
    }

    if (activity) {
        *activity = e->activity ? strdup(e->activity) : NULL;
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* A "yes" is only as good as the source it was computed from. A file that
 * grew (the rig still recording) leaves the folder's mtime alone, so the
 * folder is walked again and compared; it is local disk, the walk the
 * worker did, and it is done only for a "yes". */
static bool source_unchanged(const struct status_cache *c, const struct mct_session_status *st)
{
    struct mct_scan now = {};

    if (!st->source_path || mct_scan_tree(st->source_path, c->cfg->exclude_patterns, &now) < 0)
        return false;
    bool same = now.n_files == st->source.n_files && now.bytes == st->source.bytes &&
                timespec_eq(&now.newest_mtime, &st->source.newest_mtime);
    mct_scan_free(&now);
    return same;
}

int status_cache_get(struct status_cache *c, const struct mct_session_ref *ref, unsigned flags,
                     struct status_snap **ret, char **activity)
{
    int r = get_once(c, ref, flags, ret, activity);
    if (r < 0 || !ref || !(flags & STATUS_FRESH) || (*ret)->placeholder ||
        !(*ret)->st[0].safe_to_delete || source_unchanged(c, &(*ret)->st[0]))
        return r;

    log_info("%s/%s changed since its status was computed, computing it again", ref->participant_id,
             ref->session_date);
    status_snap_unref(*ret);
    if (activity) {
        free(*activity);
        *activity = NULL;
    }
    status_cache_invalidate(c, ref);
    /* What this returns was computed after the change: no second walk. */
    return get_once(c, ref, flags, ret, activity);
}

void status_cache_invalidate(struct status_cache *c, const struct mct_session_ref *ref)
{
    pthread_mutex_lock(&c->lock);
    struct entry *e = ref ? entry_get(c, ref) : NULL;
    if (e) {
        e->gen++;
        entry_drop_snap(e);
    }
    c->root.gen++;
    entry_drop_snap(&c->root);
    pthread_mutex_unlock(&c->lock);
}

void status_cache_set_activity(struct status_cache *c, const struct mct_session_ref *ref,
                               const char *activity)
{
    bool changed = false;

    pthread_mutex_lock(&c->lock);
    struct entry *e = entry_get(c, ref);
    if (e && !(activity && e->activity && streq(activity, e->activity))) {
        char *copy = activity ? strdup(activity) : NULL;
        if (!activity || copy) {
            free(e->activity);
            e->activity = copy;
            changed = true;
        }
    }
    pthread_mutex_unlock(&c->lock);

    if (changed && c->on_update)
        c->on_update(c->ud, ref);
}
