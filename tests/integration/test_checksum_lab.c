/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * verify_method: checksum and backup.required_copies against the real lab
 * (MariaDB, SQLite, tmpfs share, rsync), through mctctl: a same-size
 * corrupted copy, the hash cache's freshness, manifests that xxhsum reads,
 * audits after the deletion, and copies counted across two destinations.
 */
#include <check.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "kit.h"
#include "util.h"

/* The lab's config keeps the hash cache in $LAB/cache. */
static void config_checksum(void)
{
    kit_config_edit("verify_method: \"size\"", "verify_method: \"checksum\"");
}

/* A second destination: a tmpfs of its own (a folder on the source's
 * filesystem is no copy), checked without verify_mount. lab.sh down
 * unmounts it with the rest of the lab. */
static void config_second_destination(const char *required)
{
    _cleanup_free_ char *to = mct_strdup_printf("    - name: \"second\"\n"
                                                "      mount_point: \"%s/second\"\n"
                                                "      base_path: \"%s/second/backup\"\n"
                                                "      verify_mount: false\n"
                                                "  required_copies: %s\n"
                                                "  source:\n",
                                                lab.dir, lab.dir, required);
    kit_config_edit("  source:\n", to);
    _cleanup_free_ char *mnt = mct_strdup_printf("%s/second", lab.dir);
    _cleanup_free_ char *base = mct_strdup_printf("%s/second/backup", lab.dir);
    ck_assert_int_eq(mct_mkdir_p(mnt, 0755), 0);
    ck_assert_int_eq(mount("second", mnt, "tmpfs", 0, "size=64m"), 0);
    ck_assert_int_eq(mct_mkdir_p(base, 0755), 0);
}

static void second_path(const char *p, const char *d, char *out, size_t len)
{
    snprintf(out, len, "%s/second/backup/%s/%s", lab.dir, d, p);
}

static void copy_to_second(const char *p, const char *d)
{
    char src[512], dst[512];
    kit_source_path(p, d, src, sizeof(src));
    second_path(p, d, dst, sizeof(dst));
    ck_assert_int_eq(mct_mkdir_p(dst, 0755), 0);
    _cleanup_free_ char *s = mct_strdup_printf("%s/.", src);
    char *argv[] = {"cp", "-a", s, dst, NULL};
    struct kit_result r;
    ck_assert_int_eq(kit_run(argv, NULL, &r), 0);
    kit_result_free(&r);
    ck_assert_int_eq(kit_lab_sh(&lab, "marker %s %s %s", p, d, dst), 0);
}

/* Overwrite one byte in place: same size, and the mtime put back. */
static void flip_byte(const char *dir, const char *name)
{
    _cleanup_free_ char *path = mct_strdup_printf("%s/%s", dir, name);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    unsigned char c;
    ck_assert_int_eq(pread(fd, &c, 1, 100), 1);
    c ^= 0x01;
    ck_assert_int_eq(pwrite(fd, &c, 1, 100), 1);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    ck_assert_int_eq(futimens(fd, ts), 0);
    close(fd);
}

/* Rewrite a file with the same bytes and the same mtime: only ctime moves. */
static void rewrite_same(const char *dir, const char *name)
{
    _cleanup_free_ char *path = mct_strdup_printf("%s/%s", dir, name);
    _cleanup_free_ char *data = NULL;
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(mct_read_file(path, 1 << 20, &data), 0);
    struct timespec pause = {.tv_nsec = 20 * 1000000};
    nanosleep(&pause, NULL);
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, (size_t)st.st_size), st.st_size);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    ck_assert_int_eq(futimens(fd, ts), 0);
    close(fd);
}

static int mctctl(struct kit_result *r, const char *in, const char *a, const char *b, const char *c,
                  const char *d)
{
    return kit_mctctl(NULL, in, r, a, b, c, d, NULL);
}

/* `mctctl status P D --json`; the JSON, for strstr. */
static char *status_json(const char *p, const char *d)
{
    struct kit_result r;
    int st = mctctl(&r, NULL, "status", p, d, "--json");
    /* 3: a destination could not be checked (said in "errors"). */
    ck_assert_msg(st == 0 || st == 3, "status exit %d: %s", st, r.err);
    ck_assert_msg((st == 3) == !strstr(r.out, "\"errors\":[]"), "status exit %d: %s", st, r.out);
    char *out = strdup(r.out);
    kit_result_free(&r);
    return out;
}

static void assert_status(const char *p, const char *d, bool safe, const char *want)
{
    _cleanup_free_ char *js = status_json(p, d);
    const char *s = safe ? "\"safe_to_delete\":true" : "\"safe_to_delete\":false";
    ck_assert_msg(strstr(js, s), "%s/%s: want %s in\n%s", p, d, s, js);
    if (want)
        ck_assert_msg(strstr(js, want), "%s/%s: want \"%s\" in\n%s", p, d, want, js);
}

START_TEST(a_flipped_byte_is_seen_by_checksum_not_by_size)
{
    kit_session("p201 20240201 --imported --dj --copy");
    char src[512], dst[512];
    kit_source_path("p201", "20240201", src, sizeof(src));
    kit_dest_path("p201", "20240201", dst, sizeof(dst));
    flip_byte(dst, "trial_20240201_093000.22002.mp4");

    /* Sizes cannot see it: the size method calls the copy verified. */
    assert_status("p201", "20240201", true, "\"state\":\"verified\"");
    struct kit_result r;
    ck_assert_int_eq(mctctl(&r, NULL, "delete", "p201", "20240201", "--dry-run"), 0);
    kit_result_free(&r);

    config_checksum();
    assert_status("p201", "20240201", false, "content not yet verified by checksum");
    int st = mctctl(&r, NULL, "verify", "p201", "20240201", NULL);
    ck_assert_msg(st == 1, "verify exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, "content differs: trial_20240201_093000.22002.mp4"), "%s", r.out);
    ck_assert_msg(!strstr(r.out, "content differs: trial_20240201_093000.22001.mp4"), "%s", r.out);
    kit_result_free(&r);
    /* The verify left fresh hashes: the status now knows which file. */
    assert_status("p201", "20240201", false,
                  "content differs (XXH3-128): trial_20240201_093000.22002.mp4");
    assert_status("p201", "20240201", false, "\"state\":\"unverified\"");

    _cleanup_free_ char *before = kit_slurp_ok(lab.config, NULL);
    st = mctctl(&r, "DELETE\n", "delete", "p201", "20240201", NULL);
    ck_assert_msg(st == 4, "delete exit %d\n%s\n%s", st, r.out, r.err); /* refused */
    ck_assert_msg(strstr(r.err, "content differs") && strstr(r.err, "22002.mp4"), "%s", r.err);
    ck_assert(kit_exists(src));
    kit_result_free(&r);

    /* --checksum on the command line works under the size method too. */
    kit_write_file(lab.config, before);
    kit_config_edit("verify_method: \"checksum\"", "verify_method: \"size\"");
    st = mctctl(&r, NULL, "verify", "p201", "20240201", "--checksum");
    ck_assert_msg(st == 1 && strstr(r.out, "content differs: trial_20240201_093000.22002.mp4"),
                  "exit %d\n%s", st, r.out);
    kit_result_free(&r);
}
END_TEST

START_TEST(verify_writes_a_manifest_that_audits_the_deletion)
{
    kit_session("p202 20240202 --imported --dj --copy");
    config_checksum();
    char src[512], dst[512];
    kit_source_path("p202", "20240202", src, sizeof(src));
    kit_dest_path("p202", "20240202", dst, sizeof(dst));

    struct kit_result r;
    int st = mctctl(&r, NULL, "verify", "p202", "20240202", NULL);
    ck_assert_msg(st == 0, "verify exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, "verified by checksum (XXH3-128), 5 files"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "manifest of 5 XXH3-128 hashes written to"), "%s", r.out);
    kit_result_free(&r);
    assert_status("p202", "20240202", true, "\"state\":\"verified\"");

    /* The manifest sits next to the deletion log, not in the backup, and
     * xxhsum itself accepts it. */
    _cleanup_free_ char *manifest =
            mct_strdup_printf("%s/manifests/p202__20240202.xxh128", lab.dir);
    ck_assert_msg(kit_exists(manifest), "no %s", manifest);
    _cleanup_free_ char *text = kit_slurp_ok(manifest, NULL);
    ck_assert_msg(strstr(text, "  trial_20240202_093000.22001.mp4\n"), "%s", text);
    _cleanup_free_ char *cmd = mct_strdup_printf("cd '%s' && xxhsum -c '%s'", dst, manifest);
    char *sh[] = {"sh", "-c", cmd, NULL};
    st = kit_run(sh, NULL, &r);
    ck_assert_msg(st == 0, "xxhsum -c exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, "trial_20240202_093000.22004.mp4: OK"), "%s", r.out);
    kit_result_free(&r);

    st = mctctl(&r, "DELETE\n", "delete", "p202", "20240202", NULL);
    ck_assert_msg(st == 0, "delete exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert(!kit_exists(src));
    kit_result_free(&r);

    st = mctctl(&r, NULL, "audit", "p202", "20240202", NULL);
    ck_assert_msg(st == 0, "audit exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, "all 5 files match the manifest"), "%s", r.out);
    ck_assert_msg(!strstr(r.out, "extra in copy"), "%s", r.out);
    kit_result_free(&r);

    /* Files added to the copy since are named, as a warning: nothing of
     * the session is lost, so the audit still passes. */
    _cleanup_free_ char *notes = mct_strdup_printf("%s/notes.txt", dst);
    _cleanup_free_ char *sub = mct_strdup_printf("%s/later", dst);
    _cleanup_free_ char *subfile = mct_strdup_printf("%s/later/extra.bin", dst);
    kit_write_file(notes, "added on the share\n");
    ck_assert_int_eq(mct_mkdir_p(sub, 0755), 0);
    kit_write_file(subfile, "x");
    st = mctctl(&r, NULL, "audit", "p202", "20240202", NULL);
    ck_assert_msg(st == 0, "audit exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, "all 5 files match the manifest") &&
                          strstr(r.out, "2 extra in copy, not in the manifest"),
                  "%s", r.out);
    ck_assert_msg(strstr(r.out, "extra in copy (not in manifest): notes.txt\n"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "extra in copy (not in manifest): later/extra.bin\n"), "%s", r.out);
    ck_assert_msg(!strstr(r.out, "(not in manifest): trial_"), "%s", r.out);
    kit_result_free(&r);

    /* The copy rots after the local one is gone: a flipped byte, a file lost. */
    flip_byte(dst, "trial_20240202_093000.22003.mp4");
    _cleanup_free_ char *lost = mct_strdup_printf("%s/trial_20240202_093000.json", dst);
    ck_assert_int_eq(unlink(lost), 0);
    st = mctctl(&r, NULL, "audit", "p202", "20240202", NULL);
    ck_assert_msg(st == 1, "audit exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.err, "trial_20240202_093000.22003.mp4 differs from the manifest"), "%s",
                  r.err);
    ck_assert_msg(strstr(r.err, "missing from the copy at") &&
                          strstr(r.err, "trial_20240202_093000.json"),
                  "%s", r.err);
    ck_assert_msg(!strstr(r.err, "22001.mp4"), "%s", r.err);
    kit_result_free(&r);

    /* Usage and a session never verified. */
    ck_assert_int_eq(mctctl(&r, NULL, "audit", "p202", NULL, NULL), 2);
    kit_result_free(&r);
    ck_assert_int_eq(mctctl(&r, NULL, "audit", "p202", "20240202", "--bogus"), 2);
    kit_result_free(&r);
    st = mctctl(&r, NULL, "audit", "p299", "20240202", NULL);
    ck_assert_msg(st == 1 && strstr(r.err, "no manifest"), "exit %d\n%s", st, r.err);
    kit_result_free(&r);
}
END_TEST

START_TEST(a_cached_hash_is_stale_once_either_side_changes)
{
    kit_session("p203 20240203 --imported --dj --copy");
    config_checksum();
    char src[512], dst[512];
    kit_source_path("p203", "20240203", src, sizeof(src));
    kit_dest_path("p203", "20240203", dst, sizeof(dst));
    struct kit_result r;
    const char *stale = "content not yet verified by checksum (1 of 5 files";

    ck_assert_int_eq(mctctl(&r, NULL, "verify", "p203", "20240203", NULL), 0);
    kit_result_free(&r);
    assert_status("p203", "20240203", true, NULL);

    /* touch (mtime) of the source: stale until verified again. */
    _cleanup_free_ char *f1 = mct_strdup_printf("%s/trial_20240203_093000.22001.mp4", src);
    struct timespec old[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 7200}};
    ck_assert_int_eq(utimensat(AT_FDCWD, f1, old, 0), 0);
    assert_status("p203", "20240203", false, stale);
    ck_assert_int_eq(mctctl(&r, NULL, "verify", "p203", "20240203", NULL), 0);
    kit_result_free(&r);
    assert_status("p203", "20240203", true, NULL);

    /* A rewrite of the copy with the same bytes and mtime: only the ctime
     * says so, and that is enough. */
    rewrite_same(dst, "trial_20240203_093000.22004.mp4");
    assert_status("p203", "20240203", false, stale);
    ck_assert_int_eq(mctctl(&r, NULL, "verify", "p203", "20240203", NULL), 0);
    kit_result_free(&r);
    assert_status("p203", "20240203", true, NULL);

    /* A rewrite of the source the same way. */
    rewrite_same(src, "trial_20240203_093000.json");
    assert_status("p203", "20240203", false, stale);

    /* The cache is only an accelerator: without it the status cannot
     * prove content, and a deletion hashes both sides itself. */
    _cleanup_free_ char *cache = mct_strdup_printf("%s/cache", lab.dir);
    _cleanup_free_ char *cmd = mct_strdup_printf("rm -rf '%s'", cache);
    ck_assert_int_eq(system(cmd), 0);
    assert_status("p203", "20240203", false, "(5 of 5 files");
    int st = mctctl(&r, "DELETE\n", "delete", "p203", "20240203", NULL);
    ck_assert_msg(st == 0, "delete exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert(!kit_exists(src));
    kit_result_free(&r);
}
END_TEST

START_TEST(required_copies_are_counted_across_destinations)
{
    kit_session("p204 20240204 --imported --dj --copy");
    char src[512];
    kit_source_path("p204", "20240204", src, sizeof(src));
    _cleanup_free_ char *plain = kit_slurp_ok(lab.config, NULL);

    /* Two required, only the lab share holds a copy. */
    config_second_destination("2");
    assert_status("p204", "20240204", false, "destination 'second' missing");
    struct kit_result r;
    int st = mctctl(&r, "DELETE\n", "delete", "p204", "20240204", NULL);
    ck_assert_msg(st == 4, "delete exit %d\n%s\n%s", st, r.out, r.err); /* refused */
    ck_assert_msg(strstr(r.err, "no copy at") && strstr(r.err, "destination 'second'"), "%s",
                  r.err);
    ck_assert(kit_exists(src));
    kit_result_free(&r);

    /* One of two required: the missing second copy no longer blocks, and
     * the report still shows its state. */
    kit_write_file(lab.config, plain);
    config_second_destination("1");
    _cleanup_free_ char *js = status_json("p204", "20240204");
    ck_assert_msg(strstr(js, "\"safe_to_delete\":true") && strstr(js, "\"state\":\"missing\"") &&
                          strstr(js, "\"reasons\":[]"),
                  "%s", js);
    st = mctctl(&r, "DELETE\n", "delete", "p204", "20240204", NULL);
    ck_assert_msg(st == 0, "delete exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert(!kit_exists(src));
    kit_result_free(&r);

    /* One of two, the share unmounted, the second verified: safe. One of
     * two with nothing verified: not, and both destinations are named. */
    kit_session("p205 20240205 --imported --dj");
    copy_to_second("p205", "20240205");
    ck_assert_int_eq(kit_lab_sh(&lab, "share-umount"), 0);
    _cleanup_free_ char *js2 = status_json("p205", "20240205");
    ck_assert_int_eq(kit_lab_sh(&lab, "share-mount"), 0);
    ck_assert_msg(strstr(js2, "\"safe_to_delete\":true") &&
                          strstr(js2, "\"state\":\"unreachable\""),
                  "%s", js2);
    kit_session("p206 20240206 --imported --dj");
    assert_status("p206", "20240206", false, "fewer than 1 of 2 destinations hold a verified copy");
    assert_status("p206", "20240206", false, "destination 'second' missing");
    assert_status("p206", "20240206", false, "destination 'lab share' missing");

    /* More than there are destinations: a configuration error naming the key. */
    kit_write_file(lab.config, plain);
    config_second_destination("3");
    st = mctctl(&r, NULL, "status", "p206", "20240206", NULL);
    ck_assert_msg(st == 2 && strstr(r.err, "backup.required_copies: 3"), "exit %d\n%s", st, r.err);
    kit_result_free(&r);
}
END_TEST

START_TEST(sync_verifies_by_checksum)
{
    kit_session("p207 20240207 --imported --dj");
    config_checksum();
    struct kit_result r;
    int st = mctctl(&r, NULL, "sync", "p207", "20240207", NULL);
    ck_assert_msg(st == 0, "sync exit %d\n%s\n%s", st, r.out, r.err);
    ck_assert_msg(strstr(r.out, "verified by checksum (XXH3-128), 5 files"), "%s", r.out);
    kit_result_free(&r);
    assert_status("p207", "20240207", true, "\"state\":\"verified\"");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("checksum");
    TCase *tc = tcase_create("lab");
    tcase_add_checked_fixture(tc, kit_setup, kit_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, a_flipped_byte_is_seen_by_checksum_not_by_size);
    tcase_add_test(tc, verify_writes_a_manifest_that_audits_the_deletion);
    tcase_add_test(tc, a_cached_hash_is_stale_once_either_side_changes);
    tcase_add_test(tc, required_copies_are_counted_across_destinations);
    tcase_add_test(tc, sync_verifies_by_checksum);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(suite());
}
