/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The deletion protocol against real parts: the lab's MariaDB, SQLite
 * file, tmpfs share and rsync copies, through mctctl (and the engine where
 * a test needs two processes or a held lock). Each test has its own
 * participant/date so the sessions of one lab do not interfere; every
 * refusal test proves that every file is still there, byte for byte.
 */
#include <check.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "test_delete_helpers.h"

/* Run `mctctl delete P D ARGS...` with stdin; returns the exit status. */
#define DELETE(res, in, p, d, ...) run_mctctl(&lab, in, res, "delete", p, d, ##__VA_ARGS__, NULL)

/* Set before assert_refused() to put the lab back (lab.sh ARGS) right
 * after the run, so a failed assertion cannot leave it broken. */
static const char *lab_undo;

/* A refusal: exit want, the reason on stderr, every file in place, and
 * the refusal in the deletion log (unless the log is what is broken). */
static void assert_refused_exit(const char *p, const char *d, const char *flags, const char *reason,
                                int want)
{
    _cleanup_free_ char *before = session_digest(p, d);
    size_t refusals = log_count(p, d, "refused");
    struct run_result r;
    int st = flags ? DELETE(&r, "DELETE\n", p, d, flags) : DELETE(&r, "DELETE\n", p, d);
    if (lab_undo)
        ck_assert_int_eq(lab_sh(&lab, "%s", lab_undo), 0);
    lab_undo = NULL;
    ck_assert_msg(st == want, "exit %d, not %d, stdout:\n%s\nstderr:\n%s", st, want, r.out, r.err);
    ck_assert_msg(strstr(r.err, reason), "no \"%s\" in stderr:\n%s", reason, r.err);
    ck_assert_msg(strstr(r.err, "Nothing was deleted"), "stderr:\n%s", r.err);
    _cleanup_free_ char *after = session_digest(p, d);
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(log_count(p, d, "deleted"), 0);
    if (!strstr(reason, "deletion log"))
        ck_assert_int_eq(log_count(p, d, "refused"), refusals + 1);
    run_result_free(&r);
}

/* Refused as unsafe: exit 4 (mctctl(1), EXIT STATUS). */
static void assert_refused(const char *p, const char *d, const char *flags, const char *reason)
{
    assert_refused_exit(p, d, flags, reason, 4);
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
    static const char *const fields[] = {"\"time\":\"20",
                                         "\"user\":",
                                         "\"uid\":",
                                         "\"host\":",
                                         "\"via\":\"mctctl\"",
                                         "\"files\":5,",
                                         "\"bytes\":",
                                         "\"mode\":\"normal\"",
                                         "\"destinations\":[{",
                                         "\"name\":\"lab share\"",
                                         "\"state\":\"verified\"",
                                         "\"datajoint\":{\"state\":\"yes\"",
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
    /* No recordings: the per-recording checks had nothing to check, which
     * is no "could not be checked" (no database trouble). */
    struct run_result r;
    ck_assert_int_eq(DELETE(&r, "DELETE\n", "p102", "20240102"), 4);
    ck_assert_msg(strstr(r.err, "no recording rows") && !strstr(r.err, "could not be checked"),
                  "stderr:\n%s", r.err);
    run_result_free(&r);
    /* Imported once, then rows vanished from one table. */
    session("p124 20240124 --imported --dj --copy");
    ck_assert_int_eq(lab_sh(&lab, "dj-delete single_camera_video p124 20240124"), 0);
    /* The sentence is datajoint.c's (mct_dj_check_failures); it names the table. */
    assert_refused("p124", "20240124", NULL, "single_camera_video");
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
    lab_undo = "share-mount";
    /* Nothing but the share stood in the way: exit 3, "could not check". */
    assert_refused_exit("p104", "20240104", NULL, "destination 'lab share' unreachable", 3);
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
                   "trial_20240105_093000.22001.mp4: source 2000 bytes, copy 1999");
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
                   "trial_20240106_093000.22002.mp4: source 2001 bytes, copy 2000");
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
    assert_refused("p108", "20240108", NULL,
                   "lock or temporary file present (the rig may be recording): "
                   "acquisition.lock");
    append_old(src, "frames.tmp", "");
    assert_refused("p108", "20240108", NULL,
                   "lock or temporary file present (the rig may be recording): "
                   "acquisition.lock (and 1 more)");
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
        ck_assert_msg(strstr(r.err, "Confirmation did not match; nothing deleted."), "%s", r.err);
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
    lab_undo = "db-start";
    assert_refused_exit("p110", "20240110", NULL, "DataJoint state unknown", 3);
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
    session("s203 20230303 --imported --dj");        /* no copy: unsafe */
    session("s204 20230401 --imported --dj --copy"); /* safe, out of range */
    _cleanup_free_ char *unsafe = session_digest("s203", "20230303");
    _cleanup_free_ char *outside = session_digest("s204", "20230401");
    struct run_result r;

    int st = run_mctctl(&lab, NULL, &r, "bulk-delete", "--start-date", "20230301", "--end-date",
                        "20230331", "--dry-run", NULL);
    ck_assert_msg(st == 0, "dry run: exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, "Skipping 1 session"), "%s", r.out);
    run_result_free(&r);
    st = run_mctctl(&lab, "DELETE\n", &r, "bulk-delete", "--start-date", "20230301", "--end-date",
                    "20230331", NULL);
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

START_TEST(test_bulk_delete_json)
{
    session("s211 20230501 --imported --dj --copy");
    session("s212 20230502 --imported --dj --copy");
    session("s213 20230503 --imported --dj"); /* no copy: unsafe */
    struct run_result r;

    int st = bulk_json(&r, NULL, "--dry-run", "20230501", "20230531");
    ck_assert_msg(st == 0, "dry run: exit %d\n%s", st, r.err);
    assert_has(r.out, "{\"dry_run\":true,\"start_date\":\"20230501\",\"end_date\":\"20230531\"");
    assert_bulk_entry(r.out, "s211", "would-delete", "\"date\":\"20230501\"", "\"error\":\"\"",
                      NULL);
    assert_bulk_entry(r.out, "s213", "skipped-not-safe", "\"reasons\":[\"", NULL);
    assert_has(r.out, "\"summary\":{\"sessions\":3,\"skipped_not_safe\":1,\"not_confirmed\":0,"
                      "\"would_delete\":2,\"refused\":0,\"error\":0,\"bytes_to_free\":");
    run_result_free(&r);

    /* The confirmation is still read from stdin, and still required. */
    st = bulk_json(&r, "DELETE\n", NULL, "20230501", "20230531");
    ck_assert_int_eq(st, 1);
    assert_bulk_entry(r.out, "s212", "not-confirmed", NULL);
    assert_has(r.out, "\"not_confirmed\":2,\"deleted\":0,");
    run_result_free(&r);
    ck_assert(session_exists("s211", "20230501") && session_exists("s212", "20230502"));

    st = bulk_json(&r, "DELETE ALL\n", NULL, "20230501", "20230531");
    ck_assert_msg(st == 0, "exit %d\n%s", st, r.err);
    assert_bulk_entry(r.out, "s211", "deleted", "\"error\":\"\",\"reasons\":[]", NULL);
    assert_bulk_entry(r.out, "s212", "deleted", NULL);
    assert_bulk_entry(r.out, "s213", "skipped-not-safe", NULL);
    assert_has(r.out, "\"skipped_not_safe\":1,\"not_confirmed\":0,\"deleted\":2,\"refused\":0,"
                      "\"error\":0,\"bytes_freed\":");
    ck_assert(!session_exists("s211", "20230501") && !session_exists("s212", "20230502"));
    ck_assert(session_exists("s213", "20230503"));
    run_result_free(&r);
}
END_TEST

START_TEST(test_two_deletions_at_once)
{
    session("p114 20240114 --imported --dj --copy");
    int codes[2];
    race_engine_deletions("p114", "20240114", codes);
    int ok = (codes[0] == 0) + (codes[1] == 0);
    int lost =
            (codes[0] == EBUSY || codes[0] == ENOENT) + (codes[1] == EBUSY || codes[1] == ENOENT);
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
    /* Busy is no safety verdict: exit 1, try again. */
    assert_refused_exit("p115", "20240115", NULL, "another command is running on p115/20240115", 1);
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

    /* A dry run only says what recovery would do. */
    DELETE(&r, NULL, "p999", "20240101", "--dry-run");
    ck_assert_msg(strstr(r.out, "would restore p116/20240116 from an interrupted deletion"), "%s",
                  r.out);
    ck_assert(!session_exists("p116", "20240116"));
    ck_assert(!trash_is_empty());
    run_result_free(&r);

    /* Any later real run recovers first, even one about another session. */
    DELETE(&r, NULL, "p999", "20240101");
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
    ck_assert_msg(strstr(r.out, "would finish deleting p117/20240117"), "%s", r.out);
    ck_assert(!trash_is_empty());
    ck_assert_int_eq(log_count("p117", "20240117", "deleted"), 0);
    run_result_free(&r);

    DELETE(&r, NULL, "p117", "20240117");
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

START_TEST(test_changed_after_move_put_back)
{
    /* Stopped between the move and the comparison, the session grows. */
    session("p125 20240125 --imported --dj --copy");
    _cleanup_config_ struct mct_config *cfg = load_config();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setenv("MCT_TEST_STOP_AT", "after-move", 1);
        struct mct_delete_request req = {.who = "test", .via = "test_delete"};
        mct_session_ref_init(&req.ref, "p125", "20240125", NULL, 0);
        struct mct_op_result res = {0};
        int r = mct_delete_session(cfg, &req, &res);
        bool named = res.reasons && strstr(res.reasons[0], "session changed during deletion: "
                                                           "trial_20240125_093000.22003.mp4");
        _exit(r == -EPERM && named ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, WUNTRACED), pid);
    ck_assert(WIFSTOPPED(status));
    char entry[1024];
    ck_assert(trash_entry_of("p125", entry, sizeof(entry)));
    append_old(entry, "trial_20240125_093000.22003.mp4", "late frames");
    kill(pid, SIGCONT);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    char f[700];
    lab_source_path(&lab, "p125", "20240125", f, sizeof(f));
    strcat(f, "/trial_20240125_093000.22003.mp4");
    struct stat st;
    ck_assert_int_eq(stat(f, &st), 0);
    ck_assert_int_eq(st.st_size, 2000 + strlen("late frames"));
    ck_assert(trash_is_empty());
    ck_assert_int_eq(log_count("p125", "20240125", "deleted"), 0);
}
END_TEST

START_TEST(test_recover_never_overwrites)
{
    session("p126 20240126 --imported --dj --copy");
    _cleanup_free_ char *before = session_digest("p126", "20240126");
    struct run_result r;
    setenv("MCT_TEST_CRASH_AT", "after-move", 1);
    int st = DELETE(&r, "DELETE\n", "p126", "20240126");
    unsetenv("MCT_TEST_CRASH_AT");
    ck_assert_int_eq(st, 99);
    run_result_free(&r);

    /* Something new took the session's place: recovery must not clobber
     * it, and must say so; once it is gone the session comes back. */
    char src[512];
    lab_source_path(&lab, "p126", "20240126", src, sizeof(src));
    ck_assert_int_eq(mkdir(src, 0755), 0);
    _cleanup_free_ char *lines = engine_recover();
    ck_assert_msg(strstr(lines, "WARNING: interrupted deletion of p126/20240126 not restored"),
                  "%s", lines);
    ck_assert(!trash_is_empty());
    ck_assert_int_eq(rmdir(src), 0);
    _cleanup_free_ char *again = engine_recover();
    ck_assert_msg(strstr(again, "restored p126/20240126"), "%s", again);
    _cleanup_free_ char *after = session_digest("p126", "20240126");
    ck_assert_str_eq(before, after);

    /* A folder in the trash without a journal is reported and left. */
    char orphan[600];
    snprintf(orphan, sizeof(orphan), "%s/.mctfs-trash/p127__20240127__1__1", lab.data);
    ck_assert_int_eq(mkdir(orphan, 0700), 0);
    _cleanup_free_ char *third = engine_recover();
    ck_assert_msg(strstr(third, "p127__20240127__1__1 has no journal: left in place"), "%s", third);
    ck_assert(path_exists(orphan));
    ck_assert_int_eq(rmdir(orphan), 0);
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
    /* A "share" that is a bind mount of the source: every file "matches",
     * but it is the source's own filesystem. */
    session("p120 20240120 --imported --dj");
    char bind[600];
    snprintf(bind, sizeof(bind), "%s/bindshare", lab.dir);
    ck_assert_int_eq(mkdir(bind, 0755), 0);
    ck_assert_int_eq(mount(lab.data, bind, NULL, MS_BIND, NULL), 0);
    config_replace(lab.dest_base, bind); /* base_path first: it contains the mount point */
    config_replace(lab.share, bind);
    config_replace("\"{session_date}/{participant_id}\"", "\"{participant_id}/{session_date}\"");
    assert_refused("p120", "20240120", NULL, "not a copy: ");
    assert_refused("p120", "20240120", NULL, "is on the source's own filesystem");
    config_restore();
    ck_assert_int_eq(umount2(bind, MNT_DETACH), 0);
}
END_TEST

START_TEST(test_refuse_mount_inside)
{
    session("p123 20240123 --imported --dj --copy");
    char sub[600];
    lab_source_path(&lab, "p123", "20240123", sub, sizeof(sub));
    strcat(sub, "/usb");
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    ck_assert_int_eq(mount("tmpfs", sub, "tmpfs", 0, "size=1m"), 0);
    struct run_result r;
    int st = DELETE(&r, "DELETE\n", "p123", "20240123");
    ck_assert_int_eq(umount2(sub, MNT_DETACH), 0);
    ck_assert_msg(st == 4, "exit %d\n%s", st, r.err);
    ck_assert_msg(strstr(r.err, "a filesystem is mounted in the session: "), "%s", r.err);
    ck_assert(session_exists("p123", "20240123"));
    ck_assert_int_eq(log_count("p123", "20240123", "deleted"), 0);
    run_result_free(&r);
}
END_TEST

START_TEST(test_refuse_checksum_and_no_destination)
{
    session("p121 20240121 --imported --dj --copy");
    /* One byte of the copy changed, its size not: only checksum sees it. */
    char dst[512], f[600];
    lab_dest_path(&lab, "p121", "20240121", dst, sizeof(dst));
    snprintf(f, sizeof(f), "%s/trial_20240121_093000.22003.mp4", dst);
    int fd = open(f, O_RDWR | O_CLOEXEC);
    unsigned char c = 0;
    ck_assert_int_eq(pread(fd, &c, 1, 7), 1);
    c ^= 0x80;
    ck_assert_int_eq(pwrite(fd, &c, 1, 7), 1);
    close(fd);
    config_replace("verify_method: \"size\"", "verify_method: \"checksum\"");
    assert_refused("p121", "20240121", NULL,
                   "content differs (XXH3-128): trial_20240121_093000.22003.mp4");
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
    tcase_add_test(tc, test_bulk_delete_json);
    tcase_add_test(tc, test_two_deletions_at_once);
    tcase_add_test(tc, test_busy_while_locked);
    tcase_add_test(tc, test_crash_after_move_restored);
    tcase_add_test(tc, test_crash_after_verify_finished);
    tcase_add_test(tc, test_crash_mid_remove_finished);
    tcase_add_test(tc, test_changed_after_move_put_back);
    tcase_add_test(tc, test_recover_never_overwrites);
    tcase_add_test(tc, test_refuse_log_unwritable);
    tcase_add_test(tc, test_refuse_copy_is_source);
    tcase_add_test(tc, test_refuse_mount_inside);
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
