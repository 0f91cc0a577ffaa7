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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

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

/* Is the normalised absolute path the mount point (field 5) of a line? */
static int mountinfo_has(const char *norm)
{
    _cleanup_free_ char *text = NULL;
    int r = mct_read_file("/proc/self/mountinfo", 64u << 20, &text);
    if (r < 0)
        return r;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        const char *f = line;
        for (int i = 0; i < 4 && f; i++) {
            f = strchr(f, ' ');
            f = f ? f + 1 : NULL;
        }
        if (f && (!nl || f < nl)) {
            size_t n = strcspn(f, " \n");
            char mp[PATH_MAX];
            unescape_octal(f, n, mp, sizeof(mp));
            if (streq(mp, norm))
                return 1;
        }
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

static int mount_point_lexical(const char *path)
{
    char norm[PATH_MAX];
    int r = normalize_path(path, norm, sizeof(norm));
    return r < 0 ? r : mountinfo_has(norm);
}

int mct_is_mount_point(const char *path)
{
    if (strempty(path))
        return -EINVAL;
    int r = mount_point_lexical(path);
    if (r != 0)
        return r;
    /* Only now resolve symlinks: a path listed verbatim (the usual case,
     * and the one a hung share is in) never gets here. */
    char real[PATH_MAX];
    if (!realpath(path, real))
        return 0;
    return mountinfo_has(real);
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
    return (int)(cfg->share_timeout_s ? cfg->share_timeout_s : 5) * 1000;
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
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
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

/* Kill (harmless if it already exited) and reap without ever blocking. */
static void child_finish(struct child *c)
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
            return;
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
}

/* ---- probe ---- */

struct probe_args {
    const char *mount_point;
    const char *base_path;
    const char *source_base;
    bool resolve; /* resolve mount_point for the parent's mountinfo check */
};

struct probe_msg {
    int mount_err;
    int base_err;
    int resolved_ok;
    int inside_source; /* base_path and the source overlap once resolved */
    char resolved[PATH_MAX];
    char base_real[PATH_MAX];
};

static bool path_within(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' || streq(dir, "/"));
}

/* getdents64 needs 8-byte alignment; one call is all the probe makes. */
union dents_buf {
    struct dirent64 de;
    char b[1024];
};

static int base_readable(const char *base)
{
    struct stat st;
    if (stat(base, &st) < 0)
        return errno;
    if (!S_ISDIR(st.st_mode))
        return ENOTDIR;
    _cleanup_close_ int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    /* A readdir makes a network filesystem talk to its server. ENOENT is
     * a deleted folder's end, as readdir() has it. */
    union dents_buf buf;
    return getdents64(fd, buf.b, sizeof(buf.b)) >= 0 || errno == ENOENT ? 0 : errno;
}

/* realpath() without its malloc and lock: the kernel's name for what path
 * resolves to (symlinks followed), which is the path as mountinfo lists
 * it, relative to our root and unescaped. false when it cannot be had. */
static bool resolve_path(const char *path, char out[PATH_MAX])
{
    _cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return false;
    char link[32] = "/proc/self/fd/", digits[12];
    size_t nd = 0, len = strlen(link);
    for (unsigned v = (unsigned)fd; nd == 0 || v; v /= 10)
        digits[nd++] = (char)('0' + v % 10);
    while (nd)
        link[len++] = digits[--nd];
    link[len] = '\0';
    ssize_t n = readlink(link, out, PATH_MAX);
    /* A relative answer ("pipe:[..]") or one cut short is no path. */
    if (n <= 0 || n >= PATH_MAX || out[0] != '/')
        return false;
    out[n] = '\0';
    return true;
}

static void probe_child(int wfd, void *ud)
{
    const struct probe_args *a = ud;
    struct probe_msg m = {0};
    struct stat st;
    if (!strempty(a->mount_point) && stat(a->mount_point, &st) < 0)
        m.mount_err = errno;
    if (a->resolve && resolve_path(a->mount_point, m.resolved))
        m.resolved_ok = 1;
    m.base_err = base_readable(a->base_path);
    /* The config check compares the paths as written; through a symlink
     * (or a bind mount of a parent) a "share" may still be the source. */
    char src_real[PATH_MAX];
    if (!m.base_err && !strempty(a->source_base) && resolve_path(a->base_path, m.base_real) &&
        resolve_path(a->source_base, src_real))
        m.inside_source = path_within(m.base_real, src_real) || path_within(src_real, m.base_real);
    mct_write_all(wfd, &m, sizeof(m));
}

static int probe_explain(const struct mct_destination *dest, const struct probe_msg *m, char *why,
                         size_t whylen)
{
    if (dest->verify_mount && m->mount_err) {
        snprintf(why, whylen, "destination '%s': cannot access %s: %s", dest->name,
                 dest->mount_point, strerror(m->mount_err));
        return -m->mount_err;
    }
    if (m->base_err == ENOENT) {
        snprintf(why, whylen, "destination '%s': %s does not exist", dest->name, dest->base_path);
        return -ENOENT;
    }
    if (m->base_err) {
        snprintf(why, whylen, "destination '%s': cannot read %s: %s", dest->name, dest->base_path,
                 strerror(m->base_err));
        return -m->base_err;
    }
    if (m->inside_source) {
        snprintf(why, whylen,
                 "destination '%s': %s is %s, which overlaps the source: a copy inside the "
                 "source is no backup",
                 dest->name, dest->base_path, m->base_real);
        return -EINVAL;
    }
    snprintf(why, whylen, "destination '%s': %s is reachable", dest->name, dest->base_path);
    return 0;
}

int mct_share_probe(const struct mct_config *cfg, const struct mct_destination *dest, char *why,
                    size_t whylen)
{
    char dummy[1];
    if (!why || !whylen) {
        why = dummy;
        whylen = sizeof(dummy);
    }
    if (strempty(dest->base_path) || (dest->verify_mount && strempty(dest->mount_point))) {
        snprintf(why, whylen, "destination '%s': no base_path or mount_point configured",
                 dest->name);
        return -EINVAL;
    }
    bool listed = false;
    if (dest->verify_mount) {
        int r = mount_point_lexical(dest->mount_point);
        if (r < 0) {
            snprintf(why, whylen, "cannot read /proc/self/mountinfo: %s", strerror(-r));
            return r;
        }
        listed = r > 0;
    }

    struct probe_args a = {dest->mount_point, dest->base_path, cfg->source_base_path,
                           dest->verify_mount && !listed};
    struct child c = {.fd = -1};
    int r = child_start(&c, probe_child, &a);
    if (r < 0) {
        snprintf(why, whylen, "destination '%s': cannot start the share probe: %s", dest->name,
                 strerror(-r));
        return r;
    }
    struct probe_msg *m = calloc(1, sizeof(*m));
    r = m ? read_full(c.fd, m, sizeof(*m), mct_share_timeout_ms(cfg)) : -ENOMEM;
    child_finish(&c);

    if (r == 0 && a.resolve && !(m->resolved_ok && mountinfo_has(m->resolved) > 0))
        r = -ENOTCONN;
    if (r == 0)
        r = probe_explain(dest, m, why, whylen);
    else if (r == -ENOTCONN)
        snprintf(why, whylen, "destination '%s': %s is not a mount point (share not mounted?)",
                 dest->name, dest->mount_point);
    else if (r == -ETIMEDOUT)
        snprintf(why, whylen,
                 "destination '%s': %s did not answer within %d s (stale or hung mount)",
                 dest->name, dest->verify_mount ? dest->mount_point : dest->base_path,
                 mct_share_timeout_ms(cfg) / 1000);
    else if (r < 0)
        snprintf(why, whylen, "destination '%s': share probe failed: %s", dest->name, strerror(-r));
    free(m);
    return r;
}

/* ---- the same children for other readers of the share ---- */

int mct_share_child_start(struct mct_share_child *c, mct_share_child_fn fn, void *ud)
{
    struct child ch = {.fd = -1};
    int r = child_start(&ch, fn, ud);
    if (r < 0)
        return r;
    *c = (struct mct_share_child){.pid = ch.pid, .fd = ch.fd};
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
    child_finish(&ch);
    c->pid = 0;
    c->fd = -1;
}

int mct_share_child_write(int wfd, const void *buf, size_t n)
{
    return mct_write_all(wfd, buf, n);
}
