/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The network share, touched only from forked children. The parent waits
 * on a pipe with poll() and a deadline; a child that misses it is killed
 * and, if it is stuck in the kernel where SIGKILL cannot reach it yet, left
 * to a detached reaper thread so the caller never blocks on waitpid().
 *
 * The children are forked from the threaded daemon, where another thread
 * may hold the allocator's, stdio's or syslog's lock at the fork; POSIX
 * allows such a child only async-signal-safe calls. So everything a child
 * runs is plain system calls into stack or static buffers (the child is a
 * private copy): no malloc, no stdio, no log_*, no opendir or realpath.
 *
 * Test hook: when MCT_TEST_SHARE_DELAY_MS is set in the environment, every
 * child sleeps that many milliseconds before touching anything, which is
 * how the tests make a "hung" share without a real stale NFS mount.
 */
#include "share.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include "health.h"
#include "log.h"
#include "util.h"

/* ---- mount points ---- */

/* Make path absolute and drop "//", "." and ".." without touching the
 * filesystem (a stat could hang on the very mount we are asking about). */
static int normalize_path(const char *path, char *out, size_t outlen)
{
    char tmp[PATH_MAX * 2];
    if (path[0] == '/') {
        snprintf(tmp, sizeof(tmp), "%s", path);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)))
            return -errno;
        snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path);
    }
    if (outlen < 2)
        return -ENOBUFS;
    size_t len = 0;
    char *save = NULL;
    for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (streq(c, "."))
            continue;
        if (streq(c, "..")) {
            while (len > 0 && out[--len] != '/')
                ;
            continue;
        }
        size_t n = strlen(c);
        if (len + 1 + n + 1 > outlen)
            return -ENAMETOOLONG;
        out[len] = '/';
        memcpy(out + len + 1, c, n);
        len += 1 + n;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
            s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
            out[o++] = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
}

/* Call fn on every line of mountinfo (NUL-terminated, writable) until it
 * returns non-zero, which is returned; 0 when no line did, -errno. */
static int mountinfo_each(int (*fn)(char *line, void *ud), void *ud)
{
    _cleanup_free_ char *text = NULL;
    int r = mct_read_file("/proc/self/mountinfo", 64u << 20, &text);
    if (r < 0)
        return r;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        r = fn(line, ud);
        if (r != 0)
            return r;
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* Is the normalised absolute path the mount point (field 5) of a line? */
static int line_has_mount_point(char *line, void *ud)
{
    const char *f = line;
    for (int i = 0; i < 4 && f; i++) {
        f = strchr(f, ' ');
        f = f ? f + 1 : NULL;
    }
    if (!f)
        return 0;
    char mp[PATH_MAX];
    unescape_octal(f, strcspn(f, " "), mp, sizeof(mp));
    return streq(mp, (const char *)ud);
}

int mct_mountinfo_has(const char *norm)
{
    return mountinfo_each(line_has_mount_point, (void *)norm);
}

struct fstype_query {
    dev_t dev;
    char *out;
    size_t len;
};

static int line_fstype(char *line, void *ud)
{
    struct fstype_query *q = ud;
    unsigned maj, min;
    char *sep = strstr(line, " - ");
    if (!sep || sscanf(line, "%*s %*s %u:%u", &maj, &min) != 2 || makedev(maj, min) != q->dev)
        return 0;
    snprintf(q->out, q->len, "%.*s", (int)strcspn(sep + 3, " "), sep + 3);
    return 1;
}

int mct_mountinfo_fstype(dev_t dev, char *out, size_t len)
{
    struct fstype_query q = {dev, out, len};
    return mountinfo_each(line_fstype, &q);
}

struct fstype_at_query {
    const char *norm;
    char *out;
    size_t len;
    bool found;
};

static int line_fstype_at(char *line, void *ud)
{
    struct fstype_at_query *q = ud;
    char *sep = strstr(line, " - ");
    if (sep && line_has_mount_point(line, (void *)q->norm)) {
        /* No early stop: a later line is a mount on top of this one. */
        snprintf(q->out, q->len, "%.*s", (int)strcspn(sep + 3, " "), sep + 3);
        q->found = true;
    }
    return 0;
}

int mct_mountinfo_fstype_at(const char *norm, char *out, size_t len)
{
    struct fstype_at_query q = {norm, out, len, false};
    int r = mountinfo_each(line_fstype_at, &q);
    return r < 0 ? r : q.found;
}

int mct_mount_point_listed(const char *path)
{
    char norm[PATH_MAX];
    int r = normalize_path(path, norm, sizeof(norm));
    return r < 0 ? r : mct_mountinfo_has(norm);
}

int mct_is_mount_point(const char *path)
{
    if (strempty(path))
        return -EINVAL;
    int r = mct_mount_point_listed(path);
    if (r != 0)
        return r;
    /* Only now resolve symlinks: a path listed verbatim (the usual case,
     * and the one a hung share is in) never gets here. */
    char real[PATH_MAX];
    if (!realpath(path, real))
        return 0;
    return mct_mountinfo_has(real);
}

/* ---- children with deadlines ---- */

struct child {
    pid_t pid;
    int fd; /* read end of the child's pipe */
};

static unsigned test_delay_ms(void)
{
    const char *e = getenv("MCT_TEST_SHARE_DELAY_MS");
    return e ? (unsigned)strtoul(e, NULL, 10) : 0;
}

int mct_share_timeout_ms(const struct mct_config *cfg)
{
    return (int)cfg->share_timeout_s * 1000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Read exactly n bytes. -ETIMEDOUT after idle_ms without a byte, -EIO on
 * a premature end (the child died). */
static int read_full(int fd, void *buf, size_t n, int idle_ms)
{
    char *p = buf;
    int64_t deadline = mct_now_ms() + idle_ms;
    while (n) {
        int64_t left = deadline - mct_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r <= 0)
            continue;
        ssize_t k = read(fd, p, n);
        if (k < 0 && errno != EINTR && errno != EAGAIN)
            return -errno;
        if (k == 0)
            return -EIO;
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            deadline = mct_now_ms() + idle_ms;
        }
    }
    return 0;
}

/* In the child: keep only the pipe (as fd 3), so a child stuck on the
 * share does not also pin the FUSE device or a database socket. stdio
 * becomes /dev/null: a child left in uninterruptible sleep on a hung share
 * must not hold the caller's stdout open, or `out=$(mctctl status P D)`
 * would wait for it long after mctctl itself gave up and exited. */
static int child_isolate(int wfd)
{
    if (wfd != 3) {
        if (dup2(wfd, 3) < 0)
            return wfd;
        wfd = 3;
    }
    close_range(4, ~0U, 0);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        for (int fd = 0; fd < 3; fd++)
            (void)dup2(null, fd);
        if (null > 3)
            close(null);
    }
    return wfd;
}

typedef void (*child_fn)(int wfd, void *ud);

static int child_start(struct child *c, child_fn fn, void *ud)
{
    unsigned delay = test_delay_ms();
    /* A socket rather than a pipe: a child may hand us a descriptor of
     * what it opened on the share (SCM_RIGHTS), which share_copy.c uses. */
    int p[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int r = -errno;
        close(p[0]);
        close(p[1]);
        return r;
    }
    if (pid == 0) {
        close(p[0]);
        int wfd = child_isolate(p[1]);
        if (delay)
            sleep_ms(delay);
        fn(wfd, ud);
        _exit(0);
    }
    close(p[1]);
    c->pid = pid;
    c->fd = p[0];
    return 0;
}

static void *reaper(void *arg)
{
    pid_t pid = (pid_t)(intptr_t)arg;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return NULL;
}

/* Kill (harmless if it already exited) and reap without ever blocking.
 * true when the child did not die: stuck in the kernel. */
static bool child_finish(struct child *c)
{
    closep(&c->fd);
    c->fd = -1;
    kill(c->pid, SIGKILL);
    /* A child that answered is exiting anyway and is gone within
     * microseconds: look again soon, then back off (100 ms in all). A fixed
     * 5 ms nap here cost every uncached status two naps (probe, scan). */
    for (unsigned us = 50, waited = 0; waited < 100000;
         waited += us, us = us < 10000 ? us * 2 : us) {
        pid_t w = waitpid(c->pid, NULL, WNOHANG);
        if (w == c->pid || (w < 0 && errno != EINTR))
            return false;
        struct timespec ts = {.tv_nsec = (long)us * 1000L};
        nanosleep(&ts, NULL);
    }
    /* Stuck in uninterruptible sleep: it dies when the kernel lets go. */
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, reaper, (void *)(intptr_t)c->pid) != 0)
        log_warning("Cannot start a reaper for share child %d; it stays a zombie", (int)c->pid);
    pthread_attr_destroy(&attr);
    return true;
}

/* ---- the same children for other readers of the share ---- */

int mct_share_child_start(struct mct_share_child *c, mct_share_child_fn fn, void *ud)
{
    char why[512];
    c->pid = 0;
    c->fd = -1;
    /* A child stuck on this share already: another would only join it. */
    if (c->dest && mct_health_child_allowed(c->dest, why, sizeof(why)) < 0)
        return -ETIMEDOUT;
    struct child ch = {.fd = -1};
    int r = child_start(&ch, fn, ud);
    if (r < 0)
        return r;
    c->pid = ch.pid;
    c->fd = ch.fd;
    return 0;
}

int mct_share_child_read(struct mct_share_child *c, void *buf, size_t n, int idle_ms)
{
    return read_full(c->fd, buf, n, idle_ms);
}

void mct_share_child_finish(struct mct_share_child *c)
{
    if (c->pid <= 0)
        return;
    struct child ch = {.pid = c->pid, .fd = c->fd};
    if (child_finish(&ch) && c->dest)
        mct_health_child_stuck(c->dest, c->pid);
    c->pid = 0;
    c->fd = -1;
}

int mct_share_child_write(int wfd, const void *buf, size_t n)
{
    return mct_write_all(wfd, buf, n);
}

int mct_share_child_send_fd(int wfd, const void *buf, size_t n, int fd)
{
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } ctl = {0};
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        msg.msg_control = ctl.b;
        msg.msg_controllen = sizeof(ctl.b);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t k;
    do
        k = sendmsg(wfd, &msg, MSG_NOSIGNAL);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return -errno;
    /* The descriptor went with the first byte; the rest is plain data. */
    return (size_t)k < n ? mct_write_all(wfd, (const char *)buf + k, n - (size_t)k) : 0;
}

int mct_share_child_read_fd(struct mct_share_child *c, void *buf, size_t n, int idle_ms,
                            int *fd_out)
{
    *fd_out = -1;
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int r;
    do
        r = poll(&pfd, 1, idle_ms);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if (r == 0)
        return -ETIMEDOUT;
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = n};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.b,
                         .msg_controllen = sizeof(ctl.b)};
    ssize_t k;
    do
        k = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return -errno;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
            memcpy(fd_out, CMSG_DATA(h), sizeof(int));
    if (k == 0) {
        closep(fd_out);
        *fd_out = -1;
        return -EIO;
    }
    r = (size_t)k < n ? read_full(c->fd, (char *)buf + k, n - (size_t)k, idle_ms) : 0;
    if (r < 0) {
        closep(fd_out);
        *fd_out = -1;
    }
    return r;
}
