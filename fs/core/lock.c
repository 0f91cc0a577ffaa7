/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session lock: flock() on the session's source folder. flock belongs
 * to the open file description, not the process, so two opens in the same
 * process exclude each other too: the mount relies on that when two
 * .control writes for one session arrive on different FUSE threads.
 */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "beneath.h"
#include "log.h"
#include "operations.h"
#include "util.h"

int mct_session_open_dir(const struct mct_config *cfg, const struct mct_session_ref *ref,
                         int *fd_out)
{
    _cleanup_free_ char *rel = NULL;
    _cleanup_close_ int fd = -1;
    int r;

    *fd_out = -1;
    if (strempty(cfg->source_base_path))
        return -EINVAL;
    r = mct_template_expand(cfg->source_path_structure, ref, &rel);
    if (r < 0)
        return r;
    /* The base may be a symlink (/data -> /srv/data); below it, every
     * component must be a real folder, checked at this very open. */
    fd = open(cfg->source_base_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int sfd = mct_opendir_beneath(fd, rel, 0);
    if (sfd < 0)
        return sfd;
    close(fd);
    fd = sfd;
    *fd_out = TAKE_FD(fd);
    return 0;
}

int mct_session_lock(const struct mct_config *cfg, const struct mct_session_ref *ref, int *fd_out)
{
    _cleanup_close_ int fd = -1;
    int r;

    *fd_out = -1;
    /* No symlink anywhere below the source base: a session folder replaced
     * by a symlink, or reached through a symlinked participant folder, is
     * not a session (-ELOOP). */
    r = mct_session_open_dir(cfg, ref, &fd);
    if (r < 0) {
        log_debug("cannot open %s/%s to lock it: %s", ref->participant_id, ref->session_date,
                  strerror(-r));
        return r;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        r = errno == EWOULDBLOCK ? -EBUSY : -errno;
        log_debug("cannot lock %s/%s: %s", ref->participant_id, ref->session_date, strerror(-r));
        return r;
    }
    *fd_out = TAKE_FD(fd);
    return 0;
}
