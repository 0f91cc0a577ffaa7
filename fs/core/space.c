/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Free-space targets and the numbers they are compared with. Sizes are
 * binary (1G = 2^30 bytes) because mct_format_bytes() and df -h print
 * them so: a target written as "500G" means what the output says.
 */
#include "space.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>

#include "util.h"

static int bad(char *why, size_t len, const char *s, const char *what)
{
    if (why && len)
        snprintf(why, len,
                 "'%s' %s: expected bytes with an optional unit (500G, 1.5T) or a "
                 "percentage of the filesystem (20%%)",
                 s, what);
    return -EINVAL;
}

/* Digits with at most two decimals, in hundredths. */
static int parse_hundredths(const char *s, const char **end, uint64_t *ret)
{
    uint64_t v = 0;
    size_t digits = 0, decimals = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (v > UINT64_MAX / 1000)
            return -ERANGE;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    v *= 100;
    if (*p == '.') {
        p++;
        for (uint64_t scale = 10; *p >= '0' && *p <= '9'; p++, decimals++) {
            if (decimals == 2)
                return -EINVAL;
            v += (uint64_t)(*p - '0') * scale;
            scale /= 10;
        }
        if (decimals == 0)
            return -EINVAL;
    }
    if (digits == 0)
        return -EINVAL;
    *end = p;
    *ret = v;
    return 0;
}

static int unit_shift(const char *u, unsigned *shift)
{
    static const char units[] = "KMGTP";
    if (!*u) {
        *shift = 0;
        return 0;
    }
    const char *k = strchr(units, u[0] & ~0x20);
    if (!k)
        return -EINVAL;
    const char *rest = u + 1;
    if (*rest && strcasecmp(rest, "B") != 0 && strcasecmp(rest, "iB") != 0)
        return -EINVAL;
    *shift = 10 * (unsigned)(k - units + 1);
    return 0;
}

int mct_space_parse(const char *s, void *space, char *why, size_t whylen)
{
    struct mct_space *sp = space;
    const char *end;
    uint64_t v;
    int r = parse_hundredths(s, &end, &v);
    if (r == -ERANGE)
        return bad(why, whylen, s, "is too large");
    if (r < 0)
        return bad(why, whylen, s, "is not a size");
    if (streq(end, "%")) {
        if (v == 0 || v >= 10000)
            return bad(why, whylen, s, "is not between 0% and 100%");
        *sp = (struct mct_space){.percent_x100 = (unsigned)v};
        return 0;
    }
    unsigned shift;
    if (unit_shift(end, &shift) < 0)
        return bad(why, whylen, s, "has an unknown unit");
    if (shift == 0 && v % 100)
        return bad(why, whylen, s, "is a fraction of a byte");
    /* v is in hundredths: its whole part shifted, then the fraction's
     * share (fewer than 7 bits, shifted at most 50: no overflow). */
    uint64_t whole = v / 100, frac = ((v % 100) << shift) / 100;
    if (whole > (UINT64_MAX >> shift) || (whole << shift) > UINT64_MAX - frac)
        return bad(why, whylen, s, "is too large");
    uint64_t bytes = (whole << shift) + frac;
    if (bytes == 0)
        return bad(why, whylen, s, "is zero");
    *sp = (struct mct_space){.bytes = bytes};
    return 0;
}

uint64_t mct_space_bytes(const struct mct_space *sp, uint64_t fs_size)
{
    if (!sp->percent_x100)
        return sp->bytes;
    /* fs_size / 10000 * p + the remainder's share: no overflow for any size. */
    return fs_size / 10000 * sp->percent_x100 + fs_size % 10000 * sp->percent_x100 / 10000;
}

const char *mct_space_format(const struct mct_space *sp, char *out, size_t len)
{
    if (!sp->percent_x100)
        return mct_format_bytes(sp->bytes, out, len);
    unsigned p = sp->percent_x100;
    if (p % 100 == 0)
        snprintf(out, len, "%u%%", p / 100);
    else if (p % 10 == 0)
        snprintf(out, len, "%u.%u%%", p / 100, p % 100 / 10);
    else
        snprintf(out, len, "%u.%02u%%", p / 100, p % 100);
    return out;
}

int mct_fs_space_get(const char *path, struct mct_fs_space *ret)
{
    struct statvfs v;
    if (statvfs(path, &v) < 0)
        return -errno;
    uint64_t unit = v.f_frsize ? v.f_frsize : v.f_bsize;
    *ret = (struct mct_fs_space){
            .size = (uint64_t)v.f_blocks * unit,
            .avail = (uint64_t)v.f_bavail * unit,
    };
    return 0;
}
