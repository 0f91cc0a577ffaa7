/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading a trash journal back: what this code and older versions wrote
 * reads, and a journal that is corrupt, cut short or forged is refused
 * with -EBADMSG and words for why, never read past its end (run under
 * tools/sanitize, ASan sees every byte read). Each corrupt text is also
 * given in an allocation of exactly its length, with no NUL after it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trash_journal.h"
#include "util.h"

#define GOOD                                                                                       \
    "{\n\"participant\": \"p001\",\n\"date\": \"20250104\",\n\"state\": \"moved\",\n"              \
    "\"pid\": 42,\n\"time\": 1736000000\n}\n"

/* Parse len bytes of text from a copy of exactly that size. */
static int parse_exact(const char *text, size_t len, struct mct_journal *j, char *why,
                       size_t whylen)
{
    _cleanup_free_ char *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, text, len);
    return mct_journal_parse(copy, len, j, why, whylen);
}

static void assert_refused(const char *text, size_t len, const char *words)
{
    struct mct_journal j;
    char why[128] = "";
    int r = parse_exact(text, len, &j, why, sizeof(why));
    ck_assert_msg(r == -EBADMSG, "%.*s: %d, expected -EBADMSG", (int)len, text, r);
    ck_assert_msg(why[0], "no words for why %.*s is refused", (int)len, text);
    if (words)
        ck_assert_msg(strstr(why, words), "why '%s' lacks '%s'", why, words);
}

START_TEST(test_journal_as_written_reads)
{
    struct mct_journal j;
    char why[128];
    ck_assert_int_eq(parse_exact(GOOD, strlen(GOOD), &j, why, sizeof(why)), 0);
    ck_assert_str_eq(j.ref.participant_id, "p001");
    ck_assert_str_eq(j.ref.session_date, "20250104");
    ck_assert_str_eq(j.state, "moved");
    /* What older versions wrote: a path and a record, ignored; escapes
     * another writer may use. */
    const char *old = "{\n\"participant\": \"p\\u00301\",\n\"date\": \"20250104\",\n"
                      "\"path\": \"\\/data\\/\\udcff\\n\",\n\"state\": \"logged\",\n\"pid\": 1,\n"
                      "\"time\": 1,\n\"record\": {\"result\":\"deleted\"}\n}\n";
    ck_assert_int_eq(parse_exact(old, strlen(old), &j, why, sizeof(why)), 0);
    ck_assert_str_eq(j.ref.participant_id, "p01");
    ck_assert_str_eq(j.state, "logged");
}
END_TEST

/* The journal mct_journal_write makes reads back as it was written. */
START_TEST(test_journal_written_reads_back)
{
    char dir[] = "/tmp/test-journal.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    struct mct_session_ref ref = {"p-7.x_y", "20240229"};
    ck_assert_int_eq(mct_journal_write(fd, "e", &ref, "verified"), 0);
    _cleanup_free_ char *text = NULL;
    ck_assert_int_eq(mct_trash_file_read(fd, "e.json", 4096, &text, NULL), 0);
    ck_assert_msg(startswith(text, "{\n\"participant\": \"p-7.x_y\",\n\"date\": \"20240229\",\n"
                                   "\"state\": \"verified\",\n\"pid\": "),
                  "%s", text);
    ck_assert(endswith(text, "\n}\n"));
    struct mct_journal j;
    ck_assert_int_eq(mct_journal_read(fd, "e", &j), 0);
    ck_assert_str_eq(j.ref.participant_id, "p-7.x_y");
    ck_assert_str_eq(j.state, "verified");
    ck_assert_int_eq(mct_journal_remove(fd, "e"), 0);
    close(fd);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_journal_cut_anywhere_is_refused)
{
    /* Every prefix of a good journal, as a full disk or a crash before
     * the rename would leave it (the rename makes this rare, a hand
     * edit does not): never read, never past its end. */
    size_t len = strlen(GOOD);
    for (size_t cut = 0; cut < len - 1; cut++)
        assert_refused(GOOD, cut, NULL);
    assert_refused(GOOD, strlen("{\n\"participant\": \"p0"), "cut short");
}
END_TEST

START_TEST(test_journal_bad_strings_are_refused)
{
    static const char *const bad[] = {
            /* unterminated strings */
            "{\"participant\": \"p001",
            "{\"participant\": \"p001\\\"}",
            "{\"participant\": \"p001\\",
            /* \u that runs into the closing quote, the end, or no hex */
            "{\"participant\": \"p001\\u\", \"date\": \"20250104\", \"state\": \"moved\"}",
            "{\"participant\": \"p001\\u00\"}",
            "{\"participant\": \"p001\\u",
            "{\"participant\": \"p001\\u12",
            "{\"participant\": \"p001\\uzzzz\", \"date\": \"20250104\", \"state\": \"moved\"}",
            /* an escape JSON does not have */
            "{\"participant\": \"p001\\q\", \"date\": \"20250104\", \"state\": \"moved\"}",
            /* a raw control character inside a string */
            "{\"participant\": \"p0\n01\", \"date\": \"20250104\", \"state\": \"moved\"}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_refused(bad[i], strlen(bad[i]), NULL);
}
END_TEST

START_TEST(test_journal_bad_documents_are_refused)
{
    static const char *const bad[] = {
            "",
            "\n",
            "not json",
            "[\"p001\", \"20250104\", \"moved\"]",
            "\"moved\"",
            /* two documents, or one and more */
            GOOD GOOD,
            GOOD "x",
            /* the old line reader took any line it knew and skipped the rest */
            "{\n\"participant\": \"p001\",\ngarbage\n\"date\": \"20250104\",\n\"state\": "
            "\"moved\"\n}\n",
            /* trailing comma, single quotes, a comment */
            "{\"participant\": \"p001\", \"date\": \"20250104\", \"state\": \"moved\",}",
            "{'participant': 'p001', 'date': '20250104', 'state': 'moved'}",
            "{\"participant\": \"p001\", /* x */ \"date\": \"20250104\", \"state\": \"moved\"}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_refused(bad[i], strlen(bad[i]), NULL);
    assert_refused(GOOD "x", strlen(GOOD "x"), "text after the value");
    /* A NUL inside the text, and one escaped into a string. */
    const char nul[] =
            "{\"participant\": \"p001\", \"date\": \"20250104\", \"state\": \"mo\0ved\"}";
    assert_refused(nul, sizeof(nul) - 1, NULL);
    assert_refused("{\"participant\": \"p001\\u0000x\", \"date\": \"20250104\", \"state\": "
                   "\"moved\"}",
                   strlen("{\"participant\": \"p001\\u0000x\", \"date\": \"20250104\", \"state\": "
                          "\"moved\"}"),
                   NULL);
}
END_TEST

START_TEST(test_journal_bad_fields_are_refused)
{
    static const char *const bad[] = {
            /* missing, of another type, too long, or not a session or state */
            "{\"date\": \"20250104\", \"state\": \"moved\"}",
            "{\"participant\": 1, \"date\": \"20250104\", \"state\": \"moved\"}",
            "{\"participant\": null, \"date\": \"20250104\", \"state\": \"moved\"}",
            "{\"participant\": \"p001\", \"date\": 20250104, \"state\": \"moved\"}",
            "{\"participant\": \"p001\", \"date\": \"20250104\", \"state\": [\"moved\"]}",
            "{\"participant\": \"p001\", \"date\": \"202501040\", \"state\": \"moved\"}",
            "{\"participant\": \"p001\", \"date\": \"20250230\", \"state\": \"moved\"}",
            "{\"participant\": \"p001\", \"date\": \"20250104\", \"state\": \"removed\"}",
            "{\"participant\": \"p001\", \"date\": \"20250104\", \"state\": \"moved and more\"}",
            "{\"participant\": \"../p001\", \"date\": \"20250104\", \"state\": \"moved\"}",
            "{\"participant\": \"p\\u00e9\", \"date\": \"20250104\", \"state\": \"moved\"}",
            "{\"participant\": \"p\\udcff\", \"date\": \"20250104\", \"state\": \"moved\"}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_refused(bad[i], strlen(bad[i]), NULL);
}
END_TEST

START_TEST(test_journal_deep_or_large_is_refused)
{
    /* Nesting deeper than the parser goes, inside a journal otherwise good. */
    _cleanup_buf_ struct mct_buf b = {0};
    mct_buf_puts(&b, "{\"participant\": \"p001\", \"date\": \"20250104\", \"state\": \"moved\", "
                     "\"x\": ");
    for (int i = 0; i < 10000; i++)
        mct_buf_puts(&b, "[");
    ck_assert_int_eq(b.error, 0);
    assert_refused(b.data, b.len, NULL);

    /* Larger than a journal may be: refused before it is parsed. */
    char dir[] = "/tmp/test-journal.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    _cleanup_buf_ struct mct_buf big = {0};
    mct_buf_puts(&big, GOOD);
    while (big.len < 100 * 1024)
        mct_buf_puts(&big, "                                                                ");
    ck_assert_int_eq(mct_trash_file_write(fd, "e.json", big.data, big.len), 0);
    struct mct_journal j;
    ck_assert_int_eq(mct_journal_read(fd, "e", &j), -EBADMSG);
    ck_assert_int_eq(mct_journal_remove(fd, "e"), 0);
    close(fd);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *journal_suite(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_journal_as_written_reads);
    tcase_add_test(tc, test_journal_written_reads_back);
    tcase_add_test(tc, test_journal_cut_anywhere_is_refused);
    tcase_add_test(tc, test_journal_bad_strings_are_refused);
    tcase_add_test(tc, test_journal_bad_documents_are_refused);
    tcase_add_test(tc, test_journal_bad_fields_are_refused);
    tcase_add_test(tc, test_journal_deep_or_large_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(journal_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
