/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the commands on one session (sync, verify, audit, delete) share:
 * their flags and PARTICIPANT DATE, and how sync, verify and audit end.
 */
#include <getopt.h>

#include "mctctl.h"
#include "op_result.h"

#define MAX_FLAGS 8

int cli_parse_flags(int argc, char **argv, const char *cmd, const struct cli_flag *flags)
{
    struct option options[MAX_FLAGS + 1] = {};
    size_t n = 0;
    for (; flags && flags[n].name; n++) {
        if (n == MAX_FLAGS)
            return cli_usage_error(cmd, "too many options");
        options[n] = (struct option){flags[n].name, no_argument, NULL, (int)n + 1};
    }
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c < 1 || (size_t)c > n)
            return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        *flags[c - 1].set = true;
    }
    return EXIT_OK;
}

int cli_parse_session(int argc, char **argv, const char *cmd, const struct cli_flag *flags,
                      struct mct_session_ref *ref)
{
    int ex = cli_parse_flags(argc, argv, cmd, flags);
    if (ex != EXIT_OK)
        return ex;
    if (argc - optind != 2)
        return cli_usage_error(cmd, "expected PARTICIPANT DATE");
    if (cli_session_args(cmd, argv[optind], argv[optind + 1], ref) < 0)
        return EXIT_USAGE;
    return EXIT_OK;
}

int cli_finish_op(const struct mctctl_ctx *ctx, const char *cmd, const char *what,
                  const struct mct_session_ref *ref, int r, struct mct_op_result *res,
                  const char *done)
{
    if (ctx->json) {
        int ex = cli_print_op_json(cmd, ref, r, res);
        mct_op_result_free(res);
        return ex;
    }
    cli_print_op_result(ctx, res);
    mct_op_result_free(res);
    if (r < 0) {
        fprintf(stderr, "%s%s of %s %s failed.%s\n", cli_red(ctx), what, ref->participant_id,
                ref->session_date, cli_reset(ctx));
        return cli_op_exit(r);
    }
    printf("%s%s %s%s\n", cli_green(ctx), cli_ok(ctx), done, cli_reset(ctx));
    return EXIT_OK;
}
