/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A session folder's scan (fs/core/scan.c) on a temp folder: what it
 * counts, what the exclude patterns leave out, and its errors. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scan.h"
#include "tmpdir.h"
#include "unit.h"
#include "util.h"

static const char *const session_files[][2] = {
        {"trial_20250104_101500.1001.mp4", "1000"},
        {"trial_20250104_101500.1002.MP4", "2000"},
        {"trial_20250104_101500.json", "30"},
        {"photos/a.jpg", "40"},
        {"photos/deep/er/b.txt", "5"},
        {"top_only.txt", "6"},
        {"sub/top_only.txt", "7"},
        {"rec.tmp", "8"},
        {"sub/rec.lock", "9"},
        {"cache/c1", "10"},
        {"sub/cache/c2", "11"},
        {"x", "12"},
        {"sub/x/inside", "13"},
        {"notes.mp4.txt", "14"},
};

static void make_session(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(session_files); i++)
        tmp_make_file(session_files[i][0], strtoul(session_files[i][1], NULL, 10), 'x');
    _cleanup_free_ char *link = mct_path_join(tmp_dir, "link_to_photos");
    ck_assert_int_eq(symlink("photos", link), 0);
    _cleanup_free_ char *fifo = mct_path_join(tmp_dir, "a.fifo");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
}

START_TEST(a_scan_lists_files_and_symlinks_sorted_and_no_folder_fifo_or_link_target)
{
    make_session();
    struct mct_scan s;
    ck_assert_int_eq(mct_scan_tree(tmp_dir, NULL, &s), 0);
    /* every file + the symlink, not the fifo, not the symlink's target twice */
    ck_assert_uint_eq(s.n_files, ARRAY_SIZE(session_files) + 1);
    for (size_t i = 1; i < s.n_files; i++)
        ck_assert_int_lt(strcmp(s.files[i - 1].relpath, s.files[i].relpath), 0);

    uint64_t bytes = 0;
    for (size_t i = 0; i < ARRAY_SIZE(session_files); i++)
        bytes += strtoul(session_files[i][1], NULL, 10);
    ck_assert_uint_eq(s.bytes, bytes);
    ck_assert_uint_eq(s.videos, 2);

    const struct mct_file *l = mct_scan_find(&s, "link_to_photos");
    ck_assert_ptr_nonnull(l);
    ck_assert(S_ISLNK(l->mode));
    ck_assert_uint_eq(l->size, strlen("photos"));
    ck_assert_ptr_null(mct_scan_find(&s, "link_to_photos/a.jpg"));
    ck_assert_ptr_null(mct_scan_find(&s, "a.fifo"));
    ck_assert_ptr_null(mct_scan_find(&s, "photos")); /* directories are not files */

    const struct mct_file *f = mct_scan_find(&s, "photos/deep/er/b.txt");
    ck_assert_ptr_nonnull(f);
    ck_assert(S_ISREG(f->mode));
    ck_assert_uint_eq(f->size, 5);
    ck_assert_uint_ne(f->ino, 0);
    mct_scan_free(&s);
    ck_assert_ptr_null(s.files);
    ck_assert_uint_eq(s.n_files, 0);
}
END_TEST

START_TEST(a_scan_leaves_out_what_the_exclude_patterns_match)
{
    make_session();
    char *ex[] = {(char *)"*.tmp",         (char *)"*.lock", (char *)"cache/",
                  (char *)"/top_only.txt", (char *)"**/x",   NULL};
    struct mct_scan s;
    ck_assert_int_eq(mct_scan_tree(tmp_dir, ex, &s), 0);
    static const char *gone[] = {"rec.tmp",      "sub/rec.lock", "cache/c1",
                                 "sub/cache/c2", "top_only.txt", "x",
                                 "sub/x/inside"};
    for (size_t i = 0; i < ARRAY_SIZE(gone); i++)
        ck_assert_msg(!mct_scan_find(&s, gone[i]), "%s not excluded", gone[i]);
    static const char *kept[] = {"sub/top_only.txt", "photos/a.jpg", "notes.mp4.txt",
                                 "trial_20250104_101500.json", "link_to_photos"};
    for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
        ck_assert_msg(mct_scan_find(&s, kept[i]), "%s wrongly excluded", kept[i]);
    ck_assert_uint_eq(s.n_files, ARRAY_SIZE(session_files) + 1 - ARRAY_SIZE(gone));
    ck_assert_uint_eq(s.videos, 2);
    mct_scan_free(&s);
}
END_TEST

/* What the walk tells dir_fn and file_fn, in order. */
struct walk_log {
    char seen[64][64];
    size_t n;
};

static int log_dir(void *ud, int dfd, const char *relpath)
{
    struct walk_log *l = ud;
    struct stat st;
    ck_assert_int_eq(fstat(dfd, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_uint_lt(l->n, ARRAY_SIZE(l->seen));
    snprintf(l->seen[l->n++], sizeof(l->seen[0]), "dir:%s", relpath);
    return 0;
}

static int log_file(void *ud, const struct mct_file *f)
{
    struct walk_log *l = ud;
    ck_assert_uint_lt(l->n, ARRAY_SIZE(l->seen));
    snprintf(l->seen[l->n++], sizeof(l->seen[0]), "file:%s", f->relpath);
    return 0;
}

static ssize_t walk_log_find(const struct walk_log *l, const char *what)
{
    for (size_t i = 0; i < l->n; i++)
        if (streq(l->seen[i], what))
            return (ssize_t)i;
    return -1;
}

/* The mount watches every folder a walk enters before reading it (a
 * safe session's proof, fs/model_watch.c): dir_fn hears of the root and of
 * each folder the patterns keep, before any file in it, and never of an
 * excluded one. */
START_TEST(a_walk_tells_of_each_kept_folder_before_its_files)
{
    make_session();
    char *ex[] = {(char *)"cache/", NULL};
    struct walk_log l = {};
    int fd = open(tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(mct_scan_walk_dirs_fd(fd, ex, log_file, log_dir, &l, NULL), 0);
    ck_assert_int_eq(walk_log_find(&l, "dir:"), 0);
    static const char *const pairs[][2] = {
            {"dir:photos", "file:photos/a.jpg"},
            {"dir:photos/deep/er", "file:photos/deep/er/b.txt"},
            {"dir:sub", "file:sub/top_only.txt"},
            {"dir:sub/x", "file:sub/x/inside"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
        ssize_t dir = walk_log_find(&l, pairs[i][0]), file = walk_log_find(&l, pairs[i][1]);
        ck_assert_msg(dir >= 0 && file > dir, "%s not told before %s", pairs[i][0], pairs[i][1]);
    }
    ck_assert_int_ge(walk_log_find(&l, "dir:photos/deep"), 0);
    ck_assert_int_lt(walk_log_find(&l, "dir:cache"), 0);
    ck_assert_int_lt(walk_log_find(&l, "dir:sub/cache"), 0);
    /* Symlinked folders are files to the walk, never entered. */
    ck_assert_int_lt(walk_log_find(&l, "dir:link_to_photos"), 0);
    ck_assert_int_ge(walk_log_find(&l, "file:link_to_photos"), 0);
}
END_TEST

/* Expectations checked against rsync 3 (--exclude=PATTERN) by hand. */
START_TEST(exclude_patterns_match_as_rsync_exclude_does)
{
    static const struct {
        const char *pat, *path;
        bool is_dir, match;
    } t[] = {
            {"*.tmp", "a.tmp", false, true},
            {"*.tmp", "deep/er/a.tmp", false, true},
            {"*.tmp", "a.tmpx", false, false},
            {"cache/", "cache", true, true},
            {"cache/", "cache", false, false},
            {"cache/", "a/cache", true, true},
            {"cache/", "cache/file", false, true}, /* excluded parent */
            {"/top.txt", "top.txt", false, true},
            {"/top.txt", "a/top.txt", false, false},
            {"top.txt", "a/top.txt", false, true},
            {"**/x", "x", false, true},
            {"**/x", "a/b/x", false, true},
            {"/**/x", "x", false, false},
            {"/**/x", "a/x", false, true},
            {"a/*", "a/b", true, true},
            {"a/*", "z/a/b", false, true},
            {"a/*", "a/b/c", false, true}, /* via excluded parent a/b */
            {"b/*", "a/b", true, false},
            {"a/**/x", "a/x", false, false},
            {"a/**/x", "a/b/c/x", false, true},
            {"*/x", "x", false, false},
            {"*/x", "a/x", false, true},
            {"b/x", "a/b/x", false, true},
            {"b/x", "b/xx", false, false},
            {"/a/*/x", "a/b/x", false, true},
            {"/a/*/x", "a/b/c/x", false, false},
            {"[ab]", "a", true, true},
            {"[ab]", "c", false, false},
            {"[!a]", "b", false, true},
            {"?.txt", "a.txt", false, true},
            {"?.txt", "ab.txt", false, false},
            {"**x", "a/x", false, true},
            {"foo/***", "foo", true, true},
            {"foo/***", "foo/bar", false, true},
    };
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        char *pats[] = {(char *)t[i].pat, NULL};
        ck_assert_msg(mct_exclude_match(pats, t[i].path, t[i].is_dir) == t[i].match,
                      "pattern '%s' path '%s' dir=%d: expected %d", t[i].pat, t[i].path,
                      t[i].is_dir, t[i].match);
    }
    ck_assert(!mct_exclude_match(NULL, "a.tmp", false));
}
END_TEST

START_TEST(a_scan_of_a_missing_path_or_a_file_fails_and_of_an_empty_folder_finds_nothing)
{
    struct mct_scan s;
    _cleanup_free_ char *missing = mct_path_join(tmp_dir, "nope");
    ck_assert_int_eq(mct_scan_tree(missing, NULL, &s), -ENOENT);
    ck_assert_uint_eq(s.n_files, 0);
    tmp_make_file("plain", 3, 'x');
    _cleanup_free_ char *plain = mct_path_join(tmp_dir, "plain");
    ck_assert_int_eq(mct_scan_tree(plain, NULL, &s), -ENOTDIR);

    /* empty folder: fine, zero files */
    _cleanup_free_ char *empty = mct_path_join(tmp_dir, "empty");
    ck_assert_int_eq(mkdir(empty, 0755), 0);
    ck_assert_int_eq(mct_scan_tree(empty, NULL, &s), 0);
    ck_assert_uint_eq(s.n_files, 0);
    ck_assert_uint_eq(s.bytes, 0);
    ck_assert_ptr_null(mct_scan_find(&s, "x"));
    mct_scan_free(&s);
}
END_TEST

START_TEST(a_scan_keeps_the_newest_modification_time_of_any_file)
{
    tmp_make_file("old", 1, 'x');
    tmp_make_file("dir/new", 1, 'x');
    _cleanup_free_ char *old = mct_path_join(tmp_dir, "old");
    _cleanup_free_ char *nw = mct_path_join(tmp_dir, "dir/new");
    struct timeval tv_old[2] = {{1000000000, 0}, {1000000000, 0}};
    struct timeval tv_new[2] = {{1700000000, 0}, {1700000000, 5000}};
    ck_assert_int_eq(utimes(old, tv_old), 0);
    ck_assert_int_eq(utimes(nw, tv_new), 0);
    struct mct_scan s;
    ck_assert_int_eq(mct_scan_tree(tmp_dir, NULL, &s), 0);
    ck_assert_int_eq(s.newest_mtime.tv_sec, 1700000000);
    ck_assert_int_eq(s.newest_mtime.tv_nsec, 5000000);
    mct_scan_free(&s);
}
END_TEST

START_TEST(a_scan_fails_with_eacces_on_a_folder_it_cannot_read)
{
    /* We run as root, where permissions do not stop us: drop to nobody in
     * a child so the assertion is real. */
    tmp_make_file("ok", 1, 'x');
    tmp_make_file("locked/secret", 1, 'x');
    _cleanup_free_ char *locked = mct_path_join(tmp_dir, "locked");
    ck_assert_int_eq(chmod(locked, 0), 0);
    ck_assert_int_eq(chmod(tmp_dir, 0755), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(3);
        struct mct_scan s;
        int r = mct_scan_tree(tmp_dir, NULL, &s);
        _exit(r == -EACCES ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *scan_suite(void)
{
    Suite *s = suite_create("scan");
    TCase *tc = tcase_create("scan");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, a_scan_lists_files_and_symlinks_sorted_and_no_folder_fifo_or_link_target);
    tcase_add_test(tc, a_scan_leaves_out_what_the_exclude_patterns_match);
    tcase_add_test(tc, a_walk_tells_of_each_kept_folder_before_its_files);
    tcase_add_test(tc, exclude_patterns_match_as_rsync_exclude_does);
    tcase_add_test(tc,
                   a_scan_of_a_missing_path_or_a_file_fails_and_of_an_empty_folder_finds_nothing);
    tcase_add_test(tc, a_scan_keeps_the_newest_modification_time_of_any_file);
    tcase_add_test(tc, a_scan_fails_with_eacces_on_a_folder_it_cannot_read);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(scan_suite());
}
