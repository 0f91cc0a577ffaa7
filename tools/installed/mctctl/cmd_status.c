/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl status P D   the full report of one session
 * mctctl status D     the report of every participant recorded that day
 */
#include "datajoint.h"
#include "log.h"
#include "mctctl.h"
#include "recdb.h"
#include "report.h"
#include "scan.h"
#include "status.h"

static bool ref_listed(const struct mct_session_ref *refs, size_t n,
                       const struct mct_session_ref *ref)
{
    for (size_t i = 0; i < n; i++)
        if (mct_session_ref_cmp(&refs[i], ref) == 0)
            return true;
    return false;
}

/* Every participant of a day: those on local disk, those the recording
 * database knows (already deleted locally, or never copied in), and those
 * an interrupted deletion left in the trash. */
static int sessions_of_day(const struct mct_config *cfg, const char *date,
                           struct mct_session_ref **ret, size_t *n_ret)
{
    struct mct_session_ref *local = NULL, *known = NULL;
    size_t n_local = 0, n_known = 0;
    int r = mct_discover_sessions(cfg, date, date, &local, &n_local);
    if (r < 0 && r != -ENOENT) {
        log_error_errno(r, "cannot list sessions under %s", cfg->source_base_path);
        return r;
    }
    char why[512] = "";
    if (mct_recdb_sessions_in_range(cfg, date, date, &known, &n_known, why, sizeof(why)) < 0)
        log_warning("%s", why);

    for (size_t i = 0; i < n_known; i++) {
        if (!mct_participant_selected(cfg, known[i].participant_id) ||
            ref_listed(local, n_local, &known[i]))
            continue;
        struct mct_session_ref *grown = realloc(local, (n_local + 1) * sizeof(*local));
        if (!grown) {
            free(local);
            free(known);
            return -ENOMEM;
        }
        local = grown;
        local[n_local++] = known[i];
    }
    free(known);
    if (cli_add_trash_sessions(cfg, date, date, &local, &n_local, NULL) < 0)
        log_warning("cannot list the deletion trash under %s", cfg->source_base_path);
    if (n_local > 1)
        qsort(local, n_local, sizeof(*local), mct_session_ref_cmp);
    *ret = local;
    *n_ret = n_local;
    return 0;
}

static int print_statuses(struct mctctl_ctx *ctx, const struct mct_session_ref *refs, size_t n,
                          bool as_array)
{
    struct mct_session_status *st = NULL;
    int r = mct_status_collect(ctx->cfg, refs, n, 0, &st);
    if (r < 0) {
        log_error_errno(r, "cannot collect the status");
        return EXIT_FAILED;
    }
    int ex = cli_report_unknowns("status", st, n);
    _cleanup_buf_ struct mct_buf out = {0};
    for (size_t i = 0; i < n && !ctx->json; i++) {
        if (i)
            mct_buf_puts(&out, "\n");
        mct_report_session_text(&st[i], cli_style(ctx), &out);
    }
    if (ctx->json && as_array)
        mct_report_sessions_json(st, n, &out);
    else if (ctx->json && n == 1)
        mct_report_session_json_doc(&st[0], &out);
    mct_session_status_free_array(st, n);
    if (out.error)
        return EXIT_FAILED;
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    return ex;
}

int cmd_status(int argc, char **argv, struct mctctl_ctx *ctx)
{
    if (argc == 3) {
        struct mct_session_ref ref;
        if (cli_session_args("status", argv[1], argv[2], &ref) < 0)
            return EXIT_USAGE;
        return print_statuses(ctx, &ref, 1, false);
    }
    if (argc != 2)
        return cli_usage_error("status", "expected PARTICIPANT DATE, or DATE");
    if (cli_date_arg("status", "DATE", argv[1]) < 0)
        return EXIT_USAGE;

    _cleanup_free_ struct mct_session_ref *refs = NULL;
    size_t n = 0;
    if (sessions_of_day(ctx->cfg, argv[1], &refs, &n) < 0)
        return EXIT_INCOMPLETE;
    if (n == 0 && !ctx->json) {
        printf("No sessions on %s (neither on local disk nor in the recording database).\n",
               argv[1]);
        return EXIT_OK;
    }
    return print_statuses(ctx, refs, n, true);
}
