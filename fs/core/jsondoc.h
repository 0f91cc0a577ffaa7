/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JSON documents, through json-c: what mctctl --json, the mount's
 * .status.json, the deletion log and the trash's journals are built of,
 * and how the log and the journals are read back.
 *
 * Every string value is written by escape.h's JSON escape, set as the
 * value's own serializer: a name that is not UTF-8 comes out as \udcHH,
 * a control or bidi character as \uXXXX, the same bytes wherever the
 * string goes, and json-c's own string escaping never sees a name. Keys
 * are the program's ASCII words. Objects keep the order of their keys as
 * added, and numbers are written as integers (uint64 for sizes).
 *
 * Building: a constructor returns NULL only when memory ran out. An add
 * takes its value over, also when it fails, and fails on a NULL value or
 * container with -ENOMEM, so a builder chains its adds with || and checks
 * once; nothing is written until the whole document is built.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

static inline void mct_json_putp(struct json_object **o)
{
    json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(mct_json_putp)

/* A string value (s must not be NULL), written as escape.h says. */
struct json_object *mct_json_str(const char *s);
/* An array of the first max strings of v (v NULL: []). */
struct json_object *mct_json_str_array(char *const *v, size_t max);
/* Containers written one member per line and not indented, for a reader
 * with a line-oriented tool: "[\n" elements ",\n" "\n]" ("[]" when empty),
 * and an object's members as "\"key\": value". Otherwise plain arrays and
 * objects (json_object_new_array, json_object_new_object). */
struct json_object *mct_json_lines_array(void);
struct json_object *mct_json_lines_object(void);

/* key: value in obj. */
int mct_json_add(struct json_object *obj, const char *key, struct json_object *value);
/* s NULL: null. */
int mct_json_add_str(struct json_object *obj, const char *key, const char *s);
int mct_json_add_strv(struct json_object *obj, const char *key, char *const *v);
int mct_json_add_u64(struct json_object *obj, const char *key, uint64_t v);
int mct_json_add_i64(struct json_object *obj, const char *key, int64_t v);
int mct_json_add_bool(struct json_object *obj, const char *key, bool v);
int mct_json_add_null(struct json_object *obj, const char *key);
/* value at the end of array. */
int mct_json_push(struct json_object *array, struct json_object *value);

/* Append the text of v, compact, to out. */
int mct_json_write(struct json_object *v, struct mct_buf *out);

/* Parse the len bytes at text as one JSON value; only white space may
 * follow it. -EBADMSG for anything else (cut short, a bad escape, two
 * values), with json-c's words for what is wrong in why (may be NULL). */
int mct_json_parse(const char *text, size_t len, struct json_object **ret, char *why,
                   size_t whylen);
/* obj's string member key, NULL when obj is not an object, the member is
 * missing, not a string, or holds a NUL (\u0000) no C string can. */
const char *mct_json_get_str(const struct json_object *obj, const char *key);
/* obj's member key when it has that type, else NULL. */
struct json_object *mct_json_get(const struct json_object *obj, const char *key,
                                 enum json_type type);
