/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How fresh the mount's view is, for real (mctfs over the private lab):
 * sessions recorded while mounted are listed, a local change shows in
 * the status at once (a file grown in a safe session's subfolder too,
 * without walking the session at every read), and a database that is
 * down is never "safe".
 *
 * One lab for the whole program, one mount per test on its own mount
 * point (unmounted by the teardown), and every test uses its own
 * participant so the tests do not see each other's sessions.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>

#include "kit.h"

/* The current test's mount. */
static struct kit_mount m;

static void unmount_current(void)
{
    kit_unmount(&m);
}

/* A source file grows (its folder's mtime stays). */
static void append_to(const char *path, const char *text)
{
    FILE *f = fopen(path, "ae");
    ck_assert_msg(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

/* Listings are cached by the kernel for mount.attr_seconds: a session
 * recorded while mounted is listed once that has passed, and a name typed
 * in full is found at once. */
START_TEST(new_sessions_are_listed)
{
    kit_session("p171 20240501");
    kit_mount(&m, kit_config_variant("attr1", NULL, NULL, "mount:\n  attr_seconds: 1\n"), NULL);
    char dir[600];
    kit_mpath(&m, dir, sizeof(dir), "p171");
    ck_assert(kit_dir_lists(m.dir, "p171"));
    ck_assert(kit_dir_lists(dir, "20240501"));
    ck_assert(!kit_dir_lists(dir, "20240502"));

    kit_session("p171 20240502");
    kit_session("p172 20240502");
    char path[600];
    struct stat st;
    kit_mpath(&m, path, sizeof(path), "p172/20240502/.status");
    ck_assert_int_eq(stat(path, &st), 0);

    bool listed = false;
    for (int i = 0; i < 40 && !listed; i++) {
        listed = kit_dir_lists(dir, "20240502") && kit_dir_lists(m.dir, "p172");
        if (!listed)
            kit_sleep_ms(100);
    }
    ck_assert_msg(listed, "new sessions not listed 4 s after they were made (attr_seconds 1)");
}
END_TEST

START_TEST(local_changes_refresh_the_status)
{
    kit_session("p241 20241101 --imported --dj --copy");
    kit_session("p242 20241102 --imported --dj --copy");
    kit_mount(&m, NULL, NULL);

    _cleanup_free_ char *safe = kit_vfile(&m, "p241", "20241101", ".safe_to_delete");
    ck_assert_str_eq(safe, "yes\n");
    _cleanup_free_ char *safe2 = kit_vfile(&m, "p242", "20241102", ".safe_to_delete");
    ck_assert_str_eq(safe2, "yes\n");

    /* A file added: the copy lacks it, at once (not after cache_seconds). */
    char src[600];
    snprintf(src, sizeof(src), "%s/p241/20241101/trial_20241101_101500.22001.mp4", lab.data);
    FILE *f = fopen(src, "we");
    ck_assert_ptr_nonnull(f);
    fputs("new recording", f);
    fclose(f);
    _cleanup_free_ char *after = kit_vfile(&m, "p241", "20241101", ".safe_to_delete");
    kit_assert_starts(after, "no: ");
    _cleanup_free_ char *backup = kit_vfile(&m, "p241", "20241101", ".backup_status");
    kit_assert_starts(backup, "unverified");

    /* A file that grew (the folder's mtime does not change). */
    snprintf(src, sizeof(src), "%s/p242/20241102/trial_20241102_093000.22003.mp4", lab.data);
    append_to(src, "more frames");
    _cleanup_free_ char *grown = kit_vfile(&m, "p242", "20241102", ".safe_to_delete");
    kit_assert_starts(grown, "no: ");
}
END_TEST

/* The mount's count of walks proving a "yes". */
static unsigned long source_walks(void)
{
    return kit_mount_metric(&m, "mctfs_mount_source_walks_total");
}

/* A "yes" is proven against the source once per status, with every folder
 * of the session watched: reads after that do not walk it again, and a
 * change in any folder of it, a subfolder too, is seen at the next read. */
START_TEST(a_safe_session_is_walked_once_until_a_folder_of_it_changes)
{
    kit_session("p243 20241103 --imported --dj --copy");
    char src[600], dst[600], sub[700];
    kit_source_path("p243", "20241103", src, sizeof(src));
    kit_dest_path("p243", "20241103", dst, sizeof(dst));
    snprintf(sub, sizeof(sub), "%s/calib", src);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    kit_append_old(sub, "cameras.yaml", "cameras: 6\n");
    snprintf(sub, sizeof(sub), "%s/calib", dst);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    kit_append_old(sub, "cameras.yaml", "cameras: 6\n");
    /* No sweep during the test: each would bring a new status to prove. */
    kit_mount(&m, kit_config_variant("cache600", NULL, NULL, "mount:\n  cache_seconds: 600\n"),
              NULL);

    _cleanup_free_ char *first = kit_vfile(&m, "p243", "20241103", ".safe_to_delete");
    ck_assert_str_eq(first, "yes\n");
    unsigned long walks = source_walks();
    ck_assert_uint_ge(walks, 1);
    for (int i = 0; i < 50; i++) {
        _cleanup_free_ char *again = kit_vfile(&m, "p243", "20241103", ".safe_to_delete");
        ck_assert_str_eq(again, "yes\n");
    }
    ck_assert_uint_eq(source_walks(), walks);

    /* Grown in the subfolder: the subfolder's watch says so. */
    snprintf(sub, sizeof(sub), "%s/calib/cameras.yaml", src);
    append_to(sub, "cameras: 7\n");
    _cleanup_free_ char *grown = kit_vfile(&m, "p243", "20241103", ".safe_to_delete");
    kit_assert_starts(grown, "no: ");
    ck_assert_uint_gt(source_walks(), walks);
}
END_TEST

/* A fresh listing gives every entry's attributes with its name: ls -l of
 * a session folder never seen before asks the mount to look up none of its
 * files but .control, which is looked up at every use (inode.h), and shows
 * each status file at the size a read of it returns. */
START_TEST(a_fresh_listing_looks_up_no_entry_of_it)
{
    kit_session("p244 20241104 --imported --dj --copy");
    kit_mount(&m, NULL, NULL);
    char dir[600];
    kit_mpath(&m, dir, sizeof(dir), "p244/20241104");
    unsigned long before = kit_mount_metric(&m, "mctfs_mount_lookups_total");
    char *argv[] = {"ls", "-la", dir, NULL};
    struct kit_result r;
    ck_assert_int_eq(kit_run(argv, NULL, &r), 0);
    ck_assert_ptr_nonnull(strstr(r.out, ".safe_to_delete"));
    ck_assert_ptr_nonnull(strstr(r.out, "trial_20241104_093000.22001.mp4"));
    kit_result_free(&r);
    /* p244, 20241104, .metrics, and .control for ls's stat and two xattr
     * reads: seven. One per entry would be 20 (the folder holds 15). */
    unsigned long after = kit_mount_metric(&m, "mctfs_mount_lookups_total");
    ck_assert_msg(after - before <= 7, "ls -la looked up %lu names", after - before);

    struct stat st;
    char path[700];
    for (const char *const *v = (const char *const[]){".status", ".safe_to_delete", NULL}; *v;
         v++) {
        snprintf(path, sizeof(path), "%s/%s", dir, *v);
        ck_assert_int_eq(stat(path, &st), 0);
        size_t len;
        _cleanup_free_ char *text = kit_slurp_ok(path, &len);
        ck_assert_msg((size_t)st.st_size == len, "%s: stat %lld, read %zu", *v,
                      (long long)st.st_size, len);
    }
}
END_TEST

/* Every entry a listing gave counts as looked up, and the kernel's FORGET
 * gives it back: after a walk of the tree and the kernel dropping its
 * caches, the mount holds (almost) no inode. A miscount either way would
 * keep them for good or free one the kernel still uses. */
START_TEST(what_a_walk_held_is_given_back)
{
    kit_session("p245 20241105 --imported --dj --copy");
    kit_session("p245 20241106 --imported");
    kit_mount(&m, NULL, NULL);
    char *argv[] = {"ls", "-laR", m.dir, NULL};
    struct kit_result r;
    ck_assert_int_eq(kit_run(argv, NULL, &r), 0);
    kit_result_free(&r);
    unsigned long held = kit_mount_metric(&m, "mctfs_mount_inodes");
    ck_assert_msg(held >= 30, "the walk left %lu inodes", held);
    unsigned long now = held;
    for (int i = 0; i < 50 && now > 3; i++) {
        ck_assert_int_eq(kit_shell("echo 2 > /proc/sys/vm/drop_caches"), 0);
        usleep(100 * 1000);
        now = kit_mount_metric(&m, "mctfs_mount_inodes");
    }
    /* .metrics itself, looked up to read this. */
    ck_assert_msg(now <= 3, "%lu of %lu inodes still held", now, held);
}
END_TEST

/* A session's status file is read through the kernel's page cache while
 * its pages hold the text an open gets (inode.h): however warm, no read
 * that starts after the mount saw a change returns the old text, two
 * readers at once included, and every read is a whole text the size stat
 * gives. */
struct warm_reader {
    char path[700];
    volatile bool changed, stop;
    int stale; /* "yes" read by an open made after the change was seen */
    int reads, cut;
};

static void *read_warm(void *arg)
{
    struct warm_reader *w = arg;
    while (!w->stop) {
        bool after = w->changed;
        size_t len;
        char *text = kit_slurp(w->path, &len);
        if (!text)
            continue;
        if (after && streq(text, "yes\n"))
            w->stale++;
        if (!streq(text, "yes\n") && strncmp(text, "no: ", 4) != 0)
            w->cut++;
        w->reads++;
        free(text);
    }
    return NULL;
}

START_TEST(a_warm_status_file_never_reads_an_old_text)
{
    kit_session("p246 20241107 --imported --dj --copy");
    kit_mount(&m, NULL, NULL);
    struct warm_reader w = {};
    kit_mpath(&m, w.path, sizeof(w.path), "p246/20241107/.safe_to_delete");
    for (int i = 0; i < 20; i++) {
        _cleanup_free_ char *yes = kit_vfile(&m, "p246", "20241107", ".safe_to_delete");
        ck_assert_str_eq(yes, "yes\n");
    }
    pthread_t readers[2];
    for (size_t i = 0; i < ARRAY_SIZE(readers); i++)
        ck_assert_int_eq(pthread_create(&readers[i], NULL, read_warm, &w), 0);
    kit_sleep_ms(200);

    char src[600];
    snprintf(src, sizeof(src), "%s/p246/20241107/trial_20241107_093000.22002.mp4", lab.data);
    append_to(src, "more frames");
    _cleanup_free_ char *no = kit_vfile(&m, "p246", "20241107", ".safe_to_delete");
    kit_assert_starts(no, "no: ");
    w.changed = true;
    kit_sleep_ms(500);
    w.stop = true;
    for (size_t i = 0; i < ARRAY_SIZE(readers); i++)
        ck_assert_int_eq(pthread_join(readers[i], NULL), 0);
    ck_assert_int_gt(w.reads, 20);
    ck_assert_msg(w.stale == 0, "%d reads after the change said yes", w.stale);
    ck_assert_msg(w.cut == 0, "%d reads were no whole text", w.cut);

    struct stat st;
    ck_assert_int_eq(stat(w.path, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)strlen(no));
    _cleanup_free_ char *again = kit_vfile(&m, "p246", "20241107", ".safe_to_delete");
    ck_assert_str_eq(again, no);
}
END_TEST

START_TEST(database_down_is_never_safe)
{
    kit_session("p251 20241201 --imported --dj --copy");
    ck_assert_int_eq(kit_lab_sh(&lab, "db-stop"), 0);
    kit_mount(&m, NULL, NULL);

    /* Within the database timeout (2 s) and a little: unknown, not safe. */
    int64_t t0 = mct_now_ms();
    _cleanup_free_ char *safe = kit_vfile(&m, "p251", "20241201", ".safe_to_delete");
    int64_t took = mct_now_ms() - t0;
    kit_assert_starts(safe, "no: ");
    ck_assert_msg(took < 6000, ".safe_to_delete took %lld ms", (long long)took);
    _cleanup_free_ char *json = kit_vfile(&m, "p251", "20241201", ".status.json");
    ck_assert_ptr_null(strstr(json, "\"safe_to_delete\":true"));

    int err;
    ck_assert_int_eq(kit_control_write(&m, "p251", "20241201", "DELETE\n", 7, &err), -1);
    ck_assert_int_eq(err, EPERM);
    char src[600];
    kit_source_path("p251", "20241201", src, sizeof(src));
    ck_assert_uint_eq(kit_count_entries(src, false), 5);

    ck_assert_int_eq(kit_lab_sh(&lab, "db-start"), 0);
}
END_TEST

static Suite *fresh_suite(void)
{
    Suite *s = suite_create("mount-fresh");
    TCase *tc = tcase_create("freshness");
    tcase_add_unchecked_fixture(tc, kit_setup, kit_teardown);
    tcase_add_checked_fixture(tc, NULL, unmount_current);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, new_sessions_are_listed);
    tcase_add_test(tc, local_changes_refresh_the_status);
    tcase_add_test(tc, a_safe_session_is_walked_once_until_a_folder_of_it_changes);
    tcase_add_test(tc, a_fresh_listing_looks_up_no_entry_of_it);
    tcase_add_test(tc, what_a_walk_held_is_given_back);
    tcase_add_test(tc, a_warm_status_file_never_reads_an_old_text);
    tcase_add_test(tc, database_down_is_never_safe);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(fresh_suite());
}
