/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vfile.h"

#include <errno.h>

#include "beneath.h"
#include "control.h"
#include "handle.h"
#include "ino.h"
#include "log.h"
#include "escape.h"
#include "report.h"
#include "model.h"
#include "vmetrics.h"

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

int vfile_render_slot(const struct mct_session_status *st, unsigned slot, struct mct_buf *out)
{
    static const status_render_fn by_slot[] = {
            [SLOT_TEXT] = render_text,
            [SLOT_JSON] = render_json,
            [SLOT_BACKUP] = render_backup,
            [SLOT_SAFE] = render_safe,
    };
    return slot < ARRAY_SIZE(by_slot) ? by_slot[slot](st, 1, NULL, out) : -EINVAL;
}

int vfile_render_root_part(const struct mct_session_status *st, size_t n, bool last,
                           struct status_root_render *rr)
{
    struct mct_buf *text = &rr->out[SLOT_TEXT], *json = &rr->out[SLOT_JSON];
    if (rr->done == 0) {
        mct_report_range_text_head(text);
        mct_forecast_start(&rr->forecast, rr->cfg);
        mct_metrics_sessions_begin(&rr->metrics);
    }
    mct_report_range_text_rows(st, n, false, &rr->totals, text);
    mct_report_sessions_json_items(st, n, rr->done, json);
    mct_forecast_add(&rr->forecast, st, n);
    mct_metrics_sessions_add(&rr->metrics, st, n, false);
    if (last) {
        struct mct_forecast f;
        mct_forecast_end(rr->cfg, &rr->forecast, &f);
        vmetrics_sessions(rr->ud, &rr->metrics, &f);
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
    int r = control_render(fs, &node->ref, &b, &ret->mtime);
    if (r < 0)
        return r;
    ret->len = b.len;
    ret->data = ret->owned = want_data ? mct_buf_steal(&b) : NULL;
    return 0;
}

/* Rendered at every open and stat from what the last sweep counted and
 * the health as it is: never waits (vmetrics.h). */
static int render_metrics(struct mctfs *fs, bool want_data, struct vfile_content *ret)
{
    _cleanup_buf_ struct mct_buf b = {};
    int r = vmetrics_render(fs, &b, &ret->mtime);
    if (r < 0)
        return r;
    ret->len = b.len;
    ret->data = ret->owned = want_data ? mct_buf_steal(&b) : NULL;
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
    if (node->kind == NODE_ROOT_METRICS)
        return render_metrics(fs, want_data, ret);
    if (!node_is_virtual(node->kind) || node->kind >= ARRAY_SIZE(renderers))
        return -EINVAL;

    bool root = !node_is_session_vfile(node->kind);
    _cleanup_snap_ struct status_snap *snap = NULL;
    _cleanup_free_ char *activity = NULL;
    /* A read is never older than cache_seconds (it may wait, bounded). A
     * stat (ls -la, a file browser) never waits: it takes the newest size,
     * or a pending one; an open finds the size of what it reads (the kernel
     * is made to forget an old one, open_text.h). */
    int r = model_get(fs->model, root ? NULL : &node->ref, want_data ? 0 : MODEL_NO_WAIT, &snap,
                      &activity);
    if (r < 0)
        return r;
    ret->mtime = snap->changed_at[renderers[node->kind].slot];

    status_render_fn fn = renderers[node->kind].fn;
    /* The root's renderings are megabytes, made by the sweep: every open
     * shares them. A session's are a few hundred bytes, made again at each
     * open (microseconds) rather than kept in the snapshot: kept, 10,000
     * sessions read once held 6 MB more for good. A stat renders nothing
     * (the length was measured at publishing). */
    if (root || !snap->st || (!activity && !want_data)) {
        r = status_snap_render(snap, renderers[node->kind].slot, fn, want_data ? &ret->data : NULL,
                               &ret->len);
        if (r >= 0 && want_data)
            ret->snap = TAKE_PTR(snap); /* data points into it */
        return r;
    }

    /* A command running puts its progress in the text. The snapshot is
     * shared and immutable, hence the shallow copy. */
    struct mct_session_status overlay = snap->st[0];
    overlay.activity = activity;
    if (activity)
        clock_gettime(CLOCK_REALTIME, &ret->mtime); /* progress changes it */

    _cleanup_buf_ struct mct_buf b = {};
    r = fn(&overlay, 1, snap->placeholder_reason, &b);
    if (r < 0)
        return r;
    ret->len = b.len;
    ret->data = ret->owned = want_data ? mct_buf_steal(&b) : NULL;
    return 0;
}

/* .control's mode: everyone may read the last command's outcome; who may
 * write is what modes can say of mount.allow_uids/allow_gids (the kernel
 * checks modes first, control_check_access() then checks the lists):
 * the owner; the group when one group is allowed; everyone when a user or
 * several groups are, which modes cannot name. */
static mode_t control_mode(const struct mct_config *cfg)
{
    if (cfg->mount.n_allow_uids > 0 || cfg->mount.n_allow_gids > 1)
        return 0666;
    return cfg->mount.n_allow_gids == 1 ? 0664 : 0644;
}

void vfile_fill_stat(struct mctfs *fs, const struct node *n, size_t len,
                     const struct timespec *mtime, struct stat *st)
{
    *st = (struct stat){};
    bool control = n->kind == NODE_CONTROL;
    st->st_ino = (ino_t)ino_virtual(n->dir_ino, (unsigned)n->kind);
    st->st_mode = S_IFREG | (control ? control_mode(fs->cfg) : 0444);
    st->st_nlink = 1;
    st->st_uid = fs->owner_uid;
    st->st_gid = control && fs->cfg->mount.n_allow_gids == 1 ? fs->cfg->mount.allow_gids[0]
                                                             : fs->owner_gid;
    st->st_size = (off_t)len;
    st->st_blksize = 4096;
    st->st_blocks = (blkcnt_t)((len + 511) / 512);
    st->st_mtim = st->st_ctim = st->st_atim = *mtime;
}

int vfile_stat(struct mctfs *fs, const struct node *n, struct stat *st)
{
    struct vfile_content c;
    int r = vfile_render(fs, n, false, &c);
    if (r < 0)
        return r;
    vfile_fill_stat(fs, n, c.len, &c.mtime, st);
    vfile_content_release(&c);
    return 0;
}

int vfile_open(struct mctfs *fs, const struct node *n, struct fuse_file_info *fi, struct handle *h)
{
    bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;

    if (n->kind != NODE_CONTROL && (writing || (fi->flags & O_TRUNC)))
        return -EACCES;
    if (writing) {
        int r = control_check_access(fs, &n->ref);
        if (r < 0)
            return r;
    }
    h->ref = n->ref;

    /* Direct I/O: every read comes here, so no stale page of an older status
     * is ever shown, and reads are not cut at a size the kernel cached before
     * the status changed. The content is fixed for this open, so partial
     * reads of it are consistent. A session's status file may be read
     * through pages that are known to hold this very text (open_text.h). */
    fi->direct_io = 1;
    fi->keep_cache = 0;

    if (n->kind == NODE_CONTROL && writing)
        return 0;
    return vfile_render(fs, n, true, &h->content);
}

int vfile_read(const struct handle *h, char *buf, size_t size, off_t off)
{
    const struct vfile_content *c = &h->content;
    if (off < 0 || (size_t)off >= c->len)
        return 0;
    size_t k = c->len - (size_t)off;
    if (k > size)
        k = size;
    memcpy(buf, c->data + off, k);
    return (int)k;
}
