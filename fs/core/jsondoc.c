/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "jsondoc.h"

#include <limits.h>

#include "escape.h"

/* What the whole document is written with: compact; '/' is no character
 * to escape (escape.h does not). */
#define WRITE_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static int put(struct printbuf *pb, const char *s, size_t n)
{
    return printbuf_memappend(pb, s, (int)n) < 0 ? -1 : 0;
}

static int put_escaped(struct printbuf *pb, const char *s, size_t n)
{
    _cleanup_buf_ struct mct_buf b = {0};
    mct_buf_puts(&b, "\"");
    mct_esc_json(&b, s, n);
    if (mct_buf_puts(&b, "\"") < 0)
        return -1;
    return put(pb, b.data, b.len);
}

/* json-c's serializer of a value: the escape of escape.h for a string. */
static int escaped_string(struct json_object *o, struct printbuf *pb, int level, int flags)
{
    return put_escaped(pb, json_object_get_string(o), (size_t)json_object_get_string_len(o));
}

/* The text of a member of a container written one member per line. */
static int put_member(struct printbuf *pb, struct json_object *v, int flags)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(v, flags, &n);
    return s ? put(pb, s, n) : -1;
}

static int lines_array(struct json_object *o, struct printbuf *pb, int level, int flags)
{
    size_t n = json_object_array_length(o);
    if (n == 0)
        return put(pb, "[]", 2);
    int r = put(pb, "[\n", 2);
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (i)
            r = put(pb, ",\n", 2);
        if (r == 0)
            r = put_member(pb, json_object_array_get_idx(o, i), flags);
    }
    return r < 0 ? r : put(pb, "\n]", 2);
}

static int lines_object(struct json_object *o, struct printbuf *pb, int level, int flags)
{
    if (json_object_object_length(o) == 0)
        return put(pb, "{}", 2);
    int r = put(pb, "{\n", 2);
    bool first = true;
    json_object_object_foreach (o, key, value) {
        if (r == 0 && !first)
            r = put(pb, ",\n", 2);
        if (r == 0)
            r = put_escaped(pb, key, strlen(key));
        if (r == 0)
            r = put(pb, ": ", 2);
        if (r == 0)
            r = put_member(pb, value, flags);
        first = false;
    }
    return r < 0 ? r : put(pb, "\n}", 2);
}

struct json_object *mct_json_str(const char *s)
{
    struct json_object *o = json_object_new_string(s);
    if (o)
        json_object_set_serializer(o, escaped_string, NULL, NULL);
    return o;
}

struct json_object *mct_json_str_array(char *const *v, size_t max)
{
    _cleanup_json_ struct json_object *a = json_object_new_array();
    for (size_t i = 0; v && v[i] && i < max; i++)
        if (mct_json_push(a, mct_json_str(v[i])) < 0)
            return NULL;
    return TAKE_PTR(a);
}

struct json_object *mct_json_lines_array(void)
{
    struct json_object *o = json_object_new_array();
    if (o)
        json_object_set_serializer(o, lines_array, NULL, NULL);
    return o;
}

struct json_object *mct_json_lines_object(void)
{
    struct json_object *o = json_object_new_object();
    if (o)
        json_object_set_serializer(o, lines_object, NULL, NULL);
    return o;
}

int mct_json_add(struct json_object *obj, const char *key, struct json_object *value)
{
    if (!obj || !value || json_object_object_add(obj, key, value) < 0) {
        json_object_put(value);
        return -ENOMEM;
    }
    return 0;
}

int mct_json_add_str(struct json_object *obj, const char *key, const char *s)
{
    return s ? mct_json_add(obj, key, mct_json_str(s)) : mct_json_add_null(obj, key);
}

int mct_json_add_strv(struct json_object *obj, const char *key, char *const *v)
{
    return mct_json_add(obj, key, mct_json_str_array(v, SIZE_MAX));
}

int mct_json_add_u64(struct json_object *obj, const char *key, uint64_t v)
{
    return mct_json_add(obj, key, json_object_new_uint64(v));
}

int mct_json_add_i64(struct json_object *obj, const char *key, int64_t v)
{
    return mct_json_add(obj, key, json_object_new_int64(v));
}

int mct_json_add_bool(struct json_object *obj, const char *key, bool v)
{
    return mct_json_add(obj, key, json_object_new_boolean(v));
}

int mct_json_add_null(struct json_object *obj, const char *key)
{
    /* json-c's null is the NULL value. */
    return obj && json_object_object_add(obj, key, NULL) == 0 ? 0 : -ENOMEM;
}

int mct_json_push(struct json_object *array, struct json_object *value)
{
    if (!array || !value || json_object_array_add(array, value) < 0) {
        json_object_put(value);
        return -ENOMEM;
    }
    return 0;
}

int mct_json_write(struct json_object *v, struct mct_buf *out)
{
    size_t n = 0;
    const char *s = v ? json_object_to_json_string_length(v, WRITE_FLAGS, &n) : NULL;
    if (!s)
        return out->error = -ENOMEM;
    return mct_buf_append(out, s, n);
}

static bool only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\r\n", s[i]) || s[i] == '\0')
            return false;
    return true;
}

int mct_json_parse(const char *text, size_t len, struct json_object **ret, char *why, size_t whylen)
{
    if (len > INT_MAX) {
        if (why)
            snprintf(why, whylen, "too long");
        return -EBADMSG;
    }
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return -ENOMEM;
    /* Strict: no comments, single quotes or trailing commas, which no
     * writer of ours makes. Trailing text is checked below. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
    struct json_object *v = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);

    const char *what = NULL;
    if (e == json_tokener_continue)
        what = "cut short";
    else if (e != json_tokener_success)
        what = json_tokener_error_desc(e);
    else if (!only_space(text + end, len - end))
        what = "text after the value";
    if (what) {
        json_object_put(v);
        if (why)
            snprintf(why, whylen, "%s at byte %zu", what, end);
        return -EBADMSG;
    }
    *ret = v;
    return 0;
}

struct json_object *mct_json_get(const struct json_object *obj, const char *key,
                                 enum json_type type)
{
    struct json_object *v = NULL;
    if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v) ||
        !json_object_is_type(v, type))
        return NULL;
    return v;
}

const char *mct_json_get_str(const struct json_object *obj, const char *key)
{
    struct json_object *v = mct_json_get(obj, key, json_type_string);
    const char *s = json_object_get_string(v);
    if (!v || strlen(s) != (size_t)json_object_get_string_len(v))
        return NULL;
    return s;
}
