/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trash, its journals and the session locks sit on ground the rig
 * user controls: that user owns the source base and every session in it.
 * Here an unprivileged user (mcttrash1, made for the run) owns the lab's
 * data and does what such a user can: forge a trash with journals that
 * name paths outside the source, forged log lines, a FIFO at a journal's
 * temporary name; hold flock on a session folder; write into a session
 * (from a shell whose working folder it is) after the deletion compared
 * it. And what the deletion itself must survive: a tree 700 levels deep,
 * a kill -9 in the middle of a removal, a dry run with an interrupted
 * deletion in the trash, a copy that turns out to be the source (a bind
 * mount) once the source has moved.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "kit.h"

#define RIG "mcttrash1"

static uid_t rig_uid;
static gid_t rig_gid;
static char rigdir[400]; /* a folder of the rig user's for its scripts' flags */

/* The rig user runs script (sh -c), synchronously. */
static void rig_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rig_sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *script = NULL;
    ck_assert_int_ge(vasprintf(&script, fmt, ap), 0);
    va_end(ap);
    char *argv[] = {"runuser", "-u", RIG, "--", "/bin/sh", "-c", script, NULL};
    kit_run_ok(argv);
}

/* Everything under the source base is the rig user's, as on the rig. */
static void rig_owns_data(void)
{
    char *argv[] = {"chown", "-R", RIG ":", lab.data, NULL};
    kit_run_ok(argv);
}

/* Before each test: no trash, no flags of the rig's shell. */
static void reset(void)
{
    char aside[450];
    snprintf(aside, sizeof(aside), "%s/.aside", lab.data);
    char *argv[] = {"rm", "-rf", "--", (char *)kit_trash_dir(), aside, NULL};
    kit_run_ok(argv);
    static const char *const flags[] = {"ready", "go", "done"};
    for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
        char path[450];
        snprintf(path, sizeof(path), "%s/%s", rigdir, flags[i]);
        (void)unlink(path);
    }
}

static void setup(void)
{
    kit_setup();
    kit_user_add(RIG, &rig_uid, &rig_gid);
    ck_assert_int_eq(chmod(lab.dir, 0711), 0);
    snprintf(rigdir, sizeof(rigdir), "%s/rig", lab.dir);
    ck_assert_int_eq(mkdir(rigdir, 0755), 0);
    ck_assert_int_eq(chown(rigdir, rig_uid, rig_gid), 0);
}

static void teardown(void)
{
    kit_teardown();
    ck_assert_int_eq(kit_user_del(RIG), 0);
}

static void session(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void session(const char *fmt, ...)
{
    char args[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    kit_session("%s", args);
    rig_owns_data();
}

/* A shell of the rig user's whose working folder is the session: once
 * told to (rig_write_go), it writes name there, wherever the folder is
 * by then (a process's working folder follows a rename). */
static pid_t rig_writer(const char *p, const char *d, const char *name)
{
    char src[512], log[450];
    kit_source_path(p, d, src, sizeof(src));
    snprintf(log, sizeof(log), "%s/writer.log", lab.dir);
    _cleanup_free_ char *script = mct_strdup_printf(
            "cd '%s' || exit 1; touch '%s/ready'; while [ ! -e '%s/go' ]; do sleep 0.05; "
            "done; echo 'written during the deletion' > '%s'; touch '%s/done'",
            src, rigdir, rigdir, name, rigdir);
    /* setpriv execs the shell itself (runuser would fork it): the pid
     * the teardown kills is the shell's. */
    char *argv[] = {"/usr/bin/setpriv", "--reuid=" RIG, "--regid=" RIG, "--clear-groups",
                    "/bin/sh",          "-c",           script,         NULL};
    pid_t pid = kit_spawn(argv, NULL, log, NULL);
    char ready[450];
    snprintf(ready, sizeof(ready), "%s/ready", rigdir);
    for (int64_t end = mct_now_ms() + 10000; !kit_exists(ready); kit_sleep_ms(20))
        ck_assert_msg(mct_now_ms() < end, "the rig's shell never started");
    return pid;
}

static void rig_write_go(pid_t writer)
{
    char go[450], done[450];
    snprintf(go, sizeof(go), "%s/go", rigdir);
    snprintf(done, sizeof(done), "%s/done", rigdir);
    kit_write_file(go, "");
    ck_assert_int_eq(kit_wait_exit(writer, 10000), 0);
    ck_assert(kit_exists(done));
}

/* The rig user's process holding flock on dir, until killed (or until the
 * test that made it ends). */
static pid_t rig_flock(const char *dir)
{
    int ready[2];
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = -1;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || kit_become(rig_uid, rig_gid) < 0 ||
            (fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0 || flock(fd, LOCK_EX) < 0)
            _exit(1);
        (void)!write(ready[1], "1", 1);
        for (;;)
            pause();
    }
    close(ready[1]);
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
    return pid;
}

/* depth folders "d" below dir, "leaf.bin" at the bottom, three hours old. */
static void make_deep(const char *dir, size_t depth)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    for (size_t i = 0; i < depth; i++) {
        ck_assert_int_eq(mkdirat(fd, "d", 0755), 0);
        int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(next, 0);
        close(fd);
        fd = next;
    }
    int f = openat(fd, "leaf.bin", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ck_assert_int_eq(write(f, "deep", 4), 4);
    struct timespec ts[2] = {{.tv_sec = time(NULL) - 3 * 3600}, {.tv_sec = time(NULL) - 3 * 3600}};
    ck_assert_int_eq(futimens(f, ts), 0);
    close(f);
    close(fd);
}

/* ---- a trash the rig user made ---- */

/* As the rig user: move root's trash aside, make one with an entry of
 * participant p699 and an old-style journal saying state, path and
 * record (may be ""), and maybe a FIFO at the journal's temporary name. */
static void forge_trash(const char *state, const char *path, const char *record, bool fifo)
{
    ck_assert_int_eq(mkdir(kit_trash_dir(), 0700) < 0 && errno != EEXIST, 0);
    const char *e = "p699__20240601__1__1";
    rig_sh("cd '%s' && mv .mctfs-trash .aside && mkdir -m 700 .mctfs-trash && "
           "mkdir .mctfs-trash/%s && echo payload > .mctfs-trash/%s/payload.conf && "
           "cat > .mctfs-trash/%s.json <<'EOF'\n{\n\"participant\": \"p699\",\n"
           "\"date\": \"20240601\",\n\"path\": \"%s\",\n\"state\": \"%s\",\n\"pid\": 1,\n"
           "\"time\": 1%s%s\n}\nEOF\n%s%s%s",
           lab.data, e, e, e, path, state, *record ? ",\n\"record\": " : "", record,
           fifo ? "mkfifo .mctfs-trash/" : "", fifo ? e : "", fifo ? ".json.tmp" : "");
}

/* Refused (exit 4), by a dry run and a real one, for the forged trash;
 * the status says why. */
static void assert_forged_trash_refused(const char *p, const char *d)
{
    _cleanup_free_ char *before = kit_session_digest(p, d);
    _cleanup_free_ char *dry = kit_mctctl_out(4, NULL, NULL, "delete", p, d, "--dry-run", NULL);
    kit_assert_has(dry, "deletion trash ");
    kit_assert_has(dry, "is not ours (owner uid ");
    kit_assert_has(dry, "chown/chmod it or move it aside");
    _cleanup_free_ char *real = kit_mctctl_out(4, NULL, "DELETE\n", "delete", p, d, NULL);
    kit_assert_has(real, "is not ours");
    _cleanup_free_ char *after = kit_session_digest(p, d);
    ck_assert_str_eq(before, after);
    _cleanup_free_ char *st = kit_mctctl_out(0, NULL, NULL, "status", p, d, NULL);
    kit_assert_has(st, "Safe to delete: NO");
    kit_assert_has(st, "is not ours");
    ck_assert_int_eq(kit_log_count(p, d, "deleted"), 0);
}

START_TEST(forged_moved_journal_creates_nothing_outside)
{
    session("p601 20240601 --imported --dj --copy");
    char target[500];
    snprintf(target, sizeof(target), "%s/outside/etc/systemd/system/foo.service.d", lab.dir);
    forge_trash("moved", target, "", false);
    assert_forged_trash_refused("p601", "20240601");
    char outside[450];
    snprintf(outside, sizeof(outside), "%s/outside", lab.dir);
    ck_assert_msg(!kit_exists(outside), "%s was created", outside);
}
END_TEST

START_TEST(forged_logged_journal_removes_nothing_outside)
{
    session("p602 20240602 --imported --dj --copy");
    char victim[450], path[500];
    snprintf(victim, sizeof(victim), "%s/victim", lab.dir);
    ck_assert_int_eq(mkdir(victim, 0755), 0);
    snprintf(path, sizeof(path), "%s/sub", victim);
    forge_trash("logged", path, "", false);
    assert_forged_trash_refused("p602", "20240602");
    ck_assert_msg(kit_exists(victim), "%s was removed", victim);
}
END_TEST

START_TEST(forged_verified_journal_logs_nothing)
{
    session("p603 20240603 --imported --dj --copy");
    char path[500];
    snprintf(path, sizeof(path), "%s/p699/20240601", lab.data);
    forge_trash("verified", path,
                "{\"participant\":\"p001\",\"date\":\"20200101\",\"result\":\"deleted\","
                "\"forged\":\"by the rig user\"}",
                false);
    assert_forged_trash_refused("p603", "20240603");
    char dlog[400];
    snprintf(dlog, sizeof(dlog), "%s/deletions.log", lab.dir);
    _cleanup_free_ char *text = kit_slurp(dlog, NULL);
    ck_assert_msg(!text || !strstr(text, "forged"), "forged line in the log:\n%s", text);
    ck_assert_int_eq(kit_log_count("p001", "20200101", NULL), 0);
}
END_TEST

/* Our own trash, journals edited as an older version wrote them (a path
 * and a record): recovery uses neither. */
START_TEST(our_journals_path_and_record_are_ignored)
{
    session("p604 20240604 --imported --dj --copy");
    session("p605 20240605 --imported --dj --copy");
    _cleanup_free_ char *before = kit_session_digest("p604", "20240604");
    char log[450];
    pid_t pid = kit_spawn_delete(NULL, "p604", "20240604", "MCT_TEST_CRASH_AT=after-move", log,
                                 sizeof(log));
    ck_assert_int_eq(kit_wait_exit(pid, 60000), 99);
    {
        /* Held, so that the next deletion's recovery leaves p604 alone. */
        _cleanup_close_ int lock = kit_hold_session_lock("p604", "20240604");
        pid = kit_spawn_delete(NULL, "p605", "20240605", "MCT_TEST_CRASH_AT=after-verify", log,
                               sizeof(log));
        ck_assert_int_eq(kit_wait_exit(pid, 60000), 99);
    }

    char outside[450], j[700];
    snprintf(outside, sizeof(outside), "%s/outside/etc/foo.service.d", lab.dir);
    char entry[600];
    ck_assert(kit_trash_entry("p604", entry, sizeof(entry)));
    snprintf(j, sizeof(j), "%s.json", entry);
    _cleanup_free_ char *t1 = mct_strdup_printf("{\n\"participant\": \"p604\",\n\"date\": "
                                                "\"20240604\",\n\"path\": \"%s\",\n\"state\": "
                                                "\"moved\"\n}\n",
                                                outside);
    kit_write_file(j, t1);
    ck_assert(kit_trash_entry("p605", entry, sizeof(entry)));
    snprintf(j, sizeof(j), "%s.json", entry);
    kit_write_file(j, "{\n\"participant\": \"p605\",\n\"date\": \"20240605\",\n\"state\": "
                      "\"verified\",\n\"record\": {\"participant\":\"p605\",\"date\":\"20240605\","
                      "\"result\":\"deleted\",\"forged\":\"in the journal\"}\n}\n");

    _cleanup_free_ char *out = kit_mctctl_out(1, NULL, NULL, "delete", "p999", "20240101", NULL);
    kit_assert_has(out, "restored p604/20240604 from an interrupted deletion");
    kit_assert_has(out, "finished deleting p605/20240605");
    ck_assert(!kit_exists(outside));
    _cleanup_free_ char *after = kit_session_digest("p604", "20240604");
    ck_assert_str_eq(before, after);
    ck_assert(kit_trash_empty());
    char dlog[400];
    snprintf(dlog, sizeof(dlog), "%s/deletions.log", lab.dir);
    _cleanup_free_ char *text = kit_slurp(dlog, NULL);
    kit_assert_lacks(text, "forged");
    ck_assert_int_eq(kit_log_count("p605", "20240605", "deleted"), 1);
    kit_assert_has(text, "\"finished_by\":\"recovery\"");
}
END_TEST

/* A FIFO at a journal's temporary name: nothing may wait for its reader. */
START_TEST(a_fifo_at_a_journals_name_never_blocks)
{
    session("p606 20240606 --imported --dj --copy");
    forge_trash("verified", "/nowhere", "", true);
    char log[450];
    pid_t pid = kit_spawn_delete(NULL, "p606", "20240606", NULL, log, sizeof(log));
    int st = kit_wait_exit(pid, 20000);
    ck_assert_msg(st >= 0, "DELETE blocked for 20 s on a FIFO in a forged trash");
    ck_assert_int_eq(st, 4); /* refused */

    /* In our own trash too (put there by root, or left by anything). */
    char *argv[] = {"rm", "-rf", "--", (char *)kit_trash_dir(), NULL};
    kit_run_ok(argv);
    session("p607 20240607 --imported --dj --copy");
    pid = kit_spawn_delete(NULL, "p607", "20240607", "MCT_TEST_CRASH_AT=after-verify", log,
                           sizeof(log));
    ck_assert_int_eq(kit_wait_exit(pid, 60000), 99);
    char entry[600], fifo[700];
    ck_assert(kit_trash_entry("p607", entry, sizeof(entry)));
    snprintf(fifo, sizeof(fifo), "%s.json.tmp", entry);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    pid = kit_spawn_delete(NULL, "p606", "20240606", NULL, log, sizeof(log));
    st = kit_wait_exit(pid, 20000);
    ck_assert_msg(st >= 0, "DELETE blocked for 20 s on a FIFO in our trash");
    _cleanup_free_ char *out = kit_slurp(log, NULL);
    ck_assert_msg(st == 0, "exit %d\n%s", st, out);
    kit_assert_has(out, "finished deleting p607/20240607");
    ck_assert(kit_trash_empty());
}
END_TEST

START_TEST(a_foreign_flock_blocks_nothing)
{
    session("p608 20240608 --imported --dj");
    char src[512];
    kit_source_path("p608", "20240608", src, sizeof(src));
    pid_t holder = rig_flock(src);

    _cleanup_free_ char *sync = kit_mctctl_out(0, NULL, NULL, "sync", "p608", "20240608", NULL);
    kit_assert_lacks(sync, "another command is running");
    _cleanup_free_ char *del =
            kit_mctctl_out(0, NULL, "DELETE\n", "delete", "p608", "20240608", NULL);
    kit_assert_has(del, "Deleted p608/20240608");
    ck_assert(!kit_exists(src));
    ck_assert(kit_trash_empty());
    ck_assert_int_eq(kill(holder, SIGKILL), 0);
    ck_assert_int_eq(waitpid(holder, NULL, 0), holder);
}
END_TEST

START_TEST(a_file_written_after_the_comparison_is_kept)
{
    session("p609 20240609 --imported --dj --copy");
    pid_t writer = rig_writer("p609", "20240609", "late.mp4");
    char log[450];
    pid_t pid = kit_spawn_delete(NULL, "p609", "20240609", "MCT_TEST_STOP_AT=after-verify", log,
                                 sizeof(log));
    kit_wait_stopped(pid, 30000);
    rig_write_go(writer); /* into the trash entry: the shell's folder moved there */
    ck_assert_int_eq(kill(pid, SIGCONT), 0);
    int st = kit_wait_exit(pid, 60000);
    _cleanup_free_ char *out = kit_slurp(log, NULL);
    ck_assert_msg(st == 0, "exit %d\n%s", st, out);
    kit_assert_has(out, "Deleted p609/20240609: 5 files");
    kit_assert_has(out, "kept 1 files written during the deletion");

    char src[512];
    kit_source_path("p609", "20240609", src, sizeof(src));
    ck_assert_uint_eq(kit_count_entries(src, true), 1);
    _cleanup_free_ char *dg = kit_tree_digest(src);
    kit_assert_starts(dg, "f late.mp4 28 ");
    ck_assert(kit_trash_empty());
    ck_assert_int_eq(kit_log_count("p609", "20240609", "deleted"), 1);
    ck_assert_int_eq(kit_log_count("p609", "20240609", "kept"), 1);
}
END_TEST

START_TEST(a_kill_mid_remove_keeps_what_was_written)
{
    session("p610 20240610 --imported --dj --copy");
    pid_t writer = rig_writer("p610", "20240610", "late.mp4");
    char log[450];
    pid_t pid = kit_spawn_delete(NULL, "p610", "20240610", "MCT_TEST_STOP_AT=mid-remove", log,
                                 sizeof(log));
    kit_wait_stopped(pid, 30000);
    rig_write_go(writer);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(kit_wait_exit(pid, 10000), 128 + SIGKILL);
    ck_assert(!kit_trash_empty());

    /* The next real run finishes it: only what was verified goes. */
    _cleanup_free_ char *out = kit_mctctl_out(-1, NULL, NULL, "delete", "p610", "20240610", NULL);
    kit_assert_has(out, "finished deleting p610/20240610");
    kit_assert_has(out, "kept 1 files written during the deletion");
    char src[512];
    kit_source_path("p610", "20240610", src, sizeof(src));
    _cleanup_free_ char *dg = kit_tree_digest(src);
    kit_assert_starts(dg, "f late.mp4 28 ");
    ck_assert_ptr_eq(strchr(dg, '\n'), dg + strlen(dg) - 1);
    ck_assert(kit_trash_empty());
    ck_assert_int_eq(kit_log_count("p610", "20240610", "deleted"), 1);
}
END_TEST

START_TEST(a_tree_700_deep_is_removed_completely)
{
    session("p611 20240611 --imported --dj --copy");
    char src[512], dst[512];
    kit_source_path("p611", "20240611", src, sizeof(src));
    kit_dest_path("p611", "20240611", dst, sizeof(dst));
    make_deep(src, 700);
    make_deep(dst, 700);
    rig_owns_data();
    /* The common default: a walk holding a descriptor or two per level
     * runs out of them at this depth. */
    struct rlimit l = {.rlim_cur = 1024, .rlim_max = 1024};
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &l), 0);
    _cleanup_free_ char *out =
            kit_mctctl_out(0, NULL, "DELETE\n", "delete", "p611", "20240611", NULL);
    kit_assert_has(out, "Deleted p611/20240611: 6 files");
    ck_assert(!kit_exists(src));
    ck_assert(kit_trash_empty());
    ck_assert_int_eq(kit_log_count("p611", "20240611", "deleted"), 1);
}
END_TEST

START_TEST(a_dry_run_leaves_the_trash_alone)
{
    session("p612 20240612 --imported --dj --copy");
    char log[450];
    pid_t pid = kit_spawn_delete(NULL, "p612", "20240612", "MCT_TEST_CRASH_AT=after-verify", log,
                                 sizeof(log));
    ck_assert_int_eq(kit_wait_exit(pid, 60000), 99);
    _cleanup_free_ char *before = kit_tree_digest(kit_trash_dir());
    ck_assert(*before);

    _cleanup_free_ char *one =
            kit_mctctl_out(1, NULL, NULL, "delete", "p999", "20240101", "--dry-run", NULL);
    kit_assert_has(one, "would finish deleting p612/20240612");
    _cleanup_free_ char *bulk =
            kit_mctctl_out(0, NULL, NULL, "bulk-delete", "--dry-run", "--start-date", "20240612",
                           "--end-date", "20240612", NULL);
    kit_assert_has(bulk, "would finish deleting p612/20240612");
    _cleanup_free_ char *after = kit_tree_digest(kit_trash_dir());
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(kit_log_count("p612", "20240612", NULL), 0);
}
END_TEST

START_TEST(status_shows_a_stuck_deletion)
{
    session("p613 20240613 --imported --dj --copy");
    session("p614 20240614 --imported --dj --copy");
    char log[450];
    pid_t pid = kit_spawn_delete(NULL, "p613", "20240613", "MCT_TEST_CRASH_AT=after-verify", log,
                                 sizeof(log));
    ck_assert_int_eq(kit_wait_exit(pid, 60000), 99);
    _cleanup_free_ char *st = kit_mctctl_out(0, NULL, NULL, "status", "p613", "20240613", NULL);
    kit_assert_has(st, "Safe to delete: NO");
    kit_assert_has(st, "an interrupted deletion is in the trash: ");
    kit_assert_has(st, "(journal: verified)");
    _cleanup_free_ char *range = kit_mctctl_out(0, NULL, NULL, "status-range", "--start-date",
                                                "20240613", "--end-date", "20240613", NULL);
    kit_assert_has(range, "p613");
    kit_assert_has(range, "0 safe to delete");
    kit_assert_has(range, "20240613 p613: an interrupted deletion is in the trash");

    /* Moved out, then copied back by hand: the folder looks whole and
     * backed up, but half of a deletion is still in the trash. */
    pid = kit_spawn_delete(NULL, "p614", "20240614", "MCT_TEST_CRASH_AT=after-move", log,
                           sizeof(log));
    ck_assert_int_eq(kit_wait_exit(pid, 60000), 99);
    char from[700], to[512];
    ck_assert(kit_trash_entry("p614", from, sizeof(from)));
    kit_source_path("p614", "20240614", to, sizeof(to));
    ck_assert_int_eq(kit_shell("cp -a '%s' '%s'", from, to), 0);
    _cleanup_free_ char *st2 = kit_mctctl_out(0, NULL, NULL, "status", "p614", "20240614", NULL);
    kit_assert_has(st2, "Safe to delete: NO");
    kit_assert_has(st2, "(journal: moved)");
}
END_TEST

/* The copy's destination is a bind mount of the source base: once the
 * session has moved into the trash its "copy" is gone with it. */
START_TEST(a_copy_that_is_the_source_vanishes_and_is_refused)
{
    session("p615 20240615 --imported --dj");
    char bind[450], copy[600], src[512];
    snprintf(bind, sizeof(bind), "%s/bindshare", lab.dir);
    ck_assert_int_eq(mkdir(bind, 0755), 0);
    ck_assert_int_eq(mount("tmpfs", bind, "tmpfs", 0, "size=16m"), 0);
    snprintf(copy, sizeof(copy), "%s/p615", bind);
    kit_source_path("p615", "20240615", src, sizeof(src));
    ck_assert_int_eq(mkdir(copy, 0755), 0);
    ck_assert_int_eq(kit_shell("cp -a '%s' '%s/'", src, copy), 0);
    char marked[700];
    snprintf(marked, sizeof(marked), "%s/20240615", copy);
    ck_assert_int_eq(kit_lab_sh(&lab, "marker p615 20240615 %s", marked), 0);
    _cleanup_free_ char *text = kit_slurp(lab.config, NULL);
    _cleanup_free_ char *cfgtext = NULL;
    {
        /* Both the mount point and the base: the bind folder; the copy laid
         * out as the source is. */
        char from[1000];
        snprintf(from, sizeof(from), "mount_point: \"%s\"\n      base_path: \"%s\"", lab.share,
                 lab.dest_base);
        char *at = strstr(text, from);
        ck_assert_ptr_nonnull(at);
        *at = '\0';
        const char *rest = at + strlen(from);
        rest = strstr(rest, "path_structure: ");
        ck_assert_ptr_nonnull(rest);
        rest = strchr(rest, '\n');
        cfgtext = mct_strdup_printf("%smount_point: \"%s\"\n      base_path: \"%s\"\n      "
                                    "path_structure: \"{participant_id}/{session_date}\"%s",
                                    text, bind, bind, rest);
    }
    char config[450];
    snprintf(config, sizeof(config), "%s/bindshare.yaml", lab.dir);
    kit_write_file(config, cfgtext);
    ck_assert_int_eq(chmod(config, 0600), 0);
    _cleanup_free_ char *st = kit_mctctl_out(0, config, NULL, "status", "p615", "20240615", NULL);
    kit_assert_has(st, "Safe to delete: YES");

    _cleanup_free_ char *before = kit_session_digest("p615", "20240615");
    char log[450];
    pid_t pid = kit_spawn_delete(config, "p615", "20240615", "MCT_TEST_STOP_AT=before-move", log,
                                 sizeof(log));
    kit_wait_stopped(pid, 30000);
    ck_assert_int_eq(mount(lab.data, bind, NULL, MS_BIND, NULL), 0);
    ck_assert_int_eq(kill(pid, SIGCONT), 0);
    int code = kit_wait_exit(pid, 60000);
    ck_assert_int_eq(umount2(bind, MNT_DETACH), 0);
    ck_assert_int_eq(umount2(bind, MNT_DETACH), 0);
    _cleanup_free_ char *out = kit_slurp(log, NULL);
    ck_assert_msg(code == 4, "exit %d\n%s", code, out); /* refused */
    kit_assert_has(out, "copy vanished when the source moved: the destination shows the source");
    _cleanup_free_ char *after = kit_session_digest("p615", "20240615");
    ck_assert_str_eq(before, after);
    ck_assert(kit_trash_empty());
    ck_assert_int_eq(kit_log_count("p615", "20240615", "deleted"), 0);
    ck_assert_int_eq(kit_log_count("p615", "20240615", "refused"), 1);
}
END_TEST

static Suite *trash_ground_suite(void)
{
    Suite *s = suite_create("trash-ground");
    TCase *tc = tcase_create("rig user");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_checked_fixture(tc, reset, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, forged_moved_journal_creates_nothing_outside);
    tcase_add_test(tc, forged_logged_journal_removes_nothing_outside);
    tcase_add_test(tc, forged_verified_journal_logs_nothing);
    tcase_add_test(tc, our_journals_path_and_record_are_ignored);
    tcase_add_test(tc, a_fifo_at_a_journals_name_never_blocks);
    tcase_add_test(tc, a_foreign_flock_blocks_nothing);
    tcase_add_test(tc, a_file_written_after_the_comparison_is_kept);
    tcase_add_test(tc, a_kill_mid_remove_keeps_what_was_written);
    tcase_add_test(tc, a_tree_700_deep_is_removed_completely);
    tcase_add_test(tc, a_dry_run_leaves_the_trash_alone);
    tcase_add_test(tc, status_shows_a_stuck_deletion);
    tcase_add_test(tc, a_copy_that_is_the_source_vanishes_and_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(trash_ground_suite());
}
