/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What sync and verify share: a run over one session's enabled
 * destinations with the session's lock held for the whole of it, its
 * folder opened once below the source base and scanned, and the
 * verification's state (under verify_method: checksum, the hash cache and
 * the manifest written at the end). Private to session_run.c, sync.c and
 * verify_session.c.
 */
#pragma once

#include "config.h"
#include "hashcache.h"
#include "manifest.h"
#include "metrics.h"
#include "op_result.h"
#include "rsync.h"
#include "scan.h"
#include "session.h"

struct mct_run {
    char *src;   /* the session's folder, for messages */
    int lock_fd; /* the session's lock (lock.h), held until mct_run_done() */
    int src_fd;  /* the folder, opened without following a symlink: read through it */
    struct mct_scan source;
    enum mct_verify_method method;
    struct mct_hashcache *cache;  /* checksum only */
    struct mct_manifest manifest; /* the source's hashes, from the first copy that matched */
};
#define MCT_RUN_INIT                                                                               \
    {                                                                                              \
        .lock_fd = -1, .src_fd = -1                                                                \
    }

/* What sync and verify do first: an enabled destination is configured,
 * the session is there, locked and opened, its files are scanned, the
 * verification's state is ready. -errno, with the reason in res. */
int mct_run_begin(const struct mct_config *cfg, const struct mct_session_ref *ref,
                  enum mct_verify_method method, struct mct_op_result *res, struct mct_run *run);
/* Save the hashes (only speed depends on it) and write the manifest
 * (evidence for audits: a failure is said in res, but the copies stay
 * verified). */
void mct_run_finish(const struct mct_config *cfg, const struct mct_session_ref *ref,
                    struct mct_run *run, struct mct_op_result *res);
/* Release what mct_run_begin took, the lock last. */
void mct_run_done(struct mct_run *run);

/* Scan the session's folder again (a fresh open of run->src_fd). */
int mct_run_scan_source(const struct mct_config *cfg, const struct mct_run *run,
                        struct mct_op_result *res, struct mct_scan *scan);

/* Compare one destination's copy with source (a scan of the session):
 * file by file by size, and by content under checksum. 0 verified,
 * -EIO (what differs is in res), -EPERM unsafe, -ENOTCONN/-ETIMEDOUT. */
int mct_run_verify_one(const struct mct_config *cfg, const struct mct_session_ref *ref,
                       const struct mct_destination *dest, struct mct_run *run,
                       const struct mct_scan *source, mct_progress_fn progress, void *ud,
                       struct mct_op_result *res);

/* The share probe failed before what ("synced", "verified"): unsafe (a
 * symlink, not a copy: -EPERM) or unreachable (err). */
int mct_run_fail_probe(struct mct_op_result *res, const struct mct_destination *dest,
                       const char *what, const char *why, int err);

/* The job's last run is a metric (metrics.h); a command that found the
 * session busy did not run. */
void mct_run_record(const struct mct_config *cfg, enum mct_metrics_job job, int r);

static inline const char *mct_why_or_errno(const char *why, int err)
{
    return strempty(why) ? strerror(-err) : why;
}
