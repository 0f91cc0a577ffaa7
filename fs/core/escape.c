/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "escape.h"

#include <stdint.h>

static const char hex_digits[] = "0123456789abcdef";

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 character at p (n bytes available), its code
 * point in *cp; 0 when p does not start one. Per RFC 3629: no overlong
 * form, no surrogate, nothing beyond U+10FFFF. */
static size_t utf8_char(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xbf;
    size_t len;
    uint32_t v;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        v = c & 0x0f;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* overlong */
        hi = c == 0xed ? 0x9f : 0xbf; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        v = c & 0x07;
        lo = c == 0xf0 ? 0x90 : 0x80; /* overlong */
        hi = c == 0xf4 ? 0x8f : 0xbf; /* beyond U+10FFFF */
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        unsigned char b = p[i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf))
            return 0;
        v = v << 6 | (b & 0x3f);
    }
    *cp = v;
    return len;
}

/* Valid characters a terminal or editor acts on rather than shows: C1
 * controls, bidi embeddings, overrides and isolates, line separators. */
static bool acted_on(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* ---- where escaped text goes: a growing buffer or a fixed array ---- */

struct sink {
    struct mct_buf *buf;
    char *arr;
    size_t size, len;
    bool full;
};

/* Whole or not at all in an array, except runs of plain characters
 * (whole), which are cut at a character boundary. */
static int sink_put(struct sink *k, const char *s, size_t n, bool plain)
{
    if (k->buf)
        return mct_buf_append(k->buf, s, n);
    if (k->full)
        return 0;
    size_t room = k->size - 1 - k->len;
    if (n > room) {
        k->full = true;
        if (!plain)
            return 0;
        n = room;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(k->arr + k->len, s, n);
    k->len += n;
    k->arr[k->len] = '\0';
    return 0;
}

static int put_hex(struct sink *k, const char *prefix, unsigned char c)
{
    char e[8];
    size_t l = strlen(prefix);
    memcpy(e, prefix, l);
    e[l] = hex_digits[c >> 4];
    e[l + 1] = hex_digits[c & 15];
    return sink_put(k, e, l + 2, false);
}

/* ---- encoders ---- */

/* The escapes both encodings share; NULL for any other character. */
static const char *short_escape(uint32_t cp)
{
    switch (cp) {
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\t':
        return "\\t";
    case '\r':
        return "\\r";
    default:
        return NULL;
    }
}

/* The escape of one character that needs one: len bytes at p with code
 * point cp, or (len 0) the invalid byte at p. */
static int text_escape(struct sink *k, const unsigned char *p, size_t len, uint32_t cp)
{
    const char *e = len == 1 ? short_escape(cp) : NULL;
    if (e)
        return sink_put(k, e, strlen(e), false);
    int r = 0;
    for (size_t i = 0; r == 0 && i < (len ? len : 1); i++)
        r = put_hex(k, "\\x", p[i]);
    return r;
}

static int json_escape(struct sink *k, const unsigned char *p, size_t len, uint32_t cp)
{
    if (len == 0)
        return put_hex(k, "\\udc", p[0]);
    const char *e = cp == '"' ? "\\\"" : short_escape(cp);
    if (e)
        return sink_put(k, e, strlen(e), false);
    char u[6] = {'\\',
                 'u',
                 hex_digits[cp >> 12 & 15],
                 hex_digits[cp >> 8 & 15],
                 hex_digits[cp >> 4 & 15],
                 hex_digits[cp & 15]};
    return sink_put(k, u, sizeof(u), false);
}

static bool text_needs(uint32_t cp, size_t len)
{
    return len == 0 || (len == 1 ? cp < 0x20 || cp == 0x7f || cp == '\\' : acted_on(cp));
}

static bool json_needs(uint32_t cp, size_t len)
{
    return len == 0 ||
           (len == 1 ? cp < 0x20 || cp == 0x7f || cp == '\\' || cp == '"' : acted_on(cp));
}

/* Plain characters go out in runs, escapes one by one. */
static int encode(struct sink *k, const char *s, size_t n, bool json)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
    int r = 0;

    while (r == 0 && p < end) {
        uint32_t cp = 0;
        size_t len = utf8_char(p, (size_t)(end - p), &cp);
        if (!(json ? json_needs(cp, len) : text_needs(cp, len))) {
            p += len;
            continue;
        }
        if (p > run)
            r = sink_put(k, (const char *)run, (size_t)(p - run), true);
        if (r == 0)
            r = json ? json_escape(k, p, len, cp) : text_escape(k, p, len, cp);
        p += len ? len : 1;
        run = p;
    }
    if (r == 0 && p > run)
        r = sink_put(k, (const char *)run, (size_t)(p - run), true);
    return r;
}

int mct_esc_text(struct mct_buf *out, const char *s, size_t n)
{
    struct sink k = {.buf = out};
    int r = encode(&k, s, n, false);
    /* An empty input still leaves a string behind, as mct_buf_puts does. */
    return r < 0 ? r : mct_buf_append(out, "", 0);
}

int mct_esc_json(struct mct_buf *out, const char *s, size_t n)
{
    struct sink k = {.buf = out};
    int r = encode(&k, s, n, true);
    return r < 0 ? r : mct_buf_append(out, "", 0);
}

int mct_esc_text_str(struct mct_buf *out, const char *s)
{
    return mct_esc_text(out, s ? s : "", s ? strlen(s) : 0);
}

int mct_esc_json_str(struct mct_buf *out, const char *s)
{
    return mct_esc_json(out, s ? s : "", s ? strlen(s) : 0);
}

bool mct_esc_text_needed(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        uint32_t cp = 0;
        size_t len = utf8_char(p, (size_t)(end - p), &cp);
        if (text_needs(cp, len))
            return true;
        p += len;
    }
    return false;
}

char *mct_esc_text_dup(const char *s)
{
    _cleanup_buf_ struct mct_buf b = {0};
    if (mct_esc_text_str(&b, s) < 0)
        return NULL;
    return mct_buf_steal(&b);
}

size_t mct_esc_text_fixed(char *out, size_t size, const char *s, size_t n)
{
    if (size == 0)
        return 0;
    struct sink k = {.arr = out, .size = size};
    out[0] = '\0';
    (void)encode(&k, s, n, false);
    return k.len;
}

/* ---- decoders ---- */

/* n hex digits at s, or -1. */
static long hex_number(const char *s, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = mct_unhexchar(s[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

int mct_unesc_text(const char *s, size_t n, struct mct_buf *out)
{
    size_t i = 0;
    int r = mct_buf_append(out, "", 0);

    while (r == 0 && i < n) {
        size_t plain = i;
        while (i < n && s[i] != '\\')
            i++;
        r = mct_buf_append(out, s + plain, i - plain);
        if (r < 0 || i == n)
            break;
        if (i + 1 == n)
            return -EINVAL;
        char c = s[i + 1], byte;
        i += 2;
        switch (c) {
        case '\\':
            byte = '\\';
            break;
        case 'n':
            byte = '\n';
            break;
        case 't':
            byte = '\t';
            break;
        case 'r':
            byte = '\r';
            break;
        case 'x': {
            long v = i + 2 <= n ? hex_number(s + i, 2) : -1;
            if (v < 0)
                return -EINVAL;
            byte = (char)v;
            i += 2;
            break;
        }
        default:
            return -EINVAL;
        }
        r = mct_buf_append(out, &byte, 1);
    }
    return r;
}

static int put_utf8(struct mct_buf *out, uint32_t cp)
{
    char u[4];
    size_t len;
    if (cp < 0x80) {
        u[0] = (char)cp;
        len = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        len = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        len = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        len = 4;
    }
    return mct_buf_append(out, u, len);
}

/* The \u escape at s[*i] (just after "\u"): a code point in UTF-8, a pair
 * of surrogates, or a byte that surrogateescape stood for. */
static int json_unicode(const char *s, size_t n, size_t *i, struct mct_buf *out)
{
    long v = *i + 4 <= n ? hex_number(s + *i, 4) : -1;
    if (v < 0)
        return -EINVAL;
    *i += 4;
    if (v >= 0xdc80 && v <= 0xdcff) {
        char byte = (char)(v - 0xdc00);
        return mct_buf_append(out, &byte, 1);
    }
    if (v >= 0xd800 && v <= 0xdbff) {
        long lo = *i + 6 <= n && s[*i] == '\\' && s[*i + 1] == 'u' ? hex_number(s + *i + 2, 4) : -1;
        if (lo < 0xdc00 || lo > 0xdfff)
            return -EINVAL;
        *i += 6;
        return put_utf8(out, 0x10000 + (uint32_t)((v - 0xd800) << 10 | (lo - 0xdc00)));
    }
    if (v >= 0xdc00 && v <= 0xdfff)
        return -EINVAL;
    return put_utf8(out, (uint32_t)v);
}

int mct_unesc_json(const char *s, size_t n, struct mct_buf *out)
{
    size_t i = 0;
    int r = mct_buf_append(out, "", 0);

    while (r == 0 && i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c < 0x20)
            return -EINVAL;
        if (c != '\\') {
            uint32_t cp;
            size_t len = utf8_char((const unsigned char *)s + i, n - i, &cp);
            if (len == 0)
                return -EINVAL;
            r = mct_buf_append(out, s + i, len);
            i += len;
            continue;
        }
        if (i + 1 == n)
            return -EINVAL;
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *f = strchr(from, s[i + 1]);
        i += 2;
        if (s[i - 1] == 'u')
            r = json_unicode(s, n, &i, out);
        else if (f && *f)
            r = mct_buf_append(out, &to[f - from], 1);
        else
            return -EINVAL;
    }
    return r;
}

/* ---- pool ---- */

const char *mct_esc_pool_text(struct mct_esc_pool *p, const char *s)
{
    if (!s || !mct_esc_text_needed(s, strlen(s)))
        return s ? s : "";
    char *e = mct_esc_text_dup(s);
    if (!e || mct_strv_push(&p->v, e) < 0) {
        p->error = -ENOMEM;
        return "?";
    }
    return e;
}

void mct_esc_pool_free(struct mct_esc_pool *p)
{
    mct_strv_free(p->v);
    p->v = NULL;
}
