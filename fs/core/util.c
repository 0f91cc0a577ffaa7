/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "util.h"

#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>

bool endswith(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

int mct_unhexchar(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int buf_reserve(struct mct_buf *b, size_t extra)
{
    if (b->error)
        return b->error;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return b->error = -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int mct_buf_append(struct mct_buf *b, const char *s, size_t n)
{
    int r = buf_reserve(b, n);
    if (r < 0)
        return r;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int mct_buf_puts(struct mct_buf *b, const char *s)
{
    return mct_buf_append(b, s, strlen(s));
}

int mct_buf_vprintf(struct mct_buf *b, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0)
        return b->error = -EINVAL;
    int r = buf_reserve(b, (size_t)n);
    if (r < 0)
        return r;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int mct_buf_printf(struct mct_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = mct_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

char *mct_buf_steal(struct mct_buf *b)
{
    /* Capacity doubles while building; what is stolen is often kept (a
     * rendered status, a path per cached session), so the slack goes back. */
    if (b->data && b->cap - b->len > 64) {
        char *fit = realloc(b->data, b->len + 1);
        if (fit)
            b->data = fit;
    }
    char *s = b->data ? b->data : strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    b->error = 0;
    return s;
}

void mct_buf_free(struct mct_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->error = 0;
}

void mct_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

int mct_array_reserve(void *array, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return 0;
    void *p;
    memcpy(&p, array, sizeof(p));
    size_t c = *cap ? *cap * 2 : first;
    void *grown = realloc(p, c * size);
    if (!grown)
        return -ENOMEM;
    memcpy(array, &grown, sizeof(grown));
    *cap = c;
    return 0;
}

size_t mct_strv_length(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

bool mct_strv_contains(char *const *v, const char *s)
{
    for (; v && *v; v++)
        if (streq(*v, s))
            return true;
    return false;
}

int mct_strv_push(char ***v, char *s)
{
    if (!s)
        return -ENOMEM;
    size_t n = mct_strv_length(*v);
    char **nv = realloc(*v, (n + 2) * sizeof(char *));
    if (!nv) {
        free(s);
        return -ENOMEM;
    }
    nv[n] = s;
    nv[n + 1] = NULL;
    *v = nv;
    return 0;
}

int mct_strv_pushv(char ***v, const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return -ENOMEM;
    return mct_strv_push(v, s);
}

int mct_strv_pushf(char ***v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = mct_strv_pushv(v, fmt, ap);
    va_end(ap);
    return r;
}

int mct_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

char *mct_strdup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

char *mct_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    if (!*b)
        return strndup(a, la);
    if (la == 1 && a[0] == '/')
        return mct_strdup_printf("/%s", b);
    return mct_strdup_printf("%.*s/%s", (int)la, a, b);
}

int mct_mkdir_p(const char *path, unsigned mode)
{
    _cleanup_free_ char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

long mct_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        /* RLIM_INFINITY is refused (above fs.nr_open): keep what we have. */
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) < 0)
            return -errno;
    }
    return rl.rlim_cur > (rlim_t)LONG_MAX ? LONG_MAX : (long)rl.rlim_cur;
}

int64_t mct_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *mct_format_bytes(uint64_t bytes, char *out, size_t len)
{
    static const char units[] = "BKMGTP";
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof(units) - 1) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(out, len, "%lluB", (unsigned long long)bytes);
    else
        snprintf(out, len, v < 10.0 ? "%.1f%c" : "%.0f%c", v, units[u]);
    return out;
}

static int read_all(int fd, size_t max, char **ret)
{
    struct mct_buf b = {0};
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int r = -errno;
            mct_buf_free(&b);
            return r;
        }
        if (n == 0)
            break;
        if (b.len + (size_t)n > max) {
            mct_buf_free(&b);
            return -EFBIG;
        }
        if (mct_buf_append(&b, chunk, (size_t)n) < 0) {
            mct_buf_free(&b);
            return -ENOMEM;
        }
    }
    *ret = mct_buf_steal(&b);
    return 0;
}

int mct_read_file(const char *path, size_t max, char **ret)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return read_all(fd, max, ret);
}

int mct_read_regular_file_stat(const char *path, int oflags, size_t max, char **ret,
                               struct stat *st)
{
    /* O_NONBLOCK: opening a FIFO that no one writes to would wait for a
     * writer forever. Symlinks are followed unless oflags has O_NOFOLLOW. */
    _cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | oflags);
    if (fd < 0)
        return -errno;
    struct stat buf;
    if (!st)
        st = &buf;
    if (fstat(fd, st) < 0)
        return -errno;
    if (S_ISDIR(st->st_mode))
        return -EISDIR;
    /* A FIFO, socket or device: a read could block or never end. */
    if (!S_ISREG(st->st_mode))
        return -EBADFD;
    return read_all(fd, max, ret);
}

int mct_read_regular_file(const char *path, size_t max, char **ret)
{
    return mct_read_regular_file_stat(path, 0, max, ret, NULL);
}

const char *mct_read_strerror(int r)
{
    return r == -EBADFD ? "not a regular file" : strerror(-r);
}
