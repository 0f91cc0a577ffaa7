/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Programs in the background for the tests, and what /proc says of them.
 *
 * A failed assertion ends the forked test without its teardown, so every
 * program started here leaves its pid in the lab (an empty file pid.PID
 * in lab.dir); the lab's teardown kills them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kit.h"

extern char **environ;

void kit_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void remember_pid(pid_t pid)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/pid.%d", lab.dir, (int)pid);
    kit_write_file(path, "");
}

void kit_kill_remembered(void)
{
    _cleanup_closedir_ DIR *d = opendir(lab.dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        int pid;
        if (sscanf(de->d_name, "pid.%d", &pid) == 1 && pid > 1)
            kill(pid, SIGKILL);
    }
}

pid_t kit_spawn(char *const argv[], const char *stdin_path, const char *log, char *const env_add[])
{
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    while (env_add && env_add[k])
        k++;
    _cleanup_free_ char **env = calloc(n + k + 1, sizeof(char *));
    ck_assert_ptr_nonnull(env);
    memcpy(env, environ, n * sizeof(char *));
    if (k)
        memcpy(env + n, env_add, k * sizeof(char *));

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, stdin_path ? stdin_path : "/dev/null",
                                     O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid;
    int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    ck_assert_msg(r == 0, "spawning %s: %s", argv[0], strerror(r));
    remember_pid(pid);
    return pid;
}

pid_t kit_spawn_delete(const char *config, const char *p, const char *d, const char *env, char *log,
                       size_t len)
{
    char in[400];
    snprintf(in, sizeof(in), "%s/delete.in", lab.dir);
    kit_write_file(in, "DELETE\n");
    snprintf(log, len, "%s/delete-%s.log", lab.dir, p);
    char *argv[] = {(char *)kit_env("MCTCTL"),
                    "-c",
                    (char *)(config ? config : lab.config),
                    "delete",
                    (char *)p,
                    (char *)d,
                    NULL};
    char *envs[] = {(char *)env, NULL};
    return kit_spawn(argv, in, log, env ? envs : NULL);
}

int kit_wait_exit(pid_t pid, unsigned ms)
{
    int64_t end = mct_now_ms() + ms;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0 || mct_now_ms() >= end)
            return -1;
        kit_sleep_ms(10);
    }
}

void kit_wait_stopped(pid_t pid, unsigned ms)
{
    int64_t end = mct_now_ms() + ms;
    while (kit_proc_state(pid) != 'T') {
        ck_assert_msg(kit_proc_state(pid) != 0, "pid %d exited before its stop point", (int)pid);
        ck_assert_msg(mct_now_ms() < end, "pid %d never reached its stop point", (int)pid);
        kit_sleep_ms(20);
    }
}

/* Fields of /proc/PID/stat after the comm: state ppid pgrp ... */
static bool proc_stat(pid_t pid, char *comm, size_t commlen, char *state, pid_t *ppid, pid_t *pgrp)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_free_ char *text = kit_slurp(path, NULL);
    if (!text)
        return false;
    /* The comm may hold spaces and parentheses: it ends at the last ')'. */
    char *open = strchr(text, '('), *close = strrchr(text, ')');
    if (!open || !close)
        return false;
    snprintf(comm, commlen, "%.*s", (int)(close - open - 1), open + 1);
    int pp = 0, pg = 0;
    if (sscanf(close + 2, "%c %d %d", state, &pp, &pg) != 3)
        return false;
    *ppid = pp;
    *pgrp = pg;
    return true;
}

char kit_proc_state(pid_t pid)
{
    char comm[64], state = 0;
    pid_t pp, pg;
    return proc_stat(pid, comm, sizeof(comm), &state, &pp, &pg) ? state : 0;
}

static size_t scan_procs(pid_t ppid, const char *comm, pid_t pgid, pid_t *out, size_t max)
{
    _cleanup_closedir_ DIR *d = opendir("/proc");
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        char c[64], state;
        pid_t pp, pg;
        if (*end || pid <= 0 || !proc_stat((pid_t)pid, c, sizeof(c), &state, &pp, &pg))
            continue;
        if (state == 'Z' || (ppid > 0 && pp != ppid) || (pgid > 0 && pg != pgid) ||
            (comm && !streq(c, comm)))
            continue;
        if (n < max)
            out[n] = (pid_t)pid;
        n++;
    }
    return n;
}

size_t kit_children(pid_t ppid, const char *comm, pid_t *out, size_t max)
{
    return scan_procs(ppid, comm, 0, out, max);
}

bool kit_pgrp_alive(pid_t pgid)
{
    pid_t dummy[1];
    return scan_procs(0, NULL, pgid, dummy, 1) > 0;
}

long kit_vmhwm_kb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    _cleanup_free_ char *text = kit_slurp(path, NULL);
    const char *s = text ? strstr(text, "VmHWM:") : NULL;
    return s ? strtol(s + strlen("VmHWM:"), NULL, 10) : -1;
}
