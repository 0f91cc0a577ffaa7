/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl audit P D: re-read every enabled destination's copy and compare
 * it with the manifest written by `mctctl verify --checksum` (or a
 * checksum deletion), to find a network copy that rotted or was changed
 * after the local one was deleted.
 */
#include "mctctl.h"
#include "operations.h"

int cmd_audit(int argc, char **argv, struct mctctl_ctx *ctx)
{
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error("audit", "unknown option '%s'", argv[i]);
    if (argc != 3)
        return cli_usage_error("audit", "expected PARTICIPANT DATE");
    struct mct_session_ref ref;
    if (cli_session_args("audit", argv[1], argv[2], &ref) < 0)
        return EXIT_USAGE;

    if (!ctx->json)
        printf("%sAuditing the copies of %s %s%s\n", cli_bold(ctx), ref.participant_id,
               ref.session_date, cli_reset(ctx));
    struct mct_op_result res = {0};
    int r = mct_audit_session(ctx->cfg, &ref, cli_progress, ctx, &res);
    char done[256];
    snprintf(done, sizeof(done), "Every copy of %s %s matches its manifest.", ref.participant_id,
             ref.session_date);
    return cli_finish_op(ctx, "audit", "Audit", &ref, r, &res, done);
}
