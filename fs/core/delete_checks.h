/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One deletion in progress and the checks it must pass (delete.c runs
 * them in order). Private to delete.c and delete_checks.c.
 */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#include "operations.h"
#include "scan.h"
#include "status.h"
#include "trash.h"

struct mct_deletion {
    const struct mct_config *cfg;
    const struct mct_delete_request *req;
    struct mct_op_result *res;
    char *source_path;
    int lock_fd; /* from mct_session_lock(): a lock file, not the session folder */
    int dir_fd;  /* the session folder, opened below the source base once locked */
    struct stat dir_st;
    struct mct_trash trash; /* checked to be ours; fd -1 in a dry run when there is none */
    struct mct_scan snap;   /* the whole folder, no excludes: what will be removed */
    struct mct_session_status *status; /* collected now, one element */
    char **reasons;                    /* strv: every refusal */
    bool logged;                       /* the "deleted" line is in the deletion log */
};

/* Each adds its reasons to d->reasons; returns 0 or -ENOMEM. */
/* verify_method checksum: hash both sides of every copy whose sizes match
 * (fresh hash cache entries stand in), and set each destination's state
 * from it; the destination check then counts the verified ones. Writes
 * the session's manifest when a copy matched (best effort). */
int mct_delete_check_content(struct mct_deletion *d);
/* After the move into the trash: every verified copy read again; one that
 * vanished or changed showed the source itself (a bind mount, a share
 * exported from this machine), whatever its devices and inodes said. */
int mct_delete_check_copies_moved(struct mct_deletion *d);
/* The snapshot is what the status verified. */
int mct_delete_check_snapshot(struct mct_deletion *d);
/* Nothing mounted at or under the session folder. */
int mct_delete_check_mounts(struct mct_deletion *d);
