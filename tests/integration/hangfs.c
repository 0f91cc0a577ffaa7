/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A FUSE filesystem for the tests that behaves like a stale network share:
 * it mounts, and then every lookup, stat or listing blocks forever. The
 * test mounts it as the destination's mount point and checks that mctfs
 * keeps answering. It is stopped with SIGKILL, which aborts the connection
 * and fails the blocked requests (a stale NFS mount gives no such mercy).
 *
 *     hangfs MOUNTPOINT -f
 */
#define FUSE_USE_VERSION 312

#include <fuse.h>
#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static int hang(void)
{
    pthread_mutex_lock(&lock);
    for (;;)
        pthread_cond_wait(&never, &lock);
    return 0;
}

static int hang_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    return hang();
}

static int hang_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                        struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    return hang();
}

static int hang_open(const char *path, struct fuse_file_info *fi)
{
    return hang();
}

static const struct fuse_operations ops = {
        .getattr = hang_getattr,
        .readdir = hang_readdir,
        .opendir = hang_open,
        .open = hang_open,
};

int main(int argc, char *argv[])
{
    return fuse_main(argc, argv, &ops, NULL);
}
