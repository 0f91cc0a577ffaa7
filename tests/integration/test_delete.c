/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The deletion protocol against real parts: the lab's MariaDB, SQLite
 * file, tmpfs share and rsync copies, through mctctl. Each test has its
 * own participant/date so the sessions of one lab do not interfere; every
 * refusal test proves that every file is still there, byte for byte.
 * What an interrupted deletion leaves, and who finishes it, is in
 * test_delete_recovery.c.
 */
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kit.h"

/* Run `mctctl delete P D ARGS...` with stdin; returns the exit status. */
#define DELETE(res, in, p, d, ...) kit_mctctl(NULL, in, res, "delete", p, d, ##__VA_ARGS__, NULL)

/* Set before assert_refused() to put the lab back (lab.sh ARGS) right
 * after the run, so a failed assertion cannot leave it broken. */
static const char *lab_undo;

/* A refusal: exit want, the reason on stderr, every file in place, and
 * the refusal in the deletion log (unless the log is what is broken). */
static void assert_refused_exit(const char *p, const char *d, const char *flags, const char *reason,
                                int want)
{
    _cleanup_free_ char *before = kit_session_digest(p, d);
    size_t refusals = kit_log_count(p, d, "refused");
    struct kit_result r;
    int st = flags ? DELETE(&r, "DELETE\n", p, d, flags) : DELETE(&r, "DELETE\n", p, d);
    if (lab_undo)
        ck_assert_int_eq(kit_lab_sh(&lab, "%s", lab_undo), 0);
    lab_undo = NULL;
    ck_assert_msg(st == want, "exit %d, not %d, stdout:\n%s\nstderr:\n%s", st, want, r.out, r.err);
    ck_assert_msg(strstr(r.err, reason), "no \"%s\" in stderr:\n%s", reason, r.err);
    ck_assert_msg(strstr(r.err, "Nothing was deleted"), "stderr:\n%s", r.err);
    _cleanup_free_ char *after = kit_session_digest(p, d);
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(kit_log_count(p, d, "deleted"), 0);
    if (!strstr(reason, "deletion log"))
        ck_assert_int_eq(kit_log_count(p, d, "refused"), refusals + 1);
    kit_result_free(&r);
}

/* Refused as unsafe: exit 4 (mctctl(1), EXIT STATUS). */
static void assert_refused(const char *p, const char *d, const char *flags, const char *reason)
{
    assert_refused_exit(p, d, flags, reason, 4);
}

/* `mctctl bulk-delete --json --start-date START --end-date END [EXTRA]`
 * with stdin in; its exit status. The report is one JSON object on stdout, ending in a
 * newline; the human text is on stderr only. */
static int bulk_json(struct kit_result *r, const char *in, const char *extra, const char *start,
                     const char *end)
{
    int st = kit_mctctl(NULL, in, r, "bulk-delete", "--json", "--start-date", start, "--end-date",
                        end, extra, NULL);
    ck_assert_msg(startswith(r->out, "{\"dry_run\":") && endswith(r->out, "}}\n"),
                  "not one JSON object:\n%s", r->out);
    ck_assert_msg(!strstr(r->out, "Safe to delete:") && strstr(r->err, "Safe to delete:"),
                  "stdout:\n%s\nstderr:\n%s", r->out, r->err);
    return st;
}

/* Assert that the report's object of participant p has "result":result
 * and each of the other needles (NULL-terminated). */
static void assert_bulk_entry(const char *json, const char *p, const char *result, ...)
{
    _cleanup_free_ char *key = mct_strdup_printf("{\"participant\":\"%s\"", p);
    const char *at = strstr(json, key);
    ck_assert_msg(at, "no %s in:\n%s", p, json);
    _cleanup_free_ char *obj = strndup(at, strcspn(at, "}") + 1);
    _cleanup_free_ char *want = mct_strdup_printf("\"result\":\"%s\"", result);
    ck_assert_msg(strstr(obj, want), "want %s in %s", want, obj);
    va_list ap;
    va_start(ap, result);
    for (const char *n; (n = va_arg(ap, const char *));)
        ck_assert_msg(strstr(obj, n), "want %s in %s", n, obj);
    va_end(ap);
}

START_TEST(a_safe_session_is_deleted)
{
    kit_session("p101 20240101 --imported --dj --copy");
    char src[512], dst[512], part[512];
    kit_source_path("p101", "20240101", src, sizeof(src));
    kit_dest_path("p101", "20240101", dst, sizeof(dst));
    snprintf(part, sizeof(part), "%s/p101", lab.data);
    _cleanup_free_ char *copy_before = kit_tree_digest(dst);
    /* The digest of a copy that is not there is "": equal to itself. */
    ck_assert_msg(*copy_before, "%s is gone or empty", dst);

    struct kit_result r;
    int st = DELETE(&r, "DELETE\n", "p101", "20240101");
    ck_assert_msg(st == 0, "exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, dst), "summary does not name the copy:\n%s", r.out);
    ck_assert_msg(strstr(r.out, "DataJoint"), "summary does not name DataJoint:\n%s", r.out);
    ck_assert_msg(strstr(r.out, "5 files"), "summary without the file count:\n%s", r.out);
    ck_assert(!kit_exists(src));
    ck_assert_msg(!kit_exists(part), "empty participant folder %s left", part);
    _cleanup_free_ char *copy_after = kit_tree_digest(dst);
    ck_assert_str_eq(copy_before, copy_after);
    ck_assert(kit_trash_empty());

    ck_assert_int_eq(kit_log_count("p101", "20240101", "deleted"), 1);
    _cleanup_free_ char *l = kit_log_line("p101", "20240101", "deleted");
    static const char *const fields[] = {"\"time\":\"20",
                                         "\"user\":",
                                         "\"uid\":",
                                         "\"host\":",
                                         "\"via\":\"mctctl\"",
                                         "\"files\":5,",
                                         "\"bytes\":",
                                         "\"mode\":\"normal\"",
                                         "\"destinations\":[{",
                                         "\"name\":\"lab share\"",
                                         "\"state\":\"verified\"",
                                         "\"datajoint\":{\"state\":\"yes\"",
                                         "\"single_camera_video\":true"};
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
        ck_assert_msg(strstr(l, fields[i]), "log line lacks %s: %s", fields[i], l);
    ck_assert_msg(strstr(l, dst), "log line lacks the copy path: %s", l);
    kit_result_free(&r);
}
END_TEST

START_TEST(a_session_not_imported_is_refused)
{
    kit_session("p102 20240102 --imported --copy");
    assert_refused("p102", "20240102", NULL, "not in DataJoint: ");
    /* No recordings: the per-recording checks had nothing to check, which
     * is no "could not be checked" (no database trouble). */
    struct kit_result r;
    ck_assert_int_eq(DELETE(&r, "DELETE\n", "p102", "20240102"), 4);
    ck_assert_msg(strstr(r.err, "no recording rows") && !strstr(r.err, "could not be checked"),
                  "stderr:\n%s", r.err);
    kit_result_free(&r);
    /* Imported once, then rows vanished from one table. */
    kit_session("p124 20240124 --imported --dj --copy");
    ck_assert_int_eq(kit_lab_sh(&lab, "dj-delete single_camera_video p124 20240124"), 0);
    /* The sentence is datajoint.c's (mct_dj_check_failures); it names the table. */
    assert_refused("p124", "20240124", NULL, "single_camera_video");
}
END_TEST

START_TEST(a_session_without_a_copy_is_refused)
{
    kit_session("p103 20240103 --imported --dj");
    char dst[512], want[600];
    kit_dest_path("p103", "20240103", dst, sizeof(dst));
    snprintf(want, sizeof(want), "no copy at %s", dst);
    assert_refused("p103", "20240103", NULL, want);
}
END_TEST

START_TEST(an_unmounted_share_is_refused)
{
    kit_session("p104 20240104 --imported --dj --copy");
    ck_assert_int_eq(kit_lab_sh(&lab, "share-umount"), 0);
    lab_undo = "share-mount";
    /* Nothing but the share stood in the way: exit 3, "could not check". */
    assert_refused_exit("p104", "20240104", NULL, "destination 'lab share' unreachable", 3);
}
END_TEST

START_TEST(a_short_copy_is_refused)
{
    kit_session("p105 20240105 --imported --dj --copy");
    char dst[512], f[600];
    kit_dest_path("p105", "20240105", dst, sizeof(dst));
    snprintf(f, sizeof(f), "%s/trial_20240105_093000.22001.mp4", dst);
    ck_assert_int_eq(truncate(f, 1999), 0);
    assert_refused("p105", "20240105", NULL,
                   "trial_20240105_093000.22001.mp4: source 2000 bytes, copy 1999");
}
END_TEST

START_TEST(a_session_grown_after_its_sync_is_refused)
{
    kit_session("p106 20240106 --imported --dj --copy");
    char src[512];
    kit_source_path("p106", "20240106", src, sizeof(src));
    /* Grown, with an old mtime, so the size alone must catch it. */
    kit_append_old(src, "trial_20240106_093000.22002.mp4", "x");
    assert_refused("p106", "20240106", NULL,
                   "trial_20240106_093000.22002.mp4: source 2001 bytes, copy 2000");
}
END_TEST

START_TEST(a_young_file_is_refused)
{
    kit_session("p107 20240107 --imported --dj --copy --age 5");
    assert_refused("p107", "20240107", NULL,
                   "file younger than 60 min: trial_20240107_093000.22001.mp4");
}
END_TEST

START_TEST(lock_and_tmp_files_are_refused)
{
    kit_session("p108 20240108 --imported --dj --copy");
    char src[512];
    kit_source_path("p108", "20240108", src, sizeof(src));
    kit_append_old(src, "acquisition.lock", "");
    assert_refused("p108", "20240108", NULL,
                   "lock or temporary file present (the rig may be recording): "
                   "acquisition.lock");
    kit_append_old(src, "frames.tmp", "");
    assert_refused("p108", "20240108", NULL,
                   "lock or temporary file present (the rig may be recording): "
                   "acquisition.lock (and 1 more)");
}
END_TEST

START_TEST(a_wrong_confirmation_is_refused)
{
    kit_session("p109 20240109 --imported --dj --copy");
    static const char *const answers[] = {"delete\n", "DELETE ALL\n", " DELETE\n", "", NULL};
    _cleanup_free_ char *before = kit_session_digest("p109", "20240109");
    for (size_t i = 0; i < ARRAY_SIZE(answers); i++) {
        struct kit_result r;
        int st = DELETE(&r, answers[i], "p109", "20240109");
        ck_assert_msg(st == 1, "answer %zu: exit %d\n%s", i, st, r.err);
        ck_assert_msg(strstr(r.err, "Confirmation did not match; nothing deleted."), "%s", r.err);
        kit_result_free(&r);
        _cleanup_free_ char *after = kit_session_digest("p109", "20240109");
        ck_assert_str_eq(before, after);
    }
    ck_assert_int_eq(kit_log_count("p109", "20240109", "deleted"), 0);
}
END_TEST

START_TEST(a_database_that_is_down_is_refused)
{
    kit_session("p110 20240110 --imported --dj --copy");
    ck_assert_int_eq(kit_lab_sh(&lab, "db-stop"), 0);
    lab_undo = "db-start";
    assert_refused_exit("p110", "20240110", NULL, "DataJoint state unknown", 3);
}
END_TEST

START_TEST(a_dry_run_deletes_nothing)
{
    kit_session("p111 20240111 --imported --dj --copy");
    _cleanup_free_ char *before = kit_session_digest("p111", "20240111");
    struct kit_result r;
    int st = DELETE(&r, NULL, "p111", "20240111", "--dry-run");
    ck_assert_msg(st == 0, "exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, "Dry run: would delete"), "%s", r.out);
    _cleanup_free_ char *after = kit_session_digest("p111", "20240111");
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(kit_log_count("p111", "20240111", NULL), 0);
    kit_result_free(&r);
}
END_TEST

START_TEST(force_unverified_deletes_loudly_and_keeps_the_age_rule)
{
    /* Not imported, never copied: deleted, but only loudly and confirmed. */
    kit_session("p112 20240112");
    char src[512];
    kit_source_path("p112", "20240112", src, sizeof(src));
    struct kit_result r;
    int st = DELETE(&r, "DELETE\n", "p112", "20240112", "--force-unverified");
    ck_assert_msg(st == 0, "exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.err, "SKIPPING the DataJoint import check"), "%s", r.err);
    ck_assert(!kit_exists(src));
    _cleanup_free_ char *l = kit_log_line("p112", "20240112", "deleted");
    ck_assert_msg(strstr(l, "\"mode\":\"force-unverified\""), "%s", l);
    kit_result_free(&r);

    /* The age rule still holds. */
    kit_session("p113 20240113 --age 5");
    assert_refused("p113", "20240113", "--force-unverified", "file younger than 60 min");
}
END_TEST

START_TEST(bulk_delete_deletes_the_safe_sessions_of_the_range)
{
    kit_session("s201 20230301 --imported --dj --copy");
    kit_session("s202 20230302 --imported --dj --copy");
    kit_session("s203 20230303 --imported --dj");        /* no copy: unsafe */
    kit_session("s204 20230401 --imported --dj --copy"); /* safe, out of range */
    _cleanup_free_ char *unsafe = kit_session_digest("s203", "20230303");
    _cleanup_free_ char *outside = kit_session_digest("s204", "20230401");
    struct kit_result r;

    int st = kit_mctctl(NULL, NULL, &r, "bulk-delete", "--start-date", "20230301", "--end-date",
                        "20230331", "--dry-run", NULL);
    ck_assert_msg(st == 0, "dry run: exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, "Skipping 1 session"), "%s", r.out);
    kit_result_free(&r);
    st = kit_mctctl(NULL, "DELETE\n", &r, "bulk-delete", "--start-date", "20230301", "--end-date",
                    "20230331", NULL);
    ck_assert_int_eq(st, 1);
    ck_assert(strstr(r.err, "Confirmation did not match"));
    kit_result_free(&r);
    ck_assert(kit_session_exists("s201", "20230301") && kit_session_exists("s202", "20230302"));

    st = kit_mctctl(NULL, "DELETE ALL\n", &r, "bulk-delete", "--start-date", "20230301",
                    "--end-date", "20230331", NULL);
    ck_assert_msg(st == 0, "exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, "[1/2] s201 20230301: deleted"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "[2/2] s202 20230302: deleted"), "%s", r.out);
    ck_assert(!kit_session_exists("s201", "20230301") && !kit_session_exists("s202", "20230302"));
    _cleanup_free_ char *unsafe_after = kit_session_digest("s203", "20230303");
    _cleanup_free_ char *outside_after = kit_session_digest("s204", "20230401");
    ck_assert_str_eq(unsafe, unsafe_after);
    ck_assert_str_eq(outside, outside_after);
    ck_assert_int_eq(kit_log_count("s201", "20230301", "deleted"), 1);
    kit_result_free(&r);
}
END_TEST

START_TEST(bulk_delete_json_is_one_object)
{
    kit_session("s211 20230501 --imported --dj --copy");
    kit_session("s212 20230502 --imported --dj --copy");
    kit_session("s213 20230503 --imported --dj"); /* no copy: unsafe */
    struct kit_result r;

    int st = bulk_json(&r, NULL, "--dry-run", "20230501", "20230531");
    ck_assert_msg(st == 0, "dry run: exit %d\n%s", st, r.err);
    kit_assert_has(r.out,
                   "{\"dry_run\":true,\"start_date\":\"20230501\",\"end_date\":\"20230531\"");
    assert_bulk_entry(r.out, "s211", "would-delete", "\"date\":\"20230501\"", "\"error\":\"\"",
                      NULL);
    assert_bulk_entry(r.out, "s213", "skipped-not-safe", "\"reasons\":[\"", NULL);
    kit_assert_has(r.out, "\"summary\":{\"sessions\":3,\"skipped_not_safe\":1,\"not_confirmed\":0,"
                          "\"would_delete\":2,\"refused\":0,\"error\":0,\"bytes_to_free\":");
    kit_result_free(&r);

    /* The confirmation is still read from stdin, and still required. */
    st = bulk_json(&r, "DELETE\n", NULL, "20230501", "20230531");
    ck_assert_int_eq(st, 1);
    assert_bulk_entry(r.out, "s212", "not-confirmed", NULL);
    kit_assert_has(r.out, "\"not_confirmed\":2,\"deleted\":0,");
    kit_result_free(&r);
    ck_assert(kit_session_exists("s211", "20230501") && kit_session_exists("s212", "20230502"));

    st = bulk_json(&r, "DELETE ALL\n", NULL, "20230501", "20230531");
    ck_assert_msg(st == 0, "exit %d\n%s", st, r.err);
    assert_bulk_entry(r.out, "s211", "deleted", "\"error\":\"\",\"reasons\":[]", NULL);
    assert_bulk_entry(r.out, "s212", "deleted", NULL);
    assert_bulk_entry(r.out, "s213", "skipped-not-safe", NULL);
    kit_assert_has(r.out, "\"skipped_not_safe\":1,\"not_confirmed\":0,\"deleted\":2,\"refused\":0,"
                          "\"error\":0,\"bytes_freed\":");
    ck_assert(!kit_session_exists("s211", "20230501") && !kit_session_exists("s212", "20230502"));
    ck_assert(kit_session_exists("s213", "20230503"));
    kit_result_free(&r);
}
END_TEST

START_TEST(a_locked_session_is_busy)
{
    kit_session("p115 20240115 --imported --dj --copy");
    int fd = kit_hold_session_lock("p115", "20240115");
    /* Busy is no safety verdict: exit 1, try again. */
    assert_refused_exit("p115", "20240115", NULL, "another command is running on p115/20240115", 1);
    close(fd);
}
END_TEST

START_TEST(an_unwritable_deletion_log_is_refused)
{
    kit_session("p119 20240119 --imported --dj --copy");
    char blocker[600], logp[700];
    snprintf(blocker, sizeof(blocker), "%s/not-a-folder", lab.dir);
    snprintf(logp, sizeof(logp), "%s/deletions.log", blocker);
    kit_write_file(blocker, "a file where the log folder should be\n");
    char from[700];
    snprintf(from, sizeof(from), "%s/deletions.log", lab.dir);
    kit_config_edit(from, logp);
    assert_refused("p119", "20240119", NULL, "cannot write deletion log");
    kit_config_restore();
}
END_TEST

START_TEST(a_copy_that_is_the_source_is_refused)
{
    /* A "share" that is a bind mount of the source: every file "matches",
     * but it is the source's own filesystem. */
    kit_session("p120 20240120 --imported --dj");
    char bind[600];
    snprintf(bind, sizeof(bind), "%s/bindshare", lab.dir);
    ck_assert_int_eq(mkdir(bind, 0755), 0);
    ck_assert_int_eq(mount(lab.data, bind, NULL, MS_BIND, NULL), 0);
    kit_config_edit(lab.dest_base, bind); /* base_path first: it contains the mount point */
    kit_config_edit(lab.share, bind);
    kit_config_edit("\"{session_date}/{participant_id}\"", "\"{participant_id}/{session_date}\"");
    assert_refused("p120", "20240120", NULL, "not a copy: ");
    assert_refused("p120", "20240120", NULL, "is on the source's own filesystem");
    kit_config_restore();
    ck_assert_int_eq(umount2(bind, MNT_DETACH), 0);
}
END_TEST

START_TEST(a_mount_inside_the_session_is_refused)
{
    kit_session("p123 20240123 --imported --dj --copy");
    char sub[600];
    kit_source_path("p123", "20240123", sub, sizeof(sub));
    strcat(sub, "/usb");
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    ck_assert_int_eq(mount("tmpfs", sub, "tmpfs", 0, "size=1m"), 0);
    struct kit_result r;
    int st = DELETE(&r, "DELETE\n", "p123", "20240123");
    ck_assert_int_eq(umount2(sub, MNT_DETACH), 0);
    ck_assert_msg(st == 4, "exit %d\n%s", st, r.err);
    ck_assert_msg(strstr(r.err, "a filesystem is mounted in the session: "), "%s", r.err);
    ck_assert(kit_session_exists("p123", "20240123"));
    ck_assert_int_eq(kit_log_count("p123", "20240123", "deleted"), 0);
    kit_result_free(&r);
}
END_TEST

START_TEST(a_checksum_mismatch_or_no_destination_is_refused)
{
    kit_session("p121 20240121 --imported --dj --copy");
    /* One byte of the copy changed, its size not: only checksum sees it. */
    char dst[512], f[600];
    kit_dest_path("p121", "20240121", dst, sizeof(dst));
    snprintf(f, sizeof(f), "%s/trial_20240121_093000.22003.mp4", dst);
    int fd = open(f, O_RDWR | O_CLOEXEC);
    unsigned char c = 0;
    ck_assert_int_eq(pread(fd, &c, 1, 7), 1);
    c ^= 0x80;
    ck_assert_int_eq(pwrite(fd, &c, 1, 7), 1);
    close(fd);
    kit_config_edit("verify_method: \"size\"", "verify_method: \"checksum\"");
    assert_refused("p121", "20240121", NULL,
                   "content differs (XXH3-128): trial_20240121_093000.22003.mp4");
    kit_config_restore();
    kit_config_edit("enabled: true", "enabled: false");
    assert_refused("p121", "20240121", NULL, "no backup destination is enabled");
    kit_config_restore();
}
END_TEST

static Suite *delete_suite(void)
{
    Suite *s = suite_create("delete");
    TCase *tc = tcase_create("protocol");
    tcase_add_unchecked_fixture(tc, kit_setup, kit_teardown);
    /* A test that failed half-way must not leave its config variant behind. */
    tcase_add_checked_fixture(tc, kit_config_restore, NULL);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, a_safe_session_is_deleted);
    tcase_add_test(tc, a_session_not_imported_is_refused);
    tcase_add_test(tc, a_session_without_a_copy_is_refused);
    tcase_add_test(tc, an_unmounted_share_is_refused);
    tcase_add_test(tc, a_short_copy_is_refused);
    tcase_add_test(tc, a_session_grown_after_its_sync_is_refused);
    tcase_add_test(tc, a_young_file_is_refused);
    tcase_add_test(tc, lock_and_tmp_files_are_refused);
    tcase_add_test(tc, a_wrong_confirmation_is_refused);
    tcase_add_test(tc, a_database_that_is_down_is_refused);
    tcase_add_test(tc, a_dry_run_deletes_nothing);
    tcase_add_test(tc, force_unverified_deletes_loudly_and_keeps_the_age_rule);
    tcase_add_test(tc, bulk_delete_deletes_the_safe_sessions_of_the_range);
    tcase_add_test(tc, bulk_delete_json_is_one_object);
    tcase_add_test(tc, a_locked_session_is_busy);
    tcase_add_test(tc, an_unwritable_deletion_log_is_refused);
    tcase_add_test(tc, a_copy_that_is_the_source_is_refused);
    tcase_add_test(tc, a_mount_inside_the_session_is_refused);
    tcase_add_test(tc, a_checksum_mismatch_or_no_destination_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(delete_suite());
}
