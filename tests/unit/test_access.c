/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The mount's own permission check (fs/access.c): mode bits and POSIX ACLs
 * evaluated as the kernel does, for callers given as fakes; and the
 * checked walk below a folder on a real tree. */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "access.h"
#include "unit.h"
#include "util.h"

enum { UOBJ = 0x01, USER = 0x02, GOBJ = 0x04, GROUP = 0x08, MASK = 0x10, OTHER = 0x20 };

struct ent {
    int tag, perm;
    uint32_t id;
};

/* The xattr form of an ACL; entries given sorted, as the kernel keeps them. */
static size_t acl_blob(unsigned char *out, const struct ent *e, size_t n)
{
    uint32_t v = htole32(2);
    memcpy(out, &v, 4);
    for (size_t i = 0; i < n; i++) {
        uint16_t tag = htole16((uint16_t)e[i].tag), perm = htole16((uint16_t)e[i].perm);
        uint32_t id = htole32(e[i].id);
        memcpy(out + 4 + 8 * i, &tag, 2);
        memcpy(out + 6 + 8 * i, &perm, 2);
        memcpy(out + 8 + 8 * i, &id, 4);
    }
    return 4 + 8 * n;
}

static struct stat file(uid_t uid, gid_t gid, mode_t mode)
{
    return (struct stat){.st_uid = uid, .st_gid = gid, .st_mode = S_IFREG | mode};
}

static int loads;
static const gid_t extra_groups[] = {300, 500};

static void load(struct access_cred *c)
{
    loads++;
    c->groups = extra_groups;
    c->n_groups = ARRAY_SIZE(extra_groups);
}

START_TEST(mode_bits_decide_by_the_first_class_that_matches_the_caller)
{
    struct access_cred owner = {.uid = 1000, .gid = 100};
    struct stat st = file(1000, 100, 0640);
    ck_assert_int_eq(access_check(&owner, &st, NULL, 0, R_OK | W_OK), 0);
    ck_assert_int_eq(access_check(&owner, &st, NULL, 0, X_OK), -EACCES);

    struct access_cred member = {.uid = 2000, .gid = 100};
    ck_assert_int_eq(access_check(&member, &st, NULL, 0, R_OK), 0);
    ck_assert_int_eq(access_check(&member, &st, NULL, 0, W_OK), -EACCES);

    struct access_cred other = {.uid = 2000, .gid = 200};
    ck_assert_int_eq(access_check(&other, &st, NULL, 0, R_OK), -EACCES);

    /* The owner class decides even when it grants less than the others. */
    st = file(1000, 100, 0044);
    ck_assert_int_eq(access_check(&owner, &st, NULL, 0, R_OK), -EACCES);
    ck_assert_int_eq(access_check(&other, &st, NULL, 0, R_OK), 0);
}
END_TEST

START_TEST(supplementary_groups_are_read_only_when_they_could_change_the_answer)
{
    struct access_cred c = {.uid = 2000, .gid = 100, .load_groups = load};
    loads = 0;
    /* Group and other agree: no need to know the groups. */
    struct stat st = file(1000, 300, 0644);
    ck_assert_int_eq(access_check(&c, &st, NULL, 0, R_OK), 0);
    ck_assert_int_eq(loads, 0);
    st = file(1000, 300, 0640);
    ck_assert_int_eq(access_check(&c, &st, NULL, 0, R_OK), 0);
    ck_assert_int_eq(loads, 1);
    st = file(1000, 301, 0640);
    ck_assert_int_eq(access_check(&c, &st, NULL, 0, R_OK), -EACCES);
    ck_assert_int_eq(loads, 1);
}
END_TEST

START_TEST(a_named_user_entry_of_an_acl_decides_for_that_user_alone)
{
    unsigned char b[256];
    /* setfacl -m u:1234:--- on a 0644 file */
    const struct ent e[] = {
            {UOBJ, 6, 0}, {USER, 0, 1234}, {GOBJ, 4, 0}, {MASK, 4, 0}, {OTHER, 4, 0}};
    size_t n = acl_blob(b, e, ARRAY_SIZE(e));
    struct stat st = file(1000, 100, 0644);
    struct access_cred denied = {.uid = 1234, .gid = 1234};
    struct access_cred anyone = {.uid = 999, .gid = 999};
    ck_assert_int_eq(access_check(&denied, &st, b, n, R_OK), -EACCES);
    ck_assert_int_eq(access_check(&anyone, &st, b, n, R_OK), 0);
    /* Without the ACL the same mode lets both read. */
    ck_assert_int_eq(access_check(&denied, &st, NULL, 0, R_OK), 0);
    /* The owner is never looked up in the ACL. */
    struct access_cred owner = {.uid = 1000, .gid = 1};
    ck_assert_int_eq(access_check(&owner, &st, b, n, R_OK | W_OK), 0);
}
END_TEST

START_TEST(the_acl_mask_limits_named_entries_and_the_owning_group)
{
    unsigned char b[256];
    /* u:1234:rw- and g:500:rw- limited by mask r-- */
    const struct ent e[] = {{UOBJ, 6, 0},    {USER, 6, 1234}, {GOBJ, 0, 0},
                            {GROUP, 6, 500}, {MASK, 4, 0},    {OTHER, 0, 0}};
    size_t n = acl_blob(b, e, ARRAY_SIZE(e));
    struct stat st = file(1000, 100, 0640);
    struct access_cred user = {.uid = 1234, .gid = 7};
    ck_assert_int_eq(access_check(&user, &st, b, n, R_OK), 0);
    ck_assert_int_eq(access_check(&user, &st, b, n, W_OK), -EACCES);
    struct access_cred grp = {.uid = 7, .gid = 7, .load_groups = load}; /* in 300 and 500 */
    ck_assert_int_eq(access_check(&grp, &st, b, n, R_OK), 0);
    ck_assert_int_eq(access_check(&grp, &st, b, n, W_OK), -EACCES);
    /* Owning group ---: a member of it alone gets nothing. */
    struct access_cred owning = {.uid = 7, .gid = 100};
    ck_assert_int_eq(access_check(&owning, &st, b, n, R_OK), -EACCES);
}
END_TEST

START_TEST(a_matching_group_entry_that_grants_nothing_refuses_though_other_would_allow)
{
    unsigned char b[256];
    /* A group that matches but does not grant: refused, even though other
     * would allow (POSIX.1e: other only for who matches no group). */
    const struct ent e[] = {
            {UOBJ, 6, 0}, {GOBJ, 4, 0}, {GROUP, 0, 500}, {MASK, 4, 0}, {OTHER, 4, 0}};
    size_t n = acl_blob(b, e, ARRAY_SIZE(e));
    struct stat st = file(1000, 100, 0644);
    struct access_cred in500 = {.uid = 7, .gid = 500};
    struct access_cred in100_and_500 = {.uid = 7, .gid = 100, .load_groups = load};
    struct access_cred nobody = {.uid = 7, .gid = 7};
    ck_assert_int_eq(access_check(&in500, &st, b, n, R_OK), -EACCES);
    /* Any one matching group that grants is enough. */
    ck_assert_int_eq(access_check(&in100_and_500, &st, b, n, R_OK), 0);
    ck_assert_int_eq(access_check(&nobody, &st, b, n, R_OK), 0);
}
END_TEST

START_TEST(an_acl_with_an_empty_mask_is_not_consulted)
{
    unsigned char b[256];
    /* As the kernel: group bits 0 (mask ---) skips the ACL; the named user
     * then falls to the other bits. */
    const struct ent e[] = {
            {UOBJ, 6, 0}, {USER, 0, 1234}, {GOBJ, 4, 0}, {MASK, 0, 0}, {OTHER, 4, 0}};
    size_t n = acl_blob(b, e, ARRAY_SIZE(e));
    struct stat st = file(1000, 100, 0604);
    struct access_cred user = {.uid = 1234, .gid = 1234};
    ck_assert_int_eq(access_check(&user, &st, b, n, R_OK), 0);
}
END_TEST

START_TEST(a_malformed_acl_refuses)
{
    unsigned char b[256];
    const struct ent e[] = {{UOBJ, 6, 0}, {GOBJ, 4, 0}, {OTHER, 4, 0}};
    size_t n = acl_blob(b, e, ARRAY_SIZE(e));
    struct stat st = file(1000, 100, 0644);
    struct access_cred c = {.uid = 7, .gid = 7};
    ck_assert_int_eq(access_check(&c, &st, b, n, R_OK), 0);
    ck_assert_int_eq(access_check(&c, &st, b, n - 3, R_OK), -EACCES);
    ck_assert_int_eq(access_check(&c, &st, b, n - 8, R_OK), -EACCES); /* no other */
    b[0] = 1;
    ck_assert_int_eq(access_check(&c, &st, b, n, R_OK), -EACCES);
}
END_TEST

START_TEST(root_reads_anything_but_executes_only_what_has_an_x_bit)
{
    struct access_cred root = {.uid = 0, .gid = 0};
    struct stat st = file(1000, 100, 0000);
    ck_assert_int_eq(access_check(&root, &st, NULL, 0, R_OK | W_OK), 0);
    ck_assert_int_eq(access_check(&root, &st, NULL, 0, X_OK), -EACCES);
    st.st_mode = S_IFREG | 0001;
    ck_assert_int_eq(access_check(&root, &st, NULL, 0, X_OK), 0);
    st.st_mode = S_IFDIR | 0000;
    ck_assert_int_eq(access_check(&root, &st, NULL, 0, R_OK | X_OK), 0);
}
END_TEST

/* ---- the walk, on a real tree ---- */

static char root[64];
static int root_fd = -1;

static void tree_setup(void)
{
    snprintf(root, sizeof(root), "/tmp/mct-access.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    ck_assert_int_eq(chmod(root, 0755), 0);
    char p[256];
    snprintf(p, sizeof(p), "%s/a/b", root);
    ck_assert_int_eq(mct_mkdir_p(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/a/b/f", root);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs("data", f);
    fclose(f);
    ck_assert_int_eq(chmod(p, 0644), 0);
    snprintf(p, sizeof(p), "%s/a/link", root);
    ck_assert_int_eq(symlink("b", p), 0);
    root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(root_fd, 0);
}

static void tree_teardown(void)
{
    close(root_fd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(an_open_checks_the_file_and_each_folder_on_the_way_as_they_are_on_disk)
{
    struct access_cred viewer = {.uid = 4242, .gid = 4242};
    struct access_cred rootc = {.uid = 0, .gid = 0};
    struct stat st;

    int fd = access_open_beneath(root_fd, "a/b/f", O_RDONLY, &viewer, R_OK, &st);
    ck_assert_int_ge(fd, 0);
    ck_assert(S_ISREG(st.st_mode));
    close(fd);
    fd = access_open_beneath(root_fd, ".", O_RDONLY | O_DIRECTORY, &viewer, R_OK, NULL);
    ck_assert_int_ge(fd, 0);
    close(fd);

    /* A symlink anywhere on the way, for everyone. */
    ck_assert_int_eq(access_open_beneath(root_fd, "a/link/f", O_RDONLY, &viewer, R_OK, NULL),
                     -ELOOP);
    ck_assert_int_eq(access_open_beneath(root_fd, "a/link/f", O_RDONLY, &rootc, R_OK, NULL),
                     -ELOOP);
    ck_assert_int_eq(access_open_beneath(root_fd, "a/link", O_RDONLY, &viewer, R_OK, NULL), -ELOOP);

    /* A folder on the way closed to others. */
    char p[256];
    snprintf(p, sizeof(p), "%s/a", root);
    ck_assert_int_eq(chmod(p, 0700), 0);
    ck_assert_int_eq(access_open_beneath(root_fd, "a/b/f", O_RDONLY, &viewer, R_OK, NULL), -EACCES);
    fd = access_open_beneath(root_fd, "a/b/f", O_RDONLY, &rootc, R_OK, NULL);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(chmod(p, 0755), 0);

    /* The file's own ACL, read from the disk. */
    unsigned char b[256];
    const struct ent e[] = {
            {UOBJ, 6, 0}, {USER, 0, 4242}, {GOBJ, 4, 0}, {MASK, 4, 0}, {OTHER, 4, 0}};
    size_t n = acl_blob(b, e, ARRAY_SIZE(e));
    snprintf(p, sizeof(p), "%s/a/b/f", root);
    if (setxattr(p, "system.posix_acl_access", b, n, 0) < 0) {
        ck_assert_int_eq(errno, ENOTSUP); /* a file system without ACLs */
        return;
    }
    ck_assert_int_eq(access_open_beneath(root_fd, "a/b/f", O_RDONLY, &viewer, R_OK, NULL), -EACCES);
    struct access_cred other = {.uid = 4343, .gid = 4343};
    fd = access_open_beneath(root_fd, "a/b/f", O_RDONLY, &other, R_OK, NULL);
    ck_assert_int_ge(fd, 0);
    close(fd);
    /* The same ACL on a folder on the way (read through an O_PATH fd). */
    snprintf(p, sizeof(p), "%s/a", root);
    const struct ent d[] = {
            {UOBJ, 7, 0}, {USER, 0, 4343}, {GOBJ, 5, 0}, {MASK, 5, 0}, {OTHER, 5, 0}};
    n = acl_blob(b, d, ARRAY_SIZE(d));
    ck_assert_int_eq(setxattr(p, "system.posix_acl_access", b, n, 0), 0);
    ck_assert_int_eq(access_open_beneath(root_fd, "a/b/f", O_RDONLY, &other, R_OK, NULL), -EACCES);
}
END_TEST

static Suite *access_suite(void)
{
    Suite *s = suite_create("access");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, mode_bits_decide_by_the_first_class_that_matches_the_caller);
    tcase_add_test(tc, supplementary_groups_are_read_only_when_they_could_change_the_answer);
    tcase_add_test(tc, a_named_user_entry_of_an_acl_decides_for_that_user_alone);
    tcase_add_test(tc, the_acl_mask_limits_named_entries_and_the_owning_group);
    tcase_add_test(tc, a_matching_group_entry_that_grants_nothing_refuses_though_other_would_allow);
    tcase_add_test(tc, an_acl_with_an_empty_mask_is_not_consulted);
    tcase_add_test(tc, a_malformed_acl_refuses);
    tcase_add_test(tc, root_reads_anything_but_executes_only_what_has_an_x_bit);
    suite_add_tcase(s, tc);
    TCase *walk = tcase_create("walk");
    tcase_add_checked_fixture(walk, tree_setup, tree_teardown);
    tcase_add_test(walk, an_open_checks_the_file_and_each_folder_on_the_way_as_they_are_on_disk);
    suite_add_tcase(s, walk);
    return s;
}

int main(void)
{
    return unit_run(access_suite());
}
