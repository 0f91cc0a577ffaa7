/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl: the command-line face of the mctfs engine. One table of
 * commands, as git.c has; global options may stand before the command
 * (-c, --json, --no-color) and the output ones after it too.
 */
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "datajoint.h"
#include "mctctl.h"
#include "privilege.h"

static const struct mctctl_command commands[] = {
        {"sync", cmd_sync, "sync PARTICIPANT DATE [--dry-run]",
         "Copy one session to every enabled destination with rsync, then verify the copy file by "
         "file (sizes). Refuses to copy into a share that is not mounted."},
        {"batch", cmd_batch, "batch [START_DATE [END_DATE]] [--dry-run]",
         "Sync every session folder on local disk that is not yet verified, whatever its age, with "
         "a recordings.db row or not (one without is flagged); with dates, only those days, and "
         "the recording database's sessions of them too. Prints [i/N] progress and a summary; "
         "exit 1 if a sync failed, 3 if a share could not be reached."},
        {"status", cmd_status, "status PARTICIPANT DATE | status DATE",
         "The full report of one session (or of every participant that day): DataJoint checks, "
         "source, each destination, and whether it is safe to delete, with every reason if not."},
        {"status-range", cmd_status_range, "status-range [--start-date DATE] [--end-date DATE]",
         "A table of every session on local disk: Date, Participant, Videos, DJ, Backup, Verified, "
         "Safe, each a mark for yes, no or ? unknown. What could not be checked is said "
         "on stderr and exits 3; so do folders that look like sessions but are none."},
        {"verify", cmd_verify, "verify PARTICIPANT DATE [--checksum]",
         "Compare every file of the session with every enabled destination's copy and list each "
         "missing, extra or size-mismatched file; with --checksum (or verify_method: checksum) "
         "also hash both sides (XXH3-128), name each file whose content differs and write the "
         "manifest for audit. Exit 1 if any file is missing or differs."},
        {"delete", cmd_delete,
         "delete PARTICIPANT DATE [--dry-run] [--force-unverified] [--include-unmanaged]",
         "Delete the local copy of a session after re-checking DataJoint and every backup; asks "
         "for DELETE typed on standard input. Exit 4 when a safety rule refused it (every refusal "
         "is logged), 3 when only what could not be checked stood in the way. A participant "
         "outside backup.filters.participant_prefixes is refused unless --include-unmanaged."},
        {"bulk-delete", cmd_bulk_delete,
         "bulk-delete [--start-date DATE] [--end-date DATE] [--dry-run]",
         "Delete every session in the range that is safe to delete; asks for DELETE ALL typed on "
         "standard input. With --json the progress goes to stderr and stdout gets one JSON "
         "document: each session's result (deleted, would-delete, refused, error, "
         "skipped-not-safe, not-confirmed) with its reasons, and the counts."},
        {"audit", cmd_audit, "audit PARTICIPANT DATE",
         "Re-hash the copy on every enabled destination and compare it with the manifest that "
         "verify --checksum wrote (works after the local session was deleted). Exit 1 if any "
         "file is missing or differs, naming it; files in the copy that the manifest does not "
         "list are named as a warning."},
        {"reclaim", cmd_reclaim, "reclaim [--dry-run] [--if-enabled]",
         "When the source filesystem has less free space than deletion.reclaim.keep_free, delete "
         "the oldest sessions that are safe to delete (never one recorded within "
         "deletion.reclaim.keep_recent_days) until it has not, each through the verified "
         "deletion. No prompt: deletion.reclaim.enabled is the consent, and without it only "
         "--dry-run runs (--if-enabled: then it does nothing and exits 0). Says what it deleted "
         "and freed, why the target cannot be met when it "
         "cannot, and when the disk fills at the recent recording rate. Exit 1 when the target "
         "is not met."},
        {"config", cmd_config, "config",
         "Print the effective configuration: every key with its value and where it came from "
         "(the file and line, a DJ_* variable, datajoint.config_file, or the default). The "
         "DataJoint password is shown as ********."},
        {"metrics", cmd_metrics, "metrics [--textfile DIR | --if-configured] [--record JOB=STATUS]",
         "The rig's Prometheus metrics (sessions and bytes by state, the oldest session not safe, "
         "free space and the forecast, each share's and DataJoint's health, the last sync, verify, "
         "batch, reclaim and deletion, deletions and refusals) on standard output, or written "
         "atomically into DIR/mctfs.prom for node_exporter's textfile collector (--if-configured: "
         "into metrics.textfile_dir when set, else nothing). --record batch=EXIT_STATUS first "
         "records how a job ended (the nightly timer's)."},
};

static const struct mctctl_command *find_command(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (streq(commands[i].name, name))
            return &commands[i];
    return NULL;
}

int cli_command_help(const char *name)
{
    const struct mctctl_command *c = find_command(name);
    if (!c)
        return EXIT_USAGE;
    printf("usage: mctctl [-c CONFIG] [--json] [--no-color] %s\n\n%s\n", c->usage, c->help);
    printf("\nDates are YYYYMMDD. Exit status: 0 success, 1 failed, 2 usage or configuration "
           "error,\n3 incomplete (a database or share could not be checked), 4 refused as unsafe "
           "(mctctl(1)).\n");
    return EXIT_OK;
}

static void main_help(FILE *f)
{
    fprintf(f, "usage: mctctl [-c CONFIG] [--json] [--no-color] COMMAND [ARGS]\n\n"
               "Back up, verify and safely delete motion-capture sessions.\n\nCommands:\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(f, "  %s\n", commands[i].usage);
    fprintf(f,
            "\nOptions:\n"
            "  -c, --config FILE  configuration (default: $MCTFS_CONFIG, ./backup_config.yaml,\n"
            "                     %s)\n"
            "  --json             machine-readable output (every command)\n"
            "  --no-color         no colour (also NO_COLOR=1, or when not a terminal)\n"
            "  -v, --verbose      more log output (-vv: debug)\n"
            "  --allow-root       run as root when service.user is not set (not advised:\n"
            "                     see mctctl(1))\n"
            "  -h, --help         this help; 'mctctl COMMAND --help' for a command\n"
            "  --version          print the version\n",
            MCT_DEFAULT_CONFIG);
}

struct global_opts {
    const char *config;
    bool json, no_color, help, version, allow_root;
    int verbose;
};

/* Remove the output options and --allow-root wherever they stand (before
 * "--"), so commands see only their own arguments. */
static int strip_output_options(int *argc, char **argv, struct global_opts *g)
{
    int w = 1;
    bool rest = false;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!rest && streq(a, "--"))
            rest = true;
        if (!rest && streq(a, "--json"))
            g->json = true;
        else if (!rest && (streq(a, "--no-color") || streq(a, "--no-colour")))
            g->no_color = true;
        else if (!rest && (streq(a, "--help") || streq(a, "-h")))
            g->help = true;
        else if (!rest && streq(a, "--allow-root"))
            g->allow_root = true;
        else
            argv[w++] = argv[i];
    }
    *argc = w;
    argv[w] = NULL;
    return 0;
}

/* Options before the command: -c FILE, -v, --version. Returns the index of
 * the command name, or -1 after printing a usage error. */
static int parse_leading_options(int argc, char **argv, struct global_opts *g)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (streq(a, "-c") || streq(a, "--config")) {
            if (++i >= argc) {
                fprintf(stderr, "mctctl: %s needs a file name\n", a);
                return -1;
            }
            g->config = argv[i];
        } else if (startswith(a, "--config=")) {
            g->config = a + strlen("--config=");
        } else if (streq(a, "--verbose")) {
            g->verbose++;
        } else if (a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
            g->verbose += (int)strlen(a + 1); /* -v, -vv, -vvv */
        } else if (streq(a, "--version")) {
            g->version = true;
        } else {
            fputs("mctctl: unknown option '", stderr);
            cli_put(stderr, a);
            fputs("'\nTry 'mctctl --help'.\n", stderr);
            return -1;
        }
    }
    return i;
}

/* The locale's character set as setlocale(3) would pick it (LC_ALL, then
 * LC_CTYPE, then LANG), without switching the process's locale: ✓ and ✗
 * only where the terminal shows UTF-8. */
static bool locale_is_utf8(void)
{
    const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (size_t i = 0; i < ARRAY_SIZE(vars); i++) {
        const char *v = getenv(vars[i]);
        if (strempty(v))
            continue;
        return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
    }
    return false;
}

/* The message quotes the file's name and what is wrong in it. */
static void config_error(const char *err, int r)
{
    fputs("mctctl: ", stderr);
    cli_put(stderr, err[0] ? err : strerror(-r));
    fputc('\n', stderr);
}

/* The config and its password file are read as whoever started us (root
 * included); then, when that is root, we become service.user for good,
 * before any command touches /data, a share or a database. */
static int load_config(const char *explicit_path, bool allow_root, struct mct_config **ret)
{
    char err[2048] = "";
    _cleanup_config_ struct mct_config *cfg = NULL;
    int r = mct_config_find_load(explicit_path, &cfg, err, sizeof(err));
    if (r >= 0)
        r = mct_privilege_drop(cfg, allow_root, "mctctl", err, sizeof(err));
    if (r < 0) {
        config_error(err, r);
        return r;
    }
    *ret = TAKE_PTR(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    /* Progress goes to stderr unbuffered; keep stdout in step with it. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct global_opts g = {0};
    strip_output_options(&argc, argv, &g);
    int cmd_index = parse_leading_options(argc, argv, &g);
    if (cmd_index < 0)
        return EXIT_USAGE;
    if (g.version) {
        printf("mctctl %s\n", MCT_VERSION);
        return EXIT_OK;
    }
    if (cmd_index >= argc) {
        main_help(g.help ? stdout : stderr);
        return g.help ? EXIT_OK : EXIT_USAGE;
    }
    const struct mctctl_command *cmd = find_command(argv[cmd_index]);
    if (!cmd) {
        fputs("mctctl: '", stderr);
        cli_put(stderr, argv[cmd_index]);
        fputs("' is not a command. See 'mctctl --help'.\n", stderr);
        return EXIT_USAGE;
    }
    if (g.help)
        return cli_command_help(cmd->name);

    mct_log_setup("mctctl", false, g.verbose >= 2 ? LOG_DEBUG : g.verbose ? LOG_INFO : LOG_WARNING);

    struct mctctl_ctx ctx = {
            .json = g.json,
            .color = !g.no_color && !getenv("NO_COLOR") && isatty(STDOUT_FILENO),
            .ascii = !locale_is_utf8(),
            .interactive = isatty(STDERR_FILENO),
    };
    (void)mct_raise_nofile();
    if (load_config(g.config, g.allow_root, &ctx.cfg) < 0)
        return EXIT_USAGE;

    int r = cmd->fn(argc - cmd_index, argv + cmd_index, &ctx);
    mct_config_free(ctx.cfg);
    /* A DataJoint check given up on may still be inside the client
     * library: the exit's destructors (the library's own) must not pull
     * it from under that thread. */
    if (mct_dj_checks_running()) {
        fflush(NULL);
        _exit(r);
    }
    return r;
}
