/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Comparing a session's source scan with its copy. "verified" means every
 * source file (after excludes) exists in the copy with the same size and
 * the copy holds at least one file. Equal counts are not enough. Files only
 * in the copy are reported but do not make it unverified (rsync does not
 * delete on the destination, and they cannot cost local data).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "scan.h"

enum mct_dest_state {
    MCT_DEST_UNREACHABLE, /* not mounted, stale, hung, or unreadable */
    MCT_DEST_MISSING,     /* share fine, no copy of this session */
    MCT_DEST_UNVERIFIED,  /* copy exists but files are missing or differ */
    MCT_DEST_VERIFIED,    /* every source file present with the same size */
    MCT_DEST_UNSAFE,      /* what answers cannot count as this session's copy: a symlink on
                           * the way, another session's marker, the source itself, a folder
                           * counted twice */
};

const char *mct_dest_state_name(enum mct_dest_state s); /* "unreachable", ... */

struct mct_size_mismatch {
    char *relpath;
    uint64_t source_size;
    uint64_t copy_size;
};

struct mct_verify_result {
    enum mct_dest_state state; /* UNVERIFIED or VERIFIED (the caller decides the others) */
    char **missing;            /* strv: in source, not in copy */
    char **extra;              /* strv: in copy, not in source */
    struct mct_size_mismatch *mismatched;
    size_t n_mismatched;
    size_t n_missing, n_extra;
};

/* Compare two scans (both sorted). Fills res; -ENOMEM only. The progress
 * callback, if any, is called every few hundred files with (done, total). */
int mct_verify_compare(const struct mct_scan *source, const struct mct_scan *copy,
                       void (*progress)(void *ud, uint64_t done, uint64_t total), void *ud,
                       struct mct_verify_result *res);
void mct_verify_result_free(struct mct_verify_result *res);
