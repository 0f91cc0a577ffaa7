/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The escaping of names (escape.h): any bytes, both encodings. Checked:
 *  - each decoder gives back exactly the bytes that were encoded;
 *  - an encoding holds no control character and is strict UTF-8 (an
 *    independent check, RFC 3629's table), and a JSON one no raw quote;
 *  - the fixed-size text escape is a prefix of the whole one;
 *  - the decoders, fed the raw input, never overrun it.
 */
#include <stdbool.h>

#include "escape.h"
#include "../utf8_oracle.h"
#include "fuzz.h"

static bool clean(const char *s, size_t n, bool json)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
        if (json && c == '\\')
            i++;
        else if (json && c == '"')
            return false;
    }
    return utf8_oracle_valid((const unsigned char *)s, n);
}

static void round_trip(const char *in, size_t n, bool json)
{
    struct mct_buf enc = {0}, dec = {0};
    FUZZ_ASSERT((json ? mct_esc_json(&enc, in, n) : mct_esc_text(&enc, in, n)) == 0);
    FUZZ_ASSERT(clean(enc.data, enc.len, json));
    FUZZ_ASSERT((json ? mct_unesc_json(enc.data, enc.len, &dec)
                      : mct_unesc_text(enc.data, enc.len, &dec)) == 0);
    FUZZ_ASSERT(dec.len == n && (n == 0 || memcmp(dec.data, in, n) == 0));
    if (!json) {
        FUZZ_ASSERT(mct_esc_text_needed(in, n) == (enc.len != n || memcmp(enc.data, in, n) != 0));
        char fixed[48];
        size_t fl = mct_esc_text_fixed(fixed, sizeof(fixed), in, n);
        FUZZ_ASSERT(fl < sizeof(fixed) && strlen(fixed) == fl);
        FUZZ_ASSERT(memcmp(fixed, enc.data, fl) == 0);
    }
    mct_buf_free(&enc);
    mct_buf_free(&dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees any read past the end. */
    char *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    round_trip(in, size, false);
    round_trip(in, size, true);
    struct mct_buf b = {0};
    (void)mct_unesc_text(in, size, &b);
    mct_buf_free(&b);
    (void)mct_unesc_json(in, size, &b);
    mct_buf_free(&b);
    free(in);
    return 0;
}
