/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What may be written to a .control, and what the write returns: exactly
 * one command word, surrounding whitespace allowed (echo adds '\n'); the
 * engine's answer mapped to the errnos mctfs(8) names. Pure, in a file of
 * its own, so the fuzz target and the unit test link only this.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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

/* A write of size bytes at off to a .control (root: the root's, which
 * takes RECLAIM only; a session's takes the others): 0 and *ret, or
 * -EINVAL when it is not one command written at offset 0 for this file. */
int control_parse_write(const char *buf, size_t size, off_t off, bool root,
                        enum control_command *ret);

/* What write(2) returns once the command ran and the engine answered r:
 * size on success; -EPERM (a safety rule), -EBUSY, -ENOENT and -ENOMEM as
 * they are; any other failure -EIO (the message says why). */
int control_write_result(int r, size_t size);

/* The outcome word of .control and the log: "ok", "refused" (-EPERM),
 * "busy" (-EBUSY) or "failed". */
const char *control_outcome(int r);
