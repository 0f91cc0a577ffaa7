/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl's commands share one context prepared by the dispatcher in
 * main.c, the way git's builtins do: main.c parses the global options,
 * loads the configuration and drops root for every command before it
 * runs, so no command repeats the set-up. Each command parses its own
 * options and arguments (the helpers below) and asks for its own typed
 * confirmation where it deletes.
 */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "rsync.h"
#include "session.h"
#include "util.h"

/* Exit codes of every command: the table in mctctl(1), EXIT STATUS. A
 * monitor must tell "all fine" from "nothing could be checked", and a
 * script "retry later" from "never". */
enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,     /* the work failed: rsync, a copy that differs, no confirmation */
    EXIT_USAGE = 2,      /* bad arguments or config */
    EXIT_INCOMPLETE = 3, /* something could not be checked or reached: retry later */
    EXIT_REFUSED = 4,    /* refused as unsafe: a safety rule said no */
};

struct mctctl_ctx {
    struct mct_config *cfg; /* loaded by main.c before any command runs */
    bool json;              /* --json */
    bool color;             /* stdout is a tty, no NO_COLOR, no --no-color */
    bool ascii;             /* the locale is not UTF-8: ASCII marks, no ✓ ✗ */
    bool interactive;       /* stderr is a tty: live progress bars */
};

struct mctctl_command {
    const char *name;
    int (*fn)(int argc, char **argv, struct mctctl_ctx *ctx);
    const char *usage; /* one line: "sync P D [--dry-run]" */
    const char *help;  /* what it does, a paragraph */
};

/* The commands (one file each). argv[0] is the command name; the global
 * options (-c, --json, --no-color, --help) have been removed already. */
int cmd_sync(int argc, char **argv, struct mctctl_ctx *ctx);
int cmd_batch(int argc, char **argv, struct mctctl_ctx *ctx);
int cmd_status(int argc, char **argv, struct mctctl_ctx *ctx);
int cmd_status_range(int argc, char **argv, struct mctctl_ctx *ctx);
int cmd_verify(int argc, char **argv, struct mctctl_ctx *ctx);
int cmd_delete(int argc, char **argv, struct mctctl_ctx *ctx);
int cmd_bulk_delete(int argc, char **argv, struct mctctl_ctx *ctx);
int cmd_audit(int argc, char **argv, struct mctctl_ctx *ctx);
int cmd_reclaim(int argc, char **argv, struct mctctl_ctx *ctx);
int cmd_config(int argc, char **argv, struct mctctl_ctx *ctx);
int cmd_metrics(int argc, char **argv, struct mctctl_ctx *ctx);

/* --- helpers in cli.c --- */

/* Parse "P D" positionals into ref; prints a usage error naming the bad
 * value and returns -EINVAL. */
int cli_session_args(const char *cmd, const char *participant, const char *date,
                     struct mct_session_ref *ref);
/* A flag of a command: a long option without a value ("dry-run"), which
 * sets *set when given. Arrays of them end with {NULL}. */
struct cli_flag {
    const char *name;
    bool *set;
};
/* Parse flags (in any order among the positionals, which getopt moves
 * after them: optind is the first positional then). EXIT_OK, or
 * EXIT_USAGE for an unknown option (message printed). */
int cli_parse_flags(int argc, char **argv, const char *cmd, const struct cli_flag *flags);
/* The same, then exactly PARTICIPANT DATE into ref (the commands on one
 * session). */
int cli_parse_session(int argc, char **argv, const char *cmd, const struct cli_flag *flags,
                      struct mct_session_ref *ref);
/* Parse --start-date/--end-date values (validated YYYYMMDD); -EINVAL. */
int cli_date_arg(const char *cmd, const char *option, const char *value);
/* Parse the options of status-range and bulk-delete: --start-date D,
 * --end-date D (validated, start <= end), and --dry-run when dry_run is
 * not NULL. Returns EXIT_OK or EXIT_USAGE (message printed). */
int cli_parse_range(int argc, char **argv, const char *cmd, const char **start, const char **end,
                    bool *dry_run);
/* Print "mctctl CMD: message\nTry 'mctctl CMD --help'." to stderr, the
 * message escaped (it may quote an argument); returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) _printf_(2, 3);
/* Print the command's usage and help to stdout; returns EXIT_OK. */
int cli_command_help(const char *cmd);

/* Read one line from stdin and compare it with phrase exactly (trailing
 * newline stripped). Prompts on stderr. true when it matches. */
bool cli_confirm(const char *prompt, const char *phrase);

/* The worse of two exit codes: usage, failed, refused, incomplete, ok. */
int cli_exit_worst(int a, int b);
struct mct_session_status;
/* Print once each, on stderr, what could not be checked for the sessions
 * (policy.h, unknowns), with how many sessions it concerns. EXIT_OK, or
 * EXIT_INCOMPLETE when anything could not. */
int cli_report_unknowns(const char *cmd, const struct mct_session_status *st, size_t n);
/* After a search of the source (mct_discover_sessions_seen): name the
 * folders that look like sessions but are none, and when nothing was
 * found (n_found 0) what was looked for and what was there. EXIT_OK, or
 * EXIT_INCOMPLETE when folders were left out or none matched at all. */
struct mct_discovery;
int cli_report_discovery(const struct mctctl_ctx *ctx, const char *cmd,
                         const struct mct_discovery *seen, size_t n_found);

/* The report style (report.h) for stdout: colour, ASCII marks. */
unsigned cli_style(const struct mctctl_ctx *ctx);
/* "✓" and "✗", or "OK" and "x" when the locale is not UTF-8. */
const char *cli_ok(const struct mctctl_ctx *ctx);
const char *cli_bad(const struct mctctl_ctx *ctx);

/* Colour helpers: return "" when !ctx->color. */
const char *cli_green(const struct mctctl_ctx *ctx);
const char *cli_red(const struct mctctl_ctx *ctx);
const char *cli_yellow(const struct mctctl_ctx *ctx);
const char *cli_bold(const struct mctctl_ctx *ctx);
const char *cli_reset(const struct mctctl_ctx *ctx);

/* A progress callback (mct_progress_fn) for engine operations: a live bar
 * on a terminal (stderr), a plain line per 10% otherwise. ud = ctx. */
void cli_progress(void *ud, const char *phase, int percent, const char *detail);
/* Print s escaped as text (escape.h): what the engine says quotes file
 * names, and a name must not colour the terminal, move its cursor or add
 * a line. Every string from the engine or the user goes out through it;
 * mctctl's own words and colours do not. */
void cli_put(FILE *f, const char *s);
/* Add the sessions that have an interrupted deletion in the trash, dated
 * within [start, end] (either may be NULL) and selected by the prefix
 * filter, to refs (malloc'd, *n long), once each, sorted: their folder may
 * be gone, and status must still show them. *pending (may be NULL) gets
 * how many sessions the trash holds, whether already listed or not. */
int cli_add_trash_sessions(const struct mct_config *cfg, const char *start, const char *end,
                           struct mct_session_ref **refs, size_t *n, size_t *pending);
/* The exit code of a deletion the engine returned r for: EXIT_OK,
 * EXIT_REFUSED (a safety rule said no), EXIT_INCOMPLETE (only what could
 * not be checked stood in the way: retry later), EXIT_FAILED. */
struct mct_op_result;
int cli_delete_exit(int r, const struct mct_op_result *res);
/* The exit code of a sync, verify or audit the engine returned r for:
 * a share that did not answer is EXIT_INCOMPLETE, an unsafe copy
 * EXIT_REFUSED, anything else that failed EXIT_FAILED. */
int cli_op_exit(int r);
/* The last keys of an op's JSON object: "lines", "reasons", "errors"
 * (what could not be checked, from res->status). 0 or -ENOMEM. */
struct json_object;
int cli_json_add_op_result(struct json_object *o, const struct mct_op_result *res);
/* o as a document on stdout, newline-terminated; 0, or -ENOMEM and
 * nothing printed. */
int cli_json_print(struct json_object *o);
/* --json of sync, verify and audit: one object on stdout with the
 * command, the session, "result" (ok, failed, refused, incomplete), the
 * lines, the reasons and what could not be checked ("errors"). Returns
 * cli_op_exit(r). */
int cli_print_op_json(const char *cmd, const struct mct_session_ref *ref, int r,
                      const struct mct_op_result *res);
/* Print an op's lines to stdout and reasons to stderr, escaped. */
void cli_print_op_result(const struct mctctl_ctx *ctx, const struct mct_op_result *res);
/* How sync, verify and audit end: the --json object, or the op's lines
 * and reasons then "WHAT of P D failed." on stderr or "✓ DONE" on
 * stdout. Frees res; returns the exit code. */
int cli_finish_op(const struct mctctl_ctx *ctx, const char *cmd, const char *what,
                  const struct mct_session_ref *ref, int r, struct mct_op_result *res,
                  const char *done);
