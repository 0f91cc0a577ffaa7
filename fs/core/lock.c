/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session lock: flock() on a file of its own in service.lock_dir, a
 * folder only the service user may write. Never on anything under the
 * source base: the rig user owns every folder there, and anyone who can
 * open a folder can flock it, so a lock on /data/p001/20250104 is one
 * any user could hold for as long as they like. flock belongs to the open
 * file description, not the process, so two opens in the same process
 * exclude each other too: the mount relies on that when two .control
 * writes for one session arrive on different FUSE threads.
 *
 * One file per session and source tree: the name carries the source
 * base's device and inode, so two source trees (or two test labs with the
 * same session names) sharing a lock folder never collide.
 */
#include "lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "beneath.h"
#include "checksum.h"
#include "log.h"
#include "util.h"

/* Escaped participant ids longer than this are named by their hash. */
#define LOCK_ID_MAX 160

static const char *lock_dir_path(const struct mct_config *cfg)
{
    return cfg->service.lock_dir ? cfg->service.lock_dir : "";
}

/* A lock folder anyone else may write is no lock at all: they could
 * replace a lock file, or hold one. */
static int lock_dir_check(const char *dir, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        log_error("lock folder %s is not safe (owner uid %u, mode %04o): it must be owned by "
                  "uid %u and writable by it only; chown/chmod it or move it aside",
                  dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
        return -EPERM;
    }
    return 0;
}

/* Open (creating it 0700 when missing) and check the lock folder. */
static int lock_dir_open(const struct mct_config *cfg)
{
    const char *dir = lock_dir_path(cfg);
    if (dir[0] != '/')
        return -EINVAL;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        _cleanup_free_ char *parent = strdup(dir);
        if (!parent)
            return -ENOMEM;
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            int r = mct_mkdir_p(parent, 0755);
            if (r < 0)
                return r;
        }
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return -errno;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        int r = -errno;
        log_error("cannot open lock folder %s: %s", dir, strerror(-r));
        return r;
    }
    int r = lock_dir_check(dir, fd);
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

/* "<base dev>.<base ino>-<date>-p<escaped id>.lock": bytes other than
 * letters, digits, '_', '+' and '.' become %XX, so distinct ids give
 * distinct names; ids too long for that are named by their XXH3-128
 * ("-h" instead of "-p"). */
static int lock_name(const struct mct_config *cfg, const struct mct_session_ref *ref, char **ret)
{
    struct stat base;
    if (stat(cfg->source_base_path, &base) < 0)
        return -errno;
    _cleanup_buf_ struct mct_buf id = {0};
    for (const unsigned char *p = (const unsigned char *)ref->participant_id; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '_' || *p == '+' || *p == '.';
        if (plain)
            mct_buf_append(&id, (const char *)p, 1);
        else
            mct_buf_printf(&id, "%%%02X", *p);
    }
    if (id.error)
        return -ENOMEM;
    char kind = 'p';
    char hex[MCT_HASH_HEX_LEN + 1];
    const char *text = id.data;
    if (id.len > LOCK_ID_MAX) {
        struct mct_hash h;
        mct_hash_buffer(ref->participant_id, strlen(ref->participant_id), &h);
        mct_hash_hex(&h, hex);
        kind = 'h';
        text = hex;
    }
    *ret = mct_strdup_printf("%llx.%llx-%s-%c%s.lock", (unsigned long long)base.st_dev,
                             (unsigned long long)base.st_ino, ref->session_date, kind, text);
    return *ret ? 0 : -ENOMEM;
}

/* Open (creating it) the lock file name in the lock folder and take it. */
static int lock_take(const struct mct_config *cfg, const char *name, int *fd_out)
{
    _cleanup_close_ int dfd = lock_dir_open(cfg);
    if (dfd < 0)
        return dfd;
    /* O_NONBLOCK: whatever sits at the name, the open never waits. */
    _cleanup_close_ int fd = openat(
            dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd < 0) {
        int r = -errno;
        log_error("cannot open lock file %s/%s: %s", lock_dir_path(cfg), name, strerror(-r));
        return r;
    }
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        log_error("lock file %s/%s is not a regular file of uid %u: move it aside",
                  lock_dir_path(cfg), name, (unsigned)geteuid());
        return -EPERM;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        return errno == EWOULDBLOCK ? -EBUSY : -errno;
    *fd_out = TAKE_FD(fd);
    return 0;
}

int mct_session_lock_ref(const struct mct_config *cfg, const struct mct_session_ref *ref,
                         int *fd_out)
{
    *fd_out = -1;
    if (strempty(cfg->source_base_path) || !mct_participant_id_valid(ref->participant_id) ||
        !mct_session_date_valid(ref->session_date))
        return -EINVAL;
    _cleanup_free_ char *name = NULL;
    int r = lock_name(cfg, ref, &name);
    if (r < 0)
        return r;
    return lock_take(cfg, name, fd_out);
}

int mct_tree_lock(const struct mct_config *cfg, const char *job, int *fd_out)
{
    *fd_out = -1;
    struct stat base;
    if (strempty(cfg->source_base_path) || stat(cfg->source_base_path, &base) < 0)
        return strempty(cfg->source_base_path) ? -EINVAL : -errno;
    /* No session lock name has this shape: theirs have a date after the inode. */
    _cleanup_free_ char *name =
            mct_strdup_printf("%llx.%llx-%s.lock", (unsigned long long)base.st_dev,
                              (unsigned long long)base.st_ino, job);
    if (!name)
        return -ENOMEM;
    return lock_take(cfg, name, fd_out);
}

int mct_session_lock(const struct mct_config *cfg, const struct mct_session_ref *ref, int *fd_out)
{
    _cleanup_close_ int fd = -1, dir = -1;
    int r;

    *fd_out = -1;
    r = mct_session_lock_ref(cfg, ref, &fd);
    if (r < 0) {
        log_debug("cannot lock %s/%s: %s", ref->participant_id, ref->session_date, strerror(-r));
        return r;
    }
    /* No symlink anywhere below the source base: a session folder replaced
     * by a symlink, or reached through a symlinked participant folder, is
     * not a session (-ELOOP). Checked with the lock held. */
    r = mct_session_open_dir(cfg, ref, &dir);
    if (r < 0) {
        log_debug("cannot open %s/%s: %s", ref->participant_id, ref->session_date, strerror(-r));
        return r;
    }
    *fd_out = TAKE_FD(fd);
    return 0;
}
