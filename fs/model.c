/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "beneath.h"
#include "hashtab.h"
#include "log.h"
#include "model_int.h"
#include "scan.h"

unsigned model_wait_seconds(const struct model *m)
{
    return mct_status_deadline_seconds(m->cfg);
}

/* ---- entries, with the lock held ---- */

static uint64_t ref_hash(const struct mct_session_ref *ref)
{
    return mct_fnv1a(mct_fnv1a(MCT_FNV1A_INIT, ref->participant_id), ref->session_date);
}

struct entry *model_entry_of(const struct mct_hash_link *link)
{
    return mct_hash_entry(link, struct entry, by_ref);
}

static bool is_ref(const struct mct_hash_link *link, const void *key)
{
    const struct mct_session_ref *a = &model_entry_of(link)->ref, *b = key;
    return streq(a->participant_id, b->participant_id) && streq(a->session_date, b->session_date);
}

/* NULL only on ENOMEM. */
struct entry *model_entry_get(struct model *m, const struct mct_session_ref *ref)
{
    if (!ref)
        return &m->root;
    uint64_t h = ref_hash(ref);
    struct mct_hash_link *link = mct_hashtab_find(&m->sessions, h, is_ref, ref);
    if (link)
        return model_entry_of(link);
    struct entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->ref = *ref;
    if (mct_template_expand(m->cfg->source_path_structure, ref, &e->rel) < 0) {
        free(e);
        return NULL;
    }
    mct_hashtab_add(&m->sessions, &e->by_ref, h);
    return e;
}

/* Sessions wait in the queue for a worker's batch; the root is a sweep.
 * While a sweep runs, a session it will publish is not queued: computing
 * it twice at once only slows both (the reader waits for the sweep, and
 * queues it after if the sweep did not bring it). */
static void entry_enqueue(struct model *m, struct entry *e)
{
    if (!e->root && m->root.running && !e->snap && !e->swept)
        return;
    if (e->root) {
        m->sweep_asked = true;
        pthread_cond_broadcast(&m->work);
        return;
    }
    if (e->queued || e->running)
        return;
    e->queued = true;
    e->queue_next = NULL;
    if (m->queue_tail)
        m->queue_tail->queue_next = e;
    else
        m->queue_head = e;
    m->queue_tail = e;
    pthread_cond_broadcast(&m->work);
}

static void entry_drop_snap(struct entry *e)
{
    if (e->snap)
        status_snap_unref(e->snap);
    e->snap = NULL;
}

static void entry_free(struct entry *e)
{
    entry_drop_snap(e);
    if (e->pending)
        status_snap_unref(e->pending);
    free(e->activity);
    free(e->rel);
}

static void drop_session(struct mct_hash_link *link)
{
    struct entry *e = model_entry_of(link);
    entry_free(e);
    free(e);
}

/* Stat the session folder (a cheap local call; the root has none). */
bool model_dir_stat(const struct model *m, const char *rel, struct stat *st)
{
    return rel && mct_stat_beneath(m->base_fd, rel, st, 0) == 0;
}

/* ---- publishing ---- */

static uint64_t text_hash(const struct mct_buf *b)
{
    return XXH3_64bits(b->data ? b->data : "", b->len);
}

/* Without the lock (rendering takes time): each slot's length, for stat,
 * and hash, to tell whether its text changed. */
void model_measure(struct model *m, struct status_snap *s, uint64_t hashes[MODEL_SLOTS])
{
    for (unsigned slot = 0; slot < MODEL_SLOTS; slot++) {
        _cleanup_buf_ struct mct_buf b = {};
        hashes[slot] = 0;
        if (s->st && m->hooks.slot_render && m->hooks.slot_render(s->st, slot, &b) >= 0) {
            hashes[slot] = text_hash(&b);
            s->rendered_len[slot] = b.len;
            s->len_known[slot] = true;
        } else if (s->rendered[slot]) {
            hashes[slot] = XXH3_64bits(s->rendered[slot], s->rendered_len[slot]);
        }
    }
}

/* With the lock held: the new snapshot of e takes over from the old one;
 * each slot keeps its old mtime when its text (hashes, from measure) did
 * not change. */
void model_publish(struct model *m, struct entry *e, struct status_snap *s,
                   const uint64_t hashes[MODEL_SLOTS], bool have_dir, const struct stat *dst)
{
    for (unsigned slot = 0; slot < MODEL_SLOTS; slot++)
        s->changed_at[slot] =
                model_text_clock_tick(&e->slot_clock[slot], hashes[slot], &s->computed_at);
    entry_drop_snap(e);
    e->snap = s;
    e->published++;
    /* A stat shows snap from now on: the "pending" one (a status with its
     * renderings, some kilobytes) would only sit there with every session
     * ever stat'ed before it was computed. */
    if (e->pending) {
        status_snap_unref(e->pending);
        e->pending = NULL;
    }
    e->dir_known = have_dir;
    if (have_dir) {
        e->dir_mtime = dst->st_mtim;
        e->dir_ctime = dst->st_ctim;
    }
    pthread_cond_broadcast(&m->done);
}

/* Tell the mount (no lock held): the kernel forgets the old sizes. */
void model_tell(struct model *m, const struct mct_session_ref *ref)
{
    if (m->hooks.on_update)
        m->hooks.on_update(m->hooks.ud, ref);
}

/* ---- computing: batches of queued sessions ---- */

/* Collect n entries together and publish each whose generation did not
 * change meanwhile (an invalidated one goes back into the queue). */
static void compute_batch(struct model *m, struct entry **batch, size_t n)
{
    _cleanup_free_ struct mct_session_ref *refs = calloc(n, sizeof(*refs));
    _cleanup_free_ uint64_t *gens = calloc(n, sizeof(*gens));
    _cleanup_free_ struct stat *dst = calloc(n, sizeof(*dst));
    _cleanup_free_ bool *have_dir = calloc(n, sizeof(*have_dir));
    if (!refs || !gens || !dst || !have_dir)
        return;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < n; i++) {
        refs[i] = batch[i]->ref;
        gens[i] = batch[i]->gen;
    }
    pthread_mutex_unlock(&m->lock);

    /* Stat before collecting: a change during the collection then shows
     * as a difference at the next read and triggers another one. */
    for (size_t i = 0; i < n; i++)
        have_dir[i] = model_dir_stat(m, batch[i]->rel, &dst[i]);
    int64_t started = mct_now_ms();
    struct mct_session_status *st = NULL;
    int r = mct_status_collect(m->cfg, refs, n, 0, &st);
    if (r < 0)
        log_warning_errno(r, "status of %zu sessions failed", n);

    _cleanup_free_ struct status_snap **snaps = calloc(n, sizeof(*snaps));
    _cleanup_free_ uint64_t(*hashes)[MODEL_SLOTS] = calloc(n, sizeof(*hashes));
    for (size_t i = 0; r >= 0 && snaps && hashes && i < n; i++)
        if ((snaps[i] = model_snap_take(st, i, started)))
            model_measure(m, snaps[i], hashes[i]);

    pthread_mutex_lock(&m->lock);
    m->counters.batches++;
    for (size_t i = 0; i < n; i++) {
        struct entry *e = batch[i];
        e->running = false;
        struct status_snap *s = snaps && hashes ? snaps[i] : NULL;
        if (e->gen != gens[i]) {
            /* Invalidated meanwhile (a command finished): this result may
             * predate it, so it is computed again. */
            if (s)
                status_snap_unref(s);
            entry_enqueue(m, e);
        } else if (s) {
            model_publish(m, e, s, hashes[i], have_dir[i], &dst[i]);
        }
    }
    pthread_cond_broadcast(&m->done);
    pthread_mutex_unlock(&m->lock);
    if (st)
        mct_session_status_free_array(st, n);
    for (size_t i = 0; i < n; i++)
        model_tell(m, &refs[i]);
}

static void *worker(void *arg)
{
    struct model *m = arg;
    struct entry **batch = calloc(MCT_STATUS_CHUNK, sizeof(*batch));
    if (!batch)
        return NULL;
    pthread_mutex_lock(&m->lock);
    for (;;) {
        while (!m->stopping && !m->queue_head)
            pthread_cond_wait(&m->work, &m->lock);
        if (m->stopping)
            break;
        /* Everything queued, up to a chunk: one collection for all. */
        size_t n = 0;
        while (m->queue_head && n < MCT_STATUS_CHUNK) {
            struct entry *e = m->queue_head;
            m->queue_head = e->queue_next;
            e->queued = false;
            e->running = true;
            batch[n++] = e;
        }
        if (!m->queue_head)
            m->queue_tail = NULL;
        pthread_mutex_unlock(&m->lock);
        compute_batch(m, batch, n);
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    free(batch);
    return NULL;
}

/* ---- the API ---- */

int model_new(const struct mct_config *cfg, int base_fd, unsigned n_workers,
              const struct model_hooks *hooks, struct model **ret)
{
    struct model *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->cfg = cfg;
    m->base_fd = base_fd;
    m->hooks = *hooks;
    m->root.root = true;
    if (mct_hashtab_init(&m->sessions, N_BUCKETS) < 0) {
        free(m);
        return -ENOMEM;
    }
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->prove_lock, NULL);
    model_watch_init(m);

    /* Deadlines are monotonic: a wall clock step must not stretch a wait. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->done, &ca);
    pthread_cond_init(&m->work, &ca);
    pthread_condattr_destroy(&ca);

    m->workers = calloc(n_workers, sizeof(*m->workers));
    if (!m->workers) {
        model_free(m);
        return -ENOMEM;
    }
    int r = -pthread_create(&m->sweeper, NULL, model_sweeper, m);
    m->have_sweeper = r == 0;
    for (unsigned i = 0; r == 0 && i < n_workers; i++) {
        r = -pthread_create(&m->workers[i], NULL, worker, m);
        if (r == 0)
            m->n_workers++;
    }
    if (r < 0) {
        model_free(m);
        return r;
    }
    *ret = m;
    return 0;
}

void model_free(struct model *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_broadcast(&m->work);
    pthread_mutex_unlock(&m->lock);
    if (m->have_sweeper)
        pthread_join(m->sweeper, NULL);
    for (unsigned i = 0; i < m->n_workers; i++)
        pthread_join(m->workers[i], NULL);
    free(m->workers);

    model_watch_done(m);
    mct_hashtab_clear(&m->sessions, drop_session);
    mct_hashtab_done(&m->sessions);
    entry_free(&m->root);
    pthread_cond_destroy(&m->work);
    pthread_cond_destroy(&m->done);
    pthread_mutex_destroy(&m->prove_lock);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* With the lock held: is e's snapshot one a read may be given? Files added
 * or removed in the session folder since (its mtime/ctime) drop it. */
static bool usable(struct model *m, struct entry *e, int64_t asked_ms)
{
    if (!e->snap)
        return false;
    struct stat dst;
    if (e->dir_known && !e->root && model_dir_stat(m, e->rel, &dst) &&
        model_folder_changed(&e->dir_mtime, &e->dir_ctime, &dst)) {
        entry_drop_snap(e);
        e->gen++;
        return false;
    }
    return model_snap_fresh(e->snap->computed_ms, asked_ms, mct_now_ms(),
                            m->cfg->mount.cache_seconds);
}

static int get_once(struct model *m, const struct mct_session_ref *ref, unsigned flags,
                    struct status_snap **ret, char **activity)
{
    int64_t asked_ms = mct_now_ms();
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += mct_status_deadline_seconds(m->cfg);

    pthread_mutex_lock(&m->lock);
    struct entry *e = model_entry_get(m, ref);
    if (!e) {
        pthread_mutex_unlock(&m->lock);
        return -ENOMEM;
    }
    struct status_snap *s = NULL;
    if (flags & MODEL_NO_WAIT) {
        /* Whatever is there, or "pending"; it is brought up to date behind.
         * (A stat does not look at the folder: the next read does.) */
        /* Not the root while a sweep runs: its end is the root's new
         * snapshot, and a sweep asked for now would run again at once,
         * building a second root beside the first (15 MB more with
         * 10,000 sessions, for a listing of the mount during the first). */
        bool stale = !e->snap || !model_snap_young(e->snap->computed_ms, mct_now_ms(),
                                                   m->cfg->mount.cache_seconds);
        if (stale && !(e->root && m->root.running))
            entry_enqueue(m, e);
        if (!e->snap && !e->pending)
            /* Made once per entry (a file browser stats the same files
             * over and over), and for the root without listing the
             * sessions: the sweep that will say is running. */
            e->pending = model_snap_placeholder(m->cfg, ref, true);
        s = e->snap ? status_snap_ref(e->snap) : e->pending ? status_snap_ref(e->pending) : NULL;
    } else {
        /* usable() stats the session folder: once per look. */
        bool ok;
        while (!(ok = usable(m, e, asked_ms))) {
            entry_enqueue(m, e);
            if (pthread_cond_timedwait(&m->done, &m->lock, &deadline) == ETIMEDOUT) {
                /* One last look: it may have landed with the timeout. */
                ok = usable(m, e, asked_ms);
                break;
            }
        }
        s = ok ? status_snap_ref(e->snap) : NULL;
    }
    if (activity)
        *activity = e->activity && s ? strdup(e->activity) : NULL;
    pthread_mutex_unlock(&m->lock);

    if (!s && !(flags & MODEL_NO_WAIT))
        log_warning("status of %s not computed within %u s, answering unknown",
                    ref ? e->rel : "all sessions", mct_status_deadline_seconds(m->cfg));
    if (!s)
        s = model_snap_placeholder(m->cfg, ref, flags & MODEL_NO_WAIT);
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

/* A "yes" is given only with the proof that the source is still what it
 * was computed from (model_watch.c): a file that grew since is computed
 * again first. */
int model_get(struct model *m, const struct mct_session_ref *ref, unsigned flags,
              struct status_snap **ret, char **activity)
{
    int r = get_once(m, ref, flags, ret, activity);
    if (r < 0 || !ref || (flags & MODEL_NO_WAIT) || (*ret)->placeholder ||
        !(*ret)->st[0].safe_to_delete || model_watch_proven(m, ref, *ret) ||
        model_watch_prove(m, ref, *ret))
        return r;

    log_info("%s/%s changed since its status was computed, computing it again", ref->participant_id,
             ref->session_date);
    status_snap_unref(*ret);
    if (activity) {
        free(*activity);
        *activity = NULL;
    }
    model_invalidate(m, ref);
    /* What this returns was computed after the change: no second walk. */
    return get_once(m, ref, flags, ret, activity);
}

void model_invalidate(struct model *m, const struct mct_session_ref *ref)
{
    pthread_mutex_lock(&m->lock);
    struct entry *e = ref ? model_entry_get(m, ref) : NULL;
    if (e) {
        e->gen++;
        entry_drop_snap(e);
        /* Computed again now, not when someone next asks. */
        entry_enqueue(m, e);
    }
    m->root.gen++;
    entry_drop_snap(&m->root);
    pthread_mutex_unlock(&m->lock);
}

void model_set_activity(struct model *m, const struct mct_session_ref *ref, const char *activity)
{
    bool changed = false;

    pthread_mutex_lock(&m->lock);
    struct entry *e = model_entry_get(m, ref);
    if (e && !(activity && e->activity && streq(activity, e->activity))) {
        char *copy = activity ? strdup(activity) : NULL;
        if (!activity || copy) {
            free(e->activity);
            e->activity = copy;
            changed = true;
        }
    }
    pthread_mutex_unlock(&m->lock);

    if (changed)
        model_tell(m, ref);
}

void model_counters(struct model *m, struct model_counters *out)
{
    pthread_mutex_lock(&m->lock);
    *out = m->counters;
    size_t pending = 0;
    mct_hashtab_foreach (link, &m->sessions)
        pending += !model_entry_of(link)->snap;
    out->pending = pending;
    pthread_mutex_unlock(&m->lock);
}

void model_summary(struct model *m, const char *rel, struct model_summary *out)
{
    *out = (struct model_summary){0};
    bool all = streq(rel, ".");
    size_t len = strlen(rel);
    pthread_mutex_lock(&m->lock);
    mct_hashtab_foreach (link, &m->sessions) {
        const struct entry *e = model_entry_of(link);
        if (!all && !(strncmp(e->rel, rel, len) == 0 && e->rel[len] == '/'))
            continue;
        out->sessions++;
        if (!e->snap)
            out->pending++;
        else if (e->snap->st && e->snap->st[0].safe_to_delete)
            out->safe++;
    }
    pthread_mutex_unlock(&m->lock);
}
