/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Comparing a copy with its source by name, type and size
 * (fs/core/verify.c), on scans made up by hand. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unit.h"
#include "util.h"
#include "verify.h"

/* A scan from "path:size" strings (already sorted); "@path:size" is a symlink. */
static void fake_scan(struct mct_scan *s, const char *const *spec, size_t n)
{
    *s = (struct mct_scan){0};
    s->files = calloc(n ? n : 1, sizeof(*s->files));
    ck_assert_ptr_nonnull(s->files);
    for (size_t i = 0; i < n; i++) {
        const char *p = spec[i];
        bool link = *p == '@';
        p += link;
        const char *colon = strrchr(p, ':');
        ck_assert_ptr_nonnull(colon);
        s->files[i].relpath = strndup(p, (size_t)(colon - p));
        s->files[i].size = strtoull(colon + 1, NULL, 10);
        s->files[i].mode = link ? S_IFLNK : S_IFREG;
        if (!link)
            s->bytes += s->files[i].size;
    }
    s->n_files = n;
}

static const char *const src_spec[] = {"a.mp4:100", "b.json:10", "sub/c.txt:5", "sub/z:0"};

START_TEST(a_copy_with_every_file_at_its_size_is_verified)
{
    struct mct_scan a, b;
    fake_scan(&a, src_spec, 4);
    fake_scan(&b, src_spec, 4);
    struct mct_verify_result res;
    ck_assert_int_eq(mct_verify_compare(&a, &b, NULL, NULL, &res), 0);
    ck_assert_int_eq(res.state, MCT_DEST_VERIFIED);
    ck_assert_uint_eq(res.n_missing + res.n_extra + res.n_mismatched, 0);
    mct_verify_result_free(&res);
    mct_scan_free(&a);
    mct_scan_free(&b);
}
END_TEST

START_TEST(a_file_missing_from_the_copy_makes_it_unverified_and_is_named)
{
    static const char *const copy[] = {"a.mp4:100", "sub/c.txt:5", "sub/z:0"};
    struct mct_scan a, b;
    fake_scan(&a, src_spec, 4);
    fake_scan(&b, copy, 3);
    struct mct_verify_result res;
    ck_assert_int_eq(mct_verify_compare(&a, &b, NULL, NULL, &res), 0);
    ck_assert_int_eq(res.state, MCT_DEST_UNVERIFIED);
    ck_assert_uint_eq(res.n_missing, 1);
    ck_assert_str_eq(res.missing[0], "b.json");
    ck_assert_ptr_null(res.missing[1]);
    mct_verify_result_free(&res);
    mct_scan_free(&a);
    mct_scan_free(&b);
}
END_TEST

START_TEST(a_file_of_another_size_makes_it_unverified_though_the_count_matches)
{
    /* Same count and the same names: the count-only check of the original
     * tool would call this verified. */
    static const char *const copy[] = {"a.mp4:99", "b.json:10", "sub/c.txt:5", "sub/z:0"};
    struct mct_scan a, b;
    fake_scan(&a, src_spec, 4);
    fake_scan(&b, copy, 4);
    struct mct_verify_result res;
    ck_assert_int_eq(mct_verify_compare(&a, &b, NULL, NULL, &res), 0);
    ck_assert_int_eq(res.state, MCT_DEST_UNVERIFIED);
    ck_assert_uint_eq(res.n_mismatched, 1);
    ck_assert_str_eq(res.mismatched[0].relpath, "a.mp4");
    ck_assert_uint_eq(res.mismatched[0].source_size, 100);
    ck_assert_uint_eq(res.mismatched[0].copy_size, 99);
    ck_assert_uint_eq(res.n_missing, 0);
    mct_verify_result_free(&res);
    mct_scan_free(&a);
    mct_scan_free(&b);
}
END_TEST

START_TEST(other_names_of_the_same_count_are_missing_and_extra)
{
    static const char *const copy[] = {"a.mp4:100", "b.json:10", "sub/c.txt:5", "sub/zz:0"};
    struct mct_scan a, b;
    fake_scan(&a, src_spec, 4);
    fake_scan(&b, copy, 4);
    struct mct_verify_result res;
    ck_assert_int_eq(mct_verify_compare(&a, &b, NULL, NULL, &res), 0);
    ck_assert_int_eq(res.state, MCT_DEST_UNVERIFIED);
    ck_assert_uint_eq(res.n_missing, 1);
    ck_assert_str_eq(res.missing[0], "sub/z");
    ck_assert_uint_eq(res.n_extra, 1);
    ck_assert_str_eq(res.extra[0], "sub/zz");
    mct_verify_result_free(&res);
    mct_scan_free(&a);
    mct_scan_free(&b);
}
END_TEST

START_TEST(extra_files_alone_leave_a_copy_verified)
{
    static const char *const copy[] = {"0first:1",    "a.mp4:100", "b.json:10", "old.txt:3",
                                       "sub/c.txt:5", "sub/z:0",   "zzz:9"};
    struct mct_scan a, b;
    fake_scan(&a, src_spec, 4);
    fake_scan(&b, copy, 7);
    struct mct_verify_result res;
    ck_assert_int_eq(mct_verify_compare(&a, &b, NULL, NULL, &res), 0);
    ck_assert_int_eq(res.state, MCT_DEST_VERIFIED);
    ck_assert_uint_eq(res.n_extra, 3);
    ck_assert_str_eq(res.extra[0], "0first");
    ck_assert_str_eq(res.extra[1], "old.txt");
    ck_assert_str_eq(res.extra[2], "zzz");
    mct_verify_result_free(&res);
    mct_scan_free(&a);
    mct_scan_free(&b);
}
END_TEST

START_TEST(an_empty_copy_is_unverified_even_of_an_empty_session)
{
    struct mct_scan a, b, e1, e2;
    fake_scan(&a, src_spec, 4);
    fake_scan(&b, NULL, 0);
    struct mct_verify_result res;
    ck_assert_int_eq(mct_verify_compare(&a, &b, NULL, NULL, &res), 0);
    ck_assert_int_eq(res.state, MCT_DEST_UNVERIFIED);
    ck_assert_uint_eq(res.n_missing, 4);
    mct_verify_result_free(&res);

    /* nothing on either side is not a verified backup either */
    fake_scan(&e1, NULL, 0);
    fake_scan(&e2, NULL, 0);
    ck_assert_int_eq(mct_verify_compare(&e1, &e2, NULL, NULL, &res), 0);
    ck_assert_int_eq(res.state, MCT_DEST_UNVERIFIED);
    mct_verify_result_free(&res);
    mct_scan_free(&a);
    mct_scan_free(&b);
    mct_scan_free(&e1);
    mct_scan_free(&e2);
}
END_TEST

START_TEST(a_symlink_matches_only_a_symlink)
{
    static const char *const s1[] = {"@l:6", "x:1"};
    static const char *const same[] = {"@l:6", "x:1"};
    static const char *const as_file[] = {"l:6", "x:1"};
    struct mct_scan a, b, c;
    fake_scan(&a, s1, 2);
    fake_scan(&b, same, 2);
    fake_scan(&c, as_file, 2);
    struct mct_verify_result res;
    ck_assert_int_eq(mct_verify_compare(&a, &b, NULL, NULL, &res), 0);
    ck_assert_int_eq(res.state, MCT_DEST_VERIFIED);
    mct_verify_result_free(&res);
    /* a file in the source whose copy is a symlink (or vice versa) differs */
    ck_assert_int_eq(mct_verify_compare(&c, &a, NULL, NULL, &res), 0);
    ck_assert_int_eq(res.state, MCT_DEST_UNVERIFIED);
    ck_assert_uint_eq(res.n_mismatched, 1);
    mct_verify_result_free(&res);
    mct_scan_free(&a);
    mct_scan_free(&b);
    mct_scan_free(&c);
}
END_TEST

struct prog {
    uint64_t calls, last_done, last_total;
};

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
    struct prog *p = ud;
    ck_assert_uint_ge(done, p->last_done);
    p->calls++;
    p->last_done = done;
    p->last_total = total;
}

START_TEST(a_comparison_of_2000_files_reports_progress_and_finds_the_one_that_differs)
{
    enum { N = 2000 };
    struct mct_scan a, b;
    char **spec = calloc(N, sizeof(char *));
    for (int i = 0; i < N; i++)
        spec[i] = mct_strdup_printf("f%05d:%d", i, i);
    fake_scan(&a, (const char *const *)spec, N);
    fake_scan(&b, (const char *const *)spec, N);
    b.files[1234].size++;
    struct prog p = {0};
    struct mct_verify_result res;
    ck_assert_int_eq(mct_verify_compare(&a, &b, on_progress, &p, &res), 0);
    ck_assert_int_eq(res.state, MCT_DEST_UNVERIFIED);
    ck_assert_uint_eq(res.n_mismatched, 1);
    ck_assert_str_eq(res.mismatched[0].relpath, "f01234");
    ck_assert_uint_ge(p.calls, 2);
    ck_assert_uint_eq(p.last_done, N);
    ck_assert_uint_eq(p.last_total, N);
    mct_verify_result_free(&res);
    for (int i = 0; i < N; i++)
        free(spec[i]);
    free(spec);
    mct_scan_free(&a);
    mct_scan_free(&b);
}
END_TEST

START_TEST(each_copy_state_has_its_documented_name)
{
    ck_assert_str_eq(mct_dest_state_name(MCT_DEST_UNREACHABLE), "unreachable");
    ck_assert_str_eq(mct_dest_state_name(MCT_DEST_MISSING), "missing");
    ck_assert_str_eq(mct_dest_state_name(MCT_DEST_UNVERIFIED), "unverified");
    ck_assert_str_eq(mct_dest_state_name(MCT_DEST_VERIFIED), "verified");
}
END_TEST

static Suite *verify_suite(void)
{
    Suite *s = suite_create("verify");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, a_copy_with_every_file_at_its_size_is_verified);
    tcase_add_test(tc, a_file_missing_from_the_copy_makes_it_unverified_and_is_named);
    tcase_add_test(tc, a_file_of_another_size_makes_it_unverified_though_the_count_matches);
    tcase_add_test(tc, other_names_of_the_same_count_are_missing_and_extra);
    tcase_add_test(tc, extra_files_alone_leave_a_copy_verified);
    tcase_add_test(tc, an_empty_copy_is_unverified_even_of_an_empty_session);
    tcase_add_test(tc, a_symlink_matches_only_a_symlink);
    tcase_add_test(tc, a_comparison_of_2000_files_reports_progress_and_finds_the_one_that_differs);
    tcase_add_test(tc, each_copy_state_has_its_documented_name);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(verify_suite());
}
