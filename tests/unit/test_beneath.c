/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Opens below a folder never follow a symlink nor leave the folder, with
 * openat2 and with the component-by-component fallback alike. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "unit.h"
#include "util.h"

static char root[64];
static int root_fd = -1;

static void make_tree(void)
{
    snprintf(root, sizeof(root), "/tmp/mct-beneath.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    char p[256];
    snprintf(p, sizeof(p), "%s/a/b", root);
    ck_assert_int_eq(mct_mkdir_p(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/a/b/f", root);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs("data", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/outside", root);
    ck_assert_int_eq(mct_mkdir_p(p, 0755), 0);
    /* a/link -> ../outside (inside), a/abs -> /etc (outside) */
    snprintf(p, sizeof(p), "%s/a/link", root);
    ck_assert_int_eq(symlink("../outside", p), 0);
    snprintf(p, sizeof(p), "%s/a/abs", root);
    ck_assert_int_eq(symlink("/etc", p), 0);
    snprintf(p, sizeof(p), "%s/a", root);
    root_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(root_fd, 0);
}

static void setup(void)
{
    make_tree();
}

static void teardown(void)
{
    mct_beneath_force_fallback(false);
    close(root_fd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

static void check_rules(void)
{
    int fd = mct_openat_beneath(root_fd, "b/f", O_RDONLY, 0, 0);
    ck_assert_int_ge(fd, 0);
    char buf[8] = "";
    ck_assert_int_eq(read(fd, buf, sizeof(buf)), 4);
    close(fd);

    ck_assert_int_eq(mct_openat_beneath(root_fd, "link", O_RDONLY, 0, 0), -ELOOP);
    ck_assert_int_eq(mct_openat_beneath(root_fd, "abs/passwd", O_RDONLY, 0, 0), -ELOOP);
    ck_assert_int_eq(mct_openat_beneath(root_fd, "link/x", O_RDONLY, 0, 0), -ELOOP);
    ck_assert_int_eq(mct_openat_beneath(root_fd, "../outside", O_RDONLY | O_DIRECTORY, 0, 0),
                     -EXDEV);
    ck_assert_int_eq(mct_openat_beneath(root_fd, "/etc/passwd", O_RDONLY, 0, 0), -EXDEV);
    ck_assert_int_eq(mct_openat_beneath(root_fd, "b/missing", O_RDONLY, 0, 0), -ENOENT);

    fd = mct_opendir_beneath(root_fd, "", 0);
    ck_assert_int_ge(fd, 0);
    close(fd);

    struct stat st;
    ck_assert_int_eq(mct_stat_beneath(root_fd, "link", &st, 0), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(mct_stat_beneath(root_fd, "b/f", &st, 0), 0);
    ck_assert_int_eq(st.st_size, 4);
    ck_assert_int_eq(mct_stat_beneath(root_fd, "link/f", &st, 0), -ELOOP);

    fd = mct_mkdir_beneath(root_fd, "b/new/deeper", 0755, 0);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(mct_stat_beneath(root_fd, "b/new/deeper", &st, 0), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(mct_mkdir_beneath(root_fd, "link/new", 0755, 0), -ELOOP);
    char p[256];
    snprintf(p, sizeof(p), "%s/outside/new", root);
    ck_assert_int_eq(access(p, F_OK), -1);
}

START_TEST(opens_below_a_folder_never_follow_symlinks)
{
    check_rules();
}
END_TEST

START_TEST(the_fallback_walk_keeps_the_same_rules)
{
    mct_beneath_force_fallback(true);
    check_rules();
}
END_TEST

START_TEST(no_xdev_refuses_another_filesystem)
{
    /* /proc is another filesystem than /tmp's wherever this runs. */
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    int r = mct_openat_beneath(fd, "proc/self", O_PATH, 0, MCT_BENEATH_NO_XDEV);
    ck_assert_int_lt(r, 0);
    mct_beneath_force_fallback(true);
    ck_assert_int_eq(mct_openat_beneath(fd, "proc/version", O_RDONLY, 0, MCT_BENEATH_NO_XDEV),
                     -EXDEV);
    close(fd);
}
END_TEST

static Suite *beneath_suite(void)
{
    Suite *s = suite_create("beneath");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, opens_below_a_folder_never_follow_symlinks);
    tcase_add_test(tc, the_fallback_walk_keeps_the_same_rules);
    tcase_add_test(tc, no_xdev_refuses_another_filesystem);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(beneath_suite());
}
