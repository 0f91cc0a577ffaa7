/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * foldfs, the tests' stand-in for the lab's SMB share, behaves like it
 * where the product cares: two spellings of a participant are one folder
 * (one st_dev/st_ino, one listing, one rsync destination), new names keep
 * their case, case-only renames work, bytes come back as written, and the
 * mount goes away cleanly. No lab services: a temp dir under /tmp, as root.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit.h"

static char backing[400], mnt[400];
static pid_t fs_pid = -1;

static void mount_fresh(void)
{
    snprintf(backing, sizeof(backing), "%s/backing.XXXXXX", lab.dir);
    ck_assert_ptr_nonnull(mkdtemp(backing));
    fs_pid = kit_foldfs_start(backing, mnt, sizeof(mnt));
}

static void unmount_if_mounted(void)
{
    if (fs_pid > 0)
        kit_foldfs_stop(fs_pid, mnt);
    fs_pid = -1;
}

/* under(mnt, "a/b") etc.: a path in a static ring, for short asserts. */
static const char *under(const char *dir, const char *rel)
{
    static char ring[8][700];
    static unsigned next;
    char path[sizeof(ring[0])]; /* dir may be an older slot of the ring */
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    return memcpy(ring[next++ % 8], path, sizeof(path));
}

static void assert_only_entry(const char *dir, const char *name)
{
    ck_assert_uint_eq(kit_count_entries(dir, true), 1);
    ck_assert_msg(kit_exists(under(dir, name)), "%s has no %s", dir, name);
}

static void write_at(const char *path, const char *text, time_t mtime)
{
    kit_write_file(path, text);
    struct timespec ts[2] = {{.tv_sec = mtime}, {.tv_sec = mtime}};
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void assert_content(const char *path, const char *want)
{
    _cleanup_free_ char *got = kit_slurp(path, NULL);
    ck_assert_msg(got, "reading %s: %s", path, strerror(errno));
    ck_assert_str_eq(got, want);
}

START_TEST(two_spellings_are_one_folder)
{
    struct stat a, b, c;
    ck_assert_int_eq(mkdir(under(mnt, "sA02"), 0755), 0);
    ck_assert_int_eq(stat(under(mnt, "sA02"), &a), 0);
    ck_assert_int_eq(stat(under(mnt, "sa02"), &b), 0);
    ck_assert_int_eq(stat(under(mnt, "SA02"), &c), 0);
    ck_assert(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
    ck_assert(a.st_dev == c.st_dev && a.st_ino == c.st_ino);
    errno = 0;
    ck_assert_int_eq(mkdir(under(mnt, "sa02"), 0755), -1);
    ck_assert_int_eq(errno, EEXIST);
    assert_only_entry(mnt, "sA02");
    assert_only_entry(backing, "sA02");
}
END_TEST

START_TEST(mkdir_p_with_both_spellings_makes_one_folder)
{
    ck_assert_int_eq(kit_shell("mkdir -p '%s/20250104/sA02'", mnt), 0);
    ck_assert_int_eq(kit_shell("mkdir -p '%s/20250104/sa02'", mnt), 0);
    ck_assert_int_eq(kit_shell("mkdir -p '%s/20250104/SA02/deeper'", mnt), 0);
    assert_only_entry(under(mnt, "20250104"), "sA02");
    assert_only_entry(under(mnt, "20250104/sA02"), "deeper");
    assert_only_entry(under(backing, "20250104"), "sA02");
}
END_TEST

START_TEST(rsync_into_both_spellings_merges)
{
    /* The product's copy of one session under two spellings of its
     * participant: the second lands in the first's folder, and its file of
     * the same name and size (newer) replaces the first's. */
    const char *src1 = under(lab.dir, "src1"), *src2 = under(lab.dir, "src2");
    ck_assert_int_eq(kit_shell("rm -rf '%s' '%s' && mkdir '%s' '%s'", src1, src2, src1, src2), 0);
    write_at(under(src1, "trial.mp4"), "AAAA", 1735900000);
    write_at(under(src1, "only1.json"), "one", 1735900000);
    write_at(under(src2, "trial.mp4"), "BBBB", 1735990000);
    write_at(under(src2, "only2.json"), "two", 1735990000);
    ck_assert_int_eq(symlink("only2.json", under(src2, "link")), 0);
    ck_assert_int_eq(kit_shell("mkdir -p '%s/20250104'", mnt), 0);
    ck_assert_int_eq(kit_shell("rsync -a '%s/' '%s/20250104/sA02/'", src1, mnt), 0);
    ck_assert_int_eq(kit_shell("rsync -a '%s/' '%s/20250104/sa02/'", src2, mnt), 0);

    assert_only_entry(under(mnt, "20250104"), "sA02");
    const char *dir = under(mnt, "20250104/sA02");
    ck_assert_uint_eq(kit_count_entries(dir, true), 4); /* no temp file left */
    assert_content(under(dir, "trial.mp4"), "BBBB");
    assert_content(under(dir, "only1.json"), "one");
    assert_content(under(dir, "only2.json"), "two");
    char target[64] = "";
    ck_assert_int_eq(readlink(under(backing, "20250104/sA02/link"), target, sizeof(target) - 1),
                     10);
    ck_assert_str_eq(target, "only2.json");
    struct stat st;
    ck_assert_int_eq(stat(under(backing, "20250104/sA02/trial.mp4"), &st), 0);
    ck_assert_int_eq(st.st_mtime, 1735990000);
    /* A second run finds nothing to do: both spellings agree it is there. */
    ck_assert_int_eq(kit_shell("test -z \"$(rsync -ai '%s/' '%s/20250104/SA02/')\"", src2, mnt), 0);
}
END_TEST

START_TEST(create_uses_the_existing_case_variant)
{
    kit_write_file(under(mnt, "Trial.json"), "first");
    int fd = open(under(mnt, "trial.JSON"), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "+more", 5), 5);
    close(fd);
    errno = 0;
    ck_assert_int_eq(open(under(mnt, "TRIAL.json"), O_WRONLY | O_CREAT | O_EXCL, 0644), -1);
    ck_assert_int_eq(errno, EEXIST);
    assert_only_entry(backing, "Trial.json");
    assert_content(under(backing, "Trial.json"), "first+more");
}
END_TEST

START_TEST(a_case_only_rename_renames)
{
    kit_write_file(under(mnt, "a"), "bytes");
    ck_assert_int_eq(rename(under(mnt, "a"), under(mnt, "A")), 0);
    assert_only_entry(mnt, "A");
    assert_only_entry(backing, "A");
    assert_content(under(mnt, "a"), "bytes");
    ck_assert_int_eq(mkdir(under(mnt, "sa02"), 0755), 0);
    kit_write_file(under(mnt, "sa02/x"), "in the folder");
    ck_assert_int_eq(rename(under(mnt, "SA02"), under(mnt, "sA02")), 0);
    ck_assert_uint_eq(kit_count_entries(backing, true), 2);
    ck_assert(kit_exists(under(backing, "sA02")));
    assert_content(under(backing, "sA02/x"), "in the folder");
}
END_TEST

START_TEST(written_bytes_read_back_the_same)
{
    size_t len = 3 * 1024 * 1024 + 17; /* several FUSE requests, odd tail */
    _cleanup_free_ char *data = malloc(len + 1);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)('a' + (i * 7 + i / 4096) % 26);
    data[len] = '\0';
    kit_write_file(under(mnt, "Video.mp4"), data);
    size_t got_len = 0;
    _cleanup_free_ char *through = kit_slurp(under(mnt, "video.mp4"), &got_len);
    ck_assert_ptr_nonnull(through);
    ck_assert_uint_eq(got_len, len);
    ck_assert(memcmp(through, data, len) == 0);
    _cleanup_free_ char *stored = kit_slurp(under(backing, "Video.mp4"), &got_len);
    ck_assert_uint_eq(got_len, len);
    ck_assert(memcmp(stored, data, len) == 0);
    ck_assert_int_eq(truncate(under(mnt, "VIDEO.mp4"), 10), 0);
    struct stat st;
    ck_assert_int_eq(stat(under(backing, "Video.mp4"), &st), 0);
    ck_assert_int_eq(st.st_size, 10);
}
END_TEST

START_TEST(unmount_is_clean)
{
    kit_write_file(under(mnt, "kept"), "after the unmount");
    unmount_if_mounted(); /* asserts foldfs exited 0 and the mount is gone */
    assert_content(under(backing, "kept"), "after the unmount");
    ck_assert_uint_eq(kit_count_entries(mnt, true), 0);
}
END_TEST

static Suite *foldfs_suite(void)
{
    Suite *s = suite_create("foldfs");
    TCase *tc = tcase_create("smb-like case folding");
    tcase_add_unchecked_fixture(tc, kit_setup_bare, kit_teardown_bare);
    /* A mount per test, stopped (and so checked) in the test's process. */
    tcase_add_checked_fixture(tc, mount_fresh, unmount_if_mounted);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, two_spellings_are_one_folder);
    tcase_add_test(tc, mkdir_p_with_both_spellings_makes_one_folder);
    tcase_add_test(tc, rsync_into_both_spellings_merges);
    tcase_add_test(tc, create_uses_the_existing_case_variant);
    tcase_add_test(tc, a_case_only_rename_renames);
    tcase_add_test(tc, written_bytes_read_back_the_same);
    tcase_add_test(tc, unmount_is_clean);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(foldfs_suite());
}
