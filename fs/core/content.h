/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Comparing a session with its copy by content (verify_method: checksum).
 * The source is hashed by a thread of this process, the copy at the same
 * time by a forked child (share.h: a hung share costs a timeout, never a
 * hang), each with large sequential reads; fresh hash cache entries stand
 * in for reading a file again.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "checksum.h"
#include "config.h"
#include "hashcache.h"
#include "rsync.h"
#include "scan.h"

struct mct_content_file {
    const char *relpath; /* points into the source scan */
    struct mct_hash source, copy;
    int source_err, copy_err; /* 0, or -errno: that side has no hash */
    bool source_cached, copy_cached;
};

struct mct_content_result {
    struct mct_content_file *files; /* files both scans hold with the same size */
    size_t n_files;
    size_t n_differ;       /* both hashed, hashes differ */
    size_t n_errors;       /* a side could not be hashed */
    uint64_t bytes_hashed; /* read from disk and share (cache hits excluded) */
    int64_t ms;            /* wall time */
};

/* The progress of hashing: phase "verifying", the percentage of the bytes
 * to read (both sides), and detail "LABEL: 1.2G of 4.0G, 850 MB/s, ETA 0:03". */
struct mct_content_progress {
    mct_progress_fn fn;
    void *ud;
    const char *label; /* e.g. the destination's name */
};

/*
 * Hash both sides of every file that both scans hold with the same size
 * (the size check reports the others). cache may be NULL; fresh entries
 * are used, new hashes stored. A file whose stat at hashing time differs
 * from its scan entry gets -EAGAIN (it changed since it was scanned).
 * 0, -ETIMEDOUT when the copy stopped answering (its unhashed files get
 * copy_err -ETIMEDOUT), -ENOMEM, or -errno when the child cannot start.
 */
int mct_content_compare(const struct mct_config *cfg, const char *src_dir,
                        const struct mct_scan *source, const struct mct_destination *dest,
                        const char *dst_dir, const struct mct_scan *copy,
                        struct mct_hashcache *cache, const struct mct_content_progress *progress,
                        struct mct_content_result *res);

/*
 * Hash n files (relpaths under dir, a folder of dest reached as
 * share.h's mct_share_open_in_child does; total bytes for the
 * progress) in a forked child with the
 * share timeout as idle deadline, never from a cache (an audit must read).
 * hashes[i] and errs[i] (0, -ENOENT, -ETIMEDOUT, -errno) filled for each.
 * Returns 0, -ETIMEDOUT, or -errno when the child cannot start.
 */
int mct_content_hash_share(const struct mct_config *cfg, const struct mct_destination *dest,
                           const char *dir, char *const *relpaths, size_t n, uint64_t total,
                           const struct mct_content_progress *progress, struct mct_hash *hashes,
                           int *errs);

void mct_content_result_free(struct mct_content_result *res);

/* "content differs: a.mp4, b.mp4 (and 3 more)" style detail, or NULL
 * when every file matched. malloc'd. */
char *mct_content_summary(const struct mct_content_result *res);
