/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DIR/mctfs.prom for node_exporter's textfile collector, written the way
 * its documentation asks: a temp file in the same folder, renamed over the
 * old one, so a scrape never reads half a file. The temp name does not end
 * in .prom, so the collector never reads it either.
 */
#include "metrics.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int mct_metrics_write_textfile(const char *dir, const char *text, size_t len)
{
    _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return -errno;
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "." MCT_METRICS_TEXTFILE ".XXXXXX");
    /* mkstemp wants a path: the folder's fd keeps it from moving under us. */
    _cleanup_free_ char *path = mct_path_join(dir, tmp);
    if (!path)
        return -ENOMEM;
    _cleanup_close_ int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    const char *name = strrchr(path, '/') + 1;
    /* node_exporter runs as another user: readable by all, as any
     * textfile is (nothing in it is a secret). */
    int r = fchmod(fd, 0644) < 0 ? -errno : 0;
    if (r >= 0)
        r = mct_write_all(fd, text, len);
    if (r >= 0 && fsync(fd) < 0)
        r = -errno;
    if (r >= 0 && renameat(dirfd, name, dirfd, MCT_METRICS_TEXTFILE) < 0)
        r = -errno;
    if (r < 0)
        (void)unlinkat(dirfd, name, 0);
    return r;
}
