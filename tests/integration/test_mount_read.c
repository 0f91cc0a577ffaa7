/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading through the mount, for real: mctfs over the private lab
 * (MariaDB, SQLite, a tmpfs share, real rsync), as root with /dev/fuse.
 * The virtual files of each session state, their sizes, video bytes as
 * they are on disk (also of a file that grows), every write to a real
 * file refused, and the trash never shown.
 *
 * One lab for the whole program, one mount per test on its own mount
 * point (unmounted by the teardown), and every test uses its own
 * participant so the tests do not see each other's sessions.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>

#include "kit.h"

/* The current test's mount. */
static struct kit_mount m;

static void unmount_current(void)
{
    kit_unmount(&m);
}

START_TEST(virtual_files_tell_each_state)
{
    kit_session("p101 20240101 --imported --dj --copy"); /* safe */
    kit_session("p102 20240102 --copy");                 /* copied, not imported */
    kit_session("p103 20240103 --imported --dj");        /* imported, no copy */
    kit_mount(&m, NULL, NULL);

    _cleanup_free_ char *safe = kit_vfile(&m, "p101", "20240101", ".safe_to_delete");
    ck_assert_str_eq(safe, "yes\n");
    _cleanup_free_ char *backup = kit_vfile(&m, "p101", "20240101", ".backup_status");
    kit_assert_starts(backup, "verified");
    _cleanup_free_ char *json = kit_vfile(&m, "p101", "20240101", ".status.json");
    kit_assert_starts(json, "{");
    ck_assert_ptr_nonnull(strstr(json, "\"p101\""));

    _cleanup_free_ char *safe2 = kit_vfile(&m, "p102", "20240102", ".safe_to_delete");
    kit_assert_starts(safe2, "no: ");
    _cleanup_free_ char *backup2 = kit_vfile(&m, "p102", "20240102", ".backup_status");
    kit_assert_starts(backup2, "verified");

    _cleanup_free_ char *safe3 = kit_vfile(&m, "p103", "20240103", ".safe_to_delete");
    kit_assert_starts(safe3, "no: ");
    _cleanup_free_ char *backup3 = kit_vfile(&m, "p103", "20240103", ".backup_status");
    kit_assert_starts(backup3, "missing");

    _cleanup_free_ char *ctl = kit_vfile(&m, "p101", "20240101", ".control");
    kit_assert_starts(ctl, "no command yet");

    /* .status is the text of `mctctl status P D` and .status.json its
     * --json, final newline included: the mount and the CLI cannot
     * disagree. */
    const char *cases[][2] = {{"p101", "20240101"}, {"p102", "20240102"}, {"p103", "20240103"}};
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct kit_result r = {};
        kit_mctctl(NULL, NULL, &r, "--no-color", "status", cases[i][0], cases[i][1], NULL);
        ck_assert_msg(!strempty(r.out), "mctctl status: %s", r.err);
        _cleanup_free_ char *text = kit_vfile(&m, cases[i][0], cases[i][1], ".status");
        ck_assert_str_eq(text, r.out);
        kit_result_free(&r);
        kit_mctctl(NULL, NULL, &r, "--json", "status", cases[i][0], cases[i][1], NULL);
        ck_assert_msg(endswith(r.out, "}\n"), "mctctl --json status: %s%s", r.out, r.err);
        _cleanup_free_ char *js = kit_vfile(&m, cases[i][0], cases[i][1], ".status.json");
        ck_assert_str_eq(js, r.out);
        kit_result_free(&r);
    }

    /* The root: every local session, as table and array. */
    char path[600];
    kit_mpath(&m, path, sizeof(path), ".status");
    _cleanup_free_ char *root = kit_slurp_ok(path, NULL);
    ck_assert_ptr_nonnull(strstr(root, "p101"));
    ck_assert_ptr_nonnull(strstr(root, "p102"));
    ck_assert_ptr_nonnull(strstr(root, "p103"));
    kit_mpath(&m, path, sizeof(path), ".status.json");
    _cleanup_free_ char *rootjson = kit_slurp_ok(path, NULL);
    kit_assert_starts(rootjson, "[");
    ck_assert_msg(endswith(rootjson, "]\n"), "%s", rootjson);
    ck_assert_ptr_nonnull(strstr(rootjson, "\"p103\""));

    /* Listed (they are dot-files: `ls -a` shows them, `ls` does not). */
    kit_mpath(&m, path, sizeof(path), "p101/20240101");
    ck_assert(kit_dir_lists(path, ".status"));
    ck_assert(kit_dir_lists(path, ".control"));
    ck_assert(kit_dir_lists(path, ".safe_to_delete"));
    ck_assert(kit_dir_lists(m.dir, ".status.json"));
    /* A folder that is not a session has none. */
    kit_mpath(&m, path, sizeof(path), "p101");
    ck_assert(!kit_dir_lists(path, ".status"));
}
END_TEST

START_TEST(stat_size_is_the_content_length)
{
    kit_session("p111 20240111 --imported --dj --copy");
    kit_mount(&m, NULL, NULL);

    static const char *const names[] = {".status", ".status.json", ".backup_status",
                                        ".safe_to_delete", ".control"};
    char path[600];
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        kit_mpath(&m, path, sizeof(path), "p111/20240111/%s", names[i]);
        size_t len;
        _cleanup_free_ char *text = kit_slurp_ok(path, &len);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_msg((size_t)st.st_size == len, "%s: stat says %lld, read %zu", names[i],
                      (long long)st.st_size, len);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_uint_gt(len, 0);

        /* Partial reads of one open see one rendering. */
        int fd = open(path, O_RDONLY);
        ck_assert_int_ge(fd, 0);
        char head[8], rest[65536];
        ssize_t a = read(fd, head, sizeof(head));
        ssize_t b = read(fd, rest, sizeof(rest));
        close(fd);
        ck_assert_int_eq(a + b, (ssize_t)len);
        ck_assert(memcmp(head, text, (size_t)a) == 0);
        ck_assert(memcmp(rest, text + a, (size_t)b) == 0);
    }
    for (size_t i = 0; i < 2; i++) {
        kit_mpath(&m, path, sizeof(path), "%s", names[i]);
        size_t len;
        _cleanup_free_ char *text = kit_slurp_ok(path, &len);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq((size_t)st.st_size, len);
    }
}
END_TEST

/* The first video lab.sh makes in session P D: on disk and through the mount. */
static void first_video(const char *p, const char *d, char src[600], char via[600])
{
    char rel[200];
    snprintf(rel, sizeof(rel), "%s/%s/trial_%s_093000.22001.mp4", p, d, d);
    snprintf(src, 600, "%s/%s", lab.data, rel);
    kit_mpath(&m, via, 600, "%s", rel);
}

START_TEST(video_bytes_are_identical)
{
    kit_session("p121 20240121 --videos 2 --size 3000000");
    kit_mount(&m, NULL, NULL);

    char src[600], via[600];
    first_video("p121", "20240121", src, via);

    size_t n_src, n_via;
    _cleanup_free_ char *a = kit_slurp_ok(src, &n_src);
    ck_assert_uint_eq(n_src, 3000000);
    /* Twice: the second open keeps the kernel's cache (unchanged file). */
    for (int pass = 0; pass < 2; pass++) {
        _cleanup_free_ char *b = kit_slurp_ok(via, &n_via);
        ck_assert_uint_eq(n_via, n_src);
        ck_assert(memcmp(a, b, n_src) == 0);
    }

    /* A read in the middle. */
    int fd = open(via, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    char buf[10000];
    ck_assert_int_eq(pread(fd, buf, sizeof(buf), 1234567), (ssize_t)sizeof(buf));
    ck_assert(memcmp(buf, a + 1234567, sizeof(buf)) == 0);
    close(fd);

    struct stat s1, s2;
    ck_assert_int_eq(stat(src, &s1), 0);
    ck_assert_int_eq(stat(via, &s2), 0);
    ck_assert_int_eq(s1.st_size, s2.st_size);
    ck_assert_int_eq(s1.st_mtime, s2.st_mtime);
}
END_TEST

/* The kernel keeps a file's size for mount.attr_seconds; a recording that
 * grows meanwhile must still be read to its end through the mount. */
START_TEST(a_growing_file_is_read_to_its_end)
{
    kit_session("p122 20240122 --videos 1 --size 100000");
    kit_mount(&m, NULL, NULL);

    char src[600], via[600];
    first_video("p122", "20240122", src, via);

    struct stat st;
    size_t n;
    ck_assert_int_eq(stat(via, &st), 0);
    ck_assert_int_eq(st.st_size, 100000);
    free(kit_slurp_ok(via, &n));
    ck_assert_uint_eq(n, 100000);

    int fd = open(src, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    char more[50000];
    memset(more, 'x', sizeof(more));
    ck_assert_int_eq(write(fd, more, sizeof(more)), (ssize_t)sizeof(more));
    close(fd);

    size_t n_src;
    _cleanup_free_ char *a = kit_slurp_ok(src, &n_src);
    _cleanup_free_ char *b = kit_slurp_ok(via, &n);
    ck_assert_uint_eq(n_src, 150000);
    ck_assert_uint_eq(n, n_src);
    ck_assert(memcmp(a, b, n) == 0);
}
END_TEST

START_TEST(writes_to_real_files_are_erofs)
{
    kit_session("p131 20240131");
    kit_mount(&m, NULL, NULL);

    char dir[600], video[600], other[600];
    kit_mpath(&m, dir, sizeof(dir), "p131/20240131");
    kit_mpath(&m, video, sizeof(video), "p131/20240131/trial_20240131_093000.22001.mp4");
    kit_mpath(&m, other, sizeof(other), "p131/20240131/new.mp4");

#define ASSERT_EROFS(call)                                                                         \
    do {                                                                                           \
        errno = 0;                                                                                 \
        ck_assert_msg((call) < 0 && errno == EROFS, #call ": %s", strerror(errno));                \
    } while (0)

    ASSERT_EROFS(open(video, O_WRONLY));
    ASSERT_EROFS(open(video, O_RDWR));
    ASSERT_EROFS(open(video, O_WRONLY | O_TRUNC));
    ASSERT_EROFS(open(other, O_WRONLY | O_CREAT, 0644));
    ASSERT_EROFS(mknod(other, S_IFREG | 0644, 0));
    ASSERT_EROFS(unlink(video));
    ASSERT_EROFS(rename(video, other));
    ASSERT_EROFS(link(video, other));
    ASSERT_EROFS(symlink("x", other));
    char sub[640];
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    ASSERT_EROFS(mkdir(sub, 0755));
    ASSERT_EROFS(rmdir(dir));
    ASSERT_EROFS(chmod(video, 0600));
    ASSERT_EROFS(chown(video, 1, 1));
    ASSERT_EROFS(truncate(video, 0));
    ASSERT_EROFS(utimes(video, NULL));
    ASSERT_EROFS(setxattr(video, "user.x", "1", 1, 0));

    /* Nothing changed underneath. */
    char src[600];
    snprintf(src, sizeof(src), "%s/p131/20240131", lab.data);
    ck_assert_uint_eq(kit_count_entries(src, false), 5);
    struct stat st;
    snprintf(src, sizeof(src), "%s/p131/20240131/trial_20240131_093000.22001.mp4", lab.data);
    ck_assert_int_eq(stat(src, &st), 0);
    ck_assert_int_eq(st.st_size, 2000);
    ck_assert_int_eq(st.st_mode & 07777, 0644);
}
END_TEST

START_TEST(the_trash_is_hidden)
{
    kit_session("p141 20240201");
    char trash[600];
    snprintf(trash, sizeof(trash), "%s/.mctfs-trash/left", lab.data);
    ck_assert_int_eq(mct_mkdir_p(trash, 0700), 0);
    kit_mount(&m, NULL, NULL);

    ck_assert(!kit_dir_lists(m.dir, ".mctfs-trash"));
    ck_assert(kit_dir_lists(m.dir, "p141"));
    char path[600];
    struct stat st;
    kit_mpath(&m, path, sizeof(path), ".mctfs-trash");
    ck_assert(stat(path, &st) < 0 && errno == ENOENT);
    kit_mpath(&m, path, sizeof(path), ".mctfs-trash/left");
    ck_assert(stat(path, &st) < 0 && errno == ENOENT);
}
END_TEST

static Suite *read_suite(void)
{
    Suite *s = suite_create("mount-read");
    TCase *tc = tcase_create("view");
    tcase_add_unchecked_fixture(tc, kit_setup, kit_teardown);
    tcase_add_checked_fixture(tc, NULL, unmount_current);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, virtual_files_tell_each_state);
    tcase_add_test(tc, stat_size_is_the_content_length);
    tcase_add_test(tc, video_bytes_are_identical);
    tcase_add_test(tc, a_growing_file_is_read_to_its_end);
    tcase_add_test(tc, writes_to_real_files_are_erofs);
    tcase_add_test(tc, the_trash_is_hidden);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(read_suite());
}
