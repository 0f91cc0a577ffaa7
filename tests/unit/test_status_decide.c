/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The safety decision (mct_status_decide, fs/core/status.c) on statuses
 * built by hand: safe only when every DataJoint check passes and every
 * enabled destination holds a verified copy; anything unknown is not safe,
 * and every reason is named.
 */
#include <check.h>

#include "fake_status.h"
#include "unit.h"

START_TEST(a_session_is_safe_when_every_check_and_every_copy_holds)
{
    struct mct_session_status *st = fake_status(1);
    ck_assert(st->safe_to_delete);
    ck_assert_int_eq(st->backup, MCT_YES);
    ck_assert_int_eq(st->verified, MCT_YES);
    ck_assert_uint_eq(mct_strv_length(st->reasons), 0);
    _cleanup_free_ char *s = fake_status_render(mct_report_safe_to_delete, st);
    ck_assert_str_eq(s, "yes\n");
    mct_session_status_free_array(st, 1);
}
END_TEST

START_TEST(unknown_datajoint_is_not_safe)
{
    struct mct_session_status *st = fake_status(1);
    st->dj.state = MCT_UNKNOWN;
    st->dj.checks[MCT_DJ_SUBJECT] = MCT_UNKNOWN;
    strcpy(st->dj.reason, "cannot connect to localhost:3306");
    mct_status_decide(st);
    ck_assert(!st->safe_to_delete);
    _cleanup_free_ char *s = fake_status_render(mct_report_safe_to_delete, st);
    ck_assert_ptr_nonnull(strstr(s, "no: DataJoint state unknown: cannot connect"));
    mct_session_status_free_array(st, 1);
}
END_TEST

START_TEST(not_in_datajoint_is_not_safe_and_names_the_failed_check)
{
    struct mct_session_status *st = fake_status(1);
    st->dj.state = MCT_NO;
    st->dj.checks[MCT_DJ_SINGLE_CAMERA_VIDEO] = MCT_NO;
    strcpy(st->dj.reason, "single_camera_video has no rows");
    mct_status_decide(st);
    ck_assert(!st->safe_to_delete);
    ck_assert_str_eq(st->reasons[0], "not in DataJoint: single_camera_video has no rows");
    mct_session_status_free_array(st, 1);
}
END_TEST

START_TEST(an_unreachable_share_is_unknown_never_safe)
{
    struct mct_session_status *st = fake_status(1);
    st->dests[0].state = MCT_DEST_UNREACHABLE;
    st->dests[0].detail = strdup("/mnt/share is not a mount point");
    mct_status_decide(st);
    ck_assert(!st->safe_to_delete);
    ck_assert_int_eq(st->backup, MCT_UNKNOWN);
    ck_assert_int_eq(st->verified, MCT_UNKNOWN);
    _cleanup_free_ char *s = fake_status_render(mct_report_backup_status, st);
    ck_assert_msg(startswith(s, "unreachable "), "got: %s", s);
    mct_session_status_free_array(st, 1);
}
END_TEST

START_TEST(one_unverified_destination_of_two_makes_it_unsafe)
{
    struct mct_session_status *st = fake_status(2);
    st->dests[1].state = MCT_DEST_UNVERIFIED;
    st->dests[1].detail = strdup("1 of 5 files missing");
    mct_status_decide(st);
    ck_assert(!st->safe_to_delete);
    ck_assert_int_eq(st->backup, MCT_YES);
    ck_assert_int_eq(st->verified, MCT_NO);
    ck_assert_ptr_nonnull(strstr(st->reasons[0], "destination 'second' unverified"));
    _cleanup_free_ char *s = fake_status_render(mct_report_backup_status, st);
    ck_assert_msg(startswith(s, "unverified "), "got: %s", s);
    mct_session_status_free_array(st, 1);
}
END_TEST

START_TEST(a_missing_copy_or_no_enabled_destination_is_not_safe)
{
    struct mct_session_status *st = fake_status(1);
    st->dests[0].state = MCT_DEST_MISSING;
    mct_status_decide(st);
    ck_assert_int_eq(st->backup, MCT_NO);
    ck_assert(!st->safe_to_delete);
    mct_session_status_free_array(st, 1);

    st = fake_status(0);
    ck_assert(!st->safe_to_delete);
    ck_assert_str_eq(st->reasons[0], "no backup destination is enabled");
    mct_session_status_free_array(st, 1);
}
END_TEST

START_TEST(no_local_session_is_not_safe)
{
    struct mct_session_status *st = fake_status(1);
    st->source_exists = false;
    mct_status_decide(st);
    ck_assert(!st->safe_to_delete);
    ck_assert_str_eq(st->reasons[0], "no local session at /data/p001/20250104");
    mct_session_status_free_array(st, 1);
}
END_TEST

static Suite *status_decide_suite(void)
{
    Suite *s = suite_create("status_decide");
    TCase *tc = tcase_create("decide");
    tcase_add_test(tc, a_session_is_safe_when_every_check_and_every_copy_holds);
    tcase_add_test(tc, unknown_datajoint_is_not_safe);
    tcase_add_test(tc, not_in_datajoint_is_not_safe_and_names_the_failed_check);
    tcase_add_test(tc, an_unreachable_share_is_unknown_never_safe);
    tcase_add_test(tc, one_unverified_destination_of_two_makes_it_unsafe);
    tcase_add_test(tc, a_missing_copy_or_no_enabled_destination_is_not_safe);
    tcase_add_test(tc, no_local_session_is_not_safe);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(status_decide_suite());
}
