/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The run sync and verify share (session_run.h): the session opened and
 * locked once, and what is written when the run ends.
 */
#include "session_run.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "lock.h"
#include "util.h"

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

int mct_run_scan_source(const struct mct_config *cfg, const struct mct_run *run,
                        struct mct_op_result *res, struct mct_scan *scan)
{
    /* A fresh open of the folder, not a dup: a dup would share the
     * directory offset the previous walk left at the end. */
    int fd = openat(run->src_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = fd < 0 ? -errno : mct_scan_tree_fd(fd, cfg->exclude_patterns, scan);
    if (r < 0)
        return mct_op_fail(res, r, "cannot scan %s: %s", run->src, strerror(-r));
    return 0;
}

int mct_run_begin(const struct mct_config *cfg, const struct mct_session_ref *ref,
                  enum mct_verify_method method, struct mct_op_result *res, struct mct_run *run)
{
    run->method = method;
    int r = check_destinations(cfg, res);
    if (r < 0)
        return r;
    r = open_session(cfg, ref, res, &run->src, &run->lock_fd, &run->src_fd);
    if (r < 0)
        return r;
    r = mct_run_scan_source(cfg, run, res, &run->source);
    if (r < 0)
        return r;
    if (method == MCT_VERIFY_CHECKSUM && (r = mct_hashcache_open(cfg, ref, &run->cache)) < 0)
        return mct_op_fail(res, r, "out of memory");
    return 0;
}

void mct_run_finish(const struct mct_config *cfg, const struct mct_session_ref *ref,
                    struct mct_run *run, struct mct_op_result *res)
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

void mct_run_done(struct mct_run *run)
{
    mct_manifest_free(&run->manifest);
    mct_hashcache_free(run->cache);
    mct_scan_free(&run->source);
    if (run->src_fd >= 0)
        close(run->src_fd);
    if (run->lock_fd >= 0)
        close(run->lock_fd);
    free(run->src);
    *run = (struct mct_run)MCT_RUN_INIT;
}

static int fail_unreachable(struct mct_op_result *res, const struct mct_destination *dest,
                            const char *why, int err)
{
    /* The probe's sentence may already name the destination. */
    if (startswith(why, "destination '"))
        return mct_op_fail(res, err, "%s", why);
    return mct_op_fail(res, err, "destination '%s': %s", dest->name, mct_why_or_errno(why, err));
}

int mct_run_fail_probe(struct mct_op_result *res, const struct mct_destination *dest,
                       const char *what, const char *why, int err)
{
    bool unsafe = err == -ELOOP || err == -EXDEV;
    mct_op_say(res, "destination '%s': not %s (%s)", dest->name, what,
               unsafe ? "unsafe" : "unreachable");
    return fail_unreachable(res, dest, why, unsafe ? -EPERM : err);
}

void mct_run_record(const struct mct_config *cfg, enum mct_metrics_job job, int r)
{
    if (r != -EBUSY)
        (void)mct_metrics_job_record(cfg, job, r >= 0);
}
