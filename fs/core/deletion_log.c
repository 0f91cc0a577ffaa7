/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "deletion_log.h"

#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

static int dlog_open(const char *path)
{
    _cleanup_free_ char *dir = strdup(path);
    if (!dir)
        return -ENOMEM;
    /* dirname() may return a static "." for a bare name: nothing to create. */
    const char *d = dirname(dir);
    if (!streq(d, ".") && !streq(d, "/")) {
        int r = mct_mkdir_p(d, 0750);
        if (r < 0)
            return r;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    return fd < 0 ? -errno : fd;
}

int mct_dlog_check_writable(const char *path, char *why, size_t whylen)
{
    if (strempty(path)) {
        snprintf(why, whylen, "cannot write deletion log: deletion.log_path is not set");
        return -EINVAL;
    }
    int fd = dlog_open(path);
    if (fd < 0) {
        snprintf(why, whylen, "cannot write deletion log %s: %s", path, strerror(-fd));
        return fd;
    }
    close(fd);
    return 0;
}

int mct_dlog_append(const char *path, const char *line)
{
    _cleanup_close_ int fd = dlog_open(path);
    if (fd < 0)
        return fd;
    _cleanup_buf_ struct mct_buf b = {0};
    if (mct_buf_printf(&b, "%s\n", line) < 0)
        return -ENOMEM;
    /* One write with O_APPEND: concurrent writers never interleave a line. */
    ssize_t n = write(fd, b.data, b.len);
    if (n < 0)
        return -errno;
    if ((size_t)n != b.len)
        return -ENOSPC;
    if (fsync(fd) < 0)
        return -errno;
    return 0;
}

void mct_dlog_iso_time(time_t t, char *out, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *tristate_name(enum mct_tristate t)
{
    return t == MCT_YES ? "yes" : t == MCT_NO ? "no" : "unknown";
}

static int json_kv_str(struct mct_buf *out, const char *key, const char *value)
{
    int r = mct_buf_printf(out, ",\"%s\":", key);
    if (r < 0)
        return r;
    return mct_json_string(out, value ? value : "");
}

static int format_destinations(const struct mct_session_status *st, struct mct_buf *out)
{
    int r = mct_buf_puts(out, ",\"destinations\":[");
    for (size_t i = 0; r >= 0 && st && i < st->n_dests; i++) {
        const struct mct_dest_status *d = &st->dests[i];
        r = mct_buf_printf(out, "%s{\"name\":", i ? "," : "");
        if (r >= 0)
            r = mct_json_string(out, d->dest ? d->dest->name : "");
        if (r >= 0)
            r = json_kv_str(out, "path", d->path);
        if (r >= 0)
            r = json_kv_str(out, "state", mct_dest_state_name(d->state));
        if (r >= 0)
            r = mct_buf_printf(out, ",\"files\":%zu,\"bytes\":%llu}", d->files,
                               (unsigned long long)d->bytes);
    }
    return r < 0 ? r : mct_buf_puts(out, "]");
}

static int format_datajoint(const struct mct_session_status *st, struct mct_buf *out)
{
    if (!st)
        return mct_buf_puts(out, ",\"datajoint\":{\"state\":\"unknown\",\"checks\":{}}");
    int r = mct_buf_printf(out, ",\"datajoint\":{\"state\":\"%s\",\"checks\":{",
                           tristate_name(st->dj.state));
    /* true/false/null, as in .status.json */
    for (int i = 0; r >= 0 && i < MCT_DJ_N_CHECKS; i++) {
        enum mct_tristate c = st->dj.checks[i];
        r = mct_buf_printf(out, "%s\"%s\":%s", i ? "," : "", mct_dj_check_names[i],
                           c == MCT_YES  ? "true"
                           : c == MCT_NO ? "false"
                                         : "null");
    }
    if (r >= 0)
        r = mct_buf_puts(out, "}");
    if (r >= 0 && st->dj.state != MCT_YES)
        r = json_kv_str(out, "reason", st->dj.reason);
    return r < 0 ? r : mct_buf_puts(out, "}");
}

static int format_reasons(char *const *reasons, struct mct_buf *out)
{
    int r = mct_buf_puts(out, ",\"reasons\":[");
    for (size_t i = 0; r >= 0 && reasons && reasons[i]; i++) {
        if (i)
            r = mct_buf_puts(out, ",");
        if (r >= 0)
            r = mct_json_string(out, reasons[i]);
    }
    return r < 0 ? r : mct_buf_puts(out, "]");
}

void mct_describe_user(uid_t uid, char *out, size_t len)
{
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
        snprintf(out, len, "%s (uid %u)", res->pw_name, (unsigned)uid);
    else
        snprintf(out, len, "uid %u", (unsigned)uid);
}

static void user_name(const char *who, char *out, size_t len)
{
    if (!strempty(who))
        snprintf(out, len, "%s", who);
    else
        mct_describe_user(getuid(), out, len);
}

int mct_dlog_format(const struct mct_dlog_info *info, struct mct_buf *out)
{
    char when[32], user[MCT_USER_MAX], host[256] = "";
    mct_dlog_iso_time(time(NULL), when, sizeof(when));
    user_name(info->who, user, sizeof(user));
    if (gethostname(host, sizeof(host) - 1) < 0)
        snprintf(host, sizeof(host), "unknown");

    int r = mct_buf_printf(out, "{\"time\":\"%s\"", when);
    if (r >= 0)
        r = json_kv_str(out, "user", user);
    if (r >= 0)
        r = mct_buf_printf(out, ",\"uid\":%u", (unsigned)getuid());
    if (r >= 0)
        r = json_kv_str(out, "host", host);
    if (r >= 0)
        r = json_kv_str(out, "via", info->via ? info->via : "unknown");
    if (r >= 0)
        r = json_kv_str(out, "participant", info->ref->participant_id);
    if (r >= 0)
        r = json_kv_str(out, "date", info->ref->session_date);
    if (r >= 0)
        r = json_kv_str(out, "path", info->path);
    if (r >= 0)
        r = mct_buf_printf(out, ",\"files\":%zu,\"bytes\":%llu,\"mode\":\"%s\"", info->files,
                           (unsigned long long)info->bytes,
                           info->mode == MCT_DELETE_NORMAL ? "normal" : "force-unverified");
    if (r >= 0)
        r = format_destinations(info->status, out);
    if (r >= 0)
        r = format_datajoint(info->status, out);
    if (r >= 0)
        r = json_kv_str(out, "result", info->result);
    if (r >= 0 && info->reasons)
        r = format_reasons(info->reasons, out);
    return r < 0 ? r : mct_buf_puts(out, "}");
}

int mct_delete_log_refusal(const struct mct_config *cfg, const struct mct_session_ref *ref,
                           const char *who, const char *via, const char *reason)
{
    _cleanup_free_ char *path = NULL;
    int r = mct_session_source_path(cfg, ref, &path);
    if (r < 0)
        return r;
    char *reasons[] = {(char *)reason, NULL};
    struct mct_dlog_info info = {.ref = ref,
                                 .who = who,
                                 .via = via,
                                 .path = path,
                                 .result = "refused",
                                 .reasons = reasons};
    _cleanup_buf_ struct mct_buf b = {0};
    r = mct_dlog_format(&info, &b);
    return r < 0 ? r : mct_dlog_append(cfg->deletion_log_path, b.data);
}

int mct_dlog_append_kept(const char *log_path, const struct mct_session_ref *ref, const char *via,
                         const char *path, size_t n)
{
    _cleanup_free_ char *why = mct_strdup_printf(
            "%zu files written during the deletion were not verified: kept, back at %s", n, path);
    if (!why)
        return -ENOMEM;
    char *reasons[] = {why, NULL};
    struct mct_dlog_info info = {
            .ref = ref, .via = via, .path = path, .files = n, .result = "kept", .reasons = reasons};
    _cleanup_buf_ struct mct_buf b = {0};
    int r = mct_dlog_format(&info, &b);
    return r < 0 ? r : mct_dlog_append(log_path, b.data);
}
