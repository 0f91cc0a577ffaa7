/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Faults of the databases, with real parts: MariaDB (DataJoint) stopped
 * and restarted while status-range runs and while the mount serves reads;
 * the rig's SQLite file held by a writer's exclusive lock; the SQLite file
 * corrupt, empty or gone. Anything the engine cannot know must read as
 * unknown, never as safe, within the configured timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kit.h"

#define N_SAFE  6
#define N_PLAIN 30

/* Six safe sessions and thirty that are on disk only, all in 2023-05. */
static void many_sessions(void)
{
    for (int i = 0; i < N_SAFE; i++)
        kit_session("p%d 202305%02d --imported --dj --copy", 300 + i, i + 1);
    for (int i = 0; i < N_PLAIN; i++) {
        char p[16], d[16];
        snprintf(p, sizeof(p), "s%d", 400 + i);
        snprintf(d, sizeof(d), "202305%02d", i % 28 + 1);
        kit_plain_session(p, d, 2, 1000);
    }
}

struct window {
    int64_t stop0, stop1;   /* db-stop began, returned */
    int64_t start0, start1; /* db-start began, returned */
};

struct sample {
    int64_t t0, t1;
    int status;
    char *out;
};

struct sampler {
    volatile bool stop;
    struct sample s[400];
    size_t n;
    /* status-range through mctctl, or one .safe_to_delete through a mount */
    const struct kit_mount *m;
};

static void *range_loop(void *arg)
{
    struct sampler *sp = arg;
    while (!sp->stop && sp->n < ARRAY_SIZE(sp->s)) {
        struct sample *s = &sp->s[sp->n];
        struct kit_result r;
        s->t0 = mct_now_ms();
        if (sp->m) {
            char path[700];
            kit_mpath(sp->m, path, sizeof(path), "p%d/202305%02d/.safe_to_delete",
                      300 + (int)(sp->n % N_SAFE), (int)(sp->n % N_SAFE) + 1);
            s->out = kit_slurp(path, NULL);
            s->status = s->out ? 0 : errno;
            if (!s->out)
                s->out = strdup("");
        } else {
            s->status = kit_mctctl(NULL, NULL, &r, "status-range", "--start-date", "20230501",
                                   "--end-date", "20230531", NULL);
            s->out = r.out;
            free(r.err);
        }
        s->t1 = mct_now_ms();
        sp->n++;
        kit_sleep_ms(50);
    }
    return NULL;
}

static void bounce_database(struct window *w)
{
    kit_sleep_ms(1500);
    w->stop0 = mct_now_ms();
    ck_assert_int_eq(kit_lab_sh(&lab, "db-stop"), 0);
    w->stop1 = mct_now_ms();
    kit_sleep_ms(5000);
    w->start0 = mct_now_ms();
    ck_assert_int_eq(kit_lab_sh(&lab, "db-start"), 0);
    w->start1 = mct_now_ms();
    kit_sleep_ms(2500);
}

/* Every row of a status-range table: Safe ✓ only with DJ, Backup and
 * Verified ✓. Returns the number of safe rows. */
static size_t check_rows(const char *out)
{
    size_t safe = 0;
    for (const char *l = out; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        char row[512];
        snprintf(row, sizeof(row), "%.*s", (int)len, l);
        if (strlen(row) > 30 && row[0] == '2') {
            const char *marks = row + 34; /* after date, id, videos */
            bool s = endswith(marks, "✓");
            if (s) {
                ck_assert_msg(startswith(marks, "✓   ✓       ✓         ✓"), "row \"%s\" is safe",
                              row);
                safe++;
            }
        }
        l = nl ? nl + 1 : NULL;
    }
    return safe;
}

START_TEST(status_range_is_unknown_while_the_database_is_stopped)
{
    struct sampler sp = {};
    struct window w;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, range_loop, &sp), 0);
    bounce_database(&w);
    sp.stop = true;
    pthread_join(t, NULL);

    size_t down = 0, up_after = 0;
    for (size_t i = 0; i < sp.n; i++) {
        struct sample *s = &sp.s[i];
        /* 3 while the database is down (mctctl(1), EXIT STATUS), else 0. */
        ck_assert_msg(s->status == 0 || s->status == 3, "status-range exit %d", s->status);
        /* database_seconds is 2: unknown must not take much longer. */
        ck_assert_msg(s->t1 - s->t0 < 8000, "status-range took %lld ms",
                      (long long)(s->t1 - s->t0));
        size_t safe = check_rows(s->out);
        if (s->t0 > w.stop1 && s->t1 < w.start0) {
            down++;
            ck_assert_msg(safe == 0, "safe while the database was down:\n%s", s->out);
            kit_assert_has(s->out, "36 sessions, 0 safe to delete");
            kit_assert_has(s->out, "20230501    p300               4  ?   ✓       ✓         ✗");
        } else if (s->t0 > w.start1) {
            up_after++;
            ck_assert_msg(safe == N_SAFE, "%zu safe after the restart:\n%s", safe, s->out);
        } else if (s->t1 < w.stop0) {
            ck_assert_uint_eq(safe, N_SAFE);
        }
        free(s->out);
    }
    printf("status-range: %zu runs, %zu with the database down, %zu after it came back\n", sp.n,
           down, up_after);
    ck_assert_uint_ge(down, 1);
    ck_assert_uint_ge(up_after, 1);
}
END_TEST

START_TEST(the_mount_is_never_safe_while_the_database_is_stopped)
{
    /* cache_seconds 0: every read of .safe_to_delete asks again. */
    const char *cfg = kit_config_variant("nocache", NULL, NULL, "mount:\n  cache_seconds: 0\n");
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    struct sampler sp = {.m = &m};
    struct window w;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, range_loop, &sp), 0);
    bounce_database(&w);
    sp.stop = true;
    pthread_join(t, NULL);

    size_t down = 0, up_after = 0;
    for (size_t i = 0; i < sp.n; i++) {
        struct sample *s = &sp.s[i];
        ck_assert_msg(s->status == 0, "read: %s", strerror(s->status));
        ck_assert_msg(s->t1 - s->t0 < 8000, "read took %lld ms", (long long)(s->t1 - s->t0));
        ck_assert_msg(streq(s->out, "yes\n") || startswith(s->out, "no: "), "%s", s->out);
        if (s->t0 > w.stop1 && s->t1 < w.start0) {
            down++;
            kit_assert_starts(s->out, "no: ");
            kit_assert_has(s->out, "DataJoint state unknown");
        } else if (s->t0 > w.start1) {
            up_after++;
            ck_assert_str_eq(s->out, "yes\n");
        }
        free(s->out);
    }
    printf("mount: %zu reads, %zu with the database down, %zu after\n", sp.n, down, up_after);
    ck_assert_uint_ge(down, 1);
    ck_assert_uint_ge(up_after, 1);
    kit_unmount(&m);
}
END_TEST

/* sqlite3 reading commands from a pipe we hold: BEGIN EXCLUSIVE, then a
 * SELECT whose answer says the lock is taken. */
static pid_t hold_exclusive(int *cmd_fd)
{
    int in[2], out[2];
    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    char db[400];
    snprintf(db, sizeof(db), "%s/recordings.db", lab.data);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execlp("sqlite3", "sqlite3", db, NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    static const char cmds[] = "BEGIN EXCLUSIVE;\nINSERT INTO participants (name) VALUES "
                               "('writer');\nSELECT 'locked';\n";
    ck_assert_int_eq(write(in[1], cmds, strlen(cmds)), (ssize_t)strlen(cmds));
    char buf[64] = "";
    ssize_t n = read(out[0], buf, sizeof(buf) - 1);
    ck_assert_msg(n > 0 && startswith(buf, "locked"), "sqlite3 said \"%s\"", n > 0 ? buf : "");
    close(out[0]);
    *cmd_fd = in[1];
    return pid;
}

static char *timed_status(const char *p, const char *d, int64_t *took)
{
    struct kit_result r;
    int64_t t0 = mct_now_ms();
    int st = kit_mctctl(NULL, NULL, &r, "--no-color", "status", p, d, NULL);
    *took = mct_now_ms() - t0;
    /* Exit 3 exactly when something could not be checked. */
    bool unknown = strstr(r.out, "? UNKNOWN") != NULL;
    ck_assert_msg(st == (unknown ? 3 : 0), "status: exit %d\n%s", st, r.err);
    free(r.err);
    return r.out;
}

START_TEST(a_sqlite_locked_by_a_writer_is_unknown)
{
    kit_session("p310 20230610 --imported --dj --copy");
    _cleanup_free_ char *before = kit_session_digest("p310", "20230610");
    int cmd_fd;
    pid_t writer = hold_exclusive(&cmd_fd);

    int64_t took;
    _cleanup_free_ char *out = timed_status("p310", "20230610", &took);
    printf("status with recordings.db locked: %lld ms\n", (long long)took);
    ck_assert_msg(took < 2000 + 4000, "status took %lld ms", (long long)took);
    kit_assert_has(out, "DataJoint:     ? UNKNOWN");
    kit_assert_has(out, "database is locked");
    kit_assert_has(out, "Safe to delete: NO");

    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    _cleanup_free_ char *safe = kit_vfile(&m, "p310", "20230610", ".safe_to_delete");
    kit_assert_starts(safe, "no: ");
    int err;
    ck_assert_int_eq(kit_control_write(&m, "p310", "20230610", "DELETE\n", 7, &err), -1);
    ck_assert_int_eq(err, EPERM);
    kit_unmount(&m);
    struct kit_result r;
    /* Only what could not be checked stood in the way: exit 3. */
    ck_assert_int_eq(kit_mctctl(NULL, "DELETE\n", &r, "delete", "p310", "20230610", NULL), 3);
    kit_assert_has(r.err, "Nothing was deleted");
    kit_result_free(&r);
    _cleanup_free_ char *after = kit_session_digest("p310", "20230610");
    ck_assert_str_eq(before, after);

    /* The writer rolls back and goes: the same session is safe again. */
    close(cmd_fd);
    ck_assert_int_eq(kit_wait_exit(writer, 10000), 0);
    _cleanup_free_ char *out2 = timed_status("p310", "20230610", &took);
    kit_assert_has(out2, "Safe to delete: YES");
}
END_TEST

START_TEST(a_sqlite_corrupt_empty_or_gone_is_unknown)
{
    kit_session("p320 20230620 --imported --dj --copy");
    char db[400], saved[420];
    snprintf(db, sizeof(db), "%s/recordings.db", lab.data);
    snprintf(saved, sizeof(saved), "%s/recordings.db.saved", lab.dir);
    ck_assert_int_eq(kit_shell("cp -a '%s' '%s'", db, saved), 0);
    setenv("DB", db, 1);

    static const struct {
        const char *what, *shell, *reason;
    } cases[] = {
            {"header overwritten",
             "printf 'this is not sqlite, no!' | dd of=\"$DB\" conv=notrunc status=none",
             "file is not a database"},
            {"empty file", ": > \"$DB\"", "no such table"},
            {"gone", "rm -f \"$DB\"", "unable to open"},
            {"a folder", "rm -f \"$DB\" && mkdir \"$DB\"", "recording database"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        ck_assert_int_eq(kit_shell("rm -rf '%s' && cp -a '%s' '%s'", db, saved, db), 0);
        ck_assert_int_eq(kit_shell("%s", cases[i].shell), 0);

        int64_t took;
        _cleanup_free_ char *out = timed_status("p320", "20230620", &took);
        ck_assert_msg(strstr(out, "DataJoint:     ? UNKNOWN") && strstr(out, cases[i].reason),
                      "%s: %s", cases[i].what, out);
        kit_assert_has(out, "Safe to delete: NO");
        struct kit_result r;
        int st = kit_mctctl(NULL, NULL, &r, "status-range", "--start-date", "20230620", NULL);
        ck_assert_msg(st == 3, "%s: status-range exit %d (crash?)\n%s", cases[i].what, st, r.err);
        kit_assert_lacks(r.out, "1 safe to delete");
        kit_result_free(&r);
        st = kit_mctctl(NULL, "DELETE\n", &r, "delete", "p320", "20230620", NULL);
        ck_assert_msg(st == 3, "%s: delete exit %d", cases[i].what, st);
        kit_result_free(&r);
        ck_assert(kit_exists(db) || i == 2);
    }
    ck_assert_int_eq(kit_shell("rm -rf '%s' && cp -a '%s' '%s'", db, saved, db), 0);
    int64_t took;
    _cleanup_free_ char *out = timed_status("p320", "20230620", &took);
    kit_assert_has(out, "Safe to delete: YES");
    ck_assert_int_eq(kit_log_count("p320", "20230620", "deleted"), 0);
}
END_TEST

static void setup_all(void)
{
    kit_setup();
    many_sessions();
}

static Suite *db_suite(void)
{
    Suite *s = suite_create("faults-db");
    TCase *tc = tcase_create("databases");
    /* The sessions are made once: the tests only read them. */
    tcase_add_unchecked_fixture(tc, setup_all, kit_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, status_range_is_unknown_while_the_database_is_stopped);
    tcase_add_test(tc, the_mount_is_never_safe_while_the_database_is_stopped);
    tcase_add_test(tc, a_sqlite_locked_by_a_writer_is_unknown);
    tcase_add_test(tc, a_sqlite_corrupt_empty_or_gone_is_unknown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(db_suite());
}
