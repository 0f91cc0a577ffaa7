/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The copy marker: a small text file, .mctfs-copy, that sync writes in
 * every copy folder to say whose copy it holds. Names on a share prove
 * nothing (a case-insensitive share makes sA02 and sa02 one folder; a
 * share user may rename anything), so a copy counts for a session only
 * when its marker names exactly that session. rsync never touches the
 * marker (it is excluded both ways) and scans leave it out of the files.
 *
 *   # mctfs copy marker: whose copy this folder holds. Do not edit.
 *   format: 1
 *   participant_id: p001
 *   session_date: 20250104
 *   rig: rig-01
 *   source: /data/p001/20250104
 *   written: 2026-12-07T01:02:03Z
 *   files: 12
 *   bytes: 123456
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "session.h"

#define MCT_MARKER_NAME "/.mctfs-copy"
#define MCT_MARKER_FILE (MCT_MARKER_NAME + 1)
/* A marker longer than this is not one of ours. */
#define MCT_MARKER_MAX 4096

/* The marker text for ref, copied from source_path. malloc'd or NULL. */
char *mct_marker_format(const struct mct_session_ref *ref, const char *source_path, size_t files,
                        uint64_t bytes);

/* The session a marker names: 0 and *ref filled (ids not validated:
 * anyone may write a marker), -EBADMSG when it is not a marker. */
int mct_marker_parse(const char *text, struct mct_session_ref *ref);

/* Does the marker name exactly this session (byte for byte)? 1 yes,
 * 0 another session (its name in other), -EBADMSG unreadable. */
int mct_marker_matches(const char *text, const struct mct_session_ref *ref,
                       struct mct_session_ref *other);

/* cfg's exclude patterns plus the marker (strv, malloc'd): what rsync
 * and every scan of a copy leave out. NULL on ENOMEM. */
char **mct_copy_excludes(char *const *excludes);
