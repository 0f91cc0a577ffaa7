/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl reclaim [--dry-run] [--if-enabled]: when the source filesystem has less free
 * than deletion.reclaim.keep_free, delete the oldest safe sessions until
 * it has not, each through the deletion protocol; no prompt, since
 * deletion.reclaim.enabled is the consent (without it only --dry-run).
 * Each session is printed as it is done, then what was freed, why the
 * target cannot be met when it cannot, and the forecast. With --json the
 * same text goes to stderr and stdout gets one JSON document.
 */
#include <getopt.h>
#include <unistd.h>

#include "mctctl.h"
#include "operations.h"
#include "reclaim.h"
#include "report.h"

struct progress {
    const struct mctctl_ctx *ctx;
    FILE *human;
};

static void on_item(void *ud, const struct mct_reclaim_item *it, size_t k)
{
    const struct progress *p = ud;
    _cleanup_buf_ struct mct_buf b = {0};
    mct_report_reclaim_item_text(it, &b);
    bool ok = it->outcome != MCT_RECLAIM_FAILED;
    fprintf(p->human, "[%zu] %s%s%s", k, ok ? cli_green(p->ctx) : cli_red(p->ctx),
            b.data ? b.data : "(out of memory)\n", cli_reset(p->ctx));
    fflush(p->human);
}

int cmd_reclaim(int argc, char **argv, struct mctctl_ctx *ctx)
{
    static const struct option options[] = {
            {"dry-run", no_argument, NULL, 'n'},
            {"if-enabled", no_argument, NULL, 'e'},
            {},
    };
    bool dry_run = false, if_enabled = false;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c != 'n' && c != 'e')
            return cli_usage_error("reclaim", "unknown option '%s'", argv[optind - 1]);
        dry_run |= c == 'n';
        if_enabled |= c == 'e';
    }
    if (optind < argc)
        return cli_usage_error("reclaim", "unexpected argument '%s'", argv[optind]);
    /* The nightly timer's: reclaim is the config's choice, not an error. */
    if (if_enabled && !ctx->cfg->reclaim.enabled) {
        fprintf(ctx->json ? stderr : stdout,
                "reclaim is off (deletion.reclaim.enabled is not true): nothing to do\n");
        return EXIT_OK;
    }

    struct progress p = {.ctx = ctx, .human = ctx->json ? stderr : stdout};
    char who[MCT_USER_MAX];
    mct_describe_user(getuid(), who, sizeof(who));
    struct mct_reclaim_request req = {
            .dry_run = dry_run,
            .who = who,
            .via = "mctctl reclaim",
            .on_item = on_item,
            .ud = &p,
    };
    struct mct_reclaim_result res;
    int r = mct_reclaim(ctx->cfg, &req, &res);

    _cleanup_buf_ struct mct_buf text = {0}, json = {0};
    mct_report_reclaim_text(&res, ctx->cfg->source_base_path, &text);
    if (ctx->json)
        mct_report_reclaim_json(&res, ctx->cfg->source_base_path, &json);
    bool checked = res.checked;
    mct_reclaim_result_free(&res);
    if (text.error || json.error) {
        fprintf(stderr, "mctctl reclaim: out of memory writing the report\n");
        return EXIT_FAILED;
    }
    /* Refused or failed before any session was looked at: an error. */
    FILE *f = !checked && !ctx->json ? stderr : p.human;
    if (!checked)
        fputs("mctctl reclaim: ", f);
    fwrite(text.data, 1, text.len, f);
    if (ctx->json)
        fwrite(json.data, 1, json.len, stdout);
    return r < 0 ? EXIT_FAILED : EXIT_OK;
}
