/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ground others control, and root: a config planted in the folder mctctl
 * is started from, configs and password files other users may write,
 * rsync flags that write files of the config writer's choosing, a
 * recordings.db made to never answer (a recursive view, a FIFO), and
 * mctfs/mctctl started as root, with and without service.user. The rig
 * user is played by a real unprivileged user made for the test.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "kit.h"

#define USER "mctpriv1"

static uid_t user_uid;
static gid_t user_gid;
/* /dev/fuse's mode before the test: 0666 on a usual system (udev), but a
 * container may make it root's alone, and a user's mount needs it. */
static mode_t fuse_dev_mode;

static void setup_all(void)
{
    kit_setup();
    kit_user_add(USER, &user_uid, &user_gid);
    /* The lab is root's and 0700: the service user must reach the data
     * (world-readable), the database socket and the share (its own). */
    ck_assert_int_eq(chmod(lab.dir, 0755), 0);
    ck_assert_int_eq(kit_shell("chown -R %s: '%s'", USER, lab.dest_base), 0);
    struct stat st;
    ck_assert_int_eq(stat("/dev/fuse", &st), 0);
    fuse_dev_mode = st.st_mode & 07777;
    if ((fuse_dev_mode & 0006) != 0006)
        ck_assert_int_eq(chmod("/dev/fuse", 0666), 0);
    kit_session("p201 20240101 --imported --dj");
    kit_session("p202 20240101 --imported --dj --copy");
}

static void teardown_all(void)
{
    if (fuse_dev_mode)
        chmod("/dev/fuse", fuse_dev_mode);
    kit_teardown();
    kit_user_del(USER);
}

/* The lab's config with the rsync flags replaced. */
static const char *with_flags(const char *name, const char *flags)
{
    char to[1024];
    snprintf(to, sizeof(to), "    flags: \"%s\"\n", flags);
    return kit_config_variant(name, "    flags: \"-avh\"\n", to, NULL);
}

/* The line of the lab's config that holds the rsync flags. */
static size_t flags_line(void)
{
    _cleanup_free_ char *text = kit_slurp(lab.config, NULL);
    ck_assert_ptr_nonnull(text);
    char *at = strstr(text, "\n    flags:");
    ck_assert_ptr_nonnull(at);
    size_t line = 2;
    for (char *p = text; p < at; p++)
        line += *p == '\n';
    return line;
}

static void run_in(const char *dir, char *const argv[], struct kit_result *r)
{
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
    ck_assert_int_eq(chdir(dir), 0);
    kit_run(argv, NULL, r);
    ck_assert_int_eq(chdir(cwd), 0);
}

/* Finding 1: a config planted by another user in the folder root starts
 * mctctl from is never loaded. Its flags would make rsync write a marker
 * file (the exploit wrote an executable); the marker never appears. */
START_TEST(planted_local_config_is_never_loaded)
{
    char src[400], planted[480], marker[400];
    kit_source_path("p201", "20240101", src, sizeof(src));
    snprintf(marker, sizeof(marker), "%s/planted-marker", lab.dir);
    snprintf(planted, sizeof(planted), "%s/backup_config.yaml", src);
    _cleanup_free_ char *text = kit_slurp(with_flags("planted", "-avh"), NULL);
    /* Even a planted config whose flags would pass must not be read. */
    kit_write_file(planted, text);
    ck_assert_int_eq(chown(planted, user_uid, user_gid), 0);
    ck_assert_int_eq(chown(src, user_uid, user_gid), 0);

    unsetenv("MCTFS_CONFIG");
    char *argv[] = {(char *)getenv("MCTCTL"), "sync", "p201", "20240101", NULL};
    struct kit_result r = {};
    run_in(src, argv, &r);
    kit_assert_has(r.err, "ignoring ./backup_config.yaml: owned by uid");
    kit_assert_has(r.err, "(" USER "), not by you");
    /* Nothing to fall back on here but /etc: a usage error, no sync. */
    if (access(MCT_DEFAULT_CONFIG, F_OK) != 0) {
        ck_assert_int_eq(r.status, 2);
        kit_assert_has(r.err, "no config file found");
    }
    kit_result_free(&r);
    char dst[400];
    kit_dest_path("p201", "20240101", dst, sizeof(dst));
    ck_assert_msg(!kit_exists(dst), "the planted config synced %s", dst);

    /* And one that would write the marker: never read either. */
    char flags[480];
    snprintf(flags, sizeof(flags), "-avh --log-file=%s --log-file-format=%%n", marker);
    _cleanup_free_ char *evil = kit_slurp(with_flags("evil", flags), NULL);
    kit_write_file(planted, evil);
    ck_assert_int_eq(chown(planted, user_uid, user_gid), 0);
    run_in(src, argv, &r);
    kit_assert_has(r.err, "ignoring ./backup_config.yaml");
    kit_assert_lacks(r.err, "backup.rsync.flags");
    kit_result_free(&r);

    /* With -c, the named config is used and the planted one ignored. */
    char *argv_c[] = {(char *)getenv("MCTCTL"), "-c", lab.config, "sync", "p201", "20240101", NULL};
    run_in(src, argv_c, &r);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    kit_result_free(&r);
    ck_assert_msg(!kit_exists(marker), "rsync wrote %s: the planted config was used", marker);
    unlink(planted);
}
END_TEST

/* A -c config another user owns, or anyone may write: exit 2, naming it. */
START_TEST(config_of_another_user_is_refused)
{
    const char *cfg = kit_config_variant("foreign", NULL, NULL, NULL);
    ck_assert_int_eq(chown(cfg, user_uid, user_gid), 0);
    struct kit_result r = {};
    ck_assert_int_eq(kit_mctctl(cfg, NULL, &r, "status", "p202", "20240101", NULL), 2);
    char want[600];
    snprintf(want, sizeof(want), "mctctl: config %s is owned by uid %u (" USER ")", cfg,
             (unsigned)user_uid);
    kit_assert_starts(r.err, want);
    kit_assert_has(r.err, "run 'chown root ");
    kit_result_free(&r);

    ck_assert_int_eq(chown(cfg, 0, 0), 0);
    ck_assert_int_eq(chmod(cfg, 0666), 0);
    ck_assert_int_eq(kit_mctctl(cfg, NULL, &r, "status", "p202", "20240101", NULL), 2);
    kit_assert_has(r.err, cfg);
    kit_assert_has(r.err, "writable by every user (mode 0666)");
    kit_assert_has(r.err, "chmod go-w");
    kit_result_free(&r);

    ck_assert_int_eq(chmod(cfg, 0620), 0);
    ck_assert_int_eq(kit_mctctl(cfg, NULL, &r, "status", "p202", "20240101", NULL), 2);
    kit_assert_has(r.err, "writable by its group");
    kit_result_free(&r);
}
END_TEST

/* The lab's config with the password in LAB/NAME (mode mode) instead;
 * the file's path in pf. */
static const char *password_file_config(const char *name, mode_t mode, char *pf, size_t len)
{
    char to[480];
    snprintf(pf, len, "%s/%s", lab.dir, name);
    kit_write_file(pf, "djpass\n");
    ck_assert_int_eq(chmod(pf, mode), 0);
    snprintf(to, sizeof(to), "  password_file: \"%s\"\n", pf);
    return kit_config_variant(name, "  password: \"djpass\"\n", to, NULL);
}

START_TEST(password_file_others_may_write_is_refused)
{
    char pf[400];
    const char *cfg = password_file_config("dj-password", 0666, pf, sizeof(pf));
    struct kit_result r = {};
    ck_assert_int_eq(kit_mctctl(cfg, NULL, &r, "status", "p202", "20240101", NULL), 2);
    kit_assert_has(r.err, "datajoint.password_file: password file ");
    kit_assert_has(r.err, pf);
    kit_assert_has(r.err, "chmod go-w");
    kit_result_free(&r);

    ck_assert_int_eq(chown(pf, user_uid, user_gid), 0);
    ck_assert_int_eq(chmod(pf, 0600), 0);
    ck_assert_int_eq(kit_mctctl(cfg, NULL, &r, "status", "p202", "20240101", NULL), 2);
    kit_assert_has(r.err, "owned by uid");
    kit_result_free(&r);

    /* Root's, 0600: used. */
    ck_assert_int_eq(chown(pf, 0, 0), 0);
    ck_assert_int_eq(kit_mctctl(cfg, NULL, &r, "status", "p202", "20240101", NULL), 0);
    kit_assert_lacks(r.out, "DataJoint state unknown");
    kit_result_free(&r);
}
END_TEST

/* Flags that let a config write files (the exploit's --log-file), replay
 * or change owners, or run a program: refused at load, naming the line. */
START_TEST(rsync_flags_outside_the_allowlist_are_refused)
{
    char marker[400];
    snprintf(marker, sizeof(marker), "%s/flags-marker", lab.dir);
    const char *words[] = {"--log-file=", "--write-batch=", "--chown=root:root", "-e"};
    for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
        char word[480], flags[600], name[32], want[1024];
        snprintf(word, sizeof(word), "%s%s", words[i],
                 words[i][strlen(words[i]) - 1] == '=' ? marker : "");
        snprintf(flags, sizeof(flags), "-avh %s", word);
        snprintf(name, sizeof(name), "flags%zu", i);
        const char *cfg = with_flags(name, flags);
        struct kit_result r = {};
        ck_assert_int_eq(kit_mctctl(cfg, NULL, &r, "sync", "p201", "20240101", NULL), 2);
        snprintf(want, sizeof(want),
                 "mctctl: %s:%zu: backup.rsync.flags: '%s' is not allowed (allowed: ", cfg,
                 flags_line(), word);
        kit_assert_starts(r.err, want);
        kit_result_free(&r);
        ck_assert_msg(!kit_exists(marker), "%s was written", marker);
    }
}
END_TEST

static int64_t timed_status(const char *p, const char *d, struct kit_result *r)
{
    int64_t t0 = mct_now_ms();
    kit_mctctl(NULL, NULL, r, "status", p, d, NULL);
    return mct_now_ms() - t0;
}

/* Finding 2: a recursive view in place of a table ran root's status for
 * ever. database_seconds is 2 in the lab: unknown within 3 s, saying why. */
START_TEST(recursive_view_answers_unknown_in_time)
{
    char db[400];
    snprintf(db, sizeof(db), "%s/recordings.db", lab.data);
    ck_assert_int_eq(kit_shell("cp '%s' '%s.orig'", db, db), 0);
    ck_assert_int_eq(
            kit_shell("sqlite3 '%s' \"DROP TABLE sessions; CREATE VIEW sessions AS WITH RECURSIVE "
                      "c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x AS id, "
                      "'2024-01-01' AS session_date, '' AS session_path, x AS participant_id "
                      "FROM c;\"",
                      db),
            0);
    struct kit_result r = {};
    int64_t ms = timed_status("p202", "20240101", &r);
    printf("status with a recursive view: %lld ms, exit %d\n", (long long)ms, r.status);
    ck_assert_msg(ms < 3000, "status took %lld ms", (long long)ms);
    kit_assert_has(r.out, "recordings.db: 'sessions' is a view, not a table");
    kit_assert_has(r.out, "Safe to delete: NO");
    kit_result_free(&r);
    ck_assert_int_eq(kit_shell("mv '%s.orig' '%s'", db, db), 0);
}
END_TEST

/* A plain table can be made as slow: a generated session_date that costs
 * ~70 ms a row (measured: 200 rows, 14.7 s in the sqlite3 shell). The
 * progress handler ends the query at database_seconds. */
static void make_endless_recdb(const char *db)
{
    ck_assert_int_eq(kit_shell("cp '%s' '%s.orig'", db, db), 0);
    ck_assert_int_eq(
            kit_shell(
                    "sqlite3 '%s' \"DROP TABLE imported; DROP TABLE sessions; "
                    "CREATE TABLE sessions (id INTEGER NOT NULL PRIMARY KEY, session_path VARCHAR, "
                    "participant_id INTEGER); "
                    "CREATE TABLE imported (id INTEGER NOT NULL PRIMARY KEY, session_id INTEGER); "
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 400) "
                    "INSERT INTO sessions (id, participant_id) SELECT x, "
                    "(SELECT id FROM participants WHERE name = 'p202') FROM c; "
                    "INSERT INTO imported (session_id) SELECT id FROM sessions; "
                    /* Added last: an insert would compute it too. */
                    "ALTER TABLE sessions ADD COLUMN session_date AS "
                    "(substr(hex(zeroblob(20000000 + id)), 1, 0) || '2024-01-01');\"",
                    db),
            0);
}

START_TEST(endless_query_stops_at_database_seconds)
{
    char db[400];
    snprintf(db, sizeof(db), "%s/recordings.db", lab.data);
    make_endless_recdb(db);
    struct kit_result r = {};
    int64_t ms = timed_status("p202", "20240101", &r);
    printf("status with an endless query: %lld ms, exit %d\n", (long long)ms, r.status);
    ck_assert_msg(ms < 3000, "status took %lld ms", (long long)ms);
    kit_assert_has(r.out, "recordings.db: no answer within 2s (timeouts.database_seconds)");
    kit_assert_has(r.out, "Safe to delete: NO");
    kit_result_free(&r);

    /* The mount's workers stop as well: a status within the deadline, and
     * SIGTERM ends the process (it used to unmount and spin on). */
    const char *cfg = kit_config_variant("nocache", NULL, NULL, "mount:\n  cache_seconds: 0\n");
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    int64_t t0 = mct_now_ms();
    _cleanup_free_ char *safe = kit_vfile(&m, "p202", "20240101", ".safe_to_delete");
    ms = mct_now_ms() - t0;
    printf("mount: .safe_to_delete with an endless query: %lld ms\n", (long long)ms);
    kit_assert_starts(safe, "no: ");
    kill(m.pid, SIGTERM);
    t0 = mct_now_ms();
    int status = kit_wait_exit(m.pid, 10000);
    printf("mount: exit %d %lld ms after SIGTERM\n", status, (long long)(mct_now_ms() - t0));
    ck_assert_int_eq(status, 0);
    m.pid = -1;
    if (kit_is_mounted(m.dir))
        kit_unmount_dead(&m);
    ck_assert_int_eq(kit_shell("mv '%s.orig' '%s'", db, db), 0);
}
END_TEST

START_TEST(fifo_recordings_db_answers_unknown_at_once)
{
    char db[400];
    snprintf(db, sizeof(db), "%s/recordings.db", lab.data);
    ck_assert_int_eq(kit_shell("mv '%s' '%s.orig' && mkfifo '%s'", db, db, db), 0);
    struct kit_result r = {};
    int64_t ms = timed_status("p202", "20240101", &r);
    printf("status with a FIFO for recordings.db: %lld ms, exit %d\n", (long long)ms, r.status);
    ck_assert_msg(ms < 1000, "status took %lld ms", (long long)ms);
    kit_assert_has(r.out, "recordings.db: a FIFO, not a regular file");
    kit_assert_has(r.out, "Safe to delete: NO");
    kit_result_free(&r);
    ck_assert_int_eq(kit_shell("rm -f '%s' && mv '%s.orig' '%s'", db, db, db), 0);
}
END_TEST

/* Finding 3: root without service.user is refused by both programs, with
 * what to set; --allow-root and MCTFS_ALLOW_ROOT=1 are the way out. */
START_TEST(root_without_service_user_is_refused)
{
    unsetenv("MCTFS_ALLOW_ROOT");
    struct kit_result r = {};
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "status", "p202", "20240101", NULL), 2);
    kit_assert_starts(r.err, "mctctl: refusing to run as root: mctctl reads folders");
    kit_assert_has(r.err, "Set service.user in ");
    kit_assert_has(r.err, "--allow-root");
    kit_result_free(&r);
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "--allow-root", "status", "p202", "20240101", NULL),
                     0);
    kit_result_free(&r);
    setenv("MCTFS_ALLOW_ROOT", "1", 1);
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "status", "p202", "20240101", NULL), 0);
    kit_result_free(&r);
    unsetenv("MCTFS_ALLOW_ROOT");

    char dir[400], log[420];
    snprintf(dir, sizeof(dir), "%s/mnt-root", lab.dir);
    snprintf(log, sizeof(log), "%s.log", dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    char *argv[] = {(char *)getenv("MCTFS"), "-c", lab.config, dir, "-f", NULL};
    pid_t pid = kit_spawn(argv, NULL, log, NULL);
    int status = kit_wait_exit(pid, 10000);
    _cleanup_free_ char *out = kit_slurp(log, NULL);
    ck_assert_msg(status == 2, "mctfs exited %d:\n%s", status, out ? out : "");
    kit_assert_has(out, "refusing to run as root: mctfs reads folders");
    ck_assert(!kit_is_mounted(dir));
}
END_TEST

/* The lab's config as the service user's: its locks in a folder of its
 * own (the lab's is root's, which the service user must refuse). */
static const char *service_config(void)
{
    _cleanup_free_ char *dir = mct_strdup_printf("%s/locks-" USER, lab.dir);
    if (mkdir(dir, 0700) == 0)
        ck_assert_int_eq(chown(dir, user_uid, user_gid), 0);
    _cleanup_free_ char *from = mct_strdup_printf("  lock_dir: \"%s/locks\"", lab.dir);
    _cleanup_free_ char *to =
            mct_strdup_printf("  user: " USER "\n  lock_dir: \"%s/locks-" USER "\"", lab.dir);
    return kit_config_variant("service", from, to, NULL);
}

/* mctctl started by root with service.user: the copy rsync makes on the
 * share is the service user's (as root, rsync -a would keep root's). */
START_TEST(mctctl_as_root_runs_as_the_service_user)
{
    unsetenv("MCTFS_ALLOW_ROOT");
    struct kit_result r = {};
    int rc = kit_mctctl(service_config(), NULL, &r, "sync", "p201", "20240101", NULL);
    ck_assert_msg(rc == 0, "sync: exit %d\n%s%s", rc, r.out, r.err);
    kit_result_free(&r);
    char dst[400];
    kit_dest_path("p201", "20240101", dst, sizeof(dst));
    struct stat st;
    ck_assert_int_eq(stat(dst, &st), 0);
    ck_assert_uint_eq(st.st_uid, user_uid);
    _cleanup_free_ char *digest = kit_tree_digest(dst);
    ck_assert_msg(strlen(digest) > 0, "nothing copied to %s", dst);

    /* And every check works as that user. */
    ck_assert_int_eq(kit_mctctl(service_config(), NULL, &r, "status", "p202", "20240101", NULL), 0);
    kit_assert_has(r.out, "Safe to delete: YES");
    kit_result_free(&r);
}
END_TEST

/* A user who may not read the service's password file brings DJ_PASS. */
START_TEST(unreadable_password_file_gives_way_to_dj_pass)
{
    char pf[400];
    const char *cfg = password_file_config("dj-password-root", 0600, pf, sizeof(pf));
    char *argv[] = {
            "setpriv", "--reuid=" USER, "--regid=" USER, "--init-groups", (char *)getenv("MCTCTL"),
            "-c",      (char *)cfg,     "status",        "p202",          "20240101",
            NULL};
    struct kit_result r = {};
    unsetenv("DJ_PASS");
    ck_assert_int_eq(kit_run(argv, NULL, &r), 2);
    kit_assert_has(r.err, "datajoint.password_file: cannot read");
    kit_assert_has(r.err, "Permission denied");
    kit_result_free(&r);
    setenv("DJ_PASS", "djpass", 1);
    ck_assert_int_eq(kit_run(argv, NULL, &r), 0);
    kit_assert_has(r.out, "Safe to delete: YES");
    kit_result_free(&r);
    unsetenv("DJ_PASS");
}
END_TEST

/* The uid line of /proc/PID/status: "Uid: real effective saved fs". */
static void assert_runs_as(pid_t pid, uid_t uid)
{
    char path[64], want[128];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    _cleanup_free_ char *text = kit_slurp(path, NULL);
    ck_assert_ptr_nonnull(text);
    snprintf(want, sizeof(want), "\nUid:\t%u\t%u\t%u\t%u\n", (unsigned)uid, (unsigned)uid,
             (unsigned)uid, (unsigned)uid);
    kit_assert_has(text, want);
    kit_assert_lacks(text, "\nGroups:\t0 ");
}

/* mctfs started by root with service.user mounts through fusermount3 as
 * that user (no allow_other: /etc/fuse.conf is left alone) and serves. */
START_TEST(mctfs_as_root_mounts_as_the_service_user)
{
    unsetenv("MCTFS_ALLOW_ROOT");
    struct kit_mount m = {};
    snprintf(m.dir, sizeof(m.dir), "%s/mnt-service", lab.dir);
    snprintf(m.log, sizeof(m.log), "%s.log", m.dir);
    ck_assert_int_eq(mkdir(m.dir, 0755), 0);
    ck_assert_int_eq(chown(m.dir, user_uid, user_gid), 0);
    char *argv[] = {(char *)getenv("MCTFS"), "-c", (char *)service_config(), m.dir, "-f", NULL};
    m.pid = kit_spawn(argv, NULL, m.log, NULL);
    int64_t end = mct_now_ms() + 15000;
    while (!kit_is_mounted(m.dir)) {
        int status = kit_wait_exit(m.pid, 0);
        _cleanup_free_ char *out = status >= 0 ? kit_slurp(m.log, NULL) : NULL;
        ck_assert_msg(status < 0, "mctfs exited %d:\n%s", status, out ? out : "");
        ck_assert_msg(mct_now_ms() < end, "not mounted within 15 s");
        kit_sleep_ms(20);
    }
    assert_runs_as(m.pid, user_uid);

    /* The kernel says whose mount it is. */
    _cleanup_free_ char *mi = kit_slurp("/proc/self/mountinfo", NULL);
    char want[128];
    snprintf(want, sizeof(want), "user_id=%u,", (unsigned)user_uid);
    char *line = strstr(mi, m.dir);
    ck_assert_ptr_nonnull(line);
    *strchrnul(line, '\n') = '\0';
    kit_assert_has(line, want);

    /* Served: the service user reads a status file through it. */
    char path[600];
    kit_mpath(&m, path, sizeof(path), "p202/20240101/.safe_to_delete");
    char *cat[] = {"setpriv", "--reuid=" USER, "--regid=" USER, "--init-groups", "cat", path, NULL};
    struct kit_result r = {};
    ck_assert_int_eq(kit_run(cat, NULL, &r), 0);
    /* Every check ran as the service user: the recording database (through
     * /proc/self/fd), DataJoint, the share. */
    ck_assert_str_eq(r.out, "yes\n");
    kit_result_free(&r);
    kit_unmount(&m);
}
END_TEST

/* allow_other as a user needs user_allow_other: a clear error first. */
START_TEST(allow_other_without_user_allow_other_is_refused)
{
    _cleanup_free_ char *conf = kit_slurp("/etc/fuse.conf", NULL);
    if (conf && strstr(conf, "\nuser_allow_other")) {
        printf("/etc/fuse.conf has user_allow_other: nothing to check\n");
        return;
    }
    char dir[400], log[420];
    snprintf(dir, sizeof(dir), "%s/mnt-other", lab.dir);
    snprintf(log, sizeof(log), "%s.log", dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(chown(dir, user_uid, user_gid), 0);
    char *argv[] = {(char *)getenv("MCTFS"), "-c", (char *)service_config(), dir, "-f", "-o",
                    "allow_other",           NULL};
    pid_t pid = kit_spawn(argv, NULL, log, NULL);
    int status = kit_wait_exit(pid, 10000);
    _cleanup_free_ char *out = kit_slurp(log, NULL);
    ck_assert_msg(status == 2, "mctfs exited %d:\n%s", status, out ? out : "");
    kit_assert_has(out, "'user_allow_other' (add it");
    ck_assert(!kit_is_mounted(dir));
}
END_TEST

/* The rig user swaps its session folder with a symlink to a root-only
 * folder, over and over (renameat2 RENAME_EXCHANGE), while root's syncs
 * run: whatever a sync's checks saw, rsync reads the folder that was
 * opened, so nothing of the root-only folder may ever reach the share. */
START_TEST(a_folder_swapped_during_sync_copies_nothing_else)
{
    kit_session("p301 20240301 --imported --dj");
    char src[512], parent[512], decoy[600], secret[512];
    kit_source_path("p301", "20240301", src, sizeof(src));
    snprintf(parent, sizeof(parent), "%s/p301", lab.data);
    snprintf(decoy, sizeof(decoy), "%s/20240301.decoy", parent);
    snprintf(secret, sizeof(secret), "%s/root-only", lab.dir);
    ck_assert_int_eq(mkdir(secret, 0700), 0);
    _cleanup_free_ char *secret_file = mct_strdup_printf("%s/secret-of-root.txt", secret);
    kit_write_file(secret_file, "root's secret\n");
    ck_assert_int_eq(symlink(secret, decoy), 0);
    ck_assert_int_eq(lchown(decoy, user_uid, user_gid), 0);
    ck_assert_int_eq(kit_shell("chown -R %s: '%s'", USER, parent), 0);

    pid_t swapper = fork();
    ck_assert_int_ge(swapper, 0);
    if (swapper == 0) {
        if (kit_become(user_uid, user_gid) < 0)
            _exit(3);
        for (;;)
            (void)renameat2(AT_FDCWD, src, AT_FDCWD, decoy, RENAME_EXCHANGE);
    }
    char dst[512];
    kit_dest_path("p301", "20240301", dst, sizeof(dst));
    _cleanup_free_ char *leaked = mct_strdup_printf("%s/secret-of-root.txt", dst);
    size_t ok = 0, refused = 0;
    for (int i = 0; i < 40; i++) {
        struct kit_result r = {};
        int st = kit_mctctl(NULL, NULL, &r, "sync", "p301", "20240301", NULL);
        kit_result_free(&r);
        if (st == 0)
            ok++;
        else
            refused++;
        ck_assert_msg(!kit_exists(leaked), "run %d copied root's file to %s", i, leaked);
    }
    kill(swapper, SIGKILL);
    ck_assert_int_eq(kit_wait_exit(swapper, 5000), 128 + SIGKILL);
    printf("swap race: %zu syncs copied the session, %zu refused, none copied root's folder\n", ok,
           refused);
    /* Put the session back where it belongs for the next test. */
    struct stat st;
    if (lstat(src, &st) == 0 && S_ISLNK(st.st_mode))
        ck_assert_int_eq(renameat2(AT_FDCWD, src, AT_FDCWD, decoy, RENAME_EXCHANGE), 0);
}
END_TEST

static Suite *privilege_suite(void)
{
    Suite *s = suite_create("privilege");
    TCase *tc = tcase_create("privilege");
    tcase_add_unchecked_fixture(tc, setup_all, teardown_all);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, planted_local_config_is_never_loaded);
    tcase_add_test(tc, config_of_another_user_is_refused);
    tcase_add_test(tc, password_file_others_may_write_is_refused);
    tcase_add_test(tc, rsync_flags_outside_the_allowlist_are_refused);
    tcase_add_test(tc, recursive_view_answers_unknown_in_time);
    tcase_add_test(tc, endless_query_stops_at_database_seconds);
    tcase_add_test(tc, fifo_recordings_db_answers_unknown_at_once);
    tcase_add_test(tc, root_without_service_user_is_refused);
    tcase_add_test(tc, mctctl_as_root_runs_as_the_service_user);
    tcase_add_test(tc, unreadable_password_file_gives_way_to_dj_pass);
    tcase_add_test(tc, mctfs_as_root_mounts_as_the_service_user);
    tcase_add_test(tc, allow_other_without_user_allow_other_is_refused);
    tcase_add_test(tc, a_folder_swapped_during_sync_copies_nothing_else);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(privilege_suite());
}
