/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prometheus metrics of one rig, in the text exposition format (HELP and
 * TYPE lines, names under mctfs_, units in the names, a rig label on
 * every series). One renderer, mct_metrics_render(), serves `mctctl
 * metrics`, the mount's .metrics and the file node_exporter's textfile
 * collector reads (metrics.textfile_dir/mctfs.prom). The renderer is a
 * pure function of struct mct_metrics; gathering its parts is done by
 * whoever renders: mctctl collects the statuses itself, the mount hands
 * over what its last sweep counted, so a read of .metrics never waits.
 *
 * What crosses process boundaries (the last sync, verify, batch and
 * reclaim) is kept in a small state file in verification.cache_dir
 * (metrics_state.c); deletions come from the deletion log, which already
 * records each one with its time, result and evidence (metrics_dlog.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "forecast.h"
#include "health.h"
#include "status.h"
#include "util.h"

/* mct_status_state()'s words: the values of the state label. */
#define MCT_METRICS_N_STATES 10
extern const char *const mct_metrics_states[MCT_METRICS_N_STATES];
/* The index of a state word, or -1. */
int mct_metrics_state_index(const char *state);

/* Sessions by state, summed a chunk of statuses at a time (the mount's
 * sweep never holds them all). */
struct mct_metrics_sessions {
    size_t count[MCT_METRICS_N_STATES];
    uint64_t bytes[MCT_METRICS_N_STATES];     /* local bytes */
    int64_t oldest_day[MCT_METRICS_N_STATES]; /* days since 1970 of the oldest date; INT64_MAX none
                                               */
    int64_t oldest_unsafe_day;                /* over every state but safe */
};
void mct_metrics_sessions_begin(struct mct_metrics_sessions *s);
/* placeholder: statuses that were not computed (state "pending"). */
void mct_metrics_sessions_add(struct mct_metrics_sessions *s, const struct mct_session_status *st,
                              size_t n, bool placeholder);

/* The jobs whose last run is exported. */
enum mct_metrics_job {
    MCT_JOB_SYNC,
    MCT_JOB_VERIFY,
    MCT_JOB_BATCH,
    MCT_JOB_RECLAIM,
    MCT_JOB_DELETION, /* from the deletion log, never recorded */
    _MCT_JOB_MAX,
};
extern const char *const mct_metrics_job_names[_MCT_JOB_MAX];
/* The job named name, or -EINVAL. */
int mct_metrics_job_from_name(const char *name);

struct mct_job_state {
    time_t last_run;     /* 0: never */
    bool last_ok;        /* how the last run went */
    time_t last_success; /* 0: never */
};

/* The jobs as the state file has them (zeroed when there is none). 0 or
 * -errno (jobs zeroed). */
int mct_metrics_jobs_read(const struct mct_config *cfg, struct mct_job_state jobs[_MCT_JOB_MAX]);
/* Record that job ran just now and whether it succeeded: the state file
 * is read, changed and replaced under a lock, atomically. Best effort for
 * the callers: -errno when it cannot be written (a lab member running
 * mctctl as themselves may not write verification.cache_dir). */
int mct_metrics_job_record(const struct mct_config *cfg, enum mct_metrics_job job, bool ok);
/* The state file's path (malloc'd). */
char *mct_metrics_state_path(const struct mct_config *cfg);

/* Why a deletion was refused, from the evidence its log line holds. */
enum mct_refusal_class {
    MCT_REFUSAL_NOT_IMPORTED,
    MCT_REFUSAL_UNKNOWN, /* DataJoint did not answer */
    MCT_REFUSAL_NOT_COPIED,
    MCT_REFUSAL_UNREACHABLE,
    MCT_REFUSAL_UNSAFE,
    MCT_REFUSAL_UNVERIFIED,
    MCT_REFUSAL_RECORDING, /* copies and DataJoint fine: the rig's own files (young, lock, tmp) */
    MCT_REFUSAL_BUSY,      /* another command held the session */
    MCT_REFUSAL_OTHER,     /* refused before any evidence was gathered */
    _MCT_REFUSAL_MAX,
};
extern const char *const mct_refusal_class_names[_MCT_REFUSAL_MAX];

/* The deletion log summed up. Counters since the log began: a rotated
 * or truncated log starts them again (a counter reset to Prometheus). */
struct mct_dlog_tally {
    uint64_t deletions;   /* "deleted" lines */
    uint64_t bytes_freed; /* their bytes */
    uint64_t refusals[_MCT_REFUSAL_MAX];
    struct mct_job_state last; /* a deletion or refusal */
    /* Where the next update reads on. */
    bool seen;
    uint64_t dev, ino, offset;
};
/* Add the lines appended to log_path since the last update (from the
 * start when the file is another or shorter than before); a last line
 * without its newline waits for the next update. 0, or -errno (-ENOENT:
 * no log yet, which is no deletion yet). */
int mct_dlog_tally_update(const char *log_path, struct mct_dlog_tally *t);
/* One line of the log. -EBADMSG when it is not a log line (skipped). */
int mct_dlog_tally_line(struct mct_dlog_tally *t, const char *line, size_t len);

/* A destination's health as health.h keeps it; known: probed at least once. */
struct mct_metrics_dest {
    const char *name;
    bool known;
    struct mct_health h;
};

/* What only the mount can say of itself. */
struct mct_metrics_mount {
    uint64_t sweeps;
    uint64_t source_walks;
    uint64_t lookups; /* LOOKUP requests */
    uint64_t inodes;  /* inodes the kernel holds */
    double last_sweep_seconds;
    time_t last_sweep_at;
};

struct mct_metrics {
    const char *rig;
    time_t now;

    bool have_sessions;
    struct mct_metrics_sessions sessions;
    time_t sessions_at; /* when they were collected */

    bool have_forecast;
    struct mct_forecast forecast;
    bool reclaim_enabled;

    const struct mct_metrics_dest *dests;
    size_t n_dests;
    bool db_known;
    struct mct_health db;

    struct mct_job_state jobs[_MCT_JOB_MAX];
    bool have_dlog;
    struct mct_dlog_tally dlog;

    const struct mct_metrics_mount *mount; /* NULL: not the mount */
};

/* The text exposition format of m. Series without a value (a destination
 * never probed, a forecast without a filesystem) are left out; a family
 * without series has no HELP or TYPE line either. -ENOMEM. */
int mct_metrics_render(const struct mct_metrics *m, struct mct_buf *out);

/* The rig label: metrics.rig_name, else the host name. */
void mct_metrics_rig(const struct mct_config *cfg, char *out, size_t len);

/* Every enabled destination's health (into dests, cfg->n_destinations
 * long) and the database's, as health.h remembers them: no waiting. */
void mct_metrics_health(const struct mct_config *cfg, struct mct_metrics *m,
                        struct mct_metrics_dest *dests);

/* The parts every renderer shares: rig (into rig, rig_len long), now,
 * reclaim, every enabled destination's and the database's health, the
 * jobs, and the deletion log (dlog is brought up to date and copied in;
 * the caller keeps it between calls to read only what was appended).
 * *dests is malloc'd (m->dests points into it). -ENOMEM. */
int mct_metrics_gather(const struct mct_config *cfg, char *rig, size_t rig_len,
                       struct mct_dlog_tally *dlog, struct mct_metrics *m,
                       struct mct_metrics_dest **dests);

/* text into DIR/mctfs.prom, atomically: a temp file beside it (a name
 * the collector skips), written, synced, made readable by all, renamed
 * over it. A reader sees the old file or the new one, never part of one.
 * -errno. */
#define MCT_METRICS_TEXTFILE "mctfs.prom"
int mct_metrics_write_textfile(const char *dir, const char *text, size_t len);
/* The same for any file name in the folder dirfd, with the mode given. */
int mct_metrics_write_atomic(int dirfd, const char *name, const char *text, size_t len,
                             unsigned mode);
