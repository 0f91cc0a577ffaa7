/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inode numbers stat shows through the mount (fs/ino.c), as mctfs(8)
 * states them: a real entry keeps the source's number (hardlinks stay one
 * number for tar, cp -a, rsync -H and du); one on another filesystem
 * mounted inside the source gets a number of its own, stable while
 * mounted (bit 62); virtual files get numbers from the top half (bit 63),
 * which no real entry uses.
 */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ino.h"
#include "tmpdir.h"
#include "unit.h"
#include "util.h"

static struct stat entry(dev_t dev, ino_t ino)
{
    struct stat st = {0};
    st.st_dev = dev;
    st.st_ino = ino;
    return st;
}

static void table_teardown(void)
{
    ino_table_free();
}

START_TEST(a_source_entry_shows_its_own_inode_number)
{
    struct stat st = entry(42, 123456);
    ck_assert_uint_eq(ino_real(42, &st), 123456);
    st = entry(42, 1);
    ck_assert_uint_eq(ino_real(42, &st), 1);
}
END_TEST

START_TEST(hardlinks_in_the_source_keep_one_number)
{
    tmp_make_file("a", 3, 'a');
    _cleanup_free_ char *a = tmp_path("a"), *b = tmp_path("b"), *c = tmp_path("c");
    ck_assert_int_eq(link(a, b), 0);
    tmp_make_file("c", 3, 'a');
    struct stat sa, sb, sc;
    ck_assert_int_eq(lstat(a, &sa), 0);
    ck_assert_int_eq(lstat(b, &sb), 0);
    ck_assert_int_eq(lstat(c, &sc), 0);
    ck_assert_uint_eq(ino_real(sa.st_dev, &sa), ino_real(sa.st_dev, &sb));
    ck_assert_uint_ne(ino_real(sa.st_dev, &sa), ino_real(sa.st_dev, &sc));
}
END_TEST

START_TEST(an_entry_on_another_filesystem_gets_a_number_with_bit_62)
{
    struct stat st = entry(7, 123456);
    uint64_t n = ino_real(42, &st);
    ck_assert(n & INO_MAPPED_BIT);
    ck_assert(!(n & INO_VIRTUAL_BIT));
    ck_assert_uint_ne(n, 123456);
}
END_TEST

START_TEST(an_entry_on_another_filesystem_keeps_its_number_while_mounted)
{
    struct stat st = entry(7, 123456);
    uint64_t n = ino_real(42, &st);
    for (int i = 0; i < 1000; i++) {
        struct stat other = entry(7, (ino_t)i + 1);
        ino_real(42, &other);
    }
    ck_assert_uint_eq(ino_real(42, &st), n);
}
END_TEST

/* Every filesystem numbers from 1 or 2: the same number on two devices
 * is two entries. */
START_TEST(the_same_number_on_two_other_filesystems_is_two_numbers)
{
    struct stat on7 = entry(7, 2), on8 = entry(8, 2), next = entry(7, 3), base = entry(42, 2);
    uint64_t a = ino_real(42, &on7), b = ino_real(42, &on8), c = ino_real(42, &next);
    ck_assert_uint_ne(a, b);
    ck_assert_uint_ne(a, c);
    ck_assert_uint_ne(b, c);
    ck_assert_uint_ne(a, ino_real(42, &base));
    ck_assert_uint_ne(b, ino_real(42, &base));
}
END_TEST

START_TEST(a_virtual_file_has_bit_63_and_its_kind_in_the_low_four_bits)
{
    for (unsigned kind = 1; kind < 16; kind++) {
        uint64_t v = ino_virtual(123456, kind);
        ck_assert(v & INO_VIRTUAL_BIT);
        ck_assert_uint_eq(v & 15, kind);
    }
    /* Also below a folder on another filesystem. */
    struct stat st = entry(7, 99);
    ck_assert(ino_virtual(ino_real(42, &st), 3) & INO_VIRTUAL_BIT);
}
END_TEST

/* stat of one virtual file always says the same number, and no two of a
 * folder, or of two folders, share one. */
START_TEST(a_virtual_files_number_is_stable_and_its_own)
{
    ck_assert_uint_eq(ino_virtual(123456, 4), ino_virtual(123456, 4));
    for (unsigned k = 1; k < 16; k++)
        for (unsigned j = k + 1; j < 16; j++)
            ck_assert_uint_ne(ino_virtual(123456, k), ino_virtual(123456, j));
    for (uint64_t dir = 1; dir < 1000; dir++)
        ck_assert_uint_ne(ino_virtual(dir, 4), ino_virtual(dir + 1, 4));
}
END_TEST

START_TEST(no_virtual_number_is_a_real_one)
{
    struct stat mapped = entry(7, 5);
    uint64_t real[] = {1, 2, 123456, (UINT64_C(1) << 62) - 1, ino_real(42, &mapped)};
    for (size_t i = 0; i < ARRAY_SIZE(real); i++) {
        ck_assert(!(real[i] & INO_VIRTUAL_BIT));
        for (unsigned kind = 1; kind < 16; kind++)
            ck_assert_uint_ne(ino_virtual(real[i], kind), real[i]);
    }
}
END_TEST

static Suite *ino_suite(void)
{
    Suite *s = suite_create("ino");
    TCase *tc = tcase_create("source");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, hardlinks_in_the_source_keep_one_number);
    suite_add_tcase(s, tc);

    tc = tcase_create("real");
    tcase_add_checked_fixture(tc, NULL, table_teardown);
    tcase_add_test(tc, a_source_entry_shows_its_own_inode_number);
    tcase_add_test(tc, an_entry_on_another_filesystem_gets_a_number_with_bit_62);
    tcase_add_test(tc, an_entry_on_another_filesystem_keeps_its_number_while_mounted);
    tcase_add_test(tc, the_same_number_on_two_other_filesystems_is_two_numbers);
    suite_add_tcase(s, tc);

    tc = tcase_create("virtual");
    tcase_add_checked_fixture(tc, NULL, table_teardown);
    tcase_add_test(tc, a_virtual_file_has_bit_63_and_its_kind_in_the_low_four_bits);
    tcase_add_test(tc, a_virtual_files_number_is_stable_and_its_own);
    tcase_add_test(tc, no_virtual_number_is_a_real_one);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(ino_suite());
}
