/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session lock: flock() on the session's source folder. flock belongs
 * to the open file description, not the process, so two opens in the same
 * process exclude each other too: the mount relies on that when two
 * .control writes for one session arrive on different FUSE threads.
 */
#include <fcntl.h>
#include <sys/file.h>

#include "log.h"
#include "operations.h"
#include "util.h"

int mct_session_lock(const struct mct_config *cfg, const struct mct_session_ref *ref, int *fd_out)
{
    _cleanup_free_ char *path = NULL;
    _cleanup_close_ int fd = -1;
    int r;

    *fd_out = -1;
    r = mct_session_source_path(cfg, ref, &path);
    if (r < 0)
        return r;
    /* O_NOFOLLOW: a session folder replaced by a symlink is not the session. */
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        r = -errno;
        log_debug("cannot open %s to lock it: %s", path, strerror(-r));
        return r;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        r = errno == EWOULDBLOCK ? -EBUSY : -errno;
        log_debug("cannot lock %s: %s", path, strerror(-r));
        return r;
    }
    *fd_out = TAKE_FD(fd);
    return 0;
}
