/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Timing loops for tools/bench/run that a shell cannot time precisely
 * (process start alone costs about a millisecond). Prints microseconds.
 *
 *   bench-helper read FILE [--drop]   read FILE to EOF in 1 MiB requests;
 *                                     --drop first evicts FILE's own page
 *                                     cache (through a mount: the mount's
 *                                     pages, not the backing file's)
 *   bench-helper loop N FILE          N x open + read to EOF + close
 *   bench-helper dbping SOCKET USER PASSWORD N
 *                                     median of N x connect + SELECT 1 + close
 *                                     (built only with -DWITH_MYSQL)
 *
 * Built by the script with cc; not part of the product.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef WITH_MYSQL
#include <mysql.h>
#endif

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int die(const char *what, const char *path)
{
    fprintf(stderr, "bench-helper: %s %s: %s\n", what, path, strerror(errno));
    return 1;
}

/* Reads fd to EOF; the byte count, or -1. */
static int64_t drain(int fd, char *buf, size_t size)
{
    int64_t total = 0;
    for (;;) {
        ssize_t k = read(fd, buf, size);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            return total;
        total += k;
    }
}

static int cmd_read(const char *path, int drop)
{
    static char buf[1 << 20];

    if (drop) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return die("open", path);
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    int64_t t0 = now_ns();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return die("open", path);
    int64_t n = drain(fd, buf, sizeof(buf));
    close(fd);
    int64_t t1 = now_ns();
    if (n < 0)
        return die("read", path);
    printf("%lld %lld\n", (long long)((t1 - t0) / 1000), (long long)n);
    return 0;
}

static int cmd_loop(long n, const char *path)
{
    static char buf[64 << 10];

    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return die("open", path);
        if (drain(fd, buf, sizeof(buf)) <= 0)
            return die("read", path);
        close(fd);
    }
    printf("%lld\n", (long long)((now_ns() - t0) / 1000));
    return 0;
}

#ifdef WITH_MYSQL
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmd_dbping(const char *sock, const char *user, const char *pass, int n)
{
    int64_t *t = calloc((size_t)n, sizeof(*t));
    if (!t)
        return 1;
    for (int i = 0; i < n; i++) {
        int64_t t0 = now_ns();
        MYSQL *m = mysql_init(NULL);
        if (!m || !mysql_real_connect(m, "localhost", user, pass, NULL, 0, sock, 0) ||
            mysql_query(m, "SELECT 1") != 0) {
            fprintf(stderr, "bench-helper: %s\n", m ? mysql_error(m) : "out of memory");
            return 1;
        }
        mysql_free_result(mysql_store_result(m));
        mysql_close(m);
        t[i] = now_ns() - t0;
    }
    qsort(t, (size_t)n, sizeof(*t), cmp_i64);
    printf("%lld\n", (long long)(t[n / 2] / 1000));
    free(t);
    return 0;
}
#endif

int main(int argc, char *argv[])
{
    if (argc >= 3 && strcmp(argv[1], "read") == 0)
        return cmd_read(argv[2], argc >= 4 && strcmp(argv[3], "--drop") == 0);
    if (argc == 4 && strcmp(argv[1], "loop") == 0)
        return cmd_loop(atol(argv[2]), argv[3]);
#ifdef WITH_MYSQL
    if (argc == 6 && strcmp(argv[1], "dbping") == 0)
        return cmd_dbping(argv[2], argv[3], argv[4], atoi(argv[5]));
#endif
    fprintf(stderr, "usage: bench-helper read FILE [--drop] | loop N FILE"
                    " | dbping SOCKET USER PASSWORD N\n");
    return 2;
}
