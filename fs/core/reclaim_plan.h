/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reclaim's planning, without I/O: which sessions it may take (the
 * status's verdict, and old enough), in which order, and why the target
 * cannot be met when it cannot. The forecast and the reports use it too;
 * the command that deletes is reclaim.h.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forecast.h"
#include "space.h"
#include "status.h"

/* Why a session is or is not reclaimable, for the report ("9 not in
 * DataJoint"). One class per session, the first that applies. */
enum mct_reclaim_class {
    MCT_RECLAIM_ELIGIBLE,     /* safe to delete and old enough */
    MCT_RECLAIM_ABSENT,       /* not on local disk (an interrupted deletion's name) */
    MCT_RECLAIM_RECENT,       /* recorded within keep_recent_days */
    MCT_RECLAIM_IN_USE,       /* the rig is at it: young, lock or tmp files, a trash entry */
    MCT_RECLAIM_NOT_IN_DJ,    /* not fully imported into DataJoint */
    MCT_RECLAIM_DJ_UNKNOWN,   /* DataJoint did not answer */
    MCT_RECLAIM_NOT_COPIED,   /* too few copies */
    MCT_RECLAIM_UNREACHABLE,  /* a share did not answer */
    MCT_RECLAIM_NOT_VERIFIED, /* copies there, not verified */
    MCT_RECLAIM_NOT_SAFE,     /* any other reason of the status */
    MCT_RECLAIM_BUSY,         /* eligible, but another command held it */
    MCT_RECLAIM_REFUSED,      /* eligible, but the deletion's re-check said no */
    _MCT_RECLAIM_CLASS_MAX,
};

/* "not in DataJoint", "not copied", ... */
const char *mct_reclaim_class_name(enum mct_reclaim_class c);
/* today: mct_today_days(). */
enum mct_reclaim_class mct_reclaim_classify(const struct mct_session_status *st, int64_t today,
                                            unsigned keep_recent_days);

enum mct_reclaim_outcome {
    MCT_RECLAIM_KEPT,         /* not touched */
    MCT_RECLAIM_DELETED,      /* deleted by the protocol */
    MCT_RECLAIM_WOULD_DELETE, /* a dry run's re-check passed */
    MCT_RECLAIM_FAILED,       /* the protocol said no (class BUSY or REFUSED) */
};

struct mct_reclaim_item {
    struct mct_session_ref ref;
    char *path;
    size_t files;
    uint64_t bytes; /* local bytes when the statuses were collected */
    enum mct_reclaim_class cls;
    enum mct_reclaim_outcome outcome;
    char **reasons; /* why it is kept (the status's) or refused (the protocol's) */
};

struct mct_reclaim_result {
    bool dry_run;
    bool enabled;
    struct mct_space keep_free;
    unsigned keep_recent_days;
    uint64_t target; /* bytes that should be free */
    struct mct_fs_space before;
    struct mct_fs_space after; /* a dry run's: before plus what it would free */
    uint64_t freed;            /* bytes of the sessions deleted (or that would be) */
    size_t n_deleted;
    bool checked; /* the filesystem and the sessions were looked at */
    bool met;
    struct mct_reclaim_item *items; /* every local session, oldest first */
    size_t n;
    struct mct_forecast forecast;
    char **lines; /* what the trash's recovery did, and other notes */
    char *error;  /* why nothing was done: off, busy, the filesystem unreadable */
};

void mct_reclaim_result_free(struct mct_reclaim_result *res);

/* Sort items oldest first and pick: the planning half, without I/O.
 * Fills res->items' classes from the statuses (n of them). -ENOMEM. */
int mct_reclaim_items(struct mct_reclaim_result *res, const struct mct_session_status *st, size_t n,
                      int64_t today);

/* Does a session of this class stand between reclaim and its target
 * (not safe, busy, refused; not a recent or absent one)? */
bool mct_reclaim_class_blocks(enum mct_reclaim_class c);
/* Sessions and bytes per class: count and bytes have _MCT_RECLAIM_CLASS_MAX. */
void mct_reclaim_tally(const struct mct_reclaim_result *res, size_t *count, uint64_t *bytes);

/* "target 20% free not reachable: 1.2G in 14 sessions not safe (9 not in
 * DataJoint, 5 not copied); 300M in 2 sessions recorded within 14 days",
 * for a result whose target was not met. malloc'd; NULL on ENOMEM. */
char *mct_reclaim_why_not(const struct mct_reclaim_result *res);
