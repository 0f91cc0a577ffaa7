/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "xattr.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "access.h"
#include "beneath.h"
#include "caller.h"
#include "model.h"
#include "policy.h"
#include "report.h"
#include "mctfs.h"
#include "node.h"
#include "util.h"

/* Not trusted.* (root's only: mctfs runs as root, viewers must not see
 * them) nor security.* (capabilities and labels of the source are not the
 * mount's). */
static bool xattr_shown(const char *name)
{
    return startswith(name, "user.") || streq(name, "system.posix_acl_access") ||
           streq(name, "system.posix_acl_default");
}

/* An O_PATH fd of a real node's path and its stat; -ENODATA for a node
 * that has no attributes (virtual files, symlinks). */
static int xattr_target(struct mctfs *fs, const struct node *n, struct stat *st)
{
    int r;
    if (n->kind != NODE_REAL)
        return -ENODATA;
    int fd = mct_openat_beneath(fs->base_fd, n->rel, O_PATH | O_NOFOLLOW, 0, 0);
    if (fd < 0)
        return fd;
    r = fstat(fd, st) < 0 ? -errno : S_ISLNK(st->st_mode) ? -ENODATA : 0;
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

/* ---- what the view adds: a session's state, a folder's summary ---- */

#define X_SAFE     "user.mctfs.safe_to_delete"
#define X_STATE    "user.mctfs.state"
#define X_SESSIONS "user.mctfs.sessions"
#define X_COMMENT  "user.xdg.comment" /* what file browsers (Dolphin) show */

static bool is_session_folder(const struct node *n)
{
    return n->kind == NODE_REAL && n->session && strlen(n->rel) == n->session_len;
}

/* A session's state as the model has it now, without waiting. */
static int session_value(struct mctfs *fs, const struct node *n, const char *name,
                         struct mct_buf *out)
{
    _cleanup_snap_ struct status_snap *snap = NULL;
    int r = model_get(fs->model, &n->ref, MODEL_NO_WAIT, &snap, NULL);
    if (r < 0)
        return r;
    const struct mct_session_status *st = &snap->st[0];
    _cleanup_buf_ struct mct_buf safe = {};
    if ((r = mct_report_safe_to_delete(st, &safe)) < 0)
        return r;
    size_t line = strcspn(safe.data, "\n");
    if (streq(name, X_SAFE))
        return mct_buf_append(out, safe.data, line);
    if (streq(name, X_STATE))
        return mct_buf_puts(out, mct_status_state(st, snap->placeholder));
    /* One line a person reads next to the folder's name. */
    return mct_buf_printf(out, "%s",
                          st->safe_to_delete && !snap->placeholder
                                  ? "backed up and imported: safe to delete"
                                  : safe.data + (startswith(safe.data, "no: ") ? 4 : 0));
}

static int folder_value(struct mctfs *fs, const struct node *n, struct mct_buf *out)
{
    struct model_summary sum;
    model_summary(fs->model, n->rel, &sum);
    if (sum.sessions == 0)
        return -ENODATA;
    return mct_buf_printf(out, "%zu sessions: %zu safe to delete, %zu not%s", sum.sessions,
                          sum.safe, sum.sessions - sum.safe - sum.pending,
                          sum.pending ? " yet known" : "");
}

/* -ENODATA when name is not one of the view's own. */
static int own_value(struct mctfs *fs, const struct node *n, const char *name, char *value,
                     size_t size)
{
    _cleanup_buf_ struct mct_buf b = {};
    int r;
    if (is_session_folder(n) &&
        (streq(name, X_SAFE) || streq(name, X_STATE) || streq(name, X_COMMENT)))
        r = session_value(fs, n, name, &b);
    else if (n->kind == NODE_REAL && !n->session &&
             (streq(name, X_SESSIONS) || streq(name, X_COMMENT)))
        r = folder_value(fs, n, &b);
    else
        return -ENODATA;
    if (r < 0)
        return r;
    /* Names in it are escaped already (report.h): one line of text. */
    b.len = strcspn(b.data ? b.data : "", "\n");
    if (size && b.len > size)
        return -ERANGE;
    if (size)
        memcpy(value, b.data, b.len);
    return (int)b.len;
}

/* The names own_value answers for n, NUL-separated. */
static const char *own_names(struct mctfs *fs, const struct node *n, size_t *len)
{
    static const char session[] = X_SAFE "\0" X_STATE "\0" X_COMMENT "\0";
    static const char folder[] = X_SESSIONS "\0" X_COMMENT "\0";
    if (is_session_folder(n)) {
        *len = sizeof(session) - 1;
        return session;
    }
    struct model_summary sum;
    if (n->kind == NODE_REAL && !n->session &&
        (model_summary(fs->model, n->rel, &sum), sum.sessions)) {
        *len = sizeof(folder) - 1;
        return folder;
    }
    *len = 0;
    return "";
}

int xattr_get(struct mctfs *fs, const struct node *node, const char *name, char *value, size_t size)
{
    int own = own_value(fs, node, name, value, size);
    if (own != -ENODATA)
        return own;
    char proc[64];
    struct stat st;
    if (!xattr_shown(name))
        return -ENODATA;
    _cleanup_close_ int fd = xattr_target(fs, node, &st);
    if (fd < 0)
        return fd;
    /* user.* needs read permission, as on the disk (the ACLs do not). */
    struct caller who;
    int r;
    if (startswith(name, "user.") && (r = access_check_fd(caller_cred(&who), fd, &st, R_OK)) < 0)
        return r;
    /* An O_PATH fd has no fgetxattr(): its /proc link is the same inode. */
    ssize_t n = getxattr(mct_fd_path(fd, proc, sizeof(proc)), name, value, size);
    return n < 0 ? (errno == ENOTSUP ? -ENODATA : -errno) : (int)n;
}

/* The source's own names shown for node, into list (size 0: the length). */
static int source_names(struct mctfs *fs, const struct node *node, char *list, size_t size)
{
    char proc[64];
    struct stat st;
    _cleanup_close_ int fd = xattr_target(fs, node, &st);
    if (fd == -ENODATA)
        return 0;
    if (fd < 0)
        return fd;
    mct_fd_path(fd, proc, sizeof(proc));
    ssize_t n = listxattr(proc, NULL, 0);
    if (n <= 0)
        return n < 0 ? (errno == ENOTSUP ? 0 : -errno) : 0;
    _cleanup_free_ char *all = malloc((size_t)n);
    if (!all)
        return -ENOMEM;
    n = listxattr(proc, all, (size_t)n);
    if (n < 0)
        return errno == ERANGE ? -EAGAIN : -errno; /* grew meanwhile */

    size_t len = 0;
    for (char *p = all; p < all + n; p += strlen(p) + 1) {
        /* The view's own names stand for themselves: a source file's
         * attribute of the same name is not shown. */
        if (!xattr_shown(p) || startswith(p, "user.mctfs.") || streq(p, X_COMMENT))
            continue;
        size_t k = strlen(p) + 1;
        if (size && len + k <= size)
            memcpy(list + len, p, k);
        else if (size)
            return -ERANGE;
        len += k;
    }
    return (int)len;
}

int xattr_list(struct mctfs *fs, const struct node *node, char *list, size_t size)
{
    int len = source_names(fs, node, list, size);
    if (len < 0)
        return len;
    size_t ownlen;
    const char *own = own_names(fs, node, &ownlen);
    if (size && (size_t)len + ownlen > size)
        return -ERANGE;
    if (size)
        memcpy(list + len, own, ownlen);
    return len + (int)ownlen;
}
