/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rendering statuses: the text report of `mctctl status`, the status-range
 * table, their JSON forms, and the one-line virtual files of the mount.
 * Pure functions of a struct mct_session_status: no I/O. Every string of
 * a status (names, paths, reasons) is escaped as escape.h says, the text
 * way in text and the JSON way in JSON: a file name cannot add a line.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "status.h"
#include "util.h"

/* How text is rendered: ANSI colours, ASCII marks (y n ?) instead of ✓ ✗ ?
 * for a terminal whose locale is not UTF-8. 0: plain UTF-8, as the mount's
 * files are (a bool "colour" still reads right). */
enum {
    MCT_REPORT_COLOR = 1 << 0,
    MCT_REPORT_ASCII = 1 << 1,
};

int mct_report_session_text(const struct mct_session_status *st, unsigned style,
                            struct mct_buf *out);
int mct_report_session_json(const struct mct_session_status *st, struct mct_buf *out);
/* The same as a whole document, newline-terminated like every text file
 * (status P D --json, the mount's P/D/.status.json). */
int mct_report_session_json_doc(const struct mct_session_status *st, struct mct_buf *out);
/* Array of session objects (status D, status-range --json). */
int mct_report_sessions_json(const struct mct_session_status *st, size_t n, struct mct_buf *out);
/* Date, Participant, Videos, DJ, Backup, Verified, Safe; ✓ ✗ ? marks. */
int mct_report_range_text(const struct mct_session_status *st, size_t n, unsigned style,
                          struct mct_buf *out);

/* The same two renderings made in parts, for a caller that holds one chunk
 * of statuses at a time (the mount's root over years of sessions):
 * head, then rows/items for each chunk, then the end. */
struct mct_range_totals {
    size_t n, n_safe;
    uint64_t safe_bytes;
};
void mct_report_range_text_head(struct mct_buf *out);
void mct_report_range_text_rows(const struct mct_session_status *st, size_t n, unsigned style,
                                struct mct_range_totals *tot, struct mct_buf *out);
int mct_report_range_text_end(const struct mct_range_totals *tot, struct mct_buf *out);
/* done: items already written before these. */
void mct_report_sessions_json_items(const struct mct_session_status *st, size_t n, size_t done,
                                    struct mct_buf *out);
int mct_report_sessions_json_end(size_t total, struct mct_buf *out);
/* ".backup_status": "verified|unverified|missing|unreachable|syncing N%|verifying N%" + details. */
int mct_report_backup_status(const struct mct_session_status *st, struct mct_buf *out);
/* ".safe_to_delete": "yes\n" or "no: reason; reason\n", one line whatever
 * the reasons hold. */
int mct_report_safe_to_delete(const struct mct_session_status *st, struct mct_buf *out);

/* The forecast (forecast.h): two lines of text, or one JSON object. */
struct mct_forecast;
int mct_report_forecast_text(const struct mct_forecast *f, struct mct_buf *out);
int mct_report_forecast_json(const struct mct_forecast *f, struct mct_buf *out);

/* Reclaim (reclaim.h): one session's line as it is done, the summary
 * (what was deleted and freed, why the target is not reachable, the
 * forecast), and the whole result as one JSON document. path: the
 * source base. */
struct mct_reclaim_item;
struct mct_reclaim_result;
int mct_report_reclaim_item_text(const struct mct_reclaim_item *it, struct mct_buf *out);
/* One sentence, no full stop: "Deleted 3 sessions, 2.9M; 5.3M free now (66%): target met". */
int mct_report_reclaim_outcome(const struct mct_reclaim_result *res, struct mct_buf *out);
int mct_report_reclaim_text(const struct mct_reclaim_result *res, const char *path,
                            struct mct_buf *out);
int mct_report_reclaim_json(const struct mct_reclaim_result *res, const char *path,
                            struct mct_buf *out);

/* JSON string literal, quotes included, escaped as escape.h says: any
 * bytes (a name that is not UTF-8 too) make valid JSON. Documents are
 * built with jsondoc.h. */
int mct_json_string(struct mct_buf *out, const char *s);
