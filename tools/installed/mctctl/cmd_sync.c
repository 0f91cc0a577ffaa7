/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl sync P D [--dry-run]: copy one session to every enabled
 * destination, then verify it (verify_after_sync).
 */
#include <getopt.h>

#include "mctctl.h"
#include "operations.h"

/* Positionals P D plus a --dry-run flag; shared shape with verify/delete
 * but each command owns its options, as git's builtins do. */
static int parse(int argc, char **argv, struct mct_session_ref *ref, bool *dry_run)
{
    static const struct option options[] = {
            {"dry-run", no_argument, NULL, 'n'},
            {},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c != 'n')
            return cli_usage_error("sync", "unknown option '%s'", argv[optind - 1]);
        *dry_run = true;
    }
    if (argc - optind != 2)
        return cli_usage_error("sync", "expected PARTICIPANT DATE");
    if (cli_session_args("sync", argv[optind], argv[optind + 1], ref) < 0)
        return EXIT_USAGE;
    return EXIT_OK;
}

int cmd_sync(int argc, char **argv, struct mctctl_ctx *ctx)
{
    struct mct_session_ref ref;
    bool dry_run = false;
    int r = parse(argc, argv, &ref, &dry_run);
    if (r != EXIT_OK)
        return r;

    if (!ctx->json)
        printf("%sSyncing %s %s%s%s\n", cli_bold(ctx), ref.participant_id, ref.session_date,
               dry_run ? " (dry run: nothing is copied)" : "", cli_reset(ctx));
    struct mct_op_result res = {0};
    r = mct_sync_session(ctx->cfg, &ref, dry_run, cli_progress, ctx, &res);
    if (ctx->json) {
        int ex = cli_print_op_json("sync", &ref, r, &res);
        mct_op_result_free(&res);
        return ex;
    }
    cli_print_op_result(ctx, &res);
    mct_op_result_free(&res);
    if (r < 0) {
        fprintf(stderr, "%sSync of %s %s failed.%s\n", cli_red(ctx), ref.participant_id,
                ref.session_date, cli_reset(ctx));
        return cli_op_exit(r);
    }
    printf("%s%s Sync of %s %s %s.%s\n", cli_green(ctx), cli_ok(ctx), ref.participant_id,
           ref.session_date, dry_run ? "checked (dry run)" : "complete", cli_reset(ctx));
    return EXIT_OK;
}
