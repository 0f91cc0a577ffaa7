/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl bulk-delete [--start-date D] [--end-date D] [--dry-run]: list
 * every local session in the range that is safe to delete, with sizes
 * and the total to be freed, ask for DELETE ALL, then run the deletion
 * protocol for each one, which re-checks it at its own moment: a list
 * shown a minute ago proves nothing about now.
 */
#include <pwd.h>
#include <unistd.h>

#include "mctctl.h"
#include "operations.h"
#include "scan.h"

static void who_am_i(char *out, size_t len)
{
    struct passwd pw, *res = NULL;
    char buf[1024];
    uid_t uid = getuid();
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
        snprintf(out, len, "%s (uid %u)", res->pw_name, (unsigned)uid);
    else
        snprintf(out, len, "uid %u", (unsigned)uid);
}

/* Print the safe sessions; returns how many there are. */
static size_t list_safe(const struct mctctl_ctx *ctx, const struct mct_session_status *st, size_t n,
                        uint64_t *total)
{
    char size[32];
    size_t n_safe = 0;
    *total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!st[i].safe_to_delete)
            continue;
        if (n_safe++ == 0)
            printf("%sSafe to delete:%s\n", cli_bold(ctx), cli_reset(ctx));
        printf("  %s  %-12s %6zu files  %8s  %s\n", st[i].ref.session_date,
               st[i].ref.participant_id, st[i].source.n_files,
               mct_format_bytes(st[i].source.bytes, size, sizeof(size)), st[i].source_path);
        *total += st[i].source.bytes;
    }
    if (n > n_safe)
        printf("Skipping %zu session(s) that are not safe to delete ('mctctl status P D' says "
               "why):\n",
               n - n_safe);
    for (size_t i = 0; i < n; i++)
        if (!st[i].safe_to_delete)
            printf("  %s  %-12s %s\n", st[i].ref.session_date, st[i].ref.participant_id,
                   st[i].reasons && st[i].reasons[0] ? st[i].reasons[0] : "not safe");
    return n_safe;
}

/* Run the protocol on every safe session; returns how many failed. */
static size_t delete_each(const struct mctctl_ctx *ctx, const struct mct_session_status *st,
                          size_t n, size_t n_safe, bool dry_run, uint64_t *freed)
{
    char who[300];
    who_am_i(who, sizeof(who));
    size_t k = 0, failed = 0;
    *freed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!st[i].safe_to_delete)
            continue;
        struct mct_delete_request req = {
                .ref = st[i].ref,
                .mode = MCT_DELETE_NORMAL,
                .dry_run = dry_run,
                .who = who,
                .via = "mctctl bulk-delete",
        };
        struct mct_op_result res = {0};
        int r = mct_delete_session(ctx->cfg, &req, &res);
        printf("[%zu/%zu] %s %s: ", ++k, n_safe, st[i].ref.participant_id, st[i].ref.session_date);
        if (r >= 0) {
            printf("%s%s%s\n", cli_green(ctx), dry_run ? "would delete" : "deleted",
                   cli_reset(ctx));
            *freed += st[i].source.bytes;
        } else {
            failed++;
            printf("%srefused:%s", cli_red(ctx), cli_reset(ctx));
            for (size_t j = 0; res.reasons && res.reasons[j]; j++)
                printf("%s %s", j ? ";" : "", res.reasons[j]);
            if (!res.reasons || !res.reasons[0])
                printf(" %s", strerror(-r));
            printf("\n");
        }
        fflush(stdout);
        mct_op_result_free(&res);
    }
    return failed;
}

int cmd_bulk_delete(int argc, char **argv, struct mctctl_ctx *ctx)
{
    const char *start = NULL, *end = NULL;
    bool dry_run = false;
    int ex = cli_parse_range(argc, argv, "bulk-delete", &start, &end, &dry_run);
    if (ex != EXIT_OK)
        return ex;

    /* Finish or undo interrupted deletions first, so the list is true. */
    struct mct_op_result rec = {0};
    (void)mct_trash_recover(ctx->cfg, &rec);
    for (size_t i = 0; rec.lines && rec.lines[i]; i++)
        printf("%s\n", rec.lines[i]);
    mct_op_result_free(&rec);

    _cleanup_free_ struct mct_session_ref *refs = NULL;
    size_t n = 0;
    int r = mct_discover_sessions(ctx->cfg, start, end, &refs, &n);
    if (r < 0) {
        fprintf(stderr, "mctctl bulk-delete: cannot list the sessions under %s: %s\n",
                ctx->cfg->source_base_path, strerror(-r));
        return EXIT_FAILED;
    }
    if (n == 0) {
        printf("No local sessions in the range; nothing to delete.\n");
        return EXIT_OK;
    }
    struct mct_session_status *st = NULL;
    r = mct_status_collect(ctx->cfg, refs, n, 0, &st);
    if (r < 0) {
        fprintf(stderr, "mctctl bulk-delete: cannot check the sessions: %s\n", strerror(-r));
        return EXIT_FAILED;
    }

    char size[32];
    uint64_t total = 0, freed = 0;
    size_t n_safe = list_safe(ctx, st, n, &total);
    if (n_safe == 0) {
        printf("Nothing is safe to delete.\n");
        mct_session_status_free_array(st, n);
        return EXIT_OK;
    }
    printf("%zu session(s), %s to be freed.\n", n_safe,
           mct_format_bytes(total, size, sizeof(size)));
    fflush(stdout);

    if (!dry_run &&
        !cli_confirm("Type DELETE ALL to delete every session listed above: ", "DELETE ALL")) {
        fprintf(stderr, "Confirmation did not match; nothing deleted.\n");
        mct_session_status_free_array(st, n);
        return EXIT_FAILED;
    }
    size_t failed = delete_each(ctx, st, n, n_safe, dry_run, &freed);
    printf("%s %zu of %zu session(s), %s%s; %zu refused or failed.\n",
           dry_run ? "Dry run: would delete" : "Deleted", n_safe - failed, n_safe,
           mct_format_bytes(freed, size, sizeof(size)), dry_run ? " would be freed" : " freed",
           failed);
    mct_session_status_free_array(st, n);
    return failed ? EXIT_FAILED : EXIT_OK;
}
