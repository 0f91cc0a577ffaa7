/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl sync P D [--dry-run]: copy one session to every enabled
 * destination, then verify it (verify_after_sync).
 */
#include "mctctl.h"
#include "operations.h"

int cmd_sync(int argc, char **argv, struct mctctl_ctx *ctx)
{
    struct mct_session_ref ref;
    bool dry_run = false;
    int r = cli_parse_session(argc, argv, "sync",
                              (const struct cli_flag[]){{"dry-run", &dry_run}, {}}, &ref);
    if (r != EXIT_OK)
        return r;

    if (!ctx->json)
        printf("%sSyncing %s %s%s%s\n", cli_bold(ctx), ref.participant_id, ref.session_date,
               dry_run ? " (dry run: nothing is copied)" : "", cli_reset(ctx));
    struct mct_op_result res = {0};
    r = mct_sync_session(ctx->cfg, &ref, dry_run, cli_progress, ctx, &res);
    char done[256];
    snprintf(done, sizeof(done), "Sync of %s %s %s.", ref.participant_id, ref.session_date,
             dry_run ? "checked (dry run)" : "complete");
    return cli_finish_op(ctx, "sync", "Sync", &ref, r, &res, done);
}
