/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Session identity: path templates, participant ids, dates. The input is
 * split at '\n' into a template, a participant id, a date, a relative path
 * and an ISO date. Every path mctfs deletes is built from these, so the
 * target checks the rules against independent oracles:
 *  - ids and dates are accepted exactly when the documented rules say so;
 *  - a valid template expands a valid session to a relative path of the
 *    template's depth with no empty, "." or ".." component, and matching
 *    that path gives the same session back;
 *  - a path that matches a template expands back to itself;
 *  - date conversions round-trip, normalisation is idempotent and bounded.
 */
#include <errno.h>
#include <stdbool.h>
#include <time.h>

#include "fuzz.h"
#include "session.h"

/* The rules of session.h, written again independently. */
static bool oracle_id_valid(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > MCT_ID_MAX || id[0] == '.' || id[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c <= ' ' || c >= 0x7f || c == '/')
            return false;
    }
    return true;
}

/* 8 digits, a real calendar date in 1900..2999 (the range mctfs accepts):
 * timegm normalises 20230229 to March 1st, so a round trip catches it. */
static bool oracle_date_valid(const char *d)
{
    if (strlen(d) != 8 || strspn(d, "0123456789") != 8)
        return false;
    int y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
    int m = (d[4] - '0') * 10 + (d[5] - '0');
    int day = (d[6] - '0') * 10 + (d[7] - '0');
    if (y < 1900 || y > 2999)
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = day, .tm_hour = 12};
    time_t t = timegm(&tm);
    struct tm back;
    if (!gmtime_r(&t, &back))
        return false;
    return back.tm_year == y - 1900 && back.tm_mon == m - 1 && back.tm_mday == day;
}

/* Components of a relative path: none empty, ".", ".."; returns the count. */
static size_t clean_depth(const char *p)
{
    if (p[0] == '/')
        return 0;
    size_t n = 0;
    for (const char *s = p;;) {
        size_t len = strcspn(s, "/");
        if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        n++;
        if (!s[len])
            return n;
        s += len + 1;
    }
}

static void check_dates(const char *date, const char *iso)
{
    bool valid = mct_session_date_valid(date);
    FUZZ_ASSERT(valid == oracle_date_valid(date));

    char out[16], back[16];
    int r = mct_date_to_iso(date, out, sizeof(out));
    FUZZ_ASSERT((r == 0) == valid);
    if (r == 0) {
        FUZZ_ASSERT(strlen(out) == 10);
        FUZZ_ASSERT(mct_date_from_iso(out, back, sizeof(back)) == 0);
        FUZZ_ASSERT(strcmp(back, date) == 0);
        FUZZ_ASSERT(mct_date_to_iso(date, out, 10) == -ENOBUFS);
    }

    r = mct_date_from_iso(iso, out, sizeof(out));
    if (r == 0) {
        FUZZ_ASSERT(mct_session_date_valid(out));
        FUZZ_ASSERT(mct_date_to_iso(out, back, sizeof(back)) == 0);
        FUZZ_ASSERT(strcmp(back, iso) == 0);
    } else {
        FUZZ_ASSERT(r == -EINVAL);
    }
}

static void check_id(const char *id, unsigned char outlen)
{
    FUZZ_ASSERT(mct_participant_id_valid(id) == oracle_id_valid(id));

    char norm[MCT_ID_MAX + 2], again[MCT_ID_MAX + 2];
    size_t len = strlen(id);
    if (len <= MCT_ID_MAX) {
        mct_normalize_participant_id(id, norm, sizeof(norm));
        /* "p001" -> "001": at most the first character goes, and only a
         * p/t before nothing but digits. */
        size_t n = strlen(norm);
        FUZZ_ASSERT(n == len || n + 1 == len);
        if (n + 1 == len) {
            FUZZ_ASSERT(strchr("pPtT", id[0]) && n > 0);
            FUZZ_ASSERT(strspn(norm, "0123456789") == n);
        }
        FUZZ_ASSERT(strcmp(norm, id + (len - n)) == 0);
        mct_normalize_participant_id(norm, again, sizeof(again));
        FUZZ_ASSERT(strcmp(norm, again) == 0);
    }

    /* Small buffers truncate and stay terminated. */
    char small[256];
    size_t cap = 1 + outlen % 16;
    memset(small, 'X', sizeof(small));
    mct_normalize_participant_id(id, small, cap);
    FUZZ_ASSERT(memchr(small, '\0', cap) != NULL);
    FUZZ_ASSERT(small[cap] == 'X');
}

static void check_template(const char *tmpl, const char *id, const char *date, const char *relpath)
{
    char err[256] = "";
    int valid = mct_template_validate(tmpl, err, sizeof(err));
    FUZZ_ASSERT(valid == 0 || (valid == -EINVAL && err[0]));
    if (valid == 0) {
        FUZZ_ASSERT(tmpl[0] != '/');
        FUZZ_ASSERT(clean_depth(tmpl) == mct_template_depth(tmpl));
    }

    struct mct_session_ref ref;
    int r = mct_session_ref_init(&ref, id, date, err, sizeof(err));
    FUZZ_ASSERT((r == 0) == (oracle_id_valid(id) && oracle_date_valid(date)));

    if (r == 0) {
        char *path = NULL;
        int e = mct_template_expand(tmpl, &ref, &path);
        FUZZ_ASSERT((e == 0) == (valid == 0));
        if (e == 0) {
            /* Never absolute, never climbs out: what deletion relies on. */
            FUZZ_ASSERT(clean_depth(path) == mct_template_depth(tmpl));
            struct mct_session_ref back;
            FUZZ_ASSERT(mct_template_match(tmpl, path, &back) == 0);
            FUZZ_ASSERT(strcmp(back.participant_id, ref.participant_id) == 0);
            FUZZ_ASSERT(strcmp(back.session_date, ref.session_date) == 0);
        }
        free(path);
    }

    struct mct_session_ref m;
    if (mct_template_match(tmpl, relpath, &m) == 0) {
        FUZZ_ASSERT(valid == 0);
        FUZZ_ASSERT(oracle_id_valid(m.participant_id) && oracle_date_valid(m.session_date));
        char *path = NULL;
        FUZZ_ASSERT(mct_template_expand(tmpl, &m, &path) == 0);
        FUZZ_ASSERT(strcmp(path, relpath) == 0);
        free(path);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = fuzz_strndup(data, size);
    if (!s)
        return 0;

    char *f[5] = {"", "", "", "", ""};
    fuzz_split(s, '\n', f, 5);
    const char *tmpl = f[0], *id = f[1], *date = f[2], *relpath = f[3], *iso = f[4];

    check_dates(date, iso);
    check_id(id, size ? data[0] : 0);
    check_template(tmpl, id, date, relpath);

    free(s);
    return 0;
}
