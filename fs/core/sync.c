/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sync and verify, as mctctl and the mount's .control file run them.
 * Both hold the session's lock for their whole run, touch a share only
 * after mct_share_probe() said it is mounted and answering, and tell the
 * user per destination (and per file) what happened. A verification that
 * could not be done is a failure, never a pass. Under verify_method:
 * checksum every file is also hashed on both sides (content.h), the hashes
 * go to the hash cache, and the session's manifest is written for a later
 * `mctctl audit`.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "content.h"
#include "hashcache.h"
#include "log.h"
#include "manifest.h"
#include "marker.h"
#include "metrics.h"
#include "lock.h"
#include "operations.h"
#include "policy.h"
#include "share.h"
#include "util.h"

/* Per-file lines per kind and destination; a wholly missing copy of a big
 * session would otherwise bury the summary. */
#define MAX_FILE_LINES   200
#define MAX_STDERR_LINES 20

static void scan_freep(struct mct_scan *s)
{
    mct_scan_free(s);
}

static void verify_result_freep(struct mct_verify_result *v)
{
    mct_verify_result_free(v);
}

static const char *why_or_errno(const char *why, int err)
{
    return strempty(why) ? strerror(-err) : why;
}

/* The probe's sentence may already name the destination. */
static int fail_unreachable(struct mct_op_result *res, const struct mct_destination *dest,
                            const char *why, int err)
{
    if (startswith(why, "destination '"))
        return mct_op_fail(res, err, "%s", why);
    return mct_op_fail(res, err, "destination '%s': %s", dest->name, why_or_errno(why, err));
}

/* The session's folder, checked to exist, its lock, and the folder
 * itself opened without following a symlink (*dir_fd): everything after
 * reads the session through it. */
static int open_session(const struct mct_config *cfg, const struct mct_session_ref *ref,
                        struct mct_op_result *res, char **src, int *lock_fd, int *dir_fd)
{
    const char *p = ref->participant_id, *d = ref->session_date;
    struct stat st;
    int r;

    r = mct_session_source_path(cfg, ref, src);
    if (r < 0)
        return mct_op_fail(res, r, "cannot build the local path of %s/%s: %s", p, d, strerror(-r));
    if (stat(*src, &st) < 0) {
        r = -errno;
        if (r == -ENOENT)
            return mct_op_fail(res, r, "no local session at %s", *src);
        return mct_op_fail(res, r, "cannot stat %s: %s", *src, strerror(-r));
    }
    if (!S_ISDIR(st.st_mode))
        return mct_op_fail(res, -ENOTDIR, "%s is not a folder", *src);

    r = mct_session_lock(cfg, ref, lock_fd);
    if (r == -EBUSY)
        return mct_op_fail(res, r, "another command is running on %s/%s", p, d);
    if (r == -ENOENT)
        return mct_op_fail(res, r, "no local session at %s", *src);
    if (r < 0)
        return mct_op_fail(res, r, "cannot lock %s: %s", *src, strerror(-r));
    r = mct_session_open_dir(cfg, ref, dir_fd);
    if (r == -ELOOP)
        return mct_op_fail(res, r,
                           "%s is a symlink or is reached through one: not a session folder", *src);
    if (r < 0)
        return mct_op_fail(res, r, "cannot open %s: %s", *src, strerror(-r));
    return 0;
}

static int check_destinations(const struct mct_config *cfg, struct mct_op_result *res)
{
    if (mct_config_enabled_destinations(cfg) == 0)
        return mct_op_fail(res, -EINVAL, "no enabled destination in %s",
                           cfg->path ? cfg->path : "the configuration");
    return 0;
}

static int scan_source(const struct mct_config *cfg, const char *src, int src_fd,
                       struct mct_op_result *res, struct mct_scan *scan)
{
    /* A fresh open of the folder, not a dup: a dup would share the
     * directory offset the previous walk left at the end. */
    int fd = openat(src_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = fd < 0 ? -errno : mct_scan_tree_fd(fd, cfg->exclude_patterns, scan);
    if (r < 0)
        return mct_op_fail(res, r, "cannot scan %s: %s", src, strerror(-r));
    return 0;
}

/* ---- verification ----------------------------------------------------- */

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

/* What one verification run shares across destinations. */
struct verify_run {
    enum mct_verify_method method;
    struct mct_hashcache *cache;  /* checksum only */
    struct mct_manifest manifest; /* the source's hashes, from the first copy that matched */
};

static void content_result_freep(struct mct_content_result *c)
{
    mct_content_result_free(c);
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

static int manifest_from(struct verify_run *run, const struct mct_content_result *cr)
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
                          struct verify_run *run, mct_progress_fn progress, void *ud,
                          struct mct_op_result *res)
{
    _cleanup_(content_result_freep) struct mct_content_result cr = {0};
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

static void copy_scan_freep(struct mct_copy_scan *c)
{
    mct_copy_scan_done(c);
}

static void dest_status_freep(struct mct_dest_status *d)
{
    free(d->path);
    free(d->detail);
}

/* The probe failed: unsafe (a symlink, not a copy) or unreachable. */
static int fail_probe(struct mct_op_result *res, const struct mct_destination *dest,
                      const char *what, const char *why, int err)
{
    bool unsafe = err == -ELOOP || err == -EXDEV;
    mct_op_say(res, "destination '%s': not %s (%s)", dest->name, what,
               unsafe ? "unsafe" : "unreachable");
    return fail_unreachable(res, dest, why, unsafe ? -EPERM : err);
}

static int verify_one(const struct mct_config *cfg, const struct mct_session_ref *ref,
                      const struct mct_destination *dest, const char *src,
                      const struct mct_scan *source, struct verify_run *run,
                      mct_progress_fn progress, void *ud, struct mct_op_result *res)
{
    _cleanup_(dest_status_freep) struct mct_dest_status d = {.dest = dest};
    _cleanup_(copy_scan_freep) struct mct_copy_scan copy = {0};
    _cleanup_(verify_result_freep) struct mct_verify_result vr = {0};
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
        return fail_probe(res, dest, "verified", why, r);
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
        return verify_content(cfg, dest, src, dst, source, &copy.scan, &vr, run, progress, ud, res);
    verify_progress_report(&vp, 100);
    return report_verdict(res, dest, dst, source, &vr);
}

static int verify_run_open(const struct mct_config *cfg, const struct mct_session_ref *ref,
                           enum mct_verify_method method, struct verify_run *run)
{
    *run = (struct verify_run){.method = method};
    if (method != MCT_VERIFY_CHECKSUM)
        return 0;
    return mct_hashcache_open(cfg, ref, &run->cache);
}

/* Save the hashes (only speed depends on it) and write the manifest
 * (evidence for audits: a failure is said, but the copies stay verified). */
static void verify_run_close(const struct mct_config *cfg, const struct mct_session_ref *ref,
                             struct verify_run *run, struct mct_op_result *res)
{
    _cleanup_free_ char *path = NULL;
    char why[1024] = "";
    if (run->cache)
        (void)mct_hashcache_save(run->cache);
    if (run->manifest.n > 0 && mct_manifest_path(cfg, ref, &path) == 0) {
        if (mct_manifest_write(path, &run->manifest, why, sizeof(why)) < 0)
            mct_op_say(res, "WARNING: no manifest written: %s", why);
        else
            mct_op_say(res,
                       "manifest of %zu XXH3-128 hashes written to %s (check it with mctctl audit "
                       "%s %s)",
                       run->manifest.n, path, ref->participant_id, ref->session_date);
    }
    mct_manifest_free(&run->manifest);
    mct_hashcache_free(run->cache);
    run->cache = NULL;
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
    _cleanup_free_ char *src = NULL;
    _cleanup_close_ int lock_fd = -1, src_fd = -1;
    _cleanup_(scan_freep) struct mct_scan source = {0};
    struct verify_run run;
    int r, first = 0;

    if ((r = check_destinations(cfg, res)) < 0)
        return r;
    r = open_session(cfg, ref, res, &src, &lock_fd, &src_fd);
    if (r < 0)
        return r;
    r = scan_source(cfg, src, src_fd, res, &source);
    if (r < 0)
        return r;
    r = verify_run_open(cfg, ref, method, &run);
    if (r < 0)
        return mct_op_fail(res, r, "out of memory");

    for (size_t i = 0; i < cfg->n_destinations; i++) {
        if (!cfg->destinations[i].enabled)
            continue;
        r = verify_one(cfg, ref, &cfg->destinations[i], src, &source, &run, progress, ud, res);
        if (r < 0 && first == 0)
            first = r;
    }
    verify_run_close(cfg, ref, &run, res);
    return first;
}

/* The last run is a metric (metrics.h); a command that found the session
 * busy did not run. */
static void record(const struct mct_config *cfg, enum mct_metrics_job job, int r)
{
    if (r != -EBUSY)
        (void)mct_metrics_job_record(cfg, job, r >= 0);
}

int mct_verify_session_method(const struct mct_config *cfg, const struct mct_session_ref *ref,
                              enum mct_verify_method method, mct_progress_fn progress, void *ud,
                              struct mct_op_result *res)
{
    int r = verify_session(cfg, ref, method, progress, ud, res);
    record(cfg, MCT_JOB_VERIFY, r);
    return r;
}

/* ---- sync ------------------------------------------------------------- */

/* What one rsync copies: the folders as opened (-1: use the path) and
 * their paths for messages. */
struct sync_target {
    const char *src, *dst;
    int src_fd, dst_fd;
};

static void report_rsync_stderr(struct mct_op_result *res, const char *text)
{
    size_t n = 0;

    for (const char *p = text; p && *p && n < MAX_STDERR_LINES;) {
        size_t len = strcspn(p, "\n");
        if (len > 0) {
            mct_op_say(res, "%.*s", (int)len, p);
            n++;
        }
        p += len + (p[len] == '\n');
    }
}

static int run_rsync(const struct mct_config *cfg, const struct mct_destination *dest,
                     const struct sync_target *t, bool dry_run, mct_progress_fn progress, void *ud,
                     struct mct_op_result *res)
{
    _cleanup_free_ char *errtext = NULL;
    _cleanup_strv_ char **listed = NULL;
    int code = -1;
    int r = mct_rsync_run_listed(cfg, t->src_fd, t->src, t->dst_fd, t->dst, dry_run, progress, ud,
                                 &code, &errtext, &listed);

    if (r == -EIO) {
        const char *e = errtext ? errtext : "";
        mct_op_say(res, "destination '%s': rsync exited %d: %s", dest->name, code,
                   mct_rsync_exit_meaning(code));
        report_rsync_stderr(res, e);
        return mct_op_fail(res, r,
                           "destination '%s': rsync exited %d: %s (copying %s/ to %s/)%s%.*s",
                           dest->name, code, mct_rsync_exit_meaning(code), t->src, t->dst,
                           *e ? ": " : "", (int)strcspn(e, "\n"), e);
    }
    if (r < 0)
        return mct_op_fail(res, r, "destination '%s': cannot run rsync for %s/: %s", dest->name,
                           t->src, strerror(-r));
    if (dry_run) {
        size_t n = 0;
        for (char **l = listed; l && *l; l++)
            if (!streq(*l, "./")) {
                mct_op_say(res, "destination '%s': would copy %s", dest->name, *l);
                n++;
            }
        mct_op_say(res,
                   "destination '%s': dry run of %s/ -> %s/ passed (rsync exited 0): %zu "
                   "to copy, nothing copied",
                   dest->name, t->src, t->dst, n);
    } else
        mct_op_say(res, "destination '%s': copied %s/ to %s/ (rsync exited 0: success)", dest->name,
                   t->src, t->dst);
    return 0;
}

/* The copy folder as the share child found it: ours to write into, or
 * the reason not to (nothing is written then). */
static int check_copy_folder(const struct mct_destination *dest, const struct mct_session_ref *ref,
                             const char *dst, const struct mct_copy_scan *c,
                             struct mct_op_result *res)
{
    const char *name = dest->name;
    if (c->err == -ELOOP)
        return mct_op_fail(res, -EPERM,
                           "destination '%s': unsafe: symlink at %.*s on the share; not syncing "
                           "through it (remove it on the share)",
                           name, (int)(c->symlink_end ? c->symlink_end : strlen(dst)), dst);
    if (c->err == -EXDEV)
        return mct_op_fail(res, -EPERM,
                           "destination '%s': %s is on another filesystem than the share; not "
                           "syncing into it",
                           name, dst);
    if (c->err == -ETIMEDOUT)
        return mct_op_fail(res, -ETIMEDOUT,
                           "destination '%s': creating %s did not answer (hung share?)", name, dst);
    if (c->err < 0)
        return mct_op_fail(res, c->err, "destination '%s': cannot create %s: %s", name, dst,
                           strerror(-c->err));
    struct mct_session_ref other;
    int m = c->marker ? mct_marker_matches(c->marker, ref, &other) : 1;
    if (m == 0)
        return mct_op_fail(res, -EPERM,
                           "destination '%s': %s holds another session's copy (%s %s): not "
                           "syncing %s %s into it (on a share that ignores case, ids that differ "
                           "only in case are one folder)",
                           name, dst, other.participant_id, other.session_date, ref->participant_id,
                           ref->session_date);
    if (m < 0 || (!c->marker && c->marker_err != -ENOENT))
        return mct_op_fail(res, -EPERM,
                           "destination '%s': %s/%s is not a marker mctfs wrote; not syncing "
                           "into a folder whose owner is unknown",
                           name, dst, MCT_MARKER_FILE);
    return 0;
}

/* After rsync: is the copy folder still the one it wrote into? */
static int check_copy_unchanged(const struct mct_config *cfg, const struct mct_destination *dest,
                                const char *dst, const struct mct_copy_scan *before,
                                struct mct_op_result *res)
{
    _cleanup_(copy_scan_freep) struct mct_copy_scan now = {0};
    _cleanup_close_ int fd = -1;
    char why[512] = "";
    /* The share may have gone while rsync ran (then it wrote into what
     * was unmounted, never onto the local disk): say that first. */
    int r = mct_share_probe(cfg, dest, why, sizeof(why));
    if (r < 0)
        return fail_probe(res, dest, "verified", why, r);
    r = mct_share_open_copy(cfg, dest, dst, false, &now, &fd);
    if (r == 0 && now.err == 0 && now.dev == before->dev && now.ino == before->ino)
        return 0;
    return mct_op_fail(res, -EIO,
                       "destination '%s': the copy folder %s is not the folder rsync wrote into "
                       "any more (replaced on the share during the sync)",
                       dest->name, dst);
}

static int sync_one(const struct mct_config *cfg, const struct mct_session_ref *ref,
                    const struct mct_destination *dest, const char *src, int src_fd,
                    const struct mct_scan *source, bool dry_run, mct_progress_fn progress, void *ud,
                    struct mct_op_result *res)
{
    _cleanup_free_ char *dst = NULL;
    _cleanup_(copy_scan_freep) struct mct_copy_scan folder = {0};
    _cleanup_close_ int dst_fd = -1;
    char why[512] = "";
    int r;

    r = mct_session_dest_path(dest, ref, &dst);
    if (r < 0)
        return mct_op_fail(res, r, "destination '%s': cannot build the session's path: %s",
                           dest->name, strerror(-r));
    /* Never copy into an unmounted share: it would fill the local disk and
     * later "verify" against a copy that is not on the network. */
    r = mct_share_probe(cfg, dest, why, sizeof(why));
    if (r < 0)
        return fail_probe(res, dest, "synced", why, r);
    /* Made and opened in a share child (a share that hangs now costs a
     * timeout), handed to us, and written through: rsync gets this very
     * folder whatever a share user renames meanwhile. */
    r = mct_share_open_copy(cfg, dest, dst, !dry_run, &folder, &dst_fd);
    if (r < 0)
        folder.err = r;
    if (!(dry_run && folder.err == -ENOENT)) {
        r = check_copy_folder(dest, ref, dst, &folder, res);
        if (r < 0)
            return r;
    }
    if (!dry_run && !folder.marker) {
        _cleanup_free_ char *text = mct_marker_format(ref, src, source->n_files, source->bytes);
        r = text ? mct_share_write_marker(cfg, dest, dst, text) : -ENOMEM;
        if (r < 0)
            return mct_op_fail(res, r, "destination '%s': cannot write %s/%s: %s", dest->name, dst,
                               MCT_MARKER_FILE, strerror(-r));
    }
    struct sync_target t = {.src = src, .dst = dst, .src_fd = src_fd, .dst_fd = dst_fd};
    r = run_rsync(cfg, dest, &t, dry_run, progress, ud, res);
    if (r < 0 || dry_run)
        return r;
    return check_copy_unchanged(cfg, dest, dst, &folder, res);
}

static int verify_after_sync(const struct mct_config *cfg, const struct mct_session_ref *ref,
                             const struct mct_destination *dest, const char *src, int src_fd,
                             struct verify_run *run, mct_progress_fn progress, void *ud,
                             struct mct_op_result *res)
{
    /* Scanned again for each destination: files still growing since the
     * previous rsync must show up as differences, not pass. */
    _cleanup_(scan_freep) struct mct_scan source = {0};
    int r = scan_source(cfg, src, src_fd, res, &source);
    if (r < 0)
        return r;
    return verify_one(cfg, ref, dest, src, &source, run, progress, ud, res);
}

static int check_flags(const struct mct_config *cfg, struct mct_op_result *res)
{
    char why[512] = "";
    int r = mct_rsync_flags_check(cfg->rsync_flags, why, sizeof(why));
    if (r < 0)
        return mct_op_fail(res, r, "%s: %s", cfg->path ? cfg->path : "configuration",
                           why_or_errno(why, r));
    return 0;
}

static int sync_session(const struct mct_config *cfg, const struct mct_session_ref *ref,
                        bool dry_run, mct_progress_fn progress, void *ud, struct mct_op_result *res)
{
    _cleanup_free_ char *src = NULL;
    _cleanup_close_ int lock_fd = -1, src_fd = -1;
    _cleanup_(scan_freep) struct mct_scan source = {0};
    bool verify = cfg->verify_after_sync && !dry_run;
    struct verify_run run;
    int r, first = 0;

    if ((r = check_flags(cfg, res)) < 0 || (r = check_destinations(cfg, res)) < 0)
        return r;
    r = open_session(cfg, ref, res, &src, &lock_fd, &src_fd);
    if (r < 0)
        return r;
    /* For the markers: what is being copied. */
    r = scan_source(cfg, src, src_fd, res, &source);
    if (r < 0)
        return r;
    r = verify_run_open(cfg, ref, cfg->verify_method, &run);
    if (r < 0)
        return mct_op_fail(res, r, "out of memory");

    for (size_t i = 0; i < cfg->n_destinations; i++) {
        const struct mct_destination *dest = &cfg->destinations[i];
        if (!dest->enabled)
            continue;
        r = sync_one(cfg, ref, dest, src, src_fd, &source, dry_run, progress, ud, res);
        if (r == 0 && verify)
            r = verify_after_sync(cfg, ref, dest, src, src_fd, &run, progress, ud, res);
        if (r < 0 && first == 0)
            first = r;
    }
    verify_run_close(cfg, ref, &run, res);
    if (first < 0)
        return first;

    r = mct_status_collect(cfg, ref, 1, 0, &res->status);
    if (r < 0) {
        res->status = NULL;
        log_warning_errno(r, "sync of %s/%s done, but its status could not be collected",
                          ref->participant_id, ref->session_date);
    }
    return 0;
}

int mct_sync_session(const struct mct_config *cfg, const struct mct_session_ref *ref, bool dry_run,
                     mct_progress_fn progress, void *ud, struct mct_op_result *res)
{
    int r = sync_session(cfg, ref, dry_run, progress, ud, res);
    if (!dry_run)
        record(cfg, MCT_JOB_SYNC, r);
    return r;
}
