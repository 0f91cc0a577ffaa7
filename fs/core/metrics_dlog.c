/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The deletion log summed up for the metrics (metrics.h): deletions and
 * bytes freed are counters kept across restarts because the log is; a
 * refusal is classed by the evidence its line holds (DataJoint's state,
 * each destination's), in the order mct_status_state() judges a session.
 * Each line is one JSON object the engine wrote (deletion_log.c), parsed
 * whole (jsondoc.h); only the few keys needed are looked at, and a line
 * that is not an object is skipped (a line is never trusted to be well
 * formed: the log may be edited by hand or cut by a full disk).
 */
#include "metrics.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsondoc.h"

#define MAX_LINE (4u << 20) /* a refusal quoting many names; longer lines are skipped */

/* What a line says that the metrics need. */
struct line {
    const char *time, *result, *mode, *dj_state;
    uint64_t bytes;
    bool dj_evidence; /* datajoint.checks not empty */
    bool dest_missing, dest_unreachable, dest_unsafe, dest_unverified;
    bool busy, recording; /* from the reasons' words */
};

static const char *str_or_empty(struct json_object *o, const char *key)
{
    const char *s = mct_json_get_str(o, key);
    return s ? s : "";
}

static void read_datajoint(struct json_object *dj, struct line *l)
{
    l->dj_state = str_or_empty(dj, "state");
    /* {} when the deletion was refused before any check ran. */
    struct json_object *checks = mct_json_get(dj, "checks", json_type_object);
    l->dj_evidence = checks && json_object_object_length(checks) > 0;
}

static void read_destinations(struct json_object *dests, struct line *l)
{
    size_t n = dests ? json_object_array_length(dests) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *state = str_or_empty(json_object_array_get_idx(dests, i), "state");
        l->dest_missing |= streq(state, "missing");
        l->dest_unreachable |= streq(state, "unreachable");
        l->dest_unsafe |= streq(state, "unsafe");
        l->dest_unverified |= streq(state, "unverified");
    }
}

static void read_reasons(struct json_object *reasons, struct line *l)
{
    size_t n = reasons ? json_object_array_length(reasons) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(reasons, i);
        const char *text =
                json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        /* The words of delete.c and policy.c. */
        l->busy |= strstr(text, "another command is running") != NULL;
        l->recording |= startswith(text, "file younger than ") ||
                        startswith(text, "lock or temporary file present");
    }
}

/* Fill l from the object o of a line; its strings live as long as o. */
static void read_line(struct json_object *o, struct line *l)
{
    l->time = str_or_empty(o, "time");
    l->result = str_or_empty(o, "result");
    l->mode = str_or_empty(o, "mode");
    struct json_object *bytes = mct_json_get(o, "bytes", json_type_int);
    l->bytes = bytes ? json_object_get_uint64(bytes) : 0;
    read_datajoint(mct_json_get(o, "datajoint", json_type_object), l);
    read_destinations(mct_json_get(o, "destinations", json_type_array), l);
    read_reasons(mct_json_get(o, "reasons", json_type_array), l);
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
    _cleanup_json_ struct json_object *o = NULL;
    if (mct_json_parse(text, len, &o, NULL, 0) < 0 || !json_object_is_type(o, json_type_object))
        return -EBADMSG;
    struct line l = {0};
    read_line(o, &l);
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
