/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hash cache (fs/core/hashcache.c): an entry is fresh only while the
 * file's size, mtime, ctime and inode are those it was hashed with; a
 * cache others could write, of another format or with broken lines is
 * read as empty, never trusted; any file name round-trips.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "checksum.h"
#include "fake_config.h"
#include "hashcache.h"
#include "tmpdir.h"
#include "unit.h"
#include "util.h"

static struct mct_file stat_of(const char *path)
{
    struct stat s;
    ck_assert_int_eq(lstat(path, &s), 0);
    return (struct mct_file){.size = (uint64_t)s.st_size,
                             .mtime = s.st_mtim,
                             .ctime = s.st_ctim,
                             .ino = s.st_ino,
                             .mode = s.st_mode & S_IFMT};
}

START_TEST(a_cached_hash_is_used_only_while_size_mtime_ctime_and_inode_stay)
{
    _cleanup_config_ struct mct_config *cfg = fake_config_cached();
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", NULL, 0), 0);
    tmp_write("f", "hello", 5);
    _cleanup_free_ char *p = tmp_path("f");
    struct mct_file st = stat_of(p);
    struct mct_hash h, got;
    mct_hash_buffer("hello", 5, &h);

    struct mct_hashcache *c = NULL;
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(!mct_hashcache_lookup(c, p, &st, &got));
    ck_assert_int_eq(mct_hashcache_store(c, p, &st, &h), 0);
    ck_assert_int_eq(mct_hashcache_save(c), 0);
    mct_hashcache_free(c);

    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(mct_hashcache_lookup(c, p, &st, &got));
    ck_assert(mct_hash_eq(&h, &got));
    /* Each part of the key on its own makes the entry stale. */
    struct mct_file t = st;
    t.size++;
    ck_assert(!mct_hashcache_lookup(c, p, &t, &got));
    t = st;
    t.mtime.tv_nsec ^= 1;
    ck_assert(!mct_hashcache_lookup(c, p, &t, &got));
    t = st;
    t.ctime.tv_sec++;
    ck_assert(!mct_hashcache_lookup(c, p, &t, &got));
    t = st;
    t.ino++;
    ck_assert(!mct_hashcache_lookup(c, p, &t, &got));
    _cleanup_free_ char *other = tmp_path("g");
    ck_assert(!mct_hashcache_lookup(c, other, &st, &got));
    mct_hashcache_free(c);

    /* A rewrite with the old mtime put back still moves the ctime. */
    struct timespec ts[2] = {st.mtime, st.mtime};
    struct timespec pause = {.tv_nsec = 20 * 1000000};
    nanosleep(&pause, NULL);
    tmp_write("f", "HELLO", 5);
    ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
    struct mct_file now = stat_of(p);
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(!mct_hashcache_lookup(c, p, &now, &got));
    mct_hashcache_free(c);
}
END_TEST

START_TEST(an_untrusted_or_foreign_cache_is_ignored_and_its_bad_lines_skipped)
{
    _cleanup_config_ struct mct_config *cfg = fake_config_cached();
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", NULL, 0), 0);
    tmp_write("f", "hello", 5);
    _cleanup_free_ char *p = tmp_path("f");
    struct mct_file st = stat_of(p);
    struct mct_hash h, got;
    mct_hash_buffer("hello", 5, &h);
    struct mct_hashcache *c = NULL;
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert_int_eq(mct_hashcache_store(c, p, &st, &h), 0);
    ck_assert_int_eq(mct_hashcache_save(c), 0);
    mct_hashcache_free(c);
    _cleanup_free_ char *file = mct_hashcache_path(cfg, &ref);

    /* Writable by others: someone could have made a copy look verified. */
    ck_assert_int_eq(chmod(file, 0666), 0);
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(!mct_hashcache_lookup(c, p, &st, &got));
    mct_hashcache_free(c);
    ck_assert_int_eq(chmod(file, 0600), 0);

    /* Garbage lines are skipped, good ones still count. */
    _cleanup_free_ char *text = NULL;
    ck_assert_int_eq(mct_read_file(file, 1 << 20, &text), 0);
    _cleanup_free_ char *bad = mct_strdup_printf("%szz not a line\n1234 5\n", text);
    FILE *f = fopen(file, "w");
    fputs(bad, f);
    fclose(f);
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(mct_hashcache_lookup(c, p, &st, &got));
    mct_hashcache_free(c);

    /* Wrong header: all of it ignored. */
    f = fopen(file, "w");
    fputs("something else\n", f);
    fputs(text + strcspn(text, "\n") + 1, f);
    fclose(f);
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(!mct_hashcache_lookup(c, p, &st, &got));
    mct_hashcache_free(c);

    /* Deleted: still works, empty. Unwritable (a file where the folder
     * should be): save fails, nothing else does. */
    ck_assert_int_eq(unlink(file), 0);
    _cleanup_free_ char *cdir = tmp_path("cache");
    _cleanup_free_ char *cmd = mct_strdup_printf("rm -rf '%s' && touch '%s'", cdir, cdir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(!mct_hashcache_lookup(c, p, &st, &got));
    ck_assert_int_eq(mct_hashcache_store(c, p, &st, &h), 0);
    ck_assert(mct_hashcache_lookup(c, p, &st, &got));
    ck_assert_int_lt(mct_hashcache_save(c), 0);
    mct_hashcache_free(c);
}
END_TEST

/* Any name a user can give a file has its entry: a newline, a tab, a
 * backslash (and a backslash before an 'n', which must stay apart from
 * the newline), bytes that are not UTF-8. */
START_TEST(any_file_name_has_one_line_in_the_cache_and_an_old_format_is_rebuilt)
{
    _cleanup_config_ struct mct_config *cfg = fake_config_cached();
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", NULL, 0), 0);
    static const char *const names[] = {"a\nyes\noutcome: ok", "a\\nyes\\noutcome: ok",
                                        "tab\there",           "\xff\xfe",
                                        "back\\slash",         "cr\r",
                                        "esc\x1b[31m",         "plain"};
    char *paths[ARRAY_SIZE(names)];
    struct mct_file st[ARRAY_SIZE(names)];
    struct mct_hash h[ARRAY_SIZE(names)], got;
    struct mct_hashcache *c = NULL;
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        tmp_write(names[i], names[i], strlen(names[i]));
        paths[i] = tmp_path(names[i]);
        st[i] = stat_of(paths[i]);
        mct_hash_buffer(names[i], strlen(names[i]), &h[i]);
        ck_assert_int_eq(mct_hashcache_store(c, paths[i], &st[i], &h[i]), 0);
    }
    ck_assert_int_eq(mct_hashcache_save(c), 0);
    mct_hashcache_free(c);

    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        ck_assert_msg(mct_hashcache_lookup(c, paths[i], &st[i], &got), "no entry for %zu", i);
        ck_assert(mct_hash_eq(&h[i], &got));
    }
    mct_hashcache_free(c);

    /* One line per entry, whatever the names hold. */
    _cleanup_free_ char *file = mct_hashcache_path(cfg, &ref);
    _cleanup_free_ char *text = NULL;
    ck_assert_int_eq(mct_read_file(file, 1 << 20, &text), 0);
    size_t lines = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        lines++;
    ck_assert_uint_eq(lines, 1 + ARRAY_SIZE(names));
    ck_assert(startswith(text, "mctfs-hashcache 2\n"));

    /* A cache of the first format (paths raw) is not read: rebuilt. */
    text[strlen("mctfs-hashcache ")] = '1';
    FILE *f = fopen(file, "w");
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(!mct_hashcache_lookup(c, paths[ARRAY_SIZE(names) - 1], &st[ARRAY_SIZE(names) - 1],
                                    &got));
    mct_hashcache_free(c);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        free(paths[i]);
}
END_TEST

static Suite *hashcache_suite(void)
{
    Suite *s = suite_create("hashcache");
    TCase *tc = tcase_create("hashcache");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, a_cached_hash_is_used_only_while_size_mtime_ctime_and_inode_stay);
    tcase_add_test(tc, an_untrusted_or_foreign_cache_is_ignored_and_its_bad_lines_skipped);
    tcase_add_test(tc, any_file_name_has_one_line_in_the_cache_and_an_old_format_is_rebuilt);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(hashcache_suite());
}
