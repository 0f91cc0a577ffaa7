/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An admin's first week, on a real lab: failures that say so (exit 3 and
 * one line on stderr when a database or share could not be checked, a
 * search of /data that says what it found), a batch that covers the disk,
 * the participant filter with one meaning, refusals in the deletion log,
 * a second mount refused, ASCII outside UTF-8, the guide's log samples in
 * the real format. mctctl(1), EXIT STATUS, has the codes.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit.h"

/* The lab's config with from replaced by to, private to root as a
 * config holding a password should be. */
static const char *variant(const char *name, const char *from, const char *to)
{
    const char *path = kit_config_variant(name, from, to, NULL);
    ck_assert_int_eq(chmod(path, 0600), 0);
    return path;
}

static size_t lines_of(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* Exit want and exactly one line on stderr holding every needle. */
static void assert_one_error(const struct kit_result *r, int got, int want, const char *a,
                             const char *b)
{
    ck_assert_msg(got == want, "exit %d, not %d\nstdout:\n%s\nstderr:\n%s", got, want, r->out,
                  r->err);
    ck_assert_msg(lines_of(r->err) == 1, "not one line on stderr:\n%s", r->err);
    kit_assert_has(r->err, a);
    if (b)
        kit_assert_has(r->err, b);
}

START_TEST(wrong_password_is_incomplete)
{
    kit_session("p801 20230801 --imported --dj --copy");
    const char *cfg = variant("wrongpass", "djpass", "not-the-password");
    struct kit_result r;
    int st = kit_mctctl(cfg, NULL, &r, "status-range", "--start-date", "20230801", "--end-date",
                        "20230801", NULL);
    assert_one_error(&r, st, 3,
                     "mctctl status-range: could not check 1 of 1 session: DataJoint "
                     "database",
                     "Access denied");
    kit_assert_has(r.out, "20230801    p801               4  ?   ✓       ✓         ✗");
    kit_result_free(&r);
    /* --json: the same in each session's "errors". */
    st = kit_mctctl(cfg, NULL, &r, "--json", "status-range", "--start-date", "20230801",
                    "--end-date", "20230801", NULL);
    ck_assert_int_eq(st, 3);
    kit_assert_has(r.out, "\"errors\":[\"DataJoint: DataJoint database");
    kit_result_free(&r);
    /* Fixed: exit 0, nothing on stderr. */
    st = kit_mctctl(NULL, NULL, &r, "status", "p801", "20230801", NULL);
    ck_assert_msg(st == 0 && !*r.err, "exit %d\n%s", st, r.err);
    kit_result_free(&r);
}
END_TEST

START_TEST(database_down_is_incomplete)
{
    kit_session("p802 20230802 --imported --dj --copy");
    ck_assert_int_eq(kit_lab_sh(&lab, "db-stop"), 0);
    struct kit_result r;
    int st = kit_mctctl(NULL, NULL, &r, "status", "p802", "20230802", NULL);
    ck_assert_int_eq(kit_lab_sh(&lab, "db-start"), 0);
    assert_one_error(&r, st, 3,
                     "mctctl status: could not check 1 of 1 session: DataJoint "
                     "database",
                     NULL);
    kit_assert_has(r.out, "Safe to delete: NO");
    kit_result_free(&r);
}
END_TEST

START_TEST(share_unmounted_is_incomplete)
{
    kit_session("p803 20230803 --imported --dj --copy");
    char bare[400];
    snprintf(bare, sizeof(bare), "%s/bare-share", lab.dir);
    ck_assert_int_eq(mkdir(bare, 0755), 0);
    const char *cfg = variant("bare", lab.share, bare);
    struct kit_result r;
    int st = kit_mctctl(cfg, NULL, &r, "status-range", "--start-date", "20230803", "--end-date",
                        "20230803", NULL);
    assert_one_error(&r, st, 3,
                     "could not check 1 of 1 session: destination 'lab share' "
                     "unreachable: ",
                     "is not a mount point");
    kit_result_free(&r);
}
END_TEST

START_TEST(wrong_path_structure_says_what_it_found)
{
    kit_session("p804 20230804 --imported --dj --copy");
    const char *cfg = variant("inverted", "\"{participant_id}/{session_date}\"",
                              "\"{session_date}/{participant_id}\"");
    struct kit_result r;
    int st = kit_mctctl(cfg, NULL, &r, "status-range", NULL);
    ck_assert_msg(st == 3, "exit %d\n%s", st, r.err);
    kit_assert_has(r.out, "No sessions on local disk");
    kit_assert_has(r.err, "no folder matched backup.source.path_structure "
                          "'{session_date}/{participant_id}' under ");
    kit_assert_has(r.err, "is path_structure inverted?");
    kit_result_free(&r);
}
END_TEST

START_TEST(folders_with_bad_dates_are_named)
{
    kit_session("p805 20230805 --imported --dj --copy");
    kit_plain_session("p805", "2023-08-06", 1, 100);
    kit_plain_session("p805", "20230231", 1, 100);
    struct kit_result r;
    int st = kit_mctctl(NULL, NULL, &r, "status-range", NULL);
    ck_assert_int_eq(
            kit_shell("rm -rf '%s/p805/2023-08-06' '%s/p805/20230231'", lab.data, lab.data), 0);
    ck_assert_msg(st == 3, "exit %d\n%s", st, r.err);
    kit_assert_has(r.err, "p805/2023-08-06: '2023-08-06' is not a date written YYYYMMDD");
    kit_assert_has(r.err, "p805/20230231: '20230231' is not a date written YYYYMMDD");
    kit_assert_has(r.out, "20230805    p805");
    kit_result_free(&r);
}
END_TEST

START_TEST(batch_syncs_a_folder_without_a_row)
{
    kit_plain_session("p806", "20230806", 2, 1000); /* no recordings.db row */
    struct kit_result r;
    int st = kit_mctctl(NULL, NULL, &r, "batch", "20230806", NULL);
    ck_assert_msg(st == 0, "exit %d\n%s%s", st, r.out, r.err);
    kit_assert_has(r.out, "p806 20230806: syncing (not in recordings.db");
    kit_assert_has(r.out, "1 session not in recordings.db");
    kit_result_free(&r);
    char copy[512], file[700];
    kit_dest_path("p806", "20230806", copy, sizeof(copy));
    snprintf(file, sizeof(file), "%s/trial_20230806_093000.json", copy);
    ck_assert(kit_exists(file));
}
END_TEST

START_TEST(nightly_batch_catches_up_an_old_session)
{
    /* Recorded years ago, never copied (the share was down): what the
     * timer runs copies it, whatever its age. */
    kit_session("p807 20200107 --imported --dj");
    char wrapper[600];
    snprintf(wrapper, sizeof(wrapper), "%s", getenv("MCTCTL_BATCH_RECENT"));
    char *argv[] = {"env", "-u", "MCTCTL_BATCH_DAYS", wrapper, "-c", lab.config, NULL};
    struct kit_result r;
    int st = kit_run(argv, NULL, &r);
    ck_assert_msg(st == 0, "exit %d\n%s%s", st, r.out, r.err);
    kit_assert_has(r.out, "p807 20200107: syncing");
    kit_result_free(&r);
    char copy[512];
    kit_dest_path("p807", "20200107", copy, sizeof(copy));
    ck_assert(kit_exists(copy));
    st = kit_mctctl(NULL, NULL, &r, "status", "p807", "20200107", NULL);
    kit_assert_has(r.out, "state: ✓ verified");
    kit_result_free(&r);
}
END_TEST

START_TEST(filtered_participant_is_refused)
{
    /* "x" is not in the lab's participant_prefixes: not managed. */
    kit_session("x808 20230808 --imported --dj --copy");
    struct kit_result r;
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "status", "x808", "20230808", NULL), 0);
    kit_assert_has(r.out, "Managed:       no");
    kit_assert_has(r.out, "Safe to delete: NO");
    kit_assert_has(r.out, "participant 'x808' is not managed");
    kit_result_free(&r);
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "--json", "status", "x808", "20230808", NULL), 0);
    kit_assert_has(r.out, "\"managed\":false");
    kit_result_free(&r);
    _cleanup_free_ char *before = kit_session_digest("x808", "20230808");
    int st = kit_mctctl(NULL, "DELETE\n", &r, "delete", "x808", "20230808", NULL);
    ck_assert_msg(st == 4, "exit %d\n%s", st, r.err);
    kit_assert_has(r.err, "not managed");
    kit_result_free(&r);
    _cleanup_free_ char *after = kit_session_digest("x808", "20230808");
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(kit_log_count("x808", "20230808", "refused"), 1);
    /* Named on purpose: deleted. */
    st = kit_mctctl(NULL, "DELETE\n", &r, "delete", "x808", "20230808", "--include-unmanaged",
                    NULL);
    ck_assert_msg(st == 0, "exit %d\n%s", st, r.err);
    /* The summary before "Type DELETE" is no dry run. */
    kit_assert_has(r.out, "Ready to delete ");
    kit_assert_lacks(r.out, "Dry run");
    kit_assert_lacks(r.out, "nothing deleted");
    kit_result_free(&r);
    ck_assert_int_eq(kit_log_count("x808", "20230808", "deleted"), 1);
}
END_TEST

/* In a child as uid nobody: open .control for writing; its errno. */
static int open_as_nobody(const char *path)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(100);
        int fd = open(path, O_WRONLY | O_TRUNC);
        _exit(fd >= 0 ? 0 : errno);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(every_refusal_is_in_the_deletion_log)
{
    /* mctctl delete: refused at the check before the confirmation. */
    kit_session("p809 20230809 --imported --copy");
    struct kit_result r;
    ck_assert_int_eq(kit_mctctl(NULL, "DELETE\n", &r, "delete", "p809", "20230809", NULL), 4);
    kit_result_free(&r);
    ck_assert_int_eq(kit_log_count("p809", "20230809", "refused"), 1);
    /* A dry run the user asked for logs nothing. */
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "delete", "p809", "20230809", "--dry-run", NULL),
                     4);
    kit_result_free(&r);
    ck_assert_int_eq(kit_log_count("p809", "20230809", "refused"), 1);

    /* The mount: a user who may not write .control. With an allow list
     * .control is writable by mode and mctfs itself checks the list (with
     * the default mode 0644 the kernel refuses before mctfs sees it). */
    ck_assert_int_eq(chmod(lab.dir, 0711), 0);
    const char *cfg = kit_config_variant("allow", NULL, NULL, "mount:\n  allow_uids: [4242]\n");
    ck_assert_int_eq(chmod(cfg, 0600), 0);
    struct kit_mount m;
    kit_mount_with(&m, cfg, "allow_other", NULL); /* its root has /data's mode */
    char ctl[700];
    kit_mpath(&m, ctl, sizeof(ctl), "p809/20230809/.control");
    ck_assert_int_eq(open_as_nobody(ctl), EACCES);
    ck_assert_int_eq(open_as_nobody(ctl), EACCES); /* within a minute: logged once */
    kit_unmount(&m);
    ck_assert_int_eq(chmod(lab.dir, 0700), 0);
    ck_assert_int_eq(kit_log_count("p809", "20230809", "refused"), 2);
    char dlog[400];
    snprintf(dlog, sizeof(dlog), "%s/deletions.log", lab.dir);
    _cleanup_free_ char *text = kit_slurp(dlog, NULL);
    kit_assert_has(text, "\"user\":\"nobody (uid 65534)\"");
    kit_assert_has(text, "may not write .control (Permission denied)");
}
END_TEST

START_TEST(a_second_mount_is_refused)
{
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    char *argv[] = {getenv("MCTFS"), "-c", lab.config, m.dir, NULL};
    struct kit_result r;
    int st = kit_run(argv, NULL, &r);
    ck_assert_msg(st != 0, "a second mctfs on %s: exit 0", m.dir);
    kit_assert_has(r.err, "is already an mctfs mount");
    kit_result_free(&r);
    char *grep[] = {"grep", "-c", m.dir, "/proc/self/mountinfo", NULL};
    kit_run(grep, NULL, &r);
    ck_assert_msg(atoi(r.out) == 1, "%s mounts on %s", r.out, m.dir);
    kit_result_free(&r);
    kit_unmount(&m);
    ck_assert(!kit_is_mounted(m.dir));
}
END_TEST

START_TEST(detached_mount_logs_to_a_file)
{
    char dir[400], log[420];
    snprintf(dir, sizeof(dir), "%s/detached", lab.dir);
    snprintf(log, sizeof(log), "%s/detached.log", lab.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    char *argv[] = {getenv("MCTFS"), "-c", lab.config, dir, "-o", NULL, NULL};
    char opt[500];
    snprintf(opt, sizeof(opt), "log_file=%s", log);
    argv[5] = opt;
    struct kit_result r;
    ck_assert_int_eq(kit_run(argv, NULL, &r), 0);
    kit_result_free(&r);
    ck_assert(kit_is_mounted(dir));
    /* Busy for a moment after the mount (mctfs raises its read-ahead). */
    char *umount[] = {"fusermount3", "-u", dir, NULL};
    int st = -1;
    for (int i = 0; i < 50 && st != 0; i++) {
        if (i)
            kit_sleep_ms(100);
        st = kit_run(umount, NULL, &r);
        kit_result_free(&r);
    }
    ck_assert_int_eq(st, 0);
    _cleanup_free_ char *text = NULL;
    for (int i = 0; i < 100 && !(text && strstr(text, "unmounted")); i++) {
        free(text);
        kit_sleep_ms(100);
        text = kit_slurp(log, NULL);
    }
    ck_assert_ptr_nonnull(text);
    kit_assert_has(text, "mctfs[");
    kit_assert_has(text, "]: mounted ");
    kit_assert_has(text, "]: unmounted ");
}
END_TEST

static void assert_ascii(const char *what, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        ck_assert_msg(*p < 0x80, "%s: byte 0x%02x at %zu:\n%s", what, *p,
                      (size_t)(p - (const unsigned char *)s), s);
}

START_TEST(lang_c_output_is_ascii)
{
    kit_session("p810 20230810 --imported --dj --copy");
    kit_session("p811 20230811 --imported");
    struct kit_result r;
    char *argv[] = {"env",      "LC_ALL=C",   "LANG=C",       getenv("MCTCTL"),
                    "-c",       lab.config,   "status-range", "--start-date",
                    "20230810", "--end-date", "20230811",     NULL};
    ck_assert_int_eq(kit_run(argv, NULL, &r), 0);
    assert_ascii("status-range", r.out);
    kit_assert_has(r.out, "20230810    p810               4  y   y       y         y");
    kit_assert_has(r.out, "20230811    p811               4  n   n       n         n");
    kit_result_free(&r);
    char *argv2[] = {"env",    "LC_ALL=C", getenv("MCTCTL"), "-c",        lab.config, "-vv",
                     "delete", "p811",     "20230811",       "--dry-run", NULL};
    ck_assert_int_eq(kit_run(argv2, NULL, &r), 4);
    assert_ascii("delete (stdout)", r.out);
    assert_ascii("delete (stderr)", r.err);
    kit_result_free(&r);
}
END_TEST

START_TEST(json_on_every_command)
{
    kit_session("p812 20230812 --imported --dj");
    struct kit_result r;
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "--json", "sync", "p812", "20230812", NULL), 0);
    kit_assert_starts(r.out, "{\"command\":\"sync\",\"participant\":\"p812\"");
    kit_assert_has(r.out, "\"result\":\"ok\"");
    ck_assert_uint_eq(lines_of(r.out), 1);
    kit_result_free(&r);
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "--json", "verify", "p812", "20230812", NULL), 0);
    kit_assert_starts(r.out, "{\"command\":\"verify\"");
    kit_result_free(&r);
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "--json", "batch", "20230812", NULL), 0);
    kit_assert_starts(r.out, "{\"dry_run\":false,\"start_date\":\"20230812\"");
    kit_assert_has(r.out, "\"result\":\"skipped-verified\"");
    kit_result_free(&r);
}
END_TEST

START_TEST(sync_dry_run_lists_what_it_would_copy)
{
    kit_session("p813 20230813 --imported --dj --videos 2");
    struct kit_result r;
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "sync", "p813", "20230813", "--dry-run", NULL), 0);
    kit_assert_has(r.out, "destination 'lab share': would copy trial_20230813_093000.22001.mp4");
    kit_assert_has(r.out, "destination 'lab share': would copy trial_20230813_093000.json");
    kit_assert_has(r.out, "3 to copy, nothing copied");
    kit_result_free(&r);
}
END_TEST

/* The shape of one JSON value: every key in order, and for a value its
 * kind: s(tring), n(umber), v (true, false or null: a check may be any),
 * objects and arrays (of the first element) recursively. Enough for one
 * line of the deletion log. */
static const char *json_shape(const char *p, struct mct_buf *out)
{
    p += strspn(p, " ");
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            p += *p == '\\' && p[1];
        mct_buf_puts(out, "s");
        return *p ? p + 1 : p;
    }
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        mct_buf_printf(out, "%c", *p++);
        for (bool first = true; *p && *p != close; first = false) {
            p += strspn(p, " ,");
            if (close == '}') {
                const char *k = p + 1, *e = strchr(k, '"');
                ck_assert_ptr_nonnull(e);
                mct_buf_printf(out, "%.*s:", (int)(e - k), k);
                p = e + 2; /* past '":' */
            }
            struct mct_buf skip = {0};
            p = json_shape(p, first || close == '}' ? out : &skip);
            mct_buf_free(&skip);
            if (close == '}')
                mct_buf_puts(out, ",");
        }
        mct_buf_printf(out, "%c", close);
        return *p ? p + 1 : p;
    }
    size_t n = strcspn(p, ",}]");
    mct_buf_puts(out, (*p == '-' || (*p >= '0' && *p <= '9')) ? "n" : "v");
    return p + n;
}

static char *shape_of(const char *json)
{
    struct mct_buf b = {0};
    json_shape(json, &b);
    return mct_buf_steal(&b);
}

/* The real line of the deletion log with the same result, via and
 * DataJoint state, with destinations or without as the sample. */
static char *real_line(const char *text, const char *sample)
{
    char result[64] = "", via[64] = "";
    const char *r = strstr(sample, "\"result\":\""), *v = strstr(sample, "\"via\":\"");
    ck_assert_msg(r && v, "sample without result or via: %s", sample);
    snprintf(result, sizeof(result), "%.*s", (int)strcspn(r, ","), r);
    snprintf(via, sizeof(via), "%.*s", (int)strcspn(v, ","), v);
    char dj[64] = "";
    const char *j = strstr(sample, "\"datajoint\":{\"state\":\"");
    ck_assert_ptr_nonnull(j);
    snprintf(dj, sizeof(dj), "%.*s", (int)strcspn(j, ","), j);
    bool empty_dests = strstr(sample, "\"destinations\":[]") != NULL;
    for (const char *l = text; l && *l;) {
        size_t len = strcspn(l, "\n");
        char *line = strndup(l, len);
        if (strstr(line, result) && strstr(line, via) && strstr(line, dj) &&
            empty_dests == (strstr(line, "\"destinations\":[]") != NULL))
            return line;
        free(line);
        l += len + (l[len] == '\n');
    }
    return NULL;
}

START_TEST(the_guides_log_samples_are_the_real_format)
{
    /* The lab's log holds a deletion (filtered_participant_is_refused) and
     * both kinds of refusal (every_refusal_is_in_the_deletion_log). */
    char dlog[400], guide[600];
    snprintf(dlog, sizeof(dlog), "%s/deletions.log", lab.dir);
    snprintf(guide, sizeof(guide), "%s/docs/admin-guide.md", getenv("MCT_SOURCE_ROOT"));
    _cleanup_free_ char *text = kit_slurp(dlog, NULL);
    _cleanup_free_ char *doc = kit_slurp(guide, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(doc);
    const char *sec = strstr(doc, "## 7. Reading the deletion log");
    ck_assert_ptr_nonnull(sec);
    size_t n = 0;
    for (const char *b = strstr(sec, "```json\n"); b; b = strstr(b, "```json\n")) {
        b += strlen("```json\n");
        _cleanup_free_ char *sample = strndup(b, strcspn(b, "\n"));
        _cleanup_free_ char *real = real_line(text, sample);
        ck_assert_msg(real, "no line in the lab's log like the guide's sample:\n%s\nlog:\n%s",
                      sample, text);
        _cleanup_free_ char *want = shape_of(real), *got = shape_of(sample);
        ck_assert_msg(streq(want, got), "the guide's sample\n%s\nis not the format of\n%s", sample,
                      real);
        n++;
    }
    ck_assert_uint_eq(n, 3);
}
END_TEST

static Suite *admin_suite(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("first week");
    tcase_add_unchecked_fixture(tc, kit_setup, kit_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, wrong_password_is_incomplete);
    tcase_add_test(tc, database_down_is_incomplete);
    tcase_add_test(tc, share_unmounted_is_incomplete);
    tcase_add_test(tc, wrong_path_structure_says_what_it_found);
    tcase_add_test(tc, folders_with_bad_dates_are_named);
    tcase_add_test(tc, batch_syncs_a_folder_without_a_row);
    tcase_add_test(tc, nightly_batch_catches_up_an_old_session);
    tcase_add_test(tc, filtered_participant_is_refused);
    tcase_add_test(tc, every_refusal_is_in_the_deletion_log);
    tcase_add_test(tc, a_second_mount_is_refused);
    tcase_add_test(tc, detached_mount_logs_to_a_file);
    tcase_add_test(tc, lang_c_output_is_ascii);
    tcase_add_test(tc, json_on_every_command);
    tcase_add_test(tc, sync_dry_run_lists_what_it_would_copy);
    tcase_add_test(tc, the_guides_log_samples_are_the_real_format);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(admin_suite());
}
