/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>

static const char *log_ident = "mctfs";
static bool log_to_syslog;
static int log_max_level = LOG_NOTICE;

void mct_log_setup(const char *ident, bool to_syslog, int max_level)
{
    log_ident = ident;
    log_to_syslog = to_syslog;
    log_max_level = max_level;
    if (to_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int mct_log_get_max_level(void)
{
    return log_max_level;
}

int mct_log_full(int level, int err, const char *fmt, ...)
{
    int e = err < 0 ? -err : err;
    if (level > log_max_level)
        return -e;

    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (log_to_syslog) {
        if (e)
            syslog(level, "%s: %s", msg, strerror(e));
        else
            syslog(level, "%s", msg);
    } else {
        /* One fprintf per message so lines from threads do not interleave. */
        const char *prefix = level <= LOG_ERR ? "error: " : level == LOG_WARNING ? "warning: " : "";
        if (e)
            fprintf(stderr, "%s: %s%s: %s\n", log_ident, prefix, msg, strerror(e));
        else
            fprintf(stderr, "%s: %s%s\n", log_ident, prefix, msg);
    }
    return -e;
}
