/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JSON renderings of statuses (mctctl --json, the mount's .status.json).
 * Hand-written: the shape is small and fixed, and a JSON library would be
 * one more dependency on the rig for a few dozen lines.
 */
#include "report.h"

#include "escape.h"
#include "policy.h"

/* Lists of files in a destination are capped: a status is a summary, and
 * `mctctl verify` lists every file. */
#define JSON_MAX_FILES 100

int mct_json_string(struct mct_buf *out, const char *s)
{
    mct_buf_puts(out, "\"");
    mct_esc_json_str(out, s);
    return mct_buf_puts(out, "\"");
}

static const char *json_tristate(enum mct_tristate t)
{
    return t == MCT_YES ? "true" : t == MCT_NO ? "false" : "null";
}

static const char *dj_state_word(enum mct_tristate t)
{
    return t == MCT_YES ? "yes" : t == MCT_NO ? "no" : "unknown";
}

int mct_json_strv(struct mct_buf *out, char *const *v, size_t max)
{
    mct_buf_puts(out, "[");
    for (size_t i = 0; v && v[i] && i < max; i++) {
        if (i)
            mct_buf_puts(out, ",");
        mct_json_string(out, v[i]);
    }
    return mct_buf_puts(out, "]");
}

static void json_datajoint(const struct mct_dj_status *dj, struct mct_buf *out)
{
    mct_buf_printf(out, "\"datajoint\":{\"state\":\"%s\",\"checks\":{", dj_state_word(dj->state));
    for (int c = 0; c < MCT_DJ_N_CHECKS; c++)
        mct_buf_printf(out, "%s\"%s\":%s", c ? "," : "", mct_dj_check_names[c],
                       json_tristate(dj->checks[c]));
    mct_buf_puts(out, "},\"reason\":");
    if (dj->state == MCT_YES || !dj->reason[0])
        mct_buf_puts(out, "null");
    else
        mct_json_string(out, dj->reason);
    mct_buf_puts(out, "}");
}

static void json_destination(const struct mct_dest_status *d, struct mct_buf *out)
{
    mct_buf_puts(out, "{\"name\":");
    mct_json_string(out, d->dest->name);
    mct_buf_puts(out, ",\"path\":");
    mct_json_string(out, d->path);
    mct_buf_printf(out, ",\"state\":\"%s\",\"files\":%zu,\"bytes\":%llu,\"detail\":",
                   mct_dest_state_name(d->state), d->files, (unsigned long long)d->bytes);
    if (d->detail)
        mct_json_string(out, d->detail);
    else
        mct_buf_puts(out, "null");
    mct_buf_puts(out, ",\"missing\":");
    mct_json_strv(out, d->verify.missing, JSON_MAX_FILES);
    mct_buf_puts(out, ",\"size_mismatch\":[");
    for (size_t i = 0; i < d->verify.n_mismatched && i < JSON_MAX_FILES; i++) {
        const struct mct_size_mismatch *m = &d->verify.mismatched[i];
        mct_buf_puts(out, i ? ",{\"file\":" : "{\"file\":");
        mct_json_string(out, m->relpath);
        mct_buf_printf(out, ",\"source_bytes\":%llu,\"copy_bytes\":%llu}",
                       (unsigned long long)m->source_size, (unsigned long long)m->copy_size);
    }
    mct_buf_puts(out, "]}");
}

int mct_report_session_json(const struct mct_session_status *st, struct mct_buf *out)
{
    mct_buf_puts(out, "{\"participant_id\":");
    mct_json_string(out, st->ref.participant_id);
    mct_buf_printf(out, ",\"session_date\":\"%s\",\"source\":{\"path\":", st->ref.session_date);
    mct_json_string(out, st->source_path);
    mct_buf_printf(out, ",\"exists\":%s,\"files\":%zu,\"bytes\":%llu,\"videos\":%zu},",
                   st->source_exists ? "true" : "false", st->source.n_files,
                   (unsigned long long)st->source.bytes, st->source.videos);
    mct_buf_printf(out, "\"managed\":%s,", st->not_managed ? "false" : "true");
    json_datajoint(&st->dj, out);
    mct_buf_puts(out, ",\"destinations\":[");
    for (size_t i = 0; i < st->n_dests; i++) {
        if (i)
            mct_buf_puts(out, ",");
        json_destination(&st->dests[i], out);
    }
    mct_buf_printf(out, "],\"backup\":%s,\"verified\":%s,\"safe_to_delete\":%s,\"reasons\":",
                   json_tristate(st->backup), json_tristate(st->verified),
                   st->safe_to_delete && !st->activity ? "true" : "false");
    mct_json_strv(out, st->reasons, SIZE_MAX);
    /* What could not be checked (a database, a share): the same list
     * mctctl prints on standard error, per session. */
    _cleanup_strv_ char **errors = NULL;
    if (mct_policy_unknowns(st, &errors) < 0 && !out->error)
        out->error = -ENOMEM;
    mct_buf_puts(out, ",\"errors\":");
    mct_json_strv(out, errors, SIZE_MAX);
    mct_buf_puts(out, ",\"activity\":");
    if (st->activity)
        mct_json_string(out, st->activity);
    else
        mct_buf_puts(out, "null");
    return mct_buf_puts(out, "}");
}

int mct_report_session_json_doc(const struct mct_session_status *st, struct mct_buf *out)
{
    int r = mct_report_session_json(st, out);
    return r < 0 ? r : mct_buf_puts(out, "\n");
}

void mct_report_sessions_json_items(const struct mct_session_status *st, size_t n, size_t done,
                                    struct mct_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        mct_buf_puts(out, done + i == 0 ? "[\n" : ",\n");
        mct_report_session_json(&st[i], out);
    }
}

int mct_report_sessions_json_end(size_t total, struct mct_buf *out)
{
    return mct_buf_puts(out, total ? "\n]\n" : "[]\n");
}

int mct_report_sessions_json(const struct mct_session_status *st, size_t n, struct mct_buf *out)
{
    mct_report_sessions_json_items(st, n, 0, out);
    return mct_report_sessions_json_end(n, out);
}
