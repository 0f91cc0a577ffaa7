/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a write to .control may say and what it returns (fs/control_parse.c),
 * as mctfs(8), CONTROL FILE, names it: one command word per write,
 * case-sensitive, surrounding white space and a trailing newline allowed;
 * anything else is EINVAL with nothing done; RECLAIM only at the top, the
 * others only in a session; and the errno each engine answer becomes.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control_parse.h"
#include "unit.h"

/* control_parse of a C string, without its NUL (as a FUSE write gives it). */
static int parse(const char *s, enum control_command *cmd)
{
    return control_parse(s, strlen(s), cmd);
}

/* The command s is, or -EINVAL. */
static int command_of(const char *s)
{
    enum control_command cmd = CMD_COUNT;
    int r = parse(s, &cmd);
    return r < 0 ? r : (int)cmd;
}

START_TEST(every_documented_command_is_accepted_as_written)
{
    ck_assert_int_eq(command_of("SYNC"), CMD_SYNC);
    ck_assert_int_eq(command_of("VERIFY"), CMD_VERIFY);
    ck_assert_int_eq(command_of("DELETE"), CMD_DELETE);
    ck_assert_int_eq(command_of("RECLAIM"), CMD_RECLAIM);
    for (int c = 0; c < CMD_COUNT; c++)
        ck_assert_int_eq(command_of(control_command_names[c]), c);
}
END_TEST

START_TEST(a_commands_name_is_the_word_written)
{
    ck_assert_str_eq(control_command_names[CMD_SYNC], "SYNC");
    ck_assert_str_eq(control_command_names[CMD_VERIFY], "VERIFY");
    ck_assert_str_eq(control_command_names[CMD_DELETE], "DELETE");
    ck_assert_str_eq(control_command_names[CMD_RECLAIM], "RECLAIM");
}
END_TEST

/* echo DELETE > .control writes "DELETE\n"; printf, CRLF editors and
 * padding around the word are all the same command. */
START_TEST(surrounding_white_space_and_a_trailing_newline_are_allowed)
{
    static const char *const ok[] = {
            "DELETE\n",
            "  DELETE",
            "DELETE  ",
            "\tDELETE\t",
            "DELETE\r\n",
            "\n\nDELETE\n\n",
            " \t\v\f\r\nDELETE \t\v\f\r\n",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        ck_assert_msg(command_of(ok[i]) == CMD_DELETE, "'%s' not read as DELETE", ok[i]);
}
END_TEST

START_TEST(commands_are_case_sensitive)
{
    static const char *const bad[] = {"delete", "Delete", "DELETe", "sync\n", "Verify", "reclaim"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(command_of(bad[i]) == -EINVAL, "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(anything_but_one_command_word_is_einval)
{
    static const char *const bad[] = {
            "",
            " ",
            "\n",
            "DEL",
            "DELETES",
            "DELETE now",
            "DELETE;",
            "XDELETE",
            "DE LETE",
            "SYNC VERIFY",
            "SYNC\nVERIFY",
            "\"DELETE\"",
            "DELETE\\n",
            "\xef\xbb\xbfSYNC",
            "rm -rf /",
            "STATUS",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(command_of(bad[i]) == -EINVAL, "'%s' accepted", bad[i]);
}
END_TEST

/* A NUL byte anywhere (printf 'DELETE\0', a binary file) is not text. */
START_TEST(a_nul_byte_anywhere_is_einval)
{
    enum control_command cmd = CMD_COUNT;
    ck_assert_int_eq(control_parse("DELETE\0", 7, &cmd), -EINVAL);
    ck_assert_int_eq(control_parse("\0DELETE", 7, &cmd), -EINVAL);
    ck_assert_int_eq(control_parse("DEL\0ETE", 7, &cmd), -EINVAL);
    ck_assert_int_eq(control_parse("\0", 1, &cmd), -EINVAL);
    ck_assert_int_eq(cmd, CMD_COUNT); /* untouched by a refusal */
}
END_TEST

START_TEST(a_write_longer_than_the_limit_is_einval_even_when_padded_around_a_command)
{
    char buf[CONTROL_MAX_WRITE + 2];
    enum control_command cmd;

    /* Exactly the limit: the word padded with spaces is accepted. */
    memset(buf, ' ', sizeof(buf));
    memcpy(buf, "VERIFY", 6);
    ck_assert_int_eq(control_parse(buf, CONTROL_MAX_WRITE, &cmd), 0);
    ck_assert_int_eq(cmd, CMD_VERIFY);
    /* One byte more is not a command, whatever it holds. */
    ck_assert_int_eq(control_parse(buf, CONTROL_MAX_WRITE + 1, &cmd), -EINVAL);

    /* A megabyte of text is refused without being looked at. */
    size_t big = 1 << 20;
    char *huge = malloc(big);
    ck_assert_ptr_nonnull(huge);
    memset(huge, '\n', big);
    memcpy(huge, "SYNC", 4);
    ck_assert_int_eq(control_parse(huge, big, &cmd), -EINVAL);
    free(huge);
}
END_TEST

/* A FUSE write buffer is not terminated: only size bytes count. */
START_TEST(only_the_bytes_written_are_read)
{
    enum control_command cmd = CMD_COUNT;
    ck_assert_int_eq(control_parse("SYNCHRONIZE", 4, &cmd), 0);
    ck_assert_int_eq(cmd, CMD_SYNC);
    ck_assert_int_eq(control_parse("DELETE", 3, &cmd), -EINVAL);

    /* Exactly the bytes of the command, in memory of exactly that size. */
    char *exact = malloc(6);
    ck_assert_ptr_nonnull(exact);
    memcpy(exact, "VERIFY", 6);
    ck_assert_int_eq(control_parse(exact, 6, &cmd), 0);
    ck_assert_int_eq(cmd, CMD_VERIFY);
    free(exact);
}
END_TEST

/* ---- which .control takes which command ---- */

static int write_to(bool root, const char *s, off_t off)
{
    enum control_command cmd = CMD_COUNT;
    int r = control_parse_write(s, strlen(s), off, root, &cmd);
    return r < 0 ? r : (int)cmd;
}

START_TEST(a_sessions_control_takes_sync_verify_and_delete_but_not_reclaim)
{
    ck_assert_int_eq(write_to(false, "SYNC\n", 0), CMD_SYNC);
    ck_assert_int_eq(write_to(false, "VERIFY\n", 0), CMD_VERIFY);
    ck_assert_int_eq(write_to(false, "DELETE\n", 0), CMD_DELETE);
    ck_assert_int_eq(write_to(false, "RECLAIM\n", 0), -EINVAL);
}
END_TEST

START_TEST(the_roots_control_takes_reclaim_only)
{
    ck_assert_int_eq(write_to(true, "RECLAIM\n", 0), CMD_RECLAIM);
    ck_assert_int_eq(write_to(true, "SYNC\n", 0), -EINVAL);
    ck_assert_int_eq(write_to(true, "VERIFY\n", 0), -EINVAL);
    ck_assert_int_eq(write_to(true, "DELETE\n", 0), -EINVAL);
}
END_TEST

/* One write at offset 0: a command split over two writes, or appended
 * with >>, is not a command. */
START_TEST(a_write_not_at_offset_zero_is_einval)
{
    ck_assert_int_eq(write_to(false, "DELETE\n", 1), -EINVAL);
    ck_assert_int_eq(write_to(false, "ETE\n", 3), -EINVAL);
    ck_assert_int_eq(write_to(true, "RECLAIM\n", 4096), -EINVAL);
}
END_TEST

START_TEST(garbage_written_to_either_control_is_einval)
{
    for (int root = 0; root <= 1; root++) {
        ck_assert_int_eq(write_to(root, "", 0), -EINVAL);
        ck_assert_int_eq(write_to(root, "garbage\n", 0), -EINVAL);
        ck_assert_int_eq(write_to(root, "reclaim\n", 0), -EINVAL);
    }
}
END_TEST

/* ---- what the write returns ---- */

START_TEST(a_command_that_succeeded_returns_the_byte_count)
{
    ck_assert_int_eq(control_write_result(0, 7), 7);
    ck_assert_int_eq(control_write_result(1, 8), 8);
    ck_assert_str_eq(control_outcome(0), "ok");
}
END_TEST

START_TEST(a_safety_refusal_is_eperm_and_reads_refused)
{
    ck_assert_int_eq(control_write_result(-EPERM, 7), -EPERM);
    ck_assert_str_eq(control_outcome(-EPERM), "refused");
}
END_TEST

START_TEST(another_command_running_is_ebusy_and_reads_busy)
{
    ck_assert_int_eq(control_write_result(-EBUSY, 7), -EBUSY);
    ck_assert_str_eq(control_outcome(-EBUSY), "busy");
}
END_TEST

START_TEST(a_session_no_longer_there_is_enoent)
{
    ck_assert_int_eq(control_write_result(-ENOENT, 7), -ENOENT);
    ck_assert_str_eq(control_outcome(-ENOENT), "failed");
    ck_assert_int_eq(control_write_result(-ENOMEM, 7), -ENOMEM);
}
END_TEST

/* rsync failed, the copy did not verify, a share timed out, RECLAIM's
 * target not met (ENOSPC inside): all EIO, the message says why. */
START_TEST(any_other_failure_of_a_command_that_ran_is_eio_and_reads_failed)
{
    static const int errs[] = {-EIO, -ENOSPC, -ETIMEDOUT, -EINVAL, -EACCES, -ENOTCONN};
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        ck_assert_int_eq(control_write_result(errs[i], 7), -EIO);
        ck_assert_str_eq(control_outcome(errs[i]), "failed");
    }
}
END_TEST

static Suite *control_parse_suite(void)
{
    Suite *s = suite_create("control_parse");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, every_documented_command_is_accepted_as_written);
    tcase_add_test(tc, a_commands_name_is_the_word_written);
    tcase_add_test(tc, surrounding_white_space_and_a_trailing_newline_are_allowed);
    tcase_add_test(tc, commands_are_case_sensitive);
    tcase_add_test(tc, anything_but_one_command_word_is_einval);
    tcase_add_test(tc, a_nul_byte_anywhere_is_einval);
    tcase_add_test(tc, a_write_longer_than_the_limit_is_einval_even_when_padded_around_a_command);
    tcase_add_test(tc, only_the_bytes_written_are_read);
    suite_add_tcase(s, tc);

    tc = tcase_create("which_control");
    tcase_add_test(tc, a_sessions_control_takes_sync_verify_and_delete_but_not_reclaim);
    tcase_add_test(tc, the_roots_control_takes_reclaim_only);
    tcase_add_test(tc, a_write_not_at_offset_zero_is_einval);
    tcase_add_test(tc, garbage_written_to_either_control_is_einval);
    suite_add_tcase(s, tc);

    tc = tcase_create("result");
    tcase_add_test(tc, a_command_that_succeeded_returns_the_byte_count);
    tcase_add_test(tc, a_safety_refusal_is_eperm_and_reads_refused);
    tcase_add_test(tc, another_command_running_is_ebusy_and_reads_busy);
    tcase_add_test(tc, a_session_no_longer_there_is_enoent);
    tcase_add_test(tc, any_other_failure_of_a_command_that_ran_is_eio_and_reads_failed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(control_parse_suite());
}
