/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "real.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>

#include "access.h"
#include "beneath.h"
#include "caller.h"
#include "fdcap.h"
#include "ino.h"
#include "opencache.h"
#include "util.h"

void real_face(struct mctfs *fs, struct stat *st)
{
    st->st_ino = (ino_t)ino_real(fs->base_dev, st);
    /* The view refuses every change (EROFS): without write bits, file
     * browsers do not offer Delete, Rename or New Folder first. */
    st->st_mode &= ~(mode_t)0222;
}

int real_stat(struct mctfs *fs, const struct node *n, struct stat *st)
{
    int r = mct_stat_beneath(fs->base_fd, n->rel, st, 0);
    if (r < 0)
        return r;
    real_face(fs, st);
    return 0;
}

int real_access(struct mctfs *fs, const struct node *n, int mask)
{
    /* Only without default_permissions does the kernel ask: the caller's
     * rights, not ours. */
    if (mask & W_OK)
        return -EROFS;
    struct caller who;
    int fd = access_open_beneath(fs->base_fd, n->rel, O_PATH, caller_cred(&who), mask, NULL);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

int real_readlink(struct mctfs *fs, const struct node *n, char *buf, size_t size)
{
    if (size == 0)
        return -EINVAL;
    /* O_PATH|O_NOFOLLOW opens the link itself; nothing on the way to it
     * may be one. */
    _cleanup_close_ int fd = mct_openat_beneath(fs->base_fd, n->rel, O_PATH | O_NOFOLLOW, 0, 0);
    if (fd < 0)
        return fd;
    ssize_t k = readlinkat(fd, "", buf, size - 1);
    if (k < 0)
        return errno == ENOENT ? -EINVAL : -errno; /* not a link */
    buf[k] = '\0';
    return 0;
}

int real_open(struct mctfs *fs, const struct node *n, struct fuse_file_info *fi, struct handle *h)
{
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
        return -EROFS;

    /* Counted before it exists, so the daemon's reserve is never touched;
     * root and the owner are limited by the total only. */
    struct caller who;
    struct access_cred *c = caller_cred(&who);
    int r = fdcap_take(fs->fdcap, c->uid, c->uid == 0 || c->uid == fs->owner_uid);
    if (r < 0)
        return r;
    h->counted = true;
    h->uid = c->uid;

    /* O_NONBLOCK: a FIFO in the source must not hold a FUSE thread. The
     * caller's rights are checked on what was opened: a chmod or setfacl
     * bites at the next open, whatever the kernel still caches. */
    struct stat st;
    h->fd = access_open_beneath(fs->base_fd, n->rel, O_RDONLY | O_NONBLOCK, c, R_OK, &st);
    if (h->fd < 0)
        return h->fd;
    if (!S_ISREG(st.st_mode))
        return -EACCES;
    /* The kernel may hold a size from up to attr_seconds ago, and a cached
     * read ends there: the tail of a recording still being written would
     * be cut off. A file changed within that window (ctime, which touch
     * cannot set back) is read direct, so every read asks us and sees the
     * file as it is now. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec - st.st_ctim.tv_sec <= (time_t)fs->cfg->mount.attr_seconds + 1) {
        fi->direct_io = 1;
        fi->keep_cache = 0;
        return 0;
    }
    fi->keep_cache = opencache_unchanged(fs->opencache, n->rel, &st);
    return 0;
}

int real_read(const struct handle *h, char *buf, size_t size, off_t off)
{
    /* Plain pread into the reply buffer was the fastest path measured. */
    size_t done = 0;
    while (done < size) {
        ssize_t k = pread(h->fd, buf + done, size - done, off + (off_t)done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return done ? (int)done : -errno;
        if (k == 0)
            break;
        done += (size_t)k;
    }
    return (int)done;
}

/* The folder's own st_ino as the view shows it: virtual files number
 * from it. */
static uint64_t folder_ino(struct mctfs *fs, int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? ino_real(fs->base_dev, &st) : 0;
}

int real_list(struct mctfs *fs, const struct node *n, real_list_fn emit, void *ud)
{
    bool root = streq(n->rel, ".");
    const char *const *vfiles = root ? node_root_vfiles : n->session ? node_session_vfiles : NULL;
    /* The caller's right to read it (and reach it) as the disk says now. */
    struct caller who;
    int fd = access_open_beneath(fs->base_fd, n->rel, O_RDONLY | O_DIRECTORY, caller_cred(&who),
                                 R_OK, NULL);
    if (fd < 0)
        return fd;
    uint64_t dir_ino = folder_ino(fs, fd);
    DIR *d = fdopendir(fd);
    if (!d) {
        int r = -errno;
        close(fd);
        return r;
    }
    int r = 0;
    struct dirent *de;
    errno = 0;
    while (r == 0 && (de = readdir(d))) {
        if (root && streq(de->d_name, MCTFS_TRASH_NAME))
            continue;
        /* A real file under a virtual file's name is shadowed by it. */
        if (vfiles && node_name_in(vfiles, de->d_name))
            continue;
        /* d_ino is the disk's number, as stat gives it for everything not
         * mounted over: entries on another filesystem are numbered by
         * their stat when looked up (ino.h). */
        r = emit(ud, de->d_name, DTTOIF(de->d_type), de->d_ino);
    }
    if (r == 0 && errno)
        r = -errno;
    closedir(d);
    for (size_t i = 0; r == 0 && vfiles && vfiles[i]; i++)
        r = emit(ud, vfiles[i], S_IFREG, ino_virtual(dir_ino, node_vfile_kind(root, vfiles[i])));
    return r < 0 ? r : 0;
}
