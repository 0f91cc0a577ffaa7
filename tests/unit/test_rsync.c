/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rsync runner and the session lock: argv building (and the flags a
 * sync must refuse), exit meanings, progress2 parsing, real local rsync
 * runs between temp dirs, the idle watchdog against a fake rsync that
 * never speaks, and the session lock: flock semantics within one process,
 * a lock file of its own in service.lock_dir that nobody else can take.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock.h"
#include "rsync.h"
#include "util.h"

static char tmpdir[256];
static char lockdir[300];
static char *excludes_tmp[] = {"*.tmp", "*.lock", NULL};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path) < 0 ? -1 : 0;
}

static char *saved_path;

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mct-test-rsync.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    saved_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
}

/* Tests change PATH; restore it for CK_FORK=no runs (valgrind). */
static void teardown(void)
{
    ck_assert_int_eq(setenv("PATH", saved_path, 1), 0);
    free(saved_path);
    ck_assert_int_eq(nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static char *tmp_path(const char *rel)
{
    char *p = mct_path_join(tmpdir, rel);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void make_file(const char *rel, size_t size)
{
    _cleanup_free_ char *p = tmp_path(rel);
    _cleanup_free_ char *dir = strdup(p);
    *strrchr(dir, '/') = '\0';
    ck_assert_int_eq(mct_mkdir_p(dir, 0755), 0);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    char buf[4096];
    memset(buf, 'v', sizeof(buf));
    for (size_t left = size; left;) {
        size_t n = left < sizeof(buf) ? left : sizeof(buf);
        ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
        left -= n;
    }
    close(fd);
}

static void make_dir(const char *rel)
{
    _cleanup_free_ char *p = tmp_path(rel);
    ck_assert_int_eq(mct_mkdir_p(p, 0755), 0);
}

/* Size of tmpdir/rel, -1 when absent. */
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

START_TEST(test_argv_full)
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

START_TEST(test_argv_dry_run_no_limits)
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
START_TEST(test_argv_paths_are_not_options)
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

START_TEST(test_argv_refuses_dangerous_flags)
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
START_TEST(test_flags_message)
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

START_TEST(test_argv_accepts_harmless_flags)
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

START_TEST(test_exit_meanings)
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

START_TEST(test_parse_progress)
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
    make_file("src/trial_20250104_101500.1001.mp4", 3 * 1024 * 1024);
    make_file("src/trial_20250104_101500.json", 2000);
    make_file("src/photos/a.jpg", 40);
    make_file("src/recording.tmp", 10);
    make_dir("dst");
}

START_TEST(test_run_copies_contents)
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
START_TEST(test_run_up_to_date_ends_at_100)
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

START_TEST(test_run_dry_run_copies_nothing)
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

START_TEST(test_run_odd_path_names)
{
    struct mct_config cfg = base_config();
    _cleanup_free_ char *src = tmp_path("-n src 'q' $(x)"), *dst = tmp_path("dst;echo hi");
    int code = -2;

    make_file("-n src 'q' $(x)/a b.mp4", 123);
    make_dir("dst;echo hi");
    ck_assert_int_eq(mct_rsync_run(&cfg, src, dst, false, NULL, NULL, &code), 0);
    ck_assert_int_eq(code, 0);
    ck_assert_int_eq(size_of("dst;echo hi/a b.mp4"), 123);
}
END_TEST

START_TEST(test_run_failure_is_eio)
{
    struct mct_config cfg = base_config();
    struct progress_log pl = {.last = -1, .max = -1};
    _cleanup_free_ char *src = tmp_path("src"), *dst = tmp_path("dst/file");
    _cleanup_free_ char *err = NULL;
    int code = -2;

    make_session();
    make_file("dst/file", 5); /* the destination is a regular file */
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

START_TEST(test_run_refused_flags_spawn_nothing)
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

START_TEST(test_run_missing_binary)
{
    struct mct_config cfg = base_config();
    _cleanup_free_ char *src = tmp_path("src"), *dst = tmp_path("dst");
    _cleanup_free_ char *empty = tmp_path("emptybin");
    int code = -2;

    make_session();
    make_dir("emptybin");
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
    make_dir("bin");
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

START_TEST(test_watchdog_terminates_silent_rsync)
{
    run_silent("exec sleep 60", 128 + SIGTERM);
}
END_TEST

START_TEST(test_watchdog_kills_rsync_ignoring_term)
{
    /* The shell and its sleep both ignore SIGTERM: only SIGKILL to the
     * whole process group ends them. */
    run_silent("trap '' TERM\nsleep 60\nsleep 60", 128 + SIGKILL);
}
END_TEST

START_TEST(test_run_reports_signal_death)
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

/* ---- the session lock ------------------------------------------------- */

static struct mct_config lock_config(void)
{
    struct mct_config cfg = base_config();
    cfg.source_base_path = tmpdir;
    cfg.source_path_structure = "{participant_id}/{session_date}";
    snprintf(lockdir, sizeof(lockdir), "%s/run/locks", tmpdir);
    cfg.service.lock_dir = lockdir;
    return cfg;
}

static const struct mct_session_ref ref_p001 = {"p001", "20250104"};

START_TEST(test_lock_excludes_second_open)
{
    struct mct_config cfg = lock_config();
    int a = -1, b = -1;

    make_dir("p001/20250104");
    ck_assert_int_eq(mct_session_lock(&cfg, &ref_p001, &a), 0);
    ck_assert_int_ge(a, 0);
    /* Same process, second open file description: still excluded. */
    ck_assert_int_eq(mct_session_lock(&cfg, &ref_p001, &b), -EBUSY);
    ck_assert_int_eq(b, -1);
    ck_assert_int_eq(mct_session_lock_ref(&cfg, &ref_p001, &b), -EBUSY);
    close(a);
    ck_assert_int_eq(mct_session_lock(&cfg, &ref_p001, &b), 0);
    ck_assert(fcntl(b, F_GETFD) & FD_CLOEXEC);
    close(b);

    /* The folder was created for it, the service user's alone. */
    struct stat st;
    ck_assert_int_eq(stat(lockdir, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0700);
    ck_assert_int_eq(st.st_uid, geteuid());
}
END_TEST

START_TEST(test_lock_missing_session)
{
    struct mct_config cfg = lock_config();
    int fd = -1;
    ck_assert_int_eq(mct_session_lock(&cfg, &ref_p001, &fd), -ENOENT);
    ck_assert_int_eq(fd, -1);
    /* The lock itself needs no folder (recovery locks sessions that are
     * in the trash), and the failure above released it. */
    ck_assert_int_eq(mct_session_lock_ref(&cfg, &ref_p001, &fd), 0);
    ck_assert_int_ge(fd, 0);
    close(fd);
}
END_TEST

START_TEST(test_lock_refuses_symlinked_session)
{
    struct mct_config cfg = lock_config();
    _cleanup_free_ char *target = tmp_path("elsewhere"), *link = tmp_path("p001/20250104");
    int fd = -1;

    make_dir("elsewhere");
    make_dir("p001");
    ck_assert_int_eq(symlink(target, link), 0);
    ck_assert_int_lt(mct_session_lock(&cfg, &ref_p001, &fd), 0);
    ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(test_lock_not_on_session_folder)
{
    /* Whoever can open the session folder can flock it: that must not
     * stop a command. */
    struct mct_config cfg = lock_config();
    make_dir("p001/20250104");
    _cleanup_free_ char *dir = tmp_path("p001/20250104");
    int foreign = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(foreign, 0);
    ck_assert_int_eq(flock(foreign, LOCK_EX | LOCK_NB), 0);
    int fd = -1;
    ck_assert_int_eq(mct_session_lock(&cfg, &ref_p001, &fd), 0);
    close(fd);
    close(foreign);
}
END_TEST

START_TEST(test_lock_dir_must_be_ours)
{
    struct mct_config cfg = lock_config();
    make_dir("p001/20250104");
    make_dir("run/locks");
    int fd = -1;
    ck_assert_int_eq(chmod(lockdir, 0777), 0);
    ck_assert_int_eq(mct_session_lock(&cfg, &ref_p001, &fd), -EPERM);
    ck_assert_int_eq(chmod(lockdir, 0755), 0);
    ck_assert_int_eq(mct_session_lock(&cfg, &ref_p001, &fd), 0);
    close(fd);

    /* A symlink in its place is refused, not followed. */
    _cleanup_free_ char *moved = tmp_path("run/real");
    ck_assert_int_eq(rename(lockdir, moved), 0);
    ck_assert_int_eq(symlink(moved, lockdir), 0);
    ck_assert_int_lt(mct_session_lock(&cfg, &ref_p001, &fd), 0);
    ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(test_lock_names_per_source_tree)
{
    /* Two source trees with the same session share a lock folder without
     * sharing the lock; odd participant ids get names of their own. */
    struct mct_config a = lock_config(), b = lock_config();
    _cleanup_free_ char *base_b = tmp_path("other");
    b.source_base_path = base_b;
    make_dir("p001/20250104");
    make_dir("other/p001/20250104");
    int fa = -1, fb = -1;
    ck_assert_int_eq(mct_session_lock(&a, &ref_p001, &fa), 0);
    ck_assert_int_eq(mct_session_lock(&b, &ref_p001, &fb), 0);
    close(fa);
    close(fb);

    static const struct mct_session_ref odd1 = {"p%2A1", "20250104"}, odd2 = {"p*1", "20250104"};
    static const struct mct_session_ref long_id = {
            "pxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%"
            "%%%%%%%%%%%%%%%",
            "20250104"};
    ck_assert_int_eq(mct_session_lock_ref(&a, &odd1, &fa), 0);
    ck_assert_int_eq(mct_session_lock_ref(&a, &odd2, &fb), 0);
    close(fb);
    ck_assert_int_eq(mct_session_lock_ref(&a, &long_id, &fb), 0);
    close(fa);
    close(fb);
}
END_TEST

static Suite *rsync_suite(void)
{
    Suite *s = suite_create("rsync");
    TCase *tc = tcase_create("argv");
    tcase_add_test(tc, test_argv_full);
    tcase_add_test(tc, test_argv_dry_run_no_limits);
    tcase_add_test(tc, test_argv_paths_are_not_options);
    tcase_add_loop_test(tc, test_argv_refuses_dangerous_flags, 0, ARRAY_SIZE(refused_flags));
    tcase_add_test(tc, test_argv_accepts_harmless_flags);
    tcase_add_test(tc, test_flags_message);
    tcase_add_test(tc, test_exit_meanings);
    tcase_add_test(tc, test_parse_progress);
    suite_add_tcase(s, tc);

    tc = tcase_create("run");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_run_copies_contents);
    tcase_add_test(tc, test_run_up_to_date_ends_at_100);
    tcase_add_test(tc, test_run_dry_run_copies_nothing);
    tcase_add_test(tc, test_run_odd_path_names);
    tcase_add_test(tc, test_run_failure_is_eio);
    tcase_add_test(tc, test_run_refused_flags_spawn_nothing);
    tcase_add_test(tc, test_run_missing_binary);
    tcase_add_test(tc, test_watchdog_terminates_silent_rsync);
    tcase_add_test(tc, test_watchdog_kills_rsync_ignoring_term);
    tcase_add_test(tc, test_run_reports_signal_death);
    suite_add_tcase(s, tc);

    tc = tcase_create("lock");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_lock_excludes_second_open);
    tcase_add_test(tc, test_lock_missing_session);
    tcase_add_test(tc, test_lock_refuses_symlinked_session);
    tcase_add_test(tc, test_lock_not_on_session_folder);
    tcase_add_test(tc, test_lock_dir_must_be_ours);
    tcase_add_test(tc, test_lock_names_per_source_tree);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rsync_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
