/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Renderings of reclaim and the forecast: the lines under status-range
 * and the mount's root .status, the text and JSON of mctctl reclaim.
 * Pure functions of their structs, as the other report_*.c; names and
 * paths go through the same escapes.
 */
#include "report.h"

#include "escape.h"
#include "forecast.h"
#include "jsondoc.h"
#include "reclaim_plan.h"

static const char *const class_keys[_MCT_RECLAIM_CLASS_MAX] = {
        [MCT_RECLAIM_ELIGIBLE] = "eligible",
        [MCT_RECLAIM_ABSENT] = "absent",
        [MCT_RECLAIM_RECENT] = "recent",
        [MCT_RECLAIM_IN_USE] = "in-use",
        [MCT_RECLAIM_NOT_IN_DJ] = "not-in-datajoint",
        [MCT_RECLAIM_DJ_UNKNOWN] = "datajoint-unknown",
        [MCT_RECLAIM_NOT_COPIED] = "not-copied",
        [MCT_RECLAIM_UNREACHABLE] = "share-unreachable",
        [MCT_RECLAIM_NOT_VERIFIED] = "not-verified",
        [MCT_RECLAIM_NOT_SAFE] = "not-safe",
        [MCT_RECLAIM_BUSY] = "busy",
        [MCT_RECLAIM_REFUSED] = "refused",
};

static const char *outcome_key(const struct mct_reclaim_item *it)
{
    switch (it->outcome) {
    case MCT_RECLAIM_DELETED:
        return "deleted";
    case MCT_RECLAIM_WOULD_DELETE:
        return "would-delete";
    case MCT_RECLAIM_FAILED:
        return it->cls == MCT_RECLAIM_BUSY ? "busy" : "refused";
    default:
        return "kept";
    }
}

static unsigned percent(uint64_t part, uint64_t whole)
{
    return whole ? (unsigned)((double)part * 100.0 / (double)whole + 0.5) : 0;
}

int mct_report_forecast_text(const struct mct_forecast *f, struct mct_buf *out)
{
    char a[32], b[32], c[32];
    if (f->window_sessions)
        mct_buf_printf(out,
                       "Recording rate: %s/day (%s in %zu session%s dated within the last %u "
                       "days)\n",
                       mct_format_bytes(f->rate, a, sizeof(a)),
                       mct_format_bytes(f->window_bytes, b, sizeof(b)), f->window_sessions,
                       f->window_sessions == 1 ? "" : "s", f->window_days);
    else
        mct_buf_printf(out, "Recording rate: 0B/day (no session dated within the last %u days)\n",
                       f->window_days);
    if (!f->fs_known)
        return mct_buf_puts(out, "Free space: unknown (the source filesystem did not answer)\n");
    mct_buf_printf(out,
                   "Free space: %s of %s (%u%%): ", mct_format_bytes(f->fs.avail, a, sizeof(a)),
                   mct_format_bytes(f->fs.size, b, sizeof(b)), percent(f->fs.avail, f->fs.size));
    if (f->days_full < 0)
        return mct_buf_puts(out, "not filling at that rate\n");
    return mct_buf_printf(out,
                          "full in %.1f days at that rate, in %.1f days counting the %s "
                          "reclaimable now (%zu session%s)\n",
                          f->days_full, f->days_full_reclaimed,
                          mct_format_bytes(f->reclaimable_bytes, c, sizeof(c)),
                          f->reclaimable_sessions, f->reclaimable_sessions == 1 ? "" : "s");
}

/* Days with one decimal, as the text says them; null when never. */
static int add_days(struct json_object *o, const char *key, double days)
{
    if (days < 0)
        return mct_json_add_null(o, key);
    char text[32];
    snprintf(text, sizeof(text), "%.1f", days);
    return mct_json_add(o, key, json_object_new_double_s(days, text));
}

static struct json_object *forecast_json(const struct mct_forecast *f)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    if (mct_json_add_u64(o, "window_days", f->window_days) < 0 ||
        mct_json_add_u64(o, "window_bytes", f->window_bytes) < 0 ||
        mct_json_add_u64(o, "window_sessions", f->window_sessions) < 0 ||
        mct_json_add_u64(o, "bytes_per_day", f->rate) < 0)
        return NULL;
    if (f->fs_known ? mct_json_add_u64(o, "size", f->fs.size) < 0 ||
                              mct_json_add_u64(o, "free", f->fs.avail) < 0
                    : mct_json_add_null(o, "size") < 0 || mct_json_add_null(o, "free") < 0)
        return NULL;
    if (mct_json_add_u64(o, "reclaimable_bytes", f->reclaimable_bytes) < 0 ||
        mct_json_add_u64(o, "reclaimable_sessions", f->reclaimable_sessions) < 0 ||
        add_days(o, "days_until_full", f->days_full) < 0 ||
        add_days(o, "days_until_full_counting_reclaimable", f->days_full_reclaimed) < 0)
        return NULL;
    return TAKE_PTR(o);
}

int mct_report_forecast_json(const struct mct_forecast *f, struct mct_buf *out)
{
    _cleanup_json_ struct json_object *o = forecast_json(f);
    return mct_json_write(o, out);
}

int mct_report_reclaim_item_text(const struct mct_reclaim_item *it, struct mct_buf *out)
{
    char size[32];
    mct_buf_puts(out, it->ref.session_date);
    mct_buf_puts(out, " ");
    mct_esc_text_str(out, it->ref.participant_id);
    mct_buf_printf(out, ": %s (%s, %zu files)", outcome_key(it),
                   mct_format_bytes(it->bytes, size, sizeof(size)), it->files);
    for (size_t i = 0; it->outcome == MCT_RECLAIM_FAILED && it->reasons && it->reasons[i]; i++) {
        mct_buf_puts(out, i ? "; " : ": ");
        mct_esc_text_str(out, it->reasons[i]);
    }
    return mct_buf_puts(out, "\n");
}

int mct_report_reclaim_outcome(const struct mct_reclaim_result *res, struct mct_buf *out)
{
    char a[32], b[32];
    if (res->before.avail >= res->target)
        return mct_buf_puts(out, "Target met: nothing to delete");
    if (res->dry_run)
        return mct_buf_printf(out,
                              "Dry run: would delete %zu session%s, %s; free would be %s (%u%%): "
                              "target %s",
                              res->n_deleted, res->n_deleted == 1 ? "" : "s",
                              mct_format_bytes(res->freed, a, sizeof(a)),
                              mct_format_bytes(res->after.avail, b, sizeof(b)),
                              percent(res->after.avail, res->after.size),
                              res->met ? "would be met" : "would not be met");
    return mct_buf_printf(out, "Deleted %zu session%s, %s; %s free now (%u%%): target %s",
                          res->n_deleted, res->n_deleted == 1 ? "" : "s",
                          mct_format_bytes(res->freed, a, sizeof(a)),
                          mct_format_bytes(res->after.avail, b, sizeof(b)),
                          percent(res->after.avail, res->after.size), res->met ? "met" : "NOT met");
}

int mct_report_reclaim_text(const struct mct_reclaim_result *res, const char *path,
                            struct mct_buf *out)
{
    char a[32], b[32], c[32], t[32];
    for (char **l = res->lines; l && *l; l++) {
        mct_esc_text_str(out, *l);
        mct_buf_puts(out, "\n");
    }
    if (!res->checked) {
        mct_esc_text_str(out, res->error ? res->error : "reclaim failed");
        return mct_buf_puts(out, "\n");
    }
    mct_buf_puts(out, "Source ");
    mct_esc_text_str(out, path);
    mct_buf_printf(out, ": %s free of %s (%u%%); target %s free",
                   mct_format_bytes(res->before.avail, a, sizeof(a)),
                   mct_format_bytes(res->before.size, b, sizeof(b)),
                   percent(res->before.avail, res->before.size),
                   mct_space_format(&res->keep_free, t, sizeof(t)));
    if (res->keep_free.percent_x100)
        mct_buf_printf(out, " (%s)", mct_format_bytes(res->target, c, sizeof(c)));
    mct_buf_puts(out, "\n");
    mct_report_reclaim_outcome(res, out);
    mct_buf_puts(out, ".\n");
    if (!res->met) {
        _cleanup_free_ char *why = mct_reclaim_why_not(res);
        mct_esc_text_str(out, why ? why : "target not reachable");
        mct_buf_puts(out, "\n");
    }
    if (res->dry_run && !res->enabled)
        mct_buf_puts(out, "(deletion.reclaim.enabled is off: a real run would delete nothing)\n");
    return mct_report_forecast_text(&res->forecast, out);
}

static struct json_object *item_json(const struct mct_reclaim_item *it)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    if (mct_json_add_str(o, "participant", it->ref.participant_id) < 0 ||
        mct_json_add_str(o, "date", it->ref.session_date) < 0 ||
        mct_json_add_str(o, "path", it->path) < 0 || mct_json_add_u64(o, "files", it->files) < 0 ||
        mct_json_add_u64(o, "bytes", it->bytes) < 0 ||
        mct_json_add_str(o, "class", class_keys[it->cls]) < 0 ||
        mct_json_add_str(o, "result", outcome_key(it)) < 0 ||
        mct_json_add_strv(o, "reasons", it->reasons) < 0)
        return NULL;
    return TAKE_PTR(o);
}

/* What stands between reclaim and its target, class by class; recent
 * sessions always, as the one class that is never a problem. */
static struct json_object *blocked_json(const struct mct_reclaim_result *res)
{
    size_t count[_MCT_RECLAIM_CLASS_MAX];
    uint64_t bytes[_MCT_RECLAIM_CLASS_MAX];
    mct_reclaim_tally(res, count, bytes);
    _cleanup_json_ struct json_object *a = json_object_new_array();
    for (enum mct_reclaim_class c = 0; c < _MCT_RECLAIM_CLASS_MAX; c++) {
        if (c != MCT_RECLAIM_RECENT && (!mct_reclaim_class_blocks(c) || !count[c]))
            continue;
        _cleanup_json_ struct json_object *o = json_object_new_object();
        if (mct_json_add_str(o, "class", class_keys[c]) < 0 ||
            mct_json_add_str(o, "reason", mct_reclaim_class_name(c)) < 0 ||
            mct_json_add_u64(o, "sessions", count[c]) < 0 ||
            mct_json_add_u64(o, "bytes", bytes[c]) < 0 || mct_json_push(a, TAKE_PTR(o)) < 0)
            return NULL;
    }
    return TAKE_PTR(a);
}

/* What was looked at and done: the keys after "lines", when it was. */
static int add_outcome(struct json_object *o, const struct mct_reclaim_result *res)
{
    _cleanup_json_ struct json_object *items = mct_json_lines_array();
    for (size_t i = 0; i < res->n; i++)
        if (mct_json_push(items, item_json(&res->items[i])) < 0)
            return -ENOMEM;
    _cleanup_free_ char *why = res->met ? NULL : mct_reclaim_why_not(res);
    if (!res->met && !why)
        return -ENOMEM;
    if (mct_json_add_u64(o, "target_bytes", res->target) < 0 ||
        mct_json_add_u64(o, "size", res->before.size) < 0 ||
        mct_json_add_u64(o, "free_before", res->before.avail) < 0 ||
        mct_json_add_u64(o, "free_after", res->after.avail) < 0 ||
        mct_json_add_u64(o, "freed", res->freed) < 0 ||
        mct_json_add_u64(o, "deleted", res->n_deleted) < 0 ||
        mct_json_add_bool(o, "met", res->met) < 0 || mct_json_add_str(o, "reason", why) < 0 ||
        mct_json_add(o, "blocked", blocked_json(res)) < 0 ||
        mct_json_add(o, "sessions", TAKE_PTR(items)) < 0 ||
        mct_json_add(o, "forecast", forecast_json(&res->forecast)) < 0)
        return -ENOMEM;
    return 0;
}

int mct_report_reclaim_json(const struct mct_reclaim_result *res, const char *path,
                            struct mct_buf *out)
{
    char t[32];
    _cleanup_json_ struct json_object *o = json_object_new_object();
    const char *error = res->checked ? NULL : res->error ? res->error : "reclaim failed";
    if (mct_json_add_bool(o, "dry_run", res->dry_run) < 0 ||
        mct_json_add_bool(o, "enabled", res->enabled) < 0 ||
        mct_json_add_str(o, "path", path ? path : "") < 0 ||
        mct_json_add_str(o, "keep_free", mct_space_format(&res->keep_free, t, sizeof(t))) < 0 ||
        mct_json_add_u64(o, "keep_recent_days", res->keep_recent_days) < 0 ||
        mct_json_add_str(o, "error", error) < 0 || mct_json_add_strv(o, "lines", res->lines) < 0 ||
        (res->checked && add_outcome(o, res) < 0))
        return out->error = -ENOMEM;
    int r = mct_json_write(o, out);
    return r < 0 ? r : mct_buf_puts(out, "\n");
}
