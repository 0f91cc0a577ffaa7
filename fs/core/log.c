/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"

static const char *log_ident = "mctfs";
static bool log_to_syslog;
static int log_max_level = LOG_NOTICE;
static int log_file_fd = -1;

int mct_log_open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0)
        return -errno;
    if (log_file_fd >= 0)
        close(log_file_fd);
    log_file_fd = fd;
    return 0;
}

/* One write per message: lines from threads never interleave. */
static void log_to_file(int level, const char *msg, int e)
{
    char when[40];
    struct tm tm;
    time_t now = time(NULL);
    localtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", &tm);
    const char *prefix = level <= LOG_ERR ? "error: " : level == LOG_WARNING ? "warning: " : "";
    char line[8192 + 512];
    int n = snprintf(line, sizeof(line), "%s %s[%d]: %s%s%s%s\n", when, log_ident, (int)getpid(),
                     prefix, msg, e ? ": " : "", e ? strerror(e) : "");
    if (n > 0)
        (void)!write(log_file_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

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

    if (log_file_fd >= 0)
        log_to_file(level, msg, e);
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
