/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of reclaim's pure half: free-space targets (space.c), the
 * forecast's arithmetic (forecast.c), which sessions reclaim may take and
 * why the target is out of reach (reclaim_plan.c), their renderings
 * (report_reclaim.c) and the config keys, on statuses built by hand.
 */
#include <check.h>

#include "config.h"
#include "forecast.h"
#include "reclaim.h"
#include "report.h"

static struct mct_space parse_ok(const char *s)
{
    struct mct_space sp = {0};
    char why[256] = "";
    ck_assert_msg(mct_space_parse(s, &sp, why, sizeof(why)) == 0, "%s: %s", s, why);
    return sp;
}

START_TEST(space_parses_bytes_and_percentages)
{
    ck_assert_uint_eq(parse_ok("500G").bytes, 500ull << 30);
    ck_assert_uint_eq(parse_ok("500GiB").bytes, 500ull << 30);
    ck_assert_uint_eq(parse_ok("500gb").bytes, 500ull << 30);
    ck_assert_uint_eq(parse_ok("1.5T").bytes, 3ull << 39);
    ck_assert_uint_eq(parse_ok("750M").bytes, 750ull << 20);
    ck_assert_uint_eq(parse_ok("123456").bytes, 123456);
    ck_assert_uint_eq(parse_ok("1K").bytes, 1024);
    ck_assert_uint_eq(parse_ok("20%").percent_x100, 2000);
    ck_assert_uint_eq(parse_ok("12.5%").percent_x100, 1250);
    ck_assert_uint_eq(parse_ok("0.01%").percent_x100, 1);

    static const char *const bad[] = {
            "",      "G",   "0",      "0%",  "100%", "150%", "12X",
            "-5G",   "1.G", "1.234G", "1.5", "5 G",  "%",    "99999999999999999999",
            "16384P"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct mct_space sp = {0};
        char why[256] = "";
        ck_assert_msg(mct_space_parse(bad[i], &sp, why, sizeof(why)) == -EINVAL, "'%s' parsed",
                      bad[i]);
        ck_assert_msg(strstr(why, "500G") && strstr(why, "20%"), "%s", why);
    }
}
END_TEST

START_TEST(space_resolves_and_formats)
{
    struct mct_space p20 = parse_ok("20%"), p125 = parse_ok("12.5%"), g = parse_ok("500G");
    ck_assert_uint_eq(mct_space_bytes(&p20, 8388608), 1677721);
    ck_assert_uint_eq(mct_space_bytes(&p125, 8000), 1000);
    ck_assert_uint_eq(mct_space_bytes(&g, 1), 500ull << 30);
    /* No overflow near the top of the range. */
    ck_assert_uint_eq(mct_space_bytes(&p20, UINT64_MAX), UINT64_MAX / 10000 * 2000 + 323);
    char out[32];
    ck_assert_str_eq(mct_space_format(&p20, out, sizeof(out)), "20%");
    ck_assert_str_eq(mct_space_format(&p125, out, sizeof(out)), "12.5%");
    ck_assert_str_eq(mct_space_format(&(struct mct_space){.percent_x100 = 1}, out, sizeof(out)),
                     "0.01%");
    ck_assert_str_eq(mct_space_format(&g, out, sizeof(out)), "500G");
}
END_TEST

START_TEST(dates_count_days)
{
    ck_assert_int_eq(mct_date_days("19700101"), 0);
    ck_assert_int_eq(mct_date_days("19700102"), 1);
    ck_assert_int_eq(mct_date_days("20000301") - mct_date_days("20000228"), 2);
    ck_assert_int_eq(mct_date_days("20250101") - mct_date_days("20240101"), 366);
    ck_assert_int_eq(mct_date_days("20250120"), 20108);
    ck_assert(mct_date_days("20250230") == INT64_MIN);
    ck_assert(mct_date_days("2025012") == INT64_MIN);
}
END_TEST

START_TEST(forecast_window_rate_and_days)
{
    int64_t today = mct_date_days("20250120");
    struct mct_forecast_acc a;
    mct_forecast_begin(&a, today, 14);
    mct_forecast_add_one(&a, "20250121", 500, false);  /* a clock set wrong: in */
    mct_forecast_add_one(&a, "20250120", 1000, false); /* today: in */
    mct_forecast_add_one(&a, "20250107", 2000, false); /* 13 days ago: in */
    mct_forecast_add_one(&a, "20250106", 4000, true);  /* 14 days ago: out */
    mct_forecast_add_one(&a, "20240101", 8000, true);
    mct_forecast_add_one(&a, "bad", 16000, true); /* not a session */
    struct mct_forecast f;
    struct mct_fs_space fs = {.size = 100000, .avail = 7000};
    mct_forecast_finish(&a, &fs, &f);
    ck_assert(f.fs_known);
    ck_assert_uint_eq(f.window_days, 14);
    ck_assert_uint_eq(f.window_bytes, 3500);
    ck_assert_uint_eq(f.window_sessions, 3);
    ck_assert_uint_eq(f.rate, 250);
    ck_assert_uint_eq(f.reclaimable_bytes, 12000);
    ck_assert_uint_eq(f.reclaimable_sessions, 2);
    ck_assert_double_eq_tol(f.days_full, 28.0, 1e-9);
    ck_assert_double_eq_tol(f.days_full_reclaimed, 76.0, 1e-9);

    _cleanup_buf_ struct mct_buf t = {0}, j = {0};
    mct_report_forecast_text(&f, &t);
    ck_assert_str_eq(t.data, "Recording rate: 250B/day (3.4K in 3 sessions dated within the "
                             "last 14 days)\nFree space: 6.8K of 98K (7%): full in 28.0 days at "
                             "that rate, in 76.0 days counting the 12K reclaimable now (2 "
                             "sessions)\n");
    mct_report_forecast_json(&f, &j);
    ck_assert_str_eq(j.data, "{\"window_days\":14,\"window_bytes\":3500,\"window_sessions\":3,"
                             "\"bytes_per_day\":250,\"size\":100000,\"free\":7000,"
                             "\"reclaimable_bytes\":12000,\"reclaimable_sessions\":2,"
                             "\"days_until_full\":28.0,"
                             "\"days_until_full_counting_reclaimable\":76.0}");
}
END_TEST

START_TEST(forecast_without_recordings_or_filesystem)
{
    struct mct_forecast_acc a;
    mct_forecast_begin(&a, mct_date_days("20250120"), 14);
    mct_forecast_add_one(&a, "20240101", 8000, true);
    struct mct_forecast f;
    struct mct_fs_space fs = {.size = 100000, .avail = 7000};
    mct_forecast_finish(&a, &fs, &f);
    ck_assert(f.days_full < 0 && f.days_full_reclaimed < 0);
    _cleanup_buf_ struct mct_buf t = {0}, j = {0};
    mct_report_forecast_text(&f, &t);
    ck_assert_ptr_nonnull(strstr(t.data, "0B/day (no session dated within the last 14 days)"));
    ck_assert_ptr_nonnull(strstr(t.data, "not filling at that rate"));
    mct_report_forecast_json(&f, &j);
    ck_assert_ptr_nonnull(strstr(j.data, "\"days_until_full\":null"));

    mct_forecast_finish(&a, NULL, &f);
    mct_buf_free(&t);
    mct_report_forecast_text(&f, &t);
    ck_assert_ptr_nonnull(strstr(t.data, "Free space: unknown"));
}
END_TEST

/* A session that is safe unless a test spoils it. */
static void make(struct mct_session_status *st, const char *p, const char *d, uint64_t bytes)
{
    *st = (struct mct_session_status){0};
    strcpy(st->ref.participant_id, p);
    strcpy(st->ref.session_date, d);
    st->source_path = mct_strdup_printf("/data/%s/%s", p, d);
    st->source_exists = true;
    st->source.n_files = 3;
    st->source.bytes = bytes;
    st->dj.state = MCT_YES;
    st->backup = st->verified = MCT_YES;
    st->safe_to_delete = true;
}

static void unsafe(struct mct_session_status *st, const char *reason)
{
    st->safe_to_delete = false;
    mct_strv_pushf(&st->reasons, "%s", reason);
}

START_TEST(classes_follow_the_status)
{
    int64_t today = mct_date_days("20250120");
    struct mct_session_status st[10];
    make(&st[0], "p001", "20240101", 1);
    make(&st[1], "p002", "20250110", 1); /* 10 days old */
    make(&st[2], "p003", "20240101", 1);
    st[2].source_exists = false;
    make(&st[3], "p004", "20240101", 1);
    unsafe(&st[3], "young");
    mct_strv_pushf(&st[3].local_reasons, "file younger than 60 min: a");
    st[3].dj.state = MCT_NO; /* the rig's files come first */
    make(&st[4], "p005", "20240101", 1);
    unsafe(&st[4], "dj");
    st[4].dj.state = MCT_NO;
    make(&st[5], "p006", "20240101", 1);
    unsafe(&st[5], "dj?");
    st[5].dj.state = MCT_UNKNOWN;
    make(&st[6], "p007", "20240101", 1);
    unsafe(&st[6], "no copy");
    st[6].backup = st[6].verified = MCT_NO;
    make(&st[7], "p008", "20240101", 1);
    unsafe(&st[7], "share");
    st[7].backup = st[7].verified = MCT_UNKNOWN;
    make(&st[8], "p009", "20240101", 1);
    unsafe(&st[8], "sizes differ");
    st[8].verified = MCT_NO;
    make(&st[9], "p010", "20240101", 1);
    unsafe(&st[9], "excluded files");

    static const enum mct_reclaim_class want[] = {
            MCT_RECLAIM_ELIGIBLE,   MCT_RECLAIM_RECENT,      MCT_RECLAIM_ABSENT,
            MCT_RECLAIM_IN_USE,     MCT_RECLAIM_NOT_IN_DJ,   MCT_RECLAIM_DJ_UNKNOWN,
            MCT_RECLAIM_NOT_COPIED, MCT_RECLAIM_UNREACHABLE, MCT_RECLAIM_NOT_VERIFIED,
            MCT_RECLAIM_NOT_SAFE,
    };
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        ck_assert_msg(mct_reclaim_classify(&st[i], today, 14) == want[i], "%s: class %d, want %d",
                      st[i].ref.participant_id, mct_reclaim_classify(&st[i], today, 14), want[i]);
    /* keep_recent_days 10: ten days old is old enough; 0 protects nothing. */
    ck_assert_int_eq(mct_reclaim_classify(&st[1], today, 10), MCT_RECLAIM_ELIGIBLE);
    ck_assert_int_eq(mct_reclaim_classify(&st[1], today, 11), MCT_RECLAIM_RECENT);
    free(st[2].source_path);
    make(&st[2], "p003", "20250120", 1);
    ck_assert_int_eq(mct_reclaim_classify(&st[2], today, 0), MCT_RECLAIM_ELIGIBLE);
    ck_assert_int_eq(mct_reclaim_classify(&st[2], today, 1), MCT_RECLAIM_RECENT);

    /* The forecast counts what reclaim could take. */
    struct mct_forecast_acc a;
    mct_forecast_begin(&a, today, 14);
    mct_forecast_add(&a, st, ARRAY_SIZE(want));
    ck_assert_uint_eq(a.reclaimable_sessions, 1);
    ck_assert_uint_eq(a.window_sessions, 2); /* p002, and p003 now dated today */
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        free(st[i].source_path);
        mct_strv_free(st[i].reasons);
        mct_strv_free(st[i].local_reasons);
    }
}
END_TEST

START_TEST(items_oldest_first_and_why_not)
{
    int64_t today = mct_date_days("20250120");
    struct mct_session_status st[6];
    make(&st[0], "p002", "20240102", 1000);
    make(&st[1], "p009", "20240101", 2000);
    unsafe(&st[1], "not in DataJoint: no session row");
    st[1].dj.state = MCT_NO;
    make(&st[2], "p001", "20240102", 1000);
    make(&st[3], "p003", "20250119", 1000);
    make(&st[4], "p004", "20240103", 1048576);
    unsafe(&st[4], "no copy");
    st[4].backup = st[4].verified = MCT_NO;
    make(&st[5], "p005", "20240103", 1048576);
    unsafe(&st[5], "no copy");
    st[5].backup = st[5].verified = MCT_NO;

    struct mct_reclaim_result res = {.keep_free = {.percent_x100 = 2000}, .keep_recent_days = 14};
    ck_assert_int_eq(mct_reclaim_items(&res, st, 6, today), 0);
    static const char *const order[] = {"p009", "p001", "p002", "p004", "p005", "p003"};
    for (size_t i = 0; i < ARRAY_SIZE(order); i++)
        ck_assert_str_eq(res.items[i].ref.participant_id, order[i]);
    ck_assert_int_eq(res.items[1].cls, MCT_RECLAIM_ELIGIBLE);
    ck_assert_str_eq(res.items[0].reasons[0], "not in DataJoint: no session row");

    /* The eligible ones went; one was busy. */
    res.items[1].outcome = MCT_RECLAIM_DELETED;
    res.items[2].outcome = MCT_RECLAIM_FAILED;
    res.items[2].cls = MCT_RECLAIM_BUSY;
    _cleanup_free_ char *why = mct_reclaim_why_not(&res);
    ck_assert_str_eq(why, "target 20% free not reachable: 2.0M in 4 sessions not safe (1 not in "
                          "DataJoint, 2 not copied, 1 busy); 1000B in 1 session recorded within "
                          "14 days (keep_recent_days)");

    _cleanup_buf_ struct mct_buf line = {0}, json = {0};
    mct_report_reclaim_item_text(&res.items[1], &line);
    ck_assert_str_eq(line.data, "20240102 p001: deleted (1000B, 3 files)\n");
    res.checked = true;
    res.before = res.after = (struct mct_fs_space){.size = 10000, .avail = 1000};
    res.target = 2000;
    mct_report_reclaim_json(&res, "/data", &json);
    ck_assert_ptr_nonnull(strstr(json.data, "\"met\":false,\"reason\":\"target 20% free"));
    ck_assert_ptr_nonnull(strstr(json.data, "{\"class\":\"not-copied\",\"reason\":\"not "
                                            "copied\",\"sessions\":2,\"bytes\":2097152}"));
    ck_assert_ptr_nonnull(strstr(json.data, "\"class\":\"busy\",\"result\":\"busy\""));
    mct_reclaim_result_free(&res);
    for (size_t i = 0; i < 6; i++) {
        free(st[i].source_path);
        mct_strv_free(st[i].reasons);
    }
}
END_TEST

START_TEST(nothing_in_the_way)
{
    struct mct_reclaim_result res = {.keep_free = {.bytes = 500ull << 30}, .keep_recent_days = 14};
    _cleanup_free_ char *why = mct_reclaim_why_not(&res);
    ck_assert_str_eq(why, "target 500G free not reachable: no session left to delete (the rest "
                          "of the disk is not sessions)");
}
END_TEST

static struct mct_config *parse(const char *yaml, char *err, size_t len)
{
    struct mct_config *cfg = NULL;
    return mct_config_parse_string("t.yaml", yaml, &cfg, err, len) < 0 ? NULL : cfg;
}

START_TEST(config_keys)
{
    char err[512] = "";
    _cleanup_config_ struct mct_config *def =
            parse("deletion:\n  min_age_minutes: 5\n", err, sizeof(err));
    ck_assert_msg(def, "%s", err);
    ck_assert(!def->reclaim.enabled);
    ck_assert_uint_eq(def->reclaim.keep_free.percent_x100, 1000);
    ck_assert_uint_eq(def->reclaim.keep_recent_days, 14);

    _cleanup_config_ struct mct_config *on =
            parse("deletion:\n  reclaim:\n    enabled: true\n    keep_free: 500G\n"
                  "    keep_recent_days: 3\n",
                  err, sizeof(err));
    ck_assert_msg(on, "%s", err);
    ck_assert(on->reclaim.enabled);
    ck_assert_uint_eq(on->reclaim.keep_free.bytes, 500ull << 30);
    ck_assert_uint_eq(on->reclaim.keep_free.percent_x100, 0);
    ck_assert_uint_eq(on->reclaim.keep_recent_days, 3);

    ck_assert_ptr_null(parse("deletion:\n  reclaim:\n    keep_free: lots\n", err, sizeof(err)));
    ck_assert_msg(startswith(err, "t.yaml:3: deletion.reclaim.keep_free: 'lots' is not a size"),
                  "%s", err);
    ck_assert_ptr_null(parse("deletion:\n  reclaim:\n    keep_recent: 3\n", err, sizeof(err)));
    ck_assert_msg(strstr(err, "t.yaml:3: unknown key 'keep_recent'"), "%s", err);
    ck_assert_ptr_null(parse("deletion:\n  reclaim:\n    keep_free: [1]\n", err, sizeof(err)));
    ck_assert_msg(strstr(err, "expected a string"), "%s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reclaim");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, space_parses_bytes_and_percentages);
    tcase_add_test(tc, space_resolves_and_formats);
    tcase_add_test(tc, dates_count_days);
    tcase_add_test(tc, forecast_window_rate_and_days);
    tcase_add_test(tc, forecast_without_recordings_or_filesystem);
    tcase_add_test(tc, classes_follow_the_status);
    tcase_add_test(tc, items_oldest_first_and_why_not);
    tcase_add_test(tc, nothing_in_the_way);
    tcase_add_test(tc, config_keys);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
