/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount's .control parser (fs/control_parse.c): whatever a process
 * writes is one of SYNC, VERIFY, DELETE, RECLAIM, or -EINVAL with nothing done;
 * RECLAIM only at the root, the others only in a session.
 *
 * The buffer is the fuzzer's own, exactly size bytes and not terminated,
 * as a FUSE write buffer is: ASan catches any read past it. An independent
 * oracle says what must be accepted.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "control_parse.h"

#include "fuzz.h"

static bool oracle_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* -1: not a command; else the command accepted. */
static int oracle(const uint8_t *data, size_t size)
{
    if (size == 0 || size > CONTROL_MAX_WRITE || memchr(data, '\0', size))
        return -1;
    size_t a = 0, b = size;
    while (a < b && oracle_space((char)data[a]))
        a++;
    while (b > a && oracle_space((char)data[b - 1]))
        b--;
    static const char *const words[] = {"SYNC", "VERIFY", "DELETE", "RECLAIM"};
    static const enum control_command cmds[] = {CMD_SYNC, CMD_VERIFY, CMD_DELETE, CMD_RECLAIM};
    for (size_t i = 0; i < 4; i++)
        if (b - a == strlen(words[i]) && memcmp(data + a, words[i], b - a) == 0)
            return (int)cmds[i];
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum control_command cmd = (enum control_command) - 1;
    int r = control_parse((const char *)data, size, &cmd);
    int want = oracle(data, size);

    if (want < 0) {
        FUZZ_ASSERT(r == -EINVAL);
    } else {
        FUZZ_ASSERT(r == 0);
        FUZZ_ASSERT((int)cmd == want);
        FUZZ_ASSERT(strcmp(control_command_names[cmd], want == CMD_SYNC     ? "SYNC"
                                                       : want == CMD_VERIFY ? "VERIFY"
                                                       : want == CMD_DELETE ? "DELETE"
                                                                            : "RECLAIM") == 0);
    }

    /* The root's .control takes RECLAIM only, a session's the others; a
     * write at any other offset than 0 is never a command. */
    for (int root = 0; root <= 1; root++) {
        enum control_command w = (enum control_command) - 1;
        bool fits = want >= 0 && (want == CMD_RECLAIM) == (bool)root;
        FUZZ_ASSERT(control_parse_write((const char *)data, size, 0, root, &w) ==
                    (fits ? 0 : -EINVAL));
        FUZZ_ASSERT(!fits || (int)w == want);
        FUZZ_ASSERT(control_parse_write((const char *)data, size, 1, root, &w) == -EINVAL);
    }
    return 0;
}
