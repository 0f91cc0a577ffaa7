/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every mctctl command shares: argument validation with messages
 * that say what to do, the typed confirmation, colours, progress output.
 */
#include <getopt.h>
#include <unistd.h>

#include "escape.h"
#include "jsondoc.h"
#include "mctctl.h"
#include "op_result.h"
#include "policy.h"
#include "report.h"
#include "trash_pending.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    _cleanup_buf_ struct mct_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    mct_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mctctl %s: ", cmd);
    cli_put(stderr, b.data);
    fprintf(stderr, "\nTry 'mctctl %s --help'.\n", cmd);
    return EXIT_USAGE;
}

int cli_session_args(const char *cmd, const char *participant, const char *date,
                     struct mct_session_ref *ref)
{
    char err[256];
    if (mct_session_ref_init(ref, participant, date, err, sizeof(err)) < 0) {
        cli_usage_error(cmd, "%s", err);
        return -EINVAL;
    }
    return 0;
}

int cli_date_arg(const char *cmd, const char *option, const char *value)
{
    if (value && !mct_session_date_valid(value)) {
        cli_usage_error(cmd, "%s '%s' is not a date: expected YYYYMMDD, e.g. 20250104", option,
                        value);
        return -EINVAL;
    }
    return 0;
}

int cli_parse_range(int argc, char **argv, const char *cmd, const char **start, const char **end,
                    bool *dry_run)
{
    static const struct option options[] = {
            {"start-date", required_argument, NULL, 's'},
            {"end-date", required_argument, NULL, 'e'},
            {"dry-run", no_argument, NULL, 'n'},
            {},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        switch (c) {
        case 's':
            *start = optarg;
            break;
        case 'e':
            *end = optarg;
            break;
        case 'n':
            if (!dry_run)
                return cli_usage_error(cmd, "unknown option '--dry-run'");
            *dry_run = true;
            break;
        case ':':
            return cli_usage_error(cmd, "%s needs a date (YYYYMMDD)", argv[optind - 1]);
        default:
            return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (cli_date_arg(cmd, "--start-date", *start) < 0 || cli_date_arg(cmd, "--end-date", *end) < 0)
        return EXIT_USAGE;
    if (*start && *end && strcmp(*start, *end) > 0)
        return cli_usage_error(cmd, "--start-date %s is after --end-date %s", *start, *end);
    return EXIT_OK;
}

bool cli_confirm(const char *prompt, const char *phrase)
{
    fprintf(stderr, "%s", prompt);
    fflush(stderr);
    char line[256];
    if (!fgets(line, sizeof(line), stdin))
        return false;
    line[strcspn(line, "\r\n")] = '\0';
    return streq(line, phrase);
}

unsigned cli_style(const struct mctctl_ctx *ctx)
{
    return (ctx->color ? MCT_REPORT_COLOR : 0) | (ctx->ascii ? MCT_REPORT_ASCII : 0);
}

const char *cli_ok(const struct mctctl_ctx *ctx)
{
    return ctx && ctx->ascii ? "OK" : "✓";
}

const char *cli_bad(const struct mctctl_ctx *ctx)
{
    return ctx && ctx->ascii ? "x" : "✗";
}

static const char *code(const struct mctctl_ctx *ctx, const char *seq)
{
    return ctx->color ? seq : "";
}

const char *cli_green(const struct mctctl_ctx *ctx)
{
    return code(ctx, "\033[32m");
}

const char *cli_red(const struct mctctl_ctx *ctx)
{
    return code(ctx, "\033[31m");
}

const char *cli_yellow(const struct mctctl_ctx *ctx)
{
    return code(ctx, "\033[33m");
}

const char *cli_bold(const struct mctctl_ctx *ctx)
{
    return code(ctx, "\033[1m");
}

const char *cli_reset(const struct mctctl_ctx *ctx)
{
    return code(ctx, "\033[0m");
}

/* A bar redrawn in place on a terminal; elsewhere (logs, pipes) one line
 * per 10% so a cron mail stays short. */
void cli_progress(void *ud, const char *phase, int percent, const char *detail)
{
    const struct mctctl_ctx *ctx = ud;
    static int last_percent = -1;
    static const char *last_phase;
    if (percent < 0)
        percent = 0;
    if (percent > 100)
        percent = 100;
    if (phase != last_phase) {
        last_phase = phase;
        last_percent = -1;
    }
    /* The detail names a destination (bytes/s and ETA when hashing):
     * escaped, and on a terminal cut to 60 bytes at a whole character. */
    char shown[1024];
    mct_esc_text_fixed(shown, ctx && ctx->interactive ? 61 : sizeof(shown), detail ? detail : "",
                       detail ? strlen(detail) : 0);
    if (ctx && ctx->interactive) {
        int width = 30, filled = percent * width / 100;
        /* \033[K clears what a longer previous line left. */
        fprintf(stderr, "\r%-10s [%.*s%*s] %3d%% %s\033[K", phase, filled,
                "##############################", width - filled, "", percent, shown);
        if (percent == 100)
            fputc('\n', stderr);
        fflush(stderr);
    } else if (percent / 10 != last_percent / 10 || (percent == 100 && last_percent != 100)) {
        fprintf(stderr, "%s %d%%%s%s\n", phase, percent, *shown ? " " : "", shown);
    }
    last_percent = percent;
}

void cli_put(FILE *f, const char *s)
{
    _cleanup_free_ char *e = mct_esc_text_dup(s);
    fputs(e ? e : "(out of memory)", f);
}

static bool ref_in(const struct mct_session_ref *refs, size_t n, const struct mct_session_ref *ref)
{
    for (size_t i = 0; i < n; i++)
        if (mct_session_ref_cmp(&refs[i], ref) == 0)
            return true;
    return false;
}

int cli_add_trash_sessions(const struct mct_config *cfg, const char *start, const char *end,
                           struct mct_session_ref **refs, size_t *n, size_t *pending)
{
    _cleanup_free_ struct mct_session_ref *trash = NULL;
    size_t n_trash = 0;
    int r = mct_trash_pending_list(cfg, start, end, &trash, &n_trash);
    if (pending)
        *pending = n_trash;
    for (size_t i = 0; r >= 0 && i < n_trash; i++) {
        if (!mct_participant_selected(cfg, trash[i].participant_id) || ref_in(*refs, *n, &trash[i]))
            continue;
        struct mct_session_ref *grown = realloc(*refs, (*n + 1) * sizeof(**refs));
        if (!grown)
            return -ENOMEM;
        *refs = grown;
        (*refs)[(*n)++] = trash[i];
    }
    if (*n > 1)
        qsort(*refs, *n, sizeof(**refs), mct_session_ref_cmp);
    return r;
}

void cli_print_op_result(const struct mctctl_ctx *ctx, const struct mct_op_result *res)
{
    for (char **l = res->lines; l && *l; l++) {
        cli_put(stdout, *l);
        putchar('\n');
    }
    for (char **r = res->reasons; r && *r; r++) {
        fprintf(stderr, "%s%s ", cli_red(ctx), cli_bad(ctx));
        cli_put(stderr, *r);
        fprintf(stderr, "%s\n", cli_reset(ctx));
    }
}

/* Is every reason of the refusal one the status gave too (so nothing the
 * deletion found on its own, such as a changed snapshot, stands)? */
static bool reasons_from_status(const struct mct_op_result *res)
{
    for (char **r = res->reasons; r && *r; r++)
        if (!mct_strv_contains(res->status->reasons, *r))
            return false;
    return true;
}

int cli_delete_exit(int r, const struct mct_op_result *res)
{
    if (r >= 0)
        return EXIT_OK;
    if (r != -EPERM)
        return EXIT_FAILED; /* busy, gone, an I/O error */
    if (res->status && mct_policy_only_unknowns(res->status) && reasons_from_status(res))
        return EXIT_INCOMPLETE;
    return EXIT_REFUSED;
}

int cli_op_exit(int r)
{
    switch (r >= 0 ? 0 : -r) {
    case 0:
        return EXIT_OK;
    case ENOTCONN:
    case ETIMEDOUT:
    case EHOSTDOWN:
        return EXIT_INCOMPLETE; /* a share (or database) did not answer */
    case EPERM:
        return EXIT_REFUSED; /* unsafe: a symlink on the share, another's copy */
    default:
        return EXIT_FAILED;
    }
}

static const char *op_result_word(int ex)
{
    return ex == EXIT_OK           ? "ok"
           : ex == EXIT_INCOMPLETE ? "incomplete"
           : ex == EXIT_REFUSED    ? "refused"
                                   : "failed";
}

int cli_json_add_op_result(struct json_object *o, const struct mct_op_result *res)
{
    _cleanup_strv_ char **errors = NULL;
    if (res->status && mct_policy_unknowns(res->status, &errors) < 0)
        return -ENOMEM;
    if (mct_json_add_strv(o, "lines", res->lines) < 0 ||
        mct_json_add_strv(o, "reasons", res->reasons) < 0 ||
        mct_json_add_strv(o, "errors", errors) < 0)
        return -ENOMEM;
    return 0;
}

int cli_json_print(struct json_object *o)
{
    _cleanup_buf_ struct mct_buf b = {0};
    mct_json_write(o, &b);
    if (mct_buf_puts(&b, "\n") < 0)
        return -ENOMEM;
    fwrite(b.data, 1, b.len, stdout);
    return 0;
}

int cli_print_op_json(const char *cmd, const struct mct_session_ref *ref, int r,
                      const struct mct_op_result *res)
{
    int ex = cli_op_exit(r);
    _cleanup_json_ struct json_object *o = json_object_new_object();
    if (mct_json_add_str(o, "command", cmd) < 0 ||
        mct_json_add_str(o, "participant", ref->participant_id) < 0 ||
        mct_json_add_str(o, "date", ref->session_date) < 0 ||
        mct_json_add_str(o, "result", op_result_word(ex)) < 0 ||
        mct_json_add_str(o, "error", r < 0 ? strerror(-r) : "") < 0 ||
        cli_json_add_op_result(o, res) < 0 || cli_json_print(o) < 0) {
        fprintf(stderr, "mctctl %s: out of memory\n", cmd);
        return EXIT_FAILED;
    }
    return ex;
}
