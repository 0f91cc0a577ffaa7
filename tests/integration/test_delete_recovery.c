/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An interrupted deletion against real parts (the lab): two at once, a
 * crash at each step (MCT_TEST_CRASH_AT), a session that changed while it
 * was in the trash, and the recovery that every later run does first:
 * it restores or finishes, and never overwrites what took the session's
 * place. The engine is called directly where a test needs two processes
 * or a stop between two steps.
 */
#include <check.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kit.h"
#include "operations.h"

/* Run `mctctl delete P D ARGS...` with stdin; returns the exit status. */
#define DELETE(res, in, p, d, ...) kit_mctctl(NULL, in, res, "delete", p, d, ##__VA_ARGS__, NULL)

/* `mctctl delete P D`, DELETE typed, crashing at point (MCT_TEST_CRASH_AT
 * makes it exit 99 there); the exit status. */
static int delete_crashing_at(const char *point, const char *p, const char *d, struct kit_result *r)
{
    setenv("MCT_TEST_CRASH_AT", point, 1);
    int st = DELETE(r, "DELETE\n", p, d);
    unsetenv("MCT_TEST_CRASH_AT");
    return st;
}

static char *engine_recover(void)
{
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    struct mct_op_result res = {0};
    mct_trash_recover(cfg, false, &res);
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
        struct mct_config *cfg = kit_load_config();
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

START_TEST(two_deletions_at_once_delete_once)
{
    kit_session("p114 20240114 --imported --dj --copy");
    int codes[2];
    race_engine_deletions("p114", "20240114", codes);
    int ok = (codes[0] == 0) + (codes[1] == 0);
    int lost =
            (codes[0] == EBUSY || codes[0] == ENOENT) + (codes[1] == EBUSY || codes[1] == ENOENT);
    ck_assert_msg(ok == 1 && lost == 1, "results %d and %d", codes[0], codes[1]);
    ck_assert(!kit_session_exists("p114", "20240114"));
    ck_assert_int_eq(kit_log_count("p114", "20240114", "deleted"), 1);
    ck_assert(kit_trash_empty());
}
END_TEST

START_TEST(a_crash_after_the_move_is_restored)
{
    kit_session("p116 20240116 --imported --dj --copy");
    _cleanup_free_ char *before = kit_session_digest("p116", "20240116");
    struct kit_result r;
    int st = delete_crashing_at("after-move", "p116", "20240116", &r);
    ck_assert_msg(st == 99, "exit %d\n%s", st, r.err);
    ck_assert(!kit_session_exists("p116", "20240116"));
    ck_assert(!kit_trash_empty());
    kit_result_free(&r);

    /* A dry run only says what recovery would do. */
    DELETE(&r, NULL, "p999", "20240101", "--dry-run");
    ck_assert_msg(strstr(r.out, "would restore p116/20240116 from an interrupted deletion"), "%s",
                  r.out);
    ck_assert(!kit_session_exists("p116", "20240116"));
    ck_assert(!kit_trash_empty());
    kit_result_free(&r);

    /* Any later real run recovers first, even one about another session. */
    DELETE(&r, NULL, "p999", "20240101");
    ck_assert_msg(strstr(r.out, "restored p116/20240116 from an interrupted deletion"), "%s",
                  r.out);
    _cleanup_free_ char *after = kit_session_digest("p116", "20240116");
    ck_assert_str_eq(before, after);
    ck_assert(kit_trash_empty());
    ck_assert_int_eq(kit_log_count("p116", "20240116", "deleted"), 0);
    kit_result_free(&r);
}
END_TEST

START_TEST(a_crash_after_verify_is_finished)
{
    kit_session("p117 20240117 --imported --dj --copy");
    char dst[512];
    kit_dest_path("p117", "20240117", dst, sizeof(dst));
    _cleanup_free_ char *copy_before = kit_tree_digest(dst);
    /* The digest of a copy that is not there is "": equal to itself. */
    ck_assert_msg(*copy_before, "%s is gone or empty", dst);
    struct kit_result r;
    int st = delete_crashing_at("after-verify", "p117", "20240117", &r);
    ck_assert_msg(st == 99, "exit %d\n%s", st, r.err);
    ck_assert_int_eq(kit_log_count("p117", "20240117", "deleted"), 0);
    kit_result_free(&r);

    DELETE(&r, NULL, "p117", "20240117", "--dry-run");
    ck_assert_msg(strstr(r.out, "would finish deleting p117/20240117"), "%s", r.out);
    ck_assert(!kit_trash_empty());
    ck_assert_int_eq(kit_log_count("p117", "20240117", "deleted"), 0);
    kit_result_free(&r);

    DELETE(&r, NULL, "p117", "20240117");
    ck_assert_msg(strstr(r.out, "finished deleting p117/20240117"), "%s", r.out);
    ck_assert(!kit_session_exists("p117", "20240117"));
    ck_assert(kit_trash_empty());
    _cleanup_free_ char *l = kit_log_line("p117", "20240117", "deleted");
    ck_assert_msg(strstr(l, "\"finished_by\":\"recovery\""), "%s", l);
    ck_assert_int_eq(kit_log_count("p117", "20240117", "deleted"), 1);
    _cleanup_free_ char *copy_after = kit_tree_digest(dst);
    ck_assert_str_eq(copy_before, copy_after);
    kit_result_free(&r);
}
END_TEST

START_TEST(a_crash_mid_remove_is_finished)
{
    kit_session("p118 20240118 --imported --dj --copy");
    struct kit_result r;
    int st = delete_crashing_at("mid-remove", "p118", "20240118", &r);
    ck_assert_msg(st == 99, "exit %d\n%s", st, r.err);
    ck_assert_int_eq(kit_log_count("p118", "20240118", "deleted"), 1);
    ck_assert(!kit_trash_empty());
    kit_result_free(&r);

    _cleanup_free_ char *lines = engine_recover();
    ck_assert_msg(strstr(lines, "finished deleting p118/20240118"), "%s", lines);
    ck_assert(!kit_session_exists("p118", "20240118"));
    ck_assert(kit_trash_empty());
    ck_assert_int_eq(kit_log_count("p118", "20240118", "deleted"), 1);
}
END_TEST

START_TEST(a_session_changed_after_the_move_is_put_back)
{
    /* Stopped between the move and the comparison, the session grows. */
    kit_session("p125 20240125 --imported --dj --copy");
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
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
    ck_assert(kit_trash_entry("p125", entry, sizeof(entry)));
    kit_append_old(entry, "trial_20240125_093000.22003.mp4", "late frames");
    kill(pid, SIGCONT);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    char f[700];
    kit_source_path("p125", "20240125", f, sizeof(f));
    strcat(f, "/trial_20240125_093000.22003.mp4");
    struct stat st;
    ck_assert_int_eq(stat(f, &st), 0);
    ck_assert_int_eq(st.st_size, 2000 + strlen("late frames"));
    ck_assert(kit_trash_empty());
    ck_assert_int_eq(kit_log_count("p125", "20240125", "deleted"), 0);
}
END_TEST

START_TEST(recovery_never_overwrites)
{
    kit_session("p126 20240126 --imported --dj --copy");
    _cleanup_free_ char *before = kit_session_digest("p126", "20240126");
    struct kit_result r;
    int st = delete_crashing_at("after-move", "p126", "20240126", &r);
    ck_assert_int_eq(st, 99);
    kit_result_free(&r);

    /* Something new took the session's place: recovery must not clobber
     * it, and must say so; once it is gone the session comes back. */
    char src[512];
    kit_source_path("p126", "20240126", src, sizeof(src));
    ck_assert_int_eq(mkdir(src, 0755), 0);
    _cleanup_free_ char *lines = engine_recover();
    ck_assert_msg(strstr(lines, "WARNING: interrupted deletion of p126/20240126 not restored"),
                  "%s", lines);
    ck_assert(!kit_trash_empty());
    ck_assert_int_eq(rmdir(src), 0);
    _cleanup_free_ char *again = engine_recover();
    ck_assert_msg(strstr(again, "restored p126/20240126"), "%s", again);
    _cleanup_free_ char *after = kit_session_digest("p126", "20240126");
    ck_assert_str_eq(before, after);

    /* A folder in the trash without a journal is reported and left. */
    char orphan[600];
    snprintf(orphan, sizeof(orphan), "%s/.mctfs-trash/p127__20240127__1__1", lab.data);
    ck_assert_int_eq(mkdir(orphan, 0700), 0);
    _cleanup_free_ char *third = engine_recover();
    ck_assert_msg(strstr(third, "p127__20240127__1__1 has no journal: left in place"), "%s", third);
    ck_assert(kit_exists(orphan));
    ck_assert_int_eq(rmdir(orphan), 0);
}
END_TEST

static Suite *recovery_suite(void)
{
    Suite *s = suite_create("delete-recovery");
    TCase *tc = tcase_create("interrupted");
    tcase_add_unchecked_fixture(tc, kit_setup, kit_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, two_deletions_at_once_delete_once);
    tcase_add_test(tc, a_crash_after_the_move_is_restored);
    tcase_add_test(tc, a_crash_after_verify_is_finished);
    tcase_add_test(tc, a_crash_mid_remove_is_finished);
    tcase_add_test(tc, a_session_changed_after_the_move_is_put_back);
    tcase_add_test(tc, recovery_never_overwrites);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(recovery_suite());
}
