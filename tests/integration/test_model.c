/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount answers from a live model: a hung share costs its timeout
 * once, not once per session, and never leaves more than one child stuck
 * on it; stat never waits; no status file is older than cache_seconds;
 * a virtual file's mtime moves only when its text does.
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kit.h"

#define DATE "20241001"

static void sessions(size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++)
        kit_session("p%03zu " DATE " --imported --dj%s", 300 + i, extra);
}

static int64_t time_read(const struct kit_mount *m, const char *p, const char *name, char **text)
{
    int64_t t0 = mct_now_ms();
    *text = kit_vfile(m, p, DATE, name);
    return mct_now_ms() - t0;
}

/* The share's mount point is hangfs: every stat of it blocks. */
static const char *hung_config(pid_t *hangfs, char *dir, size_t len)
{
    *hangfs = kit_hangfs_start(dir, len);
    return kit_config_variant("hung", lab.share, dir, NULL);
}

START_TEST(a_hung_share_costs_one_timeout)
{
    sessions(6, "");
    char hang[400];
    pid_t hangfs;
    const char *cfg = hung_config(&hangfs, hang, sizeof(hang));
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);

    /* The first answer within share + database timeout + 1 s (2 + 2 + 1). */
    char *text;
    int64_t ms = time_read(&m, "p300", ".backup_status", &text);
    kit_assert_starts(text, "unreachable");
    free(text);
    ck_assert_msg(ms < 5000 + 1000, "first answer after %lld ms", (long long)ms);

    /* Every other session, the root, and a listing: at once. */
    for (int i = 1; i < 6; i++) {
        char p[8];
        snprintf(p, sizeof(p), "p%03d", 300 + i);
        ms = time_read(&m, p, ".status", &text);
        kit_assert_has(text, "unreachable");
        kit_assert_has(text, "since ");
        free(text);
        ck_assert_msg(ms < 100, "%s/.status after %lld ms", p, (long long)ms);
    }
    char root[500];
    kit_mpath(&m, root, sizeof(root), ".status");
    int64_t t0 = mct_now_ms();
    _cleanup_free_ char *all = kit_slurp(root, NULL);
    ck_assert_ptr_nonnull(all);
    ck_assert_msg(mct_now_ms() - t0 < 100, "root .status after %lld ms",
                  (long long)(mct_now_ms() - t0));
    char dir[500];
    kit_mpath(&m, dir, sizeof(dir), "p303/%s", DATE);
    t0 = mct_now_ms();
    ck_assert_int_eq(kit_shell("ls -la '%s' >/dev/null", dir), 0);
    ck_assert_msg(mct_now_ms() - t0 < 100 + 50 /* ls itself */, "ls -la after %lld ms",
                  (long long)(mct_now_ms() - t0));

    /* Polling every session for a while: never more than one child stuck
     * on the hung share. */
    size_t most = 0;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 6; i++) {
            char p[8];
            snprintf(p, sizeof(p), "p%03d", 300 + i);
            free(kit_vfile(&m, p, DATE, ".status"));
        }
        pid_t kids[64];
        size_t n = kit_children(m.pid, "mctfs", kids, 64);
        if (n > most)
            most = n;
        kit_sleep_ms(500);
    }
    printf("hung share: at most %zu child(ren) of mctfs over 10 s of polling\n", most);
    ck_assert_msg(most <= 1, "%zu children of mctfs at once on one hung share", most);
    kit_unmount(&m);
    kit_hangfs_stop(hangfs, hang);
}
END_TEST

START_TEST(stat_never_waits)
{
    sessions(3, "");
    char hang[400];
    pid_t hangfs;
    const char *cfg = hung_config(&hangfs, hang, sizeof(hang));
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    /* At once after mounting, while the first sweep waits on the share. */
    const char *names[] = {".status", ".status.json", ".backup_status", ".safe_to_delete"};
    for (int i = 0; i < 3; i++)
        for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
            char path[600];
            kit_mpath(&m, path, sizeof(path), "p%03d/%s/%s", 300 + i, DATE, names[k]);
            struct stat st;
            int64_t t0 = mct_now_ms();
            ck_assert_int_eq(stat(path, &st), 0);
            ck_assert_msg(mct_now_ms() - t0 < 100, "stat %s after %lld ms", path,
                          (long long)(mct_now_ms() - t0));
            ck_assert_int_gt(st.st_size, 0);
        }
    kit_unmount(&m);
    kit_hangfs_stop(hangfs, hang);
}
END_TEST

static const char *quick_config(void)
{
    return kit_config_variant("quick", "timeouts:\n", "mount:\n  cache_seconds: 2\ntimeouts:\n",
                              NULL);
}

START_TEST(no_status_file_is_older_than_cache_seconds)
{
    kit_session("p320 " DATE " --imported --dj --copy");
    struct kit_mount m;
    kit_mount(&m, quick_config(), NULL);
    _cleanup_free_ char *json = kit_vfile(&m, "p320", DATE, ".status.json");
    kit_assert_has(json, "\"safe_to_delete\":true");
    char root[500];
    kit_mpath(&m, root, sizeof(root), ".status.json");
    _cleanup_free_ char *all = kit_slurp(root, NULL);
    kit_assert_has(all, "\"safe_to_delete\":true");

    /* A video goes from the copy: no file may say "safe" 2 s later. */
    char dst[512], victim[700];
    kit_dest_path("p320", DATE, dst, sizeof(dst));
    snprintf(victim, sizeof(victim), "%s/trial_%s_093000.22001.mp4", dst, DATE);
    ck_assert_int_eq(unlink(victim), 0);
    kit_sleep_ms(2200);
    _cleanup_free_ char *json2 = kit_vfile(&m, "p320", DATE, ".status.json");
    kit_assert_has(json2, "\"safe_to_delete\":false");
    _cleanup_free_ char *backup = kit_vfile(&m, "p320", DATE, ".backup_status");
    kit_assert_starts(backup, "unverified");
    _cleanup_free_ char *text = kit_vfile(&m, "p320", DATE, ".status");
    kit_assert_has(text, "Safe to delete: NO");
    _cleanup_free_ char *all2 = kit_slurp(root, NULL);
    kit_assert_has(all2, "\"safe_to_delete\":false");
    kit_unmount(&m);
}
END_TEST

static struct timespec mtime_of(const struct kit_mount *m, const char *p, const char *name)
{
    char path[600];
    kit_mpath(m, path, sizeof(path), "%s/%s/%s", p, DATE, name);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mtim;
}

START_TEST(an_mtime_moves_only_with_the_text)
{
    kit_session("p330 " DATE " --imported --dj --copy");
    struct kit_mount m;
    kit_mount(&m, quick_config(), NULL);
    free(kit_vfile(&m, "p330", DATE, ".status"));
    struct timespec before = mtime_of(&m, "p330", ".safe_to_delete");
    /* Several sweeps (every second with cache_seconds 2), nothing changed. */
    kit_sleep_ms(3500);
    free(kit_vfile(&m, "p330", DATE, ".safe_to_delete"));
    struct timespec same = mtime_of(&m, "p330", ".safe_to_delete");
    ck_assert_msg(same.tv_sec == before.tv_sec && same.tv_nsec == before.tv_nsec,
                  "mtime moved from %lld to %lld with the same text", (long long)before.tv_sec,
                  (long long)same.tv_sec);
    /* The text changes: so does the mtime. */
    char dst[512], victim[700];
    kit_dest_path("p330", DATE, dst, sizeof(dst));
    snprintf(victim, sizeof(victim), "%s/trial_%s_093000.22001.mp4", dst, DATE);
    ck_assert_int_eq(unlink(victim), 0);
    kit_sleep_ms(2200);
    _cleanup_free_ char *safe = kit_vfile(&m, "p330", DATE, ".safe_to_delete");
    kit_assert_starts(safe, "no: ");
    struct timespec after = mtime_of(&m, "p330", ".safe_to_delete");
    ck_assert_msg(after.tv_sec != before.tv_sec || after.tv_nsec != before.tv_nsec,
                  "mtime did not move with the text");
    kit_unmount(&m);
}
END_TEST

/* ---- a database that trickles: a byte every 50 ms, forever ---- */

struct trickle {
    int listen_fd;
    pthread_t thread;
};

static void *trickle_serve(void *arg)
{
    struct trickle *t = arg;
    for (;;) {
        int fd = accept(t->listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        /* A greeting packet of 256 bytes (sequence 0), then its bytes,
         * slowly: 12.8 s for the whole greeting. */
        static const unsigned char header[] = {0x00, 0x01, 0x00, 0x00};
        ssize_t k = write(fd, header, sizeof(header));
        while (k > 0) {
            usleep(50 * 1000);
            k = write(fd, "\x0a", 1);
        }
        close(fd);
    }
}

static void trickle_start(struct trickle *t, const char *path)
{
    t->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(t->listen_fd, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    ck_assert_uint_lt(strlen(path), sizeof(a.sun_path));
    memcpy(a.sun_path, path, strlen(path) + 1);
    ck_assert_int_eq(bind(t->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(t->listen_fd, 16), 0);
    signal(SIGPIPE, SIG_IGN);
    ck_assert_int_eq(pthread_create(&t->thread, NULL, trickle_serve, t), 0);
}

/* A config whose database is a trickle served from the lab. */
static const char *trickle_config(struct trickle *t)
{
    char sock[400];
    snprintf(sock, sizeof(sock), "%s/trickle.sock", lab.dir);
    trickle_start(t, sock);
    return kit_config_variant("trickle", lab.socket, sock, NULL);
}

static void trickle_stop(struct trickle *t)
{
    shutdown(t->listen_fd, SHUT_RDWR);
    close(t->listen_fd);
    pthread_join(t->thread, NULL);
}

START_TEST(a_trickling_database_answers_unknown_in_time)
{
    kit_session("p340 " DATE " --imported --dj --copy");
    struct trickle t;
    const char *cfg = trickle_config(&t);

    /* database_seconds is 2: unknown within 2 + 1 s (and a process start). */
    struct kit_result r;
    int64_t t0 = mct_now_ms();
    int st = kit_mctctl(cfg, NULL, &r, "status", "p340", DATE, NULL);
    int64_t ms = mct_now_ms() - t0;
    /* mctctl(1) EXIT STATUS: a database that could not be checked is 3. */
    ck_assert_msg(st == 3, "status: exit %d (want 3, incomplete)\n%s", st, r.err);
    kit_assert_has(r.out, "Safe to delete: NO");
    kit_assert_has(r.out, "did not finish within 2 s");
    kit_result_free(&r);
    ck_assert_msg(ms < 3000 + 500, "mctctl status took %lld ms", (long long)ms);

    /* Through the mount: the bound of every status file. */
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    char *text;
    ms = time_read(&m, "p340", ".safe_to_delete", &text);
    kit_assert_starts(text, "no: ");
    kit_assert_has(text, "DataJoint state unknown");
    free(text);
    ck_assert_msg(ms < 5000 + 1000, ".safe_to_delete took %lld ms", (long long)ms);
    kit_unmount(&m);
    trickle_stop(&t);
}
END_TEST

/* A listing of the mount during the first sweep (ls -l stats the root's
 * status files) is answered from the sweep under way: it does not ask for
 * a second one, which would build another root beside the first. The
 * trickling database makes the first sweep last database_seconds. */
START_TEST(a_stat_during_a_sweep_asks_for_no_other)
{
    kit_session("p341 " DATE " --imported --dj --copy");
    struct trickle t;
    const char *cfg = trickle_config(&t);
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    char path[600];
    kit_mpath(&m, path, sizeof(path), ".status");
    struct stat st;
    ck_assert_uint_eq(kit_mount_metric(&m, "mctfs_mount_sweeps_total"), 0);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(stat(path, &st), 0);
        kit_sleep_ms(100);
    }
    ck_assert_msg(kit_mount_metric(&m, "mctfs_mount_sweeps_total") == 0,
                  "the first sweep ended before the stats (the database did not trickle?)");
    int64_t t0 = mct_now_ms();
    while (kit_mount_metric(&m, "mctfs_mount_sweeps_total") == 0 && mct_now_ms() - t0 < 10000)
        kit_sleep_ms(100);
    ck_assert_uint_eq(kit_mount_metric(&m, "mctfs_mount_sweeps_total"), 1);
    /* A second sweep would end about database_seconds (2) after the first. */
    kit_sleep_ms(3500);
    ck_assert_uint_eq(kit_mount_metric(&m, "mctfs_mount_sweeps_total"), 1);
    kit_unmount(&m);
    trickle_stop(&t);
}
END_TEST

Suite *suite(void);
Suite *suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_add_checked_fixture(tc, kit_setup, kit_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, a_hung_share_costs_one_timeout);
    tcase_add_test(tc, stat_never_waits);
    tcase_add_test(tc, no_status_file_is_older_than_cache_seconds);
    tcase_add_test(tc, an_mtime_moves_only_with_the_text);
    tcase_add_test(tc, a_trickling_database_answers_unknown_in_time);
    tcase_add_test(tc, a_stat_during_a_sweep_asks_for_no_other);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(suite());
}
