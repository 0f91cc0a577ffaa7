/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JSON renderings of statuses (mctctl --json, the mount's .status.json),
 * built as jsondoc.h documents: key order and escapes as they have always
 * been, compact, one session object per line in an array.
 */
#include "report.h"

#include "jsondoc.h"
#include "policy.h"

/* Lists of files in a destination are capped: a status is a summary, and
 * `mctctl verify` lists every file. */
#define JSON_MAX_FILES 100

int mct_json_string(struct mct_buf *out, const char *s)
{
    _cleanup_json_ struct json_object *v = mct_json_str(s ? s : "");
    return mct_json_write(v, out);
}

/* true, false or null. */
static struct json_object *tristate(enum mct_tristate t)
{
    return t == MCT_UNKNOWN ? NULL : json_object_new_boolean(t == MCT_YES);
}

static int add_tristate(struct json_object *o, const char *key, enum mct_tristate t)
{
    return t == MCT_UNKNOWN ? mct_json_add_null(o, key) : mct_json_add(o, key, tristate(t));
}

static const char *dj_state_word(enum mct_tristate t)
{
    return t == MCT_YES ? "yes" : t == MCT_NO ? "no" : "unknown";
}

static struct json_object *datajoint(const struct mct_dj_status *dj)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    _cleanup_json_ struct json_object *checks = json_object_new_object();
    for (int c = 0; c < MCT_DJ_N_CHECKS; c++)
        if (add_tristate(checks, mct_dj_check_names[c], dj->checks[c]) < 0)
            return NULL;
    bool no_reason = dj->state == MCT_YES || !dj->reason[0];
    if (mct_json_add_str(o, "state", dj_state_word(dj->state)) < 0 ||
        mct_json_add(o, "checks", TAKE_PTR(checks)) < 0 ||
        mct_json_add_str(o, "reason", no_reason ? NULL : dj->reason) < 0)
        return NULL;
    return TAKE_PTR(o);
}

static struct json_object *size_mismatch(const struct mct_size_mismatch *m)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    if (mct_json_add_str(o, "file", m->relpath) < 0 ||
        mct_json_add_u64(o, "source_bytes", m->source_size) < 0 ||
        mct_json_add_u64(o, "copy_bytes", m->copy_size) < 0)
        return NULL;
    return TAKE_PTR(o);
}

static struct json_object *destination(const struct mct_dest_status *d)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    _cleanup_json_ struct json_object *mismatched = json_object_new_array();
    for (size_t i = 0; i < d->verify.n_mismatched && i < JSON_MAX_FILES; i++)
        if (mct_json_push(mismatched, size_mismatch(&d->verify.mismatched[i])) < 0)
            return NULL;
    if (mct_json_add_str(o, "name", d->dest->name) < 0 ||
        mct_json_add_str(o, "path", d->path) < 0 ||
        mct_json_add_str(o, "state", mct_dest_state_name(d->state)) < 0 ||
        mct_json_add_u64(o, "files", d->files) < 0 || mct_json_add_u64(o, "bytes", d->bytes) < 0 ||
        mct_json_add_str(o, "detail", d->detail) < 0 ||
        mct_json_add(o, "missing", mct_json_str_array(d->verify.missing, JSON_MAX_FILES)) < 0 ||
        mct_json_add(o, "size_mismatch", TAKE_PTR(mismatched)) < 0)
        return NULL;
    return TAKE_PTR(o);
}

static struct json_object *source(const struct mct_session_status *st)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    if (mct_json_add_str(o, "path", st->source_path) < 0 ||
        mct_json_add_bool(o, "exists", st->source_exists) < 0 ||
        mct_json_add_u64(o, "files", st->source.n_files) < 0 ||
        mct_json_add_u64(o, "bytes", st->source.bytes) < 0 ||
        mct_json_add_u64(o, "videos", st->source.videos) < 0)
        return NULL;
    return TAKE_PTR(o);
}

static struct json_object *session(const struct mct_session_status *st)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    _cleanup_json_ struct json_object *dests = json_object_new_array();
    for (size_t i = 0; i < st->n_dests; i++)
        if (mct_json_push(dests, destination(&st->dests[i])) < 0)
            return NULL;
    /* What could not be checked (a database, a share): the same list
     * mctctl prints on standard error, per session. */
    _cleanup_strv_ char **errors = NULL;
    if (mct_policy_unknowns(st, &errors) < 0)
        return NULL;
    if (mct_json_add_str(o, "participant_id", st->ref.participant_id) < 0 ||
        mct_json_add_str(o, "session_date", st->ref.session_date) < 0 ||
        mct_json_add(o, "source", source(st)) < 0 ||
        mct_json_add_bool(o, "managed", !st->not_managed) < 0 ||
        mct_json_add(o, "datajoint", datajoint(&st->dj)) < 0 ||
        mct_json_add(o, "destinations", TAKE_PTR(dests)) < 0 ||
        add_tristate(o, "backup", st->backup) < 0 ||
        add_tristate(o, "verified", st->verified) < 0 ||
        mct_json_add_bool(o, "safe_to_delete", st->safe_to_delete && !st->activity) < 0 ||
        mct_json_add_strv(o, "reasons", st->reasons) < 0 ||
        mct_json_add_strv(o, "errors", errors) < 0 ||
        mct_json_add_str(o, "activity", st->activity) < 0)
        return NULL;
    return TAKE_PTR(o);
}

int mct_report_session_json(const struct mct_session_status *st, struct mct_buf *out)
{
    _cleanup_json_ struct json_object *o = session(st);
    return mct_json_write(o, out);
}

int mct_report_session_json_doc(const struct mct_session_status *st, struct mct_buf *out)
{
    int r = mct_report_session_json(st, out);
    return r < 0 ? r : mct_buf_puts(out, "\n");
}

/* The array is written in parts, one session object per line, so that
 * the mount's root can render years of sessions a chunk at a time. */
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
