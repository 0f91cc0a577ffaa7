/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Finding the local sessions (fs/core/discover.c) on a temp folder: every
 * folder the source template matches, sorted by date then participant,
 * within a range of dates and the selected participants; never the
 * trash, hidden folders, bad ids or dates, files or symlinks.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan.h"
#include "tmpdir.h"
#include "unit.h"
#include "util.h"

static struct mct_config dcfg;

static void discovery_setup(const char *tmpl)
{
    memset(&dcfg, 0, sizeof(dcfg));
    dcfg.source_base_path = tmp_dir;
    dcfg.source_path_structure = (char *)tmpl;
}

START_TEST(sessions_are_found_by_the_template_sorted_by_date_and_filtered)
{
    discovery_setup("{participant_id}/{session_date}");
    tmp_make_dir("p001/20250104");
    tmp_make_dir("p001/20250105");
    tmp_make_dir("TF47/20250104");
    tmp_make_dir("m12/20241231");
    tmp_make_dir("b3/20250110");
    tmp_make_dir("p002/20251301"); /* bad date */
    tmp_make_dir("p002/notes");    /* not a date */
    tmp_make_dir(".mctfs-trash/p001/20250101");
    tmp_make_dir("p003/.20250101"); /* hidden */
    tmp_make_dir("bad id/20250104");
    tmp_make_file("recordings.db", 10, 'x');
    tmp_make_file("p004/20250104", 1, 'x'); /* a file, not a session folder */
    _cleanup_free_ char *l = mct_path_join(tmp_dir, "p005");
    ck_assert_int_eq(symlink("p001", l), 0); /* symlinked participant: not followed */

    struct mct_session_ref *refs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mct_discover_sessions(&dcfg, NULL, NULL, &refs, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(refs[0].session_date, "20241231");
    ck_assert_str_eq(refs[0].participant_id, "m12");
    ck_assert_str_eq(refs[1].participant_id, "TF47");
    ck_assert_str_eq(refs[2].participant_id, "p001");
    ck_assert_str_eq(refs[2].session_date, "20250104");
    ck_assert_str_eq(refs[3].session_date, "20250105");
    ck_assert_str_eq(refs[4].participant_id, "b3");
    free(refs);

    char *prefixes[] = {(char *)"TF", (char *)"p", NULL};
    dcfg.participant_prefixes = prefixes;
    ck_assert_int_eq(mct_discover_sessions(&dcfg, "20250104", "20250104", &refs, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(refs[0].participant_id, "TF47");
    ck_assert_str_eq(refs[1].participant_id, "p001");
    free(refs);

    ck_assert_int_eq(mct_discover_sessions(&dcfg, "20250105", NULL, &refs, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(refs[0].session_date, "20250105");
    free(refs);

    ck_assert_int_eq(mct_discover_sessions(&dcfg, "2025", NULL, &refs, &n), -EINVAL);
}
END_TEST

START_TEST(sessions_are_found_under_a_date_first_template)
{
    discovery_setup("{session_date}/{participant_id}");
    tmp_make_dir("20250104/p001");
    tmp_make_dir("20250104/TF47");
    tmp_make_dir("20250103/m1");
    tmp_make_dir("2025x/p9");
    tmp_make_dir("20250104/.hidden");
    tmp_make_file("20250104/loose.txt", 1, 'x');
    struct mct_session_ref *refs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mct_discover_sessions(&dcfg, NULL, "20250103", &refs, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(refs[0].participant_id, "m1");
    free(refs);
    ck_assert_int_eq(mct_discover_sessions(&dcfg, NULL, NULL, &refs, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(refs[1].participant_id, "TF47");
    ck_assert_str_eq(refs[2].participant_id, "p001");
    free(refs);
}
END_TEST

START_TEST(a_thousand_sessions_are_found_in_order_within_a_second)
{
    discovery_setup("{participant_id}/{session_date}");
    char rel[64];
    for (int p = 0; p < 40; p++)
        for (int d = 1; d <= 28; d++) {
            snprintf(rel, sizeof(rel), "p%03d/202502%02d", p, d);
            tmp_make_dir(rel);
        }
    struct mct_session_ref *refs = NULL;
    size_t n = 0;
    int64_t t0 = mct_now_ms();
    ck_assert_int_eq(mct_discover_sessions(&dcfg, NULL, NULL, &refs, &n), 0);
    int64_t ms = mct_now_ms() - t0;
    ck_assert_uint_eq(n, 40 * 28);
    for (size_t i = 1; i < n; i++)
        ck_assert_int_lt(mct_session_ref_cmp(&refs[i - 1], &refs[i]), 0);
    ck_assert_msg(ms < 1000, "discovery of 1120 sessions took %lld ms", (long long)ms);
    free(refs);
}
END_TEST

START_TEST(a_missing_source_folder_is_enoent)
{
    discovery_setup("{participant_id}/{session_date}");
    _cleanup_free_ char *missing = mct_path_join(tmp_dir, "nope");
    dcfg.source_base_path = missing;
    struct mct_session_ref *refs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mct_discover_sessions(&dcfg, NULL, NULL, &refs, &n), -ENOENT);
}
END_TEST

static Suite *discover_suite(void)
{
    Suite *s = suite_create("discover");
    TCase *tc = tcase_create("discover");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, sessions_are_found_by_the_template_sorted_by_date_and_filtered);
    tcase_add_test(tc, sessions_are_found_under_a_date_first_template);
    tcase_add_test(tc, a_thousand_sessions_are_found_in_order_within_a_second);
    tcase_add_test(tc, a_missing_source_folder_is_enoent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(discover_suite());
}
