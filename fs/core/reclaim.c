/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reclaim's run (reclaim.h): one reclaim per source tree at a time (a
 * lock in service.lock_dir), the trash's recovery first (a deletion cut
 * short holds space), then the free space, every local session's status,
 * and the oldest eligible sessions through the deletion protocol one by
 * one, the free space read again before each: the disk says when the
 * target is met, not a sum of sizes, so no session more is deleted than
 * needed. A dry run asks the protocol for a dry run of each one it would
 * take and adds their sizes instead.
 */
#include "reclaim.h"

#include "log.h"
#include "metrics.h"
#include "lock.h"
#include "operations.h"
#include "scan.h"

static int fail(struct mct_reclaim_result *res, int err, const char *fmt, ...) _printf_(3, 4);
static int fail(struct mct_reclaim_result *res, int err, const char *fmt, ...)
{
    _cleanup_buf_ struct mct_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    mct_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    free(res->error);
    res->error = b.error ? NULL : mct_buf_steal(&b);
    return err;
}

static int recover(const struct mct_config *cfg, bool dry_run, struct mct_reclaim_result *res)
{
    struct mct_op_result rec = {0};
    (void)mct_trash_recover(cfg, dry_run, &rec);
    int r = 0;
    for (size_t i = 0; r >= 0 && rec.lines && rec.lines[i]; i++)
        r = mct_strv_push(&res->lines, TAKE_PTR(rec.lines[i]));
    mct_op_result_free(&rec);
    return r;
}

/* Every local session, judged, oldest first. */
static int collect(const struct mct_config *cfg, int64_t today, struct mct_reclaim_result *res)
{
    _cleanup_free_ struct mct_session_ref *refs = NULL;
    size_t n = 0;
    int r = mct_discover_sessions(cfg, NULL, NULL, &refs, &n);
    if (r < 0)
        return fail(res, r, "cannot list the sessions under %s: %s", cfg->source_base_path,
                    strerror(-r));
    struct mct_session_status *st = NULL;
    r = mct_status_collect(cfg, refs, n, 0, &st);
    if (r < 0)
        return fail(res, r, "cannot check the sessions: %s", strerror(-r));
    r = mct_reclaim_items(res, st, n, today);
    mct_session_status_free_array(st, n);
    return r;
}

static int space_now(const struct mct_config *cfg, struct mct_reclaim_result *res,
                     struct mct_fs_space *sp)
{
    int r = mct_fs_space_get(cfg->source_base_path, sp);
    if (r < 0)
        return fail(res, r, "cannot read the free space of %s: %s", cfg->source_base_path,
                    strerror(-r));
    return 0;
}

static int delete_one(const struct mct_config *cfg, const struct mct_reclaim_request *req,
                      struct mct_reclaim_result *res, struct mct_reclaim_item *it)
{
    struct mct_delete_request dreq = {
            .ref = it->ref,
            .mode = MCT_DELETE_NORMAL,
            .dry_run = req->dry_run,
            .who = req->who,
            .via = req->via,
    };
    struct mct_op_result op = {0};
    int r = mct_delete_session(cfg, &dreq, &op);
    if (r >= 0) {
        it->outcome = req->dry_run ? MCT_RECLAIM_WOULD_DELETE : MCT_RECLAIM_DELETED;
        res->freed += it->bytes;
        res->n_deleted++;
        if (req->dry_run)
            res->after.avail += it->bytes;
    } else {
        it->outcome = MCT_RECLAIM_FAILED;
        it->cls = r == -EBUSY ? MCT_RECLAIM_BUSY : MCT_RECLAIM_REFUSED;
        mct_strv_free(it->reasons);
        it->reasons = TAKE_PTR(op.reasons);
        if (!it->reasons && mct_strv_pushf(&it->reasons, "%s", strerror(-r)) < 0)
            r = -ENOMEM;
    }
    mct_op_result_free(&op);
    return r == -ENOMEM ? r : 0;
}

/* The oldest eligible sessions until the disk (a dry run: the sum) says
 * the target is met. */
static int run(const struct mct_config *cfg, const struct mct_reclaim_request *req,
               struct mct_reclaim_result *res)
{
    size_t k = 0;
    res->after = res->before;
    for (size_t i = 0; i < res->n; i++) {
        struct mct_reclaim_item *it = &res->items[i];
        if (it->cls != MCT_RECLAIM_ELIGIBLE)
            continue;
        int r = req->dry_run ? 0 : space_now(cfg, res, &res->after);
        if (r < 0)
            return r;
        if (res->after.avail >= res->target)
            break;
        r = delete_one(cfg, req, res, it);
        if (r < 0)
            return r;
        if (req->on_item)
            req->on_item(req->ud, it, ++k);
    }
    return req->dry_run ? 0 : space_now(cfg, res, &res->after);
}

static void forecast(struct mct_reclaim_result *res, int64_t today)
{
    struct mct_forecast_acc acc;
    mct_forecast_begin(&acc, today, res->keep_recent_days);
    for (size_t i = 0; i < res->n; i++) {
        const struct mct_reclaim_item *it = &res->items[i];
        if (it->cls == MCT_RECLAIM_ABSENT)
            continue;
        /* Deleted ones were still recorded in their days. */
        bool gone = it->outcome == MCT_RECLAIM_DELETED;
        mct_forecast_add_one(&acc, it->ref.session_date, it->bytes,
                             it->cls == MCT_RECLAIM_ELIGIBLE && !gone);
    }
    /* A dry run changed nothing: the forecast is of the disk as it is. */
    mct_forecast_finish(&acc, res->dry_run ? &res->before : &res->after, &res->forecast);
}

static int reclaim(const struct mct_config *cfg, const struct mct_reclaim_request *req,
                   struct mct_reclaim_result *res)
{
    *res = (struct mct_reclaim_result){
            .dry_run = req->dry_run,
            .enabled = cfg->reclaim.enabled,
            .keep_free = cfg->reclaim.keep_free,
            .keep_recent_days = cfg->reclaim.keep_recent_days,
    };
    /* The config is the consent: without it only a dry run. */
    if (!req->dry_run && !cfg->reclaim.enabled)
        return fail(res, -EPERM,
                    "reclaim is off (deletion.reclaim.enabled is not true in %s): nothing "
                    "deleted; --dry-run shows what it would delete",
                    cfg->path);
    _cleanup_close_ int lock = -1;
    if (!req->dry_run) {
        int r = mct_tree_lock(cfg, "reclaim", &lock);
        if (r == -EBUSY)
            return fail(res, r, "another reclaim of %s is running: nothing done",
                        cfg->source_base_path);
        if (r < 0)
            return fail(res, r, "cannot take the reclaim lock in %s: %s", cfg->service.lock_dir,
                        strerror(-r));
    }
    int r = recover(cfg, req->dry_run, res);
    if (r >= 0)
        r = space_now(cfg, res, &res->before);
    if (r < 0)
        return r;
    res->target = mct_space_bytes(&res->keep_free, res->before.size);
    int64_t today = mct_today_days(req->now ? req->now : time(NULL));
    r = collect(cfg, today, res);
    if (r < 0)
        return r;
    res->checked = true;
    r = run(cfg, req, res);
    if (r < 0)
        return r;
    res->met = res->after.avail >= res->target;
    forecast(res, today);
    char a[32], b[32];
    log_info("reclaim%s: %zu session(s), %s %s; %s free of %s, target %s: %s",
             req->dry_run ? " (dry run)" : "", res->n_deleted,
             mct_format_bytes(res->freed, a, sizeof(a)), req->dry_run ? "would be freed" : "freed",
             mct_format_bytes(res->after.avail, b, sizeof(b)), cfg->source_base_path,
             mct_format_bytes(res->target, a, sizeof(a)), res->met ? "met" : "not met");
    return res->met ? 0 : -ENOSPC;
}

int mct_reclaim(const struct mct_config *cfg, const struct mct_reclaim_request *req,
                struct mct_reclaim_result *res)
{
    int r = reclaim(cfg, req, res);
    /* The last run is a metric (metrics.h): a real run, not one refused
     * because reclaim is off or already running. */
    if (!req->dry_run && r != -EPERM && r != -EBUSY)
        (void)mct_metrics_job_record(cfg, MCT_JOB_RECLAIM, r >= 0);
    return r;
}
