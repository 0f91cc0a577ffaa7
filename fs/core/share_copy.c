/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copy folders on the share, reached without trusting a single name on
 * it: every path is resolved in a share child from the destination's
 * trusted root (the mount point the admin configured) with openat2
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV (beneath.h), so
 * a symlink a share user planted anywhere on the way (mobile_system_data,
 * the date folder, the session folder) makes the copy "unsafe", never a
 * door into /data. Sync gets the descriptor of the folder it checked and
 * rsync writes through it; the marker says whose copy a folder holds.
 * Everything here that runs in a child is system calls on static or
 * stack buffers (see share.c).
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "beneath.h"
#include "marker.h"
#include "share.h"
#include "util.h"

/* Is path dir or below it (ignoring dir's trailing slashes)? *rel gets
 * the rest, without leading slashes. */
static bool path_below(const char *path, const char *dir, const char **rel)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 0 || strncmp(path, dir, n) != 0)
        return false;
    if (!(n == 1 && dir[0] == '/') && path[n] != '\0' && path[n] != '/')
        return false;
    const char *r = path + n;
    while (*r == '/')
        r++;
    *rel = r;
    return true;
}

int mct_share_open_in_child(const struct mct_destination *dest, const char *path, bool create,
                            size_t *symlink_end)
{
    const char *root, *rel;
    if (dest->verify_mount && !strempty(dest->mount_point) &&
        path_below(path, dest->mount_point, &rel))
        root = dest->mount_point;
    else if (!strempty(dest->base_path) && path_below(path, dest->base_path, &rel))
        root = dest->base_path;
    else
        return -EXDEV;
    /* The root is the admin's path (it may well be a symlink on the rig):
     * followed. Below it, nothing is. */
    int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return -errno;
    int fd = create ? mct_mkdir_beneath(rfd, rel, 0755, MCT_BENEATH_NO_XDEV)
                    : mct_opendir_beneath(rfd, rel, MCT_BENEATH_NO_XDEV);
    size_t end;
    if (fd == -ELOOP && symlink_end && mct_beneath_find_symlink(rfd, rel, &end) == 1)
        *symlink_end = (size_t)(rel - path) + end;
    close(rfd);
    return fd;
}

int mct_share_read_marker(int dirfd, char *buf, size_t len, size_t *n_out)
{
    *n_out = 0;
    int fd = openat(dirfd, MCT_MARKER_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ELOOP ? -EBADMSG : -errno;
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0)
        r = -errno;
    else if (!S_ISREG(st.st_mode) || (size_t)st.st_size >= len)
        r = -EBADMSG;
    while (r == 0 && *n_out < len - 1) {
        ssize_t k = read(fd, buf + *n_out, len - 1 - *n_out);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            r = -errno;
        if (k <= 0)
            break;
        *n_out += (size_t)k;
    }
    buf[*n_out] = '\0';
    close(fd);
    return r;
}

/* ---- opening a copy folder for sync ---- */

struct open_args {
    const struct mct_destination *dest;
    const char *path;
    bool create;
};

struct open_msg {
    int err;
    int marker_err;
    uint64_t symlink_end, dev, ino, marker_len;
    char marker[MCT_MARKER_MAX];
};

static void open_child(int wfd, void *ud)
{
    const struct open_args *a = ud;
    static struct open_msg m;
    size_t end = 0, n = 0;
    int fd = mct_share_open_in_child(a->dest, a->path, a->create, &end);
    m = (struct open_msg){.err = fd < 0 ? fd : 0, .symlink_end = end};
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) < 0)
            m.err = -errno;
        m.dev = st.st_dev;
        m.ino = st.st_ino;
        m.marker_err = mct_share_read_marker(fd, m.marker, sizeof(m.marker), &n);
        m.marker_len = n;
    }
    if (mct_share_child_send_fd(wfd, &m, sizeof(m), m.err ? -1 : fd) < 0)
        _exit(1);
}

static void copy_from_msg(struct mct_copy_scan *out, const struct open_msg *m)
{
    out->err = m->err;
    out->symlink_end = (size_t)m->symlink_end;
    out->dev = (dev_t)m->dev;
    out->ino = (ino_t)m->ino;
    out->marker_err = m->marker_err;
    free(out->marker);
    out->marker = m->err == 0 && m->marker_err == 0 ? strndup(m->marker, m->marker_len) : NULL;
}

int mct_share_open_copy(const struct mct_config *cfg, const struct mct_destination *dest,
                        const char *path, bool create, struct mct_copy_scan *out, int *fd_out)
{
    *fd_out = -1;
    out->err = -ETIMEDOUT;
    struct open_args a = {dest, path, create};
    struct mct_share_child c = {.dest = dest, .fd = -1};
    int r = mct_share_child_start(&c, open_child, &a);
    if (r < 0)
        return out->err = r;
    _cleanup_free_ struct open_msg *m = malloc(sizeof(*m));
    r = m ? mct_share_child_read_fd(&c, m, sizeof(*m), mct_share_timeout_ms(cfg), fd_out) : -ENOMEM;
    mct_share_child_finish(&c);
    if (r < 0)
        return out->err = r;
    copy_from_msg(out, m);
    if (out->err == 0 && *fd_out < 0)
        out->err = -EIO; /* the descriptor got lost on the way */
    return 0;
}

/* ---- writing the marker ---- */

struct marker_args {
    const struct mct_destination *dest;
    const char *path;
    const char *text;
};

static void marker_child(int wfd, void *ud)
{
    const struct marker_args *a = ud;
    static const char tmp[] = ".mctfs-copy.tmp";
    int err = 0;
    int dfd = mct_share_open_in_child(a->dest, a->path, false, NULL);
    if (dfd < 0)
        err = dfd;
    /* A planted temp name (a FIFO, a symlink) is removed, never opened. */
    if (!err && unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
        err = -errno;
    int fd =
            err ? -1 : openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (!err && fd < 0)
        err = -errno;
    if (!err)
        err = mct_write_all(fd, a->text, strlen(a->text));
    if (!err && fsync(fd) < 0)
        err = -errno;
    if (fd >= 0)
        close(fd);
    if (!err && renameat(dfd, tmp, dfd, MCT_MARKER_FILE) < 0)
        err = -errno;
    if (dfd >= 0)
        close(dfd);
    if (mct_share_child_write(wfd, &err, sizeof(err)) < 0)
        _exit(1);
}

int mct_share_write_marker(const struct mct_config *cfg, const struct mct_destination *dest,
                           const char *path, const char *text)
{
    struct marker_args a = {dest, path, text};
    struct mct_share_child c = {.dest = dest, .fd = -1};
    int err = 0;
    int r = mct_share_child_start(&c, marker_child, &a);
    if (r < 0)
        return r;
    r = mct_share_child_read(&c, &err, sizeof(err), mct_share_timeout_ms(cfg));
    mct_share_child_finish(&c);
    return r < 0 ? r : err;
}

void mct_copy_scan_done(struct mct_copy_scan *c)
{
    free(c->marker);
    c->marker = NULL;
    mct_scan_free(&c->scan);
}
