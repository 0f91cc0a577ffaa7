/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl verify P D [--checksum]: file-by-file comparison of the session
 * with every enabled destination's copy, by size, or by content when
 * --checksum is given or verify_method is checksum (then the manifest for
 * `mctctl audit` is written too).
 */
#include "mctctl.h"
#include "operations.h"

int cmd_verify(int argc, char **argv, struct mctctl_ctx *ctx)
{
    struct mct_session_ref ref;
    bool checksum = false;
    int r = cli_parse_session(argc, argv, "verify",
                              (const struct cli_flag[]){{"checksum", &checksum}, {}}, &ref);
    if (r != EXIT_OK)
        return r;
    enum mct_verify_method method = checksum ? MCT_VERIFY_CHECKSUM : ctx->cfg->verify_method;
    if (!ctx->json)
        printf("%sVerifying %s %s%s\n", cli_bold(ctx), ref.participant_id, ref.session_date,
               cli_reset(ctx));
    struct mct_op_result res = {0};
    r = mct_verify_session_method(ctx->cfg, &ref, method, cli_progress, ctx, &res);
    char done[256];
    snprintf(done, sizeof(done), "Every file of %s %s is on every destination with the same %s.",
             ref.participant_id, ref.session_date,
             method == MCT_VERIFY_CHECKSUM ? "content (XXH3-128)" : "size");
    return cli_finish_op(ctx, "verify", "Verification", &ref, r, &res, done);
}
