/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Symlinks in the source tree that point out of it: a deletion removes a
 * link, never what it points to; a session folder (or participant folder)
 * that is a symlink is not a session: discovery skips it, the status does
 * not call it safe, and a deletion refuses it. The files outside are
 * compared byte for byte after every attempt.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "kit.h"

static char outside[400];

static void setup_all(void)
{
    kit_setup();
    snprintf(outside, sizeof(outside), "%s/outside", lab.dir);
    ck_assert_int_eq(
            kit_shell("mkdir -p '%1$s/dir' && head -c 5000 /dev/urandom > '%1$s/secret.bin' "
                      "&& echo a > '%1$s/dir/a' && echo b > '%1$s/dir/b'",
                      outside),
            0);
}

static char *status_of(const char *p, const char *d)
{
    struct kit_result r;
    int st = kit_mctctl(NULL, NULL, &r, "--no-color", "status", p, d, NULL);
    ck_assert_msg(st == 0 || st == 1, "status %s %s: exit %d\n%s", p, d, st, r.err);
    char *all = mct_strdup_printf("%s%s", r.out, r.err);
    kit_result_free(&r);
    return all;
}

static char *range_of(const char *d)
{
    struct kit_result r;
    int st = kit_mctctl(NULL, NULL, &r, "status-range", "--start-date", d, "--end-date", d, NULL);
    ck_assert_int_eq(st, 0);
    free(r.err);
    return r.out;
}

/* Links to a file and to a folder outside, dated like the recording. */
static void add_links(const char *p, const char *d)
{
    char src[512];
    kit_source_path(p, d, src, sizeof(src));
    ck_assert_int_eq(kit_shell("ln -s '%1$s/secret.bin' '%2$s/link.bin' && ln -s '%1$s/dir' "
                               "'%2$s/dirlink' && touch -h -d '3 hours ago' '%2$s/link.bin' "
                               "'%2$s/dirlink' '%2$s'",
                               outside, src),
                     0);
}

START_TEST(links_out_of_a_session_stay_links)
{
    _cleanup_free_ char *outside_before = kit_tree_digest(outside);
    kit_session("p201 20240201 --imported --dj");
    kit_session("p202 20240202 --imported --dj");
    add_links("p201", "20240201");
    add_links("p202", "20240202");
    struct kit_result r;
    for (int i = 0; i < 2; i++) {
        const char *p = i ? "p202" : "p201", *d = i ? "20240202" : "20240201";
        ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "sync", p, d, NULL), 0);
        kit_result_free(&r);
        /* The copy holds the links as links, not the files they point to. */
        char dst[512], link[600];
        kit_dest_path(p, d, dst, sizeof(dst));
        snprintf(link, sizeof(link), "%s/link.bin", dst);
        struct stat st;
        ck_assert_int_eq(lstat(link, &st), 0);
        ck_assert(S_ISLNK(st.st_mode));
    }

    /* Deleted through mctctl and through the mount: links go, targets stay. */
    int st = kit_mctctl(NULL, "DELETE\n", &r, "delete", "p201", "20240201", NULL);
    printf("delete of a session holding links out: exit %d\n%s%s", st, r.out, r.err);
    kit_result_free(&r);
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    char path[700];
    kit_mpath(&m, path, sizeof(path), "p202/20240202/link.bin");
    struct stat lst;
    ck_assert_int_eq(lstat(path, &lst), 0);
    ck_assert(S_ISLNK(lst.st_mode));
    int err;
    ssize_t n = kit_control_write(&m, "p202", "20240202", "DELETE\n", 7, &err);
    printf("DELETE through the mount: %zd %s\n", n, n < 0 ? strerror(err) : "");
    kit_unmount(&m);

    _cleanup_free_ char *outside_after = kit_tree_digest(outside);
    ck_assert_str_eq(outside_before, outside_after);
    for (int i = 0; i < 2; i++) {
        const char *p = i ? "p202" : "p201", *d = i ? "20240202" : "20240201";
        char src[512];
        kit_source_path(p, d, src, sizeof(src));
        bool deleted = kit_log_count(p, d, "deleted") == 1;
        ck_assert_msg(deleted == !kit_exists(src), "%s: deleted %d, exists %d", p, deleted,
                      kit_exists(src));
        if (!deleted)
            ck_assert_uint_eq(kit_count_entries(src, false), 7);
    }
    ck_assert(kit_trash_empty());
}
END_TEST

START_TEST(a_session_folder_that_is_a_symlink_is_refused)
{
    kit_session("p203 20240203 --imported --dj --copy");
    char src[512], real[600];
    kit_source_path("p203", "20240203", src, sizeof(src));
    snprintf(real, sizeof(real), "%s/p203-real", outside);
    ck_assert_int_eq(rename(src, real), 0);
    ck_assert_int_eq(symlink(real, src), 0);
    _cleanup_free_ char *before = kit_tree_digest(real);

    _cleanup_free_ char *range = range_of("20240203");
    kit_assert_lacks(range, "p203");
    _cleanup_free_ char *status = status_of("p203", "20240203");
    kit_assert_lacks(status, "Safe to delete: YES");
    struct kit_result r;
    int st = kit_mctctl(NULL, "DELETE\n", &r, "delete", "p203", "20240203", NULL);
    ck_assert_msg(st == 4, "delete of a symlinked session: exit %d\n%s", st, r.out);
    kit_assert_has(r.err, "not a session folder");
    kit_result_free(&r);
    st = kit_mctctl(NULL, NULL, &r, "sync", "p203", "20240203", NULL);
    ck_assert_msg(st == 1, "sync of a symlinked session: exit %d\n%s", st, r.out);
    kit_result_free(&r);

    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    char path[700];
    kit_mpath(&m, path, sizeof(path), "p203/20240203");
    struct stat lst;
    ck_assert_int_eq(lstat(path, &lst), 0);
    ck_assert(S_ISLNK(lst.st_mode));
    int err;
    ck_assert_int_eq(kit_control_write(&m, "p203", "20240203", "DELETE\n", 7, &err), -1);
    kit_unmount(&m);

    _cleanup_free_ char *after = kit_tree_digest(real);
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(kit_log_count("p203", "20240203", "deleted"), 0);
    ck_assert(kit_trash_empty());
}
END_TEST

START_TEST(a_participant_folder_that_is_a_symlink_is_refused)
{
    kit_session("p204 20240204 --imported --dj --copy");
    char part[512], real[600];
    snprintf(part, sizeof(part), "%s/p204", lab.data);
    snprintf(real, sizeof(real), "%s/p204-real", outside);
    ck_assert_int_eq(rename(part, real), 0);
    ck_assert_int_eq(symlink(real, part), 0);
    _cleanup_free_ char *before = kit_tree_digest(real);

    _cleanup_free_ char *range = range_of("20240204");
    kit_assert_lacks(range, "p204");
    _cleanup_free_ char *status = status_of("p204", "20240204");
    kit_assert_lacks(status, "Safe to delete: YES");
    struct kit_result r;
    int st = kit_mctctl(NULL, "DELETE\n", &r, "delete", "p204", "20240204", NULL);
    ck_assert_msg(st == 1, "delete through a symlinked participant folder: exit %d\n%s%s", st,
                  r.out, r.err);
    kit_assert_has(r.err, "symbolic link");
    kit_result_free(&r);

    _cleanup_free_ char *after = kit_tree_digest(real);
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(kit_log_count("p204", "20240204", "deleted"), 0);
    ck_assert(kit_trash_empty());
}
END_TEST

static char *replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    ck_assert_msg(at, "\"%s\" not in the config", from);
    return mct_strdup_printf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

START_TEST(a_destination_in_the_source_through_a_symlink_is_unsafe)
{
    /* Lexically elsewhere, really inside the source (verify_mount off, as
     * for a share mounted by other means): a copy there is no backup,
     * whatever the sizes say. */
    kit_session("p205 20240205 --imported --dj");
    char link[400], backup[400], from[450], to[450], path[400];
    snprintf(link, sizeof(link), "%s/looks-remote", lab.dir);
    snprintf(backup, sizeof(backup), "%s/backup", lab.data);
    ck_assert_int_eq(symlink(lab.data, link), 0);
    ck_assert_int_eq(mkdir(backup, 0755), 0);

    _cleanup_free_ char *t0 = kit_slurp(lab.config, NULL);
    snprintf(from, sizeof(from), "base_path: \"%s/mobile_system_data\"", lab.share);
    snprintf(to, sizeof(to), "base_path: \"%s/backup\"", link);
    _cleanup_free_ char *t1 = replaced(t0, from, to);
    snprintf(from, sizeof(from), "mount_point: \"%s\"", lab.share);
    snprintf(to, sizeof(to), "mount_point: \"%s\"", link);
    _cleanup_free_ char *t2 = replaced(t1, from, to);
    _cleanup_free_ char *t3 = replaced(t2, "verify_mount: true", "verify_mount: false");
    snprintf(path, sizeof(path), "%s/via-link.yaml", lab.dir);
    kit_write_file(path, t3);

    struct kit_result r;
    int st = kit_mctctl(path, NULL, &r, "sync", "p205", "20240205", NULL);
    printf("sync into a destination inside the source: exit %d\n%s%s", st, r.out, r.err);
    ck_assert_int_ne(st, 0);
    kit_result_free(&r);
    st = kit_mctctl(path, NULL, &r, "--no-color", "status", "p205", "20240205", NULL);
    _cleanup_free_ char *status = mct_strdup_printf("%s%s", r.out, r.err);
    kit_result_free(&r);
    kit_assert_lacks(status, "state: ✓ verified");
    kit_assert_has(status, "Safe to delete: NO");
    ck_assert_msg(kit_count_entries(backup, true) == 0, "copied into the source's own folder");
    ck_assert_int_eq(rmdir(backup), 0);
}
END_TEST

static Suite *symlink_suite(void)
{
    Suite *s = suite_create("symlinks");
    TCase *tc = tcase_create("out of the tree");
    tcase_add_unchecked_fixture(tc, setup_all, kit_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, links_out_of_a_session_stay_links);
    tcase_add_test(tc, a_session_folder_that_is_a_symlink_is_refused);
    tcase_add_test(tc, a_participant_folder_that_is_a_symlink_is_refused);
    tcase_add_test(tc, a_destination_in_the_source_through_a_symlink_is_unsafe);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(symlink_suite());
}
