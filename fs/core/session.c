/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Session identity. Every path mctfs builds comes from a participant id and
 * a date, so both are validated before they get near a path: an id such as
 * ".." or "a/b" would point a deletion outside the session folder.
 */
#include "session.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "beneath.h"
#include "util.h"

bool mct_participant_id_valid(const char *id)
{
    if (strempty(id))
        return false;
    size_t len = strlen(id);
    if (len > MCT_ID_MAX)
        return false;
    if (id[0] == '.' || id[0] == '-')
        return false; /* also rules out "." and ".." */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        /* Ids on this rig are ASCII; anything else is more likely a
         * mistake (or an attack) than a participant. */
        if (*p <= 0x20 || *p >= 0x7f || *p == '/')
            return false;
    }
    return true;
}

static bool is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool parse_digits(const char *s, size_t n, unsigned *ret)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *ret = v;
    return true;
}

static bool ymd_valid(unsigned y, unsigned m, unsigned d)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1)
        return false;
    unsigned max = mdays[m - 1] + (m == 2 && is_leap(y) ? 1 : 0);
    return d <= max;
}

bool mct_session_date_valid(const char *date)
{
    unsigned y, m, d;
    if (!date || strlen(date) != MCT_DATE_LEN)
        return false;
    if (!parse_digits(date, 4, &y) || !parse_digits(date + 4, 2, &m) ||
        !parse_digits(date + 6, 2, &d))
        return false;
    return ymd_valid(y, m, d);
}

int mct_session_ref_init(struct mct_session_ref *ref, const char *participant_id,
                         const char *session_date, char *err, size_t errlen)
{
    if (!mct_participant_id_valid(participant_id)) {
        if (err)
            snprintf(err, errlen,
                     "invalid participant id '%.120s' (1-%d ASCII characters, no '/', "
                     "whitespace or leading '.' or '-')",
                     participant_id ? participant_id : "", MCT_ID_MAX);
        return -EINVAL;
    }
    if (!mct_session_date_valid(session_date)) {
        if (err)
            snprintf(err, errlen, "invalid session date '%.40s' (expected YYYYMMDD)",
                     session_date ? session_date : "");
        return -EINVAL;
    }
    memset(ref, 0, sizeof(*ref));
    memcpy(ref->participant_id, participant_id, strlen(participant_id) + 1);
    memcpy(ref->session_date, session_date, MCT_DATE_LEN + 1);
    return 0;
}

void mct_normalize_participant_id(const char *id, char *out, size_t outlen)
{
    if (!outlen)
        return;
    if (!id) {
        out[0] = '\0';
        return;
    }
    const char *src = id;
    /* Exactly the GUI's rule: a lower-case p or t only. P105 is another
     * participant than p105 and must never borrow its rows. */
    if ((id[0] == 'p' || id[0] == 't') && id[1]) {
        bool digits = true;
        for (const char *p = id + 1; *p; p++)
            if (!isdigit((unsigned char)*p))
                digits = false;
        if (digits)
            src = id + 1;
    }
    snprintf(out, outlen, "%s", src);
}

int mct_date_to_iso(const char *yyyymmdd, char *out, size_t outlen)
{
    if (!mct_session_date_valid(yyyymmdd))
        return -EINVAL;
    if (outlen < 11)
        return -ENOBUFS;
    snprintf(out, outlen, "%.4s-%.2s-%.2s", yyyymmdd, yyyymmdd + 4, yyyymmdd + 6);
    return 0;
}

int mct_date_from_iso(const char *iso, char *out, size_t outlen)
{
    unsigned y, m, d;
    if (!iso || strlen(iso) != 10 || iso[4] != '-' || iso[7] != '-')
        return -EINVAL;
    if (!parse_digits(iso, 4, &y) || !parse_digits(iso + 5, 2, &m) ||
        !parse_digits(iso + 8, 2, &d) || !ymd_valid(y, m, d))
        return -EINVAL;
    if (outlen < MCT_DATE_LEN + 1)
        return -ENOBUFS;
    snprintf(out, outlen, "%.4s%.2s%.2s", iso, iso + 5, iso + 8);
    return 0;
}

/* ---- templates ---- */

enum placeholder {
    PH_NONE,
    PH_PARTICIPANT,
    PH_DATE,
};

#define PH_PARTICIPANT_TEXT "{participant_id}"
#define PH_DATE_TEXT        "{session_date}"

/* Deeper templates are refused when validated: matching needs every
 * component at hand, so a deeper one would validate and then never match. */
#define MAX_TEMPLATE_DEPTH 16

/* One component of a template: literal prefix, at most one placeholder,
 * literal suffix. Pointers into the template; not NUL-terminated. */
struct tcomp {
    const char *text;
    size_t len;
    enum placeholder ph;
    size_t pre_len; /* literal text before the placeholder */
    size_t ph_len;  /* length of the placeholder text itself */
};

_printf_(3, 4) static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Parse one component [s, s+len). -EINVAL with err on anything but literal
 * text and at most one known placeholder. */
static int parse_component(const char *tmpl, const char *s, size_t len, struct tcomp *c, char *err,
                           size_t errlen)
{
    *c = (struct tcomp){.text = s, .len = len, .ph = PH_NONE};
    if (len == 0) {
        set_err(err, errlen, "path template '%s' has an empty component", tmpl);
        return -EINVAL;
    }
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) {
        set_err(err, errlen, "path template '%s' has a '.' or '..' component", tmpl);
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '}') {
            set_err(err, errlen, "path template '%s' has a stray '}'", tmpl);
            return -EINVAL;
        }
        if (s[i] != '{')
            continue;
        enum placeholder ph;
        size_t n;
        if (len - i >= strlen(PH_PARTICIPANT_TEXT) &&
            !strncmp(s + i, PH_PARTICIPANT_TEXT, strlen(PH_PARTICIPANT_TEXT))) {
            ph = PH_PARTICIPANT;
            n = strlen(PH_PARTICIPANT_TEXT);
        } else if (len - i >= strlen(PH_DATE_TEXT) &&
                   !strncmp(s + i, PH_DATE_TEXT, strlen(PH_DATE_TEXT))) {
            ph = PH_DATE;
            n = strlen(PH_DATE_TEXT);
        } else {
            set_err(err, errlen,
                    "path template '%s' has an unknown placeholder (known: "
                    "{participant_id}, {session_date})",
                    tmpl);
            return -EINVAL;
        }
        if (c->ph != PH_NONE) {
            set_err(err, errlen,
                    "path template '%s' has two placeholders in one path component "
                    "(at most one per component)",
                    tmpl);
            return -EINVAL;
        }
        c->ph = ph;
        c->pre_len = i;
        c->ph_len = n;
        i += n - 1;
    }
    return 0;
}

/* Split and check a template. comps may be NULL (count only); *n_comps
 * gets the number of components. */
static int parse_template(const char *tmpl, struct tcomp *comps, size_t max, size_t *n_comps,
                          char *err, size_t errlen)
{
    if (strempty(tmpl)) {
        set_err(err, errlen, "path template '%s' is empty", tmpl ? tmpl : "");
        return -EINVAL;
    }
    if (tmpl[0] == '/') {
        set_err(err, errlen, "path template '%s' must be relative", tmpl);
        return -EINVAL;
    }
    size_t n = 0, n_part = 0, n_date = 0;
    const char *s = tmpl;
    for (;;) {
        const char *slash = strchr(s, '/');
        size_t len = slash ? (size_t)(slash - s) : strlen(s);
        struct tcomp c;
        int r = parse_component(tmpl, s, len, &c, err, errlen);
        if (r < 0)
            return r;
        n_part += c.ph == PH_PARTICIPANT;
        n_date += c.ph == PH_DATE;
        if (comps && n < max)
            comps[n] = c;
        n++;
        if (!slash)
            break;
        s = slash + 1;
    }
    if (n > MAX_TEMPLATE_DEPTH) {
        set_err(err, errlen, "path template '%s' has more than %d components", tmpl,
                MAX_TEMPLATE_DEPTH);
        return -EINVAL;
    }
    if (n_part != 1 || n_date != 1) {
        set_err(err, errlen,
                "path template '%s' must contain {participant_id} and {session_date} "
                "exactly once each",
                tmpl);
        return -EINVAL;
    }
    *n_comps = n;
    return 0;
}

int mct_template_validate(const char *tmpl, char *err, size_t errlen)
{
    size_t n;
    return parse_template(tmpl, NULL, 0, &n, err, errlen);
}

size_t mct_template_depth(const char *tmpl)
{
    size_t n = 1;
    if (strempty(tmpl))
        return 0;
    for (const char *p = tmpl; *p; p++)
        n += *p == '/';
    return n;
}

int mct_template_expand(const char *tmpl, const struct mct_session_ref *ref, char **ret)
{
    if (!mct_participant_id_valid(ref->participant_id) ||
        !mct_session_date_valid(ref->session_date))
        return -EINVAL;
    size_t n;
    int r = parse_template(tmpl, NULL, 0, &n, NULL, 0);
    if (r < 0)
        return r;

    _cleanup_buf_ struct mct_buf b = {0};
    for (const char *p = tmpl; *p;) {
        const char *val = NULL;
        size_t skip = 1;
        if (startswith(p, PH_PARTICIPANT_TEXT)) {
            val = ref->participant_id;
            skip = strlen(PH_PARTICIPANT_TEXT);
        } else if (startswith(p, PH_DATE_TEXT)) {
            val = ref->session_date;
            skip = strlen(PH_DATE_TEXT);
        }
        r = val ? mct_buf_puts(&b, val) : mct_buf_append(&b, p, 1);
        if (r < 0)
            return r;
        p += skip;
    }
    *ret = mct_buf_steal(&b);
    return *ret ? 0 : -ENOMEM;
}

/* Does one relpath component [s, s+len) match c? Stores the placeholder's
 * value (at most cap bytes) into pid or date. */
static bool match_component(const struct tcomp *c, const char *s, size_t len, char *pid,
                            size_t pid_cap, char *date, size_t date_cap)
{
    if (c->ph == PH_NONE)
        return len == c->len && memcmp(s, c->text, len) == 0;

    const char *suffix = c->text + c->pre_len + c->ph_len;
    size_t suf_len = c->len - c->pre_len - c->ph_len;
    if (len <= c->pre_len + suf_len)
        return false;
    if (memcmp(s, c->text, c->pre_len) != 0 || memcmp(s + len - suf_len, suffix, suf_len) != 0)
        return false;

    size_t vlen = len - c->pre_len - suf_len;
    char *dst = c->ph == PH_PARTICIPANT ? pid : date;
    size_t cap = c->ph == PH_PARTICIPANT ? pid_cap : date_cap;
    if (vlen > cap)
        return false;
    memcpy(dst, s + c->pre_len, vlen);
    dst[vlen] = '\0';
    return true;
}

/* The template's shape against relpath, values up to the caps: 0 when
 * every component matches. */
static int match_shape(const char *tmpl, const char *relpath, char *pid, size_t pid_cap, char *date,
                       size_t date_cap)
{
    struct tcomp comps[MAX_TEMPLATE_DEPTH];
    size_t n;
    int r = parse_template(tmpl, comps, MAX_TEMPLATE_DEPTH, &n, NULL, 0);
    if (r < 0)
        return r;
    if (n > MAX_TEMPLATE_DEPTH || !relpath)
        return -EINVAL;

    const char *s = relpath;
    for (size_t i = 0; i < n; i++) {
        const char *slash = strchr(s, '/');
        if ((i + 1 < n) != (slash != NULL))
            return -EINVAL; /* not the same number of components */
        size_t len = slash ? (size_t)(slash - s) : strlen(s);
        if (!match_component(&comps[i], s, len, pid, pid_cap, date, date_cap))
            return -EINVAL;
        s = slash ? slash + 1 : s + len;
    }
    return 0;
}

int mct_template_match(const char *tmpl, const char *relpath, struct mct_session_ref *ref)
{
    struct mct_session_ref tmp = {0};
    int r = match_shape(tmpl, relpath, tmp.participant_id, MCT_ID_MAX, tmp.session_date,
                        MCT_DATE_LEN);
    if (r < 0)
        return r;
    if (!mct_participant_id_valid(tmp.participant_id) || !mct_session_date_valid(tmp.session_date))
        return -EINVAL;
    *ref = tmp;
    return 0;
}

/* Digits and the separators people write dates with, at least six
 * digits: "2025-01-30", "20250231", "2025_1_30". */
static bool looks_like_date(const char *s)
{
    size_t digits = 0;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9')
            digits++;
        else if (!strchr("-_.", *s))
            return false;
    }
    return digits >= 6;
}

int mct_template_match_why(const char *tmpl, const char *relpath, struct mct_session_ref *ref,
                           char *why, size_t whylen)
{
    char pid[256] = "", date[256] = "";
    why[0] = '\0';
    int r = match_shape(tmpl, relpath, pid, sizeof(pid) - 1, date, sizeof(date) - 1);
    if (r < 0)
        return r;
    bool pid_ok = mct_participant_id_valid(pid), date_ok = mct_session_date_valid(date);
    if (pid_ok && date_ok)
        return mct_template_match(tmpl, relpath, ref);
    *ref = (struct mct_session_ref){0};
    if (pid_ok && looks_like_date(date)) {
        memcpy(ref->participant_id, pid, strlen(pid) + 1);
        snprintf(why, whylen, "'%s' is not a date written YYYYMMDD", date);
    } else if (date_ok)
        snprintf(why, whylen,
                 "'%s' is not a participant id (1-%d ASCII characters, no whitespace, no "
                 "leading '.' or '-')",
                 pid, MCT_ID_MAX);
    return -EINVAL;
}

static int base_join(const char *base, const char *tmpl, const struct mct_session_ref *ref,
                     char **ret)
{
    if (strempty(base))
        return -EINVAL;
    _cleanup_free_ char *rel = NULL;
    int r = mct_template_expand(tmpl, ref, &rel);
    if (r < 0)
        return r;
    *ret = mct_path_join(base, rel);
    return *ret ? 0 : -ENOMEM;
}

int mct_session_source_path(const struct mct_config *cfg, const struct mct_session_ref *ref,
                            char **ret)
{
    return base_join(cfg->source_base_path, cfg->source_path_structure, ref, ret);
}

int mct_session_dest_path(const struct mct_destination *dest, const struct mct_session_ref *ref,
                          char **ret)
{
    return base_join(dest->base_path, dest->path_structure, ref, ret);
}

int mct_session_open_dir(const struct mct_config *cfg, const struct mct_session_ref *ref,
                         int *fd_out)
{
    _cleanup_free_ char *rel = NULL;
    _cleanup_close_ int fd = -1;
    int r;

    *fd_out = -1;
    if (strempty(cfg->source_base_path))
        return -EINVAL;
    r = mct_template_expand(cfg->source_path_structure, ref, &rel);
    if (r < 0)
        return r;
    /* The base may be a symlink (/data -> /srv/data); below it, every
     * component must be a real folder, checked at this very open. */
    fd = open(cfg->source_base_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int sfd = mct_opendir_beneath(fd, rel, 0);
    if (sfd < 0)
        return sfd;
    *fd_out = sfd;
    return 0;
}

bool mct_participant_selected(const struct mct_config *cfg, const char *participant_id)
{
    if (!cfg->participant_prefixes || !cfg->participant_prefixes[0])
        return true;
    for (char **p = cfg->participant_prefixes; *p; p++)
        if (startswith(participant_id, *p))
            return true;
    return false;
}

int mct_session_ref_cmp(const void *a, const void *b)
{
    const struct mct_session_ref *x = a, *y = b;
    int c = strcmp(x->session_date, y->session_date);
    return c ? c : strcmp(x->participant_id, y->participant_id);
}
