/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The two-sided content comparison (fs/core/content.c) on real folders:
 * a flipped byte of the same size is found, the hash cache spares what
 * did not change, a copy that is not there is an error for each file.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "content.h"
#include "fake_config.h"
#include "hashcache.h"
#include "scan.h"
#include "tmpdir.h"
#include "unit.h"
#include "util.h"

static void make_pair(void)
{
    static const char *const names[] = {"a.mp4", "b.mp4", "sub/c.json"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        char src[64], dst[64], data[3000];
        memset(data, 'a' + (int)i, sizeof(data));
        snprintf(src, sizeof(src), "src/%s", names[i]);
        snprintf(dst, sizeof(dst), "dst/%s", names[i]);
        tmp_write(src, data, sizeof(data));
        tmp_write(dst, data, sizeof(data));
    }
}

struct scans {
    struct mct_scan src, dst;
    char *src_dir, *dst_dir;
};

static void scan_pair(struct scans *s)
{
    s->src_dir = tmp_path("src");
    s->dst_dir = tmp_path("dst");
    ck_assert_int_eq(mct_scan_tree(s->src_dir, NULL, &s->src), 0);
    ck_assert_int_eq(mct_scan_tree(s->dst_dir, NULL, &s->dst), 0);
}

static void scans_free(struct scans *s)
{
    mct_scan_free(&s->src);
    mct_scan_free(&s->dst);
    free(s->src_dir);
    free(s->dst_dir);
}

static int progress_calls;
static int last_percent;
static void on_progress(void *ud, const char *phase, int percent, const char *detail)
{
    progress_calls++;
    last_percent = percent;
    ck_assert_str_eq(phase, "verifying");
    ck_assert_ptr_nonnull(strstr(detail, "MB/s"));
    ck_assert_ptr_nonnull(strstr(detail, "ETA"));
}

/* The copy side lives in a plain folder: a destination rooted there. */
static const struct mct_destination *dst_dest(const struct scans *s)
{
    static struct mct_destination d;
    d = (struct mct_destination){.name = (char *)"dst", .base_path = (char *)s->dst_dir};
    return &d;
}

/* res->files point into s->src: free s after res. */
static void compare(const struct mct_config *cfg, struct mct_hashcache *cache, struct scans *s,
                    struct mct_content_result *res)
{
    *s = (struct scans){0};
    scan_pair(s);
    struct mct_content_progress p = {.fn = on_progress, .label = "dst"};
    ck_assert_int_eq(mct_content_compare(cfg, s->src_dir, &s->src, dst_dest(s), s->dst_dir, &s->dst,
                                         cache, &p, res),
                     0);
}

START_TEST(a_flipped_byte_in_a_copy_is_found_and_only_changed_files_are_read_again)
{
    _cleanup_config_ struct mct_config *cfg = fake_config_cached();
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", NULL, 0), 0);
    make_pair();
    struct mct_hashcache *cache = NULL;
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &cache), 0);

    struct mct_content_result res;
    struct scans s;
    progress_calls = 0;
    compare(cfg, cache, &s, &res);
    ck_assert_uint_eq(res.n_files, 3);
    ck_assert_uint_eq(res.n_differ + res.n_errors, 0);
    ck_assert_uint_eq(res.bytes_hashed, 2 * 3 * 3000);
    ck_assert_int_gt(progress_calls, 0);
    ck_assert_int_eq(last_percent, 100);
    ck_assert_ptr_null(mct_content_summary(&res));
    mct_content_result_free(&res);
    scans_free(&s);

    /* Everything fresh now: nothing is read again. */
    compare(cfg, cache, &s, &res);
    ck_assert_uint_eq(res.bytes_hashed, 0);
    ck_assert_uint_eq(res.n_differ, 0);
    ck_assert(res.files[0].source_cached && res.files[0].copy_cached);
    mct_content_result_free(&res);
    scans_free(&s);

    /* One flipped byte in the copy, same size: only that file is re-read. */
    _cleanup_free_ char *b = tmp_path("dst/b.mp4");
    int fd = open(b, O_WRONLY);
    ck_assert_int_eq(pwrite(fd, "X", 1, 1234), 1);
    close(fd);
    compare(cfg, cache, &s, &res);
    ck_assert_uint_eq(res.n_differ, 1);
    ck_assert_uint_eq(res.bytes_hashed, 3000);
    _cleanup_free_ char *sum = mct_content_summary(&res);
    ck_assert_ptr_nonnull(sum);
    ck_assert_msg(strstr(sum, "content differs") && strstr(sum, "b.mp4"), "%s", sum);
    mct_content_result_free(&res);
    scans_free(&s);
    mct_hashcache_free(cache);
}
END_TEST

START_TEST(a_missing_copy_folder_is_an_error_for_every_file)
{
    _cleanup_config_ struct mct_config *cfg = fake_config_cached();
    make_pair();
    struct scans s = {0};
    scan_pair(&s);
    _cleanup_free_ char *cmd = mct_strdup_printf("rm -rf '%s'", s.dst_dir);
    ck_assert_int_eq(system(cmd), 0);
    struct mct_content_result res;
    ck_assert_int_eq(mct_content_compare(cfg, s.src_dir, &s.src, dst_dest(&s), s.dst_dir, &s.dst,
                                         NULL, NULL, &res),
                     0);
    ck_assert_uint_eq(res.n_errors, 3);
    ck_assert_int_eq(res.files[0].copy_err, -ENOENT);
    _cleanup_free_ char *sum = mct_content_summary(&res);
    ck_assert_ptr_nonnull(strstr(sum, "could not hash"));
    mct_content_result_free(&res);
    scans_free(&s);
}
END_TEST

static Suite *content_suite(void)
{
    Suite *s = suite_create("content");
    TCase *tc = tcase_create("content");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, a_flipped_byte_in_a_copy_is_found_and_only_changed_files_are_read_again);
    tcase_add_test(tc, a_missing_copy_folder_is_an_error_for_every_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(content_suite());
}
