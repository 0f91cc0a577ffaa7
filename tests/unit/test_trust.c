/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Whose files we take orders from (trust.h): the rules on made-up stats,
 * then on real files as mct_config_find() and mct_config_load() apply
 * them to the config and its password file. The file tests chown, so
 * they need root, as the integration tests do.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "trust.h"
#include "unit.h"
#include "util.h"

#define STRANGER ((uid_t)4242)

static char err[2048];

#define assert_has(s, needle) ck_assert_msg(strstr((s), (needle)), "no '%s' in: %s", (needle), (s))

static struct stat file_st(uid_t uid, mode_t mode)
{
    return (struct stat){.st_uid = uid, .st_mode = S_IFREG | mode};
}

START_TEST(a_file_owned_by_root_the_caller_or_the_service_is_trusted_and_no_other)
{
    struct mct_trust t = {.caller = 1000, .service = 999, .service_name = "mctfs"};
    struct stat st;

    st = file_st(0, 0600);
    ck_assert_int_eq(mct_trust_check(&t, "/etc/c.yaml", "config", &st, err, sizeof(err)), 0);
    st = file_st(1000, 0644);
    ck_assert_int_eq(mct_trust_check(&t, "/etc/c.yaml", "config", &st, err, sizeof(err)), 0);
    st = file_st(999, 0640);
    ck_assert_int_eq(mct_trust_check(&t, "/etc/c.yaml", "config", &st, err, sizeof(err)), 0);

    st = file_st(STRANGER, 0600);
    ck_assert_int_eq(mct_trust_check(&t, "/data/c.yaml", "config", &st, err, sizeof(err)), -EPERM);
    assert_has(err, "config /data/c.yaml is owned by uid 4242");
    assert_has(err, "only root, the service user mctfs or you");
    assert_has(err, "run 'chown root /data/c.yaml'");

    /* No service user: nobody but root and the caller. */
    t = (struct mct_trust){.caller = 1000, .service = MCT_NO_UID};
    st = file_st(999, 0600);
    ck_assert_int_eq(mct_trust_check(&t, "/c", "config", &st, err, sizeof(err)), -EPERM);
    assert_has(err, "only root or you may own it");
}
END_TEST

START_TEST(a_file_writable_by_group_or_others_is_refused_with_the_chmod_to_run)
{
    struct mct_trust t = {.caller = 0, .service = MCT_NO_UID};
    struct stat st = file_st(0, 0664);

    ck_assert_int_eq(mct_trust_check(&t, "/etc/pw", "password file", &st, err, sizeof(err)),
                     -EPERM);
    assert_has(err, "password file /etc/pw is writable by its group (mode 0664)");
    assert_has(err, "run 'chmod go-w /etc/pw'");
    st = file_st(0, 0602);
    ck_assert_int_eq(mct_trust_check(&t, "/etc/pw", "password file", &st, err, sizeof(err)),
                     -EPERM);
    assert_has(err, "writable by every user (mode 0602)");
    /* Readable by others is a warning elsewhere, not a refusal. */
    st = file_st(0, 0644);
    ck_assert_int_eq(mct_trust_check(&t, "/etc/pw", "password file", &st, err, sizeof(err)), 0);
    st = (struct stat){.st_uid = 0, .st_mode = S_IFIFO | 0600};
    ck_assert_int_eq(mct_trust_check(&t, "/etc/pw", "password file", &st, err, sizeof(err)),
                     -EPERM);
    assert_has(err, "not a regular file");
}
END_TEST

START_TEST(a_local_file_must_be_the_callers_own_and_not_writable_by_others)
{
    char why[256];
    struct stat st = file_st(1000, 0644);

    ck_assert_int_eq(mct_trust_check_local(1000, &st, why, sizeof(why)), 0);
    /* Root's file in a folder the user may write is not the user's. */
    st = file_st(0, 0644);
    ck_assert_int_eq(mct_trust_check_local(1000, &st, why, sizeof(why)), -EPERM);
    assert_has(why, "owned by uid 0");
    /* And the rig user's file is not root's. */
    st = file_st(1000, 0644);
    ck_assert_int_eq(mct_trust_check_local(0, &st, why, sizeof(why)), -EPERM);
    st = file_st(0, 0620);
    ck_assert_int_eq(mct_trust_check_local(0, &st, why, sizeof(why)), -EPERM);
    assert_has(why, "writable by group or others (mode 0620)");
}
END_TEST

START_TEST(a_file_a_config_names_must_be_owned_as_that_config_is)
{
    struct mct_trust t = {.caller = 0, .service = 999, .service_name = "mctfs"};
    struct stat cfg = file_st(999, 0600), pw = file_st(0, 0600);

    ck_assert_int_eq(mct_trust_check_named_by(&t, "/etc/shadow", &pw, "/etc/mctfs/c.yaml", &cfg,
                                              err, sizeof(err)),
                     -EPERM);
    assert_has(err, "/etc/shadow is owned by uid 0");
    assert_has(err, "the config /etc/mctfs/c.yaml that names it is owned by uid 999");
    assert_has(err, "run 'chown mctfs /etc/shadow'");
    pw = file_st(999, 0600);
    ck_assert_int_eq(mct_trust_check_named_by(&t, "/p", &pw, "/c", &cfg, err, sizeof(err)), 0);
    cfg = file_st(0, 0600);
    pw = file_st(0, 0600);
    ck_assert_int_eq(mct_trust_check_named_by(&t, "/p", &pw, "/c", &cfg, err, sizeof(err)), 0);
}
END_TEST

/* ---- real files ---- */

static char dir[64], cfg_path[128], pw_path[128];
static char saved_cwd[PATH_MAX];

static void write_file(const char *path, const char *text, uid_t uid, mode_t mode)
{
    unlink(path);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f, "cannot create %s", path);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chown(path, uid, (gid_t)-1), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
}

static void files_setup(void)
{
    unsetenv("MCTFS_CONFIG");
    unsetenv("DJ_PASS");
    snprintf(dir, sizeof(dir), "/tmp/test_trust.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cfg_path, sizeof(cfg_path), "%s/backup_config.yaml", dir);
    snprintf(pw_path, sizeof(pw_path), "%s/pw", dir);
    ck_assert_ptr_nonnull(getcwd(saved_cwd, sizeof(saved_cwd)));
    ck_assert_int_eq(chdir(dir), 0);
}

static void files_teardown(void)
{
    unlink(cfg_path);
    unlink(pw_path);
    unlink("target.yaml");
    ck_assert_int_eq(chdir(saved_cwd), 0);
    rmdir(dir);
}

static bool need_root(void)
{
    if (geteuid() == 0)
        return true;
    fprintf(stderr, "test_trust: not root, file ownership tests skipped\n");
    return false;
}

static int load(const char *path)
{
    struct mct_config *cfg = NULL;
    err[0] = '\0';
    int r = mct_config_load(path, &cfg, err, sizeof(err));
    ck_assert(r < 0 ? cfg == NULL : cfg != NULL);
    mct_config_free(cfg);
    return r;
}

START_TEST(a_config_owned_by_a_stranger_or_writable_by_others_is_not_loaded)
{
    if (!need_root())
        return;
    write_file(cfg_path, "backup:\n", 0, 0600);
    ck_assert_int_eq(load(cfg_path), 0);

    write_file(cfg_path, "backup:\n", STRANGER, 0600);
    ck_assert_int_eq(load(cfg_path), -EPERM);
    assert_has(err, cfg_path);
    assert_has(err, "owned by uid 4242");
    assert_has(err, "chown root");

    write_file(cfg_path, "backup:\n", 0, 0666);
    ck_assert_int_eq(load(cfg_path), -EPERM);
    assert_has(err, "chmod go-w");

    /* The service user's own config is fine. */
    struct passwd *nobody = getpwnam("nobody");
    ck_assert_ptr_nonnull(nobody);
    write_file(cfg_path, "service:\n  user: nobody\n", nobody->pw_uid, 0600);
    ck_assert_int_eq(load(cfg_path), 0);
}
END_TEST

START_TEST(a_password_file_not_trusted_as_its_config_is_not_read)
{
    if (!need_root())
        return;
    char yaml[256];
    snprintf(yaml, sizeof(yaml), "datajoint:\n  user: dj\n  password_file: %s\n", pw_path);

    write_file(cfg_path, yaml, 0, 0600);
    write_file(pw_path, "s3cret\n", 0, 0600);
    ck_assert_int_eq(load(cfg_path), 0);

    write_file(pw_path, "s3cret\n", 0, 0666);
    ck_assert_int_eq(load(cfg_path), -EPERM);
    assert_has(err, ":3: datajoint.password_file: password file");
    assert_has(err, "chmod go-w");

    write_file(pw_path, "s3cret\n", STRANGER, 0600);
    ck_assert_int_eq(load(cfg_path), -EPERM);
    assert_has(err, "owned by uid 4242");

    /* A config the service user wrote cannot make root read root's file. */
    struct passwd *nobody = getpwnam("nobody");
    ck_assert_ptr_nonnull(nobody);
    snprintf(yaml, sizeof(yaml), "service:\n  user: nobody\ndatajoint:\n  password_file: %s\n",
             pw_path);
    write_file(cfg_path, yaml, nobody->pw_uid, 0600);
    write_file(pw_path, "s3cret\n", 0, 0600);
    ck_assert_int_eq(load(cfg_path), -EPERM);
    assert_has(err, "can only name a password file of its own");

    /* A config owned by a stranger is refused before its password file is
     * even read. */
    write_file(cfg_path, yaml, STRANGER, 0600);
    ck_assert_int_eq(load(cfg_path), -EPERM);
    assert_has(err, "config ");
    assert_has(err, "owned by uid 4242");
}
END_TEST

START_TEST(the_local_config_is_found_only_when_it_is_ours)
{
    if (!need_root())
        return;
    _cleanup_free_ char *p = NULL;
    write_file("backup_config.yaml", "backup:\n", 0, 0600);
    ck_assert_int_eq(mct_config_find(NULL, &p, err, sizeof(err)), 0);
    ck_assert_str_eq(p, MCT_LOCAL_CONFIG);
    ck_assert_int_eq(load(MCT_LOCAL_CONFIG), 0);

    static const struct {
        uid_t uid;
        mode_t mode;
    } skipped[] = {{STRANGER, 0600}, {0, 0660}, {0, 0606}};
    for (size_t i = 0; i < ARRAY_SIZE(skipped); i++) {
        char *q = NULL;
        write_file("backup_config.yaml", "backup:\n", skipped[i].uid, skipped[i].mode);
        int r = mct_config_find(NULL, &q, err, sizeof(err));
        ck_assert_msg(r == -ENOENT || (r == 0 && streq(q, MCT_DEFAULT_CONFIG)), "case %zu: %d %s",
                      i, r, q ? q : err);
        free(q);
        /* Named by its local name, it is refused even so. */
        ck_assert_int_eq(load(MCT_LOCAL_CONFIG), -EPERM);
    }

    /* A symlink to a file root owns is not root's file in this folder. */
    unlink("backup_config.yaml");
    write_file("target.yaml", "backup:\n", 0, 0600);
    ck_assert_int_eq(symlink("target.yaml", "backup_config.yaml"), 0);
    char *q = NULL;
    int r = mct_config_find(NULL, &q, err, sizeof(err));
    ck_assert(r == -ENOENT || (r == 0 && streq(q, MCT_DEFAULT_CONFIG)));
    free(q);
    ck_assert_int_lt(load(MCT_LOCAL_CONFIG), 0);
}
END_TEST

static Suite *trust_suite(void)
{
    Suite *s = suite_create("trust");
    TCase *tr = tcase_create("rules");
    tcase_add_test(tr, a_file_owned_by_root_the_caller_or_the_service_is_trusted_and_no_other);
    tcase_add_test(tr, a_file_writable_by_group_or_others_is_refused_with_the_chmod_to_run);
    tcase_add_test(tr, a_local_file_must_be_the_callers_own_and_not_writable_by_others);
    tcase_add_test(tr, a_file_a_config_names_must_be_owned_as_that_config_is);
    suite_add_tcase(s, tr);

    TCase *tf = tcase_create("files");
    tcase_add_checked_fixture(tf, files_setup, files_teardown);
    tcase_add_test(tf, a_config_owned_by_a_stranger_or_writable_by_others_is_not_loaded);
    tcase_add_test(tf, a_password_file_not_trusted_as_its_config_is_not_read);
    tcase_add_test(tf, the_local_config_is_found_only_when_it_is_ours);
    suite_add_tcase(s, tf);
    return s;
}

int main(void)
{
    return unit_run(trust_suite());
}
