/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Strict UTF-8 (RFC 3629's table of well-formed sequences), written apart
 * from escape.c's own reader so that the tests of escape.c (test_escape,
 * fuzz_escape) check its output against an independent oracle.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

static inline bool utf8_oracle_valid(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len = c < 0x80                 ? 1
                     : c >= 0xc2 && c <= 0xdf ? 2
                     : c >= 0xe0 && c <= 0xef ? 3
                     : c >= 0xf0 && c <= 0xf4 ? 4
                                              : 0;
        if (len == 0 || i + len > n)
            return false;
        unsigned b1 = len > 1 ? p[i + 1] : 0x80;
        if ((c == 0xe0 && b1 < 0xa0) || (c == 0xed && b1 > 0x9f) || (c == 0xf0 && b1 < 0x90) ||
            (c == 0xf4 && b1 > 0x8f))
            return false;
        for (size_t k = 1; k < len; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
        i += len;
    }
    return true;
}
