/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The descriptor caps (fs/fdcap.c): real files open through the mount are
 * capped per user, so one user cannot starve the others, and in total;
 * root and the mount's owner are held to the total only.
 */
#include <check.h>
#include <errno.h>

#include "fdcap.h"
#include "unit.h"

START_TEST(each_user_gets_a_share_of_the_descriptors_and_nobody_passes_the_total)
{
    struct fdcap *c;
    ck_assert_int_eq(fdcap_new(1024, 3, 128, &c), 0);
    ck_assert_int_eq(fdcap_total(c), 896);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fdcap_take(c, 1000, false), 0);
    ck_assert_int_eq(fdcap_take(c, 1000, false), -EMFILE);
    /* Others are not held back by one user. */
    ck_assert_int_eq(fdcap_take(c, 1001, false), 0);
    fdcap_put(c, 1000);
    ck_assert_int_eq(fdcap_take(c, 1000, false), 0);
    /* Unlimited callers stop at the total only. */
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(fdcap_take(c, 0, true), 0);
    fdcap_free(c);

    ck_assert_int_eq(fdcap_new(200, 1000, 128, &c), 0);
    ck_assert_int_eq(fdcap_total(c), 72);
    for (int i = 0; i < 72; i++)
        ck_assert_int_eq(fdcap_take(c, (uid_t)i, i == 0), 0);
    ck_assert_int_eq(fdcap_take(c, 0, true), -EMFILE);
    ck_assert_int_eq(fdcap_take(c, 500, false), -EMFILE);
    fdcap_put(c, 7);
    ck_assert_int_eq(fdcap_take(c, 500, false), 0);
    fdcap_free(c);
}
END_TEST

static Suite *fdcap_suite(void)
{
    Suite *s = suite_create("fdcap");
    TCase *tc = tcase_create("caps");
    tcase_add_test(tc, each_user_gets_a_share_of_the_descriptors_and_nobody_passes_the_total);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(fdcap_suite());
}
