/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount when things go wrong, for real (mctfs over the private lab):
 * a hung share does not block the view, an unmount or a SIGTERM with a
 * read in flight ends cleanly, and a command line that cannot work is
 * refused before anything is mounted.
 *
 * One lab for the whole program, one mount per test on its own mount
 * point (unmounted by the teardown), and every test uses its own
 * participant so the tests do not see each other's sessions.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "kit.h"

/* The current test's mount. */
static struct kit_mount m;

static void unmount_current(void)
{
    kit_unmount(&m);
}

START_TEST(hung_share_does_not_block_the_view)
{
    kit_session("p211 20240901 --imported --dj");

    /* hangfs as the destination's mount point: every stat of it hangs. */
    char hang[400];
    pid_t hangfs = kit_hangfs_start(hang, sizeof(hang));
    kit_mount(&m, kit_config_variant("hung", lab.share, hang, NULL), NULL);

    /* Listing, lookups and video reads answer at once. */
    int64_t t0 = mct_now_ms();
    ck_assert(kit_dir_lists(m.dir, "p211"));
    char path[600], src[600];
    kit_mpath(&m, path, sizeof(path), "p211/20240901");
    ck_assert(kit_dir_lists(path, "trial_20240901_093000.22001.mp4"));
    kit_mpath(&m, path, sizeof(path), "p211/20240901/trial_20240901_093000.22002.mp4");
    snprintf(src, sizeof(src), "%s/p211/20240901/trial_20240901_093000.22002.mp4", lab.data);
    size_t n1, n2;
    _cleanup_free_ char *a = kit_slurp_ok(path, &n1);
    _cleanup_free_ char *b = kit_slurp_ok(src, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert(memcmp(a, b, n1) == 0);
    ck_assert_int_lt(mct_now_ms() - t0, 1500);

    /* The status says so within the share timeout (2 s) and a little. */
    t0 = mct_now_ms();
    _cleanup_free_ char *backup = kit_vfile(&m, "p211", "20240901", ".backup_status");
    int64_t took = mct_now_ms() - t0;
    kit_assert_starts(backup, "unreachable");
    ck_assert_msg(took < 6000, ".backup_status took %lld ms", (long long)took);
    _cleanup_free_ char *safe = kit_vfile(&m, "p211", "20240901", ".safe_to_delete");
    kit_assert_starts(safe, "no: ");

    /* Still answering while workers deal with the share. */
    t0 = mct_now_ms();
    ck_assert(kit_dir_lists(m.dir, "p211"));
    ck_assert_int_lt(mct_now_ms() - t0, 1500);

    kit_unmount(&m);
    kit_hangfs_stop(hangfs, hang);
}
END_TEST

struct reader {
    const char *path;
    const char *expect;
    size_t len;
    volatile bool stop;
    size_t bytes;
    size_t mismatches;
    int err;
};

/* Reads the file over and over, checking every byte, until told to stop
 * or a read fails. */
static void *reader_thread(void *arg)
{
    struct reader *r = arg;
    int fd = open(r->path, O_RDONLY);
    if (fd < 0) {
        r->err = errno;
        return NULL;
    }
    char buf[65536];
    off_t off = 0;
    while (!r->stop) {
        ssize_t n = pread(fd, buf, sizeof(buf), off);
        if (n < 0) {
            r->err = errno;
            break;
        }
        if (memcmp(buf, r->expect + off, (size_t)n) != 0)
            r->mismatches++;
        r->bytes += (size_t)n;
        off = n == 0 ? 0 : off + n;
    }
    close(fd);
    return NULL;
}

static void join_within(pthread_t t, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ck_assert_msg(pthread_timedjoin_np(t, NULL, &ts) == 0, "reader did not finish in %u ms", ms);
}

START_TEST(an_unmount_with_a_read_in_flight_ends_cleanly)
{
    kit_session("p221 20241001 --videos 1 --size 20000000");
    char src[600];
    snprintf(src, sizeof(src), "%s/p221/20241001/trial_20241001_093000.22001.mp4", lab.data);
    size_t len;
    _cleanup_free_ char *expect = kit_slurp_ok(src, &len);

    /* fusermount3 -uz while reading: the open file keeps working, and mctfs
     * exits cleanly once it is closed. */
    kit_mount(&m, NULL, NULL);
    char path[600];
    kit_mpath(&m, path, sizeof(path), "p221/20241001/trial_20241001_093000.22001.mp4");
    struct reader r = {.path = path, .expect = expect, .len = len};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, reader_thread, &r), 0);
    kit_sleep_ms(300);
    ck_assert_int_eq(kit_fusermount("-uz", m.dir), 0);
    kit_sleep_ms(300);
    r.stop = true;
    join_within(t, 10000);
    ck_assert_uint_gt(r.bytes, 0);
    ck_assert_uint_eq(r.mismatches, 0);
    ck_assert_int_eq(r.err, 0);
    kit_assert_clean_exit(&m);
    ck_assert(!kit_is_mounted(m.dir));

    /* SIGTERM while reading: mctfs unmounts and exits 0; the reader gets
     * an error, it does not hang. */
    kit_mount(&m, NULL, NULL);
    kit_mpath(&m, path, sizeof(path), "p221/20241001/trial_20241001_093000.22001.mp4");
    struct reader r2 = {.path = path, .expect = expect, .len = len};
    ck_assert_int_eq(pthread_create(&t, NULL, reader_thread, &r2), 0);
    kit_sleep_ms(300);
    ck_assert_int_eq(kill(m.pid, SIGTERM), 0);
    kit_assert_clean_exit(&m);
    join_within(t, 10000);
    ck_assert_uint_gt(r2.bytes, 0);
    ck_assert_uint_eq(r2.mismatches, 0);
    /* ECONNABORTED: a direct read (a file changed within attr_seconds)
     * that was in flight when the connection went. */
    ck_assert_msg(r2.err == ENOTCONN || r2.err == ENODEV || r2.err == ECONNABORTED || r2.err == 0,
                  "reader: %s", strerror(r2.err));
    ck_assert(!kit_is_mounted(m.dir));
}
END_TEST

static int run_mctfs(struct kit_result *r, const char *a1, const char *a2, const char *a3,
                     const char *a4)
{
    char *argv[] = {(char *)kit_env("MCTFS"), (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
    return kit_run(argv, NULL, r);
}

START_TEST(a_command_line_that_cannot_work_mounts_nothing)
{
    struct kit_result r = {};
    ck_assert_int_eq(run_mctfs(&r, "--help", NULL, NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: "));
    ck_assert_ptr_nonnull(strstr(r.out, "--config"));
    kit_result_free(&r);

    ck_assert_int_eq(run_mctfs(&r, "--version", NULL, NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(r.out, MCT_VERSION));
    kit_result_free(&r);

    ck_assert_int_eq(run_mctfs(&r, "-c", lab.config, NULL, NULL), 2); /* no mount point */
    ck_assert_ptr_nonnull(strstr(r.err, "usage: "));
    kit_result_free(&r);

    char bad[400], dir[400];
    snprintf(bad, sizeof(bad), "%s/bad.yaml", lab.dir);
    snprintf(dir, sizeof(dir), "%s/never-mounted", lab.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    FILE *f = fopen(bad, "we");
    ck_assert_ptr_nonnull(f);
    fputs("backup:\n  sourc:\n    base_path: /data\n", f);
    fclose(f);
    ck_assert_int_eq(run_mctfs(&r, "-c", bad, dir, "-f"), 2);
    ck_assert_msg(strstr(r.err, "bad.yaml"), "%s", r.err);
    kit_result_free(&r);
    ck_assert(!kit_is_mounted(dir));

    char *argv[] = {(char *)kit_env("MCTFS"), "-c", lab.config, dir, "-f", "-o",
                    "kernel_cache",           NULL};
    ck_assert_int_eq(kit_run(argv, NULL, &r), 2);
    kit_result_free(&r);
    ck_assert(!kit_is_mounted(dir));
}
END_TEST

static Suite *faults_suite(void)
{
    Suite *s = suite_create("mount-faults");
    TCase *tc = tcase_create("faults");
    tcase_add_unchecked_fixture(tc, kit_setup, kit_teardown);
    tcase_add_checked_fixture(tc, NULL, unmount_current);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, hung_share_does_not_block_the_view);
    tcase_add_test(tc, an_unmount_with_a_read_in_flight_ends_cleanly);
    tcase_add_test(tc, a_command_line_that_cannot_work_mounts_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(faults_suite());
}
