/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The copy marker's text: writing it, and reading back whose it is. */
#include "marker.h"

#include <time.h>
#include <unistd.h>

#include "util.h"

/* Control characters would end the line early: the source path is
 * informative only, so they are shown as '?'. */
static void put_printable(struct mct_buf *b, const char *s)
{
    for (; *s; s++) {
        char c = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
        mct_buf_append(b, &c, 1);
    }
}

char *mct_marker_format(const struct mct_session_ref *ref, const char *source_path, size_t files,
                        uint64_t bytes)
{
    char host[256] = "", when[32] = "";
    if (gethostname(host, sizeof(host) - 1) < 0)
        snprintf(host, sizeof(host), "unknown");
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    _cleanup_buf_ struct mct_buf b = {0};
    mct_buf_printf(&b,
                   "# mctfs copy marker: whose copy this folder holds. Do not edit.\n"
                   "format: 1\nparticipant_id: %s\nsession_date: %s\nrig: ",
                   ref->participant_id, ref->session_date);
    put_printable(&b, host);
    mct_buf_puts(&b, "\nsource: ");
    put_printable(&b, source_path ? source_path : "");
    if (mct_buf_printf(&b, "\nwritten: %s\nfiles: %zu\nbytes: %llu\n", when, files,
                       (unsigned long long)bytes) < 0)
        return NULL;
    return mct_buf_steal(&b);
}

/* The value of "key: value" on its own line, into out. */
static int value_of(const char *text, const char *key, char *out, size_t len)
{
    size_t klen = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (strncmp(l, key, klen) != 0 || l[klen] != ':' || l[klen + 1] != ' ')
            continue;
        const char *v = l + klen + 2;
        size_t n = strcspn(v, "\n");
        if (n == 0 || n >= len)
            return -EBADMSG;
        memcpy(out, v, n);
        out[n] = '\0';
        return 0;
    }
    return -EBADMSG;
}

int mct_marker_parse(const char *text, struct mct_session_ref *ref)
{
    *ref = (struct mct_session_ref){0};
    char fmt[8];
    if (!text || value_of(text, "format", fmt, sizeof(fmt)) < 0 || !streq(fmt, "1"))
        return -EBADMSG;
    if (value_of(text, "participant_id", ref->participant_id, sizeof(ref->participant_id)) < 0 ||
        value_of(text, "session_date", ref->session_date, sizeof(ref->session_date)) < 0)
        return -EBADMSG;
    return 0;
}

int mct_marker_matches(const char *text, const struct mct_session_ref *ref,
                       struct mct_session_ref *other)
{
    struct mct_session_ref m;
    if (mct_marker_parse(text, &m) < 0)
        return -EBADMSG;
    if (other)
        *other = m;
    return streq(m.participant_id, ref->participant_id) && streq(m.session_date, ref->session_date);
}

char **mct_copy_excludes(char *const *excludes)
{
    char **v = NULL;
    int r = 0;
    for (char *const *e = excludes; r >= 0 && e && *e; e++)
        r = mct_strv_push(&v, strdup(*e));
    if (r >= 0)
        r = mct_strv_push(&v, strdup(MCT_MARKER_NAME));
    if (r < 0) {
        mct_strv_free(v);
        return NULL;
    }
    return v;
}
