/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl metrics [--textfile DIR | --if-configured] [--record JOB=EXIT_STATUS]:
 * the rig's Prometheus metrics (metrics.h) from a status collection of
 * every local session, on stdout or into DIR/mctfs.prom for
 * node_exporter's textfile collector. --if-configured writes into
 * metrics.textfile_dir when the config sets one and does nothing
 * otherwise (the nightly timer's); --record first records how a job
 * ended (the timer's batch, by its exit status).
 */
#include <getopt.h>

#include "datajoint.h"
#include "forecast.h"
#include "log.h"
#include "mctctl.h"
#include "metrics.h"
#include "scan.h"
#include "share.h"
#include "status.h"

/* "batch=0": the job and its exit status. */
static int parse_record(const char *arg, enum mct_metrics_job *job, bool *ok)
{
    const char *eq = strchr(arg, '=');
    char name[16];
    if (!eq || (size_t)(eq - arg) >= sizeof(name) || !eq[1] ||
        strspn(eq + 1, "0123456789") != strlen(eq + 1))
        return -EINVAL;
    snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
    int j = mct_metrics_job_from_name(name);
    if (j < 0 || j == MCT_JOB_DELETION)
        return -EINVAL;
    *job = (enum mct_metrics_job)j;
    *ok = atoi(eq + 1) == 0;
    return 0;
}

/* A process that found no session asked neither the shares nor the
 * database: ask them now, within the same timeouts, so an empty rig's
 * share still says whether it answers. */
static void probe_unasked(const struct mct_config *cfg)
{
    for (size_t i = 0; i < cfg->n_destinations; i++) {
        const struct mct_destination *d = &cfg->destinations[i];
        struct mct_health h;
        mct_health_of_dest(d, &h);
        if (d->enabled && !h.last_at && !h.failing) {
            char why[512];
            (void)mct_share_probe(cfg, d, why, sizeof(why));
        }
    }
    struct mct_health db;
    mct_health_of_db(cfg, &db);
    if (!db.last_at && !db.failing) {
        /* A session nobody recorded: a real check whose answer is "no". */
        struct mct_session_ref ref = {.participant_id = "mctfs-probe", .session_date = "19700101"};
        struct mct_dj_status st;
        (void)mct_dj_check_sessions(cfg, &ref, 1, &st);
    }
}

struct tally {
    struct mct_metrics *m;
    struct mct_forecast_acc acc;
};

static int tally_chunk(struct mct_status_chunk *c, void *ud)
{
    struct tally *t = ud;
    mct_metrics_sessions_add(&t->m->sessions, c->st, c->n, false);
    mct_forecast_add(&t->acc, c->st, c->n);
    return 0;
}

static int collect(const struct mct_config *cfg, struct mct_metrics *m)
{
    _cleanup_free_ struct mct_session_ref *refs = NULL;
    size_t n = 0;
    int r = mct_discover_sessions(cfg, NULL, NULL, &refs, &n);
    if (r < 0)
        return log_error_errno(r, "cannot list sessions under %s", cfg->source_base_path);
    struct tally t = {.m = m};
    mct_forecast_start(&t.acc, cfg);
    mct_metrics_sessions_begin(&m->sessions);
    /* A chunk at a time, as the mount's sweep: years of sessions are never
     * held at once. */
    r = mct_status_collect_chunks(cfg, refs, n, 0,
                                  &(struct mct_status_stream){.each = tally_chunk, .ud = &t});
    if (r < 0)
        return log_error_errno(r, "cannot collect the status");
    mct_forecast_end(cfg, &t.acc, &m->forecast);
    m->have_sessions = m->have_forecast = true;
    m->sessions_at = time(NULL);
    probe_unasked(cfg);
    return 0;
}

int cmd_metrics(int argc, char **argv, struct mctctl_ctx *ctx)
{
    static const struct option options[] = {
            {"textfile", required_argument, NULL, 't'},
            {"if-configured", no_argument, NULL, 'i'},
            {"record", required_argument, NULL, 'r'},
            {},
    };
    const char *dir = NULL, *record = NULL;
    bool if_configured = false;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        if (c == 't')
            dir = optarg;
        else if (c == 'i')
            if_configured = true;
        else if (c == 'r')
            record = optarg;
        else if (c == ':')
            return cli_usage_error("metrics", "%s needs a value", argv[optind - 1]);
        else
            return cli_usage_error("metrics", "unknown option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return cli_usage_error("metrics", "unexpected argument '%s'", argv[optind]);
    if (dir && if_configured)
        return cli_usage_error("metrics", "--textfile and --if-configured exclude each other");
    enum mct_metrics_job job;
    bool ok;
    if (record && parse_record(record, &job, &ok) < 0)
        return cli_usage_error("metrics",
                               "--record takes JOB=EXIT_STATUS, JOB one of sync, verify, batch, "
                               "reclaim; got '%s'",
                               record);

    /* Before anything can fail: the job's end is the news. */
    if (record) {
        int r = mct_metrics_job_record(ctx->cfg, job, ok);
        if (r < 0)
            log_warning_errno(r, "cannot record the %s run in %s", mct_metrics_job_names[job],
                              ctx->cfg->cache_dir);
    }
    if (if_configured) {
        dir = ctx->cfg->metrics.textfile_dir;
        if (!dir) {
            fprintf(stderr, "metrics.textfile_dir is not set: no metrics file written\n");
            return EXIT_OK;
        }
    }

    struct mct_metrics m = {0};
    int r = collect(ctx->cfg, &m);
    if (r < 0)
        return EXIT_FAILED;
    char rig[256];
    struct mct_dlog_tally dlog = {0};
    _cleanup_free_ struct mct_metrics_dest *dests = NULL;
    _cleanup_buf_ struct mct_buf out = {0};
    if (mct_metrics_gather(ctx->cfg, rig, sizeof(rig), &dlog, &m, &dests) < 0 ||
        mct_metrics_render(&m, &out) < 0) {
        log_error_errno(-ENOMEM, "cannot render the metrics");
        return EXIT_FAILED;
    }
    if (!dir) {
        fwrite(out.data, 1, out.len, stdout);
        return EXIT_OK;
    }
    r = mct_metrics_write_textfile(dir, out.data, out.len);
    if (r < 0) {
        fputs("mctctl metrics: cannot write ", stderr);
        cli_put(stderr, dir);
        fprintf(stderr, "/" MCT_METRICS_TEXTFILE ": %s\n", strerror(-r));
        return EXIT_FAILED;
    }
    return EXIT_OK;
}
