/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JSON documents through json-c (jsondoc.h): strings written by escape.h's
 * escape wherever they sit, keys in the order added, the one-per-line
 * containers, uint64 numbers; parsing refuses all but one value, and
 * reads what the writer makes, \udcHH included.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsondoc.h"
#include "util.h"

static char *written(struct json_object *o)
{
    struct mct_buf b = {0};
    ck_assert_int_eq(mct_json_write(o, &b), 0);
    return mct_buf_steal(&b);
}

START_TEST(test_strings_take_the_one_escape)
{
    /* Not UTF-8, a control character, DEL, a bidi override, a quote, a
     * backslash and a slash: in an array, an object, and alone. */
    const char *name = "a\xff\x01\x7f\xe2\x80\xae\"\\/é";
    const char *want = "\"a\\udcff\\u0001\\u007f\\u202e\\\"\\\\/é\"";
    _cleanup_json_ struct json_object *s = mct_json_str(name);
    _cleanup_free_ char *alone = written(s);
    ck_assert_str_eq(alone, want);

    char *v[] = {(char *)name, (char *)"b", NULL};
    _cleanup_json_ struct json_object *o = json_object_new_object();
    ck_assert_int_eq(mct_json_add_strv(o, "names", v), 0);
    ck_assert_int_eq(mct_json_add_str(o, "name", name), 0);
    _cleanup_free_ char *text = written(o);
    _cleanup_free_ char *expect =
            mct_strdup_printf("{\"names\":[%s,\"b\"],\"name\":%s}", want, want);
    ck_assert_str_eq(text, expect);
}
END_TEST

START_TEST(test_keys_in_order_and_numbers)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    ck_assert_int_eq(mct_json_add_u64(o, "z", UINT64_MAX), 0);
    ck_assert_int_eq(mct_json_add_i64(o, "a", -5), 0);
    ck_assert_int_eq(mct_json_add_bool(o, "m", true), 0);
    ck_assert_int_eq(mct_json_add_null(o, "b"), 0);
    ck_assert_int_eq(mct_json_add_str(o, "n", NULL), 0);
    ck_assert_int_eq(mct_json_add(o, "e", json_object_new_object()), 0);
    ck_assert_int_eq(mct_json_add(o, "f", mct_json_str_array(NULL, 5)), 0);
    _cleanup_free_ char *text = written(o);
    ck_assert_str_eq(text, "{\"z\":18446744073709551615,\"a\":-5,\"m\":true,\"b\":null,\"n\":null,"
                           "\"e\":{},\"f\":[]}");
}
END_TEST

START_TEST(test_lines_containers)
{
    _cleanup_json_ struct json_object *a = mct_json_lines_array();
    _cleanup_free_ char *empty = written(a);
    ck_assert_str_eq(empty, "[]");
    for (int i = 0; i < 2; i++) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        ck_assert_int_eq(mct_json_add_i64(o, "i", i), 0);
        ck_assert_int_eq(mct_json_add_str(o, "s", "\n"), 0);
        ck_assert_int_eq(mct_json_push(a, TAKE_PTR(o)), 0);
    }
    _cleanup_free_ char *two = written(a);
    ck_assert_str_eq(two, "[\n{\"i\":0,\"s\":\"\\n\"},\n{\"i\":1,\"s\":\"\\n\"}\n]");

    _cleanup_json_ struct json_object *o = mct_json_lines_object();
    ck_assert_int_eq(mct_json_add_str(o, "k", "v"), 0);
    ck_assert_int_eq(mct_json_add(o, "a", mct_json_str_array((char *[]){"x", "y", NULL}, 1)), 0);
    _cleanup_free_ char *lines = written(o);
    ck_assert_str_eq(lines, "{\n\"k\": \"v\",\n\"a\": [\"x\"]\n}");
}
END_TEST

/* An add of a value that could not be made fails, and so does one to a
 * container that could not be; neither leaks (ASan). */
START_TEST(test_failed_parts_fail_the_add)
{
    ck_assert_int_eq(mct_json_add(NULL, "k", mct_json_str("v")), -ENOMEM);
    _cleanup_json_ struct json_object *o = json_object_new_object();
    ck_assert_int_eq(mct_json_add(o, "k", NULL), -ENOMEM);
    ck_assert_int_eq(mct_json_push(NULL, mct_json_str("v")), -ENOMEM);
    ck_assert_int_eq(mct_json_add_str(NULL, "k", "v"), -ENOMEM);
    ck_assert_int_eq(mct_json_add_null(NULL, "k"), -ENOMEM);
    struct mct_buf b = {0};
    ck_assert_int_eq(mct_json_write(NULL, &b), -ENOMEM);
    ck_assert_int_eq(b.error, -ENOMEM);
    mct_buf_free(&b);
}
END_TEST

START_TEST(test_parse_one_value)
{
    char why[128];
    _cleanup_json_ struct json_object *o = NULL;
    const char *text = " {\"a\":\"x\\udcffy\",\"n\":\"a\\u0000b\",\"u\":18446744073709551615} \n";
    ck_assert_int_eq(mct_json_parse(text, strlen(text), &o, why, sizeof(why)), 0);
    /* A byte that surrogateescape stood for reads as U+FFFD: readers look
     * for words, and no name is read back. */
    ck_assert_str_eq(mct_json_get_str(o, "a"), "x\xef\xbf\xbdy");
    ck_assert_ptr_null(mct_json_get_str(o, "n"));
    ck_assert_ptr_null(mct_json_get_str(o, "u"));
    ck_assert_ptr_null(mct_json_get_str(o, "missing"));
    ck_assert_ptr_null(mct_json_get_str(NULL, "a"));
    ck_assert_uint_eq(json_object_get_uint64(mct_json_get(o, "u", json_type_int)), UINT64_MAX);
    ck_assert_ptr_null(mct_json_get(o, "a", json_type_object));

    static const char *const bad[] = {"",           "  ",  "{",         "{}{}", "{} x",     "[1,]",
                                      "{\"a\":1,}", "'a'", "[\"\\x\"]", "nul",  "{\"a\" 1}"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct json_object *v = NULL;
        why[0] = '\0';
        ck_assert_msg(mct_json_parse(bad[i], strlen(bad[i]), &v, why, sizeof(why)) == -EBADMSG,
                      "%s parsed", bad[i]);
        ck_assert_msg(why[0], "no why for %s", bad[i]);
        ck_assert_ptr_null(v);
    }
    struct json_object *v = NULL;
    ck_assert_int_eq(mct_json_parse("{", 1, &v, NULL, 0), -EBADMSG);
}
END_TEST

/* What is written reads back: each string, a name that is not UTF-8
 * aside, as it was. */
START_TEST(test_written_reads_back)
{
    _cleanup_json_ struct json_object *o = mct_json_lines_object();
    const char *s = "tab\there \"quoted\" \\ é \xe2\x80\xae\x7f";
    ck_assert_int_eq(mct_json_add_str(o, "s", s), 0);
    _cleanup_free_ char *text = written(o);
    _cleanup_json_ struct json_object *back = NULL;
    char why[128];
    ck_assert_int_eq(mct_json_parse(text, strlen(text), &back, why, sizeof(why)), 0);
    ck_assert_str_eq(mct_json_get_str(back, "s"), s);
}
END_TEST

static Suite *jsondoc_suite(void)
{
    Suite *s = suite_create("jsondoc");
    TCase *tc = tcase_create("jsondoc");
    tcase_add_test(tc, test_strings_take_the_one_escape);
    tcase_add_test(tc, test_keys_in_order_and_numbers);
    tcase_add_test(tc, test_lines_containers);
    tcase_add_test(tc, test_failed_parts_fail_the_add);
    tcase_add_test(tc, test_parse_one_value);
    tcase_add_test(tc, test_written_reads_back);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(jsondoc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
