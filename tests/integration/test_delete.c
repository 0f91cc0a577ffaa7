/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The deletion protocol against real parts: the lab's MariaDB, SQLite
 * file, tmpfs share and rsync copies, through mctctl (and the engine where
 * a test needs two processes or a held lock). Each test has its own
 * participant/date so the sessions of one lab do not interfere; every
 * refusal test proves that every file is still there, byte for byte.
 */
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <dirent.h>

#include "harness.h"
#include "operations.h"
#include "scan.h"
#include "util.h"

static struct lab lab;

static void setup(void)
{
    lab_up(&lab);
}

static void teardown(void)
{
    lab_down(&lab);
}

static void session(const char *args)
{
    ck_assert_msg(lab_sh(&lab, "session %s", args) == 0, "lab.sh session %s failed", args);
}

static bool path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static bool session_exists(const char *p, const char *d)
{
    char src[512];
    lab_source_path(&lab, p, d, src, sizeof(src));
    return path_exists(src);
}

static char *read_text(const char *path)
{
    char *text = NULL;
    int r = mct_read_file(path, 64 << 20, &text);
    if (r == -ENOENT)
        return strdup("");
    ck_assert_msg(r == 0, "cannot read %s: %s", path, strerror(-r));
    return text;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f, "cannot write %s", path);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Every file under root with its size and an FNV-1a hash of its bytes. */
static char *tree_digest(const char *root)
{
    struct mct_scan scan = {0};
    ck_assert_msg(mct_scan_tree(root, NULL, &scan) == 0, "%s is gone", root);
    ck_assert_msg(scan.n_files > 0, "%s holds no files", root);
    struct mct_buf b = {0};
    for (size_t i = 0; i < scan.n_files; i++) {
        _cleanup_free_ char *path = mct_path_join(root, scan.files[i].relpath);
        _cleanup_free_ char *data = NULL;
        ck_assert_int_eq(mct_read_file(path, 64 << 20, &data), 0);
        uint64_t h = 14695981039346656037ULL;
        for (size_t k = 0; k < scan.files[i].size; k++)
            h = (h ^ (unsigned char)data[k]) * 1099511628211ULL;
        mct_buf_printf(&b, "%s %llu %016llx\n", scan.files[i].relpath,
                       (unsigned long long)scan.files[i].size, (unsigned long long)h);
    }
    mct_scan_free(&scan);
    return mct_buf_steal(&b);
}

static char *session_digest(const char *p, const char *d)
{
    char src[512];
    lab_source_path(&lab, p, d, src, sizeof(src));
    return tree_digest(src);
}

/* Append to (or create) dir/name, then date it three hours back, so the
 * age rule does not hide what the test is about. */
static void append_old(const char *dir, const char *name, const char *text)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    struct timespec ts[2] = {{.tv_sec = time(NULL) - 3 * 3600}, {.tv_sec = time(NULL) - 3 * 3600}};
    ck_assert_int_eq(futimens(fd, ts), 0);
    close(fd);
}

static bool trash_is_empty(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/.mctfs-trash", lab.data);
    DIR *d = opendir(path);
    if (!d)
        return true;
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += !streq(de->d_name, ".") && !streq(de->d_name, "..");
    closedir(d);
    return n == 0;
}

/* Lines of the deletion log about P/D with that result (NULL: any). */
static size_t log_lines(const char *p, const char *d, const char *result, char **first)
{
    char path[512], who[300], res[100];
    snprintf(path, sizeof(path), "%s/deletions.log", lab.dir);
    snprintf(who, sizeof(who), "\"participant\":\"%s\",\"date\":\"%s\"", p, d);
    snprintf(res, sizeof(res), "\"result\":\"%s\"", result ? result : "");
    _cleanup_free_ char *text = read_text(path);
    size_t n = 0;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!strstr(l, who) || (result && !strstr(l, res)))
            continue;
        if (n++ == 0 && first)
            *first = strdup(l);
    }
    return n;
}

static size_t log_count(const char *p, const char *d, const char *result)
{
    return log_lines(p, d, result, NULL);
}

static char *log_line(const char *p, const char *d, const char *result)
{
    char *l = NULL;
    ck_assert_msg(log_lines(p, d, result, &l) > 0, "no %s line for %s/%s in the log", result, p,
                  d);
    return l;
}

/* --- config variants: lab.config edited in place, restored before each test --- */

static void config_restore(void)
{
    char orig[512];
    snprintf(orig, sizeof(orig), "%s/backup_config.orig", lab.dir);
    if (path_exists(orig)) {
        _cleanup_free_ char *text = read_text(orig);
        write_file(lab.config, text);
    }
}

static void config_replace(const char *from, const char *to)
{
    char orig[512];
    snprintf(orig, sizeof(orig), "%s/backup_config.orig", lab.dir);
    _cleanup_free_ char *text = read_text(lab.config);
    if (!path_exists(orig))
        write_file(orig, text);
    char *at = strstr(text, from);
    ck_assert_msg(at, "\"%s\" not in %s", from, lab.config);
    *at = '\0';
    _cleanup_free_ char *out = mct_strdup_printf("%s%s%s", text, to, at + strlen(from));
    write_file(lab.config, out);
}

static struct mct_config *load_config(void)
{
    struct mct_config *cfg = NULL;
    char err[512] = "";
    ck_assert_msg(mct_config_load(lab.config, &cfg, err, sizeof(err)) == 0, "%s", err);
    return cfg;
}

static int hold_session_lock(const char *p, const char *d)
{
    _cleanup_config_ struct mct_config *cfg = load_config();
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, p, d, NULL, 0), 0);
    int fd = -1;
    ck_assert_int_eq(mct_session_lock(cfg, &ref, &fd), 0);
    return fd;
}

static char *engine_recover(void)
{
    _cleanup_config_ struct mct_config *cfg = load_config();
    struct mct_op_result res = {0};
    mct_trash_recover(cfg, &res);
    struct mct_buf b = {0};
    for (size_t i = 0; res.lines && res.lines[i]; i++)
        mct_buf_printf(&b, "%s\n", res.lines[i]);
    mct_op_result_free(&res);
    return mct_buf_steal(&b);
}

/* Two processes run the engine's deletion of one session at the same
 * moment (released together by closing a pipe). codes: 0 or -errno's
 * absolute value, per process. */
static void race_engine_deletions(const char *p, const char *d, int codes[2])
{
    int gate[2];
    ck_assert_int_eq(pipe(gate), 0);
    pid_t pids[2];
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] > 0)
            continue;
        close(gate[1]);
        struct mct_config *cfg = load_config();
        struct mct_delete_request req = {.who = "test", .via = "test_delete"};
        mct_session_ref_init(&req.ref, p, d, NULL, 0);
        char c;
        (void)!read(gate[0], &c, 1);
        struct mct_op_result res = {0};
        int r = mct_delete_session(cfg, &req, &res);
        _exit(r < 0 ? -r : 0);
    }
    close(gate[0]);
    close(gate[1]);
    for (int i = 0; i < 2; i++) {
        int status;
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        codes[i] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}

/* Run `mctctl delete P D ARGS...` with stdin; returns the exit status. */
#define DELETE(res, in, p, d, ...) run_mctctl(&lab, in, res, "delete", p, d, ##__VA_ARGS__, NULL)

/* A refusal: exit 1, the reason on stderr, every file in place. */
static void assert_refused(const char *p, const char *d, const char *flags, const char *reason)
{
    _cleanup_free_ char *before = session_digest(p, d);
    struct run_result r;
    int st = flags ? DELETE(&r, "DELETE\n", p, d, flags) : DELETE(&r, "DELETE\n", p, d);
    ck_assert_msg(st == 1, "exit %d, stdout:\n%s\nstderr:\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.err, reason), "no \"%s\" in stderr:\n%s", reason, r.err);
    ck_assert_msg(strstr(r.err, "Nothing was deleted"), "stderr:\n%s", r.err);
    _cleanup_free_ char *after = session_digest(p, d);
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(log_count(p, d, "deleted"), 0);
    run_result_free(&r);
}

START_TEST(test_safe_session_deleted)
{
    session("p101 20240101 --imported --dj --copy");
    char src[512], dst[512], part[512];
    lab_source_path(&lab, "p101", "20240101", src, sizeof(src));
    lab_dest_path(&lab, "p101", "20240101", dst, sizeof(dst));
    snprintf(part, sizeof(part), "%s/p101", lab.data);
    _cleanup_free_ char *copy_before = tree_digest(dst);

    struct run_result r;
    int st = DELETE(&r, "DELETE\n", "p101", "20240101");
    ck_assert_msg(st == 0, "exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, dst), "summary does not name the copy:\n%s", r.out);
    ck_assert_msg(strstr(r.out, "DataJoint"), "summary does not name DataJoint:\n%s", r.out);
    ck_assert_msg(strstr(r.out, "5 files"), "summary without the file count:\n%s", r.out);
    ck_assert(!path_exists(src));
    ck_assert_msg(!path_exists(part), "empty participant folder %s left", part);
    _cleanup_free_ char *copy_after = tree_digest(dst);
    ck_assert_str_eq(copy_before, copy_after);
    ck_assert(trash_is_empty());

    ck_assert_int_eq(log_count("p101", "20240101", "deleted"), 1);
    _cleanup_free_ char *l = log_line("p101", "20240101", "deleted");
    static const char *const fields[] = {
            "\"time\":\"20", "\"user\":", "\"uid\":", "\"host\":", "\"via\":\"mctctl\"",
            "\"files\":5,", "\"bytes\":", "\"mode\":\"normal\"", "\"destinations\":[{",
            "\"name\":\"lab share\"", "\"state\":\"verified\"", "\"datajoint\":{\"state\":\"yes\"",
            "\"single_camera_video\":true"};
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
        ck_assert_msg(strstr(l, fields[i]), "log line lacks %s: %s", fields[i], l);
    ck_assert_msg(strstr(l, dst), "log line lacks the copy path: %s", l);
    run_result_free(&r);
}
END_TEST

START_TEST(test_refuse_not_imported)
{
    session("p102 20240102 --imported --copy");
    assert_refused("p102", "20240102", NULL, "not in DataJoint: ");
}
END_TEST

START_TEST(test_refuse_no_copy)
{
    session("p103 20240103 --imported --dj");
    char dst[512], want[600];
    lab_dest_path(&lab, "p103", "20240103", dst, sizeof(dst));
    snprintf(want, sizeof(want), "no copy at %s", dst);
    assert_refused("p103", "20240103", NULL, want);
}
END_TEST

START_TEST(test_refuse_share_unmounted)
{
    session("p104 20240104 --imported --dj --copy");
    ck_assert_int_eq(lab_sh(&lab, "share-umount"), 0);
    assert_refused("p104", "20240104", NULL, "destination 'lab share' unreachable");
    ck_assert_int_eq(lab_sh(&lab, "share-mount"), 0);
}
END_TEST

START_TEST(test_refuse_copy_short)
{
    session("p105 20240105 --imported --dj --copy");
    char dst[512], f[600];
    lab_dest_path(&lab, "p105", "20240105", dst, sizeof(dst));
    snprintf(f, sizeof(f), "%s/trial_20240105_093000.22001.mp4", dst);
    ck_assert_int_eq(truncate(f, 1999), 0);
    assert_refused("p105", "20240105", NULL,
                   "copy differs: trial_20240105_093000.22001.mp4 size 2000 vs 1999");
}
END_TEST

START_TEST(test_refuse_grown_after_sync)
{
    session("p106 20240106 --imported --dj --copy");
    char src[512];
    lab_source_path(&lab, "p106", "20240106", src, sizeof(src));
    /* Grown, with an old mtime, so the size alone must catch it. */
    append_old(src, "trial_20240106_093000.22002.mp4", "x");
    assert_refused("p106", "20240106", NULL,
                   "copy differs: trial_20240106_093000.22002.mp4 size 2001 vs 2000");
}
END_TEST

START_TEST(test_refuse_young_file)
{
    session("p107 20240107 --imported --dj --copy --age 5");
    assert_refused("p107", "20240107", NULL,
                   "file younger than 60 min: trial_20240107_093000.22001.mp4");
}
END_TEST

START_TEST(test_refuse_lock_and_tmp_files)
{
    session("p108 20240108 --imported --dj --copy");
    char src[512];
    lab_source_path(&lab, "p108", "20240108", src, sizeof(src));
    append_old(src, "acquisition.lock", "");
    assert_refused("p108", "20240108", NULL, "lock file present (the rig may be recording): "
                                             "acquisition.lock");
    append_old(src, "frames.tmp", "");
    assert_refused("p108", "20240108", NULL,
                   "temporary file present (the rig may be recording): frames.tmp");
}
END_TEST

START_TEST(test_refuse_wrong_confirmation)
{
    session("p109 20240109 --imported --dj --copy");
    static const char *const answers[] = {"delete\n", "DELETE ALL\n", " DELETE\n", "", NULL};
    _cleanup_free_ char *before = session_digest("p109", "20240109");
    for (size_t i = 0; i < ARRAY_SIZE(answers); i++) {
        struct run_result r;
        int st = DELETE(&r, answers[i], "p109", "20240109");
        ck_assert_msg(st == 1, "answer %zu: exit %d\n%s", i, st, r.err);
        ck_assert_msg(strstr(r.err, "Confirmation did not match; nothing deleted."), "%s",
                      r.err);
        run_result_free(&r);
        _cleanup_free_ char *after = session_digest("p109", "20240109");
        ck_assert_str_eq(before, after);
    }
    ck_assert_int_eq(log_count("p109", "20240109", "deleted"), 0);
}
END_TEST

START_TEST(test_refuse_database_down)
{
    session("p110 20240110 --imported --dj --copy");
    ck_assert_int_eq(lab_sh(&lab, "db-stop"), 0);
    assert_refused("p110", "20240110", NULL, "DataJoint import unknown");
    ck_assert_int_eq(lab_sh(&lab, "db-start"), 0);
}
END_TEST

START_TEST(test_dry_run_deletes_nothing)
{
    session("p111 20240111 --imported --dj --copy");
    _cleanup_free_ char *before = session_digest("p111", "20240111");
    struct run_result r;
    int st = DELETE(&r, NULL, "p111", "20240111", "--dry-run");
    ck_assert_msg(st == 0, "exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, "Dry run: would delete"), "%s", r.out);
    _cleanup_free_ char *after = session_digest("p111", "20240111");
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(log_count("p111", "20240111", NULL), 0);
    run_result_free(&r);
}
END_TEST

START_TEST(test_force_unverified)
{
    /* Not imported, never copied: deleted, but only loudly and confirmed. */
    session("p112 20240112");
    char src[512];
    lab_source_path(&lab, "p112", "20240112", src, sizeof(src));
    struct run_result r;
    int st = DELETE(&r, "DELETE\n", "p112", "20240112", "--force-unverified");
    ck_assert_msg(st == 0, "exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.err, "SKIPPING the DataJoint import check"), "%s", r.err);
    ck_assert(!path_exists(src));
    _cleanup_free_ char *l = log_line("p112", "20240112", "deleted");
    ck_assert_msg(strstr(l, "\"mode\":\"force-unverified\""), "%s", l);
    run_result_free(&r);

    /* The age rule still holds. */
    session("p113 20240113 --age 5");
    assert_refused("p113", "20240113", "--force-unverified", "file younger than 60 min");
}
END_TEST

START_TEST(test_bulk_delete)
{
    session("s201 20230301 --imported --dj --copy");
    session("s202 20230302 --imported --dj --copy");
    session("s203 20230303 --imported --dj"); /* no copy: unsafe */
    session("s204 20230401 --imported --dj --copy"); /* safe, out of range */
    _cleanup_free_ char *unsafe = session_digest("s203", "20230303");
    _cleanup_free_ char *outside = session_digest("s204", "20230401");
    struct run_result r;

    int st = run_mctctl(&lab, NULL, &r, "bulk-delete", "--start-date", "20230301",
                        "--end-date", "20230331", "--dry-run", NULL);
    ck_assert_msg(st == 0, "dry run: exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, "Skipping 1 session"), "%s", r.out);
    run_result_free(&r);
    st = run_mctctl(&lab, "DELETE\n", &r, "bulk-delete", "--start-date", "20230301",
                    "--end-date", "20230331", NULL);
    ck_assert_int_eq(st, 1);
    ck_assert(strstr(r.err, "Confirmation did not match"));
    run_result_free(&r);
    ck_assert(session_exists("s201", "20230301") && session_exists("s202", "20230302"));

    st = run_mctctl(&lab, "DELETE ALL\n", &r, "bulk-delete", "--start-date", "20230301",
                    "--end-date", "20230331", NULL);
    ck_assert_msg(st == 0, "exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, "[1/2] s201 20230301: deleted"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "[2/2] s202 20230302: deleted"), "%s", r.out);
    ck_assert(!session_exists("s201", "20230301") && !session_exists("s202", "20230302"));
    _cleanup_free_ char *unsafe_after = session_digest("s203", "20230303");
    _cleanup_free_ char *outside_after = session_digest("s204", "20230401");
    ck_assert_str_eq(unsafe, unsafe_after);
    ck_assert_str_eq(outside, outside_after);
    ck_assert_int_eq(log_count("s201", "20230301", "deleted"), 1);
    run_result_free(&r);
}
END_TEST

START_TEST(test_two_deletions_at_once)
{
    session("p114 20240114 --imported --dj --copy");
    int codes[2];
    race_engine_deletions("p114", "20240114", codes);
    int ok = (codes[0] == 0) + (codes[1] == 0);
    int lost = (codes[0] == EBUSY || codes[0] == ENOENT) + (codes[1] == EBUSY || codes[1] == ENOENT);
    ck_assert_msg(ok == 1 && lost == 1, "results %d and %d", codes[0], codes[1]);
    ck_assert(!session_exists("p114", "20240114"));
    ck_assert_int_eq(log_count("p114", "20240114", "deleted"), 1);
    ck_assert(trash_is_empty());
}
END_TEST

START_TEST(test_busy_while_locked)
{
    session("p115 20240115 --imported --dj --copy");
    int fd = hold_session_lock("p115", "20240115");
    assert_refused("p115", "20240115", NULL, "another command is running on p115/20240115");
    close(fd);
}
END_TEST

START_TEST(test_crash_after_move_restored)
{
    session("p116 20240116 --imported --dj --copy");
    _cleanup_free_ char *before = session_digest("p116", "20240116");
    struct run_result r;
    setenv("MCT_TEST_CRASH_AT", "after-move", 1);
    int st = DELETE(&r, "DELETE\n", "p116", "20240116");
    unsetenv("MCT_TEST_CRASH_AT");
    ck_assert_msg(st == 99, "exit %d\n%s", st, r.err);
    ck_assert(!session_exists("p116", "20240116"));
    ck_assert(!trash_is_empty());
    run_result_free(&r);

    /* Any later run recovers first, even one about another session. */
    DELETE(&r, NULL, "p999", "20240101", "--dry-run");
    ck_assert_msg(strstr(r.out, "restored p116/20240116 from an interrupted deletion"), "%s",
                  r.out);
    _cleanup_free_ char *after = session_digest("p116", "20240116");
    ck_assert_str_eq(before, after);
    ck_assert(trash_is_empty());
    ck_assert_int_eq(log_count("p116", "20240116", "deleted"), 0);
    run_result_free(&r);
}
END_TEST

START_TEST(test_crash_after_verify_finished)
{
    session("p117 20240117 --imported --dj --copy");
    char dst[512];
    lab_dest_path(&lab, "p117", "20240117", dst, sizeof(dst));
    _cleanup_free_ char *copy_before = tree_digest(dst);
    struct run_result r;
    setenv("MCT_TEST_CRASH_AT", "after-verify", 1);
    int st = DELETE(&r, "DELETE\n", "p117", "20240117");
    unsetenv("MCT_TEST_CRASH_AT");
    ck_assert_msg(st == 99, "exit %d\n%s", st, r.err);
    ck_assert_int_eq(log_count("p117", "20240117", "deleted"), 0);
    run_result_free(&r);

    DELETE(&r, NULL, "p117", "20240117", "--dry-run");
    ck_assert_msg(strstr(r.out, "finished deleting p117/20240117"), "%s", r.out);
    ck_assert(!session_exists("p117", "20240117"));
    ck_assert(trash_is_empty());
    _cleanup_free_ char *l = log_line("p117", "20240117", "deleted");
    ck_assert_msg(strstr(l, "\"finished_by\":\"recovery\""), "%s", l);
    ck_assert_int_eq(log_count("p117", "20240117", "deleted"), 1);
    _cleanup_free_ char *copy_after = tree_digest(dst);
    ck_assert_str_eq(copy_before, copy_after);
    run_result_free(&r);
}
END_TEST

START_TEST(test_crash_mid_remove_finished)
{
    session("p118 20240118 --imported --dj --copy");
    struct run_result r;
    setenv("MCT_TEST_CRASH_AT", "mid-remove", 1);
    int st = DELETE(&r, "DELETE\n", "p118", "20240118");
    unsetenv("MCT_TEST_CRASH_AT");
    ck_assert_msg(st == 99, "exit %d\n%s", st, r.err);
    ck_assert_int_eq(log_count("p118", "20240118", "deleted"), 1);
    ck_assert(!trash_is_empty());
    run_result_free(&r);

    _cleanup_free_ char *lines = engine_recover();
    ck_assert_msg(strstr(lines, "finished deleting p118/20240118"), "%s", lines);
    ck_assert(!session_exists("p118", "20240118"));
    ck_assert(trash_is_empty());
    ck_assert_int_eq(log_count("p118", "20240118", "deleted"), 1);
}
END_TEST

START_TEST(test_refuse_log_unwritable)
{
    session("p119 20240119 --imported --dj --copy");
    char blocker[600], logp[700];
    snprintf(blocker, sizeof(blocker), "%s/not-a-folder", lab.dir);
    snprintf(logp, sizeof(logp), "%s/deletions.log", blocker);
    write_file(blocker, "a file where the log folder should be\n");
    char from[700];
    snprintf(from, sizeof(from), "%s/deletions.log", lab.dir);
    config_replace(from, logp);
    assert_refused("p119", "20240119", NULL, "cannot write deletion log");
    config_restore();
}
END_TEST

START_TEST(test_refuse_copy_is_source)
{
    /* A "share" that is a bind mount of the source: every file "matches". */
    session("p120 20240120 --imported --dj");
    char bind[600];
    snprintf(bind, sizeof(bind), "%s/bindshare", lab.dir);
    ck_assert_int_eq(mkdir(bind, 0755), 0);
    ck_assert_int_eq(mount(lab.data, bind, NULL, MS_BIND, NULL), 0);
    config_replace(lab.dest_base, bind); /* base_path first: it contains the mount point */
    config_replace(lab.share, bind);
    config_replace("\"{session_date}/{participant_id}\"", "\"{participant_id}/{session_date}\"");
    assert_refused("p120", "20240120", NULL, "is the source itself");
    config_restore();
    ck_assert_int_eq(umount2(bind, MNT_DETACH), 0);
}
END_TEST

START_TEST(test_refuse_checksum_and_no_destination)
{
    session("p121 20240121 --imported --dj --copy");
    config_replace("verify_method: \"size\"", "verify_method: \"checksum\"");
    assert_refused("p121", "20240121", NULL, "verify_method checksum is not implemented yet");
    config_restore();
    config_replace("enabled: true", "enabled: false");
    assert_refused("p121", "20240121", NULL, "no backup destination is enabled");
    config_restore();
}
END_TEST

static Suite *delete_suite(void)
{
    Suite *s = suite_create("delete");
    TCase *tc = tcase_create("protocol");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    /* A test that failed half-way must not leave its config variant behind. */
    tcase_add_checked_fixture(tc, config_restore, NULL);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_safe_session_deleted);
    tcase_add_test(tc, test_refuse_not_imported);
    tcase_add_test(tc, test_refuse_no_copy);
    tcase_add_test(tc, test_refuse_share_unmounted);
    tcase_add_test(tc, test_refuse_copy_short);
    tcase_add_test(tc, test_refuse_grown_after_sync);
    tcase_add_test(tc, test_refuse_young_file);
    tcase_add_test(tc, test_refuse_lock_and_tmp_files);
    tcase_add_test(tc, test_refuse_wrong_confirmation);
    tcase_add_test(tc, test_refuse_database_down);
    tcase_add_test(tc, test_dry_run_deletes_nothing);
    tcase_add_test(tc, test_force_unverified);
    tcase_add_test(tc, test_bulk_delete);
    tcase_add_test(tc, test_two_deletions_at_once);
    tcase_add_test(tc, test_busy_while_locked);
    tcase_add_test(tc, test_crash_after_move_restored);
    tcase_add_test(tc, test_crash_after_verify_finished);
    tcase_add_test(tc, test_crash_mid_remove_finished);
    tcase_add_test(tc, test_refuse_log_unwritable);
    tcase_add_test(tc, test_refuse_copy_is_source);
    tcase_add_test(tc, test_refuse_checksum_and_no_destination);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(delete_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
