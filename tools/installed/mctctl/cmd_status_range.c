/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl status-range [--start-date D] [--end-date D]: the overview table
 * of every session on local disk (sessions already deleted do not appear),
 * and of every session an interrupted deletion left in the trash; without
 * a date range, the forecast of when the disk fills below it.
 */
#include "escape.h"
#include "forecast.h"
#include "log.h"
#include "mctctl.h"
#include "report.h"
#include "scan.h"
#include "status.h"
#include "trash_pending.h"

/* The table has no room for reasons: say which rows are stuck in the trash. */
static void trash_notes(const struct mct_config *cfg, const struct mct_session_ref *refs, size_t n,
                        struct mct_buf *out)
{
    mct_buf_puts(out, "\nInterrupted deletions (never safe until finished or restored):\n");
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *why = NULL;
        if (mct_trash_pending(cfg, &refs[i], &why) > 0)
            mct_buf_printf(out, "  %s %s: %s\n", refs[i].session_date, refs[i].participant_id, why);
    }
}

int cmd_status_range(int argc, char **argv, struct mctctl_ctx *ctx)
{
    const char *start = NULL, *end = NULL;
    int r = cli_parse_range(argc, argv, "status-range", &start, &end, NULL);
    if (r != EXIT_OK)
        return r;

    _cleanup_free_ struct mct_session_ref *refs = NULL;
    size_t n = 0;
    struct mct_discovery seen;
    r = mct_discover_sessions_seen(ctx->cfg, start, end, &refs, &n, &seen);
    if (r < 0) {
        log_error_errno(r, "cannot list sessions under %s", ctx->cfg->source_base_path);
        mct_discovery_done(&seen);
        return EXIT_INCOMPLETE;
    }
    int ex = cli_report_discovery(ctx, "status-range", &seen, n);
    mct_discovery_done(&seen);
    size_t n_trash = 0;
    r = cli_add_trash_sessions(ctx->cfg, start, end, &refs, &n, &n_trash);
    if (r < 0)
        log_warning_errno(r, "cannot list the deletion trash under %s", ctx->cfg->source_base_path);

    struct mct_session_status *st = NULL;
    r = mct_status_collect(ctx->cfg, refs, n, 0, &st);
    if (r < 0) {
        log_error_errno(r, "cannot collect the status");
        return EXIT_FAILED;
    }
    ex = cli_exit_worst(ex, cli_report_unknowns("status-range", st, n));
    _cleanup_buf_ struct mct_buf out = {0};
    if (ctx->json)
        mct_report_sessions_json(st, n, &out);
    else if (n == 0) {
        mct_buf_puts(&out, "No sessions on local disk under ");
        mct_esc_text_str(&out, ctx->cfg->source_base_path);
        mct_buf_printf(&out, "%s.\n", start || end ? " in that range" : "");
    } else
        mct_report_range_text(st, n, cli_style(ctx), &out);
    if (!ctx->json && n_trash > 0)
        trash_notes(ctx->cfg, refs, n, &out);
    /* The forecast needs every session: not under a date range. */
    if (!ctx->json && !start && !end) {
        struct mct_forecast_acc acc;
        struct mct_forecast f;
        mct_forecast_start(&acc, ctx->cfg);
        mct_forecast_add(&acc, st, n);
        mct_forecast_end(ctx->cfg, &acc, &f);
        mct_buf_puts(&out, "\n");
        mct_report_forecast_text(&f, &out);
    }
    mct_session_status_free_array(st, n);
    if (out.error)
        return EXIT_FAILED;
    fwrite(out.data, 1, out.len, stdout);
    return ex;
}
