/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reclaim on a real lab whose source filesystem is a tmpfs of its own
 * (8 MiB, lab.sh data-tmpfs) filled with sessions of known sizes and
 * states: it frees exactly the oldest safe sessions the target needs;
 * unsafe, recent, young, locked and growing sessions stay; a dry run
 * deletes nothing; an unreachable target says why with exit 1; kill -9
 * in the middle loses nothing; two reclaims delete each session once;
 * the mount's RECLAIM; the forecast against the sizes written here.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "kit.h"
#include "forecast.h"
#include "lock.h"
#include "operations.h"

/* A session: one video of 512 KiB and its .json, 129 tmpfs pages. */
#define VIDEO    524288
#define S_FREED  (VIDEO + 4096)
#define OLD_SAFE "--videos 1 --size 524288 --imported --dj --copy"

static void setup(void)
{
    kit_setup();
    ck_assert_int_eq(kit_lab_sh(&lab, "data-tmpfs 8m"), 0);
}

/* Every test starts from an empty source (recordings.db kept), share and log. */
static void fresh(void)
{
    ck_assert_int_eq(kit_shell("cd '%s' && find . -mindepth 1 -maxdepth 1 ! -name recordings.db "
                               "-exec rm -rf {} + && rm -rf '%s'/* && : > '%s/deletions.log'",
                               lab.data, lab.dest_base, lab.dir),
                     0);
}

static void days_ago(int n, char out[9])
{
    time_t t = time(NULL) - (time_t)n * 86400;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 9, "%Y%m%d", &tm);
}

static uint64_t avail(void)
{
    struct statvfs v;
    ck_assert_int_eq(statvfs(lab.data, &v), 0);
    return (uint64_t)v.f_bavail * v.f_frsize;
}

/* The lab's config with deletion.reclaim. */
static const char *reclaim_config(bool enabled, const char *keep_free)
{
    char text[256];
    snprintf(text, sizeof(text), "  reclaim:\n    enabled: %s\n    keep_free: \"%s\"\ntimeouts:\n",
             enabled ? "true" : "false", keep_free);
    return kit_config_variant(enabled ? "reclaim-on.yaml" : "reclaim-off.yaml", "timeouts:\n", text,
                              NULL);
}

/* keep_free as bytes: what is free now and k sessions more, less half a
 * session: exactly k deletions reach it and k - 1 do not. */
static const char *config_needing(unsigned k)
{
    static char bytes[32];
    snprintf(bytes, sizeof(bytes), "%llu",
             (unsigned long long)(avail() + (uint64_t)k * S_FREED - S_FREED / 2));
    return reclaim_config(true, bytes);
}

static bool present(const char *p, const char *d)
{
    char path[600];
    kit_source_path(p, d, path, sizeof(path));
    return kit_exists(path);
}

static uint64_t local_bytes(const char *p, const char *d)
{
    char path[600], cmd[700];
    kit_source_path(p, d, path, sizeof(path));
    snprintf(cmd, sizeof(cmd), "find '%s' -type f -printf '%%s\\n' | awk '{s+=$1} END {print s}'",
             path);
    FILE *f = popen(cmd, "r");
    unsigned long long n = 0;
    ck_assert(f && fscanf(f, "%llu", &n) == 1);
    pclose(f);
    return n;
}

static int reclaim(const char *cfg, struct kit_result *r, const char *a, const char *b)
{
    return kit_mctctl(cfg, NULL, r, a ? a : "reclaim", a ? "reclaim" : b, a ? b : NULL, NULL);
}

/* The sessions of the first tests: four old safe ones and one of each
 * kind reclaim must leave, p100 the oldest of all. */
struct kept {
    const char *p, *d;
    char *digest;
};

static void four_old_safe(void)
{
    kit_session("p101 20230101 " OLD_SAFE);
    kit_session("p102 20230102 " OLD_SAFE);
    kit_session("p103 20230103 " OLD_SAFE);
    kit_session("p104 20230104 " OLD_SAFE);
}

START_TEST(reclaim_frees_the_oldest_needed_and_no_more)
{
    fresh();
    char recent[9];
    days_ago(2, recent);
    kit_session("p100 20221231 " OLD_SAFE); /* locked below */
    four_old_safe();
    kit_session("p105 20230101 --videos 1 --size 524288 --imported --copy"); /* not in DataJoint */
    kit_session("p106 20230102 --videos 1 --size 524288 --imported --dj");   /* not copied */
    kit_session("p107 %s " OLD_SAFE, recent);
    kit_session("p108 20230101 " OLD_SAFE " --age 5"); /* young files */
    struct kept kept[] = {{"p100", "20221231"}, {"p104", "20230104"}, {"p105", "20230101"},
                          {"p106", "20230102"}, {"p107", recent},     {"p108", "20230101"}};
    for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
        kept[i].digest = kit_session_digest(kept[i].p, kept[i].d);

    const char *cfg = config_needing(3);
    char err[2048] = "";
    _cleanup_config_ struct mct_config *c = NULL;
    ck_assert_msg(mct_config_load(cfg, &c, err, sizeof(err)) == 0, "%s", err);
    struct mct_session_ref ref = {"p100", "20221231"};
    _cleanup_close_ int lock = -1;
    ck_assert_int_eq(mct_session_lock_ref(c, &ref, &lock), 0);
    uint64_t target = avail() + 3 * S_FREED - S_FREED / 2;

    struct kit_result r;
    int st = reclaim(cfg, &r, NULL, NULL);
    ck_assert_msg(st == 0, "exit %d\n%s%s", st, r.out, r.err);
    printf("%s", r.out);
    kit_assert_has(r.out, "20221231 p100: busy");
    kit_assert_has(r.out, "Deleted 3 sessions");
    kit_assert_has(r.out, "target met.");
    kit_result_free(&r);
    ck_assert(avail() >= target);
    static const char *const gone[][2] = {
            {"p101", "20230101"}, {"p102", "20230102"}, {"p103", "20230103"}};
    for (size_t i = 0; i < ARRAY_SIZE(gone); i++) {
        ck_assert_msg(!present(gone[i][0], gone[i][1]), "%s not deleted", gone[i][0]);
        ck_assert_uint_eq(kit_log_count(gone[i][0], gone[i][1], "deleted"), 1);
    }
    for (size_t i = 0; i < ARRAY_SIZE(kept); i++) {
        _cleanup_free_ char *now = kit_session_digest(kept[i].p, kept[i].d);
        ck_assert_msg(streq(now, kept[i].digest), "%s changed", kept[i].p);
        ck_assert_uint_eq(kit_log_count(kept[i].p, kept[i].d, "deleted"), 0);
        free(kept[i].digest);
    }
    /* The deletion log says who. */
    char path[400];
    snprintf(path, sizeof(path), "%s/deletions.log", lab.dir);
    _cleanup_free_ char *log = kit_slurp(path, NULL);
    kit_assert_has(log, "\"via\":\"mctctl reclaim\"");
}
END_TEST

START_TEST(dry_run_deletes_nothing)
{
    fresh();
    four_old_safe();
    const char *off = reclaim_config(false, "1K");
    struct kit_result r;
    /* Off: refused, with the way out. */
    ck_assert_int_eq(reclaim(off, &r, NULL, NULL), 1);
    kit_assert_has(r.err, "reclaim is off (deletion.reclaim.enabled is not true");
    kit_result_free(&r);
    ck_assert_int_eq(reclaim(off, &r, NULL, "--if-enabled"), 0);
    kit_assert_has(r.out, "nothing to do");
    kit_result_free(&r);

    /* The same numbers as a real run would use. */
    char bytes[32];
    snprintf(bytes, sizeof(bytes), "%llu",
             (unsigned long long)(avail() + 2 * S_FREED - S_FREED / 2));
    off = reclaim_config(false, bytes);
    int st = reclaim(off, &r, NULL, "--dry-run");
    ck_assert_msg(st == 0, "exit %d\n%s%s", st, r.out, r.err);
    printf("%s", r.out);
    kit_assert_has(r.out, "[1] 20230101 p101: would-delete");
    kit_assert_has(r.out, "[2] 20230102 p102: would-delete");
    kit_assert_lacks(r.out, "p103: would-delete");
    kit_assert_has(r.out, "Dry run: would delete 2 sessions");
    kit_assert_has(r.out, "a real run would delete nothing");
    kit_result_free(&r);
    st = reclaim(off, &r, "--json", "--dry-run");
    ck_assert_msg(st == 0, "exit %d\n%s%s", st, r.out, r.err);
    kit_assert_has(r.out, "\"dry_run\":true,\"enabled\":false");
    kit_assert_has(r.out, "\"deleted\":2,\"met\":true");
    kit_assert_has(r.out, "\"result\":\"would-delete\"");
    kit_result_free(&r);
    ck_assert(present("p101", "20230101") && present("p102", "20230102"));
    ck_assert(kit_trash_empty());
    ck_assert_uint_eq(kit_log_count("p101", "20230101", NULL), 0);
}
END_TEST

START_TEST(unreachable_target_says_why)
{
    fresh();
    char recent[9];
    days_ago(0, recent);
    kit_session("p101 20230101 " OLD_SAFE);
    kit_session("p105 20230101 --videos 1 --size 524288 --imported --copy");
    kit_session("p106 20230102 --videos 1 --size 524288 --imported --dj");
    kit_session("p107 %s " OLD_SAFE, recent);
    const char *cfg = reclaim_config(true, "95%");
    struct kit_result r;
    ck_assert_int_eq(reclaim(cfg, &r, NULL, NULL), 1);
    printf("%s", r.out);
    kit_assert_has(r.out, "20230101 p101: deleted");
    kit_assert_has(r.out, "target NOT met.");
    kit_assert_has(r.out, "target 95% free not reachable: 1.0M in 2 sessions not safe (1 not in "
                          "DataJoint, 1 not copied); 512K in 1 session recorded within 14 days "
                          "(keep_recent_days)");
    kit_result_free(&r);
    ck_assert(!present("p101", "20230101"));
    ck_assert(present("p105", "20230101") && present("p106", "20230102") &&
              present("p107", recent));

    ck_assert_int_eq(reclaim(cfg, &r, "--json", NULL), 1);
    kit_assert_has(r.out, "\"met\":false,\"reason\":\"target 95% free not reachable");
    kit_assert_has(r.out, "{\"class\":\"not-in-datajoint\",\"reason\":\"not in DataJoint\","
                          "\"sessions\":1,");
    kit_assert_has(r.out, "{\"class\":\"not-copied\",\"reason\":\"not copied\",\"sessions\":1,");
    kit_assert_has(r.out, "{\"class\":\"recent\",");
    kit_result_free(&r);
}
END_TEST

START_TEST(a_session_being_recorded_is_left_alone)
{
    fresh();
    kit_session("p130 20230110 " OLD_SAFE);
    kit_session("p131 20230111 " OLD_SAFE);
    char file[700], dir[600];
    kit_source_path("p130", "20230110", dir, sizeof(dir));
    snprintf(file, sizeof(file), "%s/trial_20230110_093000.22001.mp4", dir);
    char script[900];
    snprintf(script, sizeof(script), "while :; do head -c 4096 /dev/zero >> '%s'; sleep 0.1; done",
             file);
    char *argv[] = {"/bin/sh", "-c", script, NULL};
    char log[400];
    snprintf(log, sizeof(log), "%s/appender.log", lab.dir);
    pid_t pid = kit_spawn(argv, NULL, log, NULL);
    kit_sleep_ms(400);

    struct kit_result r;
    ck_assert_int_eq(reclaim(reclaim_config(true, "95%"), &r, "--json", NULL), 1);
    kit_assert_has(r.out, "\"participant\":\"p130\",\"date\":\"20230110\"");
    kit_assert_has(r.out, "\"class\":\"in-use\",\"result\":\"kept\"");
    kit_assert_has(r.err, "20230111 p131: deleted");
    kit_result_free(&r);
    kill(pid, SIGKILL);
    ck_assert_int_eq(kit_wait_exit(pid, 5000), 128 + SIGKILL);
    ck_assert(present("p130", "20230110"));
    ck_assert_uint_eq(kit_log_count("p130", "20230110", NULL), 0);
    struct stat st;
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_gt(st.st_size, VIDEO);
}
END_TEST

static pid_t spawn_reclaim(const char *cfg, const char *stop_at, const char *log)
{
    char env[80];
    snprintf(env, sizeof(env), "MCT_TEST_STOP_AT=%s", stop_at ? stop_at : "");
    char *const envs[] = {env, NULL};
    char *argv[] = {getenv("MCTCTL"), "-c", (char *)cfg, "reclaim", NULL};
    return kit_spawn(argv, NULL, log, envs);
}

START_TEST(killed_in_the_middle_loses_nothing)
{
    static const char *const points[] = {"after-move", "after-verify", "mid-remove"};
    for (size_t i = 0; i < ARRAY_SIZE(points); i++) {
        fresh();
        four_old_safe();
        _cleanup_free_ char *p104 = kit_session_digest("p104", "20230104");
        const char *cfg = config_needing(3);
        char log[400];
        snprintf(log, sizeof(log), "%s/reclaim-%s.log", lab.dir, points[i]);
        pid_t pid = spawn_reclaim(cfg, points[i], log);
        kit_wait_stopped(pid, 60000);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(kit_wait_exit(pid, 10000), 128 + SIGKILL);
        ck_assert_msg(!kit_trash_empty(), "%s: nothing in the trash", points[i]);

        struct kit_result r;
        int st = reclaim(cfg, &r, NULL, NULL);
        ck_assert_msg(st == 0, "%s: exit %d\n%s%s", points[i], st, r.out, r.err);
        printf("after kill -9 at %s:\n%s", points[i], r.out);
        kit_result_free(&r);
        ck_assert(kit_trash_empty());
        static const char *const gone[][2] = {
                {"p101", "20230101"}, {"p102", "20230102"}, {"p103", "20230103"}};
        for (size_t k = 0; k < ARRAY_SIZE(gone); k++) {
            ck_assert_msg(!present(gone[k][0], gone[k][1]), "%s: %s still there", points[i],
                          gone[k][0]);
            /* Nothing lost: its copy is whole on the share. */
            char dst[600];
            kit_dest_path(gone[k][0], gone[k][1], dst, sizeof(dst));
            _cleanup_free_ char *copy = kit_tree_digest(dst);
            kit_assert_has(copy, ".22001.mp4");
            ck_assert_uint_ge(kit_log_count(gone[k][0], gone[k][1], "deleted"), 1);
        }
        _cleanup_free_ char *now = kit_session_digest("p104", "20230104");
        ck_assert_str_eq(now, p104);
    }
}
END_TEST

START_TEST(two_reclaims_delete_each_session_once)
{
    fresh();
    four_old_safe();
    const char *cfg = config_needing(3);
    char log[400];
    snprintf(log, sizeof(log), "%s/reclaim-a.log", lab.dir);
    /* A stops holding the reclaim lock (and p101's): B must not start. */
    pid_t a = spawn_reclaim(cfg, "before-move", log);
    kit_wait_stopped(a, 60000);
    struct kit_result r;
    ck_assert_int_eq(reclaim(cfg, &r, NULL, NULL), 1);
    kit_assert_has(r.err, "another reclaim of");
    kit_assert_has(r.err, "is running: nothing done");
    kit_result_free(&r);
    /* It stops again before each of its deletions. */
    int done = -1;
    for (int64_t end = mct_now_ms() + 60000; done < 0 && mct_now_ms() < end;) {
        if (kit_proc_state(a) == 'T')
            kill(a, SIGCONT);
        done = kit_wait_exit(a, 50);
    }
    ck_assert_int_eq(done, 0);

    /* And two at once, as they come. */
    fresh();
    four_old_safe();
    cfg = config_needing(3);
    pid_t pids[2];
    for (int i = 0; i < 2; i++) {
        snprintf(log, sizeof(log), "%s/reclaim-both-%d.log", lab.dir, i);
        pids[i] = spawn_reclaim(cfg, NULL, log);
    }
    for (int i = 0; i < 2; i++) {
        int st = kit_wait_exit(pids[i], 60000);
        ck_assert_msg(st == 0 || st == 1, "reclaim %d exit %d", i, st);
    }
    static const char *const gone[][2] = {
            {"p101", "20230101"}, {"p102", "20230102"}, {"p103", "20230103"}};
    for (size_t k = 0; k < ARRAY_SIZE(gone); k++) {
        ck_assert(!present(gone[k][0], gone[k][1]));
        ck_assert_uint_eq(kit_log_count(gone[k][0], gone[k][1], "deleted"), 1);
    }
    ck_assert(present("p104", "20230104"));
    ck_assert_uint_eq(kit_log_count("p104", "20230104", NULL), 0);
}
END_TEST

static ssize_t root_control(const struct kit_mount *m, const char *text, int *err)
{
    char path[600];
    kit_mpath(m, path, sizeof(path), ".control");
    int fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    ssize_t n = write(fd, text, strlen(text));
    *err = n < 0 ? errno : 0;
    close(fd);
    return n;
}

START_TEST(the_mount_reclaims_on_its_root)
{
    fresh();
    four_old_safe();
    struct kit_mount m;
    int err;
    kit_mount(&m, reclaim_config(false, "1K"), NULL);
    ck_assert_int_eq(root_control(&m, "RECLAIM\n", &err), -1);
    ck_assert_int_eq(err, EPERM);
    char path[600];
    kit_mpath(&m, path, sizeof(path), ".control");
    _cleanup_free_ char *last = kit_slurp(path, NULL);
    kit_assert_has(last, "command: RECLAIM\noutcome: refused\nmessage: reclaim is off");
    ck_assert_int_eq(root_control(&m, "SYNC\n", &err), -1);
    ck_assert_int_eq(err, EINVAL);
    ck_assert_int_eq(kit_control_write(&m, "p101", "20230101", "RECLAIM\n", 8, &err), -1);
    ck_assert_int_eq(err, EINVAL);
    kit_mpath(&m, path, sizeof(path), ".status");
    _cleanup_free_ char *root = kit_slurp(path, NULL);
    kit_assert_has(root, "\nRecording rate: 0B/day (no session dated within the last 14 days)\n");
    kit_assert_has(root, "\nFree space: ");
    kit_assert_has(root, " of 8.0M (");
    kit_assert_has(root, "): not filling at that rate\n");
    kit_unmount(&m);

    kit_mount(&m, config_needing(3), NULL);
    ck_assert_int_eq(root_control(&m, "RECLAIM\n", &err), 8);
    kit_mpath(&m, path, sizeof(path), ".control");
    free(last);
    last = kit_slurp(path, NULL);
    printf("%s", last);
    kit_assert_has(last, "outcome: ok\nmessage: Deleted 3 sessions");
    kit_mpath(&m, path, sizeof(path), "p101/20230101");
    ck_assert(!kit_exists(path));
    kit_mpath(&m, path, sizeof(path), "p104/20230104/.status");
    ck_assert(kit_exists(path));
    kit_unmount(&m);
    char logp[400];
    snprintf(logp, sizeof(logp), "%s/deletions.log", lab.dir);
    _cleanup_free_ char *log = kit_slurp(logp, NULL);
    kit_assert_has(log, "\"via\":\"mctfs reclaim\"");
    ck_assert(!present("p103", "20230103") && present("p104", "20230104"));
}
END_TEST

START_TEST(forecast_matches_the_sizes_written)
{
    fresh();
    char d1[9], d5[9], d13[9], d14[9];
    days_ago(1, d1);
    days_ago(5, d5);
    days_ago(13, d13);
    days_ago(14, d14);
    kit_session("p140 %s --videos 1 --size 300000 --imported --dj --copy", d1);
    kit_session("p141 %s --videos 2 --size 200000", d5);
    kit_session("p142 %s --videos 1 --size 100000", d13);
    kit_session("p143 %s --videos 1 --size 400000 --imported --dj --copy", d14);
    kit_session("p101 20230101 " OLD_SAFE);
    uint64_t window = local_bytes("p140", d1) + local_bytes("p141", d5) + local_bytes("p142", d13);
    uint64_t reclaimable = local_bytes("p143", d14) + local_bytes("p101", "20230101");
    uint64_t free_now = avail();

    struct kit_result r;
    int st = reclaim(reclaim_config(false, "1K"), &r, "--json", "--dry-run");
    ck_assert_msg(st == 0, "exit %d\n%s%s", st, r.out, r.err);
    char want[512];
    snprintf(want, sizeof(want),
             "\"forecast\":{\"window_days\":14,\"window_bytes\":%llu,\"window_sessions\":3,"
             "\"bytes_per_day\":%llu,\"size\":8388608,\"free\":%llu,\"reclaimable_bytes\":%llu,"
             "\"reclaimable_sessions\":2,\"days_until_full\":%.1f,"
             "\"days_until_full_counting_reclaimable\":%.1f}",
             (unsigned long long)window, (unsigned long long)(window / 14),
             (unsigned long long)free_now, (unsigned long long)reclaimable,
             (double)free_now * 14 / (double)window,
             (double)(free_now + reclaimable) * 14 / (double)window);
    kit_assert_has(r.out, want);
    kit_result_free(&r);

    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "status-range", NULL), 0);
    char rate[32], line[200];
    snprintf(line, sizeof(line), "\nRecording rate: %s/day (",
             mct_format_bytes(window / 14, rate, sizeof(rate)));
    kit_assert_has(r.out, line);
    snprintf(line, sizeof(line), "full in %.1f days at that rate",
             (double)free_now * 14 / (double)window);
    kit_assert_has(r.out, line);
    printf("%s", r.out);
    kit_result_free(&r);
    /* Under a date range the table alone. */
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "status-range", "--end-date", "20231231", NULL), 0);
    kit_assert_lacks(r.out, "Recording rate");
    kit_result_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reclaim-lab");
    TCase *tc = tcase_create("reclaim");
    tcase_add_unchecked_fixture(tc, setup, kit_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, reclaim_frees_the_oldest_needed_and_no_more);
    tcase_add_test(tc, dry_run_deletes_nothing);
    tcase_add_test(tc, unreachable_target_says_why);
    tcase_add_test(tc, a_session_being_recorded_is_left_alone);
    tcase_add_test(tc, killed_in_the_middle_loses_nothing);
    tcase_add_test(tc, two_reclaims_delete_each_session_once);
    tcase_add_test(tc, the_mount_reclaims_on_its_root);
    tcase_add_test(tc, forecast_matches_the_sizes_written);
    suite_add_tcase(s, tc);
    return kit_run_suite(s);
}
