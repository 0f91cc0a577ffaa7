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

static void json_days(struct mct_buf *out, const char *key, double days)
{
    if (days < 0)
        mct_buf_printf(out, ",\"%s\":null", key);
    else
        mct_buf_printf(out, ",\"%s\":%.1f", key, days);
}

int mct_report_forecast_json(const struct mct_forecast *f, struct mct_buf *out)
{
    mct_buf_printf(out,
                   "{\"window_days\":%u,\"window_bytes\":%llu,\"window_sessions\":%zu,"
                   "\"bytes_per_day\":%llu,",
                   f->window_days, (unsigned long long)f->window_bytes, f->window_sessions,
                   (unsigned long long)f->rate);
    if (f->fs_known)
        mct_buf_printf(out, "\"size\":%llu,\"free\":%llu,", (unsigned long long)f->fs.size,
                       (unsigned long long)f->fs.avail);
    else
        mct_buf_puts(out, "\"size\":null,\"free\":null,");
    mct_buf_printf(out, "\"reclaimable_bytes\":%llu,\"reclaimable_sessions\":%zu",
                   (unsigned long long)f->reclaimable_bytes, f->reclaimable_sessions);
    json_days(out, "days_until_full", f->days_full);
    json_days(out, "days_until_full_counting_reclaimable", f->days_full_reclaimed);
    return mct_buf_puts(out, "}");
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

static void json_str_or_null(struct mct_buf *out, const char *s)
{
    if (s)
        mct_json_string(out, s);
    else
        mct_buf_puts(out, "null");
}

static void json_item(const struct mct_reclaim_item *it, struct mct_buf *out)
{
    mct_buf_puts(out, "{\"participant\":");
    mct_json_string(out, it->ref.participant_id);
    mct_buf_printf(out, ",\"date\":\"%s\",\"path\":", it->ref.session_date);
    json_str_or_null(out, it->path);
    mct_buf_printf(out,
                   ",\"files\":%zu,\"bytes\":%llu,\"class\":\"%s\",\"result\":\"%s\","
                   "\"reasons\":",
                   it->files, (unsigned long long)it->bytes, class_keys[it->cls], outcome_key(it));
    mct_json_strv(out, it->reasons, SIZE_MAX);
    mct_buf_puts(out, "}");
}

static void json_blocked(const struct mct_reclaim_result *res, struct mct_buf *out)
{
    size_t count[_MCT_RECLAIM_CLASS_MAX];
    uint64_t bytes[_MCT_RECLAIM_CLASS_MAX];
    mct_reclaim_tally(res, count, bytes);
    mct_buf_puts(out, ",\"blocked\":[");
    const char *sep = "";
    for (enum mct_reclaim_class c = 0; c < _MCT_RECLAIM_CLASS_MAX; c++) {
        if (c != MCT_RECLAIM_RECENT && (!mct_reclaim_class_blocks(c) || !count[c]))
            continue;
        mct_buf_printf(
                out, "%s{\"class\":\"%s\",\"reason\":\"%s\",\"sessions\":%zu,\"bytes\":%llu}", sep,
                class_keys[c], mct_reclaim_class_name(c), count[c], (unsigned long long)bytes[c]);
        sep = ",";
    }
    mct_buf_puts(out, "]");
}

int mct_report_reclaim_json(const struct mct_reclaim_result *res, const char *path,
                            struct mct_buf *out)
{
    char t[32];
    mct_buf_printf(out, "{\"dry_run\":%s,\"enabled\":%s,\"path\":", res->dry_run ? "true" : "false",
                   res->enabled ? "true" : "false");
    mct_json_string(out, path);
    mct_buf_printf(out, ",\"keep_free\":\"%s\",\"keep_recent_days\":%u,\"error\":",
                   mct_space_format(&res->keep_free, t, sizeof(t)), res->keep_recent_days);
    json_str_or_null(out, res->checked ? NULL : res->error ? res->error : "reclaim failed");
    mct_buf_puts(out, ",\"lines\":");
    mct_json_strv(out, res->lines, SIZE_MAX);
    if (!res->checked)
        return mct_buf_puts(out, "}\n");
    mct_buf_printf(out,
                   ",\"target_bytes\":%llu,\"size\":%llu,\"free_before\":%llu,\"free_after\":%llu,"
                   "\"freed\":%llu,\"deleted\":%zu,\"met\":%s,\"reason\":",
                   (unsigned long long)res->target, (unsigned long long)res->before.size,
                   (unsigned long long)res->before.avail, (unsigned long long)res->after.avail,
                   (unsigned long long)res->freed, res->n_deleted, res->met ? "true" : "false");
    _cleanup_free_ char *why = res->met ? NULL : mct_reclaim_why_not(res);
    json_str_or_null(out, why);
    json_blocked(res, out);
    mct_buf_puts(out, ",\"sessions\":[");
    for (size_t i = 0; i < res->n; i++) {
        mct_buf_puts(out, i ? ",\n" : "\n");
        json_item(&res->items[i], out);
    }
    mct_buf_puts(out, res->n ? "\n],\"forecast\":" : "],\"forecast\":");
    mct_report_forecast_json(&res->forecast, out);
    return mct_buf_puts(out, "}\n");
}
