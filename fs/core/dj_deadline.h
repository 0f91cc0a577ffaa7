/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One deadline for a whole DataJoint check. The client library's timeouts
 * bound each read, so a server that answers a byte at a time stretched one
 * check to minutes. Here the check runs in a thread of its own and the
 * caller waits timeouts.database_seconds for it: past that the caller
 * answers "unknown" and the connection's socket is shut down, which ends
 * the thread's reads at once (a connection still being set up ends with
 * its connect timeout). At most one check talks to the server at a time,
 * and a server that timed out is not asked again before its backoff
 * (health.h). Private to datajoint.c.
 */
#pragma once

#include "datajoint.h"

int mct_dj_check_mysql(const struct mct_config *cfg, const struct mct_session_ref *refs, size_t n,
                       enum mct_tristate (*res)[MCT_DJ_N_CHECKS], int *sock, char *err,
                       size_t errlen);

/* mct_dj_check_mysql within database_seconds: -ETIMEDOUT (err says so)
 * when it did not end in time. */
int mct_dj_check_mysql_bounded(const struct mct_config *cfg, const struct mct_session_ref *refs,
                               size_t n, enum mct_tristate (*res)[MCT_DJ_N_CHECKS], char *err,
                               size_t errlen);
