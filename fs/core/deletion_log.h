/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The deletion log (deletion.log_path): one JSON object per line, appended
 * with O_APPEND and fsync'd, so a deletion is never carried out without
 * its record on disk. Every string is JSON-escaped (escape.h): a reason
 * quoting a name with a newline or bytes that are not UTF-8 still makes
 * one line of valid UTF-8 JSON. Private to delete.c and trash.c, but for
 * mct_describe_user() (operations.h), which names the user everywhere.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jsondoc.h"
#include "operations.h"
#include "status.h"
#include "util.h"

struct mct_dlog_info {
    const struct mct_session_ref *ref;
    const char *who; /* user name, NULL = from getuid() */
    const char *via; /* "mctctl", "mctfs", "recovery" */
    const char *path;
    size_t files;
    uint64_t bytes;
    enum mct_delete_mode mode;
    const struct mct_session_status *status; /* evidence; may be NULL */
    const char *result;                      /* "deleted", "refused" */
    char *const *reasons;                    /* strv, for "refused" */
};

/* Can a line be appended to path (its folder created when missing)? 0 or
 * -errno with why naming the path. Appends nothing. */
int mct_dlog_check_writable(const char *path, char *why, size_t whylen);

/* The JSON object describing the deletion (NULL on ENOMEM), for a caller
 * that adds to it, and its text (no newline) into out. */
struct json_object *mct_dlog_record(const struct mct_dlog_info *info);
int mct_dlog_format(const struct mct_dlog_info *info, struct mct_buf *out);

/* The record of files written into a session while it was deleted and
 * put back instead of removed: result "kept", files = n. */
int mct_dlog_append_kept(const char *log_path, const struct mct_session_ref *ref, const char *via,
                         const char *path, size_t n);

/* Append line + '\n' in one write and fsync it. 0 or -errno. */
int mct_dlog_append(const char *path, const char *line);

/* "2025-01-04T09:30:00Z" for t. */
void mct_dlog_iso_time(time_t t, char *out, size_t len);
