/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rsync runner: rsync gets the argument vector of rsync_argv.c,
 * never a shell line. Its stdout carries --info=progress2 lines separated
 * by '\r'; its stderr is kept so a failure can be told in rsync's own
 * words.
 */
#include "rsync.h"

#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "log.h"
#include "util.h"

#define TERM_GRACE_MS 3000
#define KILL_GRACE_MS 5000
#define SEGMENT_MAX   1024
#define STDERR_MAX    8192

/* ---- progress --------------------------------------------------------- */

int mct_rsync_parse_progress(const char *line)
{
    const char *p = line + strspn(line, " \t");
    char *end;

    /* The transferred size: "1,234,567" or, with -h, "3.00M". */
    if (!isdigit((unsigned char)*p))
        return -1;
    p += strspn(p, "0123456789,.");
    size_t unit = strspn(p, "KMGTPkmgtpB");
    if (unit > 2)
        return -1;
    p += unit;
    if (*p != ' ' && *p != '\t')
        return -1;
    p += strspn(p, " \t");

    if (!isdigit((unsigned char)*p))
        return -1;
    errno = 0;
    long pct = strtol(p, &end, 10);
    if (errno || *end != '%' || pct < 0 || pct > 100)
        return -1;
    p = end + 1;
    /* A rate follows ("12.34MB/s"); without it this is a file name. */
    if ((*p != ' ' && *p != '\t') || !strstr(p, "/s"))
        return -1;
    return (int)pct;
}

struct rsync_io {
    mct_progress_fn progress;
    void *ud;
    char ***listed;     /* a dry run's names, when asked for */
    struct mct_buf seg; /* the stdout segment being collected */
    bool seg_overflow;
    struct mct_buf err;
    bool err_truncated;
    int last_pct;
};

static void io_segment_done(struct rsync_io *io)
{
    if (io->seg.len > 0 && !io->seg_overflow) {
        int pct = mct_rsync_parse_progress(io->seg.data);
        if (pct >= 0) {
            io->last_pct = pct;
            if (io->progress)
                io->progress(io->ud, "syncing", pct, io->seg.data + strspn(io->seg.data, " "));
        } else if (io->listed && startswith(io->seg.data, MCT_RSYNC_LIST_PREFIX)) {
            (void)mct_strv_push(io->listed, strdup(io->seg.data + strlen(MCT_RSYNC_LIST_PREFIX)));
        } else {
            log_debug("rsync: %s", io->seg.data);
        }
    }
    io->seg.len = 0;
    if (io->seg.data)
        io->seg.data[0] = '\0';
    io->seg_overflow = false;
}

static void io_feed_stdout(struct rsync_io *io, const char *data, size_t n)
{
    while (n > 0) {
        size_t k = 0;
        while (k < n && data[k] != '\r' && data[k] != '\n')
            k++;
        if (io->seg.len + k > SEGMENT_MAX)
            io->seg_overflow = true; /* a long file name: never a progress line */
        else if (mct_buf_append(&io->seg, data, k) < 0)
            io->seg_overflow = true;
        if (k == n)
            return;
        io_segment_done(io);
        data += k + 1;
        n -= k + 1;
    }
}

static void io_feed_stderr(struct rsync_io *io, const char *data, size_t n)
{
    /* rsync's first complaint names the cause; what follows is the echo. */
    if (io->err.len + n > STDERR_MAX) {
        n = io->err.len < STDERR_MAX ? STDERR_MAX - io->err.len : 0;
        io->err_truncated = true;
    }
    (void)mct_buf_append(&io->err, data, n);
}

static void io_free(struct rsync_io *io)
{
    mct_buf_free(&io->seg);
    mct_buf_free(&io->err);
}

/* ---- spawning and waiting --------------------------------------------- */

/* Signals rsync gets with their default action whatever we set: libfuse
 * ignores SIGPIPE and catches SIGTERM, SIGINT and SIGHUP. */
static const int default_signals[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD};

/* The folders rsync copies from and to, when we opened and checked them:
 * it gets them as fds 4 and 5 and their names as /proc/self/fd/4 and 5. */
struct inherit {
    int src_fd, dst_fd;
};

#define SRC_FD_IN_RSYNC 4
#define DST_FD_IN_RSYNC 5

/* stdin /dev/null, stdout and stderr the pipes, the exec pipe
 * (close-on-exec) at 3, the folders at 4 and 5, then *efd = 3, and
 * nothing else: rsync must inherit no lock, socket or FUSE fd of ours. */
static int child_fds(int out_w, int err_w, int *efd, struct inherit in)
{
    /* Each above every target first, so no dup2 below overwrites the
     * source of another (a parent started with a standard stream closed). */
    int e = *efd;
    int *fds[] = {&out_w, &err_w, &e, &in.src_fd, &in.dst_fd};
    for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
        if (*fds[i] >= 0 && (*fds[i] = fcntl(*fds[i], F_DUPFD_CLOEXEC, 10)) < 0)
            return -errno;
    /* Not O_CLOEXEC: opened as fd 0, the dup2 is a no-op and must not
     * leave it close-on-exec. */
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0 ||
        dup2(err_w, STDERR_FILENO) < 0 || dup2(e, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    if (in.src_fd >= 0 && dup2(in.src_fd, SRC_FD_IN_RSYNC) < 0)
        return -errno;
    if (in.dst_fd >= 0 && dup2(in.dst_fd, DST_FD_IN_RSYNC) < 0)
        return -errno;
    if (close_range(DST_FD_IN_RSYNC + 1, ~0U, 0) < 0)
        return -errno;
    *efd = 3;
    return 0;
}

/*
 * The child between fork and exec, a copy of a multithreaded process: only
 * async-signal-safe calls (no malloc, stdio or log). It starts with every
 * signal blocked. Why the exec did not happen goes to efd as an errno.
 */
static _Noreturn void exec_child(char **argv, pid_t parent, int out_w, int err_w, int efd,
                                 struct inherit in)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;

    for (size_t i = 0; i < ARRAY_SIZE(default_signals); i++)
        (void)sigaction(default_signals[i], &dfl, NULL);
    /* Its own process group, so the watchdog can stop rsync's children too. */
    (void)setpgid(0, 0);
    /* Should we die while it runs (SIGKILL, OOM killer), rsync is stopped,
     * not left writing into the copy with no session lock held. The signal
     * comes when the thread that forked exits, and that thread waits for
     * rsync in wait_rsync(). A parent that died before prctl never sends
     * it: hence getppid(), after it. A SIGTERM that comes meanwhile stays
     * pending and, unblocked below with its default action, ends us. */
    int r = prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 ? -errno : 0;
    if (r == 0 && getppid() != parent)
        _exit(127);
    if (r == 0)
        r = child_fds(out_w, err_w, &efd, in);
    if (r == 0) {
        sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[0], argv);
        r = -errno;
    }
    int e = -r;
    (void)mct_write_all(efd, &e, sizeof(e));
    _exit(127);
}

static int spawn_rsync(char **argv, struct inherit in, pid_t *pid, int *out_fd, int *err_fd)
{
    _cleanup_close_ int out_r = -1, out_w = -1, err_r = -1, err_w = -1, exec_r = -1, exec_w = -1;
    sigset_t all, old;
    int p[2];

    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    out_r = p[0], out_w = p[1];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    err_r = p[0], err_w = p[1];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    exec_r = p[0], exec_w = p[1];

    /* No handler of ours may run in the child before it resets them. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t parent = getpid(), child = fork();
    if (child == 0)
        exec_child(argv, parent, out_w, err_w, exec_w, in);
    int r = child < 0 ? -errno : 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0)
        return r;
    /* Here too, so the group exists whichever of us runs first. */
    (void)setpgid(child, child);

    /* End of file: the exec closed the pipe. An errno: it failed, and the
     * child exits at once. */
    closep(&exec_w);
    exec_w = -1;
    int e = 0;
    ssize_t n;
    while ((n = read(exec_r, &e, sizeof(e))) < 0 && errno == EINTR)
        ;
    if (n == (ssize_t)sizeof(e)) {
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
        return -e;
    }
    *pid = child;
    *out_fd = TAKE_FD(out_r);
    *err_fd = TAKE_FD(err_r);
    return 0;
}

enum watch_stage { WATCH_RUNNING, WATCH_TERMED, WATCH_KILLED };

struct watch {
    pid_t pid;
    int64_t idle_ms;
    int64_t last_output_ms;
    int64_t stage_ms;
    enum watch_stage stage;
    const char *dst_dir;
};

/* Returns -ETIMEDOUT when rsync survives even SIGKILL (stuck in the kernel
 * on a hung share): it cannot be reaped, so the caller must give up on it. */
static int watch_step(struct watch *w, struct rsync_io *io)
{
    int64_t now = mct_now_ms();

    switch (w->stage) {
    case WATCH_RUNNING:
        if (now - w->last_output_ms < w->idle_ms)
            return 0;
        log_error("rsync into %s/ printed nothing for %llds (hung share?): stopping it", w->dst_dir,
                  (long long)(w->idle_ms / 1000));
        (void)mct_buf_printf(&io->err, "mctfs stopped rsync: no output for %llds (hung share?)\n",
                             (long long)(w->idle_ms / 1000));
        (void)kill(-w->pid, SIGTERM);
        w->stage = WATCH_TERMED;
        w->stage_ms = now;
        return 0;
    case WATCH_TERMED:
        if (now - w->stage_ms < TERM_GRACE_MS)
            return 0;
        (void)kill(-w->pid, SIGKILL);
        w->stage = WATCH_KILLED;
        w->stage_ms = now;
        return 0;
    case WATCH_KILLED:
        if (now - w->stage_ms < KILL_GRACE_MS)
            return 0;
        return log_error_errno(ETIMEDOUT,
                               "rsync (pid %d) into %s/ survives SIGKILL; leaving it behind",
                               (int)w->pid, w->dst_dir);
    }
    return 0;
}

static void drain_fd(struct pollfd *pfd, struct rsync_io *io, bool is_stdout)
{
    char buf[4096];
    ssize_t k = read(pfd->fd, buf, sizeof(buf));

    if (k < 0 && errno == EINTR)
        return;
    if (k <= 0) {
        close(pfd->fd);
        pfd->fd = -1;
        return;
    }
    if (is_stdout)
        io_feed_stdout(io, buf, (size_t)k);
    else
        io_feed_stderr(io, buf, (size_t)k);
}

static int wait_rsync(struct watch *w, int out_fd, int err_fd, struct rsync_io *io, int *status)
{
    struct pollfd pfd[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
    bool reaped = false;
    int r = 0;

    for (;;) {
        if (!reaped) {
            pid_t p = waitpid(w->pid, status, WNOHANG);
            if (p < 0 && errno != EINTR) {
                r = -errno;
                break;
            }
            reaped = p == w->pid;
        }
        if (reaped && pfd[0].fd < 0 && pfd[1].fd < 0)
            break;
        /* After the exit only what is already buffered is read. */
        int n = poll(pfd, 2, reaped ? 0 : 200);
        if (n < 0 && errno != EINTR) {
            r = -errno;
            /* We can no longer watch it: an rsync left running would copy
             * on unseen. It is still our child (not reaped), so its group
             * is ours to end. */
            if (!reaped) {
                (void)kill(-w->pid, SIGKILL);
                while (waitpid(w->pid, status, 0) < 0 && errno == EINTR)
                    ;
            }
            break;
        }
        if (reaped && n <= 0)
            break;
        for (int i = 0; n > 0 && i < 2; i++)
            if (pfd[i].fd >= 0 && pfd[i].revents) {
                drain_fd(&pfd[i], io, i == 0);
                w->last_output_ms = mct_now_ms();
            }
        if (!reaped && (r = watch_step(w, io)) < 0)
            break;
    }
    for (int i = 0; i < 2; i++)
        if (pfd[i].fd >= 0)
            close(pfd[i].fd);
    io_segment_done(io);
    return r;
}

static bool needs_quotes(const char *s)
{
    return !*s || strpbrk(s, " \t\n'\"\\$`*?[]{}()<>|&;#~!") != NULL;
}

/* The command line for humans, quoted as a shell would need it. */
static char *argv_to_string(char **argv)
{
    _cleanup_buf_ struct mct_buf b = {0};

    for (char **a = argv; *a; a++) {
        if (a != argv)
            mct_buf_puts(&b, " ");
        if (!needs_quotes(*a)) {
            mct_buf_puts(&b, *a);
            continue;
        }
        mct_buf_puts(&b, "'");
        for (const char *c = *a; *c; c++)
            mct_buf_puts(&b, *c == '\'' ? "'\\''" : (char[]){*c, 0});
        mct_buf_puts(&b, "'");
    }
    return mct_buf_steal(&b);
}

static int exit_code_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

int mct_rsync_run_full(const struct mct_config *cfg, const char *src_dir, const char *dst_dir,
                       bool dry_run, mct_progress_fn progress, void *ud, int *exit_code,
                       char **stderr_text)
{
    return mct_rsync_run_fds(cfg, -1, src_dir, -1, dst_dir, dry_run, progress, ud, exit_code,
                             stderr_text);
}

int mct_rsync_run_fds(const struct mct_config *cfg, int src_fd, const char *src_dir, int dst_fd,
                      const char *dst_dir, bool dry_run, mct_progress_fn progress, void *ud,
                      int *exit_code, char **stderr_text)
{
    return mct_rsync_run_listed(cfg, src_fd, src_dir, dst_fd, dst_dir, dry_run, progress, ud,
                                exit_code, stderr_text, NULL);
}

int mct_rsync_run_listed(const struct mct_config *cfg, int src_fd, const char *src_dir, int dst_fd,
                         const char *dst_dir, bool dry_run, mct_progress_fn progress, void *ud,
                         int *exit_code, char **stderr_text, char ***listed)
{
    char src_name[32], dst_name[32];
    snprintf(src_name, sizeof(src_name), "/proc/self/fd/%d", SRC_FD_IN_RSYNC);
    snprintf(dst_name, sizeof(dst_name), "/proc/self/fd/%d", DST_FD_IN_RSYNC);
    struct inherit in = {src_fd, dst_fd};
    _cleanup_strv_ char **argv = NULL;
    _cleanup_free_ char *cmdline = NULL;
    _cleanup_(io_free) struct rsync_io io = {
            .progress = progress, .ud = ud, .listed = dry_run ? listed : NULL, .last_pct = -1};
    int out_fd = -1, err_fd = -1, status = 0, r;

    *exit_code = -1;
    if (stderr_text)
        *stderr_text = NULL;
    r = mct_rsync_argv(cfg, src_fd >= 0 ? src_name : src_dir, dst_fd >= 0 ? dst_name : dst_dir,
                       dry_run, &argv);
    if (r < 0)
        return r;
    cmdline = argv_to_string(argv);
    log_info("running %s (%s/ -> %s/)", cmdline ? cmdline : "rsync", src_dir, dst_dir);

    struct watch w = {
            .idle_ms = (int64_t)(cfg->rsync_timeout_s + cfg->share_timeout_s) * 1000,
            .last_output_ms = mct_now_ms(),
            .dst_dir = dst_dir,
    };
    r = spawn_rsync(argv, in, &w.pid, &out_fd, &err_fd);
    if (r < 0)
        return log_error_errno(r, "cannot start rsync for %s/ -> %s/", src_dir, dst_dir);

    r = wait_rsync(&w, out_fd, err_fd, &io, &status);
    *exit_code = r == -ETIMEDOUT ? 128 + SIGKILL : exit_code_of(status);
    if (r < 0 && r != -ETIMEDOUT)
        return log_error_errno(r, "lost track of rsync (pid %d) for %s/", (int)w.pid, dst_dir);
    if (io.err_truncated)
        (void)mct_buf_puts(&io.err, "...\n");
    if (*exit_code != 0)
        log_error("rsync %s/ -> %s/ exited %d: %s%s%.*s", src_dir, dst_dir, *exit_code,
                  mct_rsync_exit_meaning(*exit_code), io.err.len ? "; it said: " : "",
                  (int)strcspn(io.err.data ? io.err.data : "", "\n"),
                  io.err.data ? io.err.data : "");
    if (stderr_text && !(*stderr_text = mct_buf_steal(&io.err)))
        return -ENOMEM;
    if (*exit_code != 0)
        return -EIO;
    /* rsync reports 0% when everything was already there; exit 0 means done. */
    if (progress && io.last_pct != 100)
        progress(ud, "syncing", 100, dry_run ? "dry run complete" : "complete");
    return 0;
}

int mct_rsync_run(const struct mct_config *cfg, const char *src_dir, const char *dst_dir,
                  bool dry_run, mct_progress_fn progress, void *ud, int *exit_code)
{
    return mct_rsync_run_full(cfg, src_dir, dst_dir, dry_run, progress, ud, exit_code, NULL);
}
