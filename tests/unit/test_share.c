/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The shares (fs/core/share.c, share_probe.c, share_scan.c): mount point
 * detection, the probe with its timeout and backoff, and the scan of the
 * copies in one child. The tests mount tmpfs for real (we run as root),
 * each in a private mount namespace so nothing leaks into the host's
 * mount table even when a test dies half-way.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "share.h"
#include "unit.h"
#include "util.h"

static char tmpdir[256];
static char mnt[320];
static bool mounted;

static void setup(void)
{
    /* Private namespace: our mounts die with this (forked) test process. */
    if (unshare(CLONE_NEWNS) == 0)
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mct-test-share.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
    ck_assert_int_eq(mkdir(mnt, 0755), 0);
    mounted = false;
    unsetenv("MCT_TEST_SHARE_DELAY_MS");
}

static void teardown(void)
{
    if (mounted)
        umount2(mnt, MNT_DETACH);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static void mount_tmpfs(const char *where)
{
    ck_assert_msg(mount("tmpfs", where, "tmpfs", 0, "size=4m") == 0, "mount %s: %s", where,
                  strerror(errno));
    if (streq(where, mnt))
        mounted = true;
}

static void make_file(const char *path, size_t size)
{
    _cleanup_free_ char *dir = strdup(path);
    *strrchr(dir, '/') = '\0';
    ck_assert_int_eq(mct_mkdir_p(dir, 0755), 0);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < size; i++)
        fputc('y', f);
    fclose(f);
}

static struct mct_config cfg;
static struct mct_destination dest;
static char base[400];

static void setup_dest(bool verify_mount)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.share_timeout_s = 2;
    snprintf(base, sizeof(base), "%s/mobile_system_data", mnt);
    dest = (struct mct_destination){
            .name = (char *)"CottonLab",
            .mount_point = mnt,
            .base_path = base,
            .path_structure = (char *)"{session_date}/{participant_id}",
            .enabled = true,
            .verify_mount = verify_mount,
    };
}

START_TEST(a_mount_point_is_told_from_a_plain_folder_by_any_spelling_of_its_path)
{
    ck_assert_int_eq(mct_is_mount_point(mnt), 0);
    mount_tmpfs(mnt);
    ck_assert_int_eq(mct_is_mount_point(mnt), 1);
    char alt[400];
    snprintf(alt, sizeof(alt), "%s//./mnt/", tmpdir);
    ck_assert_int_eq(mct_is_mount_point(alt), 1);
    snprintf(alt, sizeof(alt), "%s/mnt/sub/..", tmpdir);
    ck_assert_int_eq(mct_is_mount_point(alt), 1);
    ck_assert_int_eq(mct_is_mount_point(tmpdir), 0);
    ck_assert_int_eq(mct_is_mount_point("/"), 1);
    ck_assert_int_eq(mct_is_mount_point("/proc"), 1);

    /* a symlink to the mount point resolves to it */
    char link[400];
    snprintf(link, sizeof(link), "%s/link", tmpdir);
    ck_assert_int_eq(symlink(mnt, link), 0);
    ck_assert_int_eq(mct_is_mount_point(link), 1);

    /* a relative path */
    ck_assert_int_eq(chdir(tmpdir), 0);
    ck_assert_int_eq(mct_is_mount_point("mnt"), 1);
    ck_assert_int_eq(mct_is_mount_point("."), 0);
    snprintf(alt, sizeof(alt), "%s/does-not-exist", tmpdir);
    ck_assert_int_eq(mct_is_mount_point(alt), 0);
    ck_assert_int_eq(chdir("/"), 0);
}
END_TEST

START_TEST(mount_points_with_spaces_tabs_or_backslashes_are_found)
{
    /* mountinfo shows these as \040, \011 and \134 */
    static const char *names[] = {"with space", "tab\there", "back\\slash"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        char p[400];
        snprintf(p, sizeof(p), "%s/%s", tmpdir, names[i]);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        ck_assert_int_eq(mct_is_mount_point(p), 0);
        mount_tmpfs(p);
        ck_assert_msg(mct_is_mount_point(p) == 1, "'%s' not seen as mounted", names[i]);
        ck_assert_int_eq(umount2(p, MNT_DETACH), 0);
        ck_assert_int_eq(mct_is_mount_point(p), 0);
    }
}
END_TEST

START_TEST(a_share_not_mounted_is_enotconn_even_with_its_folder_there)
{
    setup_dest(true);
    ck_assert_int_eq(mkdir(base, 0755), 0); /* the empty local folder trap */
    char why[512] = "";
    ck_assert_int_eq(mct_share_probe(&cfg, &dest, why, sizeof(why)), -ENOTCONN);
    ck_assert_ptr_nonnull(strstr(why, "destination 'CottonLab'"));
    ck_assert_ptr_nonnull(strstr(why, mnt));
    ck_assert_ptr_nonnull(strstr(why, "is not a mount point (share not mounted?)"));

    /* mount point folder missing altogether */
    char gone[400];
    snprintf(gone, sizeof(gone), "%s/nowhere", tmpdir);
    dest.mount_point = gone;
    ck_assert_int_eq(mct_share_probe(&cfg, &dest, why, sizeof(why)), -ENOTCONN);

    /* without verify_mount an existing base is accepted */
    setup_dest(false);
    ck_assert_int_eq(mct_share_probe(&cfg, &dest, why, sizeof(why)), 0);
}
END_TEST

START_TEST(a_mounted_share_answers_once_its_base_folder_is_there_and_never_as_the_source)
{
    setup_dest(true);
    mount_tmpfs(mnt);
    char why[512] = "";
    ck_assert_int_eq(mct_share_probe(&cfg, &dest, why, sizeof(why)), -ENOENT);
    ck_assert_ptr_nonnull(strstr(why, base));
    ck_assert_int_eq(mkdir(base, 0755), 0);
    ck_assert_int_eq(mct_share_probe(&cfg, &dest, why, sizeof(why)), 0);
    ck_assert_int_eq(mct_share_probe(&cfg, &dest, NULL, 0), 0);

    /* configured through a symlink to the mount point */
    char link[400];
    snprintf(link, sizeof(link), "%s/link", tmpdir);
    ck_assert_int_eq(symlink(mnt, link), 0);
    dest.mount_point = link;
    ck_assert_int_eq(mct_share_probe(&cfg, &dest, why, sizeof(why)), 0);

    /* a source that is the share once both are resolved */
    cfg.source_base_path = link;
    ck_assert_int_eq(mct_share_probe(&cfg, &dest, why, sizeof(why)), -EXDEV);
    ck_assert_msg(strstr(why, "overlaps the source") && strstr(why, base), "%s", why);
    cfg.source_base_path = NULL;

    /* base that is a file */
    char file[440];
    snprintf(file, sizeof(file), "%s/afile", mnt);
    make_file(file, 1);
    dest.mount_point = mnt;
    dest.base_path = file;
    ck_assert_int_eq(mct_share_probe(&cfg, &dest, why, sizeof(why)), -ENOTDIR);
}
END_TEST

START_TEST(a_hung_share_costs_one_timeout_then_answers_at_once_until_the_backoff_ends)
{
    setup_dest(true);
    mount_tmpfs(mnt);
    ck_assert_int_eq(mkdir(base, 0755), 0);
    cfg.share_timeout_s = 1;
    setenv("MCT_TEST_SHARE_DELAY_MS", "5000", 1);
    char why[512] = "";
    int64_t t0 = mct_now_ms();
    ck_assert_int_eq(mct_share_probe(&cfg, &dest, why, sizeof(why)), -ETIMEDOUT);
    int64_t ms = mct_now_ms() - t0;
    ck_assert_msg(ms >= 900 && ms < 2000, "took %lld ms", (long long)ms);
    ck_assert_ptr_nonnull(strstr(why, "did not answer within 1 s (stale or hung mount)"));
    /* the killed child was reaped, not left as a zombie */
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);

    /* asked again at once: the remembered failure, without a new wait
     * or a new child (one timeout per hung share) */
    setenv("MCT_TEST_SHARE_DELAY_MS", "100", 1);
    t0 = mct_now_ms();
    ck_assert_int_eq(mct_share_probe(&cfg, &dest, why, sizeof(why)), -ETIMEDOUT);
    ck_assert_msg(mct_now_ms() - t0 < 100, "took %lld ms", (long long)(mct_now_ms() - t0));
    ck_assert_msg(strstr(why, "did not answer within 1 s") && strstr(why, "(since "), "%s", why);

    /* after the backoff (1 s after the first failure) it is probed again:
     * a short delay inside the deadline is fine */
    usleep(1100 * 1000);
    ck_assert_int_eq(mct_share_probe(&cfg, &dest, why, sizeof(why)), 0);
}
END_TEST

/* The scans as the old per-path API gave them: copies of dest. */
static int scan_many(char *const *paths, size_t n, struct mct_scan *res, int *errs)
{
    struct mct_copy_scan *c = calloc(n ? n : 1, sizeof(*c));
    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < n; i++)
        c[i].path = paths[i];
    int r = mct_share_scan_copies(&cfg, &dest, c, n);
    for (size_t i = 0; i < n; i++) {
        res[i] = c[i].scan;
        errs[i] = c[i].err;
        c[i].scan = (struct mct_scan){0};
        mct_copy_scan_done(&c[i]);
    }
    free(c);
    return r;
}

static void make_sessions(void)
{
    char p[600];
    snprintf(p, sizeof(p), "%s/20250104/p001/a.mp4", base);
    make_file(p, 100);
    snprintf(p, sizeof(p), "%s/20250104/p001/sub/b.json", base);
    make_file(p, 10);
    snprintf(p, sizeof(p), "%s/20250104/p001/x.tmp", base);
    make_file(p, 7);
    snprintf(p, sizeof(p), "%s/20250105/TF47/c.mp4", base);
    make_file(p, 3);
}

START_TEST(the_copies_on_a_share_are_scanned_in_one_child_as_a_local_scan_sees_them)
{
    setup_dest(true);
    mount_tmpfs(mnt);
    make_sessions();
    char *ex[] = {(char *)"*.tmp", NULL};
    cfg.exclude_patterns = ex;
    char p0[600], p1[600], p2[600];
    snprintf(p0, sizeof(p0), "%s/20250104/p001", base);
    snprintf(p1, sizeof(p1), "%s/20250106/p001", base);
    snprintf(p2, sizeof(p2), "%s/20250105/TF47", base);
    char *paths[] = {p0, p1, p2};
    struct mct_scan res[3];
    int errs[3];
    ck_assert_int_eq(scan_many(paths, 3, res, errs), 0);
    ck_assert_int_eq(errs[0], 0);
    ck_assert_int_eq(errs[1], -ENOENT);
    ck_assert_int_eq(errs[2], 0);

    ck_assert_uint_eq(res[0].n_files, 2);
    ck_assert_str_eq(res[0].files[0].relpath, "a.mp4");
    ck_assert_str_eq(res[0].files[1].relpath, "sub/b.json");
    ck_assert_uint_eq(res[0].files[0].size, 100);
    ck_assert(S_ISREG(res[0].files[0].mode));
    ck_assert_uint_eq(res[0].bytes, 110);
    ck_assert_uint_eq(res[0].videos, 1);
    ck_assert_int_gt(res[0].newest_mtime.tv_sec, 0);

    /* the streamed copy matches a scan made here */
    struct mct_scan local;
    ck_assert_int_eq(mct_scan_tree(p0, ex, &local), 0);
    ck_assert_uint_eq(local.n_files, res[0].n_files);
    for (size_t i = 0; i < local.n_files; i++) {
        ck_assert_str_eq(local.files[i].relpath, res[0].files[i].relpath);
        ck_assert_uint_eq(local.files[i].ino, res[0].files[i].ino);
        ck_assert_uint_eq(local.files[i].dev, res[0].files[i].dev);
        ck_assert_int_eq(local.files[i].mtime.tv_nsec, res[0].files[i].mtime.tv_nsec);
        ck_assert_int_eq(local.files[i].ctime.tv_sec, res[0].files[i].ctime.tv_sec);
    }
    mct_scan_free(&local);

    ck_assert_uint_eq(res[1].n_files, 0);
    ck_assert_ptr_null(res[1].files);
    ck_assert_uint_eq(res[2].n_files, 1);
    ck_assert_str_eq(res[2].files[0].relpath, "c.mp4");
    for (int i = 0; i < 3; i++)
        mct_scan_free(&res[i]);

    ck_assert_int_eq(scan_many(paths, 0, res, errs), 0);
}
END_TEST

START_TEST(a_scan_of_3000_files_streams_every_one)
{
    setup_dest(false);
    dest.base_path = tmpdir; /* the copies live in plain folders here */
    char p[600];
    for (int i = 0; i < 3000; i++) {
        snprintf(p, sizeof(p), "%s/big/d%02d/file-with-a-longish-name-%05d.mp4", tmpdir, i % 50, i);
        make_file(p, (size_t)(i % 7));
    }
    snprintf(p, sizeof(p), "%s/big", tmpdir);
    char *paths[] = {p};
    struct mct_scan res;
    int err;
    ck_assert_int_eq(scan_many(paths, 1, &res, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_uint_eq(res.n_files, 3000);
    ck_assert_uint_eq(res.videos, 3000);
    ck_assert_ptr_nonnull(mct_scan_find(&res, "d07/file-with-a-longish-name-02507.mp4"));
    mct_scan_free(&res);
}
END_TEST

static void assert_same_scan(const struct mct_scan *a, const struct mct_scan *b)
{
    ck_assert_uint_eq(a->n_files, b->n_files);
    ck_assert_uint_eq(a->bytes, b->bytes);
    ck_assert_uint_eq(a->videos, b->videos);
    ck_assert_int_eq(a->newest_mtime.tv_sec, b->newest_mtime.tv_sec);
    ck_assert_int_eq(a->newest_mtime.tv_nsec, b->newest_mtime.tv_nsec);
    for (size_t i = 0; i < a->n_files; i++) {
        const struct mct_file *x = &a->files[i], *y = &b->files[i];
        ck_assert_str_eq(x->relpath, y->relpath);
        ck_assert_uint_eq(x->size, y->size);
        ck_assert_uint_eq(x->dev, y->dev);
        ck_assert_uint_eq(x->ino, y->ino);
        ck_assert_uint_eq(x->mode, y->mode);
        ck_assert_int_eq(x->mtime.tv_sec, y->mtime.tv_sec);
        ck_assert_int_eq(x->mtime.tv_nsec, y->mtime.tv_nsec);
        ck_assert_int_eq(x->ctime.tv_sec, y->ctime.tv_sec);
        ck_assert_int_eq(x->ctime.tv_nsec, y->ctime.tv_nsec);
    }
}

/* A relpath longer than a scan allows: 24 folders of 200 characters. */
static void make_deep(const char *root)
{
    ck_assert_int_eq(mct_mkdir_p(root, 0755), 0);
    char name[201];
    memset(name, 'd', 200);
    name[200] = '\0';
    int fd = open(root, O_RDONLY | O_DIRECTORY);
    for (int i = 0; i < 24; i++) {
        ck_assert_int_eq(mkdirat(fd, name, 0755), 0);
        int sub = openat(fd, name, O_RDONLY | O_DIRECTORY);
        ck_assert_int_ge(sub, 0);
        close(fd);
        fd = sub;
    }
    ck_assert_int_eq(mknodat(fd, "f", S_IFREG | 0644, 0), 0);
    close(fd);
}

/* The child streams its walk and the parent sorts and counts: the result
 * must be the one mct_scan_tree gives here, field for field. */
START_TEST(the_childs_scan_equals_a_local_scan_field_for_field)
{
    setup_dest(false);
    dest.base_path = tmpdir; /* the copies live in plain folders here */
    char *ex[] = {(char *)"*.tmp", (char *)"cache/", (char *)"/top.log", NULL};
    cfg.exclude_patterns = ex;
    char t[600], p[700];
    snprintf(t, sizeof(t), "%s/tree", tmpdir);
    const char *files[] = {"a.mp4",       "B.MP4",           "top.log",          "x.tmp",
                           "sub/c.json",  "sub/top.log",     "sub/deeper/d.mp4", "sub/deeper/e.tmp",
                           "cache/f.mp4", "sub/cache/g.mp4", "z/y/x/w/v.bin"};
    for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
        snprintf(p, sizeof(p), "%s/%s", t, files[i]);
        make_file(p, 10 * i + 1);
    }
    const char *dirs[] = {"empty", "sub/empty", "sub/deeper/empty/er"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
        snprintf(p, sizeof(p), "%s/%s", t, dirs[i]);
        ck_assert_int_eq(mct_mkdir_p(p, 0755), 0);
    }
    snprintf(p, sizeof(p), "%s/sub/fifo", t);
    ck_assert_int_eq(mkfifo(p, 0644), 0);
    snprintf(p, sizeof(p), "%s/sub/sock", t);
    ck_assert_int_eq(mknod(p, S_IFSOCK | 0644, 0), 0);
    snprintf(p, sizeof(p), "%s/link-file", t);
    ck_assert_int_eq(symlink("a.mp4", p), 0);
    snprintf(p, sizeof(p), "%s/sub/link-dir.mp4", t); /* listed, not followed */
    ck_assert_int_eq(symlink("deeper", p), 0);
    snprintf(p, sizeof(p), "%s/dangling.tmp", t);
    ck_assert_int_eq(symlink("nowhere", p), 0);
    snprintf(p, sizeof(p), "%s/dangling", t);
    ck_assert_int_eq(symlink("nowhere", p), 0);

    char sub[700], link[700], missing[700], file[700], empty[700], deep[700];
    snprintf(sub, sizeof(sub), "%s/sub", t);
    snprintf(link, sizeof(link), "%s/tree-link", tmpdir); /* a root through a symlink */
    ck_assert_int_eq(symlink(t, link), 0);
    snprintf(missing, sizeof(missing), "%s/missing", tmpdir);
    snprintf(file, sizeof(file), "%s/a.mp4", t);
    snprintf(empty, sizeof(empty), "%s/empty", t);
    snprintf(deep, sizeof(deep), "%s/deep", tmpdir);
    make_deep(deep);
    char *paths[] = {t, sub, link, missing, file, empty, deep, t};
    enum { N = sizeof(paths) / sizeof(*paths) };
    struct mct_scan res[N];
    int errs[N];
    ck_assert_int_eq(scan_many(paths, N, res, errs), 0);
    /* A copy folder reached through a symlink is never scanned. */
    ck_assert_int_eq(errs[2], -ELOOP);
    ck_assert_ptr_null(res[2].files);
    for (size_t i = 0; i < N; i++) {
        if (i == 2)
            continue;
        struct mct_scan local;
        int r = mct_scan_tree(paths[i], ex, &local);
        ck_assert_msg(errs[i] == r, "%s: %d != %d", paths[i], errs[i], r);
        assert_same_scan(&res[i], &local);
        if (r < 0)
            ck_assert_ptr_null(res[i].files);
        mct_scan_free(&local);
    }
    ck_assert_int_eq(errs[3], -ENOENT);
    ck_assert_int_eq(errs[4], -ENOTDIR);
    ck_assert_int_eq(errs[6], -ENAMETOOLONG);
    ck_assert_uint_eq(res[5].n_files, 0);
    /* a.mp4 B.MP4 dangling link-file sub/c.json sub/deeper/d.mp4
     * sub/link-dir.mp4 sub/top.log z/y/x/w/v.bin */
    ck_assert_uint_eq(res[0].n_files, 9);
    ck_assert_uint_eq(res[0].videos, 3);
    ck_assert_ptr_nonnull(mct_scan_find(&res[0], "sub/link-dir.mp4"));
    ck_assert_uint_eq(mct_scan_find(&res[0], "link-file")->mode, S_IFLNK);
    for (size_t i = 0; i < N; i++)
        mct_scan_free(&res[i]);
}
END_TEST

START_TEST(a_scan_on_a_hung_share_gives_up_after_share_seconds_and_reaps_its_child)
{
    setup_dest(true);
    mount_tmpfs(mnt);
    make_sessions();
    cfg.share_timeout_s = 1;
    setenv("MCT_TEST_SHARE_DELAY_MS", "4000", 1);
    char p0[600], p1[600];
    snprintf(p0, sizeof(p0), "%s/20250104/p001", base);
    snprintf(p1, sizeof(p1), "%s/20250105/TF47", base);
    char *paths[] = {p0, p1};
    struct mct_scan res[2];
    int errs[2];
    int64_t t0 = mct_now_ms();
    ck_assert_int_eq(scan_many(paths, 2, res, errs), -ETIMEDOUT);
    int64_t ms = mct_now_ms() - t0;
    ck_assert_msg(ms < 2000, "took %lld ms", (long long)ms);
    ck_assert_int_eq(errs[0], -ETIMEDOUT);
    ck_assert_int_eq(errs[1], -ETIMEDOUT);
    ck_assert_uint_eq(res[0].n_files, 0);
    ck_assert_uint_eq(res[1].n_files, 0);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

static Suite *share_suite(void)
{
    Suite *s = suite_create("share");
    TCase *tc = tcase_create("share");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, a_mount_point_is_told_from_a_plain_folder_by_any_spelling_of_its_path);
    tcase_add_test(tc, mount_points_with_spaces_tabs_or_backslashes_are_found);
    tcase_add_test(tc, a_share_not_mounted_is_enotconn_even_with_its_folder_there);
    tcase_add_test(tc,
                   a_mounted_share_answers_once_its_base_folder_is_there_and_never_as_the_source);
    tcase_add_test(tc, a_hung_share_costs_one_timeout_then_answers_at_once_until_the_backoff_ends);
    tcase_add_test(tc, the_copies_on_a_share_are_scanned_in_one_child_as_a_local_scan_sees_them);
    tcase_add_test(tc, a_scan_of_3000_files_streams_every_one);
    tcase_add_test(tc, the_childs_scan_equals_a_local_scan_field_for_field);
    tcase_add_test(tc, a_scan_on_a_hung_share_gives_up_after_share_seconds_and_reaps_its_child);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(share_suite());
}
