/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reclaim's planning (reclaim_plan.h). The verdict is the status's own
 * safe_to_delete: one rule set (policy.h) for everything that deletes.
 */
#include "reclaim_plan.h"

#include "util.h"

static const char *const class_names[_MCT_RECLAIM_CLASS_MAX] = {
        [MCT_RECLAIM_ELIGIBLE] = "safe to delete",
        [MCT_RECLAIM_ABSENT] = "not on local disk",
        [MCT_RECLAIM_RECENT] = "recorded recently",
        [MCT_RECLAIM_IN_USE] = "in use by the rig",
        [MCT_RECLAIM_NOT_IN_DJ] = "not in DataJoint",
        [MCT_RECLAIM_DJ_UNKNOWN] = "DataJoint unknown",
        [MCT_RECLAIM_NOT_COPIED] = "not copied",
        [MCT_RECLAIM_UNREACHABLE] = "share unreachable",
        [MCT_RECLAIM_NOT_VERIFIED] = "copy not verified",
        [MCT_RECLAIM_NOT_SAFE] = "not safe for other reasons",
        [MCT_RECLAIM_BUSY] = "busy",
        [MCT_RECLAIM_REFUSED] = "refused at deletion",
};

const char *mct_reclaim_class_name(enum mct_reclaim_class c)
{
    return c < _MCT_RECLAIM_CLASS_MAX ? class_names[c] : "?";
}

enum mct_reclaim_class mct_reclaim_classify(const struct mct_session_status *st, int64_t today,
                                            unsigned keep_recent_days)
{
    if (!st->source_exists)
        return MCT_RECLAIM_ABSENT;
    int64_t day = mct_date_days(st->ref.session_date);
    /* An unparsable date cannot be shown old: recent. */
    if (day == INT64_MIN || today - day < (int64_t)keep_recent_days)
        return MCT_RECLAIM_RECENT;
    if (st->safe_to_delete)
        return MCT_RECLAIM_ELIGIBLE;
    if (mct_strv_length(st->local_reasons) > 0)
        return MCT_RECLAIM_IN_USE;
    if (st->dj.state == MCT_NO)
        return MCT_RECLAIM_NOT_IN_DJ;
    if (st->dj.state != MCT_YES)
        return MCT_RECLAIM_DJ_UNKNOWN;
    if (st->backup == MCT_NO)
        return MCT_RECLAIM_NOT_COPIED;
    if (st->backup != MCT_YES || st->verified == MCT_UNKNOWN)
        return MCT_RECLAIM_UNREACHABLE;
    if (st->verified != MCT_YES)
        return MCT_RECLAIM_NOT_VERIFIED;
    return MCT_RECLAIM_NOT_SAFE;
}

void mct_reclaim_result_free(struct mct_reclaim_result *res)
{
    for (size_t i = 0; res->items && i < res->n; i++) {
        free(res->items[i].path);
        mct_strv_free(res->items[i].reasons);
    }
    free(res->items);
    mct_strv_free(res->lines);
    free(res->error);
    *res = (struct mct_reclaim_result){0};
}

static int item_cmp(const void *a, const void *b)
{
    const struct mct_reclaim_item *x = a, *y = b;
    return mct_session_ref_cmp(&x->ref, &y->ref);
}

int mct_reclaim_items(struct mct_reclaim_result *res, const struct mct_session_status *st, size_t n,
                      int64_t today)
{
    res->items = calloc(n ? n : 1, sizeof(*res->items));
    if (!res->items)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct mct_reclaim_item *it = &res->items[res->n++];
        it->ref = st[i].ref;
        it->path = st[i].source_path ? strdup(st[i].source_path) : NULL;
        it->files = st[i].source.n_files;
        it->bytes = st[i].source.bytes;
        it->cls = mct_reclaim_classify(&st[i], today, res->keep_recent_days);
        if (st[i].source_path && !it->path)
            return -ENOMEM;
        for (char **r = st[i].reasons; r && *r; r++)
            if (mct_strv_push(&it->reasons, strdup(*r)) < 0)
                return -ENOMEM;
    }
    if (res->n > 1)
        qsort(res->items, res->n, sizeof(*res->items), item_cmp);
    return 0;
}

bool mct_reclaim_class_blocks(enum mct_reclaim_class c)
{
    return c != MCT_RECLAIM_ELIGIBLE && c != MCT_RECLAIM_ABSENT && c != MCT_RECLAIM_RECENT;
}

void mct_reclaim_tally(const struct mct_reclaim_result *res, size_t *count, uint64_t *bytes)
{
    memset(count, 0, _MCT_RECLAIM_CLASS_MAX * sizeof(*count));
    memset(bytes, 0, _MCT_RECLAIM_CLASS_MAX * sizeof(*bytes));
    for (size_t i = 0; i < res->n; i++) {
        count[res->items[i].cls]++;
        bytes[res->items[i].cls] += res->items[i].bytes;
    }
}

char *mct_reclaim_why_not(const struct mct_reclaim_result *res)
{
    size_t count[_MCT_RECLAIM_CLASS_MAX], n_blocked = 0;
    uint64_t bytes[_MCT_RECLAIM_CLASS_MAX], blocked = 0;
    mct_reclaim_tally(res, count, bytes);
    for (enum mct_reclaim_class c = 0; c < _MCT_RECLAIM_CLASS_MAX; c++)
        if (mct_reclaim_class_blocks(c)) {
            n_blocked += count[c];
            blocked += bytes[c];
        }
    char size[32], target[32];
    _cleanup_buf_ struct mct_buf b = {0};
    mct_buf_printf(&b, "target %s free not reachable: ",
                   mct_space_format(&res->keep_free, target, sizeof(target)));
    if (n_blocked) {
        mct_buf_printf(&b, "%s in %zu session%s not safe (",
                       mct_format_bytes(blocked, size, sizeof(size)), n_blocked,
                       n_blocked == 1 ? "" : "s");
        const char *sep = "";
        for (enum mct_reclaim_class c = 0; c < _MCT_RECLAIM_CLASS_MAX; c++) {
            if (!mct_reclaim_class_blocks(c) || !count[c])
                continue;
            mct_buf_printf(&b, "%s%zu %s", sep, count[c], class_names[c]);
            sep = ", ";
        }
        mct_buf_puts(&b, ")");
    }
    if (count[MCT_RECLAIM_RECENT])
        mct_buf_printf(&b, "%s%s in %zu session%s recorded within %u day%s (keep_recent_days)",
                       n_blocked ? "; " : "",
                       mct_format_bytes(bytes[MCT_RECLAIM_RECENT], size, sizeof(size)),
                       count[MCT_RECLAIM_RECENT], count[MCT_RECLAIM_RECENT] == 1 ? "" : "s",
                       res->keep_recent_days, res->keep_recent_days == 1 ? "" : "s");
    if (!n_blocked && !count[MCT_RECLAIM_RECENT])
        mct_buf_puts(&b, "no session left to delete (the rest of the disk is not sessions)");
    return b.error ? NULL : mct_buf_steal(&b);
}
