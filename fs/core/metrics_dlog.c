/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The deletion log summed up for the metrics (metrics.h): deletions and
 * bytes freed are counters kept across restarts because the log is; a
 * refusal is classed by the evidence its line holds (DataJoint's state,
 * each destination's), in the order mct_status_state() judges a session.
 * Each line is one JSON object the engine wrote (deletion_log.c); only
 * the few keys needed are read, with a scanner that skips everything else
 * and gives up on a line that is not an object (a line is never trusted
 * to be well formed: the log may be edited by hand or cut by a full disk).
 */
#include "metrics.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINE (4u << 20) /* a refusal quoting many names; longer lines are skipped */

struct line {
    char time[40], result[16], via[24], mode[24], dj_state[16];
    uint64_t bytes;
    bool dj_evidence; /* datajoint.checks not empty */
    bool dest_missing, dest_unreachable, dest_unsafe, dest_unverified;
    bool busy, recording; /* from the reasons' words */
};

struct scan {
    const char *p, *end;
};

static void ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
        s->p++;
}

static bool eat(struct scan *s, char c)
{
    ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return true;
    }
    return false;
}

/* A string's raw text (escapes kept but for \" and \\), cut to len - 1. */
static int string(struct scan *s, char *out, size_t len)
{
    size_t n = 0;
    if (!eat(s, '"'))
        return -EBADMSG;
    while (s->p < s->end && *s->p != '"') {
        char c = *s->p++;
        if (c == '\\') {
            if (s->p >= s->end)
                return -EBADMSG;
            c = *s->p++;
            if (c != '"' && c != '\\' && out && n + 1 < len)
                out[n++] = '\\';
        }
        if (out && n + 1 < len)
            out[n++] = c;
    }
    if (out && len)
        out[n] = '\0';
    return eat(s, '"') ? 0 : -EBADMSG;
}

static int skip_value(struct scan *s, unsigned depth);

static int skip_container(struct scan *s, char close, bool keys, unsigned depth)
{
    if (depth > 64)
        return -EBADMSG;
    if (eat(s, close))
        return 0;
    do {
        if (keys && (string(s, NULL, 0) < 0 || !eat(s, ':')))
            return -EBADMSG;
        if (skip_value(s, depth + 1) < 0)
            return -EBADMSG;
    } while (eat(s, ','));
    return eat(s, close) ? 0 : -EBADMSG;
}

static int skip_value(struct scan *s, unsigned depth)
{
    ws(s);
    if (s->p >= s->end)
        return -EBADMSG;
    if (*s->p == '"')
        return string(s, NULL, 0);
    if (eat(s, '{'))
        return skip_container(s, '}', true, depth);
    if (eat(s, '['))
        return skip_container(s, ']', false, depth);
    /* A number, true, false or null. */
    const char *start = s->p;
    while (s->p < s->end && strchr("+-.0123456789eEtruefalsn", *s->p))
        s->p++;
    return s->p > start ? 0 : -EBADMSG;
}

static int number(struct scan *s, uint64_t *ret)
{
    ws(s);
    uint64_t v = 0;
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        v = v * 10 + (uint64_t)(*s->p - '0');
        s->p++;
    }
    if (s->p == start)
        return skip_value(s, 0);
    *ret = v;
    return 0;
}

/* Calls fn for each key of an object, positioned at its value; fn must
 * consume it. */
static int object(struct scan *s, int (*fn)(struct scan *s, const char *key, struct line *l),
                  struct line *l)
{
    if (!eat(s, '{'))
        return -EBADMSG;
    if (eat(s, '}'))
        return 0;
    do {
        char key[32];
        if (string(s, key, sizeof(key)) < 0 || !eat(s, ':') || fn(s, key, l) < 0)
            return -EBADMSG;
    } while (eat(s, ','));
    return eat(s, '}') ? 0 : -EBADMSG;
}

static int datajoint_key(struct scan *s, const char *key, struct line *l)
{
    if (streq(key, "state"))
        return string(s, l->dj_state, sizeof(l->dj_state));
    if (streq(key, "checks")) {
        /* {} when the deletion was refused before any check ran. */
        if (!eat(s, '{'))
            return skip_value(s, 1);
        if (eat(s, '}'))
            return 0;
        l->dj_evidence = true;
        return skip_container(s, '}', true, 1);
    }
    return skip_value(s, 1);
}

static int destination_key(struct scan *s, const char *key, struct line *l)
{
    if (!streq(key, "state"))
        return skip_value(s, 2);
    char state[16];
    int r = string(s, state, sizeof(state));
    l->dest_missing |= streq(state, "missing");
    l->dest_unreachable |= streq(state, "unreachable");
    l->dest_unsafe |= streq(state, "unsafe");
    l->dest_unverified |= streq(state, "unverified");
    return r;
}

static int reasons(struct scan *s, struct line *l)
{
    if (!eat(s, '['))
        return -EBADMSG;
    if (eat(s, ']'))
        return 0;
    do {
        char text[512];
        if (string(s, text, sizeof(text)) < 0)
            return -EBADMSG;
        /* The words of delete.c and policy.c. */
        l->busy |= strstr(text, "another command is running") != NULL;
        l->recording |= startswith(text, "file younger than ") ||
                        startswith(text, "lock or temporary file present");
    } while (eat(s, ','));
    return eat(s, ']') ? 0 : -EBADMSG;
}

static int top_key(struct scan *s, const char *key, struct line *l)
{
    if (streq(key, "time"))
        return string(s, l->time, sizeof(l->time));
    if (streq(key, "result"))
        return string(s, l->result, sizeof(l->result));
    if (streq(key, "via"))
        return string(s, l->via, sizeof(l->via));
    if (streq(key, "mode"))
        return string(s, l->mode, sizeof(l->mode));
    if (streq(key, "bytes"))
        return number(s, &l->bytes);
    if (streq(key, "datajoint"))
        return object(s, datajoint_key, l);
    if (streq(key, "destinations")) {
        if (!eat(s, '['))
            return -EBADMSG;
        if (eat(s, ']'))
            return 0;
        do
            if (object(s, destination_key, l) < 0)
                return -EBADMSG;
        while (eat(s, ','));
        return eat(s, ']') ? 0 : -EBADMSG;
    }
    if (streq(key, "reasons"))
        return reasons(s, l);
    return skip_value(s, 1);
}

/* "2025-02-01T09:12:44Z" as a Unix time; 0 when it is not one. */
static time_t iso_time(const char *s)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        return 0;
    time_t t = timegm(&tm);
    return t < 0 ? 0 : t;
}

static enum mct_refusal_class classify(const struct line *l)
{
    if (l->busy)
        return MCT_REFUSAL_BUSY;
    if (l->recording || streq(l->mode, "force-unverified"))
        return MCT_REFUSAL_RECORDING;
    if (!l->dj_evidence)
        return MCT_REFUSAL_OTHER;
    if (streq(l->dj_state, "no"))
        return MCT_REFUSAL_NOT_IMPORTED;
    if (!streq(l->dj_state, "yes"))
        return MCT_REFUSAL_UNKNOWN;
    if (l->dest_missing)
        return MCT_REFUSAL_NOT_COPIED;
    if (l->dest_unreachable)
        return MCT_REFUSAL_UNREACHABLE;
    if (l->dest_unsafe)
        return MCT_REFUSAL_UNSAFE;
    if (l->dest_unverified)
        return MCT_REFUSAL_UNVERIFIED;
    /* The evidence is clean: what the rig did to the session (changed
     * during the deletion) stood in the way. */
    return MCT_REFUSAL_RECORDING;
}

int mct_dlog_tally_line(struct mct_dlog_tally *t, const char *text, size_t len)
{
    struct line l = {0};
    struct scan s = {text, text + len};
    if (object(&s, top_key, &l) < 0)
        return -EBADMSG;
    time_t when = iso_time(l.time);
    bool deleted = streq(l.result, "deleted"), refused = streq(l.result, "refused");
    if (!when || (!deleted && !refused))
        return deleted || refused ? -EBADMSG : 0; /* "kept" lines count nowhere */
    if (deleted) {
        t->deletions++;
        t->bytes_freed += l.bytes;
    } else {
        t->refusals[classify(&l)]++;
    }
    /* The log is in time order but for clock steps: the newest wins. */
    if (when >= t->last.last_run) {
        t->last.last_run = when;
        t->last.last_ok = deleted;
    }
    if (deleted && when >= t->last.last_success)
        t->last.last_success = when;
    return 0;
}

/* Each whole line of buf; returns the bytes consumed (through the last
 * newline). */
static size_t tally_lines(struct mct_dlog_tally *t, const char *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        const char *nl = memchr(buf + done, '\n', n - done);
        if (!nl)
            break;
        size_t len = (size_t)(nl - (buf + done));
        (void)mct_dlog_tally_line(t, buf + done, len);
        done += len + 1;
    }
    return done;
}

int mct_dlog_tally_update(const char *log_path, struct mct_dlog_tally *t)
{
    if (strempty(log_path))
        return -ENOENT;
    _cleanup_close_ int fd = open(log_path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int r = -errno;
        if (r == -ENOENT)
            *t = (struct mct_dlog_tally){0};
        return r;
    }
    if (!S_ISREG(st.st_mode))
        return -EBADF;
    /* Rotated away or truncated: from the start. */
    if (!t->seen || t->dev != (uint64_t)st.st_dev || t->ino != (uint64_t)st.st_ino ||
        t->offset > (uint64_t)st.st_size)
        *t = (struct mct_dlog_tally){.seen = true, .dev = st.st_dev, .ino = st.st_ino};

    _cleanup_free_ char *buf = malloc(MAX_LINE);
    if (!buf)
        return -ENOMEM;
    size_t have = 0;
    for (;;) {
        ssize_t k = pread(fd, buf + have, MAX_LINE - have, (off_t)(t->offset + have));
        if (k < 0)
            return -errno;
        if (k == 0)
            break;
        have += (size_t)k;
        size_t used = tally_lines(t, buf, have);
        if (used == 0 && have == MAX_LINE)
            used = have; /* a line longer than any the engine writes: skipped */
        t->offset += used;
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    return 0;
}
