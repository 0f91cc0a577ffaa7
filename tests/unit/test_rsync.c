/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rsync runner (fs/core/rsync.c): argv building (and the flags a sync
 * must refuse), exit meanings, progress2 parsing, real local rsync runs
 * between temp dirs, and the idle watchdog against a fake rsync that
 * never speaks.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock.h"
#include "rsync.h"
#include "tmpdir.h"
#include "unit.h"
#include "util.h"

static char *excludes_tmp[] = {"*.tmp", "*.lock", NULL};

static char *saved_path;

static void setup(void)
{
    tmp_setup();
    saved_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
}

/* Tests change PATH; restore it for CK_FORK=no runs (valgrind). */
static void teardown(void)
{
    ck_assert_int_eq(setenv("PATH", saved_path, 1), 0);
    free(saved_path);
    tmp_teardown();
}

/* Size of tmp_dir/rel, -1 when absent. */
static long long size_of(const char *rel)
{
    _cleanup_free_ char *p = tmp_path(rel);
    struct stat st;
    return lstat(p, &st) < 0 ? -1 : (long long)st.st_size;
}

static struct mct_config base_config(void)
{
    return (struct mct_config){
            .path = "test_config.yaml",
            .rsync_flags = "-a",
            .rsync_timeout_s = 30,
            .share_timeout_s = 5,
            .exclude_patterns = excludes_tmp,
    };
}

static void assert_argv(char **got, const char *const *want)
{
    size_t i = 0;
    for (; want[i]; i++) {
        ck_assert_msg(got[i] != NULL, "argv too short at %zu (want '%s')", i, want[i]);
        ck_assert_str_eq(got[i], want[i]);
    }
    ck_assert_msg(got[i] == NULL, "argv too long: extra '%s'", got[i]);
}

/* ---- argv ------------------------------------------------------------- */

START_TEST(the_argv_carries_the_flags_limits_excludes_and_paths_in_order)
{
    struct mct_config cfg = base_config();
    _cleanup_strv_ char **argv = NULL;
    cfg.rsync_flags = "  -a -v\t-h   -z ";
    cfg.rsync_bwlimit_kb = 500;
    cfg.rsync_timeout_s = 60;

    ck_assert_int_eq(
            mct_rsync_argv(&cfg, "/data/p001/20250104", "/mnt/s/20250104/p001", false, &argv), 0);
    static const char *const want[] = {"rsync",
                                       "-a",
                                       "-v",
                                       "-h",
                                       "-z",
                                       "--exclude=*.tmp",
                                       "--exclude=*.lock",
                                       "--exclude=/.mctfs-copy",
                                       "--bwlimit=500",
                                       "--timeout=60",
                                       "--info=progress2",
                                       "--",
                                       "/data/p001/20250104/",
                                       "/mnt/s/20250104/p001/",
                                       NULL};
    assert_argv(argv, want);
}
END_TEST

START_TEST(a_dry_run_argv_lists_what_it_would_copy_and_no_unset_limit)
{
    struct mct_config cfg = base_config();
    _cleanup_strv_ char **argv = NULL;
    cfg.rsync_flags = NULL; /* the documented default, -avh */
    cfg.exclude_patterns = NULL;
    cfg.rsync_bwlimit_kb = 0;
    cfg.rsync_timeout_s = 0;

    ck_assert_int_eq(mct_rsync_argv(&cfg, "/src", "/dst", true, &argv), 0);
    static const char *const want[] = {"rsync",
                                       "-avh",
                                       "--exclude=/.mctfs-copy",
                                       "--info=progress2",
                                       "--dry-run",
                                       "--out-format=mctfs-dry-run: %n",
                                       "--",
                                       "/src/",
                                       "/dst/",
                                       NULL};
    assert_argv(argv, want);
}
END_TEST

/* A path is one argv element after "--", whatever it contains. */
START_TEST(a_path_is_one_argv_element_after_the_double_dash_whatever_it_holds)
{
    struct mct_config cfg = base_config();
    _cleanup_strv_ char **argv = NULL;

    ck_assert_int_eq(mct_rsync_argv(&cfg, "/data/-n x;rm -rf ~", "/dst/$(id)", false, &argv), 0);
    size_t n = mct_strv_length(argv);
    ck_assert_uint_ge(n, 3);
    ck_assert_str_eq(argv[n - 3], "--");
    ck_assert_str_eq(argv[n - 2], "/data/-n x;rm -rf ~/");
    ck_assert_str_eq(argv[n - 1], "/dst/$(id)/");
}
END_TEST

static const char *const refused_flags[] = {
        "--delete",
        "-a --delete-after",
        "-av --delete-excluded",
        "--del",
        "--delete-missing-args",
        "--remove-source-files",
        "-a --remove-sent-files",
        "-e ssh",
        "-avze",
        "-ave ssh",
        "--rsh=ssh",
        "--rsync-path=/tmp/x",
        "-M--delete",
        "--remote-option=--delete",
        "-a --",
        "-a /etc",
        "--exclude *.tmp",
        /* Not deleting, but writing or reading files of the config
         * writer's choosing, changing owners and modes, following links. */
        "--log-file=/etc/cron.d/x",
        "-a --log-file-format=%n",
        "--write-batch=/tmp/x",
        "--only-write-batch=/tmp/x",
        "--read-batch=/tmp/x",
        "--chown=root:root",
        "--chmod=u+s",
        "--usermap=*:root",
        "-T/tmp",
        "--temp-dir=/tmp",
        "--partial-dir=/tmp",
        "--backup-dir=/tmp",
        "--files-from=/etc/shadow",
        "--filter=merge /etc/shadow",
        "--password-file=/etc/shadow",
        "-L",
        "-avL",
        "--copy-links",
        "-k",
        "--inplace",
        "--archive=1",
        "--bwlimit",
        "--bwlimit=1;x",
        "--compress-level=10",
        "--info=progress2;x",
        "--timeout=-1",
        "-",
};

START_TEST(a_flag_that_could_delete_write_elsewhere_or_follow_links_is_refused)
{
    struct mct_config cfg = base_config();
    char **argv = NULL;
    char why[256] = "";

    cfg.rsync_flags = (char *)refused_flags[_i];
    ck_assert_int_eq(mct_rsync_argv(&cfg, "/src", "/dst", false, &argv), -EINVAL);
    ck_assert_ptr_null(argv);
    ck_assert_int_eq(mct_rsync_flags_check(cfg.rsync_flags, why, sizeof(why)), -EINVAL);
    ck_assert_msg(strstr(why, "is not allowed") || strstr(why, "is not an option"),
                  "why does not say what is wrong: %s", why);
}
END_TEST

/* The message names the word (the letter in a cluster) and the allowlist. */
START_TEST(a_refused_flag_is_named_with_the_allowed_ones)
{
    char why[1024] = "";
    ck_assert_int_eq(mct_rsync_flags_check("-a --log-file=x", why, sizeof(why)), -EINVAL);
    ck_assert_msg(startswith(why, "'--log-file=x' is not allowed (allowed: -a -v "), "%s", why);
    ck_assert_msg(strstr(why, "--bwlimit=RATE") && strstr(why, "--exclude=PATTERN") &&
                          strstr(why, "--checksum") && why[strlen(why) - 1] == ')',
                  "%s", why);
    ck_assert_int_eq(mct_rsync_flags_check("-avze", why, sizeof(why)), -EINVAL);
    ck_assert_msg(startswith(why, "'-e' is not allowed (in '-avze')"), "%s", why);
    ck_assert_int_eq(mct_rsync_flags_check("--bwlimit 100", why, sizeof(why)), -EINVAL);
    ck_assert_msg(strstr(why, "write it as --bwlimit=RATE"), "%s", why);
}
END_TEST

START_TEST(harmless_flags_are_accepted)
{
    char why[1024] = "";
    /* --delay-updates starts with "--del". */
    ck_assert_int_eq(mct_rsync_flags_check("-avzhP --partial --delay-updates", why, sizeof(why)),
                     0);
    ck_assert_int_eq(mct_rsync_flags_check("-rlptgoD -HSWcxAXiq --checksum --bwlimit=100 "
                                           "--bwlimit=1.5M --compress --compress-level=9 "
                                           "--info=progress2,stats2 --exclude=*.tmp --timeout=60 "
                                           "--contimeout=5 --modify-window=-1 --numeric-ids "
                                           "--stats --omit-dir-times --no-perms --no-owner "
                                           "--no-group --size-only --sparse --whole-file",
                                           why, sizeof(why)),
                     0);
    ck_assert_int_eq(mct_rsync_flags_check("--archive --verbose --human-readable --progress", why,
                                           sizeof(why)),
                     0);
    ck_assert_int_eq(mct_rsync_flags_check(NULL, why, sizeof(why)), 0);
}
END_TEST

/* ---- exit codes and progress ------------------------------------------ */

START_TEST(each_rsync_exit_code_has_its_meaning)
{
    ck_assert_str_eq(mct_rsync_exit_meaning(0), "success");
    ck_assert_str_eq(mct_rsync_exit_meaning(1), "syntax or usage error");
    ck_assert_str_eq(mct_rsync_exit_meaning(3), "errors selecting input/output files, dirs");
    ck_assert_str_eq(mct_rsync_exit_meaning(11), "error in file I/O");
    ck_assert_str_eq(mct_rsync_exit_meaning(23), "partial transfer due to error");
    ck_assert_str_eq(mct_rsync_exit_meaning(24), "partial transfer due to vanished source files");
    ck_assert_str_eq(mct_rsync_exit_meaning(30), "timeout in data send/receive");
    ck_assert_str_eq(mct_rsync_exit_meaning(35), "timeout waiting for daemon connection");
    ck_assert_str_eq(mct_rsync_exit_meaning(7), "unknown");
    ck_assert_str_eq(mct_rsync_exit_meaning(-1), "unknown");
    ck_assert_str_eq(mct_rsync_exit_meaning(128 + SIGKILL), "unknown");
}
END_TEST

START_TEST(progress2_lines_give_the_percentage_and_other_lines_none)
{
    /* Lines as rsync 3.x prints them, with and without -h. */
    ck_assert_int_eq(mct_rsync_parse_progress("  1,234,567  45%   12.34MB/s    0:00:10"), 45);
    ck_assert_int_eq(mct_rsync_parse_progress(
                             "          3.00M 100%    2.79GB/s    0:00:00 (xfr#2, to-chk=0/4)"),
                     100);
    ck_assert_int_eq(mct_rsync_parse_progress("     32.77K   1%    0.00kB/s    0:00:00  "), 1);
    ck_assert_int_eq(mct_rsync_parse_progress(
                             "              0   0%    0.00kB/s    0:00:00 (xfr#0, to-chk=1/4)"),
                     0);
    ck_assert_int_eq(mct_rsync_parse_progress("1.05G  99%  100.00MB/s  0:01:00"), 99);

    ck_assert_int_eq(mct_rsync_parse_progress(""), -1);
    ck_assert_int_eq(mct_rsync_parse_progress("sending incremental file list"), -1);
    ck_assert_int_eq(mct_rsync_parse_progress("trial_20250104_101500.1001.mp4"), -1);
    ck_assert_int_eq(mct_rsync_parse_progress("sub/"), -1);
    ck_assert_int_eq(mct_rsync_parse_progress("12 45% done.mp4"), -1);
    ck_assert_int_eq(mct_rsync_parse_progress("  1,000 101%   1.00kB/s    0:00:01"), -1);
    ck_assert_int_eq(mct_rsync_parse_progress("sent 3.00M bytes  received 62 bytes"), -1);
    ck_assert_int_eq(mct_rsync_parse_progress("  1,000  45"), -1);
}
END_TEST

/* ---- real runs -------------------------------------------------------- */

struct progress_log {
    int calls;
    int last;
    int max;
    bool saw_rsync_100; /* a 100% line parsed from rsync itself */
    bool wrong_phase;
};

static void on_progress(void *ud, const char *phase, int percent, const char *detail)
{
    struct progress_log *pl = ud;
    pl->calls++;
    pl->last = percent;
    if (percent > pl->max)
        pl->max = percent;
    if (percent == 100 && detail && strstr(detail, "100%"))
        pl->saw_rsync_100 = true;
    if (!streq(phase, "syncing"))
        pl->wrong_phase = true;
}

static void make_session(void)
{
    tmp_make_file("src/trial_20250104_101500.1001.mp4", 3 * 1024 * 1024, 'v');
    tmp_make_file("src/trial_20250104_101500.json", 2000, 'v');
    tmp_make_file("src/photos/a.jpg", 40, 'v');
    tmp_make_file("src/recording.tmp", 10, 'v');
    tmp_make_dir("dst");
}

START_TEST(a_run_copies_the_contents_and_leaves_out_the_excluded)
{
    struct mct_config cfg = base_config();
    struct progress_log pl = {.last = -1, .max = -1};
    _cleanup_free_ char *src = tmp_path("src"), *dst = tmp_path("dst");
    _cleanup_free_ char *err = NULL;
    int code = -2;

    make_session();
    ck_assert_int_eq(mct_rsync_run_full(&cfg, src, dst, false, on_progress, &pl, &code, &err), 0);
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_nonnull(err);
    /* Contents land in dst itself (trailing slashes), excludes honoured. */
    ck_assert_int_eq(size_of("dst/trial_20250104_101500.1001.mp4"), 3 * 1024 * 1024);
    ck_assert_int_eq(size_of("dst/trial_20250104_101500.json"), 2000);
    ck_assert_int_eq(size_of("dst/photos/a.jpg"), 40);
    ck_assert_int_eq(size_of("dst/recording.tmp"), -1);
    ck_assert_int_eq(size_of("dst/src"), -1);
    ck_assert_int_ge(pl.calls, 1);
    ck_assert(pl.saw_rsync_100);
    ck_assert_int_eq(pl.last, 100);
    ck_assert(!pl.wrong_phase);
}
END_TEST

/* Nothing left to copy: rsync says 0%, exit 0 still ends at 100. */
START_TEST(a_run_with_nothing_to_copy_still_ends_at_100_percent)
{
    struct mct_config cfg = base_config();
    struct progress_log pl = {.last = -1, .max = -1};
    _cleanup_free_ char *src = tmp_path("src"), *dst = tmp_path("dst");
    int code = -2;

    make_session();
    ck_assert_int_eq(mct_rsync_run(&cfg, src, dst, false, NULL, NULL, &code), 0);
    ck_assert_int_eq(mct_rsync_run(&cfg, src, dst, false, on_progress, &pl, &code), 0);
    ck_assert_int_eq(code, 0);
    ck_assert_int_eq(pl.last, 100);
}
END_TEST

START_TEST(a_dry_run_copies_nothing)
{
    struct mct_config cfg = base_config();
    _cleanup_free_ char *src = tmp_path("src"), *dst = tmp_path("dst/20250104/p001");
    int code = -2;

    make_session();
    ck_assert_int_eq(mct_rsync_run(&cfg, src, dst, true, NULL, NULL, &code), 0);
    ck_assert_int_eq(code, 0);
    ck_assert_int_eq(size_of("dst/20250104"), -1);
}
END_TEST

START_TEST(odd_path_names_reach_rsync_as_they_are)
{
    struct mct_config cfg = base_config();
    _cleanup_free_ char *src = tmp_path("-n src 'q' $(x)"), *dst = tmp_path("dst;echo hi");
    int code = -2;

    tmp_make_file("-n src 'q' $(x)/a b.mp4", 123, 'v');
    tmp_make_dir("dst;echo hi");
    ck_assert_int_eq(mct_rsync_run(&cfg, src, dst, false, NULL, NULL, &code), 0);
    ck_assert_int_eq(code, 0);
    ck_assert_int_eq(size_of("dst;echo hi/a b.mp4"), 123);
}
END_TEST

START_TEST(a_failed_run_is_eio_and_keeps_rsyncs_exit_code_and_stderr)
{
    struct mct_config cfg = base_config();
    struct progress_log pl = {.last = -1, .max = -1};
    _cleanup_free_ char *src = tmp_path("src"), *dst = tmp_path("dst/file");
    _cleanup_free_ char *err = NULL;
    int code = -2;

    make_session();
    tmp_make_file("dst/file", 5, 'v'); /* the destination is a regular file */
    ck_assert_int_eq(mct_rsync_run_full(&cfg, src, dst, false, on_progress, &pl, &code, &err),
                     -EIO);
    ck_assert_int_gt(code, 0);
    ck_assert_str_ne(mct_rsync_exit_meaning(code), "success");
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "rsync"), "stderr not kept: '%s'", err);
    ck_assert_int_ne(pl.last, 100);
    ck_assert_int_eq(size_of("dst/file"), 5);
}
END_TEST

START_TEST(refused_flags_start_no_rsync)
{
    struct mct_config cfg = base_config();
    _cleanup_free_ char *src = tmp_path("src"), *dst = tmp_path("dst");
    int code = -2;

    make_session();
    cfg.rsync_flags = "-a --remove-source-files";
    ck_assert_int_eq(mct_rsync_run(&cfg, src, dst, false, NULL, NULL, &code), -EINVAL);
    ck_assert_int_eq(code, -1);
    ck_assert_int_eq(size_of("src/trial_20250104_101500.json"), 2000);
    ck_assert_int_eq(size_of("dst/trial_20250104_101500.json"), -1);
}
END_TEST

START_TEST(a_missing_rsync_binary_is_enoent)
{
    struct mct_config cfg = base_config();
    _cleanup_free_ char *src = tmp_path("src"), *dst = tmp_path("dst");
    _cleanup_free_ char *empty = tmp_path("emptybin");
    int code = -2;

    make_session();
    tmp_make_dir("emptybin");
    ck_assert_int_eq(setenv("PATH", empty, 1), 0);
    ck_assert_int_eq(mct_rsync_run(&cfg, src, dst, false, NULL, NULL, &code), -ENOENT);
    ck_assert_int_eq(code, -1);
}
END_TEST

/* A fake rsync (a test fixture) that prints nothing, as one stuck on a
 * hung share would; PATH points at it. Check forks each test, so the
 * PATH change stays in this test. */
static void fake_rsync(const char *body)
{
    _cleanup_free_ char *bin = tmp_path("bin"), *path = tmp_path("bin/rsync");
    tmp_make_dir("bin");
    FILE *f = fopen(path, "we");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(path, 0755), 0);
    _cleanup_free_ char *newpath = mct_strdup_printf("%s:%s", bin, getenv("PATH"));
    ck_assert_int_eq(setenv("PATH", newpath, 1), 0);
}

static void run_silent(const char *body, int want_code)
{
    struct mct_config cfg = base_config();
    _cleanup_free_ char *src = tmp_path("src"), *dst = tmp_path("dst");
    _cleanup_free_ char *err = NULL;
    int code = -2;

    make_session();
    fake_rsync(body);
    cfg.rsync_timeout_s = 1;
    cfg.share_timeout_s = 1;
    int64_t t0 = mct_now_ms();
    ck_assert_int_eq(mct_rsync_run_full(&cfg, src, dst, false, NULL, NULL, &code, &err), -EIO);
    int64_t took = mct_now_ms() - t0;
    ck_assert_int_eq(code, want_code);
    ck_assert_int_ge(took, 1900);
    ck_assert_int_lt(took, 15000);
    ck_assert_msg(err && strstr(err, "no output"), "stderr: '%s'", err ? err : "(null)");
}

START_TEST(the_watchdog_terminates_an_rsync_silent_past_the_timeout)
{
    run_silent("exec sleep 60", 128 + SIGTERM);
}
END_TEST

START_TEST(the_watchdog_kills_an_rsync_that_ignores_sigterm)
{
    /* The shell and its sleep both ignore SIGTERM: only SIGKILL to the
     * whole process group ends them. */
    run_silent("trap '' TERM\nsleep 60\nsleep 60", 128 + SIGKILL);
}
END_TEST

START_TEST(an_rsync_killed_by_a_signal_is_eio_with_128_plus_the_signal)
{
    struct mct_config cfg = base_config();
    _cleanup_free_ char *src = tmp_path("src"), *dst = tmp_path("dst");
    int code = -2;

    make_session();
    fake_rsync("echo 'rsync: boom' >&2\nkill -USR2 $$");
    ck_assert_int_eq(mct_rsync_run(&cfg, src, dst, false, NULL, NULL, &code), -EIO);
    ck_assert_int_eq(code, 128 + SIGUSR2);
}
END_TEST

static Suite *rsync_suite(void)
{
    Suite *s = suite_create("rsync");
    TCase *tc = tcase_create("argv");
    tcase_add_test(tc, the_argv_carries_the_flags_limits_excludes_and_paths_in_order);
    tcase_add_test(tc, a_dry_run_argv_lists_what_it_would_copy_and_no_unset_limit);
    tcase_add_test(tc, a_path_is_one_argv_element_after_the_double_dash_whatever_it_holds);
    tcase_add_loop_test(tc, a_flag_that_could_delete_write_elsewhere_or_follow_links_is_refused, 0,
                        ARRAY_SIZE(refused_flags));
    tcase_add_test(tc, harmless_flags_are_accepted);
    tcase_add_test(tc, a_refused_flag_is_named_with_the_allowed_ones);
    tcase_add_test(tc, each_rsync_exit_code_has_its_meaning);
    tcase_add_test(tc, progress2_lines_give_the_percentage_and_other_lines_none);
    suite_add_tcase(s, tc);

    tc = tcase_create("run");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_run_copies_the_contents_and_leaves_out_the_excluded);
    tcase_add_test(tc, a_run_with_nothing_to_copy_still_ends_at_100_percent);
    tcase_add_test(tc, a_dry_run_copies_nothing);
    tcase_add_test(tc, odd_path_names_reach_rsync_as_they_are);
    tcase_add_test(tc, a_failed_run_is_eio_and_keeps_rsyncs_exit_code_and_stderr);
    tcase_add_test(tc, refused_flags_start_no_rsync);
    tcase_add_test(tc, a_missing_rsync_binary_is_enoent);
    tcase_add_test(tc, the_watchdog_terminates_an_rsync_silent_past_the_timeout);
    tcase_add_test(tc, the_watchdog_kills_an_rsync_that_ignores_sigterm);
    tcase_add_test(tc, an_rsync_killed_by_a_signal_is_eio_with_128_plus_the_signal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(rsync_suite());
}
