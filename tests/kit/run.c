/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Programs run to their end for the tests, their output captured without
 * deadlocking on large outputs (stdout and stderr are drained together
 * with poll while stdin is fed).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit.h"

extern char **environ;

const char *kit_env(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(!strempty(v), "$%s is not set (run the tests through meson test)", name);
    return v;
}

static void closepair(int (*p)[2])
{
    for (int i = 0; i < 2; i++)
        if ((*p)[i] >= 0)
            close((*p)[i]);
}

static int spawn_child(char *const argv[], int in[2], int out[2], int err[2], pid_t *ret)
{
    posix_spawn_file_actions_t fa;
    int r;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
    /* The pipes are O_CLOEXEC, so only the dup2'ed ends reach the child. */
    if (strchr(argv[0], '/'))
        r = posix_spawn(ret, argv[0], &fa, NULL, argv, environ);
    else
        r = posix_spawnp(ret, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return -r;
}

static void close_polled(struct pollfd *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
}

/* Feed stdin_text and read both outputs until EOF on both; closes the fds. */
static int pump(int in_fd, const char *stdin_text, int out_fd, int err_fd, struct mct_buf *out,
                struct mct_buf *err)
{
    size_t in_off = 0, in_len = stdin_text ? strlen(stdin_text) : 0;
    struct pollfd p[3] = {
            {.fd = out_fd, .events = POLLIN},
            {.fd = err_fd, .events = POLLIN},
            {.fd = in_len > 0 ? in_fd : -1, .events = POLLOUT},
    };
    struct mct_buf *bufs[2] = {out, err};
    char chunk[65536];

    if (in_len == 0 && in_fd >= 0)
        close(in_fd);
    /* A blocking write of more than the pipe holds would wait for the child,
     * which may itself be waiting for us to drain its stdout. */
    else if (fcntl(in_fd, F_SETFL, O_NONBLOCK) < 0) {
        int k = -errno;
        close_polled(p, 3);
        return k;
    }
    while (p[0].fd >= 0 || p[1].fd >= 0) {
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            int k = -errno;
            close_polled(p, 3);
            return k;
        }
        for (int i = 0; i < 2; i++) {
            if (!p[i].revents)
                continue;
            ssize_t k = read(p[i].fd, chunk, sizeof(chunk));
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
            } else if (mct_buf_append(bufs[i], chunk, (size_t)k) < 0) {
                close_polled(p, 3);
                return -ENOMEM;
            }
        }
        if (p[2].fd >= 0 && p[2].revents) {
            ssize_t k = write(p[2].fd, stdin_text + in_off, in_len - in_off);
            if (k > 0)
                in_off += (size_t)k;
            /* EPIPE: the child does not want the rest; that is its choice. */
            if ((k < 0 && errno != EINTR && errno != EAGAIN) || in_off >= in_len) {
                close(p[2].fd);
                p[2].fd = -1;
            }
        }
    }
    close_polled(p, 3);
    return 0;
}

static int cannot_run(char *const argv[], int k, struct kit_result *r)
{
    r->status = 127;
    r->out = strdup("");
    r->err = mct_strdup_printf("kit: cannot run %s: %s\n", argv[0], strerror(-k));
    return r->status;
}

int kit_run(char *const argv[], const char *stdin_text, struct kit_result *r)
{
    _cleanup_(closepair) int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    _cleanup_buf_ struct mct_buf bout = {}, berr = {};
    pid_t pid;
    int status, k;

    memset(r, 0, sizeof(*r));
    /* A child that exits before reading its stdin must not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
        return cannot_run(argv, -errno, r);
    k = spawn_child(argv, in, out, err, &pid);
    if (k < 0)
        return cannot_run(argv, k, r);
    /* Our copies of the child's ends must go, or we never see EOF. */
    close(TAKE_FD(in[0]));
    close(TAKE_FD(out[1]));
    close(TAKE_FD(err[1]));

    k = pump(TAKE_FD(in[1]), stdin_text, TAKE_FD(out[0]), TAKE_FD(err[0]), &bout, &berr);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            status = 127 << 8;
            break;
        }
    }
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r->out = mct_buf_steal(&bout);
    r->err = mct_buf_steal(&berr);
    if (k < 0)
        fprintf(stderr, "kit: reading the output of %s: %s\n", argv[0], strerror(-k));
    return r->status;
}

void kit_run_ok(char *const argv[])
{
    struct kit_result r;
    int st = kit_run(argv, NULL, &r);
    ck_assert_msg(st == 0, "%s: exit %d\n%s%s", argv[0], st, r.out, r.err);
    kit_result_free(&r);
}

void kit_result_free(struct kit_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* mctctl -c CONFIG [first] ARGS...: the va_list's NULL ends them. */
static int mctctl_v(const char *config, const char *stdin_text, struct kit_result *r,
                    const char *first, va_list ap)
{
    char *argv[64] = {(char *)kit_env("MCTCTL"), "-c", (char *)(config ? config : lab.config)};
    size_t i = 3;
    if (first)
        argv[i++] = (char *)first;
    for (const char *a; (a = va_arg(ap, const char *));) {
        ck_assert_uint_lt(i, ARRAY_SIZE(argv) - 1);
        argv[i++] = (char *)a;
    }
    argv[i] = NULL;
    return kit_run(argv, stdin_text, r);
}

int kit_mctctl(const char *config, const char *stdin_text, struct kit_result *r, ...)
{
    va_list ap;
    va_start(ap, r);
    int st = mctctl_v(config, stdin_text, r, NULL, ap);
    va_end(ap);
    return st;
}

char *kit_mctctl_out(int want, const char *config, const char *stdin_text, ...)
{
    struct kit_result r;
    va_list ap;
    va_start(ap, stdin_text);
    int st = mctctl_v(config, stdin_text, &r, "--no-color", ap);
    va_end(ap);
    va_start(ap, stdin_text);
    const char *command = va_arg(ap, const char *);
    va_end(ap);
    char *both = mct_strdup_printf("%s%s", r.out, r.err);
    ck_assert_msg(want < 0 || st == want, "mctctl %s: exit %d, want %d\n%s", command, st, want,
                  both);
    kit_result_free(&r);
    return both;
}

int kit_shell(const char *fmt, ...)
{
    _cleanup_free_ char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&cmd, fmt, ap), 0);
    va_end(ap);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    struct kit_result r = {};
    int status = kit_run(argv, NULL, &r);
    if (status != 0)
        fprintf(stderr, "sh -c '%s': exit %d\n%s%s", cmd, status, r.out, r.err);
    kit_result_free(&r);
    return status;
}

int kit_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
