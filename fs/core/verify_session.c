/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * verify, as mctctl and the mount's .control file run it, and the
 * comparison of one copy that a sync runs after rsync too: file by file
 * by size, and under verify_method: checksum by content as well (every
 * file hashed on both sides, content.h; the hashes go to the hash cache
 * and the session's manifest is written for a later `mctctl audit`). A
 * share is touched only after mct_share_probe() said it is mounted and
 * answering; a verification that could not be done is a failure, never a
 * pass. The user is told per destination (and per file) what happened.
 */

#include "content.h"
#include "operations.h"
#include "policy.h"
#include "session_run.h"
#include "share.h"

/* Per-file lines per kind and destination; a wholly missing copy of a big
 * session would otherwise bury the summary. */
#define MAX_FILE_LINES 200

struct verify_progress {
    mct_progress_fn fn;
    void *ud;
    const char *dest_name;
    int last;
};

static void verify_progress_report(struct verify_progress *vp, int pct)
{
    if (!vp->fn || pct == vp->last)
        return;
    vp->last = pct;
    vp->fn(vp->ud, "verifying", pct, vp->dest_name);
}

static void on_compare_progress(void *ud, uint64_t done, uint64_t total)
{
    verify_progress_report(ud, total ? (int)(done * 100 / total) : 100);
}

static void report_files(struct mct_op_result *res, const struct mct_verify_result *vr)
{
    size_t i;

    for (i = 0; i < vr->n_missing && i < MAX_FILE_LINES; i++)
        mct_op_say(res, "missing: %s", vr->missing[i]);
    if (vr->n_missing > MAX_FILE_LINES)
        mct_op_say(res, "... and %zu more missing", vr->n_missing - MAX_FILE_LINES);
    for (i = 0; i < vr->n_mismatched && i < MAX_FILE_LINES; i++)
        mct_op_say(res, "size differs: %s source %llu copy %llu", vr->mismatched[i].relpath,
                   (unsigned long long)vr->mismatched[i].source_size,
                   (unsigned long long)vr->mismatched[i].copy_size);
    if (vr->n_mismatched > MAX_FILE_LINES)
        mct_op_say(res, "... and %zu more that differ in size", vr->n_mismatched - MAX_FILE_LINES);
    for (i = 0; i < vr->n_extra && i < MAX_FILE_LINES; i++)
        mct_op_say(res, "extra in copy: %s", vr->extra[i]);
    if (vr->n_extra > MAX_FILE_LINES)
        mct_op_say(res, "... and %zu more extra in copy", vr->n_extra - MAX_FILE_LINES);
}

static int report_verdict(struct mct_op_result *res, const struct mct_destination *dest,
                          const char *dst, const struct mct_scan *source,
                          const struct mct_verify_result *vr)
{
    char size[32];

    if (vr->state == MCT_DEST_VERIFIED && vr->n_missing == 0 && vr->n_mismatched == 0) {
        mct_format_bytes(source->bytes, size, sizeof(size));
        if (vr->n_extra > 0)
            mct_op_say(res, "destination '%s': verified, %zu files, %s (%zu extra in copy)",
                       dest->name, source->n_files, size, vr->n_extra);
        else
            mct_op_say(res, "destination '%s': verified, %zu files, %s", dest->name,
                       source->n_files, size);
        report_files(res, vr);
        return 0;
    }

    mct_op_say(res,
               "destination '%s': NOT verified: %zu missing, %zu differ in size, %zu extra (copy "
               "at %s)",
               dest->name, vr->n_missing, vr->n_mismatched, vr->n_extra, dst);
    report_files(res, vr);
    if (vr->n_missing == 0 && vr->n_mismatched == 0)
        return mct_op_fail(res, -EIO, "destination '%s': the copy at %s holds no files", dest->name,
                           dst);
    return mct_op_fail(
            res, -EIO,
            "destination '%s': the copy at %s is not verified: %zu missing, %zu differ in size",
            dest->name, dst, vr->n_missing, vr->n_mismatched);
}

/* Reads the copy in a forked child (share.h): a hung share costs a
 * timeout. The folder must be this session's copy (policy.h): whatever
 * decided its state without comparing files is the failure. */
static int scan_copy(const struct mct_config *cfg, const struct mct_destination *dest,
                     struct mct_session_status *tmp, struct mct_dest_status *d,
                     struct mct_op_result *res, struct mct_copy_scan *copy)
{
    copy->path = d->path;
    int r = mct_share_scan_copies(cfg, dest, copy, 1);
    if (r < 0 && copy->err == 0)
        copy->err = r;
    r = mct_policy_copy_found(cfg, tmp, copy, d);
    if (r < 0)
        return mct_op_fail(res, r, "out of memory");
    if (r == 0)
        return 0;
    /* No copy is a verification that failed (EIO), not a session that is
     * gone (ENOENT, which the mount's .control reserves for that). */
    if (d->state == MCT_DEST_MISSING)
        return mct_op_fail(res, -EIO, "destination '%s': no copy at %s", dest->name, d->path);
    if (copy->err == -ETIMEDOUT)
        return mct_op_fail(res, -ETIMEDOUT,
                           "destination '%s': reading %s did not answer within %us (hung share?)",
                           dest->name, d->path, cfg->share_timeout_s);
    return mct_op_fail(res, d->state == MCT_DEST_UNSAFE ? -EPERM : copy->err,
                       "destination '%s': %s %s", dest->name, mct_dest_state_name(d->state),
                       d->detail ? d->detail : "");
}

static void report_content_files(struct mct_op_result *res, const struct mct_content_result *cr)
{
    size_t shown = 0;
    for (size_t i = 0; i < cr->n_files && shown < MAX_FILE_LINES; i++) {
        const struct mct_content_file *f = &cr->files[i];
        char a[MCT_HASH_HEX_LEN + 1], b[MCT_HASH_HEX_LEN + 1];
        int e = f->source_err ? f->source_err : f->copy_err;
        if (e) {
            mct_op_say(res, "could not hash: %s (%s: %s)", f->relpath,
                       f->source_err ? "source" : "copy",
                       e == -EAGAIN ? "changed while it was checked" : strerror(-e));
            shown++;
        } else if (!mct_hash_eq(&f->source, &f->copy)) {
            mct_hash_hex(&f->source, a);
            mct_hash_hex(&f->copy, b);
            mct_op_say(res, "content differs: %s (XXH3-128 source %s, copy %s)", f->relpath, a, b);
            shown++;
        }
    }
    if (cr->n_differ + cr->n_errors > shown)
        mct_op_say(res, "... and %zu more that differ in content or could not be hashed",
                   cr->n_differ + cr->n_errors - shown);
}

static int manifest_from(struct mct_run *run, const struct mct_content_result *cr)
{
    if (run->manifest.n > 0)
        return 0;
    int r = 0;
    for (size_t i = 0; r == 0 && i < cr->n_files; i++)
        r = mct_manifest_add(&run->manifest, cr->files[i].relpath, &cr->files[i].source);
    return r;
}

/* Sizes compared already; now every file present on both sides with the
 * same size is compared by content, so each file that differs is named
 * even when the copy is also incomplete. */
static int verify_content(const struct mct_config *cfg, const struct mct_destination *dest,
                          const char *src, const char *dst, const struct mct_scan *source,
                          const struct mct_scan *copy, const struct mct_verify_result *vr,
                          struct mct_run *run, mct_progress_fn progress, void *ud,
                          struct mct_op_result *res)
{
    _cleanup_(mct_content_result_free) struct mct_content_result cr = {0};
    struct mct_content_progress cp = {.fn = progress, .ud = ud, .label = dest->name};
    char size[32], hashed[32];
    int r = mct_content_compare(cfg, src, source, dest, dst, copy, run->cache, &cp, &cr);
    if (r == -ENOMEM)
        return mct_op_fail(res, r, "destination '%s': out of memory comparing %s", dest->name, dst);
    report_content_files(res, &cr);
    if (vr->state != MCT_DEST_VERIFIED || vr->n_missing || vr->n_mismatched) {
        int v = report_verdict(res, dest, dst, source, vr);
        if (cr.n_differ > 0)
            mct_op_fail(res, -EIO, "destination '%s': %zu files in %s also differ in content",
                        dest->name, cr.n_differ, dst);
        return v < 0 ? v : -EIO;
    }
    if (r < 0)
        return mct_op_fail(res, r, "destination '%s': hashing the copy at %s stopped: %s",
                           dest->name, dst,
                           r == -ETIMEDOUT ? "the share stopped answering" : strerror(-r));
    if (cr.n_differ || cr.n_errors || cr.n_files != source->n_files)
        return mct_op_fail(res, -EIO,
                           "destination '%s': the copy at %s is not verified: %zu files differ in "
                           "content, %zu could not be hashed",
                           dest->name, dst, cr.n_differ, cr.n_errors);
    double secs = (double)cr.ms / 1000.0;
    mct_op_say(
            res,
            "destination '%s': verified by checksum (XXH3-128), %zu files, %s (%s read in %.1f s, "
            "%.0f MB/s)",
            dest->name, source->n_files, mct_format_bytes(source->bytes, size, sizeof(size)),
            mct_format_bytes(cr.bytes_hashed, hashed, sizeof(hashed)), secs,
            secs > 0 ? (double)cr.bytes_hashed / secs / 1e6 : 0.0);
    if (vr->n_extra > 0)
        report_files(res, vr);
    r = manifest_from(run, &cr);
    return r < 0 ? mct_op_fail(res, r, "out of memory") : 0;
}

static void dest_status_freep(struct mct_dest_status *d)
{
    free(d->path);
    free(d->detail);
}

int mct_run_verify_one(const struct mct_config *cfg, const struct mct_session_ref *ref,
                       const struct mct_destination *dest, struct mct_run *run,
                       const struct mct_scan *source, mct_progress_fn progress, void *ud,
                       struct mct_op_result *res)
{
    _cleanup_(dest_status_freep) struct mct_dest_status d = {.dest = dest};
    _cleanup_(mct_copy_scan_done) struct mct_copy_scan copy = {0};
    _cleanup_(mct_verify_result_free) struct mct_verify_result vr = {0};
    struct verify_progress vp = {.fn = progress, .ud = ud, .dest_name = dest->name, .last = -1};
    /* What the rules look at: this session and its source, borrowed. */
    struct mct_session_status tmp = {.ref = *ref, .source = *source, .source_exists = true};
    char why[512] = "";
    int r;

    r = mct_session_dest_path(dest, ref, &d.path);
    if (r < 0)
        return mct_op_fail(res, r, "destination '%s': cannot build the session's path: %s",
                           dest->name, strerror(-r));
    const char *dst = d.path;
    verify_progress_report(&vp, 0);
    r = mct_share_probe(cfg, dest, why, sizeof(why));
    if (r < 0)
        return mct_run_fail_probe(res, dest, "verified", why, r);
    r = scan_copy(cfg, dest, &tmp, &d, res, &copy);
    if (r < 0)
        return r;
    r = mct_verify_compare(source, &copy.scan, on_compare_progress, &vp, &vr);
    if (r < 0)
        return mct_op_fail(res, r, "destination '%s': cannot compare with %s: %s", dest->name, dst,
                           strerror(-r));
    if (vr.state == MCT_DEST_VERIFIED && vr.n_missing == 0 && vr.n_mismatched == 0) {
        d.state = MCT_DEST_VERIFIED;
        r = mct_policy_copy_verified(&tmp, &copy, &d);
        if (r < 0)
            return mct_op_fail(res, r, "out of memory");
        if (d.state != MCT_DEST_VERIFIED) {
            mct_op_say(res, "destination '%s': NOT verified: %s", dest->name, d.detail);
            return mct_op_fail(res, d.state == MCT_DEST_UNSAFE ? -EPERM : -EIO,
                               "destination '%s': %s", dest->name, d.detail);
        }
    }
    if (run->method == MCT_VERIFY_CHECKSUM && copy.scan.n_files > 0)
        return verify_content(cfg, dest, run->src, dst, source, &copy.scan, &vr, run, progress, ud,
                              res);
    verify_progress_report(&vp, 100);
    return report_verdict(res, dest, dst, source, &vr);
}

int mct_verify_session(const struct mct_config *cfg, const struct mct_session_ref *ref,
                       mct_progress_fn progress, void *ud, struct mct_op_result *res)
{
    return mct_verify_session_method(cfg, ref, cfg->verify_method, progress, ud, res);
}

static int verify_session(const struct mct_config *cfg, const struct mct_session_ref *ref,
                          enum mct_verify_method method, mct_progress_fn progress, void *ud,
                          struct mct_op_result *res)
{
    _cleanup_(mct_run_done) struct mct_run run = MCT_RUN_INIT;
    int r = mct_run_begin(cfg, ref, method, res, &run);
    if (r < 0)
        return r;
    int first = 0;
    for (size_t i = 0; i < cfg->n_destinations; i++) {
        if (!cfg->destinations[i].enabled)
            continue;
        r = mct_run_verify_one(cfg, ref, &cfg->destinations[i], &run, &run.source, progress, ud,
                               res);
        if (r < 0 && first == 0)
            first = r;
    }
    mct_run_finish(cfg, ref, &run, res);
    return first;
}

int mct_verify_session_method(const struct mct_config *cfg, const struct mct_session_ref *ref,
                              enum mct_verify_method method, mct_progress_fn progress, void *ud,
                              struct mct_op_result *res)
{
    int r = verify_session(cfg, ref, method, progress, ud, res);
    mct_run_record(cfg, MCT_JOB_VERIFY, r);
    return r;
}
