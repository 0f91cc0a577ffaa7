/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The caller of the FUSE request being served as access.c sees them: fsuid,
 * fsgid, and the supplementary groups, read from /proc only when a check
 * needs them.
 */
#pragma once

#include <sys/types.h>

#include "access.h"

struct caller {
    struct access_cred cred;
    gid_t groups[256]; /* more are ignored, which can only refuse more */
};

/* Fill who for the current request (valid inside an operation only);
 * returns &who->cred. */
struct access_cred *caller_cred(struct caller *who);
