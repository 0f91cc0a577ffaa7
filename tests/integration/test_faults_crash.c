/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount process killed with SIGKILL in the middle of a DELETE (at each
 * step of the trash protocol: the engine stops itself there when
 * MCT_TEST_STOP_AT names the step, see fs/core/trash.h) and in the middle
 * of a SYNC, then mounted again: the trash is finished or restored as its
 * journal says, the view shows what is really on disk, nothing is lost.
 */
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include "kit.h"

struct writer {
    const struct kit_mount *m;
    const char *p, *d, *text;
    ssize_t n;
    int err;
};

static void *write_thread(void *arg)
{
    struct writer *w = arg;
    w->n = kit_control_write(w->m, w->p, w->d, w->text, strlen(w->text), &w->err);
    return NULL;
}

/* Kill the stopped mctfs, see the blocked writer fail, detach the mount. */
static void kill_mount(struct kit_mount *m, pthread_t t, struct writer *w)
{
    ck_assert_int_eq(kill(m->pid, SIGKILL), 0);
    ck_assert_int_eq(kit_wait_exit(m->pid, 10000), 128 + SIGKILL);
    pthread_join(t, NULL);
    ck_assert_msg(w->n < 0, "the write returned %zd after mctfs was killed", w->n);
    printf("the %.*s writer got: %s\n", (int)strcspn(w->text, "\n"), w->text, strerror(w->err));
    kit_unmount_dead(m);
}

/* DELETE through the mount, stopped at point, SIGKILL, the journal's
 * state checked, then a new mount (which recovers the trash). */
static void delete_killed_at(const char *point, const char *p, const char *d, const char *state,
                             struct kit_mount *again)
{
    char env[64];
    snprintf(env, sizeof(env), "MCT_TEST_STOP_AT=%s", point);
    char *const envs[] = {env, NULL};
    struct kit_mount m;
    kit_mount(&m, NULL, envs);
    _cleanup_free_ char *safe = kit_vfile(&m, p, d, ".safe_to_delete");
    ck_assert_str_eq(safe, "yes\n");

    struct writer w = {.m = &m, .p = p, .d = d, .text = "DELETE\n"};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, write_thread, &w), 0);
    kit_wait_stopped(m.pid, 30000);
    _cleanup_free_ char *st = kit_trash_state(p);
    ck_assert_msg(st && streq(st, state), "journal state %s at %s, expected %s", st, point, state);
    kill_mount(&m, t, &w);
    ck_assert(!kit_trash_empty());

    kit_mount(again, NULL, NULL);
    ck_assert(kit_trash_empty());
}

static char *copy_digest(const char *p, const char *d)
{
    char dst[512];
    kit_dest_path(p, d, dst, sizeof(dst));
    return kit_tree_digest(dst);
}

START_TEST(killed_after_move_restores)
{
    kit_session("p501 20240501 --imported --dj --copy");
    _cleanup_free_ char *before = kit_session_digest("p501", "20240501");
    struct kit_mount m;
    delete_killed_at("after-move", "p501", "20240501", "moved", &m);

    /* Put back whole, in the view too, and nothing logged as deleted. */
    _cleanup_free_ char *after = kit_session_digest("p501", "20240501");
    ck_assert_str_eq(before, after);
    _cleanup_free_ char *log = kit_slurp(m.log, NULL);
    kit_assert_has(log, "restored p501/20240501 from an interrupted deletion");
    char path[700];
    kit_mpath(&m, path, sizeof(path), "p501/20240501");
    ck_assert_uint_eq(kit_count_entries(path, false), 5);
    _cleanup_free_ char *safe = kit_vfile(&m, "p501", "20240501", ".safe_to_delete");
    ck_assert_str_eq(safe, "yes\n");
    ck_assert_int_eq(kit_log_count("p501", "20240501", "deleted"), 0);
    kit_unmount(&m);
}
END_TEST

START_TEST(killed_after_verify_finishes)
{
    kit_session("p502 20240502 --imported --dj --copy");
    _cleanup_free_ char *copy_before = copy_digest("p502", "20240502");
    struct kit_mount m;
    delete_killed_at("after-verify", "p502", "20240502", "verified", &m);

    /* Compared and journalled: recovery logs it and finishes. */
    _cleanup_free_ char *log = kit_slurp(m.log, NULL);
    kit_assert_has(log, "finished deleting p502/20240502");
    char src[512], path[700];
    kit_source_path("p502", "20240502", src, sizeof(src));
    ck_assert(!kit_exists(src));
    kit_mpath(&m, path, sizeof(path), "p502/20240502");
    struct stat st;
    ck_assert(stat(path, &st) < 0 && errno == ENOENT);
    kit_mpath(&m, path, sizeof(path), ".status");
    _cleanup_free_ char *root = kit_slurp(path, NULL);
    kit_assert_lacks(root, "p502");
    ck_assert_int_eq(kit_log_count("p502", "20240502", "deleted"), 1);
    char dlog[400];
    snprintf(dlog, sizeof(dlog), "%s/deletions.log", lab.dir);
    _cleanup_free_ char *dl = kit_slurp(dlog, NULL);
    kit_assert_has(dl, "\"finished_by\":\"recovery\"");
    _cleanup_free_ char *copy_after = copy_digest("p502", "20240502");
    ck_assert_str_eq(copy_before, copy_after);
    kit_unmount(&m);
}
END_TEST

START_TEST(killed_mid_remove_finishes)
{
    kit_session("p503 20240503 --imported --dj --copy");
    _cleanup_free_ char *copy_before = copy_digest("p503", "20240503");
    struct kit_mount m;
    delete_killed_at("mid-remove", "p503", "20240503", "logged", &m);

    char src[512], path[700];
    kit_source_path("p503", "20240503", src, sizeof(src));
    ck_assert(!kit_exists(src));
    kit_mpath(&m, path, sizeof(path), "p503/20240503/.status");
    struct stat st;
    ck_assert(stat(path, &st) < 0 && errno == ENOENT);
    /* Logged once, by the deletion itself, not again by the recovery. */
    ck_assert_int_eq(kit_log_count("p503", "20240503", "deleted"), 1);
    _cleanup_free_ char *copy_after = copy_digest("p503", "20240503");
    ck_assert_str_eq(copy_before, copy_after);
    kit_unmount(&m);
}
END_TEST

/* The digest without rsync's temporary files (".name.XXXXXX"). */
static char *complete_files(const char *digest)
{
    struct mct_buf b = {};
    for (const char *l = digest; *l;) {
        size_t len = strcspn(l, "\n");
        char kind, rel[1024];
        if (sscanf(l, "%c %1023s", &kind, rel) == 2) {
            const char *base = strrchr(rel, '/');
            base = base ? base + 1 : rel;
            if (base[0] != '.')
                mct_buf_printf(&b, "%.*s\n", (int)len, l);
        }
        l += len + (l[len] == '\n');
    }
    return b.data ? mct_buf_steal(&b) : strdup("");
}

/* Live rsync processes with an argument naming P and D (the source or the
 * copy), found by their command lines; each is killed when kill_them. */
static size_t rsyncs_naming(const char *p, const char *d, bool kill_them)
{
    DIR *dir = opendir("/proc");
    ck_assert_ptr_nonnull(dir);
    size_t n = 0;
    for (struct dirent *de; (de = readdir(dir));) {
        char *end, path[300];
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
        size_t len = 0;
        _cleanup_free_ char *cmd = kit_slurp(path, &len); /* "" for a zombie */
        if (!cmd || len == 0)
            continue;
        const char *argv0 = strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;
        bool named = false;
        for (size_t i = strlen(cmd) + 1; i < len && !named; i += strlen(cmd + i) + 1)
            named = strstr(cmd + i, p) && strstr(cmd + i, d);
        /* rsync gets the session folders as inherited descriptors
         * (/proc/self/fd/4 and 5): what they point to names them. */
        for (int fd = 4; fd <= 5 && !named; fd++) {
            char link[300], target[PATH_MAX];
            snprintf(link, sizeof(link), "/proc/%ld/fd/%d", pid, fd);
            ssize_t k = readlink(link, target, sizeof(target) - 1);
            if (k > 0) {
                target[k] = '\0';
                named = strstr(target, p) && strstr(target, d);
            }
        }
        if (!streq(argv0, "rsync") || !named)
            continue;
        n++;
        if (kill_them)
            (void)kill((pid_t)pid, SIGKILL);
    }
    closedir(dir);
    return n;
}

/* SYNC through a throttled mount; once rsync is 30% through, SIGKILL the
 * mount (and, with_rsync, rsync too, as a power cut would), then mount
 * again, unthrottled. At 300 KiB/s the rest of a 4.5 MB session takes
 * some 10 s: an rsync that outlived mctfs would still be there. */
static void sync_killed(const char *p, const char *d, bool with_rsync, struct kit_mount *m)
{
    const char *cfg = kit_config_variant("slow", "    flags: \"-avh\"\n",
                                         "    flags: \"-avh\"\n    bandwidth_limit: 300\n", NULL);
    kit_mount(m, cfg, NULL);
    struct writer w = {.m = m, .p = p, .d = d, .text = "SYNC\n"};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, write_thread, &w), 0);

    pid_t kids[8], pgid = -1;
    int64_t end = mct_now_ms() + 20000;
    bool progress = false;
    while (!progress && mct_now_ms() < end) {
        if (pgid < 0 && kit_children(m->pid, "rsync", kids, ARRAY_SIZE(kids)) > 0)
            pgid = getpgid(kids[0]);
        _cleanup_free_ char *b = kit_vfile(m, p, d, ".backup_status");
        int pct = 0;
        progress = sscanf(b, "syncing %d%%", &pct) == 1 && pct >= 30 && pgid > 0;
        kit_sleep_ms(100);
    }
    ck_assert_msg(progress && pgid > 0, "no rsync progress seen");
    ck_assert_uint_gt(rsyncs_naming(p, d, false), 0);
    if (with_rsync)
        ck_assert_int_eq(kill(-pgid, SIGKILL), 0);
    kill_mount(m, t, &w);

    /* rsync dies with mctfs (PR_SET_PDEATHSIG): an orphan would go on
     * writing into the copy with no session lock held. */
    int64_t t0 = mct_now_ms();
    size_t left;
    while ((left = rsyncs_naming(p, d, false)) > 0 && mct_now_ms() < t0 + 3000)
        kit_sleep_ms(50);
    if (left > 0)
        rsyncs_naming(p, d, true);
    printf("rsync ran on for %lld ms after mctfs was killed\n", (long long)(mct_now_ms() - t0));
    ck_assert_msg(left == 0, "%zu rsync naming %s/%s still running 3 s after mctfs was killed",
                  left, p, d);
    ck_assert(!kit_pgrp_alive(pgid));
    kit_mount(m, NULL, NULL);
}

/* After the crash: the status says what the copy really is. */
static void assert_honest_after_sync_crash(struct kit_mount *m, const char *p, const char *d,
                                           bool expect_partial)
{
    char dst[512];
    kit_dest_path(p, d, dst, sizeof(dst));
    _cleanup_free_ char *src_dg = kit_session_digest(p, d);
    _cleanup_free_ char *dst_raw = kit_tree_digest(dst);
    _cleanup_free_ char *dst_dg = complete_files(dst_raw);
    bool complete = streq(src_dg, dst_dg);
    ck_assert(!(expect_partial && complete));

    _cleanup_free_ char *b = kit_vfile(m, p, d, ".backup_status");
    _cleanup_free_ char *safe = kit_vfile(m, p, d, ".safe_to_delete");
    printf("after the crash the copy is %s; .backup_status: %s", complete ? "complete" : "partial",
           b);
    if (complete) {
        kit_assert_starts(b, "verified");
    } else {
        ck_assert_msg(startswith(b, "unverified") || startswith(b, "missing"), "%s", b);
        kit_assert_starts(safe, "no: ");
        int err;
        ck_assert_int_eq(kit_control_write(m, p, d, "DELETE\n", 7, &err), -1);
        ck_assert_int_eq(err, EPERM);
    }
    /* The dead process holds no lock: a new SYNC runs and verifies. */
    int err;
    ck_assert_int_eq(kit_control_write(m, p, d, "SYNC\n", 5, &err), 5);
    _cleanup_free_ char *b2 = kit_vfile(m, p, d, ".backup_status");
    kit_assert_starts(b2, "verified");
}

START_TEST(a_sync_killed_leaves_an_honest_status)
{
    kit_session("p504 20240504 --imported --dj --videos 3 --size 1500000");
    _cleanup_free_ char *before = kit_session_digest("p504", "20240504");
    struct kit_mount m;
    sync_killed("p504", "20240504", false, &m);
    assert_honest_after_sync_crash(&m, "p504", "20240504", false);
    kit_unmount(&m);
    _cleanup_free_ char *after = kit_session_digest("p504", "20240504");
    ck_assert_str_eq(before, after);
}
END_TEST

START_TEST(a_sync_killed_with_its_rsync_leaves_an_honest_status)
{
    kit_session("p505 20240505 --imported --dj --videos 3 --size 1500000");
    _cleanup_free_ char *before = kit_session_digest("p505", "20240505");
    struct kit_mount m;
    sync_killed("p505", "20240505", true, &m);
    assert_honest_after_sync_crash(&m, "p505", "20240505", true);
    kit_unmount(&m);
    _cleanup_free_ char *after = kit_session_digest("p505", "20240505");
    ck_assert_str_eq(before, after);
}
END_TEST

static Suite *crash_suite(void)
{
    Suite *s = suite_create("faults-crash");
    TCase *tc = tcase_create("kill -9");
    tcase_add_unchecked_fixture(tc, kit_setup, kit_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, killed_after_move_restores);
    tcase_add_test(tc, killed_after_verify_finishes);
    tcase_add_test(tc, killed_mid_remove_finishes);
    tcase_add_test(tc, a_sync_killed_leaves_an_honest_status);
    tcase_add_test(tc, a_sync_killed_with_its_rsync_leaves_an_honest_status);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(crash_suite());
}
