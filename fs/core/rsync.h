/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running rsync: always with an argument vector (never a shell), the
 * configured flags split on whitespace, one --exclude per pattern,
 * --bwlimit, --timeout, and --info=progress2 parsed into a percentage.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

typedef void (*mct_progress_fn)(void *ud, const char *phase, int percent, const char *detail);

/* Is this rsync_flags string acceptable? Only the options on rsync_argv.c's
 * allowlist (how to copy, what to print; short clusters letter by letter,
 * values checked) pass: everything else, a bare "--" and words that are
 * not options are refused. 0, or -EINVAL with "'WORD' is not allowed
 * (allowed: ...)" in why. */
int mct_rsync_flags_check(const char *flags, char *why, size_t whylen);

/* Build the argv (strv, NULL-terminated) for copying src_dir's contents
 * into dst_dir: "rsync FLAGS... --exclude=P... [--bwlimit=N] [--timeout=N]
 * --info=progress2 [--dry-run] -- SRC/ DST/". */
int mct_rsync_argv(const struct mct_config *cfg, const char *src_dir, const char *dst_dir,
                   bool dry_run, char ***ret);

/* rsync's exit codes in words ("partial transfer due to error", ...). */
const char *mct_rsync_exit_meaning(int code);

/*
 * Start rsync (fork and execvp, stdin /dev/null), feed progress lines to
 * progress (may be NULL), wait. *exit_code gets rsync's exit status (or
 * 128+signal). Returns 0 when rsync exited 0, -EIO otherwise, -errno when
 * it could not be started. Kills rsync if it prints nothing for
 * rsync_timeout_s + share_timeout_s (a hung share can wedge its receiver).
 * rsync gets SIGTERM when the calling thread exits (PR_SET_PDEATHSIG), so
 * that it dies with us: the call returns only once rsync was reaped, except
 * when rsync survives SIGKILL or waitpid() fails (the log says so).
 */
int mct_rsync_run(const struct mct_config *cfg, const char *src_dir, const char *dst_dir,
                  bool dry_run, mct_progress_fn progress, void *ud, int *exit_code);

/* Same, and when stderr_text is not NULL it gets what rsync wrote on
 * stderr (its first few KiB, malloc'd, "" when nothing), so a failure can
 * be explained in rsync's own words. */
int mct_rsync_run_full(const struct mct_config *cfg, const char *src_dir, const char *dst_dir,
                       bool dry_run, mct_progress_fn progress, void *ud, int *exit_code,
                       char **stderr_text);

/* The same for folders we opened and checked: rsync reaches src_fd and
 * dst_fd (either may be -1, then its path is used) as /proc/self/fd/N of
 * descriptors it inherits, so a name swapped for a symlink after the
 * check changes nothing. The paths are for messages. */
int mct_rsync_run_fds(const struct mct_config *cfg, int src_fd, const char *src_dir, int dst_fd,
                      const char *dst_dir, bool dry_run, mct_progress_fn progress, void *ud,
                      int *exit_code, char **stderr_text);

/* The same; for a dry run, *listed (when not NULL) gets every name rsync
 * would copy or create, relative to the session folder ("sub/" for a
 * folder), from its --out-format lines. */
#define MCT_RSYNC_LIST_PREFIX "mctfs-dry-run: "
int mct_rsync_run_listed(const struct mct_config *cfg, int src_fd, const char *src_dir, int dst_fd,
                         const char *dst_dir, bool dry_run, mct_progress_fn progress, void *ud,
                         int *exit_code, char **stderr_text, char ***listed);

/* The percentage of one --info=progress2 line ("  1,234,567  45%
 * 12.34MB/s    0:00:10 (xfr#1, to-chk=2/4)"), or -1 when it is not one. */
int mct_rsync_parse_progress(const char *line);
