/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every rendering of a session's status (fs/core/report_text.c,
 * report_json.c) on statuses built by hand: the report, the range table,
 * the JSON documents, .backup_status and .safe_to_delete, and names
 * escaped in each.
 */
#include <check.h>

#include "fake_status.h"
#include "unit.h"

START_TEST(a_running_command_leads_backup_status_and_safe_to_delete)
{
    struct mct_session_status *st = fake_status(1);
    st->activity = strdup("syncing 42%");
    _cleanup_free_ char *b = fake_status_render(mct_report_backup_status, st);
    ck_assert_msg(startswith(b, "syncing 42% "), "got: %s", b);
    _cleanup_free_ char *s = fake_status_render(mct_report_safe_to_delete, st);
    ck_assert_str_eq(s, "no: syncing 42% in progress\n");
    mct_session_status_free_array(st, 1);
}
END_TEST

START_TEST(the_session_report_has_every_part_and_colour_only_when_asked)
{
    struct mct_session_status *st = fake_status(1);
    struct mct_buf b = {0};
    ck_assert_int_eq(mct_report_session_text(st, false, &b), 0);
    ck_assert_ptr_nonnull(strstr(b.data, "Session p001 20250104"));
    ck_assert_ptr_nonnull(strstr(b.data, "single_camera_video"));
    ck_assert_ptr_nonnull(strstr(b.data, "files: 5"));
    ck_assert_ptr_nonnull(strstr(b.data, "videos: 4"));
    ck_assert_ptr_nonnull(strstr(b.data, "Destination:   lab share"));
    ck_assert_ptr_nonnull(strstr(b.data, "counts match"));
    ck_assert_ptr_nonnull(strstr(b.data, "Safe to delete: YES"));
    ck_assert_ptr_null(strstr(b.data, "\033["));
    mct_buf_free(&b);

    ck_assert_int_eq(mct_report_session_text(st, true, &b), 0);
    ck_assert_ptr_nonnull(strstr(b.data, "\033[32m"));
    mct_buf_free(&b);
    mct_session_status_free_array(st, 1);
}
END_TEST

START_TEST(the_range_table_marks_each_check_and_counts_the_safe)
{
    struct mct_session_status *st = calloc(2, sizeof(*st));
    struct mct_session_status *a = fake_status(1), *b = fake_status(1);
    b->dj.state = MCT_UNKNOWN;
    strcpy(b->ref.participant_id, "TF47");
    mct_status_decide(b);
    st[0] = *a;
    st[1] = *b;
    free(a);
    free(b);
    struct mct_buf out = {0};
    ck_assert_int_eq(mct_report_range_text(st, 2, false, &out), 0);
    ck_assert_ptr_nonnull(
            strstr(out.data, "Date        Participant   Videos  DJ  Backup  Verified  Safe"));
    ck_assert_ptr_nonnull(
            strstr(out.data, "20250104    p001               4  ✓   ✓       ✓         ✓"));
    ck_assert_ptr_nonnull(
            strstr(out.data, "20250104    TF47               4  ?   ✓       ✓         ✗"));
    ck_assert_ptr_nonnull(strstr(out.data, "2 sessions, 1 safe to delete"));
    mct_buf_free(&out);
    mct_session_status_free_array(st, 2);
}
END_TEST

/* The mount renders its root a chunk at a time: the parts must add up to
 * exactly what one call over every session gives (and for no session). */
START_TEST(a_range_rendered_in_parts_equals_it_rendered_whole)
{
    enum { N = 7 };
    struct mct_session_status *st = calloc(N, sizeof(*st));
    for (size_t i = 0; i < N; i++) {
        struct mct_session_status *one = fake_status(1);
        snprintf(one->ref.participant_id, sizeof(one->ref.participant_id), "p%03zu", i);
        one->dj.state = i % 3 == 0 ? MCT_NO : MCT_YES;
        mct_status_decide(one);
        st[i] = *one;
        free(one);
    }
    for (size_t chunk = 1; chunk <= N + 1; chunk++) {
        for (size_t n = 0; n <= N; n += N) {
            struct mct_buf whole_text = {0}, whole_json = {0}, text = {0}, json = {0};
            ck_assert_int_eq(mct_report_range_text(st, n, false, &whole_text), 0);
            ck_assert_int_eq(mct_report_sessions_json(st, n, &whole_json), 0);

            struct mct_range_totals tot = {};
            mct_report_range_text_head(&text);
            for (size_t off = 0; off < n; off += chunk) {
                size_t k = n - off < chunk ? n - off : chunk;
                mct_report_range_text_rows(st + off, k, false, &tot, &text);
                mct_report_sessions_json_items(st + off, k, off, &json);
            }
            ck_assert_int_eq(mct_report_range_text_end(&tot, &text), 0);
            ck_assert_int_eq(mct_report_sessions_json_end(n, &json), 0);

            ck_assert_str_eq(text.data, whole_text.data);
            ck_assert_str_eq(json.data, whole_json.data);
            ck_assert_uint_eq(tot.n, n);
            ck_assert_uint_eq(tot.n_safe, n ? N - 3 : 0); /* p000, p003, p006 are not */
            mct_buf_free(&whole_text);
            mct_buf_free(&whole_json);
            mct_buf_free(&text);
            mct_buf_free(&json);
        }
    }
    mct_session_status_free_array(st, N);
}
END_TEST

START_TEST(the_session_json_has_every_field_and_null_for_unknown)
{
    struct mct_session_status *st = fake_status(1);
    st->dests[0].state = MCT_DEST_UNVERIFIED;
    st->dests[0].detail = strdup("a \"quoted\"\nline");
    st->dj.checks[MCT_DJ_RECORDING] = MCT_UNKNOWN;
    mct_status_decide(st);
    _cleanup_free_ char *s = fake_status_render(mct_report_session_json, st);
    ck_assert_ptr_nonnull(strstr(s, "\"participant_id\":\"p001\""));
    ck_assert_ptr_nonnull(strstr(s, "\"session_date\":\"20250104\""));
    ck_assert_ptr_nonnull(strstr(s, "\"source\":{\"path\":\"/data/p001/20250104\",\"exists\":true,"
                                    "\"files\":5,\"bytes\":10000,\"videos\":4}"));
    ck_assert_ptr_nonnull(strstr(s, "\"datajoint\":{\"state\":\"yes\""));
    ck_assert_ptr_nonnull(strstr(s, "\"recording\":null"));
    ck_assert_ptr_nonnull(strstr(s, "\"state\":\"unverified\""));
    ck_assert_ptr_nonnull(strstr(s, "a \\\"quoted\\\"\\nline"));
    ck_assert_ptr_nonnull(strstr(s, "\"backup\":true,\"verified\":false,\"safe_to_delete\":false"));
    ck_assert_ptr_nonnull(strstr(s, "\"reasons\":[\"destination 'lab share' unverified"));
    mct_session_status_free_array(st, 1);
}
END_TEST

/* Names reach every rendering through paths, details and reasons: a
 * newline, an ESC or a byte that is not UTF-8 in them is escaped in each
 * text (one line stays one line) and each JSON document. */
START_TEST(names_are_escaped_in_every_rendering)
{
    struct mct_session_status *st = fake_status(1);
    free(st->source_path);
    st->source_path = strdup("/data/p001/20250104\xff");
    st->dests[0].state = MCT_DEST_UNVERIFIED;
    st->dests[0].detail = strdup("1 of 5 files missing (e.g. a\nyes\noutcome: ok)");
    mct_status_decide(st);
    ck_assert_int_eq(mct_strv_push(&st->reasons, strdup("copy missing: red\x1b[31m")), 0);
    st->activity = NULL;

    _cleanup_free_ char *safe = fake_status_render(mct_report_safe_to_delete, st);
    ck_assert(startswith(safe, "no: "));
    ck_assert_ptr_eq(strchr(safe, '\n'), safe + strlen(safe) - 1);
    ck_assert_ptr_nonnull(strstr(safe, "(e.g. a\\nyes\\noutcome: ok)"));
    ck_assert_ptr_nonnull(strstr(safe, "copy missing: red\\x1b[31m"));

    _cleanup_free_ char *backup = fake_status_render(mct_report_backup_status, st);
    ck_assert_ptr_eq(strchr(backup, '\n'), backup + strlen(backup) - 1);

    struct mct_buf text = {0};
    ck_assert_int_eq(mct_report_session_text(st, false, &text), 0);
    for (size_t i = 0; i < text.len; i++)
        if ((unsigned char)text.data[i] < 0x20 && text.data[i] != '\n')
            ck_abort_msg("control byte 0x%02x in:\n%s", text.data[i], text.data);
    ck_assert_ptr_null(strchr(text.data, '\xff'));
    ck_assert_ptr_nonnull(strstr(text.data, "Source:        /data/p001/20250104\\xff\n"));
    ck_assert_ptr_nonnull(strstr(text.data, "  - copy missing: red\\x1b[31m\n"));
    mct_buf_free(&text);

    _cleanup_free_ char *json = fake_status_render(mct_report_session_json, st);
    ck_assert_ptr_nonnull(strstr(json, "\"path\":\"/data/p001/20250104\\udcff\""));
    ck_assert_ptr_nonnull(strstr(json, "red\\u001b[31m"));
    ck_assert_ptr_nonnull(strstr(json, "a\\nyes\\noutcome: ok"));
    mct_session_status_free_array(st, 1);
}
END_TEST

START_TEST(a_json_string_escapes_control_bytes_and_backslashes)
{
    struct mct_buf b = {0};
    ck_assert_int_eq(mct_json_string(&b, "a\x01\\b"), 0);
    ck_assert_str_eq(b.data, "\"a\\u0001\\\\b\"");
    mct_buf_free(&b);
}
END_TEST

START_TEST(a_json_string_of_bytes_not_utf8_or_null_is_still_a_json_string)
{
    struct mct_buf b = {0};
    ck_assert_int_eq(mct_json_string(&b, "a\xff\"\n"), 0);
    ck_assert_str_eq(b.data, "\"a\\udcff\\\"\\n\"");
    mct_buf_free(&b);
    ck_assert_int_eq(mct_json_string(&b, NULL), 0);
    ck_assert_str_eq(b.data, "\"\"");
    mct_buf_free(&b);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("status_files");
    tcase_add_test(tc, a_running_command_leads_backup_status_and_safe_to_delete);
    suite_add_tcase(s, tc);
    tc = tcase_create("render");
    tcase_add_test(tc, the_session_report_has_every_part_and_colour_only_when_asked);
    tcase_add_test(tc, the_range_table_marks_each_check_and_counts_the_safe);
    tcase_add_test(tc, a_range_rendered_in_parts_equals_it_rendered_whole);
    tcase_add_test(tc, the_session_json_has_every_field_and_null_for_unknown);
    tcase_add_test(tc, a_json_string_escapes_control_bytes_and_backslashes);
    tcase_add_test(tc, a_json_string_of_bytes_not_utf8_or_null_is_still_a_json_string);
    tcase_add_test(tc, names_are_escaped_in_every_rendering);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(report_suite());
}
