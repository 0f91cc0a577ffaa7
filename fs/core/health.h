/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One health state per destination and per database, for the whole
 * process. A hung share must cost one timeout, not one per session: at
 * most one probe of a destination is in flight (others wait for its
 * answer), a failure is remembered with the time it started ("since
 * 12:01:02") and not probed again before a backoff, and while a child is
 * stuck in the kernel on a destination no new one is started there, so
 * the process never holds more than one stuck child per hung destination
 * however long the hang or however many sessions are asked about. The
 * same for the database: one connection attempt at a time, a failure
 * remembered for its backoff. The counters feed status and metrics.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"

/* What the process knows of one destination or database. */
struct mct_health {
    bool failing;
    int err;       /* the failure's -errno */
    char why[512]; /* its sentence */
    time_t since;  /* wall clock of the first failure in a row */
    unsigned fails_in_a_row;
    uint64_t checks, failures; /* counters, since the process started */
    int64_t last_ms;           /* duration of the last probe or query */
    time_t last_at;            /* when it ended (wall clock), 0 never */
};

/*
 * Before probing dest: 0 when the caller should probe now (it must then
 * call mct_health_probe_end), or the remembered failure (< 0, why filled
 * with it and "since HH:MM:SS") when the destination failed within its
 * backoff or a child is still stuck on it. Waits, at most wait_ms, for a
 * probe another thread is making and returns its answer.
 */
int mct_health_probe_begin(const struct mct_destination *dest, int wait_ms, char *why,
                           size_t whylen);
void mct_health_probe_end(const struct mct_destination *dest, int r, const char *why,
                          int64_t elapsed_ms);
/* A failing destination's sentence with "(since HH:MM:SS)", into why. */
void mct_health_probe_why(const struct mct_destination *dest, char *why, size_t whylen);

/* May a new share child be started on dest? -ETIMEDOUT (why filled) while
 * an earlier one is stuck in the kernel there. */
int mct_health_child_allowed(const struct mct_destination *dest, char *why, size_t whylen);
/* A child on dest did not exit when killed: stuck until the share lets go. */
void mct_health_child_stuck(const struct mct_destination *dest, pid_t pid);

/* The database (by its config): the same, around a connection and the
 * queries of one check. */
int mct_health_db_begin(const struct mct_config *cfg, int wait_ms, char *why, size_t whylen);
void mct_health_db_end(const struct mct_config *cfg, int r, const char *why, int64_t elapsed_ms);

/* A copy of what is known (zeroed when nothing yet). */
void mct_health_of_dest(const struct mct_destination *dest, struct mct_health *out);
void mct_health_of_db(const struct mct_config *cfg, struct mct_health *out);

/* Tests: forget everything (a fresh process). */
void mct_health_reset(void);
