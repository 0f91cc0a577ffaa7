/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "op_result.h"

#include <stdarg.h>

#include "log.h"
#include "status.h"

void mct_op_result_free(struct mct_op_result *res)
{
    if (!res)
        return;
    mct_strv_free(res->lines);
    mct_strv_free(res->reasons);
    if (res->status)
        mct_session_status_free_array(res->status, 1);
    res->lines = res->reasons = NULL;
    res->status = NULL;
}

/* Format, log at level, and push onto *v. */
static void add(char ***v, int level, const char *fmt, va_list ap)
{
    _cleanup_buf_ struct mct_buf b = {0};
    if (mct_buf_vprintf(&b, fmt, ap) < 0)
        return;
    mct_log_full(level, 0, "%s", b.data);
    (void)mct_strv_push(v, mct_buf_steal(&b));
}

void mct_op_say(struct mct_op_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(&res->lines, LOG_INFO, fmt, ap);
    va_end(ap);
}

int mct_op_fail(struct mct_op_result *res, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(&res->reasons, LOG_ERR, fmt, ap);
    va_end(ap);
    return err;
}
