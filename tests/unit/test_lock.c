/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session lock (fs/core/lock.c), shared by mctctl and the mount:
 * flock semantics within one process, a lock file of its own in
 * service.lock_dir that nobody else can take, never the session folder.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock.h"
#include "operations.h"
#include "tmpdir.h"
#include "unit.h"
#include "util.h"

static char lockdir[300];

/* A source tree in tmp_dir, its locks in tmp_dir/run/locks. */
static struct mct_config lock_config(void)
{
    struct mct_config cfg = {.path = "test_config.yaml"};
    cfg.source_base_path = tmp_dir;
    cfg.source_path_structure = "{participant_id}/{session_date}";
    snprintf(lockdir, sizeof(lockdir), "%s/run/locks", tmp_dir);
    cfg.service.lock_dir = lockdir;
    return cfg;
}

static const struct mct_session_ref ref_p001 = {"p001", "20250104"};

START_TEST(a_locked_session_cannot_be_locked_again_even_by_the_same_process)
{
    struct mct_config cfg = lock_config();
    int a = -1, b = -1;

    tmp_make_dir("p001/20250104");
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

START_TEST(locking_a_missing_session_is_enoent_and_leaves_nothing_locked)
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

START_TEST(a_symlinked_session_folder_is_not_locked)
{
    struct mct_config cfg = lock_config();
    _cleanup_free_ char *target = tmp_path("elsewhere"), *link = tmp_path("p001/20250104");
    int fd = -1;

    tmp_make_dir("elsewhere");
    tmp_make_dir("p001");
    ck_assert_int_eq(symlink(target, link), 0);
    ck_assert_int_lt(mct_session_lock(&cfg, &ref_p001, &fd), 0);
    ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(a_flock_on_the_session_folder_itself_does_not_stop_a_command)
{
    /* Whoever can open the session folder can flock it: that must not
     * stop a command. */
    struct mct_config cfg = lock_config();
    tmp_make_dir("p001/20250104");
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

START_TEST(the_lock_folder_must_be_ours_and_not_a_symlink)
{
    struct mct_config cfg = lock_config();
    tmp_make_dir("p001/20250104");
    tmp_make_dir("run/locks");
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

START_TEST(each_source_tree_and_odd_participant_id_gets_a_lock_of_its_own)
{
    /* Two source trees with the same session share a lock folder without
     * sharing the lock; odd participant ids get names of their own. */
    struct mct_config a = lock_config(), b = lock_config();
    _cleanup_free_ char *base_b = tmp_path("other");
    b.source_base_path = base_b;
    tmp_make_dir("p001/20250104");
    tmp_make_dir("other/p001/20250104");
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

static Suite *lock_suite(void)
{
    Suite *s = suite_create("lock");
    TCase *tc = tcase_create("lock");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, a_locked_session_cannot_be_locked_again_even_by_the_same_process);
    tcase_add_test(tc, locking_a_missing_session_is_enoent_and_leaves_nothing_locked);
    tcase_add_test(tc, a_symlinked_session_folder_is_not_locked);
    tcase_add_test(tc, a_flock_on_the_session_folder_itself_does_not_stop_a_command);
    tcase_add_test(tc, the_lock_folder_must_be_ours_and_not_a_symlink);
    tcase_add_test(tc, each_source_tree_and_odd_participant_id_gets_a_lock_of_its_own);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(lock_suite());
}
