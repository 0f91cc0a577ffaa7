/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rsync-style exclude patterns against paths. The first byte says whether
 * the path is a folder; the rest is split at '\n' into up to 8 patterns and,
 * last, the relative path. Excludes decide what verification counts and
 * what deletion may leave behind, so besides not crashing:
 *  - a list matches exactly when one of its patterns alone matches;
 *  - an excluded folder excludes everything under it;
 *  - no pattern list matches nothing, and the empty path never matches.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "scan.h"

#define MAX_PATTERNS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Patterns and paths in real configs are short; long inputs only
     * make every execution slower. */
    if (size < 1 || size > 1024)
        return 0;
    bool is_dir = data[0] & 1;
    char *s = fuzz_strndup(data + 1, size - 1);
    if (!s)
        return 0;

    char *f[MAX_PATTERNS + 1];
    size_t n = fuzz_split(s, '\n', f, MAX_PATTERNS + 1);
    const char *relpath = f[n - 1];
    char *patterns[MAX_PATTERNS + 1] = {NULL};
    for (size_t i = 0; i + 1 < n; i++)
        patterns[i] = f[i];

    bool m = mct_exclude_match(patterns, relpath, is_dir);

    bool any = false;
    for (size_t i = 0; i + 1 < n; i++) {
        char *one[2] = {patterns[i], NULL};
        any = any || mct_exclude_match(one, relpath, is_dir);
    }
    FUZZ_ASSERT(m == any);

    /* A plain name (no wildcard, no '/') matches a path whose last
     * component is that name, at any depth. */
    const char *base = strrchr(relpath, '/');
    base = base ? base + 1 : relpath;
    for (size_t i = 0; i + 1 < n; i++)
        if (patterns[i][0] && !strpbrk(patterns[i], "*?[\\/") && strcmp(patterns[i], base) == 0)
            FUZZ_ASSERT(m);

    char *none[1] = {NULL};
    FUZZ_ASSERT(!mct_exclude_match(none, relpath, is_dir));
    FUZZ_ASSERT(!mct_exclude_match(NULL, relpath, is_dir));
    FUZZ_ASSERT(!mct_exclude_match(patterns, "", is_dir));

    /* What lies under an excluded folder is excluded too (for plain
     * relative paths: no leading, trailing or doubled '/'). */
    size_t len = strlen(relpath);
    if (m && is_dir && len > 0 && len < 1000 && relpath[0] != '/' && relpath[len - 1] != '/' &&
        !strstr(relpath, "//")) {
        char child[1100];
        snprintf(child, sizeof(child), "%s/x.mp4", relpath);
        FUZZ_ASSERT(mct_exclude_match(patterns, child, false));
        snprintf(child, sizeof(child), "%s/sub/y", relpath);
        FUZZ_ASSERT(mct_exclude_match(patterns, child, true));
    }

    free(s);
    return 0;
}
