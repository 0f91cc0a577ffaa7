/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the libFuzzer targets. A target checks properties of
 * what the engine returns, not only that it did not crash: a broken
 * property is reported with FUZZ_ASSERT, which aborts, and libFuzzer saves
 * the input as a crash.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(expr)                                                                          \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #expr);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of data (embedded NULs stay; C string APIs stop at
 * the first). NULL only on allocation failure. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return NULL;
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/*
 * Split a NUL-terminated copy of the input in place at every sep, into at
 * most max fields (the last field keeps any further seps). Returns the
 * number of fields (at least 1).
 */
static inline size_t fuzz_split(char *s, char sep, char **fields, size_t max)
{
    size_t n = 0;
    fields[n++] = s;
    while (n < max) {
        char *p = strchr(fields[n - 1], sep);
        if (!p)
            break;
        *p = '\0';
        fields[n++] = p + 1;
    }
    return n;
}
