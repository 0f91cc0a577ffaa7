/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One logging module for the engine, mctctl and the mount: stderr when
 * interactive, syslog when the mount runs as a daemon. Messages carry the
 * errno they are about, as systemd's log_*_errno() do. A message is
 * escaped as text (escape.h) on its way out: whatever it quotes, one
 * message is one line, with no control character in it.
 */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "util.h"

/* Levels are syslog's: LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG. */
void mct_log_setup(const char *ident, bool to_syslog, int max_level);
/* Also append every message, with its time and pid, to path (created
 * 0640): a detached mctfs on a machine without syslog (--log-file). The
 * file stays open across a daemonize. 0 or -errno. */
int mct_log_open_file(const char *path);
int mct_log_get_max_level(void);

/* Logs fmt (and ": strerror(err)" when err != 0; err may be negative).
 * Returns -abs(err), so callers can write `return log_error_errno(r, ...)`. */
int mct_log_full(int level, int err, const char *fmt, ...) _printf_(3, 4);

#define log_debug(...)            mct_log_full(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)             mct_log_full(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)           mct_log_full(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...)          mct_log_full(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)            mct_log_full(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(e, ...) mct_log_full(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...)   mct_log_full(LOG_ERR, (e), __VA_ARGS__)
