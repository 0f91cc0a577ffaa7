/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sweep: at mount and every cache_seconds / 2, the status of every
 * local session in chunks (one collection, as status-range), each chunk
 * published as it lands, and the root's renderings made along the way.
 */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "model_int.h"
#include "session.h"
#include "util.h"

/* Publish the chunk's sessions whose entries did not change since the
 * chunk started (their statuses move into the snapshots), and count them. */
static void publish_chunk(struct model *m, const struct mct_session_ref *refs, size_t k,
                          struct mct_session_status *st, int64_t started, const uint64_t *gens,
                          size_t *n_safe)
{
    /* Snapshots, their renderings measured and their folders stat'ed,
     * before the lock: readers wait on it. */
    _cleanup_free_ struct status_snap **snaps = calloc(k ? k : 1, sizeof(*snaps));
    _cleanup_free_ uint64_t(*hashes)[MODEL_SLOTS] = calloc(k ? k : 1, sizeof(*hashes));
    _cleanup_free_ struct stat *dst = calloc(k ? k : 1, sizeof(*dst));
    _cleanup_free_ bool *have_dir = calloc(k ? k : 1, sizeof(*have_dir));
    if (!snaps || !hashes || !dst || !have_dir)
        return;
    for (size_t i = 0; i < k; i++) {
        *n_safe += st[i].safe_to_delete;
        _cleanup_free_ char *rel = NULL;
        have_dir[i] = mct_template_expand(m->cfg->source_path_structure, &refs[i], &rel) == 0 &&
                      model_dir_stat(m, rel, &dst[i]);
        if ((snaps[i] = model_snap_take(st, i, started)))
            model_measure(m, snaps[i], hashes[i]);
    }
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < k; i++) {
        struct entry *e = model_entry_get(m, &refs[i]);
        if (e)
            e->swept = true;
        if (e && snaps[i] && e->gen == gens[i] && !e->running)
            model_publish(m, e, TAKE_PTR(snaps[i]), hashes[i], have_dir[i], &dst[i]);
    }
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < k; i++)
        if (snaps[i])
            status_snap_unref(snaps[i]);
}

/* A sweep under way: the root's renderings so far, and the chunk's
 * entries' generations from before its collection. */
struct sweep {
    struct model *m;
    struct status_root_render rr;
    uint64_t gens[MCT_STATUS_CHUNK];
    int64_t chunk_started;
    size_t n_safe;
};

static int sweep_before(const struct mct_status_chunk *c, void *ud)
{
    struct sweep *w = ud;
    pthread_mutex_lock(&w->m->lock);
    for (size_t i = 0; i < c->n; i++) {
        struct entry *e = model_entry_get(w->m, &c->refs[i]);
        w->gens[i] = e ? e->gen : UINT64_MAX;
    }
    pthread_mutex_unlock(&w->m->lock);
    w->chunk_started = mct_now_ms();
    return 0;
}

static int sweep_chunk(struct mct_status_chunk *c, void *ud)
{
    struct sweep *w = ud;
    int r = w->m->hooks.root_render(c->st, c->n, c->last, &w->rr);
    publish_chunk(w->m, c->refs, c->n, c->st, w->chunk_started, w->gens, &w->n_safe);
    w->rr.done = c->off + c->n;
    for (size_t i = 0; i < c->n; i++)
        model_tell(w->m, &c->refs[i]);
    return r;
}

static struct status_snap *sweep(struct model *m, int64_t started)
{
    _cleanup_free_ struct mct_session_ref *refs = NULL;
    size_t n = 0;
    int r = mct_discover_sessions(m->cfg, NULL, NULL, &refs, &n);
    if (r < 0) {
        log_warning_errno(r, "cannot list the sessions under %s", m->cfg->source_base_path);
        return NULL;
    }
    _cleanup_free_ struct sweep *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    *w = (struct sweep){.m = m, .rr = {.cfg = m->cfg, .ud = m->hooks.ud}};
    r = mct_status_collect_chunks(
            m->cfg, refs, n, 0,
            &(struct mct_status_stream){.before = sweep_before, .each = sweep_chunk, .ud = w});
    if (r < 0) {
        log_warning_errno(r, "status of all sessions failed");
        for (unsigned i = 0; i < MODEL_SLOTS; i++)
            mct_buf_free(&w->rr.out[i]);
        return NULL;
    }
    pthread_mutex_lock(&m->lock);
    m->counters.sessions = n;
    m->counters.safe = w->n_safe;
    pthread_mutex_unlock(&m->lock);
    return model_snap_from_root(&w->rr, n, started);
}

static void wait_for_sweep_time(struct model *m, int64_t next_ms)
{
    while (!m->stopping && !m->sweep_asked) {
        if (next_ms < 0) {
            pthread_cond_wait(&m->work, &m->lock);
            continue;
        }
        int64_t left = next_ms - mct_now_ms();
        if (left <= 0)
            return;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&m->work, &m->lock, &ts);
    }
}

void *model_sweeper(void *arg)
{
    struct model *m = arg;
    int64_t period = model_sweep_period_ms(m->cfg->mount.cache_seconds);
    /* The first sweep at mount, so the first reads find a model. */
    int64_t next = period < 0 ? -1 : mct_now_ms();
    pthread_mutex_lock(&m->lock);
    for (;;) {
        wait_for_sweep_time(m, next);
        if (m->stopping)
            break;
        m->sweep_asked = false;
        uint64_t gen = m->root.gen;
        m->root.running = true;
        pthread_mutex_unlock(&m->lock);

        int64_t started = mct_now_ms();
        struct status_snap *s = sweep(m, started);
        uint64_t hashes[MODEL_SLOTS] = {0};
        if (s)
            model_measure(m, s, hashes);

        pthread_mutex_lock(&m->lock);
        m->root.running = false;
        mct_hashtab_foreach (link, &m->sessions)
            model_entry_of(link)->swept = false;
        m->counters.sweeps++;
        m->counters.last_sweep_ms = mct_now_ms() - started;
        m->counters.last_sweep_at = time(NULL);
        if (s && m->root.gen == gen)
            model_publish(m, &m->root, s, hashes, false, NULL);
        else if (s)
            status_snap_unref(s); /* something changed meanwhile: the root again */
        if (m->root.gen != gen)
            m->sweep_asked = true;
        pthread_cond_broadcast(&m->done);
        pthread_mutex_unlock(&m->lock);
        model_tell(m, NULL);
        pthread_mutex_lock(&m->lock);
        next = period < 0 ? -1 : started + period;
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}
