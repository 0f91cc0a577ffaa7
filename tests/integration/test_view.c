/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A faithful view: the inode numbers, hardlinks, extended attributes and
 * modes real clients (tar, cp -a, getfattr, file browsers) see through the
 * mount are the source's, read-only; the session folders carry their
 * state as attributes; a second command on a busy session is EBUSY at
 * once, a failed verification EIO; an open status file's size is the size
 * of what that open reads.
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "kit.h"

#define DATE "20240901"

static void drop_caches(void)
{
    /* Dentries and inodes: the kernel FORGETs what it held, and numbers
     * handed out before must not come back for other files. */
    ck_assert_int_eq(kit_shell("sync; echo 2 > /proc/sys/vm/drop_caches"), 0);
}

/* n hardlinked pairs (a_i, b_i) and n lone files under P/D/links. */
static void make_links(const char *p, size_t n)
{
    char src[512], dir[600];
    kit_source_path(p, DATE, src, sizeof(src));
    snprintf(dir, sizeof(dir), "%s/links", src);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    for (size_t i = 0; i < n; i++) {
        char a[700], b[700], c[700];
        snprintf(a, sizeof(a), "%s/a%04zu", dir, i);
        snprintf(b, sizeof(b), "%s/b%04zu", dir, i);
        snprintf(c, sizeof(c), "%s/c%04zu", dir, i);
        kit_write_file(a, "pair\n");
        ck_assert_int_eq(link(a, b), 0);
        kit_write_file(c, "lone\n");
    }
}

static ino_t ino_of(const char *path)
{
    struct stat st;
    ck_assert_msg(lstat(path, &st) == 0, "%s: %s", path, strerror(errno));
    return st.st_ino;
}

/* The hardlink lines tar writes for a tree ("x link to y"), sorted. */
static char *tar_links(const char *dir)
{
    struct kit_result r;
    char *argv[] = {"sh", "-c",
                    "tar -cf - -C \"$0\" . | tar -tvf - | grep ' link to ' | "
                    "sed 's|.* \\(\\./[^ ]*\\) link to |\\1 -> |' | sort",
                    (char *)dir, NULL};
    int st = kit_run(argv, NULL, &r);
    ck_assert_msg(st == 0, "tar of %s: exit %d: %s", dir, st, r.err);
    char *out = strdup(r.out);
    kit_result_free(&r);
    return out;
}

START_TEST(hardlinks_keep_their_numbers_across_forgets)
{
    enum { N = 300 };
    kit_session("p901 " DATE " --imported --dj --copy");
    make_links("p901", N);
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    char src[512];
    kit_source_path("p901", DATE, src, sizeof(src));
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < N; i++) {
            char a[800], b[800], c[800], sa[700];
            kit_mpath(&m, a, sizeof(a), "p901/%s/links/a%04zu", DATE, i);
            kit_mpath(&m, b, sizeof(b), "p901/%s/links/b%04zu", DATE, i);
            kit_mpath(&m, c, sizeof(c), "p901/%s/links/c%04zu", DATE, i);
            snprintf(sa, sizeof(sa), "%s/links/a%04zu", src, i);
            /* The source's own number, both names of one file alike. */
            ck_assert_uint_eq(ino_of(a), ino_of(sa));
            ck_assert_uint_eq(ino_of(a), ino_of(b));
            ck_assert_uint_ne(ino_of(a), ino_of(c));
        }
        drop_caches();
    }
    char tree[800];
    kit_mpath(&m, tree, sizeof(tree), "p901/%s/links", DATE);
    char srctree[700];
    snprintf(srctree, sizeof(srctree), "%s/links", src);
    _cleanup_free_ char *want = tar_links(srctree);
    _cleanup_free_ char *got = tar_links(tree);
    ck_assert_msg(strlen(want) > 0, "tar saw no hardlinks in %s", srctree);
    ck_assert_str_eq(got, want);
    kit_unmount(&m);
}
END_TEST

START_TEST(xattrs_are_the_sources_and_read_only)
{
    kit_session("p902 " DATE " --imported --dj --copy");
    char src[512], video[700];
    kit_source_path("p902", DATE, src, sizeof(src));
    snprintf(video, sizeof(video), "%s/trial_%s_093000.22001.mp4", src, DATE);
    ck_assert_int_eq(setxattr(video, "user.comment", "left camera", 11, 0), 0);
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    char path[800], value[64] = "";
    kit_mpath(&m, path, sizeof(path), "p902/%s/trial_%s_093000.22001.mp4", DATE, DATE);
    ck_assert_int_eq(getxattr(path, "user.comment", value, sizeof(value)), 11);
    ck_assert_int_eq(memcmp(value, "left camera", 11), 0);
    char names[256];
    ssize_t n = listxattr(path, names, sizeof(names));
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(memmem(names, (size_t)n, "user.comment", 13));
    ck_assert_int_eq(setxattr(path, "user.comment", "x", 1, 0), -1);
    ck_assert_int_eq(errno, EROFS);
    ck_assert_int_eq(removexattr(path, "user.comment"), -1);
    ck_assert_int_eq(errno, EROFS);
    kit_unmount(&m);
}
END_TEST

static char *xattr_text(const char *path, const char *name)
{
    char value[4096];
    ssize_t n = getxattr(path, name, value, sizeof(value) - 1);
    ck_assert_msg(n >= 0, "getxattr %s %s: %s", path, name, strerror(errno));
    value[n] = '\0';
    return strdup(value);
}

START_TEST(session_folders_carry_their_state)
{
    kit_session("p903 " DATE " --imported --dj --copy");
    kit_session("p904 " DATE " --imported");
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    const char *ids[] = {"p903", "p904"};
    const char *states[] = {"safe", "not_imported"};
    for (int i = 0; i < 2; i++) {
        _cleanup_free_ char *safe = kit_vfile(&m, ids[i], DATE, ".safe_to_delete");
        char dir[800];
        kit_mpath(&m, dir, sizeof(dir), "%s/%s", ids[i], DATE);
        _cleanup_free_ char *x = xattr_text(dir, "user.mctfs.safe_to_delete");
        ck_assert_uint_eq(strlen(x), strcspn(safe, "\n"));
        ck_assert_int_eq(strncmp(x, safe, strlen(x)), 0);
        _cleanup_free_ char *state = xattr_text(dir, "user.mctfs.state");
        ck_assert_str_eq(state, states[i]);
        _cleanup_free_ char *comment = xattr_text(dir, "user.xdg.comment");
        ck_assert_msg(strlen(comment) > 0 && !strchr(comment, '\n'), "%s", comment);
    }
    char root[500];
    kit_mpath(&m, root, sizeof(root), "%s", "");
    _cleanup_free_ char *sum = xattr_text(root, "user.mctfs.sessions");
    kit_assert_has(sum, "2 sessions: 1 safe to delete");
    kit_unmount(&m);
}
END_TEST

START_TEST(the_view_has_no_write_bits)
{
    kit_session("p905 " DATE " --imported --dj --copy");
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    char dir[800], file[800], status[800], control[800];
    kit_mpath(&m, dir, sizeof(dir), "p905/%s", DATE);
    kit_mpath(&m, file, sizeof(file), "p905/%s/trial_%s_093000.22001.mp4", DATE, DATE);
    kit_mpath(&m, status, sizeof(status), "p905/%s/.status", DATE);
    kit_mpath(&m, control, sizeof(control), "p905/%s/.control", DATE);
    struct stat st;
    const char *ro[] = {dir, file, status};
    for (size_t i = 0; i < ARRAY_SIZE(ro); i++) {
        ck_assert_int_eq(stat(ro[i], &st), 0);
        ck_assert_msg((st.st_mode & 0222) == 0, "%s mode %o", ro[i], st.st_mode & 07777);
    }
    /* .control: its owner may write; everyone may read the last result. */
    ck_assert_int_eq(stat(control, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0644);
    kit_unmount(&m);
}
END_TEST

struct writer {
    struct kit_mount *m;
    const char *p, *cmd;
    ssize_t result;
    int err;
};

static void *write_command(void *arg)
{
    struct writer *w = arg;
    w->result = kit_control_write(w->m, w->p, DATE, w->cmd, strlen(w->cmd), &w->err);
    return NULL;
}

START_TEST(a_second_command_is_ebusy_at_once)
{
    /* A SYNC slowed down by the bandwidth limit: 4 MB at 400 KB/s. */
    kit_session("p906 " DATE " --imported --dj --videos 2 --size 2000000");
    const char *cfg = kit_config_variant("slow", "    flags: \"-avh\"\n",
                                         "    flags: \"-avh\"\n    bandwidth_limit: 400\n", NULL);
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    struct writer sync = {.m = &m, .p = "p906", .cmd = "SYNC\n"};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, write_command, &sync), 0);
    /* Wait until the sync is running (.backup_status says so). */
    bool running = false;
    for (int i = 0; i < 100 && !running; i++) {
        kit_sleep_ms(100);
        _cleanup_free_ char *b = kit_vfile(&m, "p906", DATE, ".backup_status");
        running = startswith(b, "syncing");
    }
    ck_assert_msg(running, "the SYNC never showed as running");
    const char *others[] = {"VERIFY\n", "DELETE\n", "SYNC\n"};
    for (size_t i = 0; i < ARRAY_SIZE(others); i++) {
        int err = 0;
        int64_t t0 = mct_now_ms();
        ssize_t r = kit_control_write(&m, "p906", DATE, others[i], strlen(others[i]), &err);
        int64_t ms = mct_now_ms() - t0;
        ck_assert_msg(r == -1 && err == EBUSY, "%s while SYNC runs: %zd, errno %d (%s)", others[i],
                      r, err, strerror(err));
        ck_assert_msg(ms < 1000, "%s waited %lld ms for EBUSY", others[i], (long long)ms);
    }
    pthread_join(t, NULL);
    ck_assert_msg(sync.result == 5, "SYNC: %zd, errno %d", sync.result, sync.err);
    /* The session is whole: no DELETE was queued behind the SYNC. */
    char src[512];
    kit_source_path("p906", DATE, src, sizeof(src));
    ck_assert(kit_exists(src));
    ck_assert_uint_eq(kit_log_count("p906", DATE, "deleted"), 0);
    kit_unmount(&m);
}
END_TEST

START_TEST(verify_without_a_copy_is_eio)
{
    kit_session("p907 " DATE " --imported --dj");
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    int err = 0;
    ck_assert_int_eq(kit_control_write(&m, "p907", DATE, "VERIFY\n", 7, &err), -1);
    ck_assert_int_eq(err, EIO);
    _cleanup_free_ char *c = kit_vfile(&m, "p907", DATE, ".control");
    kit_assert_has(c, "no copy at");
    kit_unmount(&m);
}
END_TEST

/* Read an open file whole and compare with its fstat. */
static size_t read_and_fstat(int fd)
{
    char buf[65536];
    ssize_t n = pread(fd, buf, sizeof(buf), 0);
    ck_assert_int_ge(n, 0);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_msg(st.st_size == n, "fstat says %lld, the open reads %zd", (long long)st.st_size, n);
    return (size_t)n;
}

START_TEST(an_open_status_file_is_one_snapshot)
{
    kit_session("p908 " DATE " --imported --dj --copy");
    const char *cfg = kit_config_variant("fresh", "timeouts:\n",
                                         "mount:\n  cache_seconds: 0\ntimeouts:\n", NULL);
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    char path[800];
    kit_mpath(&m, path, sizeof(path), "p908/%s/.backup_status", DATE);
    int old = open(path, O_RDONLY);
    ck_assert_int_ge(old, 0);
    size_t before = read_and_fstat(old);
    /* The copy loses a file: the status text changes (and its length). */
    char dst[512], victim[700];
    kit_dest_path("p908", DATE, dst, sizeof(dst));
    snprintf(victim, sizeof(victim), "%s/trial_%s_093000.22001.mp4", dst, DATE);
    ck_assert_int_eq(unlink(victim), 0);
    int fresh = open(path, O_RDONLY);
    ck_assert_int_ge(fresh, 0);
    size_t after = read_and_fstat(fresh);
    ck_assert_uint_ne(before, after);
    /* The old open still reads, and says, what it opened. */
    ck_assert_uint_eq(read_and_fstat(old), before);
    close(old);
    close(fresh);
    kit_unmount(&m);
}
END_TEST

/* tar of the whole mount, virtual files included, finds nothing that
 * changed while it read it: every file's time moves only with its text
 * (.control's with its commands), and its size is what a read gives. */
START_TEST(tar_of_the_mount_sees_no_file_change)
{
    kit_session("p910 " DATE " --imported --dj --copy");
    kit_session("p911 " DATE " --imported");
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    char *argv[] = {"tar", "-cf", "/dev/null", "-C", m.dir, ".", NULL};
    struct kit_result r;
    int st = kit_run(argv, NULL, &r);
    ck_assert_msg(st == 0 && r.err[0] == '\0', "tar: exit %d: %s", st, r.err);
    kit_result_free(&r);

    struct stat a, b;
    char path[800];
    kit_mpath(&m, path, sizeof(path), "p910/%s/.control", DATE);
    ck_assert_int_eq(stat(path, &a), 0);
    kit_sleep_ms(20);
    ck_assert_int_eq(stat(path, &b), 0);
    ck_assert(a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec);
    int err = 0;
    ck_assert_int_eq(kit_control_write(&m, "p910", DATE, "VERIFY\n", 7, &err), 7);
    ck_assert_int_eq(stat(path, &b), 0);
    ck_assert_msg(b.st_mtim.tv_sec != a.st_mtim.tv_sec || b.st_mtim.tv_nsec != a.st_mtim.tv_nsec,
                  ".control's time did not move with a command");
    kit_unmount(&m);
}
END_TEST

/* A session's status file is read through the page cache once its pages
 * are known to hold the text (mctfs(8)): a shared mapping of it gives the
 * text. The root's files are read direct: a shared mapping is ENODEV. */
START_TEST(a_session_status_file_maps_and_the_roots_do_not)
{
    kit_session("p909 " DATE " --imported --dj --copy");
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    char path[800];
    kit_mpath(&m, path, sizeof(path), "p909/%s/.safe_to_delete", DATE);
    _cleanup_free_ char *text = kit_slurp_ok(path, NULL);
    ck_assert_str_eq(text, "yes\n");
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    void *map = mmap(NULL, 4, PROT_READ, MAP_SHARED, fd, 0);
    ck_assert_msg(map != MAP_FAILED, "mmap of %s: %s", path, strerror(errno));
    ck_assert_int_eq(memcmp(map, "yes\n", 4), 0);
    munmap(map, 4);
    close(fd);

    kit_mpath(&m, path, sizeof(path), ".status");
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    errno = 0;
    ck_assert(mmap(NULL, 4, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED);
    ck_assert_int_eq(errno, ENODEV);
    close(fd);
    kit_unmount(&m);
}
END_TEST

/* Status files' attributes are cached by the kernel (attr_seconds, 10 s
 * here), yet a stat never says an old length: each new text drops them. */
START_TEST(a_stat_after_a_new_status_text_is_its_length)
{
    kit_session("p909 " DATE " --imported --dj --copy");
    const char *cfg = kit_config_variant("fresh", "timeouts:\n",
                                         "mount:\n  cache_seconds: 0\ntimeouts:\n", NULL);
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    char path[800];
    kit_mpath(&m, path, sizeof(path), "p909/%s/.backup_status", DATE);
    size_t before;
    free(kit_slurp_ok(path, &before));
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)before);

    char dst[512], victim[700];
    kit_dest_path("p909", DATE, dst, sizeof(dst));
    snprintf(victim, sizeof(victim), "%s/trial_%s_093000.22001.mp4", dst, DATE);
    ck_assert_int_eq(unlink(victim), 0);
    /* Another file's read computes the session anew (cache_seconds 0);
     * one of this file would make the kernel ask anyway (its atime). */
    char other[800];
    kit_mpath(&m, other, sizeof(other), "p909/%s/.status", DATE);
    free(kit_slurp_ok(other, NULL));
    ck_assert_int_eq(stat(path, &st), 0);
    size_t after;
    free(kit_slurp_ok(path, &after));
    ck_assert_uint_ne(before, after);
    ck_assert_msg(st.st_size == (off_t)after, "stat says %lld, the new text is %zu",
                  (long long)st.st_size, after);
    kit_unmount(&m);
}
END_TEST

Suite *suite(void);
Suite *suite(void)
{
    Suite *s = suite_create("view");
    TCase *tc = tcase_create("view");
    tcase_add_checked_fixture(tc, kit_setup, kit_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, hardlinks_keep_their_numbers_across_forgets);
    tcase_add_test(tc, xattrs_are_the_sources_and_read_only);
    tcase_add_test(tc, session_folders_carry_their_state);
    tcase_add_test(tc, the_view_has_no_write_bits);
    tcase_add_test(tc, a_second_command_is_ebusy_at_once);
    tcase_add_test(tc, verify_without_a_copy_is_eio);
    tcase_add_test(tc, an_open_status_file_is_one_snapshot);
    tcase_add_test(tc, a_stat_after_a_new_status_text_is_its_length);
    tcase_add_test(tc, a_session_status_file_maps_and_the_roots_do_not);
    tcase_add_test(tc, tar_of_the_mount_sees_no_file_change);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(suite());
}
