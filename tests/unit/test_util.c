/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine's small helpers (fs/core/util.c): buffers, string lists,
 * strings, paths, files, clocks and limits. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "util.h"

START_TEST(a_buffer_grows_keeps_its_nul_and_hands_its_text_over)
{
    _cleanup_buf_ struct mct_buf b = {0};
    ck_assert_int_eq(mct_buf_puts(&b, "abc"), 0);
    ck_assert_int_eq(mct_buf_append(&b, "defXX", 3), 0);
    ck_assert_int_eq(mct_buf_printf(&b, "-%d-%s", 42, "x"), 0);
    ck_assert_str_eq(b.data, "abcdef-42-x");
    ck_assert_uint_eq(b.len, strlen("abcdef-42-x"));

    /* growth well past the first allocation keeps content and the NUL */
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(mct_buf_printf(&b, "%04d", i), 0);
    ck_assert_uint_eq(b.len, 11 + 4000);
    ck_assert_uint_eq(strlen(b.data), b.len);
    ck_assert_int_eq(memcmp(b.data + 11, "000000010002", 12), 0);
    ck_assert_str_eq(b.data + b.len - 4, "0999");

    char *s = mct_buf_steal(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(strlen(s), 11 + 4000);
    free(s);

    /* stealing an empty buffer gives "" */
    s = mct_buf_steal(&b);
    ck_assert_str_eq(s, "");
    free(s);

    /* embedded append of zero bytes is fine */
    ck_assert_int_eq(mct_buf_append(&b, "", 0), 0);
    ck_assert_str_eq(b.data, "");
}
END_TEST

START_TEST(a_string_list_stays_null_terminated_and_refuses_a_null_push)
{
    _cleanup_strv_ char **v = NULL;
    ck_assert_uint_eq(mct_strv_length(v), 0);
    ck_assert_int_eq(mct_strv_push(&v, strdup("a")), 0);
    ck_assert_int_eq(mct_strv_pushf(&v, "b%d", 2), 0);
    ck_assert_int_eq(mct_strv_push(&v, strdup("c")), 0);
    ck_assert_uint_eq(mct_strv_length(v), 3);
    ck_assert_str_eq(v[0], "a");
    ck_assert_str_eq(v[1], "b2");
    ck_assert_str_eq(v[2], "c");
    ck_assert_ptr_null(v[3]);
    ck_assert_int_eq(mct_strv_push(&v, NULL), -ENOMEM);
    ck_assert_uint_eq(mct_strv_length(v), 3);
}
END_TEST

START_TEST(string_helpers_tell_prefixes_suffixes_and_empty_strings)
{
    ck_assert(endswith("video.mp4", ".mp4"));
    ck_assert(!endswith("mp4", ".mp4"));
    ck_assert(endswith("x", ""));
    ck_assert(startswith("TF47", "TF"));
    ck_assert(!startswith("T", "TF"));
    ck_assert(strempty(NULL));
    ck_assert(strempty(""));
    ck_assert(!strempty("a"));
    _cleanup_free_ char *s = mct_strdup_printf("%s=%u", "k", 7u);
    ck_assert_str_eq(s, "k=7");
}
END_TEST

START_TEST(path_join_leaves_one_slash_between_the_parts)
{
    static const struct {
        const char *a, *b, *out;
    } t[] = {
            {"/data", "p001", "/data/p001"},
            {"/data/", "p001", "/data/p001"},
            {"/data//", "/p001", "/data/p001"},
            {"/", "p001", "/p001"},
            {"/data", "", "/data"},
            {"/data/", "", "/data"},
            {"rel", "x/y", "rel/x/y"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        _cleanup_free_ char *p = mct_path_join(t[i].a, t[i].b);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(streq(p, t[i].out), "join(%s, %s) = %s, expected %s", t[i].a, t[i].b, p,
                      t[i].out);
    }
}
END_TEST

START_TEST(mkdir_p_makes_every_parent_and_refuses_a_file_on_the_way)
{
    char dir[] = "/tmp/mct-test-util.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    _cleanup_free_ char *deep = mct_strdup_printf("%s/a/b/c", dir);
    ck_assert_int_eq(mct_mkdir_p(deep, 0750), 0);
    struct stat st;
    ck_assert_int_eq(stat(deep, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(mct_mkdir_p(deep, 0750), 0); /* exists: fine */

    _cleanup_free_ char *trail = mct_strdup_printf("%s/t/u/", dir);
    ck_assert_int_eq(mct_mkdir_p(trail, 0755), 0);
    ck_assert_int_eq(stat(trail, &st), 0);

    _cleanup_free_ char *file = mct_strdup_printf("%s/f", dir);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    _cleanup_free_ char *under = mct_strdup_printf("%s/f/x", dir);
    ck_assert_int_eq(mct_mkdir_p(under, 0755), -ENOTDIR);

    _cleanup_free_ char *cmd = mct_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(byte_counts_are_shown_in_binary_units_with_one_decimal)
{
    static const struct {
        uint64_t v;
        const char *out;
    } t[] = {
            {0, "0B"},
            {12, "12B"},
            {1023, "1023B"},
            {1024, "1.0K"},
            {1536, "1.5K"},
            {200 * 1024, "200K"},
            {1024 * 1024, "1.0M"},
            {(uint64_t)3 << 30, "3.0G"},
            {(uint64_t)1536 << 30, "1.5T"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        char out[16];
        ck_assert_str_eq(mct_format_bytes(t[i].v, out, sizeof(out)), t[i].out);
    }
}
END_TEST

START_TEST(read_file_reads_a_small_file_whole_and_refuses_a_bigger_one)
{
    char path[] = "/tmp/mct-test-read.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "hello\n", 6), 6);
    close(fd);
    _cleanup_free_ char *s = NULL;
    ck_assert_int_eq(mct_read_file(path, 100, &s), 0);
    ck_assert_str_eq(s, "hello\n");
    char *t = NULL;
    ck_assert_int_eq(mct_read_file(path, 3, &t), -EFBIG);
    ck_assert_ptr_null(t);
    unlink(path);
    ck_assert_int_eq(mct_read_file(path, 100, &t), -ENOENT);
}
END_TEST

/* A FIFO, a device or a folder is refused at once, never waited on;
 * a symlink to a regular file is read. */
START_TEST(only_a_regular_file_is_read_never_a_fifo_device_or_folder)
{
    char dir[] = "/tmp/mct-test-regular.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    _cleanup_free_ char *fifo = mct_path_join(dir, "fifo");
    _cleanup_free_ char *file = mct_path_join(dir, "file");
    _cleanup_free_ char *link = mct_path_join(dir, "link");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    FILE *f = fopen(file, "we");
    ck_assert_ptr_nonnull(f);
    fputs("pw\n", f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(symlink(file, link), 0);

    char *t = NULL;
    ck_assert_int_eq(mct_read_regular_file(fifo, 100, &t), -EBADFD);
    ck_assert_str_eq(mct_read_strerror(-EBADFD), "not a regular file");
    ck_assert_int_eq(mct_read_regular_file("/dev/null", 100, &t), -EBADFD);
    ck_assert_int_eq(mct_read_regular_file(dir, 100, &t), -EISDIR);
    ck_assert_ptr_null(t);
    _cleanup_free_ char *s = NULL;
    ck_assert_int_eq(mct_read_regular_file(link, 100, &s), 0);
    ck_assert_str_eq(s, "pw\n");

    unlink(link);
    unlink(file);
    unlink(fifo);
    rmdir(dir);
}
END_TEST

START_TEST(now_ms_counts_milliseconds)
{
    int64_t a = mct_now_ms();
    usleep(20000);
    int64_t b = mct_now_ms();
    ck_assert_int_ge(b - a, 15);
    ck_assert_int_lt(b - a, 2000);
}
END_TEST

START_TEST(the_descriptor_limit_is_raised_to_the_hard_limit)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = rl.rlim_max > 64 ? 64 : rl.rlim_max;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    long n = mct_raise_nofile();
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    ck_assert_int_eq(n, (long)rl.rlim_cur);
    ck_assert(rl.rlim_cur == rl.rlim_max);
    /* Already at the hard limit: nothing changes. */
    ck_assert_int_eq(mct_raise_nofile(), n);
}
END_TEST

static Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, a_buffer_grows_keeps_its_nul_and_hands_its_text_over);
    tcase_add_test(tc, a_string_list_stays_null_terminated_and_refuses_a_null_push);
    tcase_add_test(tc, string_helpers_tell_prefixes_suffixes_and_empty_strings);
    tcase_add_test(tc, path_join_leaves_one_slash_between_the_parts);
    tcase_add_test(tc, mkdir_p_makes_every_parent_and_refuses_a_file_on_the_way);
    tcase_add_test(tc, byte_counts_are_shown_in_binary_units_with_one_decimal);
    tcase_add_test(tc, read_file_reads_a_small_file_whole_and_refuses_a_bigger_one);
    tcase_add_test(tc, only_a_regular_file_is_read_never_a_fifo_device_or_folder);
    tcase_add_test(tc, now_ms_counts_milliseconds);
    tcase_add_test(tc, the_descriptor_limit_is_raised_to_the_hard_limit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(util_suite());
}
