/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copies that cannot be faked: whoever may write to the share (or can
 * point a destination at the source through another mount) must never
 * make a session read "safe" that exists nowhere else. Each test sets up
 * the lab as an attacker or an unlucky admin would, then checks that sync
 * writes nothing where it must not, the status is not safe with the
 * reason named, a deletion is refused and every local byte is still
 * there.
 */
#include <check.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit.h"

/* delete P D must be refused (exit 4) with the reason, and lose nothing. */
static void assert_not_deleted(const char *config, const char *p, const char *d, const char *why)
{
    _cleanup_free_ char *before = kit_session_digest(p, d);
    struct kit_result r;
    int st = kit_mctctl(config, "DELETE\n", &r, "delete", p, d, NULL);
    ck_assert_msg(st == 4, "delete %s %s: exit %d\n%s%s", p, d, st, r.out, r.err);
    kit_assert_has(r.err, why);
    kit_assert_has(r.err, "Nothing was deleted");
    kit_result_free(&r);
    _cleanup_free_ char *after = kit_session_digest(p, d);
    ck_assert_str_eq(before, after);
    ck_assert_uint_eq(kit_log_count(p, d, "deleted"), 0);
}

/* mctctl status P D: not safe, with why in the report. */
static void assert_not_safe(const char *config, const char *p, const char *d, const char *why)
{
    struct kit_result r;
    int st = kit_mctctl(config, NULL, &r, "status", p, d, NULL);
    ck_assert_msg(st == 0 || st == 1, "status: exit %d\n%s", st, r.err);
    kit_assert_has(r.out, "Safe to delete: NO");
    kit_assert_has(r.out, why);
    kit_result_free(&r);
}

static void assert_safe(const char *config, const char *p, const char *d)
{
    struct kit_result r;
    int st = kit_mctctl(config, NULL, &r, "status", p, d, NULL);
    ck_assert_msg(st == 0, "status %s %s: exit %d\n%s%s", p, d, st, r.out, r.err);
    kit_assert_has(r.out, "Safe to delete: YES");
    kit_result_free(&r);
}

static void symlink_or_die(const char *target, const char *link)
{
    ck_assert_msg(symlink(target, link) == 0, "symlink %s -> %s: %s", link, target,
                  strerror(errno));
}

START_TEST(a_symlink_on_the_share_never_redirects_a_sync)
{
    /* A share user points p201's copy folder at p202's local session. */
    kit_session("p201 20240201 --imported --dj");
    kit_session("p202 20240201 --imported --dj --videos 2");
    _cleanup_free_ char *p202_before = kit_session_digest("p202", "20240201");
    char src202[512], dst201[512], day[512];
    kit_source_path("p202", "20240201", src202, sizeof(src202));
    kit_dest_path("p201", "20240201", dst201, sizeof(dst201));
    snprintf(day, sizeof(day), "%s/20240201", lab.dest_base);
    ck_assert_int_eq(mct_mkdir_p(day, 0755), 0);
    symlink_or_die(src202, dst201);

    struct kit_result r;
    int st = kit_mctctl(NULL, NULL, &r, "sync", "p201", "20240201", NULL);
    ck_assert_msg(st == 4, "sync: exit %d\n%s%s", st, r.out, r.err);
    kit_assert_has(r.err, "unsafe: symlink at ");
    kit_assert_has(r.err, dst201);
    kit_result_free(&r);

    _cleanup_free_ char *p202_after = kit_session_digest("p202", "20240201");
    ck_assert_str_eq(p202_before, p202_after);
    assert_not_safe(NULL, "p201", "20240201", "unsafe");
    assert_not_deleted(NULL, "p201", "20240201", "symlink at");

    /* Higher up the same: the date folder itself a symlink. */
    kit_session("p203 20240202 --imported --dj");
    char day2[512], elsewhere[512];
    snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", lab.share);
    ck_assert_int_eq(mct_mkdir_p(elsewhere, 0755), 0);
    snprintf(day2, sizeof(day2), "%s/20240202", lab.dest_base);
    symlink_or_die(elsewhere, day2);
    st = kit_mctctl(NULL, NULL, &r, "sync", "p203", "20240202", NULL);
    ck_assert_msg(st == 4, "sync: exit %d\n%s%s", st, r.out, r.err);
    kit_assert_has(r.err, "unsafe: symlink at ");
    kit_result_free(&r);
    ck_assert_uint_eq(kit_count_entries(elsewhere, true), 0);
}
END_TEST

START_TEST(a_copy_folder_that_is_a_symlink_to_the_source_is_unsafe)
{
    kit_session("p211 20240211 --imported --dj");
    char src[512], dst[512], day[512];
    kit_source_path("p211", "20240211", src, sizeof(src));
    kit_dest_path("p211", "20240211", dst, sizeof(dst));
    snprintf(day, sizeof(day), "%s/20240211", lab.dest_base);
    ck_assert_int_eq(mct_mkdir_p(day, 0755), 0);
    symlink_or_die(src, dst);
    /* Even with a marker (the folder it points to is the source). */
    ck_assert_int_eq(kit_lab_sh(&lab, "marker p211 20240211 %s", src), 0);
    assert_not_safe(NULL, "p211", "20240211", "unsafe: symlink at");
    assert_not_deleted(NULL, "p211", "20240211", "symlink at");
    char marker[600];
    snprintf(marker, sizeof(marker), "%s/.mctfs-copy", src);
    unlink(marker);
}
END_TEST

START_TEST(a_copy_says_whose_it_is)
{
    kit_session("p221 20240221 --imported --dj");
    kit_session("p222 20240221 --imported --dj");
    struct kit_result r;
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "sync", "p221", "20240221", NULL), 0);
    kit_result_free(&r);
    char dst[512], marker[600];
    kit_dest_path("p221", "20240221", dst, sizeof(dst));
    snprintf(marker, sizeof(marker), "%s/.mctfs-copy", dst);
    _cleanup_free_ char *text = kit_slurp(marker, NULL);
    ck_assert_ptr_nonnull(text);
    kit_assert_has(text, "participant_id: p221\n");
    kit_assert_has(text, "session_date: 20240221\n");
    assert_safe(NULL, "p221", "20240221");

    /* A copy without a marker (the old shell tool's) is only unverified,
     * until a sync adds the marker (copying nothing). */
    ck_assert_int_eq(unlink(marker), 0);
    assert_not_safe(NULL, "p221", "20240221", "no .mctfs-copy marker");
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "sync", "p221", "20240221", NULL), 0);
    kit_result_free(&r);
    assert_safe(NULL, "p221", "20240221");

    /* p222's folder holding a marker that names p221: sync refuses to
     * write there and the status names whose copy it is. */
    char dst2[512];
    kit_dest_path("p222", "20240221", dst2, sizeof(dst2));
    ck_assert_int_eq(mct_mkdir_p(dst2, 0755), 0);
    ck_assert_int_eq(kit_lab_sh(&lab, "marker p221 20240221 %s", dst2), 0);
    int st = kit_mctctl(NULL, NULL, &r, "sync", "p222", "20240221", NULL);
    ck_assert_msg(st == 4, "sync: exit %d\n%s%s", st, r.out, r.err);
    kit_assert_has(r.err, "holds another session's copy (p221 20240221)");
    kit_result_free(&r);
    ck_assert_uint_eq(kit_count_entries(dst2, true), 1); /* the marker only */
    assert_not_safe(NULL, "p222", "20240221", "holds another session's copy (p221 20240221");
}
END_TEST

/* The lab with its share replaced by a case-folding FUSE share (as SMB). */
static const char *folding_share(char *mnt, size_t len)
{
    char backing[400];
    snprintf(backing, sizeof(backing), "%s/fold-backing", lab.dir);
    ck_assert_int_eq(mct_mkdir_p(backing, 0755), 0);
    pid_t pid = kit_foldfs_start(backing, mnt, len);
    ck_assert_int_gt(pid, 0);
    char base[600];
    snprintf(base, sizeof(base), "%s/mobile_system_data", mnt);
    ck_assert_int_eq(mkdir(base, 0755), 0);
    return kit_config_variant("folding", lab.share, mnt, NULL);
}

START_TEST(ids_that_differ_in_case_never_share_a_copy)
{
    char mnt[400];
    const char *cfg = folding_share(mnt, sizeof(mnt));
    kit_session("sA02 20240301 --imported --dj");
    kit_session("sa02 20240301 --imported --videos 3 --size 2000");
    _cleanup_free_ char *sa02_before = kit_session_digest("sa02", "20240301");

    struct kit_result r;
    int st = kit_mctctl(cfg, NULL, &r, "sync", "sA02", "20240301", NULL);
    ck_assert_msg(st == 0, "sync sA02: exit %d\n%s%s", st, r.out, r.err);
    kit_result_free(&r);
    char copy[700];
    snprintf(copy, sizeof(copy), "%s/mobile_system_data/20240301/sA02", mnt);
    _cleanup_free_ char *copy_before = kit_tree_digest(copy);

    /* On the share sa02 IS sA02's folder: the second sync must not
     * overwrite sA02's same-named files. */
    st = kit_mctctl(cfg, NULL, &r, "sync", "sa02", "20240301", NULL);
    ck_assert_msg(st == 4, "sync sa02: exit %d\n%s%s", st, r.out, r.err);
    kit_assert_has(r.err, "holds another session's copy (sA02 20240301)");
    kit_result_free(&r);
    _cleanup_free_ char *copy_after = kit_tree_digest(copy);
    ck_assert_str_eq(copy_before, copy_after);

    /* Both are reported, neither is safe. */
    assert_not_safe(cfg, "sa02", "20240301", "holds another session's copy (sA02");
    assert_not_safe(cfg, "sA02", "20240301", "the share ignores case");
    assert_not_deleted(cfg, "sA02", "20240301", "ignores case");
    _cleanup_free_ char *sa02_after = kit_session_digest("sa02", "20240301");
    ck_assert_str_eq(sa02_before, sa02_after);
}
END_TEST

START_TEST(upper_case_ids_never_borrow_rows)
{
    /* p105's rows are under DataJoint's "105"; P105 is someone else. */
    kit_session("p105 20240105 --imported --dj --copy");
    kit_session("P105 20240105 --imported --copy");
    assert_safe(NULL, "p105", "20240105");
    assert_not_safe(NULL, "P105", "20240105", "not in DataJoint");
    assert_not_deleted(NULL, "P105", "20240105", "not in DataJoint");
}
END_TEST

/* The lab's config with each from[i] replaced by to[i] (NULL-terminated),
 * as NAME.yaml in the lab. */
static const char *config_with(const char *name, const char *const *from, const char *const *to)
{
    static char path[400];
    _cleanup_free_ char *text = kit_slurp(lab.config, NULL);
    ck_assert_ptr_nonnull(text);
    for (size_t i = 0; from[i]; i++) {
        char *hit = strstr(text, from[i]);
        ck_assert_msg(hit, "\"%s\" not in the lab's config", from[i]);
        char *next = mct_strdup_printf("%.*s%s%s", (int)(hit - text), text, to[i],
                                       hit + strlen(from[i]));
        free(text);
        text = next;
    }
    snprintf(path, sizeof(path), "%s/%s.yaml", lab.dir, name);
    kit_write_file(path, text);
    return path;
}

START_TEST(the_source_through_a_mount_is_not_a_copy)
{
    /* mctfs over the lab's own /data, and a destination pointing at it:
     * every file "matches" because it is the very same file. */
    kit_session("p231 20240131 --imported --dj");
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);
    _cleanup_free_ char *mp = mct_strdup_printf("mount_point: \"%s\"", m.dir);
    _cleanup_free_ char *bp = mct_strdup_printf("base_path: \"%s\"", m.dir);
    _cleanup_free_ char *old_mp = mct_strdup_printf("mount_point: \"%s\"", lab.share);
    _cleanup_free_ char *old_bp = mct_strdup_printf("base_path: \"%s\"", lab.dest_base);
    const char *from[] = {old_mp, old_bp, "\"{session_date}/{participant_id}\"", NULL};
    const char *to[] = {mp, bp, "\"{participant_id}/{session_date}\"", NULL};
    const char *cfg = config_with("viamount", from, to);

    assert_not_safe(cfg, "p231", "20240131", "not a copy: ");
    assert_not_safe(cfg, "p231", "20240131", "is an mctfs mount");
    assert_not_deleted(cfg, "p231", "20240131", "is an mctfs mount");
    struct kit_result r;
    int st = kit_mctctl(cfg, NULL, &r, "sync", "p231", "20240131", NULL);
    ck_assert_msg(st == 4, "sync: exit %d\n%s%s", st, r.out, r.err);
    kit_assert_has(r.err, "not a copy");
    kit_result_free(&r);
    kit_unmount(&m);
}
END_TEST

START_TEST(the_source_through_an_overlay_is_not_a_copy)
{
    /* An overlay whose lower layer is /data: the session's files under
     * another device, with a marker in the upper layer. */
    kit_session("p232 20240122 --imported --dj");
    char dirs[4][450];
    const char *names[] = {"ovl-upper", "ovl-work", "ovl", NULL};
    for (int i = 0; names[i]; i++) {
        snprintf(dirs[i], sizeof(dirs[i]), "%s/%s", lab.dir, names[i]);
        ck_assert_int_eq(mkdir(dirs[i], 0755), 0);
    }
    _cleanup_free_ char *opts =
            mct_strdup_printf("lowerdir=%s,upperdir=%s,workdir=%s", lab.data, dirs[0], dirs[1]);
    ck_assert_int_eq(mount("overlay", dirs[2], "overlay", 0, opts), 0);
    char marked[600];
    snprintf(marked, sizeof(marked), "%s/p232/20240122", dirs[2]);
    ck_assert_int_eq(kit_lab_sh(&lab, "marker p232 20240122 %s", marked), 0);
    _cleanup_free_ char *mp = mct_strdup_printf("mount_point: \"%s\"", dirs[2]);
    _cleanup_free_ char *bp = mct_strdup_printf("base_path: \"%s\"", dirs[2]);
    _cleanup_free_ char *old_mp = mct_strdup_printf("mount_point: \"%s\"", lab.share);
    _cleanup_free_ char *old_bp = mct_strdup_printf("base_path: \"%s\"", lab.dest_base);
    const char *from[] = {old_mp, old_bp, "\"{session_date}/{participant_id}\"", NULL};
    const char *to[] = {mp, bp, "\"{participant_id}/{session_date}\"", NULL};
    const char *cfg = config_with("overlay", from, to);

    assert_not_safe(cfg, "p232", "20240122", "has its source file's inode number");
    assert_not_deleted(cfg, "p232", "20240122", "inode number");
    ck_assert_int_eq(umount2(dirs[2], MNT_DETACH), 0);
}
END_TEST

/* A second destination (verify_mount as given) and required_copies 2. */
static const char *config_two_copies(const char *name, const char *mount_point,
                                     const char *base_path)
{
    _cleanup_free_ char *to = mct_strdup_printf("    - name: \"twin\"\n"
                                                "      mount_point: \"%s\"\n"
                                                "      base_path: \"%s\"\n"
                                                "      path_structure: \"{session_date}/"
                                                "{participant_id}\"\n"
                                                "  required_copies: 2\n"
                                                "  source:\n",
                                                mount_point, base_path);
    const char *from[] = {"  source:\n", NULL};
    const char *tov[] = {to, NULL};
    return config_with(name, from, tov);
}

START_TEST(one_folder_counts_once)
{
    kit_session("p241 20240114 --imported --dj --copy");
    assert_safe(NULL, "p241", "20240114");

    /* The same destination listed twice. */
    const char *twice = config_two_copies("twice", lab.share, lab.dest_base);
    assert_not_safe(twice, "p241", "20240114", "is the same folder as destination 'lab share'");
    assert_not_deleted(twice, "p241", "20240114", "one folder counts once");

    /* The share bind-mounted at a second place. */
    char bind[400], bind_base[450];
    snprintf(bind, sizeof(bind), "%s/share-again", lab.dir);
    snprintf(bind_base, sizeof(bind_base), "%s/mobile_system_data", bind);
    ck_assert_int_eq(mkdir(bind, 0755), 0);
    ck_assert_int_eq(mount(lab.share, bind, NULL, MS_BIND, NULL), 0);
    const char *bound = config_two_copies("bound", bind, bind_base);
    assert_not_safe(bound, "p241", "20240114", "is the same folder as destination 'lab share'");
    assert_not_deleted(bound, "p241", "20240114", "one folder counts once");
    ck_assert_int_eq(umount2(bind, MNT_DETACH), 0);
}
END_TEST

Suite *suite(void);
Suite *suite(void)
{
    Suite *s = suite_create("copy identity");
    TCase *tc = tcase_create("share");
    tcase_add_checked_fixture(tc, kit_setup, kit_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, a_symlink_on_the_share_never_redirects_a_sync);
    tcase_add_test(tc, a_copy_folder_that_is_a_symlink_to_the_source_is_unsafe);
    tcase_add_test(tc, a_copy_says_whose_it_is);
    tcase_add_test(tc, ids_that_differ_in_case_never_share_a_copy);
    tcase_add_test(tc, upper_case_ids_never_borrow_rows);
    tcase_add_test(tc, the_source_through_a_mount_is_not_a_copy);
    tcase_add_test(tc, the_source_through_an_overlay_is_not_a_copy);
    tcase_add_test(tc, one_folder_counts_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(suite());
}
