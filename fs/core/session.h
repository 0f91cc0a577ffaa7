/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Session identity and paths: validation of participant ids and dates
 * (before any path is built from them), path templates in both directions,
 * and the participant-id normalisation the acquisition GUI applies before
 * it pushes to DataJoint.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define MCT_ID_MAX   100
#define MCT_DATE_LEN 8

struct mct_session_ref {
    char participant_id[MCT_ID_MAX + 1];
    char session_date[MCT_DATE_LEN + 1]; /* YYYYMMDD */
};

/* Non-empty, at most MCT_ID_MAX bytes, no '/', not "." or "..", no
 * control characters or whitespace, does not start with '.' or '-'. */
bool mct_participant_id_valid(const char *id);
/* Exactly 8 digits forming a real calendar date (leap years included). */
bool mct_session_date_valid(const char *date);
/* Fill ref after validating both; -EINVAL with a message naming the bad value. */
int mct_session_ref_init(struct mct_session_ref *ref, const char *participant_id,
                         const char *session_date, char *err, size_t errlen);

/* "p001" -> "001", "t1234" -> "1234" (a lower-case p or t followed only by
 * digits); anything else is copied unchanged. */
void mct_normalize_participant_id(const char *id, char *out, size_t outlen);

/* YYYYMMDD <-> YYYY-MM-DD (SQLite and MySQL date text). out needs 11 bytes. */
int mct_date_to_iso(const char *yyyymmdd, char *out, size_t outlen);
int mct_date_from_iso(const char *iso, char *out, size_t outlen);

/*
 * Templates are relative paths whose components may contain
 * {participant_id} and {session_date} (each exactly once in the template),
 * e.g. "{participant_id}/{session_date}" or "{session_date}/{participant_id}".
 * No empty, "." or ".." components, not absolute.
 */
int mct_template_validate(const char *tmpl, char *err, size_t errlen);
/* Relative path for the session; malloc'd. */
int mct_template_expand(const char *tmpl, const struct mct_session_ref *ref, char **ret);
/* Inverse: does relpath (same number of components) match? 0 and fills ref
 * (validated) on a match, -EINVAL otherwise. */
int mct_template_match(const char *tmpl, const char *relpath, struct mct_session_ref *ref);
/* The same; when relpath has the template's shape but is no session
 * because its date merely looks like one ("2025-01-30", "20250231") or
 * its participant id is not valid, why says so ("" otherwise); for a bad
 * date, ref->participant_id is the folder's participant. */
int mct_template_match_why(const char *tmpl, const char *relpath, struct mct_session_ref *ref,
                           char *why, size_t whylen);
/* Number of path components of a template ("a/b" -> 2). */
size_t mct_template_depth(const char *tmpl);

/* Absolute paths of a session: source and one destination; malloc'd. */
int mct_session_source_path(const struct mct_config *cfg, const struct mct_session_ref *ref,
                            char **ret);
int mct_session_dest_path(const struct mct_destination *dest, const struct mct_session_ref *ref,
                          char **ret);

/* Open the session's folder from the source base one component at a time,
 * never following a symlink below the base: -ELOOP when the session folder
 * or a folder above it (a participant's) is a symlink, -ENOENT, -errno. */
int mct_session_open_dir(const struct mct_config *cfg, const struct mct_session_ref *ref,
                         int *fd_out);

/* Does the participant id start with one of backup.filters.participant_prefixes
 * (true when the list is empty)? */
bool mct_participant_selected(const struct mct_config *cfg, const char *participant_id);

/* Order by date, then participant. For qsort. */
int mct_session_ref_cmp(const void *a, const void *b);
