/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl batch [START_DATE [END_DATE]] [--dry-run]: sync every session
 * that is not yet verified. A backup must cover what is on the disk: the
 * list is every session folder under the source (one the recording
 * database has no row for is synced too, and flagged), plus, with a
 * range, the sessions the recording database lists in it (those no
 * longer on local disk are skipped). Without a range it is every session
 * on local disk whatever its age, so a share that was down for weeks is
 * caught up by the next nightly run.
 */
#include <getopt.h>

#include "datajoint.h"
#include "jsondoc.h"
#include "log.h"
#include "mctctl.h"
#include "operations.h"
#include "recdb.h"
#include "report.h"
#include "scan.h"
#include "status.h"

enum { ROW_UNKNOWN = -1, ROW_NO = 0, ROW_YES = 1 };

struct batch {
    struct mctctl_ctx *ctx;
    const char *start, *end; /* NULL: open */
    bool dry_run;
    FILE *human; /* stdout, or stderr under --json */
    struct mct_session_ref *refs;
    int *in_recdb; /* ROW_*, per session */
    size_t n;
    size_t ok, failed, skipped, rowless;
    int ex;
    struct json_object *sessions; /* the sessions array under --json */
    bool json_failed;             /* out of memory building it */
};

static int append(struct batch *b, const struct mct_session_ref *ref, int row)
{
    struct mct_session_ref *r = realloc(b->refs, (b->n + 1) * sizeof(*r));
    if (!r)
        return -ENOMEM;
    b->refs = r;
    int *f = realloc(b->in_recdb, (b->n + 1) * sizeof(*f));
    if (!f)
        return -ENOMEM;
    b->in_recdb = f;
    b->refs[b->n] = *ref;
    b->in_recdb[b->n++] = row;
    return 0;
}

/* Both lists sorted; the union, each session once, with whether the
 * recording database has its row. */
static int merge(struct batch *b, const struct mct_session_ref *disk, size_t n_disk,
                 const struct mct_session_ref *rows, size_t n_rows, bool rows_known, bool rows_add)
{
    size_t i = 0, j = 0;
    int r = 0;
    while (r >= 0 && (i < n_disk || j < n_rows)) {
        int c = i >= n_disk ? 1 : j >= n_rows ? -1 : mct_session_ref_cmp(&disk[i], &rows[j]);
        if (c < 0)
            r = append(b, &disk[i++], rows_known ? ROW_NO : ROW_UNKNOWN);
        else if (c == 0)
            r = append(b, &disk[i++], ROW_YES), j++;
        else if (rows_add)
            r = append(b, &rows[j++], ROW_YES);
        else
            j++;
    }
    return r;
}

static int list_sessions(struct batch *b)
{
    const struct mct_config *cfg = b->ctx->cfg;
    _cleanup_free_ struct mct_session_ref *disk = NULL, *rows = NULL;
    size_t n_disk = 0, n_rows = 0;
    struct mct_discovery seen;
    int r = mct_discover_sessions_seen(cfg, b->start, b->end, &disk, &n_disk, &seen);
    if (r < 0) {
        mct_discovery_done(&seen);
        log_error_errno(r, "cannot list the sessions under %s", cfg->source_base_path);
        return r;
    }
    b->ex = cli_report_discovery(b->ctx, "batch", &seen, n_disk);
    mct_discovery_done(&seen);

    /* Without a range the database adds nothing (what is not on disk is
     * not copied); it only says which folders it has a row for. */
    char why[512] = "";
    bool known = mct_recdb_sessions_in_range(cfg, b->start, b->end, &rows, &n_rows, why,
                                             sizeof(why)) >= 0;
    if (!known)
        log_warning("%s; syncing the session folders on local disk", why);
    if (n_disk > 1)
        qsort(disk, n_disk, sizeof(*disk), mct_session_ref_cmp);
    if (n_rows > 1)
        qsort(rows, n_rows, sizeof(*rows), mct_session_ref_cmp);
    return merge(b, disk, n_disk, rows, n_rows, known, b->start || b->end);
}

static void json_session(struct batch *b, const struct mct_session_ref *ref, int row,
                         const char *result, char *const *reasons)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    if (mct_json_add_str(o, "participant", ref->participant_id) < 0 ||
        mct_json_add_str(o, "date", ref->session_date) < 0 ||
        (row == ROW_UNKNOWN ? mct_json_add_null(o, "in_recordings_db")
                            : mct_json_add_bool(o, "in_recordings_db", row == ROW_YES)) < 0 ||
        mct_json_add_str(o, "result", result) < 0 || mct_json_add_strv(o, "reasons", reasons) < 0 ||
        mct_json_push(b->sessions, TAKE_PTR(o)) < 0)
        b->json_failed = true;
}

static void sync_one(struct batch *b, size_t i, const char *note)
{
    struct mctctl_ctx *ctx = b->ctx;
    const struct mct_session_ref *ref = &b->refs[i];
    fprintf(b->human, "syncing%s\n", note);
    fflush(b->human);
    struct mct_op_result res = {0};
    int r = mct_sync_session(ctx->cfg, ref, b->dry_run, cli_progress, ctx, &res);
    for (char **l = res.lines; l && *l; l++) {
        cli_put(b->human, *l);
        fputc('\n', b->human);
    }
    for (char **l = res.reasons; l && *l; l++) {
        fprintf(stderr, "%s%s ", cli_red(ctx), cli_bad(ctx));
        cli_put(stderr, *l);
        fprintf(stderr, "%s\n", cli_reset(ctx));
    }
    int ex = cli_op_exit(r);
    b->ex = cli_exit_worst(b->ex, ex);
    if (r < 0) {
        fprintf(b->human, "%s[%zu/%zu] %s %s: FAILED%s\n", cli_red(ctx), i + 1, b->n,
                ref->participant_id, ref->session_date, cli_reset(ctx));
        b->failed++;
    } else {
        b->ok++;
    }
    json_session(b, ref, b->in_recdb[i],
                 r >= 0                  ? (b->dry_run ? "would-sync" : "synced")
                 : ex == EXIT_INCOMPLETE ? "incomplete"
                 : ex == EXIT_REFUSED    ? "refused"
                                         : "failed",
                 res.reasons);
    mct_op_result_free(&res);
}

static void skip(struct batch *b, size_t i, const char *result, const char *why)
{
    fprintf(b->human, "skipped (%s)\n", why);
    b->skipped++;
    json_session(b, &b->refs[i], b->in_recdb[i], result, NULL);
}

static void batch_run(struct batch *b, const struct mct_session_status *st)
{
    const char *rowless = " (not in recordings.db: a deletion needs its imported flag there)";
    for (size_t i = 0; i < b->n; i++) {
        const struct mct_session_ref *ref = &b->refs[i];
        fprintf(b->human, "%s[%zu/%zu] %s %s%s: ", cli_bold(b->ctx), i + 1, b->n,
                ref->participant_id, ref->session_date, cli_reset(b->ctx));
        if (st[i].not_managed) {
            skip(b, i, "skipped-not-managed",
                 "participant not in backup.filters.participant_prefixes");
        } else if (!st[i].source_exists) {
            skip(b, i, "skipped-not-local", "not on local disk");
        } else if (st[i].verified == MCT_YES) {
            skip(b, i, "skipped-verified", "already backed up and verified");
        } else {
            bool flagged = b->in_recdb[i] == ROW_NO;
            b->rowless += flagged;
            sync_one(b, i, flagged ? rowless : "");
        }
        fflush(b->human);
    }
}

static int print_json(struct batch *b)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    _cleanup_json_ struct json_object *summary = json_object_new_object();
    if (b->json_failed || mct_json_add_bool(o, "dry_run", b->dry_run) < 0 ||
        mct_json_add_str(o, "start_date", b->start) < 0 ||
        mct_json_add_str(o, "end_date", b->end) < 0 ||
        mct_json_add(o, "sessions", json_object_get(b->sessions)) < 0 ||
        mct_json_add_u64(summary, "sessions", b->n) < 0 ||
        mct_json_add_u64(summary, "succeeded", b->ok) < 0 ||
        mct_json_add_u64(summary, "failed", b->failed) < 0 ||
        mct_json_add_u64(summary, "skipped", b->skipped) < 0 ||
        mct_json_add_u64(summary, "not_in_recordings_db", b->rowless) < 0 ||
        mct_json_add(o, "summary", TAKE_PTR(summary)) < 0 || cli_json_print(o) < 0) {
        fprintf(stderr, "mctctl batch: out of memory writing the JSON report\n");
        return EXIT_FAILED;
    }
    return EXIT_OK;
}

static int parse(int argc, char **argv, struct batch *b)
{
    int ex = cli_parse_flags(argc, argv, "batch",
                             (const struct cli_flag[]){{"dry-run", &b->dry_run}, {}});
    if (ex != EXIT_OK)
        return ex;
    int npos = argc - optind;
    if (npos > 2)
        return cli_usage_error("batch", "expected [START_DATE [END_DATE]]");
    if (npos >= 1)
        b->start = b->end = argv[optind];
    if (npos == 2)
        b->end = argv[optind + 1];
    if (cli_date_arg("batch", "START_DATE", b->start) < 0 ||
        cli_date_arg("batch", "END_DATE", b->end) < 0)
        return EXIT_USAGE;
    if (b->start && strcmp(b->start, b->end) > 0)
        return cli_usage_error("batch", "START_DATE %s is after END_DATE %s", b->start, b->end);
    return EXIT_OK;
}

static void batch_done(struct batch *b)
{
    free(b->refs);
    free(b->in_recdb);
    json_object_put(b->sessions);
}

int cmd_batch(int argc, char **argv, struct mctctl_ctx *ctx)
{
    _cleanup_(batch_done) struct batch b = {
            .ctx = ctx, .human = ctx->json ? stderr : stdout, .sessions = mct_json_lines_array()};
    int ex = parse(argc, argv, &b);
    if (ex != EXIT_OK)
        return ex;
    char range[64] = "every session on local disk";
    if (b.start)
        snprintf(range, sizeof(range), "%s..%s", b.start, b.end);

    if (list_sessions(&b) < 0)
        return EXIT_INCOMPLETE;
    if (b.n == 0) {
        if (b.start)
            fprintf(b.human, "No sessions from %s to %s.\n", b.start, b.end);
        else
            fprintf(b.human, "No sessions on local disk.\n");
        return cli_exit_worst(b.ex, ctx->json ? print_json(&b) : EXIT_OK);
    }

    /* One set-based status pass decides what needs copying. */
    struct mct_session_status *st = NULL;
    int r = mct_status_collect(ctx->cfg, b.refs, b.n, 0, &st);
    if (r < 0) {
        log_error_errno(r, "cannot collect the status");
        return EXIT_FAILED;
    }
    batch_run(&b, st);
    mct_session_status_free_array(st, b.n);

    fprintf(b.human, "\n%sBatch %s%s%s: %zu succeeded, %zu failed, %zu skipped\n", cli_bold(ctx),
            range, b.dry_run ? " (dry run)" : "", cli_reset(ctx), b.ok, b.failed, b.skipped);
    if (b.rowless)
        fprintf(b.human,
                "%zu session%s not in recordings.db: copied, but never safe to delete until the "
                "acquisition GUI marks %s imported there.\n",
                b.rowless, b.rowless == 1 ? "" : "s", b.rowless == 1 ? "it" : "them");
    if (ctx->json)
        b.ex = cli_exit_worst(b.ex, print_json(&b));
    return b.ex;
}
