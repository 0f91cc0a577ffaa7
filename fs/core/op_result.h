/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a command tells its user: the lines of what happened and the
 * reasons it failed or was refused, each logged as it is added, and the
 * session's status afterwards. mctctl prints it; the mount's .control
 * shows it.
 */
#pragma once

#include "util.h"

struct mct_session_status;

struct mct_op_result {
    char **lines;   /* strv: what happened, for the user (per destination, per file) */
    char **reasons; /* strv: why it failed or was refused */
    struct mct_session_status *status; /* the status afterwards (1 element), may be NULL */
};
void mct_op_result_free(struct mct_op_result *res);
/* Add a line for the user (and log it at info level). */
void mct_op_say(struct mct_op_result *res, const char *fmt, ...) _printf_(2, 3);
/* Add a reason (and log it as an error); returns err for `return mct_op_fail(...)`. */
int mct_op_fail(struct mct_op_result *res, int err, const char *fmt, ...) _printf_(3, 4);
