/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "control_parse.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

const char *const control_command_names[CMD_COUNT] = {
        [CMD_SYNC] = "SYNC",
        [CMD_VERIFY] = "VERIFY",
        [CMD_DELETE] = "DELETE",
        [CMD_RECLAIM] = "RECLAIM",
};

int control_parse(const char *buf, size_t size, enum control_command *ret)
{
    if (size == 0 || size > CONTROL_MAX_WRITE || memchr(buf, '\0', size))
        return -EINVAL;

    const char *start = buf, *end = buf + size;
    while (start < end && isspace((unsigned char)*start))
        start++;
    while (end > start && isspace((unsigned char)end[-1]))
        end--;

    for (size_t i = 0; i < CMD_COUNT; i++) {
        size_t n = strlen(control_command_names[i]);
        if ((size_t)(end - start) == n && memcmp(start, control_command_names[i], n) == 0) {
            *ret = (enum control_command)i;
            return 0;
        }
    }
    return -EINVAL;
}

int control_parse_write(const char *buf, size_t size, off_t off, bool root,
                        enum control_command *ret)
{
    enum control_command cmd;

    if (off != 0 || control_parse(buf, size, &cmd) < 0 || (cmd == CMD_RECLAIM) != root)
        return -EINVAL;
    *ret = cmd;
    return 0;
}

int control_write_result(int r, size_t size)
{
    if (r >= 0)
        return (int)size;
    if (r == -EBUSY || r == -EPERM || r == -ENOENT || r == -ENOMEM)
        return r;
    return -EIO;
}

const char *control_outcome(int r)
{
    if (r >= 0)
        return "ok";
    if (r == -EPERM)
        return "refused";
    if (r == -EBUSY)
        return "busy";
    return "failed";
}
