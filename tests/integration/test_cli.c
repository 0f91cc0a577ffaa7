/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl's non-deleting commands against real parts: a private MariaDB
 * with the DataJoint tables, the rig's SQLite file, a tmpfs share and the
 * real rsync. Every test uses its own participant/date so the tests of one
 * lab do not see each other's sessions (except where a range says so).
 */
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "kit.h"
#include "util.h"

/* A config like the lab's with one destination whose mount point is a
 * plain folder: the share is "not mounted". */
static void write_unmounted_config(const char *path, const char *mnt)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "backup:\n"
            "  destinations:\n"
            "    - name: unmounted share\n"
            "      mount_point: %s\n"
            "      base_path: %s/mobile_system_data\n"
            "      path_structure: \"{session_date}/{participant_id}\"\n"
            "  source:\n"
            "    base_path: %s\n"
            "    path_structure: \"{participant_id}/{session_date}\"\n"
            "  filters:\n"
            "    participant_prefixes: [\"m\", \"p\", \"b\", \"s\", \"TR\", \"TF\"]\n"
            "    exclude_patterns: [\"*.tmp\", \"*.lock\"]\n"
            "datajoint:\n"
            "  socket: %s\n"
            "  user: dj\n"
            "  password: djpass\n"
            "timeouts:\n"
            "  share_seconds: 2\n"
            "  database_seconds: 2\n"
            "service:\n"
            "  lock_dir: %s/locks\n",
            mnt, mnt, lab.data, lab.socket, lab.dir);
    fclose(f);
}

#define CTL(res, ...) kit_mctctl(NULL, NULL, res, __VA_ARGS__, NULL)

START_TEST(status_range_shows_every_state_of_every_column)
{
    kit_session("p101 20240301 --imported --dj --copy"); /* all ✓ (p101 is 101 in DJ) */
    kit_session("p102 20240302 --imported --copy");      /* DJ ✗ */
    kit_session("p103 20240303 --imported --dj");        /* no copy */
    kit_session("TF47 20240304 --imported --dj --copy"); /* short copy below */
    kit_session("x999 20240305 --imported --dj --copy"); /* filtered out by prefix */
    char copy[512];
    kit_dest_path("TF47", "20240304", copy, sizeof(copy));
    ck_assert_int_eq(kit_shell("truncate -s -1 %s/trial_20240304_093000.22001.mp4", copy), 0);

    struct kit_result r = {0};
    ck_assert_int_eq(CTL(&r, "status-range", "--start-date", "20240301", "--end-date", "20240305"),
                     0);
    ck_assert_msg(strstr(r.out, "20240301    p101               4  ✓   ✓       ✓         ✓"), "%s",
                  r.out);
    ck_assert_msg(strstr(r.out, "20240302    p102               4  ✗   ✓       ✓         ✗"), "%s",
                  r.out);
    ck_assert_msg(strstr(r.out, "20240303    p103               4  ✓   ✗       ✗         ✗"), "%s",
                  r.out);
    ck_assert_msg(strstr(r.out, "20240304    TF47               4  ✓   ✓       ✗         ✗"), "%s",
                  r.out);
    ck_assert_msg(!strstr(r.out, "x999"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "4 sessions, 1 safe to delete"), "%s", r.out);
    ck_assert_msg(!strstr(r.out, "\033["), "colour without a terminal");
    kit_result_free(&r);

    /* JSON: an array, one object per session, the same verdicts. */
    ck_assert_int_eq(
            CTL(&r, "--json", "status-range", "--start-date", "20240301", "--end-date", "20240304"),
            0);
    ck_assert_msg(r.out[0] == '[', "%s", r.out);
    ck_assert_msg(strstr(r.out, "\"participant_id\":\"p101\",\"session_date\":\"20240301\""), "%s",
                  r.out);
    ck_assert_ptr_nonnull(
            strstr(r.out, "\"backup\":true,\"verified\":true,\"safe_to_delete\":true"));
    ck_assert_ptr_nonnull(
            strstr(r.out, "\"size_mismatch\":[{\"file\":\"trial_20240304_093000.22001.mp4\""));
    kit_result_free(&r);
}
END_TEST

START_TEST(recording_in_progress_is_not_safe)
{
    /* Everything backed up, but the rig wrote a minute ago and left a lock. */
    kit_session("p111 20240311 --imported --dj --copy --age 1");
    char src[512];
    kit_source_path("p111", "20240311", src, sizeof(src));
    ck_assert_int_eq(kit_shell("touch -d '3 hours ago' %s/cam.lock", src), 0);
    struct kit_result r = {0};
    ck_assert_int_eq(CTL(&r, "status", "p111", "20240311"), 0);
    ck_assert_msg(strstr(r.out, "Safe to delete: NO"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "file younger than 60 min: trial_20240311_093000.22001.mp4 (and 4 "
                                "more)"),
                  "%s", r.out);
    ck_assert_msg(strstr(r.out, "lock or temporary file present (the rig may be recording): "
                                "cam.lock"),
                  "%s", r.out);
    ck_assert_msg(strstr(r.out, "state: ✓ verified"), "%s", r.out);
    kit_result_free(&r);
}
END_TEST

START_TEST(status_reports_as_text_and_as_json)
{
    kit_session("p201 20240401 --imported --dj --copy --videos 6");
    struct kit_result r = {0};
    ck_assert_int_eq(CTL(&r, "status", "p201", "20240401"), 0);
    ck_assert_msg(strstr(r.out, "DataJoint:     ✓ fully imported"), "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "videos: 6"));
    ck_assert_ptr_nonnull(strstr(r.out, "files: 7"));
    ck_assert_ptr_nonnull(strstr(r.out, "state: ✓ verified"));
    ck_assert_ptr_nonnull(strstr(r.out, "Safe to delete: YES"));
    kit_result_free(&r);

    ck_assert_int_eq(CTL(&r, "status", "p201", "20240401", "--json"), 0);
    ck_assert_msg(r.out[0] == '{', "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "\"videos\":6"));
    ck_assert_ptr_nonnull(
            strstr(r.out, "\"datajoint\":{\"state\":\"yes\",\"checks\":{\"sqlite_imported\":true"));
    ck_assert_ptr_nonnull(strstr(r.out, "\"state\":\"verified\",\"files\":7"));
    kit_result_free(&r);
}
END_TEST

START_TEST(status_of_a_day_lists_every_participant)
{
    kit_session("p301 20240501 --imported --dj --copy");
    kit_session("m302 20240501 --imported");
    struct kit_result r = {0};
    ck_assert_int_eq(CTL(&r, "status", "20240501"), 0);
    ck_assert_ptr_nonnull(strstr(r.out, "Session p301 20240501"));
    ck_assert_ptr_nonnull(strstr(r.out, "Session m302 20240501"));
    kit_result_free(&r);
    ck_assert_int_eq(CTL(&r, "--json", "status", "20240501"), 0);
    ck_assert_msg(r.out[0] == '[', "%s", r.out);
    kit_result_free(&r);
}
END_TEST

START_TEST(normalisation_can_be_turned_off)
{
    /* With normalisation off, DataJoint is asked for "p401" and has "401". */
    kit_session("p401 20240601 --imported --dj --copy");
    char cfg[400];
    snprintf(cfg, sizeof(cfg), "%s/nonorm.yaml", lab.dir);
    ck_assert_int_eq(
            kit_shell("sed 's/^datajoint:/datajoint:\\n  normalize_participant_ids: false/' "
                      "%s > %s",
                      lab.config, cfg),
            0);
    char *argv[] = {getenv("MCTCTL"), "-c", cfg, "status", "p401", "20240601", NULL};
    struct kit_result r = {0};
    ck_assert_int_eq(kit_run(argv, NULL, &r), 0);
    ck_assert_msg(strstr(r.out, "Safe to delete: NO"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "✗ subject"), "%s", r.out);
    kit_result_free(&r);
}
END_TEST

START_TEST(database_down_is_unknown_never_safe)
{
    kit_session("p501 20240701 --imported --dj --copy");
    ck_assert_int_eq(kit_lab_sh(&lab, "db-stop"), 0);
    struct kit_result r = {0};
    int64_t t0 = mct_now_ms();
    int rc = CTL(&r, "status-range", "--start-date", "20240701", "--end-date", "20240701");
    int64_t took = mct_now_ms() - t0;
    kit_lab_sh(&lab, "db-start");
    /* "Could not check": exit 3, said once on stderr (mctctl(1), EXIT STATUS). */
    ck_assert_msg(rc == 3, "exit %d\n%s", rc, r.err);
    ck_assert_msg(strstr(r.err, "mctctl status-range: could not check 1 of 1 session: DataJoint "
                                "database"),
                  "%s", r.err);
    ck_assert_msg(strstr(r.out, "20240701    p501               4  ?   ✓       ✓         ✗"), "%s",
                  r.out);
    ck_assert_msg(took < 6000, "status-range took %lld ms with the database down", (long long)took);
    kit_result_free(&r);
}
END_TEST

START_TEST(sync_copies_and_verifies)
{
    kit_session("p601 20240801 --imported --dj --videos 3");
    struct kit_result r = {0};
    char copy[512];
    kit_dest_path("p601", "20240801", copy, sizeof(copy));

    ck_assert_int_eq(CTL(&r, "sync", "p601", "20240801", "--dry-run"), 0);
    ck_assert_msg(!kit_exists(copy) || kit_shell("test -z \"$(ls -A %s)\"", copy) == 0,
                  "dry run copied files");
    kit_result_free(&r);

    ck_assert_int_eq(CTL(&r, "sync", "p601", "20240801"), 0);
    ck_assert_msg(strstr(r.out, "verified"), "%s", r.out);
    kit_result_free(&r);
    ck_assert_int_eq(kit_shell("cmp %s/p601/20240801/trial_20240801_093000.22001.mp4 "
                               "%s/trial_20240801_093000.22001.mp4",
                               lab.data, copy),
                     0);

    ck_assert_int_eq(CTL(&r, "status", "p601", "20240801"), 0);
    ck_assert_ptr_nonnull(strstr(r.out, "Safe to delete: YES"));
    kit_result_free(&r);
}
END_TEST

START_TEST(sync_excludes_tmp_and_lock_files)
{
    kit_session("p602 20240802 --imported --dj");
    ck_assert_int_eq(
            kit_shell("touch %s/p602/20240802/x.tmp %s/p602/20240802/y.lock", lab.data, lab.data),
            0);
    struct kit_result r = {0};
    ck_assert_int_eq(CTL(&r, "sync", "p602", "20240802"), 0);
    kit_result_free(&r);
    char copy[512];
    kit_dest_path("p602", "20240802", copy, sizeof(copy));
    char p[600];
    snprintf(p, sizeof(p), "%s/x.tmp", copy);
    ck_assert(!kit_exists(p));
    snprintf(p, sizeof(p), "%s/trial_20240802_093000.json", copy);
    ck_assert(kit_exists(p));
}
END_TEST

START_TEST(sync_refuses_an_unmounted_share)
{
    kit_session("p701 20240901 --imported --dj");
    char mnt[400], cfg[400];
    snprintf(mnt, sizeof(mnt), "%s/not-mounted", lab.dir);
    snprintf(cfg, sizeof(cfg), "%s/unmounted.yaml", lab.dir);
    ck_assert_int_eq(mkdir(mnt, 0755), 0);
    write_unmounted_config(cfg, mnt);

    char *argv[] = {getenv("MCTCTL"), "-c", cfg, "sync", "p701", "20240901", NULL};
    struct kit_result r = {0};
    /* The share could not be reached: exit 3, as every "could not check". */
    ck_assert_int_eq(kit_run(argv, NULL, &r), 3);
    ck_assert_msg(strstr(r.err, "not a mount point"), "%s", r.err);
    kit_result_free(&r);
    /* Nothing was written into the empty mount-point folder. */
    ck_assert_int_eq(kit_shell("test -z \"$(ls -A %s)\"", mnt), 0);

    char *argv2[] = {getenv("MCTCTL"), "-c", cfg, "status", "p701", "20240901", NULL};
    ck_assert_int_eq(kit_run(argv2, NULL, &r), 3);
    ck_assert_msg(strstr(r.out, "state: ? unreachable"), "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "Safe to delete: NO"));
    kit_result_free(&r);
}
END_TEST

START_TEST(verify_lists_every_difference)
{
    kit_session("p801 20241001 --imported --dj --copy --videos 4");
    char copy[512];
    kit_dest_path("p801", "20241001", copy, sizeof(copy));
    struct kit_result r = {0};
    ck_assert_int_eq(CTL(&r, "verify", "p801", "20241001"), 0);
    kit_result_free(&r);

    ck_assert_int_eq(kit_shell("truncate -s -10 %s/trial_20241001_093000.22002.mp4 && "
                               "rm %s/trial_20241001_093000.22003.mp4 && touch %s/extra.txt",
                               copy, copy, copy),
                     0);
    ck_assert_int_eq(CTL(&r, "verify", "p801", "20241001"), 1);
    char *all = mct_strdup_printf("%s%s", r.out, r.err);
    ck_assert_msg(strstr(all, "trial_20241001_093000.22002.mp4"), "%s", all);
    ck_assert_msg(strstr(all, "trial_20241001_093000.22003.mp4"), "%s", all);
    ck_assert_msg(strstr(all, "extra.txt"), "%s", all);
    free(all);
    kit_result_free(&r);

    /* With checksums too: the same files named, the others hashed and equal. */
    ck_assert_int_eq(CTL(&r, "verify", "p801", "20241001", "--checksum"), 1);
    ck_assert_msg(strstr(r.out, "trial_20241001_093000.22003.mp4"), "%s", r.out);
    ck_assert_msg(!strstr(r.out, "content differs"), "%s", r.out);
    kit_result_free(&r);
}
END_TEST

START_TEST(batch_syncs_the_range_and_skips_what_needs_no_sync)
{
    kit_session("p901 20241101 --imported --dj");
    kit_session("p902 20241102 --imported --dj --copy");
    kit_session("p903 20241103 --imported --dj");
    /* Known to the recording database, gone from local disk. */
    ck_assert_int_eq(kit_shell("rm -rf %s/p903/20241103", lab.data), 0);

    struct kit_result r = {0};
    ck_assert_int_eq(CTL(&r, "batch", "20241101", "20241103"), 0);
    ck_assert_msg(strstr(r.out, "[1/3] p901 20241101: syncing"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "[2/3] p902 20241102: skipped (already backed up and verified)"),
                  "%s", r.out);
    ck_assert_msg(strstr(r.out, "[3/3] p903 20241103: skipped (not on local disk)"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "1 succeeded, 0 failed, 2 skipped"), "%s", r.out);
    kit_result_free(&r);
    char copy[512];
    kit_dest_path("p901", "20241101", copy, sizeof(copy));
    ck_assert(kit_exists(copy));
}
END_TEST

START_TEST(usage_errors_exit_2)
{
    struct kit_result r = {0};
    ck_assert_int_eq(CTL(&r, "status", "..", "20250104"), 2);
    ck_assert_msg(strstr(r.err, ".."), "%s", r.err);
    kit_result_free(&r);
    ck_assert_int_eq(CTL(&r, "status", "p001/x", "20250104"), 2);
    kit_result_free(&r);
    ck_assert_int_eq(CTL(&r, "status", "p001", "20250230"), 2);
    ck_assert_msg(strstr(r.err, "20250230"), "%s", r.err);
    kit_result_free(&r);
    ck_assert_int_eq(CTL(&r, "status-range", "--start-date", "2025-01-01"), 2);
    kit_result_free(&r);
    ck_assert_int_eq(CTL(&r, "status-range", "--start-date", "20250201", "--end-date", "20250101"),
                     2);
    kit_result_free(&r);
    ck_assert_int_eq(CTL(&r, "frobnicate"), 2);
    kit_result_free(&r);
    ck_assert_int_eq(CTL(&r, "sync", "p001"), 2);
    kit_result_free(&r);
}
END_TEST

START_TEST(every_command_has_help)
{
    static const char *const cmds[] = {"sync",   "batch",  "status",     "status-range",
                                       "verify", "delete", "bulk-delete"};
    struct kit_result r = {0};
    for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
        ck_assert_int_eq(CTL(&r, cmds[i], "--help"), 0);
        ck_assert_msg(strstr(r.out, "usage: mctctl"), "%s: %s", cmds[i], r.out);
        ck_assert_ptr_nonnull(strstr(r.out, cmds[i]));
        kit_result_free(&r);
    }
    char *argv[] = {getenv("MCTCTL"), "--help", NULL};
    ck_assert_int_eq(kit_run(argv, NULL, &r), 0);
    ck_assert_ptr_nonnull(strstr(r.out, "status-range"));
    kit_result_free(&r);
}
END_TEST

START_TEST(a_bad_config_is_named_by_file_and_line)
{
    char cfg[400];
    snprintf(cfg, sizeof(cfg), "%s/typo.yaml", lab.dir);
    FILE *f = fopen(cfg, "w");
    ck_assert_ptr_nonnull(f);
    fputs("backup:\n  verification:\n    verify_methd: size\n", f);
    fclose(f);
    char *argv[] = {getenv("MCTCTL"), "-c", cfg, "status-range", NULL};
    struct kit_result r = {0};
    ck_assert_int_eq(kit_run(argv, NULL, &r), 2);
    ck_assert_msg(strstr(r.err, "typo.yaml:3"), "%s", r.err);
    ck_assert_msg(strstr(r.err, "verify_methd"), "%s", r.err);
    kit_result_free(&r);
}
END_TEST

START_TEST(world_readable_password_is_warned_about)
{
    char cfg[400];
    snprintf(cfg, sizeof(cfg), "%s/readable.yaml", lab.dir);
    ck_assert_int_eq(kit_shell("cp %s %s && chmod 644 %s", lab.config, cfg, cfg), 0);
    char *argv[] = {getenv("MCTCTL"), "-c", cfg, "status-range", NULL};
    struct kit_result r = {0};
    ck_assert_int_eq(kit_run(argv, NULL, &r), 0);
    ck_assert_msg(strstr(r.err, "holds the DataJoint password (datajoint.password) and is "
                                "readable by every user (mode 0644)"),
                  "%s", r.err);
    kit_result_free(&r);
    /* The lab's own config is 0600: no warning. */
    ck_assert_int_eq(CTL(&r, "status-range"), 0);
    ck_assert_msg(!strstr(r.err, "readable by every user"), "%s", r.err);
    kit_result_free(&r);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("mctctl");
    TCase *tc = tcase_create("commands");
    tcase_add_unchecked_fixture(tc, kit_setup, kit_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, status_range_shows_every_state_of_every_column);
    tcase_add_test(tc, recording_in_progress_is_not_safe);
    tcase_add_test(tc, status_reports_as_text_and_as_json);
    tcase_add_test(tc, status_of_a_day_lists_every_participant);
    tcase_add_test(tc, normalisation_can_be_turned_off);
    tcase_add_test(tc, database_down_is_unknown_never_safe);
    tcase_add_test(tc, sync_copies_and_verifies);
    tcase_add_test(tc, sync_excludes_tmp_and_lock_files);
    tcase_add_test(tc, sync_refuses_an_unmounted_share);
    tcase_add_test(tc, verify_lists_every_difference);
    tcase_add_test(tc, batch_syncs_the_range_and_skips_what_needs_no_sync);
    tcase_add_test(tc, usage_errors_exit_2);
    tcase_add_test(tc, every_command_has_help);
    tcase_add_test(tc, a_bad_config_is_named_by_file_and_line);
    tcase_add_test(tc, world_readable_password_is_warned_about);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(cli_suite());
}
