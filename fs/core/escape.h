/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Escaping, for every text mctfs writes that a file name can reach. The
 * rig's user chooses the names under /data and a name is any bytes but
 * '/' and NUL: a newline in one must not add a line to .safe_to_delete or
 * to a log, an ESC must not reach a terminal, a byte that is not UTF-8
 * must not make a JSON document invalid. Reasons and lines are built with
 * printf from names all over the engine and kept raw; each sink (the
 * renderers, the logs, mctctl's printing) escapes what it writes, once.
 *
 * Two encodings, each reversible and each with its decoder:
 *
 * text  C style. "\\" for a backslash; "\n", "\t", "\r"; "\xHH" for every
 *       other C0 control and DEL, for each byte of invalid UTF-8
 *       (truncated and stray bytes, overlong forms, surrogates, beyond
 *       U+10FFFF), and for each byte of a character that a terminal or an
 *       editor acts on: the C1 controls U+0080-U+009F, the bidi
 *       embeddings, overrides and isolates U+202A-U+202E and
 *       U+2066-U+2069, and the separators U+2028 and U+2029. Everything
 *       else, valid UTF-8 included, passes unchanged, so a plain name
 *       reads as itself. "\xHH" always stands for one byte, whatever the
 *       bytes around it. The result never holds a control character.
 * json  The contents of an RFC 8259 string: \" and \\; \n, \r, \t; \u00XX
 *       for every other C0 control and for DEL; \uXXXX for the characters
 *       text escapes above; and \udcHH for each byte HH of invalid UTF-8,
 *       which is Python's surrogateescape: os.fsencode(json.loads(s))
 *       gives the original bytes back. The result holds no control
 *       character and is valid UTF-8.
 *
 * Functions return 0 or -ENOMEM unless they say otherwise.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Append the escaped form of the n bytes at s to out. */
int mct_esc_text(struct mct_buf *out, const char *s, size_t n);
int mct_esc_json(struct mct_buf *out, const char *s, size_t n);

/* The same for a NUL-terminated string; NULL reads as "". */
int mct_esc_text_str(struct mct_buf *out, const char *s);
int mct_esc_json_str(struct mct_buf *out, const char *s);

/* Would the text encoding change these bytes? */
bool mct_esc_text_needed(const char *s, size_t n);

/* The text escape of s (NULL: "") as a new string; NULL on ENOMEM. */
char *mct_esc_text_dup(const char *s);

/* The text escape into a fixed buffer, for a caller that must not
 * allocate (the log): cut at a whole escape when it does not fit, always
 * NUL-terminated. Returns the length written. */
size_t mct_esc_text_fixed(char *out, size_t size, const char *s, size_t n);

/* The decoders: append the original bytes to out (NUL-terminated, and
 * a byte 0 decodes as one). -EINVAL for an escape the encoder never
 * writes; bytes that need no escape are taken as they are. The json
 * decoder reads the contents of a string, without the quotes, and also
 * takes what other writers use (\/ \b \f, surrogate pairs), but refuses a
 * raw quote or control character, a lone surrogate other than \udc80 to
 * \udcff, and (out of strictness) invalid UTF-8. */
int mct_unesc_text(const char *s, size_t n, struct mct_buf *out);
int mct_unesc_json(const char *s, size_t n, struct mct_buf *out);

/* Escaped copies for a renderer that puts several names into one printf:
 * each lives until the pool is freed. A string that needs no escape is
 * returned itself; on ENOMEM "?" is, and error says so, so the renderer
 * checks once at its end. */
struct mct_esc_pool {
    char **v;
    int error;
};
const char *mct_esc_pool_text(struct mct_esc_pool *p, const char *s);
void mct_esc_pool_free(struct mct_esc_pool *p);
#define _cleanup_esc_pool_ _cleanup_(mct_esc_pool_free)
