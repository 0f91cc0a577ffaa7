/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rsync runner. rsync gets an argument vector, never a shell line, so
 * a participant id or a path can never be parsed as anything but a path.
 * Its stdout carries --info=progress2 lines separated by '\r'; its stderr
 * is kept so a failure can be told in rsync's own words.
 */
#include "rsync.h"

#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "log.h"
#include "marker.h"
#include "util.h"

#define TERM_GRACE_MS 3000
#define KILL_GRACE_MS 5000
#define SEGMENT_MAX   1024
#define STDERR_MAX    8192

/* ---- flags ------------------------------------------------------------ */

/*
 * What backup.rsync.flags may hold: an allowlist, since rsync runs as
 * whoever reads the config and many of its options write or read files of
 * the config writer's choosing (--log-file, --write-batch, --temp-dir,
 * --partial-dir, --backup-dir, --files-from, --filter merge files), run
 * programs (-e, --rsync-path), change owners or modes (--chown, --chmod:
 * a setuid copy on the share), follow symlinks out of /data (-L,
 * --copy-links, -k), delete (--delete*, --remove-source-files) or make the
 * copy differ from the source in ways verification then has to catch
 * (--update, --inplace, --append, --existing). What stays is how to copy
 * (what to preserve, compression, checksums, bandwidth, timeouts) and what
 * to print.
 */

/* Letters that may stand in a cluster such as "-avzhP": none of them takes
 * an argument. -a -v -h -z -P -q -r -l -p -t -g -o -D -H -S -W -c, and -x
 * (stay on one filesystem), -A/-X (ACLs, xattrs), -i (itemize). */
static const char short_allowed[] = "avhzPqrlptgoDHSWcxAXi";

enum value_kind {
    V_NONE,  /* --name only */
    V_UINT,  /* --name=123 */
    V_INT,   /* --name=-1 too */
    V_RATE,  /* --bwlimit=100, 1.5M, 500k */
    V_LEVEL, /* --compress-level=0..9 */
    V_INFO,  /* --info=progress2,stats2: letters, digits, commas */
    V_ANY,   /* --exclude=PATTERN: any non-empty word */
};

static const struct {
    const char *name;
    enum value_kind value;
} long_allowed[] = {
        {"--archive", V_NONE},
        {"--recursive", V_NONE},
        {"--links", V_NONE},
        {"--perms", V_NONE},
        {"--times", V_NONE},
        {"--group", V_NONE},
        {"--owner", V_NONE},
        {"--devices", V_NONE},
        {"--specials", V_NONE},
        {"--hard-links", V_NONE},
        {"--acls", V_NONE},
        {"--xattrs", V_NONE},
        {"--sparse", V_NONE},
        {"--whole-file", V_NONE},
        {"--checksum", V_NONE},
        {"--size-only", V_NONE},
        {"--numeric-ids", V_NONE},
        {"--one-file-system", V_NONE},
        {"--omit-dir-times", V_NONE},
        {"--no-perms", V_NONE},
        {"--no-owner", V_NONE},
        {"--no-group", V_NONE},
        {"--partial", V_NONE},
        {"--delay-updates", V_NONE},
        {"--compress", V_NONE},
        {"--compress-level", V_LEVEL},
        {"--bwlimit", V_RATE},
        {"--timeout", V_UINT},
        {"--contimeout", V_UINT},
        {"--modify-window", V_INT},
        {"--exclude", V_ANY},
        {"--verbose", V_NONE},
        {"--quiet", V_NONE},
        {"--human-readable", V_NONE},
        {"--progress", V_NONE},
        {"--stats", V_NONE},
        {"--itemize-changes", V_NONE},
        {"--info", V_INFO},
};

static const char *value_hint(enum value_kind k)
{
    switch (k) {
    case V_UINT:
    case V_INT:
    case V_LEVEL:
        return "=N";
    case V_RATE:
        return "=RATE";
    case V_INFO:
        return "=FLAGS";
    case V_ANY:
        return "=PATTERN";
    default:
        return "";
    }
}

static bool value_valid(enum value_kind k, const char *v)
{
    size_t n = strlen(v);

    switch (k) {
    case V_UINT:
        return n > 0 && n <= 9 && strspn(v, "0123456789") == n;
    case V_INT:
        if (*v == '-')
            v++, n--;
        return n > 0 && n <= 9 && strspn(v, "0123456789") == n;
    case V_LEVEL:
        return n == 1 && isdigit((unsigned char)*v);
    case V_RATE: {
        size_t d = strspn(v, "0123456789.");
        return d > 0 && d <= 12 && (v[d] == '\0' || (strchr("KMGkmg", v[d]) && !v[d + 1]));
    }
    case V_INFO:
        return n > 0 &&
               strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,") == n;
    case V_ANY:
        return n > 0;
    default:
        return false;
    }
}

/* "(allowed: -a -v ..., --archive, ...)" for messages. */
static void allowed_list(char *out, size_t len)
{
    struct mct_buf b = {0};

    mct_buf_puts(&b, "allowed: ");
    for (const char *c = short_allowed; *c; c++)
        mct_buf_printf(&b, "-%c ", *c);
    for (size_t i = 0; i < ARRAY_SIZE(long_allowed); i++)
        mct_buf_printf(&b, "%s%s%s", long_allowed[i].name, value_hint(long_allowed[i].value),
                       i + 1 < ARRAY_SIZE(long_allowed) ? " " : "");
    snprintf(out, len, "%s", b.data ? b.data : "");
    mct_buf_free(&b);
}

static int refuse(const char *word, const char *detail, char *why, size_t whylen)
{
    char list[1024];

    allowed_list(list, sizeof(list));
    snprintf(why, whylen, "'%s' is not allowed%s (%s)", word, detail, list);
    return -EINVAL;
}

static int check_long(const char *arg, char *why, size_t whylen)
{
    size_t len = strcspn(arg, "=");
    const char *value = arg[len] == '=' ? arg + len + 1 : NULL;

    for (size_t i = 0; i < ARRAY_SIZE(long_allowed); i++) {
        enum value_kind k = long_allowed[i].value;
        if (strlen(long_allowed[i].name) != len || strncmp(arg, long_allowed[i].name, len) != 0)
            continue;
        if (k == V_NONE && value)
            return refuse(arg, ": it takes no value", why, whylen);
        if (k != V_NONE && !value) {
            char detail[96];
            snprintf(detail, sizeof(detail), ": write it as %s%s", long_allowed[i].name,
                     value_hint(k));
            return refuse(arg, detail, why, whylen);
        }
        if (k != V_NONE && !value_valid(k, value))
            return refuse(arg, ": bad value", why, whylen);
        return 0;
    }
    return refuse(arg, "", why, whylen);
}

static int check_one_flag(const char *arg, char *why, size_t whylen)
{
    if (streq(arg, "--") || arg[0] != '-' || streq(arg, "-")) {
        snprintf(why, whylen,
                 "'%s' is not an option (write options as --name=value; "
                 "use exclude_patterns for excludes)",
                 arg);
        return -EINVAL;
    }
    if (startswith(arg, "--"))
        return check_long(arg, why, whylen);
    /* A cluster is checked letter by letter: "-avze" hides -e. */
    for (const char *p = arg + 1; *p; p++)
        if (!strchr(short_allowed, *p)) {
            char word[32], detail[64];
            snprintf(word, sizeof(word), "-%c", *p);
            snprintf(detail, sizeof(detail), " (in '%.40s')", arg);
            return refuse(word, streq(word, arg) ? "" : detail, why, whylen);
        }
    return 0;
}

static int split_flags(const char *flags, char ***ret)
{
    _cleanup_strv_ char **v = NULL;
    const char *p = flags;

    for (;;) {
        p += strspn(p, " \t\r\n");
        if (!*p)
            break;
        size_t n = strcspn(p, " \t\r\n");
        int r = mct_strv_push(&v, strndup(p, n));
        if (r < 0)
            return r;
        p += n;
    }
    *ret = TAKE_PTR(v);
    return 0;
}

int mct_rsync_flags_check(const char *flags, char *why, size_t whylen)
{
    _cleanup_strv_ char **v = NULL;
    int r = split_flags(flags ? flags : mct_config_default_rsync_flags, &v);
    if (r < 0)
        return r;
    for (char **f = v; f && *f; f++) {
        r = check_one_flag(*f, why, whylen);
        if (r < 0)
            return r;
    }
    return 0;
}

int mct_rsync_argv(const struct mct_config *cfg, const char *src_dir, const char *dst_dir,
                   bool dry_run, char ***ret)
{
    _cleanup_strv_ char **argv = NULL;
    _cleanup_strv_ char **flags = NULL;
    char why[1024];
    int r;

    r = mct_rsync_flags_check(cfg->rsync_flags, why, sizeof(why));
    if (r < 0)
        return log_error_errno(r, "%s: backup.rsync.flags: %s", cfg->path ? cfg->path : "config",
                               why);
    r = split_flags(cfg->rsync_flags ? cfg->rsync_flags : mct_config_default_rsync_flags, &flags);
    if (r < 0)
        return r;

    r = mct_strv_push(&argv, strdup("rsync"));
    for (char **f = flags; r >= 0 && *f; f++)
        r = mct_strv_push(&argv, strdup(*f));
    for (char **e = cfg->exclude_patterns; r >= 0 && e && *e; e++)
        r = mct_strv_pushf(&argv, "--exclude=%s", *e);
    /* The copy's marker is ours: never copied from the source, never
     * touched on the copy. */
    if (r >= 0)
        r = mct_strv_pushf(&argv, "--exclude=%s", MCT_MARKER_NAME);
    if (r >= 0 && cfg->rsync_bwlimit_kb > 0)
        r = mct_strv_pushf(&argv, "--bwlimit=%u", cfg->rsync_bwlimit_kb);
    if (r >= 0 && cfg->rsync_timeout_s > 0)
        r = mct_strv_pushf(&argv, "--timeout=%u", cfg->rsync_timeout_s);
    if (r >= 0)
        r = mct_strv_push(&argv, strdup("--info=progress2"));
    if (r >= 0 && dry_run)
        r = mct_strv_push(&argv, strdup("--dry-run"));
    /* What a dry run would copy, one marked line per name whatever -v the
     * flags hold (rsync escapes unprintable bytes in names as \#ooo). */
    if (r >= 0 && dry_run)
        r = mct_strv_pushf(&argv, "--out-format=%s%%n", MCT_RSYNC_LIST_PREFIX);
    if (r >= 0)
        r = mct_strv_push(&argv, strdup("--"));
    /* Trailing slashes: copy the folder's contents into the folder, never
     * a folder inside it. */
    if (r >= 0)
        r = mct_strv_pushf(&argv, "%s/", src_dir);
    if (r >= 0)
        r = mct_strv_pushf(&argv, "%s/", dst_dir);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(argv);
    return 0;
}

/* From rsync(1), EXIT VALUES. */
static const struct {
    int code;
    const char *meaning;
} exit_meanings[] = {
        {0, "success"},
        {1, "syntax or usage error"},
        {2, "protocol incompatibility"},
        {3, "errors selecting input/output files, dirs"},
        {4, "requested action not supported"},
        {5, "error starting client-server protocol"},
        {6, "daemon unable to append to log-file"},
        {10, "error in socket I/O"},
        {11, "error in file I/O"},
        {12, "error in rsync protocol data stream"},
        {13, "errors with program diagnostics"},
        {14, "error in IPC code"},
        {20, "received SIGUSR1 or SIGINT"},
        {21, "some error returned by waitpid()"},
        {22, "error allocating core memory buffers"},
        {23, "partial transfer due to error"},
        {24, "partial transfer due to vanished source files"},
        {25, "the --max-delete limit stopped deletions"},
        {30, "timeout in data send/receive"},
        {35, "timeout waiting for daemon connection"},
};

const char *mct_rsync_exit_meaning(int code)
{
    for (size_t i = 0; i < ARRAY_SIZE(exit_meanings); i++)
        if (exit_meanings[i].code == code)
            return exit_meanings[i].meaning;
    return "unknown";
}

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
