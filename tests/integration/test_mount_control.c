/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The .control file of a mounted session, for real (mctfs over the
 * private lab): SYNC and VERIFY and the progress shown meanwhile, DELETE
 * of a safe session and its refusal for an unsafe one, garbage refused
 * whole, another uid refused, and two DELETEs at once deleting once.
 *
 * One lab for the whole program, one mount per test on its own mount
 * point (unmounted by the teardown), and every test uses its own
 * participant so the tests do not see each other's sessions.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit.h"

/* The current test's mount. */
static struct kit_mount m;

static void unmount_current(void)
{
    kit_unmount(&m);
}

START_TEST(sync_makes_the_session_verified)
{
    kit_session("p151 20240301 --imported --dj");
    kit_mount(&m, NULL, NULL);

    _cleanup_free_ char *before = kit_vfile(&m, "p151", "20240301", ".backup_status");
    kit_assert_starts(before, "missing");
    _cleanup_free_ char *safe_before = kit_vfile(&m, "p151", "20240301", ".safe_to_delete");
    kit_assert_starts(safe_before, "no: ");

    int err;
    ck_assert_int_eq(kit_control_write(&m, "p151", "20240301", "SYNC\n", 5, &err), 5);

    /* Right after the write returns, the new state. */
    _cleanup_free_ char *after = kit_vfile(&m, "p151", "20240301", ".backup_status");
    kit_assert_starts(after, "verified");
    _cleanup_free_ char *safe = kit_vfile(&m, "p151", "20240301", ".safe_to_delete");
    ck_assert_str_eq(safe, "yes\n");
    _cleanup_free_ char *ctl = kit_vfile(&m, "p151", "20240301", ".control");
    ck_assert_msg(strstr(ctl, "command: SYNC") && strstr(ctl, "outcome: ok") &&
                          strstr(ctl, "uid: 0"),
                  "%s", ctl);

    char dest[600];
    kit_dest_path("p151", "20240301", dest, sizeof(dest));
    ck_assert_uint_eq(kit_count_entries(dest, false), 5);

    /* VERIFY of a good copy succeeds too. */
    ck_assert_int_eq(kit_control_write(&m, "p151", "20240301", "VERIFY", 6, &err), 6);
}
END_TEST

struct writer {
    const char *p, *d;
    ssize_t n;
    int err;
};

static void *sync_thread(void *arg)
{
    struct writer *w = arg;
    w->n = kit_control_write(&m, w->p, w->d, "SYNC\n", 5, &w->err);
    return NULL;
}

START_TEST(sync_progress_is_visible)
{
    /* Slow rsync down so the copy takes a few seconds. */
    const char *cfg = kit_config_variant("slow", "    flags: \"-avh\"\n",
                                         "    flags: \"-avh\"\n    bandwidth_limit: 1000\n", NULL);
    kit_session("p152 20240302 --imported --dj --videos 1 --size 4000000");
    kit_mount(&m, cfg, NULL);

    struct writer w = {.p = "p152", .d = "20240302"};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, sync_thread, &w), 0);

    bool seen = false;
    char last[512] = "";
    int64_t end = mct_now_ms() + 30000;
    while (!seen && mct_now_ms() < end && w.n == 0) {
        _cleanup_free_ char *b = kit_vfile(&m, "p152", "20240302", ".backup_status");
        snprintf(last, sizeof(last), "%s", b);
        seen = startswith(b, "syncing ") || startswith(b, "verifying ");
        if (seen) {
            ck_assert_msg(strchr(b, '%'), "%s", b);
            _cleanup_free_ char *s = kit_vfile(&m, "p152", "20240302", ".safe_to_delete");
            kit_assert_starts(s, "no: ");
        }
        kit_sleep_ms(100);
    }
    pthread_join(t, NULL);
    ck_assert_msg(seen, "no progress shown in .backup_status during SYNC (write: %zd %s; last: %s)",
                  w.n, strerror(w.err), last);
    ck_assert_int_eq(w.n, 5);
    _cleanup_free_ char *after = kit_vfile(&m, "p152", "20240302", ".backup_status");
    kit_assert_starts(after, "verified");
}
END_TEST

START_TEST(delete_of_a_safe_session_removes_it)
{
    kit_session("p161 20240401 --imported --dj --copy");
    kit_mount(&m, NULL, NULL);

    _cleanup_free_ char *safe = kit_vfile(&m, "p161", "20240401", ".safe_to_delete");
    ck_assert_str_eq(safe, "yes\n");

    /* Listed first, so the kernel holds both listings when it goes. */
    char dir[600];
    kit_mpath(&m, dir, sizeof(dir), "p161");
    ck_assert(kit_dir_lists(m.dir, "p161"));
    ck_assert(kit_dir_lists(dir, "20240401"));

    int err;
    ck_assert_int_eq(kit_control_write(&m, "p161", "20240401", "DELETE\n", 7, &err), 7);

    char path[600];
    struct stat st;
    /* The participant's folder goes too when it is left empty. */
    kit_mpath(&m, path, sizeof(path), "p161");
    ck_assert(stat(path, &st) < 0 ? errno == ENOENT : !kit_dir_lists(path, "20240401"));
    ck_assert(!kit_dir_lists(m.dir, "p161") || stat(path, &st) == 0);
    kit_mpath(&m, path, sizeof(path), "p161/20240401");
    ck_assert_msg(stat(path, &st) < 0 && errno == ENOENT, "deleted session still visible");
    kit_mpath(&m, path, sizeof(path), "p161/20240401/.status");
    ck_assert(stat(path, &st) < 0 && errno == ENOENT);

    char src[600], dest[600];
    kit_source_path("p161", "20240401", src, sizeof(src));
    ck_assert(stat(src, &st) < 0 && errno == ENOENT);
    kit_dest_path("p161", "20240401", dest, sizeof(dest));
    ck_assert_uint_eq(kit_count_entries(dest, false), 5);

    /* The root no longer lists it. */
    kit_mpath(&m, path, sizeof(path), ".status");
    _cleanup_free_ char *root = kit_slurp_ok(path, NULL);
    ck_assert_ptr_null(strstr(root, "p161"));
}
END_TEST

START_TEST(delete_of_an_unsafe_session_is_eperm)
{
    kit_session("p171 20240501 --copy"); /* not imported */
    kit_mount(&m, NULL, NULL);

    int err;
    ck_assert_int_eq(kit_control_write(&m, "p171", "20240501", "DELETE\n", 7, &err), -1);
    ck_assert_int_eq(err, EPERM);

    char src[600];
    kit_source_path("p171", "20240501", src, sizeof(src));
    ck_assert_uint_eq(kit_count_entries(src, false), 5);
    _cleanup_free_ char *ctl = kit_vfile(&m, "p171", "20240501", ".control");
    ck_assert_msg(strstr(ctl, "command: DELETE") && strstr(ctl, "outcome: refused"), "%s", ctl);
    _cleanup_free_ char *status = kit_vfile(&m, "p171", "20240501", ".status");
    ck_assert_ptr_nonnull(strstr(status, "Safe to delete: NO"));
}
END_TEST

START_TEST(garbage_is_einval)
{
    kit_session("p181 20240601 --imported --dj --copy"); /* safe: a DELETE would work */
    kit_mount(&m, NULL, NULL);

    char big[1000];
    memset(big, 'A', sizeof(big));
    memcpy(big, "DELETE\n", 7);
    static const char binary[] = {'D', 'E', 'L', 'E', 'T', 'E', '\0', '\xff', '\n'};
    const struct {
        const char *text;
        size_t len;
    } cases[] = {
            {"FOO\n", 4},  {"DELETE now", 10},       {"delete\n", 7},    {"\n", 1},
            {"  \t\n", 4}, {"DELETE\nDELETE\n", 14}, {big, sizeof(big)}, {binary, sizeof(binary)},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int err;
        ck_assert_msg(kit_control_write(&m, "p181", "20240601", cases[i].text, cases[i].len,
                                        &err) == -1 &&
                              err == EINVAL,
                      "case %zu: %s", i, strerror(err));
    }

    /* A command not at offset 0 is not one command. */
    char path[600];
    kit_mpath(&m, path, sizeof(path), "p181/20240601/.control");
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    errno = 0;
    ck_assert(pwrite(fd, "DELETE", 6, 3) < 0 && errno == EINVAL);
    /* An empty write never reaches the file system, and does nothing. */
    ck_assert_int_le(write(fd, "", 0), 0);
    close(fd);

    char src[600];
    kit_source_path("p181", "20240601", src, sizeof(src));
    ck_assert_uint_eq(kit_count_entries(src, false), 5);
    _cleanup_free_ char *ctl = kit_vfile(&m, "p181", "20240601", ".control");
    kit_assert_starts(ctl, "no command yet");

    /* The status files cannot be written at all. */
    kit_mpath(&m, path, sizeof(path), "p181/20240601/.status");
    ck_assert(open(path, O_WRONLY) < 0 && errno == EACCES);
}
END_TEST

START_TEST(other_uid_gets_eacces)
{
    kit_session("p191 20240701 --imported --dj --copy");
    kit_mount_with(&m, lab.config, "allow_other", NULL);

    char dir[600];
    kit_mpath(&m, dir, sizeof(dir), "p191/20240701");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* The lab folder is private: enter the mount before dropping root. */
        if (chdir(dir) < 0)
            _exit(10);
        if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
            setresuid(65534, 65534, 65534) < 0)
            _exit(11);
        int fd = open(".control", O_WRONLY | O_TRUNC);
        if (fd >= 0 || errno != EACCES)
            _exit(12);
        if (truncate(".control", 0) == 0 || errno != EACCES)
            _exit(13);
        char buf[4096];
        fd = open(".status", O_RDONLY);
        if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
            _exit(14);
        close(fd);
        fd = open(".control", O_RDONLY);
        if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
            _exit(15);
        close(fd);
        _exit(0);
    }
    ck_assert_int_eq(kit_wait_exit(pid, 60000), 0);

    char src[600];
    kit_source_path("p191", "20240701", src, sizeof(src));
    ck_assert_uint_eq(kit_count_entries(src, false), 5);
    /* The owner still may. */
    int err;
    ck_assert_int_eq(kit_control_write(&m, "p191", "20240701", "VERIFY\n", 7, &err), 7);
}
END_TEST

struct deleter {
    pthread_barrier_t *barrier;
    int fd;
    ssize_t n;
    int err;
};

static void *delete_thread(void *arg)
{
    struct deleter *d = arg;
    pthread_barrier_wait(d->barrier);
    d->n = write(d->fd, "DELETE\n", 7);
    d->err = d->n < 0 ? errno : 0;
    return NULL;
}

START_TEST(concurrent_deletes_delete_once)
{
    kit_session("p201 20240801 --imported --dj --copy");
    kit_mount(&m, NULL, NULL);

    char path[600];
    kit_mpath(&m, path, sizeof(path), "p201/20240801/.control");
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    struct deleter d[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        d[i] = (struct deleter){.barrier = &barrier, .fd = open(path, O_WRONLY | O_TRUNC)};
        ck_assert_int_ge(d[i].fd, 0);
    }
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, delete_thread, &d[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        close(d[i].fd);
    }
    pthread_barrier_destroy(&barrier);

    int ok = (d[0].n == 7) + (d[1].n == 7);
    ck_assert_msg(ok == 1, "%d deletes succeeded (%zd/%s, %zd/%s)", ok, d[0].n, strerror(d[0].err),
                  d[1].n, strerror(d[1].err));
    struct deleter *loser = d[0].n == 7 ? &d[1] : &d[0];
    ck_assert_msg(loser->err == EBUSY || loser->err == ENOENT || loser->err == EPERM,
                  "the second delete failed with %s", strerror(loser->err));

    char src[600], dest[600];
    struct stat st;
    kit_source_path("p201", "20240801", src, sizeof(src));
    ck_assert(stat(src, &st) < 0 && errno == ENOENT);
    kit_dest_path("p201", "20240801", dest, sizeof(dest));
    ck_assert_uint_eq(kit_count_entries(dest, false), 5);
}
END_TEST

static Suite *control_suite(void)
{
    Suite *s = suite_create("mount-control");
    TCase *tc = tcase_create("control");
    tcase_add_unchecked_fixture(tc, kit_setup, kit_teardown);
    tcase_add_checked_fixture(tc, NULL, unmount_current);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sync_makes_the_session_verified);
    tcase_add_test(tc, sync_progress_is_visible);
    tcase_add_test(tc, delete_of_a_safe_session_removes_it);
    tcase_add_test(tc, delete_of_an_unsafe_session_is_eperm);
    tcase_add_test(tc, garbage_is_einval);
    tcase_add_test(tc, other_uid_gets_eacces);
    tcase_add_test(tc, concurrent_deletes_delete_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(control_suite());
}
