/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sessions (fs/core/session.c): participant ids, dates, path templates,
 * the paths of a session, which participants are selected. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "unit.h"
#include "util.h"

START_TEST(participant_ids_of_safe_characters_up_to_the_limit_are_valid)
{
    static const char *good[] = {"p001", "TF47", "m12", "b3", "s-1", "a.b", "p_1", "x", "A~z"};
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        ck_assert_msg(mct_participant_id_valid(good[i]), "'%s' should be valid", good[i]);

    char max[MCT_ID_MAX + 1];
    memset(max, 'a', MCT_ID_MAX);
    max[MCT_ID_MAX] = '\0';
    ck_assert(mct_participant_id_valid(max));
}
END_TEST

START_TEST(participant_ids_that_could_leave_a_folder_or_mislead_are_invalid)
{
    static const char *bad[] = {
            "",        ".",        "..",      "a/b",     "/abs", "p001/",       "a b",
            " p001",   "p001\n",   "tab\tid", ".hidden", "-rf",  "caf\xc3\xa9", "\xe2\x80\x8bp",
            "del\x7f", "ctl\x01x",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        ck_assert_msg(!mct_participant_id_valid(bad[i]), "'%s' should be invalid", bad[i]);
    ck_assert(!mct_participant_id_valid(NULL));

    char big[501];
    memset(big, 'a', 500);
    big[500] = '\0';
    ck_assert(!mct_participant_id_valid(big));
    big[MCT_ID_MAX + 1] = '\0';
    ck_assert(!mct_participant_id_valid(big));
}
END_TEST

START_TEST(session_dates_are_real_calendar_days_as_yyyymmdd)
{
    static const char *good[] = {"20240229", "20000229", "20250104",
                                 "19000101", "29991231", "20251231"};
    static const char *bad[] = {"20230229",  "19000229",   "20251301", "20250132", "2025010",
                                "202501044", "2025-01-04", "20250431", "20250001", "20250100",
                                "18991231",  "30000101",   "2025O104", "",         " 2025010"};
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        ck_assert_msg(mct_session_date_valid(good[i]), "'%s' should be valid", good[i]);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        ck_assert_msg(!mct_session_date_valid(bad[i]), "'%s' should be invalid", bad[i]);
    ck_assert(!mct_session_date_valid(NULL));
}
END_TEST

START_TEST(a_session_ref_takes_only_a_valid_id_and_date_and_names_the_bad_one)
{
    struct mct_session_ref ref;
    char err[256] = "";
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", err, sizeof(err)), 0);
    ck_assert_str_eq(ref.participant_id, "p001");
    ck_assert_str_eq(ref.session_date, "20250104");

    ck_assert_int_eq(mct_session_ref_init(&ref, "../etc", "20250104", err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "../etc"));
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20251301", err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "20251301"));
}
END_TEST

START_TEST(participant_ids_are_normalised_as_the_acquisition_gui_does)
{
    static const struct {
        const char *in, *out;
    } t[] = {
            {"p001", "001"},  {"t1234", "1234"}, {"P7", "P7"},     {"T0", "T0"},
            {"P105", "P105"}, {"TF47", "TF47"},  {"m12", "m12"},   {"b3", "b3"},
            {"p", "p"},       {"t", "t"},        {"p12a", "p12a"}, {"pp1", "pp1"},
            {"p-1", "p-1"},   {"001", "001"},    {"s001", "s001"}, {"TR5", "TR5"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        char out[MCT_ID_MAX + 1];
        mct_normalize_participant_id(t[i].in, out, sizeof(out));
        ck_assert_msg(streq(out, t[i].out), "%s -> %s, expected %s", t[i].in, out, t[i].out);
    }
}
END_TEST

START_TEST(dates_convert_to_and_from_iso_8601_and_invalid_ones_are_refused)
{
    char out[11];
    ck_assert_int_eq(mct_date_to_iso("20250104", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "2025-01-04");
    ck_assert_int_eq(mct_date_from_iso("2024-02-29", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "20240229");
    ck_assert_int_eq(mct_date_to_iso("20250230", out, sizeof(out)), -EINVAL);
    ck_assert_int_eq(mct_date_from_iso("2023-02-29", out, sizeof(out)), -EINVAL);
    ck_assert_int_eq(mct_date_from_iso("20250104", out, sizeof(out)), -EINVAL);
    ck_assert_int_eq(mct_date_from_iso("2025-1-04", out, sizeof(out)), -EINVAL);
    ck_assert_int_eq(mct_date_to_iso("20250104", out, 10), -ENOBUFS);
}
END_TEST

START_TEST(a_path_template_is_relative_and_has_each_placeholder_once_in_a_component)
{
    char err[256];
    static const char *good[] = {
            "{participant_id}/{session_date}", "{session_date}/{participant_id}",
            "S_{session_date}/{participant_id}", "mocap/{participant_id}-x/d{session_date}.raw",
            "{participant_id}/sub/{session_date}"};
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        ck_assert_msg(mct_template_validate(good[i], err, sizeof(err)) == 0, "%s: %s", good[i],
                      err);

    static const struct {
        const char *t, *why;
    } bad[] = {
            {"", "empty"},
            {"/{participant_id}/{session_date}", "relative"},
            {"{participant_id}//{session_date}", "empty component"},
            {"{participant_id}/{session_date}/", "empty component"},
            {"{participant_id}/./{session_date}", "'.'"},
            {"../{participant_id}/{session_date}", "'..'"},
            {"{participant_id}", "exactly once"},
            {"{session_date}", "exactly once"},
            {"{participant_id}/{participant_id}/{session_date}", "exactly once"},
            {"{participant_id}/{date}", "unknown placeholder"},
            {"{participant_id}/{session_date", "unknown placeholder"},
            {"{participant_id}/x}{session_date}", "stray"},
            {"{participant_id}_{session_date}", "one per component"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err[0] = '\0';
        ck_assert_msg(mct_template_validate(bad[i].t, err, sizeof(err)) == -EINVAL,
                      "'%s' should be invalid", bad[i].t);
        ck_assert_msg(strstr(err, bad[i].why), "'%s': '%s' lacks '%s'", bad[i].t, err, bad[i].why);
    }
    ck_assert_int_eq(mct_template_validate(NULL, err, sizeof(err)), -EINVAL);

    /* Found by fuzz_template: a 17-component template validated, expanded,
     * and then never matched, so no session under it was ever found. */
    char deep[256] = "{participant_id}/{session_date}";
    for (int i = 2; i < 16; i++)
        strcat(deep, "/x");
    ck_assert_int_eq(mct_template_validate(deep, err, sizeof(err)), 0);
    strcat(deep, "/x");
    ck_assert_int_eq(mct_template_validate(deep, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "more than 16 components"));
}
END_TEST

START_TEST(a_template_expands_a_session_to_its_path_and_matches_it_back)
{
    static const struct {
        const char *tmpl, *path;
    } t[] = {
            {"{participant_id}/{session_date}", "p001/20250104"},
            {"{session_date}/{participant_id}", "20250104/p001"},
            {"S_{session_date}/{participant_id}", "S_20250104/p001"},
            {"mocap/{participant_id}-x/d{session_date}.raw", "mocap/p001-x/d20250104.raw"},
    };
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", NULL, 0), 0);
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        _cleanup_free_ char *p = NULL;
        ck_assert_int_eq(mct_template_expand(t[i].tmpl, &ref, &p), 0);
        ck_assert_str_eq(p, t[i].path);

        struct mct_session_ref back;
        ck_assert_int_eq(mct_template_match(t[i].tmpl, p, &back), 0);
        ck_assert_int_eq(mct_session_ref_cmp(&back, &ref), 0);
        ck_assert_str_eq(back.participant_id, "p001");
    }
    ck_assert_uint_eq(mct_template_depth("{participant_id}/{session_date}"), 2);
    ck_assert_uint_eq(mct_template_depth("a/{participant_id}/{session_date}"), 3);
}
END_TEST

START_TEST(a_path_that_is_no_session_matches_no_template_and_leaves_the_ref_alone)
{
    const char *pd = "{participant_id}/{session_date}";
    struct mct_session_ref ref = {"keep", "20000101"};
    static const char *bad[] = {"p001",        "p001/20250104/x",  "p001/2025010", "p001/20251301",
                                "../20250104", ".hidden/20250104", "p 1/20250104", "/20250104",
                                "p001/",       "recordings.db",    "-x/20250104",  ""};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        ck_assert_msg(mct_template_match(pd, bad[i], &ref) == -EINVAL, "'%s' matched", bad[i]);
    /* ref is untouched by a failed match */
    ck_assert_str_eq(ref.participant_id, "keep");

    ck_assert_int_eq(mct_template_match("S_{session_date}/{participant_id}", "T_20250104/p1", &ref),
                     -EINVAL);
    ck_assert_int_eq(mct_template_match("S_{session_date}/{participant_id}", "S_/p1", &ref),
                     -EINVAL);
    ck_assert_int_eq(mct_template_match("{participant_id}/{bad}", "p1/20250104", &ref), -EINVAL);

    struct mct_session_ref evil = {"..", "20250104"};
    char *p = NULL;
    ck_assert_int_eq(mct_template_expand(pd, &evil, &p), -EINVAL);
    ck_assert_ptr_null(p);
}
END_TEST

START_TEST(source_and_destination_paths_follow_their_own_templates)
{
    struct mct_config cfg = {0};
    cfg.source_base_path = (char *)"/data/";
    cfg.source_path_structure = (char *)"{participant_id}/{session_date}";
    struct mct_destination dest = {
            .name = (char *)"net",
            .mount_point = (char *)"/mnt/CottonLab",
            .base_path = (char *)"/mnt/CottonLab/mobile_system_data",
            .path_structure = (char *)"{session_date}/{participant_id}",
    };
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", NULL, 0), 0);
    _cleanup_free_ char *src = NULL, *dst = NULL;
    ck_assert_int_eq(mct_session_source_path(&cfg, &ref, &src), 0);
    ck_assert_str_eq(src, "/data/p001/20250104");
    ck_assert_int_eq(mct_session_dest_path(&dest, &ref, &dst), 0);
    ck_assert_str_eq(dst, "/mnt/CottonLab/mobile_system_data/20250104/p001");
}
END_TEST

START_TEST(prefixes_select_participants_case_sensitively_and_sessions_sort_by_date)
{
    struct mct_config cfg = {0};
    ck_assert(mct_participant_selected(&cfg, "anything"));
    char *prefixes[] = {(char *)"TR", (char *)"TF", (char *)"m", (char *)"p", NULL};
    cfg.participant_prefixes = prefixes;
    ck_assert(mct_participant_selected(&cfg, "TF47"));
    ck_assert(mct_participant_selected(&cfg, "p001"));
    ck_assert(mct_participant_selected(&cfg, "m12"));
    ck_assert(!mct_participant_selected(&cfg, "tf47")); /* case-sensitive */
    ck_assert(!mct_participant_selected(&cfg, "P001"));
    ck_assert(!mct_participant_selected(&cfg, "T1"));
    ck_assert(!mct_participant_selected(&cfg, "b3"));

    struct mct_session_ref r[] = {
            {"p2", "20250102"}, {"p1", "20250102"}, {"a9", "20250101"}, {"z0", "20241231"}};
    qsort(r, ARRAY_SIZE(r), sizeof(r[0]), mct_session_ref_cmp);
    ck_assert_str_eq(r[0].participant_id, "z0");
    ck_assert_str_eq(r[1].participant_id, "a9");
    ck_assert_str_eq(r[2].participant_id, "p1");
    ck_assert_str_eq(r[3].participant_id, "p2");
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, participant_ids_of_safe_characters_up_to_the_limit_are_valid);
    tcase_add_test(tc, participant_ids_that_could_leave_a_folder_or_mislead_are_invalid);
    tcase_add_test(tc, session_dates_are_real_calendar_days_as_yyyymmdd);
    tcase_add_test(tc, a_session_ref_takes_only_a_valid_id_and_date_and_names_the_bad_one);
    tcase_add_test(tc, participant_ids_are_normalised_as_the_acquisition_gui_does);
    tcase_add_test(tc, dates_convert_to_and_from_iso_8601_and_invalid_ones_are_refused);
    tcase_add_test(tc, a_path_template_is_relative_and_has_each_placeholder_once_in_a_component);
    tcase_add_test(tc, a_template_expands_a_session_to_its_path_and_matches_it_back);
    tcase_add_test(tc, a_path_that_is_no_session_matches_no_template_and_leaves_the_ref_alone);
    tcase_add_test(tc, source_and_destination_paths_follow_their_own_templates);
    tcase_add_test(tc, prefixes_select_participants_case_sensitively_and_sessions_sort_by_date);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(session_suite());
}
