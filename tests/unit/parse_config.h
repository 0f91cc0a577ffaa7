/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parsing a configuration from a string, for the tests of config.c and
 * config_yaml.c: parse_ok() returns it, parse_fails() checks the -EINVAL
 * and every fragment of the message (in err), which names NAME and a line.
 */
#pragma once

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define NAME "t.yaml"

static char err[1024];

static inline struct mct_config *parse_ok(const char *yaml)
{
    struct mct_config *cfg = NULL;
    err[0] = '\0';
    int r = mct_config_parse_string(NAME, yaml, &cfg, err, sizeof(err));
    ck_assert_msg(r == 0, "parse failed (%d): %s\n---\n%s", r, err, yaml);
    ck_assert_ptr_nonnull(cfg);
    return cfg;
}

/* Fails with -EINVAL and a message containing every given fragment. */
#define parse_fails(yaml, ...)                                                                     \
    do {                                                                                           \
        struct mct_config *_cfg = NULL;                                                            \
        err[0] = '\0';                                                                             \
        int _r = mct_config_parse_string(NAME, (yaml), &_cfg, err, sizeof(err));                   \
        ck_assert_msg(_r == -EINVAL, "expected -EINVAL, got %d (%s)\n---\n%s", _r, err, (yaml));   \
        ck_assert_ptr_null(_cfg);                                                                  \
        const char *_want[] = {__VA_ARGS__};                                                       \
        for (size_t _i = 0; _i < sizeof(_want) / sizeof(_want[0]); _i++)                           \
            ck_assert_msg(strstr(err, _want[_i]), "message '%s' lacks '%s'", err, _want[_i]);      \
    } while (0)

static const char dest_ok[] = "backup:\n"
                              "  destinations:\n"
                              "    - name: Share\n"
                              "      mount_point: /mnt/share\n"
                              "      base_path: /mnt/share/data\n";

/* No DJ_* or MCTFS_CONFIG from the caller's environment. */
static inline void clean_env(void)
{
    unsetenv("DJ_HOST");
    unsetenv("DJ_PORT");
    unsetenv("DJ_USER");
    unsetenv("DJ_PASS");
    unsetenv("MCTFS_CONFIG");
}
