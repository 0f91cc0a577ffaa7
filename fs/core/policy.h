/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one rule set that decides "safe to delete". Each rule is a
 * function over facts a status collected (status.c) and names its
 * reasons; the status shows them and the deletion (delete.c) refuses on
 * them, so `.safe_to_delete` can never promise what a deletion would
 * refuse. The deletion adds only what is its own: the snapshot it is
 * about to remove, mounts inside the session, a writable log, and what it
 * finds after the move.
 */
#pragma once

#include "share.h"
#include "status.h"

/* Rules come in classes, so that --force-unverified can leave out the
 * copies and DataJoint but never the rig's own files. */
enum {
    MCT_RULES_IDLE = 1 << 0,      /* the rig is done: no young, lock or tmp file, a real folder */
    MCT_RULES_DATAJOINT = 1 << 1, /* fully imported */
    MCT_RULES_BACKUP = 1 << 2,    /* enough distinct, verified copies of every file */
    MCT_RULES_MANAGED = 1 << 3,   /* the participant passes backup.filters.participant_prefixes */
    MCT_RULES_ALL = MCT_RULES_IDLE | MCT_RULES_DATAJOINT | MCT_RULES_BACKUP | MCT_RULES_MANAGED,
};

/* Local files, from one walk without excludes (raw) and the backed-up
 * view in st->source: young files, lock/tmp files (IDLE, into
 * st->local_reasons), files no copy receives (BACKUP, into
 * st->unbacked_reasons). -ENOMEM. */
int mct_policy_local_files(const struct mct_config *cfg, const struct mct_scan *raw,
                           struct mct_session_status *st);

/* A session folder that is a symlink or reached through one (IDLE). */
int mct_policy_folder_symlinked(struct mct_session_status *st);

/* What the share showed of one copy, before any file is compared: 1 when
 * that alone decides d's state (no copy, unreachable, a symlink on the
 * way, another session's marker, one folder with a case-variant), 0 when
 * the files must be compared. -ENOMEM. */
int mct_policy_copy_found(const struct mct_config *cfg, const struct mct_session_status *st,
                          const struct mct_copy_scan *c, struct mct_dest_status *d);

/* After the sizes matched (d VERIFIED): a copy without this session's
 * marker is only unverified, and a copy whose files are the source's
 * own (same device and inode) is unsafe. -ENOMEM. */
int mct_policy_copy_verified(const struct mct_session_status *st, const struct mct_copy_scan *c,
                             struct mct_dest_status *d);

/* Copies counted toward required_copies are distinct folders: of two
 * destinations showing the same folder, the later one is UNSAFE. */
int mct_policy_distinct_copies(struct mct_session_status *st);

/* Every reason of the given classes that the session is not safe, in the
 * order a reader wants them, appended to *reasons. -ENOMEM. */
int mct_policy_reasons(const struct mct_session_status *st, unsigned classes, char ***reasons);

/* What could not be checked for the session, as opposed to what was
 * checked and found wanting: the DataJoint or SQLite database that did
 * not answer, each unreachable destination, a local folder that could not
 * be read. One string each ("DataJoint: ...", "destination 'NAME'
 * unreachable: ...", "source: ..."), appended to *out. -ENOMEM. */
int mct_policy_unknowns(const struct mct_session_status *st, char ***out);

/* Could the verdict change by checking again (only unknowns stand in the
 * way), or is it a definite no (some rule failed)? For a session that is
 * not safe: true when every blocker is an unknown. */
bool mct_policy_only_unknowns(const struct mct_session_status *st);
/* A session's state in one word, the first thing that keeps it from being
 * safe: "safe", "gone" (no local folder), "recording" (young, lock or tmp
 * files), "not_imported", "unknown" (DataJoint could not be asked),
 * "not_copied", "unreachable", "unsafe" (a copy that cannot count),
 * "unverified", or "pending" for a status not computed yet. For xattrs,
 * metrics and scripts. */
const char *mct_status_state(const struct mct_session_status *st, bool placeholder);
