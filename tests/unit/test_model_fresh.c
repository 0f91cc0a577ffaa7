/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The live model's freshness rules (fs/model_fresh.c) as mctfs(8),
 * "Freshness", states them: a read never gets a status older than
 * cache_seconds unless it was computed after the read asked; a stat takes
 * whatever there is and only queues a computation; the sweep runs every
 * cache_seconds / 2; a read waits at most share + database timeout + 1 s;
 * files added or removed void a status; and a virtual file's modification
 * time moves only when its text does.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "model_fresh.h"
#include "status.h"
#include "unit.h"

/* Monotonic milliseconds, far from 0 so no subtraction wraps. */
#define T0 1000000

START_TEST(a_snapshot_younger_than_cache_seconds_is_fresh_for_any_read)
{
    /* Computed long before the read asked, but 29.999 s old of 30. */
    ck_assert(model_snap_fresh(T0, T0 + 29000, T0 + 29999, 30));
    ck_assert(model_snap_young(T0, T0 + 29999, 30));
    ck_assert(model_snap_young(T0, T0, 30));
}
END_TEST

START_TEST(a_snapshot_cache_seconds_old_is_stale)
{
    ck_assert(!model_snap_young(T0, T0 + 30000, 30));
    ck_assert(!model_snap_fresh(T0, T0 + 30000, T0 + 30000, 30));
    ck_assert(!model_snap_fresh(T0, T0 + 1, T0 + 3600 * 1000, 30));
}
END_TEST

/* The read that waited is given the computation it waited for, however
 * long that took. */
START_TEST(a_snapshot_computed_after_the_read_asked_is_fresh_for_it_whatever_its_age)
{
    ck_assert(model_snap_fresh(T0 + 10, T0, T0 + 60000, 30));
    ck_assert(model_snap_fresh(T0, T0, T0 + 60000, 30)); /* started the same millisecond */
    ck_assert(!model_snap_fresh(T0 - 1, T0, T0 + 60000, 30));
}
END_TEST

/* cache_seconds 0: every read computes; only what started after it is
 * good enough, and nothing is ever young. */
START_TEST(with_cache_seconds_0_only_a_computation_after_the_read_is_fresh)
{
    ck_assert(!model_snap_young(T0, T0, 0));
    ck_assert(!model_snap_fresh(T0, T0 + 1, T0 + 1, 0));
    ck_assert(model_snap_fresh(T0 + 1, T0 + 1, T0 + 2, 0));
}
END_TEST

/* A stat (ls -la, a file browser) never waits: it answers with what there
 * is and queues the session when that is not young; a young one sets off
 * nothing. */
START_TEST(a_stat_queues_a_computation_only_when_the_snapshot_is_not_young)
{
    ck_assert(model_snap_young(T0, T0 + 1000, 30));        /* answered, nothing queued */
    ck_assert(!model_snap_young(T0, T0 + 31000, 30));      /* answered, queued behind */
    ck_assert(!model_snap_young(T0, T0 + 1, 0));           /* cache_seconds 0: always queued */
    ck_assert(model_snap_young(T0, T0 + 86399999, 86400)); /* a day's cache */
}
END_TEST

START_TEST(the_sweep_runs_every_half_cache_seconds_at_most_once_a_second)
{
    ck_assert_int_eq(model_sweep_period_ms(30), 15000);
    ck_assert_int_eq(model_sweep_period_ms(60), 30000);
    ck_assert_int_eq(model_sweep_period_ms(3), 1500);
    ck_assert_int_eq(model_sweep_period_ms(2), 1000);
    ck_assert_int_eq(model_sweep_period_ms(1), 1000);
    ck_assert_int_eq(model_sweep_period_ms(4000000), (int64_t)4000000 * 500);
}
END_TEST

START_TEST(with_cache_seconds_0_there_is_no_sweep)
{
    ck_assert_int_eq(model_sweep_period_ms(0), -1);
}
END_TEST

START_TEST(a_read_waits_at_most_share_plus_database_timeout_plus_one_second)
{
    struct mct_config cfg = {.share_timeout_s = 5, .database_timeout_s = 5};
    ck_assert_uint_eq(mct_status_deadline_seconds(&cfg), 11);
    cfg = (struct mct_config){.share_timeout_s = 3600, .database_timeout_s = 1};
    ck_assert_uint_eq(mct_status_deadline_seconds(&cfg), 3602);
    cfg = (struct mct_config){0};
    ck_assert_uint_eq(mct_status_deadline_seconds(&cfg), 1);
}
END_TEST

/* ---- the session folder ---- */

static struct stat folder(time_t mtime, long mtime_ns, time_t ctime, long ctime_ns)
{
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_mtim = (struct timespec){mtime, mtime_ns};
    st.st_ctim = (struct timespec){ctime, ctime_ns};
    return st;
}

START_TEST(an_unchanged_session_folder_keeps_the_status)
{
    struct timespec m = {1700000000, 5}, c = {1700000001, 7};
    struct stat now = folder(1700000000, 5, 1700000001, 7);
    ck_assert(!model_folder_changed(&m, &c, &now));
}
END_TEST

/* A file added or removed moves the folder's mtime; a rename in and out
 * with the mtime put back (touch -d) still moves its ctime; nanoseconds
 * count. */
START_TEST(a_file_added_or_removed_in_the_session_folder_voids_the_status)
{
    struct timespec m = {1700000000, 5}, c = {1700000001, 7};
    struct stat mtime_moved = folder(1700000002, 5, 1700000001, 7);
    struct stat ctime_moved = folder(1700000000, 5, 1700000003, 7);
    struct stat nsec_moved = folder(1700000000, 6, 1700000001, 7);
    struct stat back_in_time = folder(1699999999, 5, 1700000001, 7);
    ck_assert(model_folder_changed(&m, &c, &mtime_moved));
    ck_assert(model_folder_changed(&m, &c, &ctime_moved));
    ck_assert(model_folder_changed(&m, &c, &nsec_moved));
    ck_assert(model_folder_changed(&m, &c, &back_in_time));
}
END_TEST

/* ---- modification times ---- */

START_TEST(a_files_first_rendering_is_dated_when_it_was_computed)
{
    struct model_text_clock clock = {0};
    struct timespec at = {1700000000, 42};
    struct timespec mtime = model_text_clock_tick(&clock, 0xabc, &at);
    ck_assert_int_eq(mtime.tv_sec, at.tv_sec);
    ck_assert_int_eq(mtime.tv_nsec, at.tv_nsec);
    /* A hash of 0 (an empty or unrenderable text) is a text too. */
    struct model_text_clock empty = {0};
    mtime = model_text_clock_tick(&empty, 0, &at);
    ck_assert_int_eq(mtime.tv_sec, at.tv_sec);
    ck_assert(empty.known);
}
END_TEST

/* A status computed again every sweep, its text the same: tail -F, make
 * and file browsers see no change. */
START_TEST(a_files_mtime_stays_while_its_text_does_not_change)
{
    struct model_text_clock clock = {0};
    struct timespec first = {1700000000, 1};
    model_text_clock_tick(&clock, 0xabc, &first);
    for (int i = 1; i <= 100; i++) {
        struct timespec later = {1700000000 + 15 * i, 0};
        struct timespec mtime = model_text_clock_tick(&clock, 0xabc, &later);
        ck_assert_int_eq(mtime.tv_sec, first.tv_sec);
        ck_assert_int_eq(mtime.tv_nsec, first.tv_nsec);
    }
}
END_TEST

START_TEST(a_files_mtime_moves_when_its_text_changes)
{
    struct model_text_clock clock = {0};
    struct timespec t1 = {1700000000, 0}, t2 = {1700000015, 0}, t3 = {1700000030, 0};
    model_text_clock_tick(&clock, 0xabc, &t1);
    ck_assert_int_eq(model_text_clock_tick(&clock, 0xdef, &t2).tv_sec, t2.tv_sec);
    /* Back to the first text is a change too. */
    ck_assert_int_eq(model_text_clock_tick(&clock, 0xabc, &t3).tv_sec, t3.tv_sec);
}
END_TEST

static Suite *model_fresh_suite(void)
{
    Suite *s = suite_create("model_fresh");
    TCase *tc = tcase_create("age");
    tcase_add_test(tc, a_snapshot_younger_than_cache_seconds_is_fresh_for_any_read);
    tcase_add_test(tc, a_snapshot_cache_seconds_old_is_stale);
    tcase_add_test(tc, a_snapshot_computed_after_the_read_asked_is_fresh_for_it_whatever_its_age);
    tcase_add_test(tc, with_cache_seconds_0_only_a_computation_after_the_read_is_fresh);
    tcase_add_test(tc, a_stat_queues_a_computation_only_when_the_snapshot_is_not_young);
    tcase_add_test(tc, the_sweep_runs_every_half_cache_seconds_at_most_once_a_second);
    tcase_add_test(tc, with_cache_seconds_0_there_is_no_sweep);
    tcase_add_test(tc, a_read_waits_at_most_share_plus_database_timeout_plus_one_second);
    suite_add_tcase(s, tc);

    tc = tcase_create("folder");
    tcase_add_test(tc, an_unchanged_session_folder_keeps_the_status);
    tcase_add_test(tc, a_file_added_or_removed_in_the_session_folder_voids_the_status);
    suite_add_tcase(s, tc);

    tc = tcase_create("mtime");
    tcase_add_test(tc, a_files_first_rendering_is_dated_when_it_was_computed);
    tcase_add_test(tc, a_files_mtime_stays_while_its_text_does_not_change);
    tcase_add_test(tc, a_files_mtime_moves_when_its_text_changes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(model_fresh_suite());
}
