/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "deletion_log.h"

#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsondoc.h"

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

static struct json_object *destination_json(const struct mct_dest_status *d)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    if (mct_json_add_str(o, "name", d->dest ? d->dest->name : "") < 0 ||
        mct_json_add_str(o, "path", d->path ? d->path : "") < 0 ||
        mct_json_add_str(o, "state", mct_dest_state_name(d->state)) < 0 ||
        mct_json_add_u64(o, "files", d->files) < 0 || mct_json_add_u64(o, "bytes", d->bytes) < 0)
        return NULL;
    return TAKE_PTR(o);
}

static struct json_object *destinations_json(const struct mct_session_status *st)
{
    _cleanup_json_ struct json_object *a = json_object_new_array();
    for (size_t i = 0; st && i < st->n_dests; i++)
        if (mct_json_push(a, destination_json(&st->dests[i])) < 0)
            return NULL;
    return TAKE_PTR(a);
}

/* The evidence DataJoint gave: true/false/null per check, as in
 * .status.json; no checks when the deletion was refused before any ran. */
static struct json_object *datajoint_json(const struct mct_session_status *st)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    _cleanup_json_ struct json_object *checks = json_object_new_object();
    for (int i = 0; st && i < MCT_DJ_N_CHECKS; i++) {
        enum mct_tristate c = st->dj.checks[i];
        int r = c == MCT_UNKNOWN ? mct_json_add_null(checks, mct_dj_check_names[i])
                                 : mct_json_add_bool(checks, mct_dj_check_names[i], c == MCT_YES);
        if (r < 0)
            return NULL;
    }
    if (mct_json_add_str(o, "state", tristate_name(st ? st->dj.state : MCT_UNKNOWN)) < 0 ||
        mct_json_add(o, "checks", TAKE_PTR(checks)) < 0)
        return NULL;
    if (st && st->dj.state != MCT_YES && mct_json_add_str(o, "reason", st->dj.reason) < 0)
        return NULL;
    return TAKE_PTR(o);
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

struct json_object *mct_dlog_record(const struct mct_dlog_info *info)
{
    char when[32], user[MCT_USER_MAX], host[256] = "";
    mct_dlog_iso_time(time(NULL), when, sizeof(when));
    user_name(info->who, user, sizeof(user));
    if (gethostname(host, sizeof(host) - 1) < 0)
        snprintf(host, sizeof(host), "unknown");

    _cleanup_json_ struct json_object *o = json_object_new_object();
    if (mct_json_add_str(o, "time", when) < 0 || mct_json_add_str(o, "user", user) < 0 ||
        mct_json_add_u64(o, "uid", getuid()) < 0 || mct_json_add_str(o, "host", host) < 0 ||
        mct_json_add_str(o, "via", info->via ? info->via : "unknown") < 0 ||
        mct_json_add_str(o, "participant", info->ref->participant_id) < 0 ||
        mct_json_add_str(o, "date", info->ref->session_date) < 0 ||
        mct_json_add_str(o, "path", info->path ? info->path : "") < 0 ||
        mct_json_add_u64(o, "files", info->files) < 0 ||
        mct_json_add_u64(o, "bytes", info->bytes) < 0 ||
        mct_json_add_str(o, "mode",
                         info->mode == MCT_DELETE_NORMAL ? "normal" : "force-unverified") < 0 ||
        mct_json_add(o, "destinations", destinations_json(info->status)) < 0 ||
        mct_json_add(o, "datajoint", datajoint_json(info->status)) < 0 ||
        mct_json_add_str(o, "result", info->result ? info->result : "") < 0)
        return NULL;
    if (info->reasons && mct_json_add_strv(o, "reasons", info->reasons) < 0)
        return NULL;
    return TAKE_PTR(o);
}

int mct_dlog_format(const struct mct_dlog_info *info, struct mct_buf *out)
{
    _cleanup_json_ struct json_object *o = mct_dlog_record(info);
    return mct_json_write(o, out);
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
