/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The network share. Nothing here may hang: a stale NFS/SMB mount blocks
 * every access in uninterruptible sleep, so every access to a share
 * happens in a forked child that the caller can abandon after a deadline
 * (timeouts.share_seconds). A thread would not do: a process cannot exit
 * while one of its threads is stuck in the kernel.
 */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "scan.h"

/*
 * Is path listed as a mount point in /proc/self/mountinfo (octal escapes
 * such as \040 decoded)? 1 yes, 0 no, -errno if mountinfo cannot be read.
 * Comparing st_dev with the parent would miss bind mounts, hence mountinfo.
 */
int mct_is_mount_point(const char *path);

/*
 * Is the destination usable right now? 0 yes; -ENOTCONN "not mounted"
 * (verify_mount and mount_point is not a mount point); -ETIMEDOUT when a
 * stat of mount_point and base_path does not answer within
 * cfg->share_timeout_s; -ENOENT when base_path does not exist;
 * other -errno. why gets a sentence naming the path.
 */
int mct_share_probe(const struct mct_config *cfg, const struct mct_destination *dest, char *why,
                    size_t whylen);

/*
 * Scan n destination session folders in one forked child (mct_scan_tree
 * with cfg->exclude_patterns on each), streaming the results back. The
 * deadline is an idle timeout: share_timeout_s without a result from the
 * child. results[i] and errs[i] (0, -ENOENT for "no copy", -ETIMEDOUT,
 * -errno) are filled for every i; on a timeout the remaining ones get
 * -ETIMEDOUT. Returns 0, or -ETIMEDOUT if any timed out, or -errno if the
 * child could not be started.
 */
int mct_share_scan_many(const struct mct_config *cfg, char *const *paths, size_t n,
                        struct mct_scan *results, int *errs);

/*
 * The child-with-a-deadline machinery the probe and the scan use, for
 * other readers of the share (checksum.c hashes copies with it). fn runs
 * in a forked child with only wfd (and stdio) open and must write its
 * results to wfd; the parent reads them with mct_share_child_read(),
 * which gives up after idle_ms without a byte (-ETIMEDOUT) and returns
 * -EIO when the child died early. mct_share_child_finish() kills and
 * reaps it without ever blocking (a child stuck on a hung share is left
 * to a detached reaper thread).
 */
struct mct_share_child {
    pid_t pid;
    int fd; /* read end of the child's pipe */
};
typedef void (*mct_share_child_fn)(int wfd, void *ud);
int mct_share_child_start(struct mct_share_child *c, mct_share_child_fn fn, void *ud);
int mct_share_child_read(struct mct_share_child *c, void *buf, size_t n, int idle_ms);
void mct_share_child_finish(struct mct_share_child *c);
/* The deadline: cfg->share_timeout_s (5 s when unset) in milliseconds. */
int mct_share_timeout_ms(const struct mct_config *cfg);
/* In the child: write all of buf to wfd. -errno. */
int mct_share_child_write(int wfd, const void *buf, size_t n);
