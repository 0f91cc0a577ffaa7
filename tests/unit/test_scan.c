/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scan.h"
#include "util.h"

static char tmpdir[256];

static void rm_rf(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    ck_assert_int_eq(system(cmd), 0);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mct-test-scan.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    rm_rf(tmpdir);
}

/* Create tmpdir/rel with size bytes (parents made as needed). */
static void make_file(const char *rel, size_t size)
{
    _cleanup_free_ char *p = mct_path_join(tmpdir, rel);
    _cleanup_free_ char *dir = strdup(p);
    *strrchr(dir, '/') = '\0';
    ck_assert_int_eq(mct_mkdir_p(dir, 0755), 0);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    char buf[512];
    memset(buf, 'x', sizeof(buf));
    for (size_t left = size; left;) {
        size_t n = left < sizeof(buf) ? left : sizeof(buf);
        ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
        left -= n;
    }
    close(fd);
}

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
        make_file(session_files[i][0], strtoul(session_files[i][1], NULL, 10));
    _cleanup_free_ char *link = mct_path_join(tmpdir, "link_to_photos");
    ck_assert_int_eq(symlink("photos", link), 0);
    _cleanup_free_ char *fifo = mct_path_join(tmpdir, "a.fifo");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
}

START_TEST(test_scan_all)
{
    make_session();
    struct mct_scan s;
    ck_assert_int_eq(mct_scan_tree(tmpdir, NULL, &s), 0);
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

START_TEST(test_scan_excludes)
{
    make_session();
    char *ex[] = {(char *)"*.tmp",         (char *)"*.lock", (char *)"cache/",
                  (char *)"/top_only.txt", (char *)"**/x",   NULL};
    struct mct_scan s;
    ck_assert_int_eq(mct_scan_tree(tmpdir, ex, &s), 0);
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

/* Expectations checked against rsync 3 (--exclude=PATTERN) by hand. */
START_TEST(test_exclude_match_table)
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

START_TEST(test_scan_errors)
{
    struct mct_scan s;
    _cleanup_free_ char *missing = mct_path_join(tmpdir, "nope");
    ck_assert_int_eq(mct_scan_tree(missing, NULL, &s), -ENOENT);
    ck_assert_uint_eq(s.n_files, 0);
    make_file("plain", 3);
    _cleanup_free_ char *plain = mct_path_join(tmpdir, "plain");
    ck_assert_int_eq(mct_scan_tree(plain, NULL, &s), -ENOTDIR);

    /* empty folder: fine, zero files */
    _cleanup_free_ char *empty = mct_path_join(tmpdir, "empty");
    ck_assert_int_eq(mkdir(empty, 0755), 0);
    ck_assert_int_eq(mct_scan_tree(empty, NULL, &s), 0);
    ck_assert_uint_eq(s.n_files, 0);
    ck_assert_uint_eq(s.bytes, 0);
    ck_assert_ptr_null(mct_scan_find(&s, "x"));
    mct_scan_free(&s);
}
END_TEST

START_TEST(test_scan_newest_mtime)
{
    make_file("old", 1);
    make_file("dir/new", 1);
    _cleanup_free_ char *old = mct_path_join(tmpdir, "old");
    _cleanup_free_ char *nw = mct_path_join(tmpdir, "dir/new");
    struct timeval tv_old[2] = {{1000000000, 0}, {1000000000, 0}};
    struct timeval tv_new[2] = {{1700000000, 0}, {1700000000, 5000}};
    ck_assert_int_eq(utimes(old, tv_old), 0);
    ck_assert_int_eq(utimes(nw, tv_new), 0);
    struct mct_scan s;
    ck_assert_int_eq(mct_scan_tree(tmpdir, NULL, &s), 0);
    ck_assert_int_eq(s.newest_mtime.tv_sec, 1700000000);
    ck_assert_int_eq(s.newest_mtime.tv_nsec, 5000000);
    mct_scan_free(&s);
}
END_TEST

START_TEST(test_scan_unreadable_subdir_fails)
{
    /* We run as root, where permissions do not stop us: drop to nobody in
     * a child so the assertion is real. */
    make_file("ok", 1);
    make_file("locked/secret", 1);
    _cleanup_free_ char *locked = mct_path_join(tmpdir, "locked");
    ck_assert_int_eq(chmod(locked, 0), 0);
    ck_assert_int_eq(chmod(tmpdir, 0755), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(3);
        struct mct_scan s;
        int r = mct_scan_tree(tmpdir, NULL, &s);
        _exit(r == -EACCES ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* ---- discovery ---- */

static struct mct_config dcfg;

static void make_dir(const char *rel)
{
    _cleanup_free_ char *p = mct_path_join(tmpdir, rel);
    ck_assert_int_eq(mct_mkdir_p(p, 0755), 0);
}

static void discovery_setup(const char *tmpl)
{
    memset(&dcfg, 0, sizeof(dcfg));
    dcfg.source_base_path = tmpdir;
    dcfg.source_path_structure = (char *)tmpl;
}

START_TEST(test_discover_pd)
{
    discovery_setup("{participant_id}/{session_date}");
    make_dir("p001/20250104");
    make_dir("p001/20250105");
    make_dir("TF47/20250104");
    make_dir("m12/20241231");
    make_dir("b3/20250110");
    make_dir("p002/20251301"); /* bad date */
    make_dir("p002/notes");    /* not a date */
    make_dir(".mctfs-trash/p001/20250101");
    make_dir("p003/.20250101"); /* hidden */
    make_dir("bad id/20250104");
    make_file("recordings.db", 10);
    make_file("p004/20250104", 1); /* a file, not a session folder */
    _cleanup_free_ char *l = mct_path_join(tmpdir, "p005");
    ck_assert_int_eq(symlink("p001", l), 0); /* symlinked participant: not followed */

    struct mct_session_ref *refs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mct_discover_sessions(&dcfg, NULL, NULL, &refs, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(refs[0].session_date, "20241231");
    ck_assert_str_eq(refs[0].participant_id, "m12");
    ck_assert_str_eq(refs[1].participant_id, "TF47");
    ck_assert_str_eq(refs[2].participant_id, "p001");
    ck_assert_str_eq(refs[2].session_date, "20250104");
    ck_assert_str_eq(refs[3].session_date, "20250105");
    ck_assert_str_eq(refs[4].participant_id, "b3");
    free(refs);

    char *prefixes[] = {(char *)"TF", (char *)"p", NULL};
    dcfg.participant_prefixes = prefixes;
    ck_assert_int_eq(mct_discover_sessions(&dcfg, "20250104", "20250104", &refs, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(refs[0].participant_id, "TF47");
    ck_assert_str_eq(refs[1].participant_id, "p001");
    free(refs);

    ck_assert_int_eq(mct_discover_sessions(&dcfg, "20250105", NULL, &refs, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(refs[0].session_date, "20250105");
    free(refs);

    ck_assert_int_eq(mct_discover_sessions(&dcfg, "2025", NULL, &refs, &n), -EINVAL);
}
END_TEST

START_TEST(test_discover_dp)
{
    discovery_setup("{session_date}/{participant_id}");
    make_dir("20250104/p001");
    make_dir("20250104/TF47");
    make_dir("20250103/m1");
    make_dir("2025x/p9");
    make_dir("20250104/.hidden");
    make_file("20250104/loose.txt", 1);
    struct mct_session_ref *refs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mct_discover_sessions(&dcfg, NULL, "20250103", &refs, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(refs[0].participant_id, "m1");
    free(refs);
    ck_assert_int_eq(mct_discover_sessions(&dcfg, NULL, NULL, &refs, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(refs[1].participant_id, "TF47");
    ck_assert_str_eq(refs[2].participant_id, "p001");
    free(refs);
}
END_TEST

START_TEST(test_discover_many)
{
    discovery_setup("{participant_id}/{session_date}");
    char rel[64];
    for (int p = 0; p < 40; p++)
        for (int d = 1; d <= 28; d++) {
            snprintf(rel, sizeof(rel), "p%03d/202502%02d", p, d);
            make_dir(rel);
        }
    struct mct_session_ref *refs = NULL;
    size_t n = 0;
    int64_t t0 = mct_now_ms();
    ck_assert_int_eq(mct_discover_sessions(&dcfg, NULL, NULL, &refs, &n), 0);
    int64_t ms = mct_now_ms() - t0;
    ck_assert_uint_eq(n, 40 * 28);
    for (size_t i = 1; i < n; i++)
        ck_assert_int_lt(mct_session_ref_cmp(&refs[i - 1], &refs[i]), 0);
    ck_assert_msg(ms < 1000, "discovery of 1120 sessions took %lld ms", (long long)ms);
    free(refs);
}
END_TEST

START_TEST(test_discover_missing_base)
{
    discovery_setup("{participant_id}/{session_date}");
    _cleanup_free_ char *missing = mct_path_join(tmpdir, "nope");
    dcfg.source_base_path = missing;
    struct mct_session_ref *refs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mct_discover_sessions(&dcfg, NULL, NULL, &refs, &n), -ENOENT);
}
END_TEST

static Suite *scan_suite(void)
{
    Suite *s = suite_create("scan");
    TCase *tc = tcase_create("scan");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_scan_all);
    tcase_add_test(tc, test_scan_excludes);
    tcase_add_test(tc, test_exclude_match_table);
    tcase_add_test(tc, test_scan_errors);
    tcase_add_test(tc, test_scan_newest_mtime);
    tcase_add_test(tc, test_scan_unreadable_subdir_fails);
    suite_add_tcase(s, tc);

    TCase *td = tcase_create("discover");
    tcase_add_checked_fixture(td, setup, teardown);
    tcase_add_test(td, test_discover_pd);
    tcase_add_test(td, test_discover_dp);
    tcase_add_test(td, test_discover_many);
    tcase_add_test(td, test_discover_missing_base);
    suite_add_tcase(s, td);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(scan_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
