/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bad input, each a clear error and nothing done: control-file garbage not
 * covered by test_mount_control.c, malformed ids and dates through every mctctl
 * command, configs with wrong types, negative timeouts, missing sections,
 * escaping templates and overlapping paths, a FIFO where the config or
 * the password file should be, and symlinks in the source tree that point
 * out of it. A safe session sits beside every attempt, so an input parsed
 * too leniently would delete something real.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "kit.h"

/* The whole lab's local data and share, to prove nothing was touched. */
static char *everything(void)
{
    _cleanup_free_ char *data = kit_tree_digest(lab.data);
    _cleanup_free_ char *share = kit_tree_digest(lab.share);
    return mct_strdup_printf("%s--\n%s", data, share);
}

static void assert_nothing_done(const char *before)
{
    _cleanup_free_ char *after = everything();
    ck_assert_str_eq(before, after);
    char log[400];
    snprintf(log, sizeof(log), "%s/deletions.log", lab.dir);
    _cleanup_free_ char *text = kit_slurp(log, NULL);
    ck_assert_msg(!text || !strstr(text, "\"result\":\"deleted\""), "logged as deleted:\n%s", text);
    ck_assert(kit_trash_empty());
}

static void setup_all(void)
{
    kit_setup();
    kit_session("p101 20240101 --imported --dj --copy");
}

START_TEST(control_garbage_is_einval)
{
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    _cleanup_free_ char *safe = kit_vfile(&m, "p101", "20240101", ".safe_to_delete");
    ck_assert_str_eq(safe, "yes\n"); /* a DELETE would work */
    _cleanup_free_ char *before = everything();

    static char huge[1 << 20], just_over[65];
    memset(huge, ' ', sizeof(huge));
    memcpy(huge, "DELETE\n", 7);
    memset(just_over, ' ', sizeof(just_over));
    memcpy(just_over, "DELETE", 6);
    const struct {
        const char *text;
        size_t len;
    } cases[] = {
#define S(s) {s, sizeof(s) - 1}
            S("DEL"),
            S("DELET\n"),
            S("SYN"),
            S("VERIF\n"),
            S("D"),
            S("sync\n"),
            S("Sync\n"),
            S("verify\n"),
            S("Delete\n"),
            S("dElEtE\n"),
            S("DELETE ALL\n"),
            S("DELETE p101 20240101\n"),
            S("SYNC DELETE\n"),
            S("DELETE\tNOW\n"),
            S("DELETE;\n"),
            S("DELETE\n\n\nSYNC\n"),
            S("\xd0\x94"
              "ELETE\n"),              /* Cyrillic D */
            S("DELETE\xe2\x80\x8b\n"), /* zero-width space */
            S("\xef\xbb\xbf"
              "DELETE\n"), /* BOM */
            S("DELETE\0\n"),
            S("\0DELETE\n"),
            S("\xff\xfe\xfd"),
            {just_over, sizeof(just_over)},
            {huge, sizeof(huge)},
#undef S
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int err;
        ssize_t n = kit_control_write(&m, "p101", "20240101", cases[i].text, cases[i].len, &err);
        ck_assert_msg(n == -1 && err == EINVAL, "case %zu (%zu bytes): %zd %s", i, cases[i].len, n,
                      strerror(err));
    }

    /* One command in two writes is two pieces of garbage. */
    char path[700];
    kit_mpath(&m, path, sizeof(path), "p101/20240101/.control");
    int fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert(write(fd, "DEL", 3) < 0 && errno == EINVAL);
    ck_assert(write(fd, "ETE\n", 4) < 0 && errno == EINVAL);
    close(fd);
    /* No .control where there is no session; the root's takes RECLAIM
     * only. */
    kit_mpath(&m, path, sizeof(path), "p101/.control");
    ck_assert(open(path, O_WRONLY | O_CREAT, 0644) < 0);
    kit_mpath(&m, path, sizeof(path), ".control");
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert(write(fd, "DELETE\n", 7) < 0 && errno == EINVAL);
    close(fd);
    kit_mpath(&m, path, sizeof(path), "p101/20991231/.control");
    ck_assert(open(path, O_WRONLY) < 0 && errno == ENOENT);

    _cleanup_free_ char *ctl = kit_vfile(&m, "p101", "20240101", ".control");
    kit_assert_starts(ctl, "no command yet");
    kit_unmount(&m);
    assert_nothing_done(before);
}
END_TEST

static const char *const bad_ids[] = {
        "..",
        ".",
        "../p101",
        "p101/..",
        "p101/",
        "/p101",
        "p101/20240101",
        "p 101",
        " p101",
        "p101 ",
        "p101\n",
        "p101\t",
        "pü101",
        "p101\u200b",
        "-p101",
        "",
        NULL /* 500 chars */,
};
static const char *const bad_dates[] = {
        "..",        "2024/01/01", "../20240101",         "20240101/..", "2024 0101",
        "20240101 ", " 20240101",  "２０２４０１０１",    "20240230",    "20241301",
        "20240100",  "2024010",    "202401011",           "2024-01-01",  "abcdefgh",
        "",          "-20240101",  NULL /* 500 digits */,
};

/* Exit 2, something on stderr, nothing on the share or local disk. */
static void assert_usage(const char *before, const char *what, struct kit_result *r, int st)
{
    ck_assert_msg(st == 2, "%s: exit %d\nstdout: %s\nstderr: %s", what, st, r->out, r->err);
    ck_assert_msg(!strempty(r->err), "%s: no message", what);
    ck_assert_msg(strlen(r->err) < 4096, "%s: %zu bytes of errors", what, strlen(r->err));
    kit_result_free(r);
    assert_nothing_done(before);
}

START_TEST(bad_ids_and_dates_are_usage_errors_everywhere)
{
    _cleanup_free_ char *before = everything();
    char long_id[501], long_date[501];
    memset(long_id, 'p', 500);
    long_id[500] = '\0';
    memset(long_date, '2', 500);
    long_date[500] = '\0';
    static const char *const pd_cmds[] = {"sync", "status", "verify", "delete"};
    struct kit_result r;
    size_t runs = 0;

    for (size_t i = 0; i < ARRAY_SIZE(bad_ids); i++) {
        const char *id = bad_ids[i] ? bad_ids[i] : long_id;
        for (size_t c = 0; c < ARRAY_SIZE(pd_cmds); c++, runs++) {
            char what[700];
            snprintf(what, sizeof(what), "%s '%.40s' 20240101", pd_cmds[c], id);
            int st = kit_mctctl(NULL, "DELETE\n", &r, pd_cmds[c], id, "20240101", NULL);
            assert_usage(before, what, &r, st);
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(bad_dates); i++) {
        const char *d = bad_dates[i] ? bad_dates[i] : long_date;
        char what[700];
        for (size_t c = 0; c < ARRAY_SIZE(pd_cmds); c++, runs++) {
            snprintf(what, sizeof(what), "%s p101 '%.40s'", pd_cmds[c], d);
            int st = kit_mctctl(NULL, "DELETE\n", &r, pd_cmds[c], "p101", d, NULL);
            assert_usage(before, what, &r, st);
        }
        snprintf(what, sizeof(what), "status '%.40s'", d);
        assert_usage(before, what, &r, kit_mctctl(NULL, NULL, &r, "status", d, NULL));
        snprintf(what, sizeof(what), "batch '%.40s'", d);
        assert_usage(before, what, &r, kit_mctctl(NULL, NULL, &r, "batch", d, NULL));
        assert_usage(before, what, &r, kit_mctctl(NULL, NULL, &r, "batch", "20240101", d, NULL));
        snprintf(what, sizeof(what), "status-range '%.40s'", d);
        assert_usage(before, what, &r,
                     kit_mctctl(NULL, NULL, &r, "status-range", "--start-date", d, NULL));
        assert_usage(before, what, &r,
                     kit_mctctl(NULL, NULL, &r, "status-range", "--end-date", d, NULL));
        snprintf(what, sizeof(what), "bulk-delete '%.40s'", d);
        assert_usage(before, what, &r,
                     kit_mctctl(NULL, "DELETE ALL\n", &r, "bulk-delete", "--start-date", d, NULL));
        assert_usage(before, what, &r,
                     kit_mctctl(NULL, "DELETE ALL\n", &r, "bulk-delete", "--end-date", d, NULL));
        runs += 7;
    }
    printf("%zu malformed ids and dates: every one exit 2, nothing touched\n", runs);
}
END_TEST

/* A config that must be refused with exit 2, naming file:line and the key,
 * by mctctl and by mctfs alike. */
static void assert_config_refused(const char *cfg, const char *expect)
{
    _cleanup_free_ char *before = everything();
    struct kit_result r;
    int st = kit_mctctl(cfg, NULL, &r, "status-range", NULL);
    ck_assert_msg(st == 2, "%s: status-range exit %d\n%s%s", expect, st, r.out, r.err);
    ck_assert_msg(strstr(r.err, cfg) && strstr(r.err, expect), "want \"%s\" in: %s", expect, r.err);
    kit_result_free(&r);
    st = kit_mctctl(cfg, NULL, &r, "sync", "p101", "20240101", NULL);
    ck_assert_msg(st == 2, "%s: sync exit %d\n%s", expect, st, r.err);
    kit_result_free(&r);

    char dir[400];
    snprintf(dir, sizeof(dir), "%s/never-mounted", lab.dir);
    (void)mkdir(dir, 0755);
    char *argv[] = {getenv("MCTFS"), "-c", (char *)cfg, dir, "-f", NULL};
    st = kit_run(argv, NULL, &r);
    ck_assert_msg(st == 2, "%s: mctfs exit %d\n%s", expect, st, r.err);
    kit_result_free(&r);
    ck_assert(!kit_is_mounted(dir));
    assert_nothing_done(before);
}

#define SHARE_SECONDS "  share_seconds: 2\n"
#define SOURCE_TMPL   "    path_structure: \"{participant_id}/{session_date}\"\n"
#define DEST_TMPL     "      path_structure: \"{session_date}/{participant_id}\"\n"

START_TEST(bad_config_values_are_refused)
{
    const struct {
        const char *from, *to, *expect;
    } cases[] = {
            {SHARE_SECONDS, "  share_seconds: \"abc\"\n", "timeouts.share_seconds"},
            {SHARE_SECONDS, "  share_seconds: [1, 2]\n", "timeouts.share_seconds"},
            {SHARE_SECONDS, "  share_seconds: 2.5\n", "timeouts.share_seconds"},
            {SHARE_SECONDS, "  share_seconds: -1\n", "timeouts.share_seconds"},
            {SHARE_SECONDS, "  share_seconds: 0\n", "timeouts.share_seconds"},
            {SHARE_SECONDS, "  share_seconds: 99999999999999999999\n", "timeouts.share_seconds"},
            {"  database_seconds: 2\n", "  database_seconds: -5\n", "timeouts.database_seconds"},
            {"  min_age_minutes: 60\n", "  min_age_minutes: -1\n", "deletion.min_age_minutes"},
            {"    flags: \"-avh\"\n", "    flags: \"-avh\"\n    timeout: -1\n",
             "backup.rsync.timeout"},
            {"    flags: \"-avh\"\n", "    flags: \"-avh\"\n    bandwidth_limit: -100\n",
             "backup.rsync.bandwidth_limit"},
            {"    flags: \"-avh\"\n", "    flags: \"-avh --delete\"\n", "--delete"},
            {"      enabled: true\n", "      enabled: \"maybe\"\n", "enabled"},
            {"    verify_after_sync: true\n", "    verify_after_sync: 2\n", "verify_after_sync"},
            {"    verify_method: \"size\"\n", "    verify_method: \"md5\"\n", "verify_method"},
            {"    participant_prefixes: [\"m\", \"p\", \"b\", \"s\", \"TR\", \"TF\"]\n",
             "    participant_prefixes: \"p\"\n", "participant_prefixes"},
            {"  destinations:\n", "  destinations:\n    name: x\n  old_destinations:\n",
             "backup.destinations"},
            {"    - name: \"lab share\"\n      mount_point:", "    - mount_point:", "name"},
            {"  user: \"dj\"\n", "  user: \"dj\"\n  port: 70000\n", "datajoint.port"},
            /* templates that would leave the base path */
            {SOURCE_TMPL, "    path_structure: \"../{participant_id}/{session_date}\"\n",
             "backup.source.path_structure"},
            {SOURCE_TMPL, "    path_structure: \"{participant_id}/../../{session_date}\"\n",
             "backup.source.path_structure"},
            {SOURCE_TMPL, "    path_structure: \"/{participant_id}/{session_date}\"\n",
             "backup.source.path_structure"},
            {DEST_TMPL, "      path_structure: \"../{participant_id}/{session_date}\"\n",
             "backup.destinations[0].path_structure"},
            {DEST_TMPL, "      path_structure: \"{session_date}/./{participant_id}/..\"\n",
             "backup.destinations[0].path_structure"},
            {DEST_TMPL, "      path_structure: \"{session_date}\"\n",
             "backup.destinations[0].path_structure"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char name[32];
        snprintf(name, sizeof(name), "bad%zu", i);
        assert_config_refused(kit_config_variant(name, cases[i].from, cases[i].to, NULL),
                              cases[i].expect);
    }

    /* A destination inside the source (or the source inside it), written
     * plainly or with a '..' that would hide it. */
    char from[450], to[450];
    snprintf(from, sizeof(from), "%s/mobile_system_data\"\n", lab.share);
    assert_config_refused(kit_config_variant("inside", lab.share, lab.data, NULL),
                          "overlaps backup.source.base_path");
    snprintf(to, sizeof(to), "%s/mobile_system_data/../../data/backup\"\n", lab.share);
    assert_config_refused(kit_config_variant("dotdot", from, to, NULL), "must not contain '..'");
    snprintf(to, sizeof(to), "%s\"\n", lab.dir);
    assert_config_refused(kit_config_variant("above", from, to, NULL), "base_path");

    /* No file content, only a comment, or a scalar where the sections go. */
    static const char *const texts[] = {"", "# nothing\n", "backup\n", "backup: 3\n",
                                        "[backup]\nsource = /data\n"};
    for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
        char path[400];
        snprintf(path, sizeof(path), "%s/text%zu.yaml", lab.dir, i);
        kit_write_file(path, texts[i]);
        struct kit_result r;
        int st = kit_mctctl(path, NULL, &r, "status-range", NULL);
        ck_assert_msg(st == 2 && strstr(r.err, path), "\"%s\": exit %d\n%s", texts[i], st, r.err);
        kit_result_free(&r);
    }
}
END_TEST

/* A FIFO where the config or the password file should be: refused at once
 * (exit 2, naming it), where a read would wait forever for a writer. */
START_TEST(a_fifo_instead_of_a_file_is_refused_at_once)
{
    char fifo[400], to[450];
    snprintf(fifo, sizeof(fifo), "%s/dj-password.fifo", lab.dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    snprintf(to, sizeof(to), "  password_file: \"%s\"\n", fifo);
    const char *cfg = kit_config_variant("fifo-pw", "  password: \"djpass\"\n", to, NULL);

    struct kit_result r;
    int64_t t0 = mct_now_ms();
    int st = kit_mctctl(cfg, NULL, &r, "status-range", NULL);
    int64_t took = mct_now_ms() - t0;
    ck_assert_msg(st == 2, "exit %d\n%s", st, r.err);
    ck_assert_msg(took < 5000, "refused after %lld ms", (long long)took);
    kit_assert_has(r.err, "datajoint.password_file");
    kit_assert_has(r.err, fifo);
    kit_assert_has(r.err, "not a regular file");
    kit_result_free(&r);
    assert_config_refused(cfg, "not a regular file");

    /* The config itself. */
    st = kit_mctctl(fifo, NULL, &r, "status-range", NULL);
    ck_assert_msg(st == 2, "exit %d\n%s", st, r.err);
    kit_assert_has(r.err, fifo);
    kit_assert_has(r.err, "not a regular file");
    kit_result_free(&r);
    assert_config_refused(fifo, "not a regular file");
}
END_TEST

START_TEST(missing_sections_leave_nothing_safe)
{
    _cleanup_free_ char *before = everything();
    /* No backup section: the defaults (/data) are used, and said so. */
    char path[400];
    snprintf(path, sizeof(path), "%s/nobackup.yaml", lab.dir);
    kit_write_file(path, "datajoint:\n  user: dj\ntimeouts:\n  share_seconds: 1\n");
    struct kit_result r;
    int st = kit_mctctl(path, NULL, &r, "status-range", NULL);
    ck_assert_msg(st != 0, "exit %d:\n%s", st, r.out);
    kit_assert_has(r.err, "/data");
    kit_result_free(&r);

    /* No destinations: nothing can be safe, and a sync says why. */
    const char *cfg =
            kit_config_variant("nodest", "  destinations:\n", "  old_destinations:\n", NULL);
    st = kit_mctctl(cfg, NULL, &r, "status", "p101", "20240101", NULL);
    if (st == 0) {
        kit_assert_has(r.out, "Safe to delete: NO");
        kit_assert_has(r.out, "no backup destination is enabled");
    } else {
        ck_assert_int_eq(st, 2); /* or refused as a config error */
    }
    kit_result_free(&r);
    st = kit_mctctl(cfg, "DELETE\n", &r, "delete", "p101", "20240101", NULL);
    ck_assert_msg(st == 1 || st == 2, "delete without destinations: exit %d", st);
    kit_result_free(&r);

    /* Every destination disabled: the same. */
    cfg = kit_config_variant("disabled", "      enabled: true\n", "      enabled: false\n", NULL);
    ck_assert_int_eq(kit_mctctl(cfg, NULL, &r, "sync", "p101", "20240101", NULL), 1);
    kit_assert_has(r.err, "no enabled destination");
    kit_result_free(&r);
    /* Refused as unsafe (no destination to hold a copy): exit 4. */
    ck_assert_int_eq(kit_mctctl(cfg, "DELETE\n", &r, "delete", "p101", "20240101", NULL), 4);
    kit_result_free(&r);
    assert_nothing_done(before);
}
END_TEST

static Suite *bad_input_suite(void)
{
    Suite *s = suite_create("bad-input");
    TCase *tc = tcase_create("refused");
    tcase_add_unchecked_fixture(tc, setup_all, kit_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, control_garbage_is_einval);
    tcase_add_test(tc, bad_ids_and_dates_are_usage_errors_everywhere);
    tcase_add_test(tc, bad_config_values_are_refused);
    tcase_add_test(tc, a_fifo_instead_of_a_file_is_refused_at_once);
    tcase_add_test(tc, missing_sections_leave_nothing_safe);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(bad_input_suite());
}
