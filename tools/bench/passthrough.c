/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE floor for tools/bench/run: the smallest read-only libfuse
 * high-level passthrough, mounted over the same folder as mctfs with the
 * same cache settings. Whatever it cannot beat in the same run is a limit
 * of FUSE (libfuse 3.14's high-level API, this kernel, this VM), not of
 * mctfs. Not installed, not part of the product.
 *
 *   passthrough SOURCE MOUNTPOINT [fuse options]
 */
#define FUSE_USE_VERSION 314
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int base_fd = -1;

/* "/a/b" -> "a/b", "/" -> "." for the *at() calls on base_fd. */
static const char *rel(const char *path)
{
    return path[1] ? path + 1 : ".";
}

static int pt_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    return fstatat(base_fd, rel(path), st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int pt_readlink(const char *path, char *buf, size_t size)
{
    ssize_t k = readlinkat(base_fd, rel(path), buf, size - 1);
    if (k < 0)
        return -errno;
    buf[k] = '\0';
    return 0;
}

static int pt_open(const char *path, struct fuse_file_info *fi)
{
    int fd = openat(base_fd, rel(path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    fi->fh = (uint64_t)fd;
    fi->keep_cache = 1; /* what mctfs sets on unchanged files */
    return 0;
}

static int pt_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    ssize_t k = pread((int)fi->fh, buf, size, off);
    return k < 0 ? -errno : (int)k;
}

static int pt_release(const char *path, struct fuse_file_info *fi)
{
    close((int)fi->fh);
    return 0;
}

static int pt_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    int fd = openat(base_fd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st = {.st_ino = de->d_ino, .st_mode = DTTOIF(de->d_type)};
        if (fill(buf, de->d_name, &st, 0, 0))
            break;
    }
    closedir(d);
    return 0;
}

static void *pt_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    /* As mctfs: readdirplus off, the kernel caches names and attributes
     * for whatever -o attr_timeout/entry_timeout the bench gives. */
    conn->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
    return NULL;
}

static const struct fuse_operations pt_ops = {
        .init = pt_init,
        .getattr = pt_getattr,
        .readlink = pt_readlink,
        .open = pt_open,
        .read = pt_read,
        .release = pt_release,
        .readdir = pt_readdir,
};

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: passthrough SOURCE MOUNTPOINT [fuse options]\n");
        return 2;
    }
    base_fd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (base_fd < 0) {
        perror(argv[1]);
        return 1;
    }
    argv[1] = argv[0]; /* fuse_main sees: prog MOUNTPOINT [options] */
    return fuse_main(argc - 1, argv + 1, &pt_ops, NULL);
}
