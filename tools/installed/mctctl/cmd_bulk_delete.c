/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl bulk-delete [--start-date D] [--end-date D] [--dry-run]: list
 * every local session in the range that is safe to delete, with sizes
 * and the total to be freed, ask for DELETE ALL, then run the deletion
 * protocol for each one, which re-checks it at its own moment: a list
 * shown a minute ago proves nothing about now. With --json the same text
 * goes to stderr and stdout gets one JSON document of every session's
 * outcome.
 */
#include <unistd.h>

#include "jsondoc.h"
#include "mctctl.h"
#include "operations.h"
#include "policy.h"
#include "report.h"
#include "scan.h"

/* What happened to each session of the range; the JSON "result". */
enum outcome {
    OUT_SKIPPED,       /* not safe to delete when listed */
    OUT_NOT_CONFIRMED, /* safe, but the confirmation did not match */
    OUT_DELETED,       /* "would-delete" in a dry run */
    OUT_REFUSED,       /* the protocol's re-check said no, or it was busy */
    OUT_ERROR,         /* the protocol failed (reasons say what was left) */
    _OUT_MAX,
};

static const char *const outcome_names[_OUT_MAX] = {
        [OUT_SKIPPED] = "skipped-not-safe",
        [OUT_NOT_CONFIRMED] = "not-confirmed",
        [OUT_DELETED] = "deleted",
        [OUT_REFUSED] = "refused",
        [OUT_ERROR] = "error",
};

struct bulk {
    const struct mctctl_ctx *ctx;
    const char *start, *end;
    bool dry_run;
    struct mct_session_status *st;
    size_t n;
    enum outcome *out;         /* n of them */
    int *err;                  /* the protocol's return, per session */
    struct mct_op_result *res; /* the protocol's reasons, per session */
    FILE *human;               /* stdout, or stderr under --json */
};

static void bulk_done(struct bulk *b)
{
    for (size_t i = 0; b->res && i < b->n; i++)
        mct_op_result_free(&b->res[i]);
    free(b->res);
    free(b->err);
    free(b->out);
    mct_session_status_free_array(b->st, b->n);
}

static const char *outcome_name(const struct bulk *b, enum outcome o)
{
    return o == OUT_DELETED && b->dry_run ? "would-delete" : outcome_names[o];
}

/* Print the safe sessions; returns how many there are. */
static size_t list_safe(const struct bulk *b, uint64_t *total)
{
    const struct mct_session_status *st = b->st;
    char size[32];
    size_t n_safe = 0;
    *total = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (!st[i].safe_to_delete)
            continue;
        if (n_safe++ == 0)
            fprintf(b->human, "%sSafe to delete:%s\n", cli_bold(b->ctx), cli_reset(b->ctx));
        fprintf(b->human, "  %s  %-12s %6zu files  %8s  ", st[i].ref.session_date,
                st[i].ref.participant_id, st[i].source.n_files,
                mct_format_bytes(st[i].source.bytes, size, sizeof(size)));
        cli_put(b->human, st[i].source_path);
        fputc('\n', b->human);
        *total += st[i].source.bytes;
    }
    if (b->n > n_safe)
        fprintf(b->human,
                "Skipping %zu session(s) that are not safe to delete ('mctctl status P D' says "
                "why):\n",
                b->n - n_safe);
    for (size_t i = 0; i < b->n; i++) {
        if (st[i].safe_to_delete)
            continue;
        fprintf(b->human, "  %s  %-12s ", st[i].ref.session_date, st[i].ref.participant_id);
        cli_put(b->human, st[i].reasons && st[i].reasons[0] ? st[i].reasons[0] : "not safe");
        fputc('\n', b->human);
    }
    return n_safe;
}

/* Run the protocol on every safe session; returns how many failed, and
 * *ex the worst exit code of them. */
static size_t delete_each(struct bulk *b, size_t n_safe, uint64_t *freed, int *ex)
{
    const struct mctctl_ctx *ctx = b->ctx;
    char who[MCT_USER_MAX];
    mct_describe_user(getuid(), who, sizeof(who));
    size_t k = 0, failed = 0;
    *freed = 0;
    for (size_t i = 0; i < b->n; i++) {
        const struct mct_session_status *st = &b->st[i];
        if (!st->safe_to_delete)
            continue;
        struct mct_delete_request req = {
                .ref = st->ref,
                .mode = MCT_DELETE_NORMAL,
                .dry_run = b->dry_run,
                .who = who,
                .via = "mctctl bulk-delete",
        };
        struct mct_op_result *res = &b->res[i];
        int r = b->err[i] = mct_delete_session(ctx->cfg, &req, res);
        b->out[i] = r >= 0 ? OUT_DELETED : r == -EPERM || r == -EBUSY ? OUT_REFUSED : OUT_ERROR;
        *ex = cli_exit_worst(*ex, cli_delete_exit(r, res));
        fprintf(b->human, "[%zu/%zu] %s %s: ", ++k, n_safe, st->ref.participant_id,
                st->ref.session_date);
        if (r >= 0) {
            fprintf(b->human, "%s%s%s\n", cli_green(ctx), b->dry_run ? "would delete" : "deleted",
                    cli_reset(ctx));
            *freed += st->source.bytes;
            /* What the deletion did not remove: files written into the
             * session meanwhile, put back. */
            for (char **l = res->lines; l && *l; l++)
                if (startswith(*l, "  kept ") || startswith(*l, "WARNING: "))
                    fprintf(b->human, "  %s\n", *l + strspn(*l, " "));
        } else {
            failed++;
            fprintf(b->human, "%srefused:%s", cli_red(ctx), cli_reset(ctx));
            for (size_t j = 0; res->reasons && res->reasons[j]; j++) {
                fputs(j ? "; " : " ", b->human);
                cli_put(b->human, res->reasons[j]);
            }
            if (!res->reasons || !res->reasons[0])
                fprintf(b->human, " %s", strerror(-r));
            fprintf(b->human, "\n");
        }
        fflush(b->human);
    }
    return failed;
}

static struct json_object *session_json(const struct bulk *b, size_t i)
{
    const struct mct_session_status *st = &b->st[i];
    enum outcome o = b->out[i];
    _cleanup_strv_ char **errors = NULL;
    if (mct_policy_unknowns(st, &errors) < 0)
        return NULL;
    _cleanup_json_ struct json_object *s = json_object_new_object();
    if (mct_json_add_str(s, "participant", st->ref.participant_id) < 0 ||
        mct_json_add_str(s, "date", st->ref.session_date) < 0 ||
        mct_json_add_str(s, "path", st->source_path ? st->source_path : "") < 0 ||
        mct_json_add_u64(s, "files", st->source.n_files) < 0 ||
        mct_json_add_u64(s, "bytes", st->source.bytes) < 0 ||
        mct_json_add_str(s, "result", outcome_name(b, o)) < 0 ||
        mct_json_add_str(s, "error", b->err[i] < 0 ? strerror(-b->err[i]) : "") < 0 ||
        mct_json_add_strv(s, "reasons", o == OUT_SKIPPED ? st->reasons : b->res[i].reasons) < 0 ||
        mct_json_add_strv(s, "errors", errors) < 0)
        return NULL;
    return TAKE_PTR(s);
}

/* The counts, keyed by result with '_' for '-', and the bytes. */
static struct json_object *summary_json(const struct bulk *b, uint64_t freed)
{
    size_t count[_OUT_MAX] = {0};
    for (size_t i = 0; i < b->n; i++)
        count[b->out[i]]++;
    _cleanup_json_ struct json_object *s = json_object_new_object();
    if (mct_json_add_u64(s, "sessions", b->n) < 0)
        return NULL;
    for (enum outcome o = 0; o < _OUT_MAX; o++) {
        char key[32];
        snprintf(key, sizeof(key), "%s", outcome_name(b, o));
        for (char *dash; (dash = strchr(key, '-'));)
            *dash = '_';
        if (mct_json_add_u64(s, key, count[o]) < 0)
            return NULL;
    }
    if (mct_json_add_u64(s, b->dry_run ? "bytes_to_free" : "bytes_freed", freed) < 0)
        return NULL;
    return TAKE_PTR(s);
}

/* One document for the whole run: each session of the range with its
 * outcome and reasons, one a line, and the counts. */
static int print_json(const struct bulk *b, uint64_t freed)
{
    _cleanup_json_ struct json_object *sessions = mct_json_lines_array();
    for (size_t i = 0; i < b->n; i++)
        if (mct_json_push(sessions, session_json(b, i)) < 0)
            return -ENOMEM;
    _cleanup_json_ struct json_object *o = json_object_new_object();
    if (mct_json_add_bool(o, "dry_run", b->dry_run) < 0 ||
        mct_json_add_str(o, "start_date", b->start) < 0 ||
        mct_json_add_str(o, "end_date", b->end) < 0 ||
        mct_json_add(o, "sessions", TAKE_PTR(sessions)) < 0 ||
        mct_json_add(o, "summary", summary_json(b, freed)) < 0)
        return -ENOMEM;
    return cli_json_print(o);
}

/* The JSON document (under --json) and the exit status. */
static int finish(struct bulk *b, uint64_t freed, int ex)
{
    if (b->ctx->json && print_json(b, freed) < 0) {
        fprintf(stderr, "mctctl bulk-delete: out of memory writing the JSON report\n");
        ex = EXIT_FAILED;
    }
    bulk_done(b);
    return ex;
}

int cmd_bulk_delete(int argc, char **argv, struct mctctl_ctx *ctx)
{
    struct bulk b = {.ctx = ctx, .human = ctx->json ? stderr : stdout};
    int ex = cli_parse_range(argc, argv, "bulk-delete", &b.start, &b.end, &b.dry_run);
    if (ex != EXIT_OK)
        return ex;

    /* Finish or undo interrupted deletions first, so the list is true. */
    struct mct_op_result rec = {0};
    (void)mct_trash_recover(ctx->cfg, b.dry_run, &rec);
    for (size_t i = 0; rec.lines && rec.lines[i]; i++) {
        cli_put(b.human, rec.lines[i]);
        fputc('\n', b.human);
    }
    mct_op_result_free(&rec);

    _cleanup_free_ struct mct_session_ref *refs = NULL;
    struct mct_discovery seen;
    int r = mct_discover_sessions_seen(ctx->cfg, b.start, b.end, &refs, &b.n, &seen);
    if (r < 0) {
        mct_discovery_done(&seen);
        fprintf(stderr, "mctctl bulk-delete: cannot list the sessions under ");
        cli_put(stderr, ctx->cfg->source_base_path);
        fprintf(stderr, ": %s\n", strerror(-r));
        return EXIT_INCOMPLETE;
    }
    ex = cli_report_discovery(ctx, "bulk-delete", &seen, b.n);
    mct_discovery_done(&seen);
    if (b.n == 0) {
        fprintf(b.human, "No local sessions in the range; nothing to delete.\n");
        return finish(&b, 0, ex);
    }
    r = mct_status_collect(ctx->cfg, refs, b.n, 0, &b.st);
    if (r < 0) {
        fprintf(stderr, "mctctl bulk-delete: cannot check the sessions: %s\n", strerror(-r));
        return EXIT_FAILED;
    }
    /* Sessions nobody could decide are not "not safe": say what was not
     * reachable, and exit EXIT_INCOMPLETE. */
    ex = cli_exit_worst(ex, cli_report_unknowns("bulk-delete", b.st, b.n));
    b.out = calloc(b.n, sizeof(*b.out));
    b.err = calloc(b.n, sizeof(*b.err));
    b.res = calloc(b.n, sizeof(*b.res));
    if (!b.out || !b.err || !b.res) {
        fprintf(stderr, "mctctl bulk-delete: out of memory\n");
        bulk_done(&b);
        return EXIT_FAILED;
    }

    char size[32];
    uint64_t total = 0, freed = 0;
    size_t n_safe = list_safe(&b, &total);
    for (size_t i = 0; i < b.n; i++)
        b.out[i] = b.st[i].safe_to_delete ? OUT_NOT_CONFIRMED : OUT_SKIPPED;
    if (n_safe == 0) {
        fprintf(b.human, "Nothing is safe to delete.\n");
        return finish(&b, 0, ex);
    }
    fprintf(b.human, "%zu session(s), %s to be freed.\n", n_safe,
            mct_format_bytes(total, size, sizeof(size)));
    fflush(b.human);

    if (!b.dry_run &&
        !cli_confirm("Type DELETE ALL to delete every session listed above: ", "DELETE ALL")) {
        fprintf(stderr, "Confirmation did not match; nothing deleted.\n");
        return finish(&b, 0, EXIT_FAILED);
    }
    size_t failed = delete_each(&b, n_safe, &freed, &ex);
    fprintf(b.human, "%s %zu of %zu session(s), %s%s; %zu refused or failed.\n",
            b.dry_run ? "Dry run: would delete" : "Deleted", n_safe - failed, n_safe,
            mct_format_bytes(freed, size, sizeof(size)), b.dry_run ? " would be freed" : " freed",
            failed);
    return finish(&b, freed, ex);
}
