/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl audit: the network copies against the manifest written when the
 * session was verified by checksum, typically long after the local copy
 * was deleted. Everything is read again from the share (in a child with
 * the share deadline); the hash cache is not consulted, since finding what
 * changed behind its back is the point.
 */
#include "content.h"
#include "log.h"
#include "manifest.h"
#include "operations.h"
#include "marker.h"
#include "share.h"
#include "util.h"

#define MAX_FILE_REASONS 200

struct audit_dest {
    const struct mct_config *cfg;
    const struct mct_destination *dest;
    const struct mct_session_ref *ref;
    const struct mct_manifest *m;
    char *dst;
    struct mct_scan copy;
    char **jobs;   /* relpaths present in the copy */
    size_t *entry; /* jobs[k] is m->entries[entry[k]] */
    size_t n_jobs;
    bool *listed; /* per file of the copy: in the manifest */
    size_t n_extra;
    uint64_t total;
    size_t n_bad;
};

static void audit_dest_done(struct audit_dest *a)
{
    free(a->dst);
    mct_scan_free(&a->copy);
    free(a->jobs);
    free(a->entry);
    free(a->listed);
}

static int bad(struct audit_dest *a, struct mct_op_result *res, const char *fmt, ...)
        _printf_(3, 4);
static int bad(struct audit_dest *a, struct mct_op_result *res, const char *fmt, ...)
{
    if (a->n_bad++ >= MAX_FILE_REASONS)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    int r = mct_strv_pushv(&res->reasons, fmt, ap);
    va_end(ap);
    return r;
}

static int read_copy(struct audit_dest *a, struct mct_op_result *res)
{
    char why[512] = "";
    int r = mct_share_probe(a->cfg, a->dest, why, sizeof(why));
    if (r < 0)
        return mct_op_fail(res, r, "%s", why[0] ? why : strerror(-r));
    struct mct_copy_scan c = {.path = a->dst};
    r = mct_share_scan_copies(a->cfg, a->dest, &c, 1);
    int err = c.err == 0 && r < 0 ? r : c.err;
    struct mct_session_ref other;
    int m = err == 0 && c.marker ? mct_marker_matches(c.marker, a->ref, &other) : 1;
    a->copy = c.scan;
    c.scan = (struct mct_scan){0};
    mct_copy_scan_done(&c);
    if (err == -ENOENT)
        return mct_op_fail(res, -EIO, "destination '%s': no copy at %s", a->dest->name, a->dst);
    if (err == -ELOOP || err == -EXDEV)
        return mct_op_fail(res, -EIO,
                           "destination '%s': %s is reached through a symlink or another "
                           "filesystem on the share: not this session's copy",
                           a->dest->name, a->dst);
    if (err < 0)
        return mct_op_fail(res, err, "destination '%s': cannot read %s: %s", a->dest->name, a->dst,
                           err == -ETIMEDOUT ? "no answer (hung share?)" : strerror(-err));
    if (m == 0)
        return mct_op_fail(res, -EIO, "destination '%s': %s holds another session's copy (%s %s)",
                           a->dest->name, a->dst, other.participant_id, other.session_date);
    if (m < 0)
        return mct_op_fail(res, -EIO, "destination '%s': %s has a marker mctfs did not write",
                           a->dest->name, a->dst);
    return 0;
}

static int plan(struct audit_dest *a, struct mct_op_result *res)
{
    size_t n = a->m->n ? a->m->n : 1;
    a->jobs = calloc(n + 1, sizeof(char *));
    a->entry = calloc(n, sizeof(size_t));
    a->listed = calloc(a->copy.n_files ? a->copy.n_files : 1, sizeof(bool));
    if (!a->jobs || !a->entry || !a->listed)
        return -ENOMEM;
    int r = 0;
    for (size_t i = 0; r == 0 && i < a->m->n; i++) {
        const struct mct_manifest_entry *e = &a->m->entries[i];
        const struct mct_file *f = mct_scan_find(&a->copy, e->relpath);
        if (!f) {
            r = bad(a, res, "destination '%s': missing from the copy at %s: %s", a->dest->name,
                    a->dst, e->relpath);
            continue;
        }
        a->listed[f - a->copy.files] = true;
        a->jobs[a->n_jobs] = e->relpath;
        a->entry[a->n_jobs++] = i;
        a->total += f->size;
    }
    for (size_t k = 0; k < a->copy.n_files; k++)
        a->n_extra += !a->listed[k];
    return r;
}

/* Files added to the copy since it was verified: not data loss, so a
 * warning that leaves the verdict alone (as verify's extra files do), but
 * named, since the copy is no longer what was verified. */
static void say_extra(const struct audit_dest *a, struct mct_op_result *res)
{
    size_t said = 0;
    for (size_t k = 0; k < a->copy.n_files && said < MAX_FILE_REASONS; k++) {
        if (a->listed[k])
            continue;
        mct_op_say(res, "extra in copy (not in manifest): %s", a->copy.files[k].relpath);
        said++;
    }
    if (a->n_extra > said)
        mct_op_say(res, "... and %zu more extra in copy", a->n_extra - said);
}

static int compare(struct audit_dest *a, mct_progress_fn progress, void *ud,
                   struct mct_op_result *res)
{
    size_t n = a->n_jobs ? a->n_jobs : 1;
    _cleanup_free_ struct mct_hash *hashes = calloc(n, sizeof(*hashes));
    _cleanup_free_ int *errs = calloc(n, sizeof(int));
    if (!hashes || !errs)
        return -ENOMEM;
    struct mct_content_progress cp = {.fn = progress, .ud = ud, .label = a->dest->name};
    int rr = mct_content_hash_share(a->cfg, a->dest, a->dst, a->jobs, a->n_jobs, a->total, &cp,
                                    hashes, errs);
    int r = 0;
    for (size_t k = 0; r == 0 && k < a->n_jobs; k++) {
        const struct mct_manifest_entry *e = &a->m->entries[a->entry[k]];
        char want[MCT_HASH_HEX_LEN + 1], got[MCT_HASH_HEX_LEN + 1];
        if (errs[k] < 0) {
            r = bad(a, res, "destination '%s': cannot hash %s/%s: %s", a->dest->name, a->dst,
                    e->relpath,
                    errs[k] == -ETIMEDOUT ? "the share stopped answering" : strerror(-errs[k]));
        } else if (!mct_hash_eq(&e->hash, &hashes[k])) {
            mct_hash_hex(&e->hash, want);
            mct_hash_hex(&hashes[k], got);
            r = bad(a, res,
                    "destination '%s': %s differs from the manifest (XXH3-128 manifest %s, copy "
                    "%s) in %s",
                    a->dest->name, e->relpath, want, got, a->dst);
        }
    }
    /* A child that stopped answering left its files at -ETIMEDOUT: named above. */
    (void)rr;
    return r;
}

static int audit_one(const struct mct_config *cfg, const struct mct_session_ref *ref,
                     const struct mct_destination *dest, const struct mct_manifest *m,
                     const char *mpath, mct_progress_fn progress, void *ud,
                     struct mct_op_result *res)
{
    _cleanup_(audit_dest_done) struct audit_dest a = {.cfg = cfg, .dest = dest, .ref = ref, .m = m};
    int r = mct_session_dest_path(dest, ref, &a.dst);
    if (r < 0)
        return mct_op_fail(res, r, "destination '%s': cannot build the session's path: %s",
                           dest->name, strerror(-r));
    r = read_copy(&a, res);
    if (r < 0) {
        mct_op_say(res, "destination '%s': NOT audited", dest->name);
        return r;
    }
    r = plan(&a, res);
    if (r == 0)
        r = compare(&a, progress, ud, res);
    if (r < 0)
        return mct_op_fail(res, r, "destination '%s': audit failed: %s", dest->name, strerror(-r));
    if (a.n_bad > MAX_FILE_REASONS)
        mct_op_fail(res, 0, "destination '%s': ... and %zu more files missing or different",
                    dest->name, a.n_bad - MAX_FILE_REASONS);
    char extra[64] = "";
    if (a.n_extra > 0)
        snprintf(extra, sizeof(extra), "; %zu extra in copy, not in the manifest", a.n_extra);
    if (a.n_bad > 0) {
        mct_op_say(res, "destination '%s': %zu of %zu files missing or different from %s%s",
                   dest->name, a.n_bad, m->n, mpath, extra);
        say_extra(&a, res);
        return -EIO;
    }
    char size[32];
    mct_op_say(res, "destination '%s': all %zu files match the manifest (%s re-read from %s)%s",
               dest->name, m->n, mct_format_bytes(a.total, size, sizeof(size)), a.dst, extra);
    say_extra(&a, res);
    return 0;
}

int mct_audit_session(const struct mct_config *cfg, const struct mct_session_ref *ref,
                      mct_progress_fn progress, void *ud, struct mct_op_result *res)
{
    _cleanup_free_ char *mpath = NULL;
    struct mct_manifest m = {0};
    char why[1024] = "";
    int r = mct_manifest_path(cfg, ref, &mpath);
    if (r < 0)
        return r;
    r = mct_manifest_read(mpath, &m, why, sizeof(why));
    if (r == -ENOENT)
        return mct_op_fail(
                res, r,
                "no manifest for %s/%s at %s: run 'mctctl verify --checksum %s %s' while the "
                "local session exists",
                ref->participant_id, ref->session_date, mpath, ref->participant_id,
                ref->session_date);
    if (r < 0)
        return mct_op_fail(res, r, "%s", why);
    if (m.n == 0) {
        mct_manifest_free(&m);
        return mct_op_fail(res, -EIO, "manifest %s lists no files", mpath);
    }
    if (mct_config_enabled_destinations(cfg) == 0) {
        mct_manifest_free(&m);
        return mct_op_fail(res, -EINVAL, "no enabled destination in %s", cfg->path);
    }
    mct_op_say(res, "manifest %s: %zu files", mpath, m.n);
    int first = 0;
    for (size_t i = 0; i < cfg->n_destinations; i++) {
        if (!cfg->destinations[i].enabled)
            continue;
        r = audit_one(cfg, ref, &cfg->destinations[i], &m, mpath, progress, ud, res);
        if (r < 0 && first == 0)
            first = r;
    }
    mct_manifest_free(&m);
    return first;
}
