/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hashing (fs/core/checksum.c): XXH3-128 in xxhsum's format, of files
 * large and small, of symlinks, and hashes parsed back.
 */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "checksum.h"
#include "tmpdir.h"
#include "unit.h"
#include "util.h"

static void add_bytes(void *ud, uint64_t n)
{
    *(uint64_t *)ud += n;
}

START_TEST(a_files_hash_is_xxh128_as_xxhsum_h2_prints_it)
{
    /* `echo hi | xxhsum -H2` prints f4d0497cf9394caab34d1a3ab2bece70. */
    tmp_write("hi", "hi\n", 3);
    struct mct_hash h;
    struct mct_file st = {0};
    uint64_t n = 0;
    _cleanup_free_ char *p = tmp_path("hi");
    ck_assert_int_eq(mct_hash_path(AT_FDCWD, p, false, add_bytes, &n, &h, &st), 0);
    char hex[MCT_HASH_HEX_LEN + 1];
    mct_hash_hex(&h, hex);
    ck_assert_str_eq(hex, "f4d0497cf9394caab34d1a3ab2bece70");
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(st.size, 3);
    struct stat s;
    ck_assert_int_eq(stat(p, &s), 0);
    ck_assert_uint_eq(st.ino, s.st_ino);
    ck_assert_int_eq(st.ctime.tv_nsec, s.st_ctim.tv_nsec);
}
END_TEST

START_TEST(a_hash_parses_from_32_hex_digits_of_either_case_and_nothing_else)
{
    struct mct_hash h, g;
    ck_assert_int_eq(mct_hash_parse("F4D0497CF9394CAAB34D1A3AB2BECE70", &h), 0);
    char hex[MCT_HASH_HEX_LEN + 1];
    mct_hash_hex(&h, hex);
    ck_assert_str_eq(hex, "f4d0497cf9394caab34d1a3ab2bece70");
    ck_assert_int_eq(mct_hash_parse("f4d0497cf9394caab34d1a3ab2bece70  x", &g), 0);
    ck_assert(mct_hash_eq(&h, &g));
    ck_assert_int_eq(mct_hash_parse("f4d0497cf9394caab34d1a3ab2bece7", &g), -EINVAL);
    ck_assert_int_eq(mct_hash_parse("f4d0497cf9394caab34d1a3ab2bece700", &g), -EINVAL);
    ck_assert_int_eq(mct_hash_parse("g4d0497cf9394caab34d1a3ab2bece70", &g), -EINVAL);
}
END_TEST

START_TEST(a_large_file_hashes_as_its_bytes_and_a_flipped_bit_changes_it)
{
    /* 3.5 MiB: several buffers and a partial last one. */
    size_t n = (7u << 20) / 2;
    _cleanup_free_ unsigned char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 2654435761u >> 13);
    tmp_write("big", data, n);
    struct mct_hash a, b, whole;
    struct mct_file st = {0};
    uint64_t done = 0;
    _cleanup_free_ char *p = tmp_path("big");
    ck_assert_int_eq(mct_hash_path(AT_FDCWD, p, true, add_bytes, &done, &a, &st), 0);
    ck_assert_uint_eq(done, n);
    mct_hash_buffer(data, n, &whole);
    ck_assert(mct_hash_eq(&a, &whole));
    data[n / 2] ^= 1;
    tmp_write("big", data, n);
    ck_assert_int_eq(mct_hash_path(AT_FDCWD, p, false, NULL, NULL, &b, &st), 0);
    ck_assert(!mct_hash_eq(&a, &b));
    ck_assert_uint_eq(st.size, n);
}
END_TEST

START_TEST(a_symlink_hashes_as_its_target_path_and_a_folder_or_missing_file_fails)
{
    _cleanup_free_ char *l = tmp_path("link");
    ck_assert_int_eq(symlink("target/file", l), 0);
    struct mct_hash h, want;
    struct mct_file st = {0};
    ck_assert_int_eq(mct_hash_path(AT_FDCWD, l, false, NULL, NULL, &h, &st), 0);
    mct_hash_buffer("target/file", strlen("target/file"), &want);
    ck_assert(mct_hash_eq(&h, &want));
    ck_assert_uint_eq(st.mode, S_IFLNK);
    _cleanup_free_ char *none = tmp_path("none");
    ck_assert_int_eq(mct_hash_path(AT_FDCWD, none, false, NULL, NULL, &h, &st), -ENOENT);
    ck_assert_int_eq(mct_hash_path(AT_FDCWD, tmp_dir, false, NULL, NULL, &h, &st), -EINVAL);
}
END_TEST

static Suite *checksum_suite(void)
{
    Suite *s = suite_create("checksum");
    TCase *tc = tcase_create("checksum");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, a_files_hash_is_xxh128_as_xxhsum_h2_prints_it);
    tcase_add_test(tc, a_hash_parses_from_32_hex_digits_of_either_case_and_nothing_else);
    tcase_add_test(tc, a_large_file_hashes_as_its_bytes_and_a_flipped_bit_changes_it);
    tcase_add_test(tc, a_symlink_hashes_as_its_target_path_and_a_folder_or_missing_file_fails);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(checksum_suite());
}
