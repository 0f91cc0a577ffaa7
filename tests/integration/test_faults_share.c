/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Faults of the network share, with real parts: the share unmounted while
 * rsync copies into it, a share that hangs (hangfs) during every command,
 * rsync killed in the middle of a file, and a share whose disk is full.
 * Every test proves that the source is intact byte for byte and that the
 * status never says "verified" or "safe" about a copy that is not.
 */
#include <errno.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kit.h"

/* rsync at 1000 KB/s: a few MB take a few seconds. */
static const char *slow_config(void)
{
    return kit_config_variant("slow", "    flags: \"-avh\"\n",
                              "    flags: \"-avh\"\n    bandwidth_limit: 1000\n", NULL);
}

/* `mctctl -c CONFIG sync P D` in the background, output to a log. */
static pid_t start_sync(const char *config, const char *p, const char *d, char *log, size_t len)
{
    snprintf(log, len, "%s/sync-%s.log", lab.dir, p);
    char *argv[] = {getenv("MCTCTL"), "-c", (char *)config, "sync", (char *)p, (char *)d, NULL};
    return kit_spawn(argv, NULL, log, NULL);
}

/* Wait (at most ms) until dir holds a file at least min bytes big. */
static bool wait_for_file(const char *dir, off_t min, unsigned ms)
{
    int64_t end = mct_now_ms() + ms;
    while (mct_now_ms() < end) {
        _cleanup_free_ char *dg = kit_tree_digest(dir);
        for (char *l = dg; l && *l;) {
            char kind, name[1024];
            unsigned long long size;
            if (sscanf(l, "%c %1023s %llu", &kind, name, &size) == 3 && kind == 'f' &&
                (off_t)size >= min)
                return true;
            l = strchr(l, '\n');
            l = l ? l + 1 : NULL;
        }
        kit_sleep_ms(50);
    }
    return false;
}

static char *status_of(const char *config, const char *p, const char *d)
{
    struct kit_result r;
    int st = kit_mctctl(config, NULL, &r, "--no-color", "status", p, d, NULL);
    /* Exit 3 exactly when a destination could not be checked. */
    bool unknown = strstr(r.out, "? unreachable") != NULL;
    ck_assert_msg(st == (unknown ? 3 : 0), "status: exit %d\n%s", st, r.err);
    free(r.err);
    return r.out;
}

/* A deletion must be refused (exit want: 3 when only an unreachable share
 * stood in the way, 4 for a safety rule) and leave every byte in place. */
static void assert_delete_refused(const char *config, const char *p, const char *d, int want)
{
    _cleanup_free_ char *before = kit_session_digest(p, d);
    struct kit_result r;
    int st = kit_mctctl(config, "DELETE\n", &r, "delete", p, d, NULL);
    ck_assert_msg(st == want, "delete: exit %d\n%s\n%s", st, r.out, r.err);
    kit_assert_has(r.err, "Nothing was deleted");
    kit_result_free(&r);
    _cleanup_free_ char *after = kit_session_digest(p, d);
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(kit_log_count(p, d, "deleted"), 0);
    ck_assert(kit_trash_empty());
}

START_TEST(a_share_unmounted_mid_sync_is_unreachable)
{
    kit_session("p101 20240101 --imported --dj --videos 2 --size 2000000");
    _cleanup_free_ char *before = kit_session_digest("p101", "20240101");
    const char *cfg = slow_config();
    char log[450], dst[512];
    kit_dest_path("p101", "20240101", dst, sizeof(dst));

    pid_t pid = start_sync(cfg, "p101", "20240101", log, sizeof(log));
    ck_assert_msg(wait_for_file(dst, 100000, 15000), "rsync never started writing into %s", dst);
    /* umount -l: the copy goes on into the detached tmpfs, the mount point
     * is a bare folder of the local disk from now on. */
    ck_assert_int_eq(kit_lab_sh(&lab, "share-umount"), 0);
    ck_assert(!kit_is_mounted(lab.share));
    ck_assert_uint_eq(kit_count_entries(lab.share, true), 0);

    int st = kit_wait_exit(pid, 60000);
    _cleanup_free_ char *out = kit_slurp(log, NULL);
    /* The share went away: exit 3, "could not reach". */
    ck_assert_msg(st == 3, "sync exit %d:\n%s", st, out);
    kit_assert_has(out, "is not a mount point");
    kit_assert_has(out, "failed");
    /* What rsync still wrote went to the detached tmpfs: nothing reached
     * the local disk under the bare mount point. */
    ck_assert_msg(kit_count_entries(lab.share, true) == 0, "files written into the bare %s",
                  lab.share);

    _cleanup_free_ char *status = status_of(cfg, "p101", "20240101");
    kit_assert_has(status, "state: ? unreachable");
    kit_assert_has(status, "Safe to delete: NO");
    kit_assert_lacks(status, "verified");
    assert_delete_refused(cfg, "p101", "20240101", 3);
    ck_assert_uint_eq(kit_count_entries(lab.share, true), 0);

    /* A fresh, empty share: no copy, honestly. Then a sync repairs it. */
    ck_assert_int_eq(kit_lab_sh(&lab, "share-mount"), 0);
    _cleanup_free_ char *status2 = status_of(cfg, "p101", "20240101");
    kit_assert_has(status2, "state: ✗ missing");
    struct kit_result r;
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "sync", "p101", "20240101", NULL), 0);
    kit_result_free(&r);
    _cleanup_free_ char *status3 = status_of(NULL, "p101", "20240101");
    kit_assert_has(status3, "Safe to delete: YES");
    _cleanup_free_ char *after = kit_session_digest("p101", "20240101");
    ck_assert_str_eq(before, after);
}
END_TEST

/* Run mctctl with the hung share and assert it ends within max_ms. */
static int run_bounded(const char *cfg, const char *in, struct kit_result *r, int64_t max_ms,
                       const char *cmd, const char *extra)
{
    int64_t t0 = mct_now_ms();
    int st = extra ? kit_mctctl(cfg, in, r, cmd, "p111", "20240111", extra, NULL)
                   : kit_mctctl(cfg, in, r, cmd, "p111", "20240111", NULL);
    int64_t took = mct_now_ms() - t0;
    printf("hung share: mctctl %s took %lld ms, exit %d\n", cmd, (long long)took, st);
    ck_assert_msg(took < max_ms, "mctctl %s took %lld ms with a hung share", cmd, (long long)took);
    return st;
}

START_TEST(every_command_gives_up_on_a_hung_share)
{
    kit_session("p111 20240111 --imported --dj");
    _cleanup_free_ char *before = kit_session_digest("p111", "20240111");
    char hang[400];
    pid_t hangfs = kit_hangfs_start(hang, sizeof(hang));
    const char *cfg = kit_config_variant("hung", lab.share, hang, NULL);
    /* share_seconds is 2: every command must give up within a few. */
    const int64_t bound = 10000;
    struct kit_result r;

    /* A hung share is "could not check": exit 3 from every command. */
    int st = run_bounded(cfg, NULL, &r, bound, "status", "--no-color");
    ck_assert_int_eq(st, 3);
    kit_assert_has(r.out, "state: ? unreachable");
    kit_assert_has(r.out, "did not answer");
    kit_assert_has(r.out, "Safe to delete: NO");
    kit_result_free(&r);

    int64_t t0 = mct_now_ms();
    st = kit_mctctl(cfg, NULL, &r, "status-range", NULL);
    ck_assert_int_lt(mct_now_ms() - t0, bound);
    ck_assert_int_eq(st, 3);
    kit_assert_has(r.out, "20240111    p111               4  ✓   ?       ?         ✗");
    kit_result_free(&r);

    st = run_bounded(cfg, NULL, &r, bound, "sync", NULL);
    ck_assert_msg(st == 3, "sync: exit %d\n%s", st, r.err);
    kit_assert_has(r.err, "did not answer within 2 s");
    kit_result_free(&r);

    st = run_bounded(cfg, NULL, &r, bound, "verify", NULL);
    ck_assert_msg(st == 3, "verify: exit %d\n%s", st, r.err);
    kit_assert_lacks(r.out, ": verified");
    kit_result_free(&r);

    st = run_bounded(cfg, "DELETE\n", &r, bound, "delete", NULL);
    ck_assert_msg(st == 3, "delete: exit %d\n%s", st, r.err);
    kit_assert_has(r.err, "Nothing was deleted");
    kit_result_free(&r);

    /* The mount: SYNC and DELETE through .control return in bounded time. */
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    int err;
    t0 = mct_now_ms();
    ck_assert_int_eq(kit_control_write(&m, "p111", "20240111", "SYNC\n", 5, &err), -1);
    ck_assert_msg(err == EIO || err == ETIMEDOUT, "SYNC: %s", strerror(err));
    ck_assert_int_eq(kit_control_write(&m, "p111", "20240111", "DELETE\n", 7, &err), -1);
    ck_assert_msg(err == EPERM, "DELETE: %s", strerror(err));
    ck_assert_int_lt(mct_now_ms() - t0, 2 * bound);
    _cleanup_free_ char *safe = kit_vfile(&m, "p111", "20240111", ".safe_to_delete");
    kit_assert_starts(safe, "no: ");
    kit_unmount(&m);

    kit_hangfs_stop(hangfs, hang);
    _cleanup_free_ char *after = kit_session_digest("p111", "20240111");
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(kit_log_count("p111", "20240111", "deleted"), 0);
    ck_assert(kit_trash_empty());
}
END_TEST

/* The rsync processes (sender and receiver) started by parent. */
static pid_t rsync_group(pid_t parent, unsigned ms)
{
    int64_t end = mct_now_ms() + ms;
    pid_t kids[8];
    while (mct_now_ms() < end) {
        if (kit_children(parent, "rsync", kids, ARRAY_SIZE(kids)) > 0)
            return getpgid(kids[0]);
        kit_sleep_ms(20);
    }
    return -1;
}

START_TEST(a_killed_rsync_fails_the_sync)
{
    kit_session("p121 20240121 --imported --dj --videos 4 --size 1000000");
    _cleanup_free_ char *before = kit_session_digest("p121", "20240121");
    const char *cfg = slow_config();
    char log[450], dst[512];
    kit_dest_path("p121", "20240121", dst, sizeof(dst));

    pid_t pid = start_sync(cfg, "p121", "20240121", log, sizeof(log));
    pid_t pgid = rsync_group(pid, 10000);
    ck_assert_msg(pgid > 0, "no rsync child of mctctl");
    /* One video complete, the next one on its way: kill them all. */
    ck_assert_msg(wait_for_file(dst, 1000000, 20000), "no complete file in %s", dst);
    ck_assert_int_eq(kill(-pgid, SIGKILL), 0);

    int st = kit_wait_exit(pid, 30000);
    _cleanup_free_ char *out = kit_slurp(log, NULL);
    ck_assert_msg(st == 1, "sync exit %d:\n%s", st, out);
    kit_assert_has(out, "rsync exited 137");
    kit_assert_lacks(out, "complete.");

    _cleanup_free_ char *status = status_of(NULL, "p121", "20240121");
    kit_assert_has(status, "state: ✗ unverified");
    kit_assert_has(status, "(counts differ)");
    kit_assert_has(status, "Safe to delete: NO");
    struct kit_result r;
    st = kit_mctctl(NULL, NULL, &r, "--json", "status", "p121", "20240121", NULL);
    kit_assert_lacks(r.out, "\"state\":\"verified\"");
    kit_assert_has(r.out, "\"safe_to_delete\":false");
    kit_result_free(&r);
    st = kit_mctctl(NULL, NULL, &r, "verify", "p121", "20240121", NULL);
    ck_assert_msg(st == 1, "verify of a partial copy: exit %d\n%s", st, r.out);
    kit_assert_has(r.out, "NOT verified");
    kit_result_free(&r);
    assert_delete_refused(NULL, "p121", "20240121", 4);

    /* Running the sync again finishes the copy. */
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "sync", "p121", "20240121", NULL), 0);
    kit_result_free(&r);
    _cleanup_free_ char *status2 = status_of(NULL, "p121", "20240121");
    kit_assert_has(status2, "Safe to delete: YES");
    _cleanup_free_ char *after = kit_session_digest("p121", "20240121");
    ck_assert_str_eq(before, after);
}
END_TEST

START_TEST(a_full_share_fails_the_sync)
{
    /* 1.6 MB of videos for a 1 MB share. */
    kit_session("p131 20240131 --imported --dj --videos 2 --size 800000");
    _cleanup_free_ char *before = kit_session_digest("p131", "20240131");
    char small[400], base[450];
    snprintf(small, sizeof(small), "%s/small", lab.dir);
    ck_assert_int_eq(mkdir(small, 0755), 0);
    ck_assert_int_eq(mount("tmpfs", small, "tmpfs", 0, "size=1m"), 0);
    snprintf(base, sizeof(base), "%s/mobile_system_data", small);
    ck_assert_int_eq(mkdir(base, 0755), 0);
    const char *cfg = kit_config_variant("full", lab.share, small, NULL);

    struct kit_result r;
    int st = kit_mctctl(cfg, NULL, &r, "sync", "p131", "20240131", NULL);
    ck_assert_msg(st == 1, "sync into a full share: exit %d\n%s\n%s", st, r.out, r.err);
    /* rsync's own words reach the user. */
    kit_assert_has(r.err, "No space left on device");
    kit_assert_has(r.err, "rsync exited");
    kit_result_free(&r);

    _cleanup_free_ char *status = status_of(cfg, "p131", "20240131");
    kit_assert_has(status, "Safe to delete: NO");
    kit_assert_lacks(status, "state: ✓ verified");
    st = kit_mctctl(cfg, NULL, &r, "verify", "p131", "20240131", NULL);
    ck_assert_int_eq(st, 1);
    kit_result_free(&r);
    assert_delete_refused(cfg, "p131", "20240131", 4);
    ck_assert_int_eq(umount2(small, MNT_DETACH), 0);
    _cleanup_free_ char *after = kit_session_digest("p131", "20240131");
    ck_assert_str_eq(before, after);
}
END_TEST

/* A test that failed with the share unmounted must not break the next. */
static void share_back(void)
{
    ck_assert_int_eq(kit_lab_sh(&lab, "share-mount"), 0);
}

static Suite *share_suite(void)
{
    Suite *s = suite_create("faults-share");
    TCase *tc = tcase_create("share");
    tcase_add_unchecked_fixture(tc, kit_setup, kit_teardown);
    tcase_add_checked_fixture(tc, share_back, NULL);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, a_share_unmounted_mid_sync_is_unreachable);
    tcase_add_test(tc, every_command_gives_up_on_a_hung_share);
    tcase_add_test(tc, a_killed_rsync_fails_the_sync);
    tcase_add_test(tc, a_full_share_fails_the_sync);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(share_suite());
}
