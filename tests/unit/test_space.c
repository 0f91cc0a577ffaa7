/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Free-space targets (fs/core/space.c), as deletion.reclaim.keep_free
 * takes them: a size or a percentage of the disk. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "reclaim.h"
#include "unit.h"
#include "util.h"

static struct mct_space parse_ok(const char *s)
{
    struct mct_space sp = {0};
    char why[256] = "";
    ck_assert_msg(mct_space_parse(s, &sp, why, sizeof(why)) == 0, "%s: %s", s, why);
    return sp;
}

START_TEST(a_free_space_target_is_a_size_with_binary_units_or_a_percentage)
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

START_TEST(a_percentage_resolves_against_the_disk_without_overflow_and_formats_back)
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

static Suite *space_suite(void)
{
    Suite *s = suite_create("space");
    TCase *tc = tcase_create("space");
    tcase_add_test(tc, a_free_space_target_is_a_size_with_binary_units_or_a_percentage);
    tcase_add_test(tc, a_percentage_resolves_against_the_disk_without_overflow_and_formats_back);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(space_suite());
}
