/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl status-range [--start-date D] [--end-date D]: the overview table
 * of every session on local disk (sessions already deleted do not appear).
 */
#include "escape.h"
#include "log.h"
#include "mctctl.h"
#include "report.h"
#include "scan.h"
#include "status.h"

int cmd_status_range(int argc, char **argv, struct mctctl_ctx *ctx)
{
    const char *start = NULL, *end = NULL;
    int r = cli_parse_range(argc, argv, "status-range", &start, &end, NULL);
    if (r != EXIT_OK)
        return r;

    _cleanup_free_ struct mct_session_ref *refs = NULL;
    size_t n = 0;
    r = mct_discover_sessions(ctx->cfg, start, end, &refs, &n);
    if (r < 0) {
        log_error_errno(r, "cannot list sessions under %s", ctx->cfg->source_base_path);
        return EXIT_FAILED;
    }

    struct mct_session_status *st = NULL;
    r = mct_status_collect(ctx->cfg, refs, n, 0, &st);
    if (r < 0) {
        log_error_errno(r, "cannot collect the status");
        return EXIT_FAILED;
    }
    _cleanup_buf_ struct mct_buf out = {0};
    if (ctx->json)
        mct_report_sessions_json(st, n, &out);
    else if (n == 0) {
        mct_buf_puts(&out, "No sessions on local disk under ");
        mct_esc_text_str(&out, ctx->cfg->source_base_path);
        mct_buf_printf(&out, "%s.\n", start || end ? " in that range" : "");
    } else
        mct_report_range_text(st, n, ctx->color, &out);
    mct_session_status_free_array(st, n);
    if (out.error)
        return EXIT_FAILED;
    fwrite(out.data, 1, out.len, stdout);
    return EXIT_OK;
}
