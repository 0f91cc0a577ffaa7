/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of escape.c: every class of byte in both encodings, the
 * the_decoders_undo_each_escape_and_refuse_malformed_ones, and round trips over random byte
 * strings.
 */
#include <check.h>

#include "escape.h"
#include "../utf8_oracle.h"
#include "report.h"
#include "unit.h"

static char *text(const char *s, size_t n)
{
    struct mct_buf b = {0};
    ck_assert_int_eq(mct_esc_text(&b, s, n), 0);
    return mct_buf_steal(&b);
}

static char *json(const char *s, size_t n)
{
    struct mct_buf b = {0};
    ck_assert_int_eq(mct_esc_json(&b, s, n), 0);
    return mct_buf_steal(&b);
}

#define ck_text(in, want)                                                                          \
    do {                                                                                           \
        _cleanup_free_ char *got_ = text((in), sizeof(in) - 1);                                    \
        ck_assert_str_eq(got_, (want));                                                            \
    } while (0)
#define ck_json(in, want)                                                                          \
    do {                                                                                           \
        _cleanup_free_ char *got_ = json((in), sizeof(in) - 1);                                    \
        ck_assert_str_eq(got_, (want));                                                            \
    } while (0)

START_TEST(text_escaping_keeps_printable_utf8_and_escapes_every_other_byte)
{
    ck_text("", "");
    ck_text("trial_20250104_093000.22001.mp4", "trial_20250104_093000.22001.mp4");
    ck_text("a b\"c'", "a b\"c'");
    ck_text("a\\b", "a\\\\b");
    ck_text("a\nyes\noutcome: ok", "a\\nyes\\noutcome: ok");
    ck_text("\t\r", "\\t\\r");
    ck_text("\x01\x1b[31m\x1f\x7f", "\\x01\\x1b[31m\\x1f\\x7f");
    ck_text("a\0b", "a\\x00b");
    /* Valid UTF-8 passes: 2, 3 and 4 bytes. */
    ck_text("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80",
            "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");
    ck_text("\xc2\xa0\xef\xbf\xbd\xf4\x8f\xbf\xbf", "\xc2\xa0\xef\xbf\xbd\xf4\x8f\xbf\xbf");
    /* C1 controls, bidi controls and separators: each byte. */
    ck_text("\xc2\x80\xc2\x9b\xc2\x9f", "\\xc2\\x80\\xc2\\x9b\\xc2\\x9f");
    ck_text("x\xe2\x80\xaey", "x\\xe2\\x80\\xaey");
    ck_text("\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9",
            "\\xe2\\x80\\xaa\\xe2\\x81\\xa6\\xe2\\x81\\xa9");
    ck_text("\xe2\x80\xa8\xe2\x80\xa9", "\\xe2\\x80\\xa8\\xe2\\x80\\xa9");
    ck_text("\xe2\x80\x8f", "\xe2\x80\x8f"); /* RLM is a mark, not an override */
    /* Invalid UTF-8: stray, truncated, overlong, surrogate, too large. */
    ck_text("\xff", "\\xff");
    ck_text("a\x80z", "a\\x80z");
    ck_text("\xe2\x82z", "\\xe2\\x82z");
    ck_text("\xe2\x82", "\\xe2\\x82");
    ck_text("\xc0\xaf\xc1\xbf", "\\xc0\\xaf\\xc1\\xbf");
    ck_text("\xe0\x80\xaf", "\\xe0\\x80\\xaf");
    ck_text("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf");
    ck_text("\xed\xa0\x80\xed\xbf\xbf", "\\xed\\xa0\\x80\\xed\\xbf\\xbf");
    ck_text("\xf4\x90\x80\x80\xf5\x80\x80\x80", "\\xf4\\x90\\x80\\x80\\xf5\\x80\\x80\\x80");
    /* A valid character right after an invalid byte is itself. */
    ck_text("\xff\xc3\xa9", "\\xff\xc3\xa9");
}
END_TEST

START_TEST(json_escaping_keeps_utf8_and_escapes_quotes_controls_and_invalid_bytes)
{
    ck_json("", "");
    ck_json("p001/trial.mp4", "p001/trial.mp4");
    ck_json("\"q\" \\", "\\\"q\\\" \\\\");
    ck_json("a\nb\tc\rd", "a\\nb\\tc\\rd");
    ck_json("\x01\x1b\x1f\x7f", "\\u0001\\u001b\\u001f\\u007f");
    ck_json("\0", "\\u0000");
    ck_json("caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80");
    ck_json("\xc2\x85\xe2\x80\xae\xe2\x81\xa9\xe2\x80\xa8", "\\u0085\\u202e\\u2069\\u2028");
    ck_json("\xff", "\\udcff");
    ck_json("a\x80\xfe", "a\\udc80\\udcfe");
    ck_json("\xed\xa0\x80", "\\udced\\udca0\\udc80");
    ck_json("\xc0\xaf", "\\udcc0\\udcaf");
    ck_json("\xf4\x90\x80\x80", "\\udcf4\\udc90\\udc80\\udc80");
}
END_TEST

static char *untext(const char *s, int want)
{
    struct mct_buf b = {0};
    ck_assert_int_eq(mct_unesc_text(s, strlen(s), &b), want);
    return want == 0 ? mct_buf_steal(&b) : (mct_buf_free(&b), NULL);
}

static char *unjson(const char *s, int want)
{
    struct mct_buf b = {0};
    ck_assert_int_eq(mct_unesc_json(s, strlen(s), &b), want);
    return want == 0 ? mct_buf_steal(&b) : (mct_buf_free(&b), NULL);
}

START_TEST(the_decoders_undo_each_escape_and_refuse_malformed_ones)
{
    _cleanup_free_ char *a = untext("a\\nyes\\x1b\\xFF\\\\\\t\\r", 0);
    ck_assert_str_eq(a, "a\nyes\x1b\xff\\\t\r");
    _cleanup_free_ char *e = untext("", 0);
    ck_assert_str_eq(e, "");
    untext("\\", -EINVAL);
    untext("a\\q", -EINVAL);
    untext("\\x4", -EINVAL);
    untext("\\xg0", -EINVAL);
    untext("\\u0041", -EINVAL);

    _cleanup_free_ char *j = unjson("a\\n\\\"\\\\\\/\\b\\f\\u00e9\\u001b\\udcff\\udc80", 0);
    ck_assert_str_eq(j, "a\n\"\\/\b\f\xc3\xa9\x1b\xff\x80");
    _cleanup_free_ char *pair = unjson("\\ud83d\\ude00 \\u2028", 0);
    ck_assert_str_eq(pair, "\xf0\x9f\x98\x80 \xe2\x80\xa8");
    unjson("\\ud83d", -EINVAL);    /* high surrogate alone */
    unjson("\\ud83dx", -EINVAL);   /* high surrogate alone */
    unjson("\\udc7f", -EINVAL);    /* low surrogate, not a byte above 0x7f */
    unjson("\\ude00", -EINVAL);    /* low surrogate alone */
    unjson("a\"b", -EINVAL);       /* raw quote */
    unjson("a\nb", -EINVAL);       /* raw control */
    unjson("\xff", -EINVAL);       /* raw invalid UTF-8 */
    unjson("\\u12", -EINVAL);      /* short */
    unjson("\\x41", -EINVAL);      /* not JSON */
    unjson("trailing\\", -EINVAL); /* cut */
}
END_TEST

START_TEST(a_fixed_buffer_is_cut_between_escapes_and_characters_never_inside)
{
    char out[8];
    ck_assert_uint_eq(mct_esc_text_fixed(out, sizeof(out), "\x1b\x1b\x1b", 3), 4);
    ck_assert_str_eq(out, "\\x1b");
    /* A plain run is cut between characters, never inside one. */
    char small[3];
    ck_assert_uint_eq(mct_esc_text_fixed(small, sizeof(small), "a\xc3\xa9", 3), 1);
    ck_assert_str_eq(small, "a");
    ck_assert_uint_eq(mct_esc_text_fixed(out, sizeof(out), "abc\ndef", 7), 7);
    ck_assert_str_eq(out, "abc\\nde");
    ck_assert_uint_eq(mct_esc_text_fixed(out, sizeof(out), "abcdefghij", 10), 7);
    ck_assert_str_eq(out, "abcdefg");
}
END_TEST

START_TEST(plain_text_is_used_as_it_is_and_only_what_needs_it_is_escaped)
{
    struct mct_esc_pool p = {0};
    const char *plain = "p001 20250104";
    ck_assert_ptr_eq(mct_esc_pool_text(&p, plain), plain);
    ck_assert_str_eq(mct_esc_pool_text(&p, "a\nb"), "a\\nb");
    ck_assert_str_eq(mct_esc_pool_text(&p, NULL), "");
    ck_assert_int_eq(p.error, 0);
    mct_esc_pool_free(&p);
    _cleanup_free_ char *d = mct_esc_text_dup("\x1b]0;title\x07");
    ck_assert_str_eq(d, "\\x1b]0;title\\x07");
    ck_assert(!mct_esc_text_needed("plain \xe2\x9c\x93", 9));
    ck_assert(mct_esc_text_needed("a\\b", 3));
}
END_TEST

/* ---- properties over random byte strings ---- */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static unsigned rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (unsigned)(rng >> 11);
}

/* Bytes biased toward the interesting ones: controls, backslash, quote,
 * lead and continuation bytes, and whole special characters. */
static size_t random_bytes(char *out, size_t max)
{
    static const char *const pieces[] = {
            "\\",           "\"",           "\n",           "\x1b",     "\x7f",
            "\xc2\x85",     "\xe2\x80\xae", "\xe2\x80\xa8", "\xc3\xa9", "\xf0\x9f\x98\x80",
            "\xed\xa0\x80", "\\x41",        "\\udcff",      "\\n"};
    size_t n = 0, want = rnd() % (max / 4);
    while (n < want) {
        unsigned k = rnd() % 4;
        if (k == 0) {
            const char *p = pieces[rnd() % ARRAY_SIZE(pieces)];
            size_t l = strlen(p);
            memcpy(out + n, p, l);
            n += l;
        } else if (k == 1) {
            out[n++] = (char)(0x80 + rnd() % 0x80);
        } else {
            out[n++] = (char)(rnd() % 256);
        }
    }
    return n;
}

/* (ck_assert per byte would cost more than the encoders.) */
static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    return false;
}

/* A quote not escaped would end the JSON string early. */
static bool has_raw_quote(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return true;
    }
    return false;
}

START_TEST(every_byte_string_round_trips_through_text_and_json_escaping)
{
    char in[512];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = random_bytes(in, sizeof(in));

        _cleanup_free_ char *t = text(in, n);
        size_t tl = strlen(t);
        ck_assert(utf8_oracle_valid((const unsigned char *)t, tl));
        ck_assert_msg(!has_control(t, tl), "control in %s", t);
        ck_assert(!strstr(t, "\xc2\x85") && !strstr(t, "\xe2\x80\xae") &&
                  !strstr(t, "\xe2\x80\xa8"));
        ck_assert(mct_esc_text_needed(in, n) == (tl != n || memcmp(t, in, n) != 0));
        struct mct_buf back = {0};
        ck_assert_int_eq(mct_unesc_text(t, tl, &back), 0);
        ck_assert_uint_eq(back.len, n);
        ck_assert(n == 0 || memcmp(back.data, in, n) == 0);
        mct_buf_free(&back);

        _cleanup_free_ char *j = json(in, n);
        size_t jl = strlen(j);
        ck_assert(utf8_oracle_valid((const unsigned char *)j, jl));
        ck_assert_msg(!has_control(j, jl), "control in %s", j);
        ck_assert_msg(!has_raw_quote(j, jl), "raw quote in %s", j);
        ck_assert_int_eq(mct_unesc_json(j, jl, &back), 0);
        ck_assert_uint_eq(back.len, n);
        ck_assert(n == 0 || memcmp(back.data, in, n) == 0);
        mct_buf_free(&back);

        /* The fixed-size form is a prefix of the whole one. */
        char fixed[64];
        size_t fl = mct_esc_text_fixed(fixed, sizeof(fixed), in, n);
        ck_assert_uint_lt(fl, sizeof(fixed));
        ck_assert_uint_eq(strlen(fixed), fl);
        ck_assert(memcmp(fixed, t, fl) == 0);
        ck_assert(utf8_oracle_valid((const unsigned char *)fixed, fl));
    }
}
END_TEST

static Suite *escape_suite(void)
{
    Suite *s = suite_create("escape");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, text_escaping_keeps_printable_utf8_and_escapes_every_other_byte);
    tcase_add_test(tc, json_escaping_keeps_utf8_and_escapes_quotes_controls_and_invalid_bytes);
    tcase_add_test(tc, the_decoders_undo_each_escape_and_refuse_malformed_ones);
    tcase_add_test(tc, a_fixed_buffer_is_cut_between_escapes_and_characters_never_inside);
    tcase_add_test(tc, plain_text_is_used_as_it_is_and_only_what_needs_it_is_escaped);
    tcase_add_test(tc, every_byte_string_round_trips_through_text_and_json_escaping);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(escape_suite());
}
