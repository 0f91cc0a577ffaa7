/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The forecast's arithmetic (fs/core/forecast.c) and its renderings: the
 * recording rate over the last days and the days until the disk is
 * full, with and without what reclaim could free. */
#include <check.h>
#include <string.h>

#include "forecast.h"
#include "report.h"
#include "unit.h"

START_TEST(dates_count_days_since_1970_and_an_invalid_one_is_int64_min)
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

START_TEST(the_forecast_rates_the_last_14_days_and_counts_the_days_until_full)
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

START_TEST(without_recent_recordings_or_a_known_disk_the_forecast_says_so)
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

static Suite *forecast_suite(void)
{
    Suite *s = suite_create("forecast");
    TCase *tc = tcase_create("forecast");
    tcase_add_test(tc, dates_count_days_since_1970_and_an_invalid_one_is_int64_min);
    tcase_add_test(tc, the_forecast_rates_the_last_14_days_and_counts_the_days_until_full);
    tcase_add_test(tc, without_recent_recordings_or_a_known_disk_the_forecast_says_so);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(forecast_suite());
}
