/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>

#include "escape.h"

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

    char raw[2048], msg[4 * sizeof(raw)];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    /* Messages name files, and a file name may hold a newline or an ESC:
     * escaped, one message stays one line and forges none. No malloc, so
     * that logging works when memory is short. */
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1;
    mct_esc_text_fixed(msg, sizeof(msg), raw, len);

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
