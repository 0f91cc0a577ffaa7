/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vfile.h"

#include <errno.h>

#include "control.h"
#include "escape.h"
#include "report.h"
#include "status_cache.h"

enum {
    SLOT_TEXT,
    SLOT_JSON,
    SLOT_BACKUP,
    SLOT_SAFE,
};

/* The renderers of a snapshot. Session snapshots hold one status (n = 1). */

static int render_root_text(const struct mct_session_status *st, size_t n, const char *note,
                            struct mct_buf *out)
{
    if (note) {
        /* Escaped as every string of a status is (report.h). */
        mct_esc_text_str(out, note);
        int r = mct_buf_puts(out, "\n");
        if (r < 0)
            return r;
    }
    return mct_report_range_text(st, n, false, out);
}

static int render_root_json(const struct mct_session_status *st, size_t n, const char *note,
                            struct mct_buf *out)
{
    return mct_report_sessions_json(st, n, out);
}

static int render_text(const struct mct_session_status *st, size_t n, const char *note,
                       struct mct_buf *out)
{
    return mct_report_session_text(st, false, out);
}

static int render_json(const struct mct_session_status *st, size_t n, const char *note,
                       struct mct_buf *out)
{
    return mct_report_session_json_doc(st, out);
}

static int render_backup(const struct mct_session_status *st, size_t n, const char *note,
                         struct mct_buf *out)
{
    return mct_report_backup_status(st, out);
}

static int render_safe(const struct mct_session_status *st, size_t n, const char *note,
                       struct mct_buf *out)
{
    return mct_report_safe_to_delete(st, out);
}

static const struct {
    unsigned slot;
    status_render_fn fn;
} renderers[] = {
        [NODE_ROOT_STATUS] = {SLOT_TEXT, render_root_text},
        [NODE_ROOT_STATUS_JSON] = {SLOT_JSON, render_root_json},
        [NODE_STATUS] = {SLOT_TEXT, render_text},
        [NODE_STATUS_JSON] = {SLOT_JSON, render_json},
        [NODE_BACKUP_STATUS] = {SLOT_BACKUP, render_backup},
        [NODE_SAFE_TO_DELETE] = {SLOT_SAFE, render_safe},
};

int vfile_render_root_part(const struct mct_session_status *st, size_t n, bool last,
                           struct status_root_render *rr)
{
    struct mct_buf *text = &rr->out[SLOT_TEXT], *json = &rr->out[SLOT_JSON];
    if (rr->done == 0) {
        mct_report_range_text_head(text);
        mct_forecast_start(&rr->forecast, rr->cfg);
    }
    mct_report_range_text_rows(st, n, false, &rr->totals, text);
    mct_report_sessions_json_items(st, n, rr->done, json);
    mct_forecast_add(&rr->forecast, st, n);
    if (last) {
        struct mct_forecast f;
        mct_forecast_end(rr->cfg, &rr->forecast, &f);
        mct_report_range_text_end(&rr->totals, text);
        mct_buf_puts(text, "\n");
        mct_report_forecast_text(&f, text);
        mct_report_sessions_json_end(rr->done + n, json);
    }
    return text->error < 0 ? text->error : json->error;
}

static int render_control(struct mctfs *fs, const struct node *node, bool want_data,
                          struct vfile_content *ret)
{
    _cleanup_buf_ struct mct_buf b = {};
    int r = control_render(fs, &node->ref, &b);
    if (r < 0)
        return r;
    ret->len = b.len;
    ret->data = ret->owned = want_data ? mct_buf_steal(&b) : NULL;
    clock_gettime(CLOCK_REALTIME, &ret->mtime);
    return 0;
}

void vfile_content_release(struct vfile_content *c)
{
    free(c->owned);
    if (c->snap)
        status_snap_unref(c->snap);
    *c = (struct vfile_content){};
}

int vfile_render(struct mctfs *fs, const struct node *node, bool want_data,
                 struct vfile_content *ret)
{
    *ret = (struct vfile_content){};
    if (node->kind == NODE_CONTROL)
        return render_control(fs, node, want_data, ret);
    if (!node_is_virtual(node->kind) || node->kind >= ARRAY_SIZE(renderers))
        return -EINVAL;

    bool root = !node_is_session_vfile(node->kind);
    _cleanup_snap_ struct status_snap *snap = NULL;
    _cleanup_free_ char *activity = NULL;
    /* Only what is read must be fresh (.safe_to_delete) or refreshed. A stat
     * (ls -la, a file browser) takes the cached size, so listing a tree
     * neither waits for nor sets off a new computation of every session in
     * it; reads are direct, and a new status makes the kernel forget the
     * old size. */
    unsigned flags = !want_data                          ? STATUS_NO_REFRESH
                     : node->kind == NODE_SAFE_TO_DELETE ? STATUS_FRESH
                                                         : 0;
    int r = status_cache_get(fs->cache, root ? NULL : &node->ref, flags, &snap, &activity);
    if (r < 0)
        return r;
    ret->mtime = snap->computed_at;

    status_render_fn fn = renderers[node->kind].fn;
    if (!activity || root) {
        r = status_snap_render(snap, renderers[node->kind].slot, fn, want_data ? &ret->data : NULL,
                               &ret->len);
        if (r >= 0 && want_data)
            ret->snap = TAKE_PTR(snap); /* data points into it */
        return r;
    }

    /* A command is running: the progress is part of the text, so this
     * rendering is not the snapshot's to keep. The snapshot is shared and
     * immutable, hence the shallow copy. */
    struct mct_session_status overlay = snap->st[0];
    overlay.activity = activity;

    _cleanup_buf_ struct mct_buf b = {};
    r = fn(&overlay, 1, snap->placeholder_reason, &b);
    if (r < 0)
        return r;
    ret->len = b.len;
    ret->data = ret->owned = want_data ? mct_buf_steal(&b) : NULL;
    return 0;
}
