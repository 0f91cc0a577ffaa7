/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl's commands share one context prepared by the dispatcher in
 * main.c, the way git's builtins do: the flags in the command table say
 * what a command needs (the config, a typed confirmation) and main.c
 * prepares it, so no command repeats the set-up.
 */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "rsync.h"
#include "session.h"
#include "util.h"

/* Exit codes of every command. */
enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1, /* refused, or the work failed */
    EXIT_USAGE = 2,  /* bad arguments or config */
};

struct mctctl_ctx {
    struct mct_config *cfg; /* loaded before the command runs (NEED_CONFIG) */
    bool json;              /* --json */
    bool color;             /* stdout is a tty, no NO_COLOR, no --no-color */
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
/* Print an op's lines to stdout and reasons to stderr, escaped. */
struct mct_op_result;
void cli_print_op_result(const struct mctctl_ctx *ctx, const struct mct_op_result *res);
