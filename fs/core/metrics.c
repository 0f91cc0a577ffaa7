/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The renderer (metrics.h): Prometheus' text exposition format 0.0.4.
 * Units are in the names and are base units (seconds, bytes), as
 * Prometheus advises; times are Unix timestamps (…_timestamp_seconds),
 * not ages, so a file read hours after it was written still says the
 * truth (an age is time() - the timestamp in PromQL).
 */
#include "metrics.h"

#include <math.h>
#include <unistd.h>

#include "policy.h"

const char *const mct_metrics_states[MCT_METRICS_N_STATES] = {
        "safe",       "pending",     "recording", "not_imported", "unknown",
        "not_copied", "unreachable", "unsafe",    "unverified",   "gone",
};

const char *const mct_metrics_job_names[_MCT_JOB_MAX] = {
        [MCT_JOB_SYNC] = "sync",       [MCT_JOB_VERIFY] = "verify",     [MCT_JOB_BATCH] = "batch",
        [MCT_JOB_RECLAIM] = "reclaim", [MCT_JOB_DELETION] = "deletion",
};

const char *const mct_refusal_class_names[_MCT_REFUSAL_MAX] = {
        [MCT_REFUSAL_NOT_IMPORTED] = "not_imported",
        [MCT_REFUSAL_UNKNOWN] = "unknown",
        [MCT_REFUSAL_NOT_COPIED] = "not_copied",
        [MCT_REFUSAL_UNREACHABLE] = "unreachable",
        [MCT_REFUSAL_UNSAFE] = "unsafe",
        [MCT_REFUSAL_UNVERIFIED] = "unverified",
        [MCT_REFUSAL_RECORDING] = "recording",
        [MCT_REFUSAL_BUSY] = "busy",
        [MCT_REFUSAL_OTHER] = "other",
};

int mct_metrics_state_index(const char *state)
{
    for (int i = 0; i < MCT_METRICS_N_STATES; i++)
        if (streq(mct_metrics_states[i], state))
            return i;
    return -1;
}

int mct_metrics_job_from_name(const char *name)
{
    for (int i = 0; i < _MCT_JOB_MAX; i++)
        if (streq(mct_metrics_job_names[i], name))
            return i;
    return -EINVAL;
}

void mct_metrics_sessions_begin(struct mct_metrics_sessions *s)
{
    *s = (struct mct_metrics_sessions){.oldest_unsafe_day = INT64_MAX};
    for (int i = 0; i < MCT_METRICS_N_STATES; i++)
        s->oldest_day[i] = INT64_MAX;
}

void mct_metrics_sessions_add(struct mct_metrics_sessions *s, const struct mct_session_status *st,
                              size_t n, bool placeholder)
{
    for (size_t i = 0; i < n; i++) {
        int k = mct_metrics_state_index(mct_status_state(&st[i], placeholder));
        if (k < 0)
            continue;
        s->count[k]++;
        s->bytes[k] += st[i].source.bytes;
        int64_t day = mct_date_days(st[i].ref.session_date);
        if (day == INT64_MIN)
            continue;
        if (day < s->oldest_day[k])
            s->oldest_day[k] = day;
        if (!streq(mct_metrics_states[k], "safe") && day < s->oldest_unsafe_day)
            s->oldest_unsafe_day = day;
    }
}

void mct_metrics_rig(const struct mct_config *cfg, char *out, size_t len)
{
    if (!strempty(cfg->metrics.rig_name)) {
        snprintf(out, len, "%s", cfg->metrics.rig_name);
        return;
    }
    if (len == 0)
        return;
    if (gethostname(out, len - 1) < 0 || !out[0])
        snprintf(out, len, "unknown");
    out[len - 1] = '\0';
}

/* ---- the format ---- */

struct emit {
    const struct mct_metrics *m;
    struct mct_buf *out;
    const char *family; /* whose HELP and TYPE were written last */
};

/* A label value: backslash, double quote and newline escaped. */
static void label_value(struct mct_buf *out, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '\\')
            mct_buf_puts(out, "\\\\");
        else if (*p == '"')
            mct_buf_puts(out, "\\\"");
        else if (*p == '\n')
            mct_buf_puts(out, "\\n");
        else
            mct_buf_append(out, p, 1);
    }
}

/* HELP text: backslash and newline escaped. */
static void help_text(struct mct_buf *out, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            mct_buf_puts(out, "\\\\");
        else if (*p == '\n')
            mct_buf_puts(out, "\\n");
        else
            mct_buf_append(out, p, 1);
    }
}

/* HELP and TYPE before a family's first series, once. */
static void family(struct emit *e, const char *name, const char *type, const char *help)
{
    if (e->family && streq(e->family, name))
        return;
    e->family = name;
    mct_buf_printf(e->out, "# HELP %s ", name);
    help_text(e->out, help);
    mct_buf_printf(e->out, "\n# TYPE %s %s\n", name, type);
}

/* name{rig="…"[,key="value"]} value */
static void series_start(struct emit *e, const char *name, const char *key, const char *value)
{
    mct_buf_printf(e->out, "%s{rig=\"", name);
    label_value(e->out, e->m->rig);
    if (key) {
        mct_buf_printf(e->out, "\",%s=\"", key);
        label_value(e->out, value);
    }
    mct_buf_puts(e->out, "\"} ");
}

static void put_u(struct emit *e, const char *name, const char *type, const char *help,
                  const char *key, const char *value, uint64_t v)
{
    family(e, name, type, help);
    series_start(e, name, key, value);
    mct_buf_printf(e->out, "%llu\n", (unsigned long long)v);
}

static void put_d(struct emit *e, const char *name, const char *type, const char *help,
                  const char *key, const char *value, double v)
{
    family(e, name, type, help);
    series_start(e, name, key, value);
    if (isinf(v))
        mct_buf_puts(e->out, v > 0 ? "+Inf\n" : "-Inf\n");
    else
        mct_buf_printf(e->out, "%.9g\n", v);
}

/* Local midnight of a day number, as the rig's calendar names sessions. */
static time_t day_start(int64_t day)
{
    struct tm tm = {0};
    time_t utc = (time_t)(day * 86400);
    gmtime_r(&utc, &tm);
    tm.tm_isdst = -1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    return mktime(&tm);
}

static void render_sessions(struct emit *e)
{
    const struct mct_metrics_sessions *s = &e->m->sessions;
    if (!e->m->have_sessions)
        return;
    for (int i = 0; i < MCT_METRICS_N_STATES; i++)
        put_u(e, "mctfs_sessions", "gauge",
              "Sessions on local disk by state (the first thing that keeps each from being safe "
              "to delete).",
              "state", mct_metrics_states[i], s->count[i]);
    for (int i = 0; i < MCT_METRICS_N_STATES; i++)
        put_u(e, "mctfs_sessions_bytes", "gauge", "Local bytes of the sessions by state.", "state",
              mct_metrics_states[i], s->bytes[i]);
    for (int i = 0; i < MCT_METRICS_N_STATES; i++)
        if (s->oldest_day[i] != INT64_MAX)
            put_u(e, "mctfs_oldest_session_timestamp_seconds", "gauge",
                  "Start (local midnight) of the date of the oldest session in each state.",
                  "state", mct_metrics_states[i], (uint64_t)day_start(s->oldest_day[i]));
    if (s->oldest_unsafe_day != INT64_MAX)
        put_u(e, "mctfs_oldest_unsafe_session_timestamp_seconds", "gauge",
              "Start (local midnight) of the date of the oldest session not yet safe to delete "
              "(its age: time() - this).",
              NULL, NULL, (uint64_t)day_start(s->oldest_unsafe_day));
    put_u(e, "mctfs_sessions_collected_timestamp_seconds", "gauge",
          "When the statuses counted here were collected.", NULL, NULL,
          (uint64_t)e->m->sessions_at);
}

static void render_forecast(struct emit *e)
{
    const struct mct_forecast *f = &e->m->forecast;
    if (!e->m->have_forecast)
        return;
    if (f->fs_known) {
        put_u(e, "mctfs_source_size_bytes", "gauge", "Size of the source filesystem (/data).", NULL,
              NULL, f->fs.size);
        put_u(e, "mctfs_source_free_bytes", "gauge",
              "Bytes the rig may still write on the source filesystem.", NULL, NULL, f->fs.avail);
    }
    put_d(e, "mctfs_recording_rate_bytes_per_second", "gauge",
          "Local bytes of the sessions dated within the last 14 days, per second of those days.",
          NULL, NULL, (double)f->window_bytes / ((double)f->window_days * 86400.0));
    put_u(e, "mctfs_reclaimable_bytes", "gauge",
          "Bytes reclaim could delete now (safe, older than keep_recent_days).", NULL, NULL,
          f->reclaimable_bytes);
    put_u(e, "mctfs_reclaimable_sessions", "gauge", "Sessions reclaim could delete now.", NULL,
          NULL, f->reclaimable_sessions);
    if (f->fs_known) {
        const char *help = "Seconds until the source filesystem is full at the recording rate "
                           "(+Inf: not filling), counting its free space, or that and what "
                           "reclaim could delete now.";
        put_d(e, "mctfs_forecast_until_full_seconds", "gauge", help, "counting", "free",
              f->days_full < 0 ? INFINITY : f->days_full * 86400.0);
        put_d(e, "mctfs_forecast_until_full_seconds", "gauge", help, "counting", "reclaimable",
              f->days_full_reclaimed < 0 ? INFINITY : f->days_full_reclaimed * 86400.0);
    }
    put_u(e, "mctfs_reclaim_enabled", "gauge", "1 when deletion.reclaim.enabled is true.", NULL,
          NULL, e->m->reclaim_enabled);
}

static void render_dests(struct emit *e)
{
    static const char *const up = "mctfs_destination_reachable",
                             *const up_help = "1 when the destination's last probe answered in "
                                              "time, 0 when it was not mounted or hung.";
    const struct mct_metrics *m = e->m;
    for (size_t i = 0; i < m->n_dests; i++)
        if (m->dests[i].known)
            put_u(e, up, "gauge", up_help, "destination", m->dests[i].name, !m->dests[i].h.failing);
    for (size_t i = 0; i < m->n_dests; i++)
        if (m->dests[i].known && m->dests[i].h.failing)
            put_u(e, "mctfs_destination_unreachable_since_timestamp_seconds", "gauge",
                  "When the destination's current run of failed probes began.", "destination",
                  m->dests[i].name, (uint64_t)m->dests[i].h.since);
    for (size_t i = 0; i < m->n_dests; i++)
        if (m->dests[i].known && m->dests[i].h.last_at)
            put_d(e, "mctfs_destination_probe_duration_seconds", "gauge",
                  "How long the destination's last probe took.", "destination", m->dests[i].name,
                  (double)m->dests[i].h.last_ms / 1000.0);
    for (size_t i = 0; i < m->n_dests; i++)
        if (m->dests[i].known)
            put_u(e, "mctfs_destination_probes_total", "counter",
                  "Probes of the destination by this process.", "destination", m->dests[i].name,
                  m->dests[i].h.checks);
    for (size_t i = 0; i < m->n_dests; i++)
        if (m->dests[i].known)
            put_u(e, "mctfs_destination_probe_failures_total", "counter",
                  "Probes of the destination by this process that failed.", "destination",
                  m->dests[i].name, m->dests[i].h.failures);
}

static void render_db(struct emit *e)
{
    const struct mct_health *h = &e->m->db;
    if (!e->m->db_known)
        return;
    put_u(e, "mctfs_datajoint_reachable", "gauge",
          "1 when the last DataJoint check got its answers in time.", NULL, NULL, !h->failing);
    if (h->failing)
        put_u(e, "mctfs_datajoint_unreachable_since_timestamp_seconds", "gauge",
              "When the current run of failed DataJoint checks began.", NULL, NULL,
              (uint64_t)h->since);
    if (h->last_at)
        put_d(e, "mctfs_datajoint_query_duration_seconds", "gauge",
              "How long the last DataJoint check took.", NULL, NULL, (double)h->last_ms / 1000.0);
    put_u(e, "mctfs_datajoint_checks_total", "counter", "DataJoint checks by this process.", NULL,
          NULL, h->checks);
    put_u(e, "mctfs_datajoint_failures_total", "counter",
          "DataJoint checks by this process that failed.", NULL, NULL, h->failures);
}

static void render_jobs(struct emit *e)
{
    const struct mct_job_state *jobs = e->m->jobs;
    for (int j = 0; j < _MCT_JOB_MAX; j++)
        put_u(e, "mctfs_job_last_run_timestamp_seconds", "gauge",
              "When the job last ran (0: never): sync, verify, batch (the nightly timer), "
              "reclaim, deletion (from the deletion log).",
              "job", mct_metrics_job_names[j], (uint64_t)jobs[j].last_run);
    for (int j = 0; j < _MCT_JOB_MAX; j++)
        if (jobs[j].last_run)
            put_u(e, "mctfs_job_last_run_success", "gauge",
                  "1 when the job's last run succeeded, 0 when it failed or was refused.", "job",
                  mct_metrics_job_names[j], jobs[j].last_ok);
    for (int j = 0; j < _MCT_JOB_MAX; j++)
        put_u(e, "mctfs_job_last_success_timestamp_seconds", "gauge",
              "When the job last succeeded (0: never).", "job", mct_metrics_job_names[j],
              (uint64_t)jobs[j].last_success);
}

static void render_dlog(struct emit *e)
{
    const struct mct_dlog_tally *t = &e->m->dlog;
    if (!e->m->have_dlog)
        return;
    put_u(e, "mctfs_deletions_total", "counter",
          "Sessions deleted, as the deletion log records them.", NULL, NULL, t->deletions);
    put_u(e, "mctfs_deleted_bytes_total", "counter", "Local bytes freed by those deletions.", NULL,
          NULL, t->bytes_freed);
    for (int c = 0; c < _MCT_REFUSAL_MAX; c++)
        put_u(e, "mctfs_deletion_refusals_total", "counter",
              "Deletions refused, by the first reason the log's evidence shows.", "reason",
              mct_refusal_class_names[c], t->refusals[c]);
}

static void render_mount(struct emit *e)
{
    const struct mct_metrics_mount *mt = e->m->mount;
    if (!mt)
        return;
    put_u(e, "mctfs_mount_sweeps_total", "counter",
          "Collections of every session's status by the mount.", NULL, NULL, mt->sweeps);
    put_u(e, "mctfs_mount_source_walks_total", "counter",
          "Walks of a safe session's folder by the mount, proving the source is unchanged.", NULL,
          NULL, mt->source_walks);
    put_u(e, "mctfs_mount_lookups_total", "counter",
          "Names the kernel asked the mount to look up (a listing gives most with its entries).",
          NULL, NULL, mt->lookups);
    put_u(e, "mctfs_mount_inodes", "gauge", "Files and folders the kernel holds in its caches.",
          NULL, NULL, mt->inodes);
    if (mt->last_sweep_at) {
        put_d(e, "mctfs_mount_last_sweep_duration_seconds", "gauge",
              "How long the mount's last collection took.", NULL, NULL, mt->last_sweep_seconds);
        put_u(e, "mctfs_mount_last_sweep_timestamp_seconds", "gauge",
              "When the mount's last collection ended.", NULL, NULL, (uint64_t)mt->last_sweep_at);
    }
}

int mct_metrics_render(const struct mct_metrics *m, struct mct_buf *out)
{
    struct emit e = {.m = m, .out = out};
    put_u(&e, "mctfs_info", "gauge", "The mctfs version that wrote these metrics.", "version",
          MCT_VERSION, 1);
    render_sessions(&e);
    render_forecast(&e);
    render_dests(&e);
    render_db(&e);
    render_jobs(&e);
    render_dlog(&e);
    render_mount(&e);
    /* Last: a reader that sees it has seen the whole text. */
    put_u(&e, "mctfs_metrics_generated_timestamp_seconds", "gauge",
          "When these metrics were rendered.", NULL, NULL, (uint64_t)m->now);
    return out->error;
}
