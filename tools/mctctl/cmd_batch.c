/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl batch START [END] [--dry-run]: sync every session of the date
 * range that the recording database lists, skipping those not on local
 * disk and those already verified.
 */
#include <getopt.h>

#include "datajoint.h"
#include "log.h"
#include "mctctl.h"
#include "operations.h"
#include "scan.h"
#include "status.h"

struct batch_totals {
    size_t ok, failed, skipped;
};

/* The recording database is the list of what was recorded; when it cannot
 * be read, the folders on disk are the next best list (a sync never loses
 * data, so going on is safe). */
static int sessions_to_consider(const struct mct_config *cfg, const char *start, const char *end,
                                struct mct_session_ref **refs, size_t *n)
{
    char why[512] = "";
    int r = mct_recdb_sessions_in_range(cfg, start, end, refs, n, why, sizeof(why));
    if (r >= 0)
        return 0;
    log_warning("%s; using the session folders on local disk instead", why);
    return mct_discover_sessions(cfg, start, end, refs, n);
}

static int sync_one(struct mctctl_ctx *ctx, const struct mct_session_ref *ref, bool dry_run)
{
    struct mct_op_result res = {0};
    int r = mct_sync_session(ctx->cfg, ref, dry_run, cli_progress, ctx, &res);
    cli_print_op_result(ctx, &res);
    mct_op_result_free(&res);
    return r;
}

static void batch_run(struct mctctl_ctx *ctx, struct mct_session_status *st, size_t n, bool dry_run,
                      struct batch_totals *t)
{
    for (size_t i = 0; i < n; i++) {
        const struct mct_session_ref *ref = &st[i].ref;
        printf("%s[%zu/%zu] %s %s%s: ", cli_bold(ctx), i + 1, n, ref->participant_id,
               ref->session_date, cli_reset(ctx));
        if (!mct_participant_selected(ctx->cfg, ref->participant_id)) {
            printf("skipped (participant not in backup.filters.participant_prefixes)\n");
            t->skipped++;
        } else if (!st[i].source_exists) {
            printf("skipped (not on local disk)\n");
            t->skipped++;
        } else if (st[i].verified == MCT_YES) {
            printf("skipped (already backed up and verified)\n");
            t->skipped++;
        } else {
            printf("syncing\n");
            fflush(stdout);
            if (sync_one(ctx, ref, dry_run) < 0) {
                printf("%s[%zu/%zu] %s %s: FAILED%s\n", cli_red(ctx), i + 1, n, ref->participant_id,
                       ref->session_date, cli_reset(ctx));
                t->failed++;
            } else {
                t->ok++;
            }
        }
        fflush(stdout);
    }
}

int cmd_batch(int argc, char **argv, struct mctctl_ctx *ctx)
{
    static const struct option options[] = {
            {"dry-run", no_argument, NULL, 'n'},
            {},
    };
    bool dry_run = false;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c != 'n')
            return cli_usage_error("batch", "unknown option '%s'", argv[optind - 1]);
        dry_run = true;
    }
    int npos = argc - optind;
    if (npos < 1 || npos > 2)
        return cli_usage_error("batch", "expected START_DATE [END_DATE]");
    const char *start = argv[optind], *end = npos == 2 ? argv[optind + 1] : argv[optind];
    if (cli_date_arg("batch", "START_DATE", start) < 0 ||
        cli_date_arg("batch", "END_DATE", end) < 0)
        return EXIT_USAGE;
    if (strcmp(start, end) > 0)
        return cli_usage_error("batch", "START_DATE %s is after END_DATE %s", start, end);

    _cleanup_free_ struct mct_session_ref *refs = NULL;
    size_t n = 0;
    int r = sessions_to_consider(ctx->cfg, start, end, &refs, &n);
    if (r < 0) {
        log_error_errno(r, "cannot list the sessions from %s to %s", start, end);
        return EXIT_FAILED;
    }
    if (n == 0) {
        printf("No sessions from %s to %s.\n", start, end);
        return EXIT_OK;
    }

    /* One set-based status pass decides what needs copying. */
    struct mct_session_status *st = NULL;
    r = mct_status_collect(ctx->cfg, refs, n, 0, &st);
    if (r < 0) {
        log_error_errno(r, "cannot collect the status");
        return EXIT_FAILED;
    }
    struct batch_totals t = {0};
    batch_run(ctx, st, n, dry_run, &t);
    mct_session_status_free_array(st, n);

    printf("\n%sBatch %s..%s%s: %zu succeeded, %zu failed, %zu skipped%s\n", cli_bold(ctx), start,
           end, dry_run ? " (dry run)" : "", t.ok, t.failed, t.skipped, cli_reset(ctx));
    return t.failed ? EXIT_FAILED : EXIT_OK;
}
