/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File names chosen by the rig's user, against the real lab (MariaDB,
 * SQLite, tmpfs share, rsync, a real mount): a newline in a name must not
 * forge a line of .safe_to_delete, .control or the log; an escape sequence
 * must not reach the terminal through mctctl; bytes that are not UTF-8
 * must leave every JSON document valid UTF-8 and come back through
 * Python's surrogateescape; such a name must still verify by checksum;
 * and the deletion log names the user one way whichever way a deletion
 * came. Each test has its own participant.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "kit.h"
#include "operations.h"

#define DATE "20240301"

static const char forged[] = "a\nyes\noutcome: ok";
static const char forged_escaped[] = "a\\nyes\\noutcome: ok";

/* A file in the session's source folder only, three hours old (so no
 * age rule speaks), named by whatever bytes name holds. */
static void odd_file(const char *p, const char *name)
{
    char dir[512];
    kit_source_path(p, DATE, dir, sizeof(dir));
    _cleanup_free_ char *path = mct_path_join(dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
    ck_assert_int_eq(write(fd, "odd name\n", 9), 9);
    time_t when = time(NULL) - 3 * 3600;
    struct timespec ts[2] = {{.tv_sec = when}, {.tv_sec = when}};
    ck_assert_int_eq(futimens(fd, ts), 0);
    close(fd);
}

/* rsync the whole session to the share, as a sync would. */
static void copy_session(const char *p)
{
    char src[512], dst[512];
    kit_source_path(p, DATE, src, sizeof(src));
    kit_dest_path(p, DATE, dst, sizeof(dst));
    ck_assert_int_eq(mct_mkdir_p(dst, 0755), 0);
    _cleanup_free_ char *from = mct_strdup_printf("%s/", src);
    _cleanup_free_ char *to = mct_strdup_printf("%s/", dst);
    char *argv[] = {"rsync", "-a", from, to, NULL};
    struct kit_result r;
    ck_assert_msg(kit_run(argv, NULL, &r) == 0, "rsync: %s", r.err);
    kit_result_free(&r);
    ck_assert_int_eq(kit_lab_sh(&lab, "marker %s %s", p, DATE), 0);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; (s = strchr(s, '\n')); s++)
        n++;
    return n;
}

/* Is there a line that starts with prefix? */
static bool line_starts(const char *text, const char *prefix)
{
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (startswith(l, prefix))
            return true;
    return false;
}

#define assert_no_forged_line(text, what)                                                          \
    do {                                                                                           \
        ck_assert_msg(!line_starts((text), "yes"), "%s: a line starts with yes:\n%s", (what),      \
                      (text));                                                                     \
        ck_assert_msg(!line_starts((text), "outcome: ok"),                                         \
                      "%s: a line starts with outcome: ok:\n%s", (what), (text));                  \
    } while (0)

#define assert_no_byte(text, byte, what)                                                           \
    ck_assert_msg(!strchr((text), (byte)), "%s holds byte 0x%02x:\n%s", (what), (byte), (text))

/* python3 reads path with strict UTF-8 and a strict JSON parser (mode
 * "doc": one document; "lines": a document per line) and looks for a
 * string whose os.fsencode() holds the bytes want. */
static void assert_json_has_bytes(const char *mode, const char *path, const char *want)
{
    static const char script[] =
            "import json, os, sys\n"
            "mode, path, want = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])\n"
            "raw = open(path, 'rb').read()\n"
            "docs = [raw] if mode == 'doc' else [l for l in raw.split(b'\\n') if l]\n"
            "found = []\n"
            "def walk(v):\n"
            "    if isinstance(v, str):\n"
            "        if want in os.fsencode(v): found.append(v)\n"
            "    elif isinstance(v, list):\n"
            "        for x in v: walk(x)\n"
            "    elif isinstance(v, dict):\n"
            "        for x in v.values(): walk(x)\n"
            "for d in docs:\n"
            "    walk(json.loads(d.decode('utf-8')))\n"
            "sys.exit(0 if found else 3)\n";
    char spath[400], hex[256] = "";
    snprintf(spath, sizeof(spath), "%s/check_json.py", lab.dir);
    kit_write_file(spath, script);
    for (size_t i = 0; want[i] && 2 * i + 2 < sizeof(hex); i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)want[i]);
    char *argv[] = {"python3", spath, (char *)mode, (char *)path, hex, NULL};
    struct kit_result r;
    int st = kit_run(argv, NULL, &r);
    ck_assert_msg(st == 0, "%s is not strict UTF-8 JSON holding %s (exit %d):\n%s", path, hex, st,
                  r.err);
    kit_result_free(&r);
}

static void save(const char *name, const char *text, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", lab.dir, name);
    kit_write_file(path, text);
}

/* ---- a newline ---- */

START_TEST(newline_forges_no_line)
{
    kit_session("pn01 " DATE " --imported --dj --copy");
    odd_file("pn01", forged); /* not copied: the session is not safe */
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);

    _cleanup_free_ char *safe = kit_vfile(&m, "pn01", DATE, ".safe_to_delete");
    ck_assert_msg(count_lines(safe) == 1 && safe[strlen(safe) - 1] == '\n', "not one line:\n%s",
                  safe);
    kit_assert_starts(safe, "no");
    kit_assert_has(safe, forged_escaped);
    char path[700];
    kit_mpath(&m, path, sizeof(path), "pn01/%s/.safe_to_delete", DATE);
    char *grep[] = {"grep", "-qx", "yes", path, NULL};
    struct kit_result r;
    ck_assert_int_ne(kit_run(grep, NULL, &r), 0);
    kit_result_free(&r);

    _cleanup_free_ char *status = kit_vfile(&m, "pn01", DATE, ".status");
    assert_no_forged_line(status, ".status");
    kit_assert_has(status, forged_escaped);
    _cleanup_free_ char *backup = kit_vfile(&m, "pn01", DATE, ".backup_status");
    ck_assert_uint_eq(count_lines(backup), 1);
    kit_assert_has(backup, forged_escaped);

    /* A refused DELETE quotes the name in .control and in the log. */
    int err = 0;
    ck_assert_int_eq(kit_control_write(&m, "pn01", DATE, "DELETE\n", 7, &err), -1);
    ck_assert_int_eq(err, EPERM);
    _cleanup_free_ char *ctl = kit_vfile(&m, "pn01", DATE, ".control");
    kit_assert_has(ctl, "\noutcome: refused\n");
    assert_no_forged_line(ctl, ".control");
    kit_assert_has(ctl, forged_escaped);
    ck_assert_uint_eq(count_lines(ctl), 6);

    /* The verification logs each missing file (info level). */
    ck_assert_int_eq(kit_control_write(&m, "pn01", DATE, "VERIFY\n", 7, &err), -1);
    kit_unmount(&m);
    _cleanup_free_ char *log = kit_slurp(m.log, NULL);
    ck_assert_ptr_nonnull(log);
    assert_no_forged_line(log, "the mctfs log");
    kit_assert_has(log, forged_escaped);
}
END_TEST

/* ---- escape sequences ---- */

START_TEST(escape_sequences_stay_off_the_terminal)
{
    kit_session("pe01 " DATE " --imported --dj --copy");
    odd_file("pe01", "red\x1b[31mALERT\x1b]0;owned\x07.txt");
    odd_file("pe01", "zc1\xc2\x9b"
                     "31mcsi.txt");
    struct kit_result r;

    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "status", "pe01", DATE, NULL), 0);
    assert_no_byte(r.out, 0x1b, "mctctl status");
    assert_no_byte(r.err, 0x1b, "mctctl status (stderr)");
    kit_assert_has(r.out, "Safe to delete: NO");
    /* The first missing file is named. */
    kit_assert_has(r.out, "red\\x1b[31mALERT\\x1b]0;owned\\x07.txt");
    kit_result_free(&r);

    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "verify", "pe01", DATE, NULL), 1);
    assert_no_byte(r.out, 0x1b, "mctctl verify");
    assert_no_byte(r.err, 0x1b, "mctctl verify (stderr)");
    ck_assert_msg(!strstr(r.out, "\xc2\x9b") && !strstr(r.err, "\xc2\x9b"), "C1 CSI printed");
    kit_assert_has(r.out, "red\\x1b[31mALERT\\x1b]0;owned\\x07.txt");
    kit_assert_has(r.out, "zc1\\xc2\\x9b31mcsi.txt");
    kit_result_free(&r);

    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "delete", "--dry-run", "pe01", DATE, NULL), 4);
    assert_no_byte(r.out, 0x1b, "mctctl delete");
    assert_no_byte(r.err, 0x1b, "mctctl delete (stderr)");
    kit_assert_has(r.err, "red\\x1b[31mALERT");
    kit_result_free(&r);

    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "bulk-delete", "--dry-run", "--start-date", DATE,
                                "--end-date", DATE, NULL),
                     0);
    assert_no_byte(r.out, 0x1b, "mctctl bulk-delete");
    assert_no_byte(r.err, 0x1b, "mctctl bulk-delete (stderr)");
    kit_result_free(&r);
}
END_TEST

/* ---- bytes that are not UTF-8 ---- */

START_TEST(non_utf8_name_is_valid_json)
{
    static const char name[] = "bad\xff\xfe name\xc3.txt";
    kit_session("pu01 " DATE " --imported --dj --copy");
    odd_file("pu01", name);

    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    char path[700];
    kit_mpath(&m, path, sizeof(path), "pu01/%s/.status.json", DATE);
    assert_json_has_bytes("doc", path, name);
    kit_mpath(&m, path, sizeof(path), ".status.json");
    assert_json_has_bytes("doc", path, name);
    _cleanup_free_ char *text = kit_vfile(&m, "pu01", DATE, ".status");
    kit_assert_has(text, "bad\\xff\\xfe name\\xc3.txt");
    kit_unmount(&m);

    struct kit_result r;
    char saved[450];
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "--json", "status", "pu01", DATE, NULL), 0);
    save("pu01-status.json", r.out, saved, sizeof(saved));
    kit_result_free(&r);
    assert_json_has_bytes("doc", saved, name);

    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "--json", "status", DATE, NULL), 0);
    save("pu01-day.json", r.out, saved, sizeof(saved));
    kit_result_free(&r);
    assert_json_has_bytes("doc", saved, name);

    ck_assert_int_eq(
            kit_mctctl(NULL, NULL, &r, "--json", "delete", "--dry-run", "pu01", DATE, NULL), 4);
    save("pu01-delete.json", r.out, saved, sizeof(saved));
    kit_result_free(&r);
    assert_json_has_bytes("doc", saved, name);
}
END_TEST

START_TEST(deletion_log_is_utf8_json)
{
    /* One odd name per session: a refusal names the first file a rule
     * met, so each name gets a line of its own. */
    static const char *const ids[] = {"pl01", "pl02", "pl03"};
    static const char *const names[] = {"\xff\xfe", "nl\nname", "esc\x1b[1m"};
    for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
        kit_session("%s " DATE " --imported --dj --copy", ids[i]);
        odd_file(ids[i], names[i]);
    }
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
        int err = 0;
        ck_assert_int_eq(kit_control_write(&m, ids[i], DATE, "DELETE\n", 7, &err), -1);
        ck_assert_int_eq(err, EPERM);
    }
    kit_unmount(&m);

    char path[400];
    snprintf(path, sizeof(path), "%s/deletions.log", lab.dir);
    _cleanup_free_ char *log = kit_slurp(path, NULL);
    ck_assert_ptr_nonnull(log);
    assert_no_byte(log, 0x1b, "the deletion log");
    for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
        ck_assert_uint_eq(kit_log_count(ids[i], DATE, "refused"), 1);
        assert_json_has_bytes("lines", path, names[i]);
    }
}
END_TEST

/* ---- one user format ---- */

/* The "user" value of the deletion log's line about participant p. */
static char *logged_user(const char *p)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/deletions.log", lab.dir);
    _cleanup_free_ char *log = kit_slurp(path, NULL);
    ck_assert_ptr_nonnull(log);
    _cleanup_free_ char *key = mct_strdup_printf("\"participant\":\"%s\"", p);
    for (char *l = log; l && *l;) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = '\0';
        const char *u = strstr(l, "\"user\":\"");
        if (strstr(l, key) && u) {
            u += strlen("\"user\":\"");
            return strndup(u, strcspn(u, "\""));
        }
        l = nl ? nl + 1 : NULL;
    }
    ck_abort_msg("no deletion log line about %s", p);
    return NULL;
}

START_TEST(the_deletion_log_names_the_user_in_one_format)
{
    kit_session("pw01 " DATE " --imported --dj --copy");
    kit_session("pw02 " DATE " --imported --dj --copy");
    struct kit_result r;
    ck_assert_msg(kit_mctctl(NULL, "DELETE\n", &r, "delete", "pw01", DATE, NULL) == 0, "%s", r.err);
    kit_result_free(&r);

    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    int err = 0;
    ck_assert_msg(kit_control_write(&m, "pw02", DATE, "DELETE\n", 7, &err) == 7, "DELETE: %s",
                  strerror(err));
    kit_unmount(&m);

    char want[MCT_USER_MAX];
    mct_describe_user(getuid(), want, sizeof(want));
    ck_assert(strstr(want, "(uid "));
    _cleanup_free_ char *by_cli = logged_user("pw01");
    _cleanup_free_ char *by_mount = logged_user("pw02");
    ck_assert_str_eq(by_cli, want);
    ck_assert_str_eq(by_mount, want);
}
END_TEST

/* ---- the hash cache ---- */

START_TEST(checksum_verifies_a_name_with_a_newline)
{
    const char *cfg = kit_config_variant("checksum", "verify_method: \"size\"",
                                         "verify_method: \"checksum\"", NULL);
    kit_session("pc01 " DATE " --imported --dj");
    odd_file("pc01", "two\nlines.txt");
    odd_file("pc01", "back\\slash\\n\xff.txt");
    copy_session("pc01");
    struct kit_result r;
    int st = kit_mctctl(cfg, NULL, &r, "verify", "--checksum", "pc01", DATE, NULL);
    ck_assert_msg(st == 0, "verify --checksum: exit %d\n%s%s", st, r.out, r.err);
    kit_result_free(&r);

    ck_assert_int_eq(kit_mctctl(cfg, NULL, &r, "status", "pc01", DATE, NULL), 0);
    kit_assert_has(r.out, "state: ✓ verified");
    kit_assert_has(r.out, "Safe to delete: YES");
    kit_result_free(&r);
}
END_TEST

static Suite *names_suite(void)
{
    Suite *s = suite_create("names");
    TCase *tc = tcase_create("names");
    tcase_add_unchecked_fixture(tc, kit_setup, kit_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, newline_forges_no_line);
    tcase_add_test(tc, escape_sequences_stay_off_the_terminal);
    tcase_add_test(tc, non_utf8_name_is_valid_json);
    tcase_add_test(tc, deletion_log_is_utf8_json);
    tcase_add_test(tc, the_deletion_log_names_the_user_in_one_format);
    tcase_add_test(tc, checksum_verifies_a_name_with_a_newline);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(names_suite());
}
