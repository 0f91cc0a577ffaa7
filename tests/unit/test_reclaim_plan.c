/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reclaim's plan (fs/core/reclaim_plan.c) on statuses built by hand:
 * which sessions reclaim may take, in which order, and why the target is
 * out of reach; and their renderings (report_reclaim.c).
 */
#include <check.h>

#include "config.h"
#include "forecast.h"
#include "reclaim.h"
#include "report.h"
#include "unit.h"

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

START_TEST(each_session_falls_in_the_reclaim_class_its_status_says)
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

START_TEST(sessions_are_taken_oldest_first_and_what_is_in_the_way_is_summed_up)
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

START_TEST(with_nothing_in_the_way_the_rest_of_the_disk_is_not_sessions)
{
    struct mct_reclaim_result res = {.keep_free = {.bytes = 500ull << 30}, .keep_recent_days = 14};
    _cleanup_free_ char *why = mct_reclaim_why_not(&res);
    ck_assert_str_eq(why, "target 500G free not reachable: no session left to delete (the rest "
                          "of the disk is not sessions)");
}
END_TEST

static Suite *reclaim_plan_suite(void)
{
    Suite *s = suite_create("reclaim_plan");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, each_session_falls_in_the_reclaim_class_its_status_says);
    tcase_add_test(tc, sessions_are_taken_oldest_first_and_what_is_in_the_way_is_summed_up);
    tcase_add_test(tc, with_nothing_in_the_way_the_rest_of_the_disk_is_not_sessions);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(reclaim_plan_suite());
}
