/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "control.h"
#include "control_parse.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "escape.h"
#include "log.h"
#include "node.h"
#include "operations.h"
#include "model.h"
#include "reclaim.h"
#include "report.h"

/* Per session: is a command running here, and what did the last one do. */
struct record {
    struct mct_session_ref ref;
    bool busy;
    enum control_command running;
    struct timespec changed; /* when what .control says last changed */

    uid_t denied_uid; /* the last refused writer, logged at denied_at */
    time_t denied_at;

    bool have_last;
    char when[40];
    uid_t uid;
    char user[MCT_USER_MAX]; /* mct_describe_user(uid), as in the deletion log */
    enum control_command command;
    const char *outcome; /* "ok", "refused", "busy", "failed" */
    char *message;

    struct record *next;
};

struct control {
    pthread_mutex_t lock;
    struct record *records;
    struct timespec born; /* .control's time before any command */
};

int control_new(struct control **ret)
{
    struct control *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->lock, NULL);
    clock_gettime(CLOCK_REALTIME, &c->born);
    *ret = c;
    return 0;
}

void control_free(struct control *c)
{
    if (!c)
        return;
    while (c->records) {
        struct record *r = c->records;
        c->records = r->next;
        free(r->message);
        free(r);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* With the lock held. Only sessions a command was written to have a
 * record (a read of .control makes none), so a list is enough. */
static struct record *record_find(struct control *c, const struct mct_session_ref *ref)
{
    for (struct record *r = c->records; r; r = r->next)
        if (streq(r->ref.participant_id, ref->participant_id) &&
            streq(r->ref.session_date, ref->session_date))
            return r;
    return NULL;
}

static struct record *record_get(struct control *c, const struct mct_session_ref *ref)
{
    struct record *r = record_find(c, ref);
    if (r)
        return r;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->ref = *ref;
    r->next = c->records;
    c->records = r;
    return r;
}

/* ---- who may write ---- */

static bool gid_allowed(const struct mct_config *cfg, gid_t gid)
{
    for (size_t i = 0; i < cfg->mount.n_allow_gids; i++)
        if (cfg->mount.allow_gids[i] == gid)
            return true;
    return false;
}

static int caller_allowed(struct mctfs *fs)
{
    const struct fuse_ctx *ctx = mctfs_caller();
    const struct mct_config *cfg = fs->cfg;

    if (ctx->uid == fs->owner_uid)
        return 0;
    for (size_t i = 0; i < cfg->mount.n_allow_uids; i++)
        if (cfg->mount.allow_uids[i] == ctx->uid)
            return 0;
    if (cfg->mount.n_allow_gids == 0)
        return -EACCES;
    if (gid_allowed(cfg, ctx->gid))
        return 0;

    /* Supplementary groups come from /proc/PID/task/TID/status of the
     * caller; when they cannot be read, access is refused. */
    gid_t groups[256];
    int n = mctfs_caller_groups((int)ARRAY_SIZE(groups), groups);
    if (n < 0)
        return -EACCES;
    for (int i = 0; i < n && i < (int)ARRAY_SIZE(groups); i++)
        if (gid_allowed(cfg, groups[i]))
            return 0;
    return -EACCES;
}

/* A refused writer is in the deletion log as every refusal is (those the
 * kernel refuses by .control's mode never get here); a loop of opens must
 * not fill the disk, hence once a minute per user and session. */
static void log_denied(struct mctfs *fs, const struct mct_session_ref *ref, uid_t uid)
{
    time_t now = time(NULL);
    pthread_mutex_lock(&fs->control->lock);
    struct record *rec = record_get(fs->control, ref);
    bool again = rec && rec->denied_uid == uid && rec->denied_at && now - rec->denied_at < 60;
    if (rec && !again) {
        rec->denied_uid = uid;
        rec->denied_at = now;
    }
    pthread_mutex_unlock(&fs->control->lock);
    log_info("uid %u may not write .control of %s/%s", (unsigned)uid, ref->participant_id,
             ref->session_date);
    /* The root's .control (RECLAIM) deletes no session of its own. */
    if (!rec || again || !ref->participant_id[0])
        return;
    char who[MCT_USER_MAX];
    mct_describe_user(uid, who, sizeof(who));
    int r = mct_delete_log_refusal(fs->cfg, ref, who, "mctfs",
                                   "may not write .control (Permission denied): not the mount's "
                                   "owner, not in mount.allow_uids or mount.allow_gids; nothing "
                                   "was run");
    if (r < 0)
        log_warning_errno(r, "cannot log the refused .control write of %s/%s", ref->participant_id,
                          ref->session_date);
}

int control_check_access(struct mctfs *fs, const struct mct_session_ref *ref)
{
    int r = caller_allowed(fs);
    if (r < 0 && ref)
        log_denied(fs, ref, mctfs_caller()->uid);
    return r;
}

/* ---- running ---- */

struct progress_ctx {
    struct mctfs *fs;
    const struct mct_session_ref *ref;
    enum control_command command;
};

/* Readers of .backup_status see "syncing 42%" or "verifying 42%": the first
 * word is part of the file's contract, whatever the engine calls its phase. */
static void on_progress(void *ud, const char *phase, int percent, const char *detail)
{
    struct progress_ctx *p = ud;
    bool verifying = p->command == CMD_VERIFY || (phase && strstr(phase, "verif"));
    char activity[64];

    if (percent < 0)
        percent = 0;
    if (percent > 100)
        percent = 100;
    snprintf(activity, sizeof(activity), "%s %d%%", verifying ? "verifying" : "syncing", percent);
    model_set_activity(p->fs->model, p->ref, activity);
}

/* The root's .control has no session: its record is keyed by an empty ref. */
static bool is_root(const struct mct_session_ref *ref)
{
    return !ref->participant_id[0];
}

/* RECLAIM: deletions through the protocol, as mctctl reclaim; the
 * sessions it deleted leave the view and the root is computed anew. */
static int run_reclaim(struct mctfs *fs, const char *who, struct mct_op_result *res)
{
    struct mct_reclaim_request req = {.who = who, .via = "mctfs reclaim"};
    struct mct_reclaim_result rec;
    int r = mct_reclaim(fs->cfg, &req, &rec);
    for (size_t i = 0; i < rec.n; i++) {
        if (rec.items[i].outcome != MCT_RECLAIM_DELETED)
            continue;
        model_invalidate(fs->model, &rec.items[i].ref);
        node_forget_session(fs, &rec.items[i].ref, true);
    }
    model_invalidate(fs->model, NULL);
    node_forget_session(fs, NULL, false);

    /* What it did, and (as reasons, which the message shows) why the
     * target is out of reach. */
    _cleanup_buf_ struct mct_buf b = {};
    if (rec.checked)
        mct_report_reclaim_outcome(&rec, &b);
    if (b.len && mct_strv_push(rec.met ? &res->lines : &res->reasons, mct_buf_steal(&b)) < 0)
        r = -ENOMEM;
    char *why = !rec.checked ? (rec.error ? strdup(rec.error) : NULL)
                : rec.met    ? NULL
                             : mct_reclaim_why_not(&rec);
    if (why && mct_strv_push(&res->reasons, why) < 0)
        r = -ENOMEM;
    mct_reclaim_result_free(&rec);
    /* Not met: the work did not reach its end (EIO, the message says why). */
    return r == -ENOSPC ? -EIO : r;
}

static int run(struct mctfs *fs, const struct mct_session_ref *ref, enum control_command cmd,
               uid_t uid, struct mct_op_result *res)
{
    struct progress_ctx p = {fs, ref, cmd};

    switch (cmd) {
    case CMD_SYNC:
        return mct_sync_session(fs->cfg, ref, false, on_progress, &p, res);
    case CMD_VERIFY:
        return mct_verify_session(fs->cfg, ref, on_progress, &p, res);
    case CMD_DELETE: {
        char who[MCT_USER_MAX];
        mct_describe_user(uid, who, sizeof(who));
        struct mct_delete_request req = {
                .ref = *ref,
                .mode = MCT_DELETE_NORMAL,
                .dry_run = false, /* the write itself is the confirmation */
                .who = who,
                .via = "mctfs",
        };
        return mct_delete_session(fs->cfg, &req, res);
    }
    case CMD_RECLAIM: {
        char who[MCT_USER_MAX];
        mct_describe_user(uid, who, sizeof(who));
        return run_reclaim(fs, who, res);
    }
    case CMD_COUNT:
        break;
    }
    return -EINVAL;
}

/* The message for .control and the log: every reason, else the last line. */
static char *summarize(const struct mct_op_result *res, int r)
{
    _cleanup_buf_ struct mct_buf b = {};

    for (size_t i = 0; res->reasons && res->reasons[i]; i++)
        if (mct_buf_printf(&b, "%s%s", i ? "; " : "", res->reasons[i]) < 0)
            return NULL;
    if (b.len == 0) {
        size_t n = mct_strv_length(res->lines);
        if (n > 0 && mct_buf_puts(&b, res->lines[n - 1]) < 0)
            return NULL;
    }
    if (b.len == 0 && mct_buf_puts(&b, r < 0 ? strerror(-r) : "done") < 0)
        return NULL;
    return mct_buf_steal(&b);
}

static void record_result(struct record *rec, enum control_command cmd, uid_t uid, int r,
                          char *message)
{
    time_t now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    strftime(rec->when, sizeof(rec->when), "%Y-%m-%dT%H:%M:%S%z", &tm);
    rec->have_last = true;
    clock_gettime(CLOCK_REALTIME, &rec->changed);
    rec->uid = uid;
    mct_describe_user(uid, rec->user, sizeof(rec->user));
    rec->command = cmd;
    rec->outcome = control_outcome(r);
    free(rec->message);
    rec->message = message;
}

/* After a command, the cached status is wrong: drop it, tell the kernel,
 * and compute the new one now, while the writer still waits, so a read
 * right after the write returns answers at once with the new state. */
static void refresh_after(struct mctfs *fs, const struct mct_session_ref *ref, bool gone)
{
    model_set_activity(fs->model, ref, NULL);
    model_invalidate(fs->model, ref);
    node_forget_session(fs, ref, gone);
    if (gone)
        return;

    struct status_snap *s = NULL;
    if (model_get(fs->model, ref, 0, &s, NULL) >= 0 && s)
        status_snap_unref(s);
}

int control_write(struct mctfs *fs, const struct mct_session_ref *ref, const char *buf, size_t size,
                  off_t off)
{
    uid_t uid = mctfs_caller()->uid;
    enum control_command cmd;

    /* RECLAIM at the root, the others in a session. */
    if (control_parse_write(buf, size, off, is_root(ref), &cmd) < 0) {
        log_info("%s/%s/.control: uid %u wrote %zu bytes that are not a command, ignored",
                 ref->participant_id, ref->session_date, (unsigned)uid, size);
        return -EINVAL;
    }

    pthread_mutex_lock(&fs->control->lock);
    struct record *rec = record_get(fs->control, ref);
    if (!rec) {
        pthread_mutex_unlock(&fs->control->lock);
        return -ENOMEM;
    }
    if (rec->busy) {
        char *msg = mct_strdup_printf("%s is running on this session",
                                      control_command_names[rec->running]);
        record_result(rec, cmd, uid, -EBUSY, msg);
        pthread_mutex_unlock(&fs->control->lock);
        log_notice("%s %s/%s by uid %u: busy (%s)", control_command_names[cmd], ref->participant_id,
                   ref->session_date, (unsigned)uid, msg ? msg : "");
        return -EBUSY;
    }
    rec->busy = true;
    rec->running = cmd;
    clock_gettime(CLOCK_REALTIME, &rec->changed);
    pthread_mutex_unlock(&fs->control->lock);

    log_notice("%s %s/%s by uid %u: started", control_command_names[cmd], ref->participant_id,
               ref->session_date, (unsigned)uid);

    /* The write returns when the command has finished, so it runs in this
     * FUSE thread: only the writer waits on it. Readers of the session's
     * status files see its progress through the cache's activity. */
    struct mct_op_result res = {};
    int r = run(fs, ref, cmd, uid, &res);
    char *msg = summarize(&res, r);
    mct_op_result_free(&res);

    /* A failed sync or verification is EIO: the message says why. */
    int ret = control_write_result(r, size);

    log_notice("%s %s/%s by uid %u: %s: %s", control_command_names[cmd], ref->participant_id,
               ref->session_date, (unsigned)uid, control_outcome(r), msg ? msg : "");

    pthread_mutex_lock(&fs->control->lock);
    rec->busy = false;
    record_result(rec, cmd, uid, r, msg);
    pthread_mutex_unlock(&fs->control->lock);

    if (!is_root(ref))
        refresh_after(fs, ref, cmd == CMD_DELETE && r >= 0);
    return ret;
}

/* The message quotes file names: escaped, it stays on its line and cannot
 * add one ("outcome: ok"). */
static int render_last(const struct record *rec, struct mct_buf *out)
{
    _cleanup_esc_pool_ struct mct_esc_pool e = {0};
    mct_buf_printf(out, "time: %s\nuid: %u\nuser: %s\ncommand: %s\noutcome: %s\nmessage: %s\n",
                   rec->when, (unsigned)rec->uid, mct_esc_pool_text(&e, rec->user),
                   control_command_names[rec->command], rec->outcome,
                   mct_esc_pool_text(&e, rec->message));
    return out->error ? out->error : e.error;
}

int control_render(struct mctfs *fs, const struct mct_session_ref *ref, struct mct_buf *out,
                   struct timespec *mtime)
{
    struct control *c = fs->control;
    int r = 0;

    pthread_mutex_lock(&c->lock);
    struct record *rec = record_find(c, ref);
    *mtime = rec && (rec->busy || rec->have_last) ? rec->changed : c->born;
    if (!rec) {
        r = mct_buf_puts(out, "no command yet: write SYNC, VERIFY or DELETE\n");
    } else {
        if (rec->busy)
            r = mct_buf_printf(out, "running: %s\n", control_command_names[rec->running]);
        if (r >= 0 && !rec->have_last)
            r = mct_buf_puts(out, is_root(ref) ? "no command yet: write RECLAIM\n"
                                               : "no command yet: write SYNC, VERIFY or DELETE\n");
        else if (r >= 0)
            r = render_last(rec, out);
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}
