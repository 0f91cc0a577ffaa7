/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The six "fully imported" checks against a real MariaDB and a real SQLite
 * file (the lab). One lab per run; every test uses its own participant and
 * date so the tests cannot see each other's rows.
 */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "config.h"
#include "datajoint.h"
#include "kit.h"
#include "recdb.h"
#include "session.h"
#include "util.h"

static void setup(void)
{
    /* The lab's config must be what the tests read, not the caller's shell. */
    unsetenv("DJ_HOST");
    unsetenv("DJ_PORT");
    unsetenv("DJ_USER");
    unsetenv("DJ_PASS");
    kit_setup();
}

static void replace(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
    ck_assert(!value || *field);
}

/* First column of a root query's output, for looking at what the lab stored. */
static const char *server_value(const char *sql)
{
    static char value[256];
    char *argv[] = {"mariadb", "--no-defaults", "-S", lab.socket, "-uroot", "-N", "-B",
                    "-e",      (char *)sql,     NULL};
    struct kit_result rr;

    ck_assert_msg(kit_run(argv, NULL, &rr) == 0, "%s: %s", sql, rr.err);
    snprintf(value, sizeof(value), "%s", rr.out);
    kit_result_free(&rr);
    return value;
}

static struct mct_dj_status check_one(const struct mct_config *cfg, const char *p, const char *d,
                                      int *ret)
{
    struct mct_session_ref ref;
    struct mct_dj_status st;
    char err[128];

    ck_assert_int_eq(mct_session_ref_init(&ref, p, d, err, sizeof(err)), 0);
    memset(&st, 0x55, sizeof(st));
    *ret = mct_dj_check_sessions(cfg, &ref, 1, &st);
    return st;
}

static void assert_all(const struct mct_dj_status *st, enum mct_tristate want)
{
    for (int c = 0; c < MCT_DJ_N_CHECKS; c++)
        ck_assert_msg(st->checks[c] == want, "check %s is %d, want %d (reason: %s)",
                      mct_dj_check_names[c], st->checks[c], want, st->reason);
}

static void assert_imported(const char *p, const char *d)
{
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    int r;
    struct mct_dj_status st = check_one(cfg, p, d, &r);

    ck_assert_int_eq(r, 0);
    assert_all(&st, MCT_YES);
    ck_assert_int_eq(st.state, MCT_YES);
    ck_assert_str_eq(st.reason, "");
}

START_TEST(a_fully_imported_session_passes_every_check)
{
    kit_lab_ok("session p001 20250104 --imported --dj");
    /* The lab really stored the normalised id: the look-up had to map. */
    ck_assert_str_eq(server_value("SELECT GROUP_CONCAT(participant_id) FROM "
                                  "mocap_sessions.subject WHERE participant_id LIKE '%001'"),
                     "001\n");
    assert_imported("p001", "20250104");
}
END_TEST

START_TEST(a_t_prefixed_id_is_normalised)
{
    kit_lab_ok("session t12 20250105 --imported --dj");
    assert_imported("t12", "20250105");
}
END_TEST

START_TEST(an_id_without_a_normal_form_is_kept)
{
    kit_lab_ok("session TF47 20250106 --imported --dj");
    assert_imported("TF47", "20250106");
}
END_TEST

START_TEST(normalisation_off_looks_up_the_id_as_written)
{
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    int r;

    kit_lab_ok("session p002 20250107 --imported --dj");
    cfg->datajoint.normalize_participant_ids = false;
    struct mct_dj_status st = check_one(cfg, "p002", "20250107", &r);
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(st.checks[MCT_DJ_SQLITE_IMPORTED], MCT_YES);
    ck_assert_int_eq(st.checks[MCT_DJ_SUBJECT], MCT_NO);
    ck_assert_int_eq(st.checks[MCT_DJ_SESSION], MCT_NO);
    ck_assert_int_eq(st.checks[MCT_DJ_RECORDING], MCT_NO);
    ck_assert_int_eq(st.state, MCT_NO);
    ck_assert_ptr_nonnull(strstr(st.reason, "not in subject (participant_id 'p002')"));
}
END_TEST

START_TEST(a_missing_sqlite_flag_is_not_imported)
{
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    int r;

    kit_lab_ok("session p003 20250108 --dj");
    struct mct_dj_status st = check_one(cfg, "p003", "20250108", &r);
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(st.checks[MCT_DJ_SQLITE_IMPORTED], MCT_NO);
    for (int c = MCT_DJ_SUBJECT; c < MCT_DJ_N_CHECKS; c++)
        ck_assert_int_eq(st.checks[c], MCT_YES);
    ck_assert_int_eq(st.state, MCT_NO);
    ck_assert_str_eq(st.reason, "SQLite imported flag not set");
}
END_TEST

/* A session date stored with a time of day still counts. */
START_TEST(a_sqlite_date_with_a_time_still_counts)
{
    kit_lab_ok("session p004 20250109 --imported --dj");
    kit_lab_ok("sqlite \"UPDATE sessions SET session_date = '2025-01-09 00:00:00.000000' WHERE "
               "session_date = '2025-01-09'\"");
    assert_imported("p004", "20250109");
}
END_TEST

/* Checks 2-6 (loop index + 1) fail alone when their table loses the rows
 * (with the recordings gone, checks 5 and 6 have nothing to check). */
START_TEST(each_check_fails_alone_without_its_rows)
{
    static const char *const tables[] = {"subject", "session", "recording",
                                         "multi_camera_recording", "single_camera_video"};
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    enum mct_dj_check failed = (enum mct_dj_check)(_i + 1);
    char p[16];
    int r;

    snprintf(p, sizeof(p), "p1%02d", _i);
    kit_lab_ok("session %s 20250110 --imported --dj", p);
    struct mct_dj_status st = check_one(cfg, p, "20250110", &r);
    ck_assert_int_eq(st.state, MCT_YES);

    kit_lab_ok("dj-delete %s %s 20250110", tables[_i], p);
    st = check_one(cfg, p, "20250110", &r);
    ck_assert_int_eq(r, 0);
    for (int c = 0; c < MCT_DJ_N_CHECKS; c++) {
        /* Without recordings, "every recording has its rows" checks
         * nothing: shown as not known, never as a pass. */
        enum mct_tristate want = c == (int)failed                                ? MCT_NO
                                 : failed == MCT_DJ_RECORDING && c > (int)failed ? MCT_UNKNOWN
                                                                                 : MCT_YES;
        ck_assert_msg(st.checks[c] == want, "%s removed: check %s is %d (%s)", tables[_i],
                      mct_dj_check_names[c], st.checks[c], st.reason);
    }
    ck_assert_int_eq(st.state, MCT_NO);
    ck_assert_msg(strstr(st.reason, mct_dj_check_failures[failed]), "reason: %s", st.reason);
}
END_TEST

START_TEST(a_missing_recording_database_is_unknown)
{
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    char path[400];
    struct stat sb;
    int r;

    kit_lab_ok("session p005 20250111 --imported --dj");
    snprintf(path, sizeof(path), "%s/nowhere.db", lab.data);
    replace(&cfg->recording_db_path, path);
    struct mct_dj_status st = check_one(cfg, "p005", "20250111", &r);
    ck_assert_int_lt(r, 0);
    ck_assert_int_eq(st.checks[MCT_DJ_SQLITE_IMPORTED], MCT_UNKNOWN);
    ck_assert_int_eq(st.checks[MCT_DJ_SUBJECT], MCT_YES);
    ck_assert_int_eq(st.state, MCT_UNKNOWN);
    ck_assert_msg(strstr(st.reason, path) && strstr(st.reason, "unable to open"), "reason: %s",
                  st.reason);
    /* Read-only open: the check must not have created an empty database. */
    ck_assert_int_ne(stat(path, &sb), 0);
}
END_TEST

START_TEST(a_stopped_database_is_unknown_until_it_is_back)
{
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    int r_down, r_up;

    kit_lab_ok("session p006 20250112 --imported --dj");
    kit_lab_ok("db-stop");
    int64_t start = mct_now_ms();
    struct mct_dj_status down = check_one(cfg, "p006", "20250112", &r_down);
    int64_t elapsed = mct_now_ms() - start;
    /* Restart before asserting, so a failure here cannot break later tests. */
    kit_lab_ok("db-start");
    struct mct_dj_status up = check_one(cfg, "p006", "20250112", &r_up);

    ck_assert_int_lt(r_down, 0);
    ck_assert_int_eq(down.state, MCT_UNKNOWN);
    ck_assert_int_eq(down.checks[MCT_DJ_SQLITE_IMPORTED], MCT_YES);
    for (int c = MCT_DJ_SUBJECT; c < MCT_DJ_N_CHECKS; c++)
        ck_assert_int_eq(down.checks[c], MCT_UNKNOWN);
    ck_assert_msg(strstr(down.reason, lab.socket), "reason: %s", down.reason);
    ck_assert_int_lt(elapsed, (int64_t)cfg->database_timeout_s * 1000 + 2000);
    ck_assert_int_eq(r_up, 0);
    ck_assert_int_eq(up.state, MCT_YES);
}
END_TEST

START_TEST(a_wrong_password_is_unknown)
{
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    int r;

    kit_lab_ok("session p007 20250113 --imported --dj");
    replace(&cfg->datajoint.password, "not-the-password");
    struct mct_dj_status st = check_one(cfg, "p007", "20250113", &r);
    ck_assert_int_lt(r, 0);
    ck_assert_int_eq(st.state, MCT_UNKNOWN);
    ck_assert_int_eq(st.checks[MCT_DJ_RECORDING], MCT_UNKNOWN);
    ck_assert_msg(strstr(st.reason, "Access denied") && strstr(st.reason, lab.socket), "reason: %s",
                  st.reason);
}
END_TEST

START_TEST(a_missing_schema_is_unknown)
{
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    int r;

    kit_lab_ok("session p008 20250114 --imported --dj");
    replace(&cfg->datajoint.sessions_schema, "no_such_schema");
    struct mct_dj_status st = check_one(cfg, "p008", "20250114", &r);
    ck_assert_int_lt(r, 0);
    ck_assert_int_eq(st.state, MCT_UNKNOWN);
    ck_assert_int_eq(st.checks[MCT_DJ_SUBJECT], MCT_UNKNOWN);
    ck_assert_msg(strstr(st.reason, "no_such_schema"), "reason: %s", st.reason);
}
END_TEST

/* A server that completes the TCP handshake and then says nothing. */
START_TEST(a_silent_server_times_out)
{
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof(sa);
    _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int r;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);

    kit_lab_ok("session p009 20250115 --imported --dj");
    replace(&cfg->datajoint.socket, NULL);
    replace(&cfg->datajoint.host, "127.0.0.1");
    cfg->datajoint.port = ntohs(sa.sin_port);
    int64_t start = mct_now_ms();
    struct mct_dj_status st = check_one(cfg, "p009", "20250115", &r);
    int64_t elapsed = mct_now_ms() - start;

    ck_assert_int_lt(r, 0);
    ck_assert_int_eq(st.state, MCT_UNKNOWN);
    ck_assert_int_eq(st.checks[MCT_DJ_SINGLE_CAMERA_VIDEO], MCT_UNKNOWN);
    ck_assert_msg(strstr(st.reason, "127.0.0.1"), "reason: %s", st.reason);
    ck_assert_int_lt(elapsed, (int64_t)cfg->database_timeout_s * 1000 + 2000);

    /* The check given up on ends too: its socket was shut down at the
     * deadline, so it must not linger on a server that never answers. */
    int64_t end = mct_now_ms() + 5000;
    while (mct_dj_checks_running() && mct_now_ms() < end)
        usleep(20 * 1000);
    ck_assert_msg(!mct_dj_checks_running(), "a given-up check still runs 5 s after its deadline");
}
END_TEST

/* A query stuck behind another session's table lock: the read timeout, not
 * the connect timeout, must end it. */
START_TEST(a_locked_table_times_out)
{
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    int r, status;

    kit_lab_ok("session p011 20250116 --imported --dj");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        execlp("mariadb", "mariadb", "--no-defaults", "-S", lab.socket, "-uroot", "-e",
               "LOCK TABLES mocap_sessions.subject WRITE; SELECT SLEEP(5);", (char *)NULL);
        _exit(127);
    }
    usleep(700 * 1000);
    int64_t start = mct_now_ms();
    struct mct_dj_status st = check_one(cfg, "p011", "20250116", &r);
    int64_t elapsed = mct_now_ms() - start;
    /* Let the lock go before asserting, or later tests would wait on it. */
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);

    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the locking client failed");
    ck_assert_int_lt(r, 0);
    ck_assert_int_eq(st.state, MCT_UNKNOWN);
    ck_assert_int_eq(st.checks[MCT_DJ_SUBJECT], MCT_UNKNOWN);
    ck_assert_int_eq(st.checks[MCT_DJ_SQLITE_IMPORTED], MCT_YES);
    ck_assert_int_lt(elapsed, (int64_t)cfg->database_timeout_s * 1000 + 2000);
}
END_TEST

static long server_questions(void)
{
    char *argv[] = {"mariadb",
                    "--no-defaults",
                    "-S",
                    lab.socket,
                    "-uroot",
                    "-N",
                    "-B",
                    "-e",
                    "SHOW GLOBAL STATUS LIKE 'Questions'",
                    NULL};
    struct kit_result rr;
    long q = -1;

    ck_assert_int_eq(kit_run(argv, NULL, &rr), 0);
    ck_assert_int_eq(sscanf(rr.out, "Questions %ld", &q), 1);
    kit_result_free(&rr);
    return q;
}

static void feed(char *const argv[], const char *text)
{
    struct kit_result rr;
    int status = kit_run(argv, text, &rr);

    ck_assert_msg(status == 0, "%s: %s", argv[0], rr.err);
    kit_result_free(&rr);
}

/* 300 sessions written straight into both databases (the lab's `session`
 * would take a minute); #17 lacks its imported row, #42 its videos. */
static void bulk_sessions(struct mct_session_ref *refs, size_t n)
{
    _cleanup_buf_ struct mct_buf sq = {}, my = {};
    char recdb[400];

    mct_buf_puts(&sq, "BEGIN;\n");
    mct_buf_puts(&my, "BEGIN;\n");
    for (size_t i = 0; i < n; i++) {
        char p[16], d[9], iso[11], err[64];
        snprintf(p, sizeof(p), "p7%02zu", i % 10);
        snprintf(d, sizeof(d), "2023%02zu%02zu", 1 + i / 10 / 28, 1 + (i / 10) % 28);
        ck_assert_int_eq(mct_session_ref_init(&refs[i], p, d, err, sizeof(err)), 0);
        ck_assert_int_eq(mct_date_to_iso(d, iso, sizeof(iso)), 0);
        mct_buf_printf(&sq,
                       "INSERT OR IGNORE INTO participants (id, name) VALUES (%zu, '%s');\n"
                       "INSERT INTO sessions (id, session_date, session_path, participant_id)"
                       " VALUES (%zu, '%s', '/x', %zu);\n",
                       1000 + i % 10, p, 5000 + i, iso, 1000 + i % 10);
        if (i != 17)
            mct_buf_printf(&sq, "INSERT INTO imported (session_id) VALUES (%zu);\n", 5000 + i);
        mct_buf_printf(&my,
                       "INSERT IGNORE INTO mocap_sessions.subject VALUES ('%s');\n"
                       "INSERT INTO mocap_sessions.session VALUES ('%s', '%s');\n"
                       "INSERT INTO multicamera_tracking.multi_camera_recording VALUES"
                       " ('%s 10:00:00', 'bulk%zu', 'bulk', 'b');\n"
                       "INSERT INTO mocap_sessions.recording VALUES"
                       " ('%s', '%s', '%s 10:00:00', 'bulk%zu', '');\n",
                       p + 1, p + 1, iso, iso, i, p + 1, iso, iso, i);
        if (i != 42)
            mct_buf_printf(&my,
                           "INSERT INTO pose_pipeline.video VALUES ('bulk', 'v%zu.mp4', NULL, "
                           "NULL);\n"
                           "INSERT INTO multicamera_tracking.single_camera_video VALUES"
                           " ('%s 10:00:00', 'bulk%zu', 'bulk', 'v%zu.mp4', 'c', NULL);\n",
                           i, iso, i, i);
    }
    mct_buf_puts(&sq, "COMMIT;\n");
    mct_buf_puts(&my, "COMMIT;\n");
    snprintf(recdb, sizeof(recdb), "%s/recordings.db", lab.data);
    char *sqlite_argv[] = {"sqlite3", recdb, NULL};
    char *mariadb_argv[] = {"mariadb", "--no-defaults", "-S", lab.socket, "-uroot", NULL};
    feed(sqlite_argv, sq.data);
    feed(mariadb_argv, my.data);
}

START_TEST(many_sessions_take_few_queries)
{
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    struct mct_session_ref refs[300];
    static struct mct_dj_status st[300];

    bulk_sessions(refs, 300);
    long q0 = server_questions();
    int64_t start = mct_now_ms();
    int r = mct_dj_check_sessions(cfg, refs, 300, st);
    int64_t elapsed = mct_now_ms() - start;
    long queries = server_questions() - q0 - 1; /* our own SHOW counts too */

    ck_assert_int_eq(r, 0);
    ck_assert_msg(elapsed < 2000, "300 sessions took %lld ms", (long long)elapsed);
    ck_assert_msg(queries <= 10, "300 sessions took %ld statements", queries);
    for (size_t i = 0; i < 300; i++) {
        enum mct_tristate want = i == 17 || i == 42 ? MCT_NO : MCT_YES;
        ck_assert_msg(st[i].state == want, "%s %s: %d (%s)", refs[i].participant_id,
                      refs[i].session_date, st[i].state, st[i].reason);
    }
    ck_assert_int_eq(st[17].checks[MCT_DJ_SQLITE_IMPORTED], MCT_NO);
    ck_assert_int_eq(st[17].checks[MCT_DJ_SINGLE_CAMERA_VIDEO], MCT_YES);
    ck_assert_int_eq(st[42].checks[MCT_DJ_SQLITE_IMPORTED], MCT_YES);
    ck_assert_int_eq(st[42].checks[MCT_DJ_SINGLE_CAMERA_VIDEO], MCT_NO);
}
END_TEST

START_TEST(the_sessions_of_a_range_come_from_sqlite)
{
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    _cleanup_free_ struct mct_session_ref *v = NULL;
    char why[256] = "";
    size_t n = 99;

    kit_lab_ok("session p010 20250201");
    kit_lab_ok("session b3 20250201");
    kit_lab_ok("session p010 20250203 --imported");
    kit_lab_ok("session p010 20250205");
    ck_assert_int_eq(
            mct_recdb_sessions_in_range(cfg, "20250201", "20250203", &v, &n, why, sizeof(why)), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(v[0].participant_id, "b3");
    ck_assert_str_eq(v[0].session_date, "20250201");
    ck_assert_str_eq(v[1].participant_id, "p010");
    ck_assert_str_eq(v[2].session_date, "20250203");
}
END_TEST

START_TEST(every_check_has_a_name_and_a_failure_text)
{
    ck_assert_str_eq(mct_dj_check_names[MCT_DJ_SQLITE_IMPORTED], "sqlite_imported");
    ck_assert_str_eq(mct_dj_check_names[MCT_DJ_SINGLE_CAMERA_VIDEO], "single_camera_video");
    for (int c = 0; c < MCT_DJ_N_CHECKS; c++)
        ck_assert(!strempty(mct_dj_check_failures[c]));
}
END_TEST

static Suite *datajoint_suite(void)
{
    Suite *s = suite_create("datajoint");
    TCase *tc = tcase_create("lab");

    tcase_add_unchecked_fixture(tc, setup, kit_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_check_has_a_name_and_a_failure_text);
    tcase_add_test(tc, a_fully_imported_session_passes_every_check);
    tcase_add_test(tc, a_t_prefixed_id_is_normalised);
    tcase_add_test(tc, an_id_without_a_normal_form_is_kept);
    tcase_add_test(tc, normalisation_off_looks_up_the_id_as_written);
    tcase_add_test(tc, a_missing_sqlite_flag_is_not_imported);
    tcase_add_test(tc, a_sqlite_date_with_a_time_still_counts);
    tcase_add_loop_test(tc, each_check_fails_alone_without_its_rows, 0, 5);
    tcase_add_test(tc, a_missing_recording_database_is_unknown);
    tcase_add_test(tc, a_stopped_database_is_unknown_until_it_is_back);
    tcase_add_test(tc, a_wrong_password_is_unknown);
    tcase_add_test(tc, a_missing_schema_is_unknown);
    tcase_add_test(tc, a_silent_server_times_out);
    tcase_add_test(tc, a_locked_table_times_out);
    tcase_add_test(tc, many_sessions_take_few_queries);
    tcase_add_test(tc, the_sessions_of_a_range_come_from_sqlite);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(datajoint_suite());
}
