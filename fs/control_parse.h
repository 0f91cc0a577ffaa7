/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What may be written to a session's .control: exactly one command word,
 * surrounding whitespace allowed (echo adds '\n'). Its own file, so the
 * fuzz target links only this.
 */
#pragma once

#include <stddef.h>

/* A write longer than this is not a command. */
#define CONTROL_MAX_WRITE 64

enum control_command {
    CMD_SYNC,
    CMD_VERIFY,
    CMD_DELETE,
    CMD_RECLAIM, /* the root's .control only */
    CMD_COUNT,
};

extern const char *const control_command_names[CMD_COUNT];

/* buf is exactly size bytes, not terminated (a FUSE write buffer). 0 and
 * *ret, or -EINVAL. */
int control_parse(const char *buf, size_t size, enum control_command *ret);
