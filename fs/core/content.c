/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Source and copy hashed at once: a thread reads the local disk while a
 * forked child reads the share, so a session costs the slower of the two
 * reads, not their sum. Only the main thread talks to the caller (the
 * progress callback need not be thread-safe): it reads the child's
 * messages and polls the thread's byte counter.
 */
#include "content.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "share.h"
#include "util.h"

#define PROGRESS_EVERY_MS 250
#define SUMMARY_NAMES     5

/* ---- progress ---- */

struct progress {
    const struct mct_content_progress *p;
    uint64_t total;
    _Atomic uint64_t source_done; /* written by the source thread */
    uint64_t copy_done;
    int64_t start_ms, last_ms;
    int last_pct;
};

static void progress_report(struct progress *pg, bool force)
{
    if (!pg->p || !pg->p->fn)
        return;
    uint64_t done = atomic_load(&pg->source_done) + pg->copy_done;
    if (done > pg->total)
        done = pg->total;
    int pct = pg->total ? (int)(done * 100 / pg->total) : 100;
    int64_t now = mct_now_ms();
    if (!force && pct == pg->last_pct && now - pg->last_ms < PROGRESS_EVERY_MS)
        return;
    pg->last_ms = now;
    pg->last_pct = pct;
    double secs = (double)(now - pg->start_ms) / 1000.0;
    double rate = secs > 0.05 ? (double)done / secs : 0;
    unsigned eta = rate > 0 ? (unsigned)((double)(pg->total - done) / rate) : 0;
    char a[32], b[32], detail[256];
    snprintf(detail, sizeof(detail), "%s: %s of %s hashed, %.0f MB/s, ETA %u:%02u",
             pg->p->label ? pg->p->label : "", mct_format_bytes(done, a, sizeof(a)),
             mct_format_bytes(pg->total, b, sizeof(b)), rate / 1e6, eta / 60, eta % 60);
    pg->p->fn(pg->p->ud, "verifying", pct, detail);
}

/* ---- the share side, in a child ---- */

enum { MSG_PROGRESS = 1, MSG_RESULT = 2 };

/* Both ends are this binary: native layout. */
struct wire_msg {
    uint32_t kind;
    int32_t err;
    uint64_t index;
    uint64_t bytes; /* MSG_PROGRESS */
    unsigned char hash[16];
    uint64_t size, ino;
    int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
    uint32_t mode, pad;
};

struct remote_args {
    const struct mct_destination *dest;
    const char *dir;
    char *const *relpaths;
    size_t n;
    int wfd;
};

static void remote_on_bytes(void *ud, uint64_t n)
{
    const struct remote_args *a = ud;
    struct wire_msg m = {.kind = MSG_PROGRESS, .bytes = n};
    if (mct_share_child_write(a->wfd, &m, sizeof(m)) < 0)
        _exit(1); /* the parent gave up on us */
}

/* Forked from the threaded daemon: system calls and static buffers only
 * (see share.c), hence the static hash state and no progress formatting
 * here; the parent turns the byte counts into progress. */
static void remote_child(int wfd, void *ud)
{
    struct remote_args *a = ud;
    a->wfd = wfd;
    int dirfd = mct_share_open_in_child(a->dest, a->dir, false, NULL);
    int dir_err = dirfd < 0 ? dirfd : 0;
    for (size_t i = 0; i < a->n; i++) {
        struct wire_msg m = {.kind = MSG_RESULT, .index = i};
        struct mct_hash h = {0};
        struct mct_file st = {0};
        int r = dir_err ? dir_err
                        : mct_hash_path_static(dirfd, a->relpaths[i], true, remote_on_bytes, a, &h,
                                               &st);
        m.err = r;
        if (r == 0) {
            memcpy(m.hash, h.b, sizeof(m.hash));
            m.size = st.size;
            m.ino = (uint64_t)st.ino;
            m.mtime_s = st.mtime.tv_sec;
            m.mtime_ns = st.mtime.tv_nsec;
            m.ctime_s = st.ctime.tv_sec;
            m.ctime_ns = st.ctime.tv_nsec;
            m.mode = st.mode;
        }
        if (mct_share_child_write(wfd, &m, sizeof(m)) < 0)
            _exit(1);
    }
}

/* Run the child over relpaths; results into hashes/stats/errs (stats may
 * be NULL). Progress is reported through pg. */
static int remote_hash(const struct mct_config *cfg, const struct mct_destination *dest,
                       const char *dir, char *const *relpaths, size_t n, struct progress *pg,
                       struct mct_hash *hashes, struct mct_file *stats, int *errs)
{
    for (size_t i = 0; i < n; i++)
        errs[i] = -ETIMEDOUT;
    if (n == 0)
        return 0;
    struct remote_args a = {.dest = dest, .dir = dir, .relpaths = relpaths, .n = n, .wfd = -1};
    struct mct_share_child c = {.dest = dest, .fd = -1};
    int r = mct_share_child_start(&c, remote_child, &a);
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            errs[i] = r;
        return r;
    }
    size_t got = 0;
    while (got < n) {
        struct wire_msg m;
        r = mct_share_child_read(&c, &m, sizeof(m), mct_share_timeout_ms(cfg));
        if (r < 0)
            break;
        if (m.kind == MSG_PROGRESS) {
            pg->copy_done += m.bytes;
            progress_report(pg, false);
            continue;
        }
        if (m.kind != MSG_RESULT || m.index >= n) {
            r = -EIO;
            break;
        }
        errs[m.index] = m.err;
        memcpy(hashes[m.index].b, m.hash, sizeof(m.hash));
        if (stats)
            stats[m.index] = (struct mct_file){
                    .size = m.size,
                    .ino = (ino_t)m.ino,
                    .mtime = {.tv_sec = m.mtime_s, .tv_nsec = m.mtime_ns},
                    .ctime = {.tv_sec = m.ctime_s, .tv_nsec = m.ctime_ns},
                    .mode = (mode_t)m.mode,
            };
        got++;
    }
    mct_share_child_finish(&c);
    if (r < 0)
        for (size_t i = 0; i < n; i++)
            if (errs[i] == -ETIMEDOUT)
                errs[i] = r;
    return r < 0 ? r : 0;
}

int mct_content_hash_share(const struct mct_config *cfg, const struct mct_destination *dest,
                           const char *dir, char *const *relpaths, size_t n, uint64_t total,
                           const struct mct_content_progress *progress, struct mct_hash *hashes,
                           int *errs)
{
    struct progress pg = {.p = progress, .total = total, .start_ms = mct_now_ms(), .last_pct = -1};
    progress_report(&pg, true);
    int r = remote_hash(cfg, dest, dir, relpaths, n, &pg, hashes, NULL, errs);
    progress_report(&pg, true);
    return r;
}

/* ---- the local side, in a thread ---- */

struct local_job {
    const char *dir;
    char **relpaths;
    size_t n;
    struct mct_hash *hashes;
    struct mct_file *stats;
    int *errs;
    struct progress *pg;
};

static void local_on_bytes(void *ud, uint64_t n)
{
    struct progress *pg = ud;
    atomic_fetch_add(&pg->source_done, n);
}

static void *local_thread(void *ud)
{
    struct local_job *j = ud;
    _cleanup_close_ int dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int dir_err = dirfd < 0 ? -errno : 0;
    for (size_t i = 0; i < j->n; i++)
        j->errs[i] = dir_err ? dir_err
                             : mct_hash_path(dirfd, j->relpaths[i], false, local_on_bytes, j->pg,
                                             &j->hashes[i], &j->stats[i]);
    return NULL;
}

/* Wait for the thread, reporting progress meanwhile. */
static void local_join(pthread_t t, struct progress *pg)
{
    for (;;) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += PROGRESS_EVERY_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (pthread_timedjoin_np(t, NULL, &ts) == 0)
            return;
        progress_report(pg, false);
    }
}

/* ---- the comparison ---- */

void mct_content_result_free(struct mct_content_result *res)
{
    if (!res)
        return;
    free(res->files);
    *res = (struct mct_content_result){0};
}

/* One side's jobs: the files without a fresh cache entry. */
struct side {
    char **relpaths;
    size_t *index; /* into res->files */
    size_t n;
    struct mct_hash *hashes;
    struct mct_file *stats;
    int *errs;
};

static void side_free(struct side *s)
{
    free(s->relpaths);
    free(s->index);
    free(s->hashes);
    free(s->stats);
    free(s->errs);
}

static int side_alloc(struct side *s, size_t n)
{
    size_t k = n ? n : 1;
    s->relpaths = calloc(k + 1, sizeof(char *));
    s->index = calloc(k, sizeof(size_t));
    s->hashes = calloc(k, sizeof(struct mct_hash));
    s->stats = calloc(k, sizeof(struct mct_file));
    s->errs = calloc(k, sizeof(int));
    return s->relpaths && s->index && s->hashes && s->stats && s->errs ? 0 : -ENOMEM;
}

/* Cache lookups; what is left becomes a job. */
static int plan_side(const char *dir, const struct mct_file *f, size_t idx,
                     struct mct_hashcache *cache, struct mct_hash *out, bool *cached,
                     struct side *s, uint64_t *total)
{
    _cleanup_free_ char *abs = mct_path_join(dir, f->relpath);
    if (!abs)
        return -ENOMEM;
    if (mct_hashcache_lookup(cache, abs, f, out)) {
        *cached = true;
        return 0;
    }
    s->relpaths[s->n] = f->relpath;
    s->index[s->n++] = idx;
    *total += f->size;
    return 0;
}

/* A hash belongs to the file the size check saw only if it was not
 * rewritten in between; then it is worth remembering. */
static void settle_side(const char *dir, const struct mct_scan *scan, struct side *s,
                        struct mct_content_result *res, bool copy_side, struct mct_hashcache *cache)
{
    for (size_t k = 0; k < s->n; k++) {
        struct mct_content_file *cf = &res->files[s->index[k]];
        const struct mct_file *seen = mct_scan_find(scan, cf->relpath);
        int err = s->errs[k];
        if (err == 0 && (!seen || !mct_file_same_version(seen, &s->stats[k])))
            err = -EAGAIN;
        if (err == 0) {
            _cleanup_free_ char *abs = mct_path_join(dir, cf->relpath);
            if (abs)
                (void)mct_hashcache_store(cache, abs, &s->stats[k], &s->hashes[k]);
        }
        if (copy_side) {
            cf->copy = s->hashes[k];
            cf->copy_err = err;
        } else {
            cf->source = s->hashes[k];
            cf->source_err = err;
        }
    }
}

static int plan(const char *src_dir, const struct mct_scan *source, const char *dst_dir,
                const struct mct_scan *copy, struct mct_hashcache *cache,
                struct mct_content_result *res, struct side *src, struct side *dst, uint64_t *total)
{
    res->files = calloc(source->n_files ? source->n_files : 1, sizeof(*res->files));
    if (!res->files || side_alloc(src, source->n_files) < 0 || side_alloc(dst, source->n_files) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < source->n_files; i++) {
        const struct mct_file *f = &source->files[i];
        const struct mct_file *c = mct_scan_find(copy, f->relpath);
        if (!c || c->size != f->size || (c->mode & S_IFMT) != (f->mode & S_IFMT))
            continue;
        size_t idx = res->n_files++;
        struct mct_content_file *cf = &res->files[idx];
        cf->relpath = f->relpath;
        int r = plan_side(src_dir, f, idx, cache, &cf->source, &cf->source_cached, src, total);
        if (r == 0)
            r = plan_side(dst_dir, c, idx, cache, &cf->copy, &cf->copy_cached, dst, total);
        if (r < 0)
            return r;
    }
    return 0;
}

int mct_content_compare(const struct mct_config *cfg, const char *src_dir,
                        const struct mct_scan *source, const struct mct_destination *dest,
                        const char *dst_dir, const struct mct_scan *copy,
                        struct mct_hashcache *cache, const struct mct_content_progress *progress,
                        struct mct_content_result *res)
{
    _cleanup_(side_free) struct side src = {0}, dst = {0};
    struct progress pg = {.p = progress, .start_ms = mct_now_ms(), .last_pct = -1};
    *res = (struct mct_content_result){0};
    int r = plan(src_dir, source, dst_dir, copy, cache, res, &src, &dst, &pg.total);
    if (r < 0) {
        mct_content_result_free(res);
        return r;
    }
    progress_report(&pg, true);

    struct local_job job = {src_dir, src.relpaths, src.n, src.hashes, src.stats, src.errs, &pg};
    pthread_t t;
    bool threaded = src.n > 0 && pthread_create(&t, NULL, local_thread, &job) == 0;
    if (src.n > 0 && !threaded)
        local_thread(&job); /* no thread to be had: one after the other */
    int rr = remote_hash(cfg, dest, dst_dir, dst.relpaths, dst.n, &pg, dst.hashes, dst.stats,
                         dst.errs);
    if (threaded)
        local_join(t, &pg);

    settle_side(src_dir, source, &src, res, false, cache);
    settle_side(dst_dir, copy, &dst, res, true, cache);
    for (size_t i = 0; i < res->n_files; i++) {
        const struct mct_content_file *cf = &res->files[i];
        if (cf->source_err || cf->copy_err)
            res->n_errors++;
        else if (!mct_hash_eq(&cf->source, &cf->copy))
            res->n_differ++;
    }
    res->bytes_hashed = atomic_load(&pg.source_done) + pg.copy_done;
    res->ms = mct_now_ms() - pg.start_ms;
    progress_report(&pg, true);
    return rr == -ETIMEDOUT ? rr : rr < 0 && dst.n > 0 ? rr : 0;
}

char *mct_content_summary(const struct mct_content_result *res)
{
    _cleanup_buf_ struct mct_buf b = {0};
    size_t shown = 0;
    if (res->n_differ) {
        mct_buf_puts(&b, "content differs (XXH3-128): ");
        for (size_t i = 0; i < res->n_files && shown < SUMMARY_NAMES; i++) {
            const struct mct_content_file *cf = &res->files[i];
            if (cf->source_err || cf->copy_err || mct_hash_eq(&cf->source, &cf->copy))
                continue;
            mct_buf_printf(&b, "%s%s", shown++ ? ", " : "", cf->relpath);
        }
        if (res->n_differ > shown)
            mct_buf_printf(&b, " (and %zu more)", res->n_differ - shown);
    }
    shown = 0;
    if (res->n_errors) {
        mct_buf_printf(&b, "%scould not hash: ", b.len ? "; " : "");
        for (size_t i = 0; i < res->n_files && shown < SUMMARY_NAMES; i++) {
            const struct mct_content_file *cf = &res->files[i];
            int e = cf->source_err ? cf->source_err : cf->copy_err;
            if (!e)
                continue;
            mct_buf_printf(&b, "%s%s (%s: %s)", shown++ ? ", " : "", cf->relpath,
                           cf->source_err ? "source" : "copy",
                           e == -EAGAIN ? "changed while it was checked" : strerror(-e));
        }
        if (res->n_errors > shown)
            mct_buf_printf(&b, " (and %zu more)", res->n_errors - shown);
    }
    return b.len ? mct_buf_steal(&b) : NULL;
}
