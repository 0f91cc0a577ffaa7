/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hashing one file: large sequential reads (the kernel is told so, and
 * reads ahead), fstat before and after so a hash is never attributed to
 * a version of the file it was not computed from.
 */
#include "checksum.h"

#include "beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t's layout, for a static one */
#include <xxhash.h>

#include "util.h"

/* Large enough that per-call costs vanish on a network share, small
 * enough to stay in L2 while it is hashed. */
#define HASH_BUF_SIZE (1u << 20)

void mct_hash_hex(const struct mct_hash *h, char out[MCT_HASH_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(h->b); i++) {
        out[2 * i] = digits[h->b[i] >> 4];
        out[2 * i + 1] = digits[h->b[i] & 15];
    }
    out[MCT_HASH_HEX_LEN] = '\0';
}

int mct_hash_parse(const char *hex, struct mct_hash *h)
{
    for (size_t i = 0; i < sizeof(h->b); i++) {
        int hi = mct_unhexchar(hex[2 * i]), lo = hi < 0 ? -1 : mct_unhexchar(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        h->b[i] = (unsigned char)(hi << 4 | lo);
    }
    return mct_unhexchar(hex[MCT_HASH_HEX_LEN]) < 0 ? 0 : -EINVAL;
}

bool mct_hash_eq(const struct mct_hash *a, const struct mct_hash *b)
{
    return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

static void canonical(XXH128_hash_t v, struct mct_hash *out)
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, v);
    memcpy(out->b, c.digest, sizeof(out->b));
}

void mct_hash_buffer(const void *data, size_t len, struct mct_hash *out)
{
    canonical(XXH3_128bits(data, len), out);
}

bool mct_file_same_version(const struct mct_file *a, const struct mct_file *b)
{
    return a->size == b->size && a->ino == b->ino && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
           a->ctime.tv_nsec == b->ctime.tv_nsec && (a->mode & S_IFMT) == (b->mode & S_IFMT);
}

static void from_stat(const struct stat *s, struct mct_file *f)
{
    f->size = (uint64_t)s->st_size;
    f->mtime = s->st_mtim;
    f->ctime = s->st_ctim;
    f->dev = s->st_dev;
    f->ino = s->st_ino;
    f->mode = s->st_mode & S_IFMT;
}

static int hash_symlink(int dirfd, const char *path, const struct stat *before,
                        struct mct_hash *out, struct mct_file *st)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(dirfd, path, target, sizeof(target));
    if (n < 0)
        return -errno;
    struct stat after;
    if (fstatat(dirfd, path, &after, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    struct mct_file a = {0}, b = {0};
    from_stat(before, &a);
    from_stat(&after, &b);
    if (!mct_file_same_version(&a, &b))
        return -EAGAIN;
    mct_hash_buffer(target, (size_t)n, out);
    *st = (struct mct_file){.relpath = st->relpath};
    from_stat(before, st);
    return 0;
}

static void free_state(XXH3_state_t **s)
{
    if (*s)
        XXH3_freeState(*s);
}

/* state and buf (HASH_BUF_SIZE bytes) are the caller's: the forked share
 * child hashes with static ones, so that no allocation happens there. */
static int hash_fd(int fd, XXH3_state_t *state, unsigned char *buf, mct_bytes_fn on_bytes, void *ud,
                   struct mct_hash *out)
{
    XXH3_128bits_reset(state);
    for (;;) {
        ssize_t n = read(fd, buf, HASH_BUF_SIZE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        XXH3_128bits_update(state, buf, (size_t)n);
        if (on_bytes)
            on_bytes(ud, (uint64_t)n);
    }
    canonical(XXH3_128bits_digest(state), out);
    return 0;
}

static int hash_path(int dirfd, const char *path, bool drop_cache, XXH3_state_t *state,
                     unsigned char *buf, mct_bytes_fn on_bytes, void *ud, struct mct_hash *out,
                     struct mct_file *st)
{
    struct stat before, after;
    /* Below dirfd nothing is followed: a folder of the session (or of its
     * copy) swapped for a symlink must not lead the hash elsewhere. */
    int r = path[0] == '/' ? (fstatat(dirfd, path, &before, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0)
                           : mct_stat_beneath(dirfd, path, &before, 0);
    if (r < 0)
        return r;
    if (S_ISLNK(before.st_mode))
        return hash_symlink(dirfd, path, &before, out, st);
    if (!S_ISREG(before.st_mode))
        return -EINVAL;

    /* An absolute path is the caller's own (tests, tools), taken as is. */
    _cleanup_close_ int fd =
            path[0] == '/' ? openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)
                           : mct_openat_beneath(dirfd, path, O_RDONLY | O_NOCTTY, 0, 0);
    if (fd < 0)
        return path[0] == '/' ? -errno : fd;
    if (fstat(fd, &before) < 0)
        return -errno;
    if (drop_cache)
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    r = hash_fd(fd, state, buf, on_bytes, ud, out);
    if (r < 0)
        return r;
    if (fstat(fd, &after) < 0)
        return -errno;
    struct mct_file a = {0}, b = {0};
    from_stat(&before, &a);
    from_stat(&after, &b);
    if (!mct_file_same_version(&a, &b))
        return -EAGAIN;
    const char *rel = st->relpath;
    *st = a;
    st->relpath = (char *)rel;
    return 0;
}

int mct_hash_path(int dirfd, const char *path, bool drop_cache, mct_bytes_fn on_bytes, void *ud,
                  struct mct_hash *out, struct mct_file *st)
{
    _cleanup_(free_state) XXH3_state_t *state = XXH3_createState();
    _cleanup_free_ unsigned char *buf = malloc(HASH_BUF_SIZE);
    if (!state || !buf)
        return -ENOMEM;
    return hash_path(dirfd, path, drop_cache, state, buf, on_bytes, ud, out, st);
}

int mct_hash_path_static(int dirfd, const char *path, bool drop_cache, mct_bytes_fn on_bytes,
                         void *ud, struct mct_hash *out, struct mct_file *st)
{
    static XXH3_state_t state;
    static unsigned char buf[HASH_BUF_SIZE];
    return hash_path(dirfd, path, drop_cache, &state, buf, on_bytes, ud, out, st);
}
