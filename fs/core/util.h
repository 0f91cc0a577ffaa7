/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small helpers every file of the engine uses: cleanup attributes in the
 * style of systemd and LXCFS, a growable string buffer and string vectors.
 * Functions return 0 or a negative errno unless they say otherwise.
 */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_       __attribute__((unused))
#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
    free(*(void **)p);
}

static inline void closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

static inline void fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

/* An answer that may not be known (a database that did not answer):
 * UNKNOWN is never read as YES. */
enum mct_tristate {
    MCT_UNKNOWN = -1,
    MCT_NO = 0,
    MCT_YES = 1,
};

#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand a pointer (or fd) out of a cleanup scope. */
#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _p_ = (p);                                                                   \
        (p) = NULL;                                                                                \
        _p_;                                                                                       \
    })
#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int _fd_ = (fd);                                                                           \
        (fd) = -1;                                                                                 \
        _fd_;                                                                                      \
    })

static inline bool streq(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

static inline bool strempty(const char *s)
{
    return !s || !*s;
}

static inline bool timespec_eq(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* An environment variable, NULL when unset or empty: `DJ_HOST= mctctl ...`
 * clears nothing. */
static inline const char *mct_getenv(const char *name)
{
    const char *v = getenv(name);
    return strempty(v) ? NULL : v;
}

static inline bool startswith(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool endswith(const char *s, const char *suffix);

/* The value of a hex digit (either case), or -1. */
int mct_unhexchar(char c);

/* Growable, always NUL-terminated buffer (data may be NULL while len == 0).
 * An allocation failure is sticky: later appends do nothing and return it,
 * so a renderer may append freely and check only its last call. */
struct mct_buf {
    char *data;
    size_t len;
    size_t cap;
    int error;
};

int mct_buf_append(struct mct_buf *b, const char *s, size_t n);
int mct_buf_puts(struct mct_buf *b, const char *s);
int mct_buf_printf(struct mct_buf *b, const char *fmt, ...) _printf_(2, 3);
int mct_buf_vprintf(struct mct_buf *b, const char *fmt, va_list ap) _printf_(2, 0);
/* Returns the string (never NULL: "" when empty) and resets the buffer. */
char *mct_buf_steal(struct mct_buf *b);
void mct_buf_free(struct mct_buf *b);
#define _cleanup_buf_ _cleanup_(mct_buf_free)

/* Room for element n of the array *array (elements of size bytes, *cap
 * of them allocated): when it is full, its allocation doubles (first
 * elements the first time). 0, or -ENOMEM with the array as it was. */
int mct_array_reserve(void *array, size_t *cap, size_t n, size_t size, size_t first);
#define MCT_RESERVE(arr, cap, n, first)                                                            \
    mct_array_reserve(&(arr), &(cap), (n), sizeof(*(arr)), (first))

/* A string vector: NULL-terminated, each element malloc'd. */
void mct_strv_free(char **v);
size_t mct_strv_length(char *const *v);
bool mct_strv_contains(char *const *v, const char *s);
/* Takes ownership of s (also on failure). */
int mct_strv_push(char ***v, char *s);
int mct_strv_pushf(char ***v, const char *fmt, ...) _printf_(2, 3);
int mct_strv_pushv(char ***v, const char *fmt, va_list ap) _printf_(2, 0);
static inline void mct_strv_freep(char ***v)
{
    mct_strv_free(*v);
}
#define _cleanup_strv_ _cleanup_(mct_strv_freep)

/* malloc'd printf; NULL on ENOMEM. */
char *mct_strdup_printf(const char *fmt, ...) _printf_(1, 2);
/* "a" + "/" + "b" without doubling slashes; NULL on ENOMEM. */
char *mct_path_join(const char *a, const char *b);
/* mkdir -p with mode; -errno. */
int mct_mkdir_p(const char *path, unsigned mode);

/* Monotonic clock in milliseconds, wall clock in seconds. */
int64_t mct_now_ms(void);
/* Human-readable size ("1.5G", "200K", "12B") into out. */
const char *mct_format_bytes(uint64_t bytes, char *out, size_t len);

/* Raise this process's RLIMIT_NOFILE soft limit to its hard limit: a
 * daemon that holds an fd per open file must not stop at the 1,024 that
 * shells and systemd start programs with (nothing here uses select(2)).
 * Returns the soft limit now in force, or -errno. */
long mct_raise_nofile(void);

/* write(2) all of buf, retrying on EINTR and short writes; -errno. */
int mct_write_all(int fd, const void *buf, size_t n);

/* Read a whole small file (at most max bytes) into a NUL-terminated string. */
int mct_read_file(const char *path, size_t max, char **ret);
/* The same for a file named by a user (the config, a password file): it
 * must be a regular file (symlinks followed), else -EISDIR or -EBADFD,
 * never a read that waits for a FIFO's writer or a device. */
int mct_read_regular_file(const char *path, size_t max, char **ret);
/* The same, with extra open flags (O_NOFOLLOW) and the fstat of the very
 * file that was read in *st (may be NULL): what is checked is what was read. */
struct stat;
int mct_read_regular_file_stat(const char *path, int oflags, size_t max, char **ret,
                               struct stat *st);
/* strerror() for mct_read_regular_file's errors ("not a regular file"). */
const char *mct_read_strerror(int r);
