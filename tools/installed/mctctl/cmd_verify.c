/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl verify P D [--checksum]: file-by-file comparison of the session
 * with every enabled destination's copy, by size, or by content when
 * --checksum is given or verify_method is checksum (then the manifest for
 * `mctctl audit` is written too).
 */
#include <getopt.h>

#include "mctctl.h"
#include "operations.h"

int cmd_verify(int argc, char **argv, struct mctctl_ctx *ctx)
{
    static const struct option options[] = {
            {"checksum", no_argument, NULL, 'k'},
            {},
    };
    bool checksum = false;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c != 'k')
            return cli_usage_error("verify", "unknown option '%s'", argv[optind - 1]);
        checksum = true;
    }
    if (argc - optind != 2)
        return cli_usage_error("verify", "expected PARTICIPANT DATE");
    struct mct_session_ref ref;
    if (cli_session_args("verify", argv[optind], argv[optind + 1], &ref) < 0)
        return EXIT_USAGE;
    enum mct_verify_method method = checksum ? MCT_VERIFY_CHECKSUM : ctx->cfg->verify_method;
    if (!ctx->json)
        printf("%sVerifying %s %s%s\n", cli_bold(ctx), ref.participant_id, ref.session_date,
               cli_reset(ctx));
    struct mct_op_result res = {0};
    int r = mct_verify_session_method(ctx->cfg, &ref, method, cli_progress, ctx, &res);
    if (ctx->json) {
        int ex = cli_print_op_json("verify", &ref, r, &res);
        mct_op_result_free(&res);
        return ex;
    }
    cli_print_op_result(ctx, &res);
    mct_op_result_free(&res);
    if (r < 0) {
        fprintf(stderr, "%sVerification of %s %s failed.%s\n", cli_red(ctx), ref.participant_id,
                ref.session_date, cli_reset(ctx));
        return cli_op_exit(r);
    }
    printf("%s%s Every file of %s %s is on every destination with the same %s.%s\n", cli_green(ctx),
           cli_ok(ctx), ref.participant_id, ref.session_date,
           method == MCT_VERIFY_CHECKSUM ? "content (XXH3-128)" : "size", cli_reset(ctx));
    return EXIT_OK;
}
