/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "model_snap.h"

#include <errno.h>

#include "scan.h"

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
    for (unsigned i = 0; i < MODEL_SLOTS; i++)
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
    for (unsigned i = 0; i < MODEL_SLOTS; i++)
        s->changed_at[i] = s->computed_at;
    pthread_mutex_init(&s->render_lock, NULL);
    s->refs = 1;
    return s;
}

int status_snap_render(struct status_snap *s, unsigned slot, status_render_fn fn, const char **ret,
                       size_t *len)
{
    int r = 0;

    pthread_mutex_lock(&s->render_lock);
    if (!s->rendered[slot] && !ret && s->len_known[slot]) {
        if (len)
            *len = s->rendered_len[slot];
        pthread_mutex_unlock(&s->render_lock);
        return 0;
    }
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

struct status_snap *model_snap_take(struct mct_session_status *st, size_t i, int64_t started_ms)
{
    struct mct_session_status *one = malloc(sizeof(*one));
    if (!one)
        return NULL;
    *one = st[i];
    struct status_snap *s = snap_new(one, 1, started_ms);
    if (!s) {
        free(one);
        return NULL;
    }
    st[i] = (struct mct_session_status){0};
    return s;
}

struct status_snap *model_snap_from_root(struct status_root_render *rr, size_t n,
                                         int64_t started_ms)
{
    struct status_snap *s = snap_new(NULL, n, started_ms);
    if (!s) {
        for (unsigned i = 0; i < MODEL_SLOTS; i++)
            mct_buf_free(&rr->out[i]);
        return NULL;
    }
    for (unsigned i = 0; i < MODEL_SLOTS; i++)
        if (rr->out[i].data) {
            s->rendered_len[i] = rr->out[i].len;
            s->len_known[i] = true;
            s->rendered[i] = mct_buf_steal(&rr->out[i]);
        }
    return s;
}

struct status_snap *model_snap_placeholder(const struct mct_config *cfg,
                                           const struct mct_session_ref *ref, bool pending)
{
    _cleanup_free_ struct mct_session_ref *refs = NULL;
    size_t n = 0;
    _cleanup_free_ char *why =
            pending ? mct_strdup_printf("pending: the status is being computed")
                    : mct_strdup_printf("status not computed within %u s (share or database slow)",
                                        mct_status_deadline_seconds(cfg));
    if (!why)
        return NULL;

    if (ref) {
        refs = malloc(sizeof(*refs));
        if (!refs)
            return NULL;
        refs[0] = *ref;
        n = 1;
    } else if (!pending && mct_discover_sessions(cfg, NULL, NULL, &refs, &n) < 0) {
        /* Listing local folders only; if even that fails the root says so. */
        n = 0;
    }

    struct mct_session_status *st = calloc(n ? n : 1, sizeof(*st));
    if (!st)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (mct_status_unknown(cfg, &refs[i], why, &st[i]) < 0) {
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
