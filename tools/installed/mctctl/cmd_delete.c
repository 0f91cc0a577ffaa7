/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl delete P D [--dry-run] [--force-unverified]: the verified
 * deletion of one session. A dry-run pass shows what would be deleted
 * and where the data is preserved (or every reason it may not be), then
 * DELETE typed on standard input lets the engine run the protocol, which
 * re-checks everything at that moment.
 */
#include <unistd.h>

#include "jsondoc.h"
#include "mctctl.h"
#include "operations.h"
#include "policy.h"
#include "report.h"

struct delete_args {
    struct mct_session_ref ref;
    bool dry_run;
    bool force;
    bool include_unmanaged;
};

static int parse_args(int argc, char **argv, struct delete_args *a)
{
    const struct cli_flag flags[] = {
            {"dry-run", &a->dry_run},
            {"force-unverified", &a->force},
            {"include-unmanaged", &a->include_unmanaged},
            {},
    };
    return cli_parse_session(argc, argv, "delete", flags, &a->ref);
}

static void print_lines(char *const *lines)
{
    for (size_t i = 0; lines && lines[i]; i++) {
        cli_put(stdout, lines[i]);
        putchar('\n');
    }
    fflush(stdout);
}

/* After the real pass the reasons themselves say whether anything was
 * removed (a removal cut short is finished by the next run). */
static void print_refusal(const struct mctctl_ctx *ctx, const struct mct_session_ref *ref, int r,
                          char *const *reasons, bool dry_pass)
{
    fprintf(stderr, "%sRefused to delete %s %s%s:\n", cli_red(ctx), ref->participant_id,
            ref->session_date, cli_reset(ctx));
    for (size_t i = 0; reasons && reasons[i]; i++) {
        fprintf(stderr, "  %s%s ", cli_red(ctx), cli_bad(ctx));
        cli_put(stderr, reasons[i]);
        fprintf(stderr, "%s\n", cli_reset(ctx));
    }
    if (!reasons || !reasons[0])
        fprintf(stderr, "  %s %s\n", cli_bad(ctx), strerror(-r));
    if (dry_pass)
        fprintf(stderr, "Nothing was deleted.\n");
}

static void warn_force(const struct mctctl_ctx *ctx)
{
    fprintf(stderr,
            "%s%s!! --force-unverified: SKIPPING the DataJoint import check and every backup "
            "check (copy present, verified, not the source itself).\n"
            "!! This session's recordings may exist nowhere else after this.%s\n"
            "%sStill enforced: the session lock, the age rule, *.lock/*.tmp files, the typed "
            "confirmation and the deletion log.%s\n",
            cli_bold(ctx), cli_yellow(ctx), cli_reset(ctx), cli_yellow(ctx), cli_reset(ctx));
}

static int print_json(const struct delete_args *a, const char *result, int r,
                      const struct mct_op_result *res)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    if (mct_json_add_str(o, "participant", a->ref.participant_id) < 0 ||
        mct_json_add_str(o, "date", a->ref.session_date) < 0 ||
        mct_json_add_bool(o, "dry_run", a->dry_run) < 0 ||
        mct_json_add_str(o, "mode", a->force ? "force-unverified" : "normal") < 0 ||
        mct_json_add_str(o, "result", result) < 0 ||
        mct_json_add_str(o, "error", r < 0 ? strerror(-r) : "") < 0 ||
        cli_json_add_op_result(o, res) < 0 || cli_json_print(o) < 0)
        fprintf(stderr, "mctctl delete: out of memory writing the JSON report\n");
    return cli_delete_exit(r, res);
}

static int run_pass(const struct mctctl_ctx *ctx, const struct delete_args *a, bool dry_run,
                    const char *who, struct mct_op_result *res)
{
    struct mct_delete_request req = {
            .ref = a->ref,
            .mode = a->force ? MCT_DELETE_FORCE_UNVERIFIED : MCT_DELETE_NORMAL,
            .dry_run = dry_run,
            .recover = !a->dry_run,
            .include_unmanaged = a->include_unmanaged,
            .who = who,
            .via = "mctctl",
    };
    return mct_delete_session(ctx->cfg, &req, res);
}

int cmd_delete(int argc, char **argv, struct mctctl_ctx *ctx)
{
    struct delete_args a = {0};
    int ex = parse_args(argc, argv, &a);
    if (ex != EXIT_OK)
        return ex;
    char who[MCT_USER_MAX];
    mct_describe_user(getuid(), who, sizeof(who));
    if (a.force)
        warn_force(ctx);

    /* First every check without touching anything: the summary to confirm. */
    struct mct_op_result res = {0};
    int r = run_pass(ctx, &a, true, who, &res);
    if (ctx->json && (r < 0 || a.dry_run)) {
        ex = print_json(&a, r < 0 ? "refused" : "would-delete", r, &res);
        mct_op_result_free(&res);
        return ex;
    }
    if (!ctx->json)
        print_lines(res.lines);
    if (r < 0) {
        print_refusal(ctx, &a.ref, r, res.reasons, true);
        ex = cli_delete_exit(r, &res);
        mct_op_result_free(&res);
        return ex;
    }
    mct_op_result_free(&res);
    if (a.dry_run)
        return EXIT_OK;

    if (!cli_confirm("Type DELETE to delete this session's local files: ", "DELETE")) {
        fprintf(stderr, "Confirmation did not match; nothing deleted.\n");
        return EXIT_FAILED;
    }

    /* The engine checks everything again now: the state may have changed
     * while the user was reading. */
    r = run_pass(ctx, &a, false, who, &res);
    if (ctx->json) {
        ex = print_json(&a, r < 0 ? "refused" : "deleted", r, &res);
    } else {
        print_lines(res.lines);
        if (r < 0)
            print_refusal(ctx, &a.ref, r, res.reasons, false);
        else
            printf("%s%s Deleted %s %s.%s\n", cli_green(ctx), cli_ok(ctx), a.ref.participant_id,
                   a.ref.session_date, cli_reset(ctx));
        ex = cli_delete_exit(r, &res);
    }
    mct_op_result_free(&res);
    return ex;
}
