/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Files replaced whole: DIR/mctfs.prom for node_exporter's textfile
 * collector, written the way its documentation asks (a temp file in the
 * same folder, renamed over the old one, so a scrape never reads half a
 * file; the temp name does not end in .prom, so the collector never reads
 * it either), and the job state file.
 */
#include "metrics.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int mct_metrics_write_atomic(int dirfd, const char *name, const char *text, size_t len,
                             unsigned mode)
{
    static unsigned counter;
    char tmp[300];
    _cleanup_close_ int fd = -1;
    /* Unique per process and call: two writers never share a temp file. */
    for (int i = 0; fd < 0 && i < 100; i++) {
        snprintf(tmp, sizeof(tmp), ".%s.%d.%u", name, (int)getpid(),
                 __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return -errno;
    }
    if (fd < 0)
        return -EEXIST;
    /* node_exporter runs as another user: a textfile is readable by all
     * (nothing in it is a secret). */
    int r = fchmod(fd, mode) < 0 ? -errno : 0;
    if (r >= 0)
        r = mct_write_all(fd, text, len);
    if (r >= 0 && fsync(fd) < 0)
        r = -errno;
    if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
        r = -errno;
    if (r < 0)
        (void)unlinkat(dirfd, tmp, 0);
    return r;
}

int mct_metrics_write_textfile(const char *dir, const char *text, size_t len)
{
    _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return -errno;
    return mct_metrics_write_atomic(dirfd, MCT_METRICS_TEXTFILE, text, len, 0644);
}
