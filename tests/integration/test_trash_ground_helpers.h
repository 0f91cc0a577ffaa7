/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rig user's side of test_trash_ground.c (included by it once, split
 * off for length): the user made for the run and what it does (shell
 * steps, a writer whose working folder is a session, a flock holder), the
 * lab's trash, deletions in the background with their stop points.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "fault_lib.h"
#include "lock.h"
#include "operations.h"

#define RIG "mcttrash1"

static char rigdir[400]; /* a folder of the rig user's for its scripts' flags */

static void run_checked(char *const argv[])
{
    struct run_result r;
    int st = run_argv(argv, NULL, &r);
    ck_assert_msg(st == 0, "%s: exit %d\n%s%s", argv[0], st, r.out, r.err);
    run_result_free(&r);
}

/* The rig user runs script (sh -c), synchronously. */
static void rig_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rig_sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *script = NULL;
    ck_assert_int_ge(vasprintf(&script, fmt, ap), 0);
    va_end(ap);
    char *argv[] = {"runuser", "-u", RIG, "--", "/bin/sh", "-c", script, NULL};
    run_checked(argv);
}

/* Everything under the source base is the rig user's, as on the rig. */
static void rig_owns_data(void)
{
    char *argv[] = {"chown", "-R", RIG ":", lab.data, NULL};
    run_checked(argv);
}

static const char *trash_dir(void)
{
    static char path[400];
    snprintf(path, sizeof(path), "%s/.mctfs-trash", lab.data);
    return path;
}

/* Before each test: no trash, no flags of the rig's shell. */
static void reset(void)
{
    char aside[450];
    snprintf(aside, sizeof(aside), "%s/.aside", lab.data);
    char *argv[] = {"rm", "-rf", "--", (char *)trash_dir(), aside, NULL};
    run_checked(argv);
    static const char *const flags[] = {"ready", "go", "done"};
    for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
        char path[450];
        snprintf(path, sizeof(path), "%s/%s", rigdir, flags[i]);
        (void)unlink(path);
    }
}

static void setup(void)
{
    fl_setup();
    char *del[] = {"userdel", RIG, NULL},
         *add[] = {"useradd", "-M", "-s", "/usr/sbin/nologin", RIG, NULL};
    struct run_result r;
    run_argv(del, NULL, &r); /* a leftover of a killed run */
    run_result_free(&r);
    run_checked(add);
    ck_assert_int_eq(chmod(lab.dir, 0711), 0);
    snprintf(rigdir, sizeof(rigdir), "%s/rig", lab.dir);
    ck_assert_int_eq(mkdir(rigdir, 0755), 0);
    struct passwd *pw = getpwnam(RIG);
    ck_assert_ptr_nonnull(pw);
    ck_assert_int_eq(chown(rigdir, pw->pw_uid, pw->pw_gid), 0);
}

static void teardown(void)
{
    fl_teardown();
    char *del[] = {"userdel", RIG, NULL};
    run_checked(del);
}

static void session(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void session(const char *fmt, ...)
{
    char args[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    fl_session("%s", args);
    rig_owns_data();
}

/* The name of the entry of participant p in the trash ("" if none). */
static const char *entry_of(const char *p)
{
    static char name[300];
    name[0] = '\0';
    DIR *d = opendir(trash_dir());
    size_t n = strlen(p);
    for (struct dirent *de; d && (de = readdir(d));)
        if (strncmp(de->d_name, p, n) == 0 && startswith(de->d_name + n, "__") &&
            !strchr(de->d_name, '.'))
            snprintf(name, sizeof(name), "%s", de->d_name);
    if (d)
        closedir(d);
    return name;
}

static void wait_stopped(pid_t pid)
{
    int64_t end = mct_now_ms() + 30000;
    while (fl_proc_state(pid) != 'T') {
        ck_assert_msg(fl_proc_state(pid) != 0, "mctctl exited before its stop point");
        ck_assert_msg(mct_now_ms() < end, "mctctl never reached its stop point");
        fl_sleep_ms(20);
    }
}

/* `mctctl [-c config] delete P D`, DELETE typed, in the background (env:
 * "MCT_TEST_STOP_AT=..." or NULL); its output goes to log. */
static pid_t spawn_delete(const char *config, const char *p, const char *d, const char *env,
                          char *log, size_t len)
{
    char in[400];
    snprintf(in, sizeof(in), "%s/delete.in", lab.dir);
    fl_write_file(in, "DELETE\n");
    snprintf(log, len, "%s/delete-%s.log", lab.dir, p);
    char *argv[] = {
            getenv("MCTCTL"), "-c", (char *)(config ? config : lab.config), "delete", (char *)p,
            (char *)d,        NULL};
    char *envs[] = {(char *)env, NULL};
    return fl_spawn(argv, in, log, env ? envs : NULL);
}

/* A shell of the rig user's whose working folder is the session: once
 * told to (rig_write_go), it writes name there, wherever the folder is
 * by then (a process's working folder follows a rename). */
static pid_t rig_writer(const char *p, const char *d, const char *name)
{
    char src[512], log[450];
    lab_source_path(&lab, p, d, src, sizeof(src));
    snprintf(log, sizeof(log), "%s/writer.log", lab.dir);
    _cleanup_free_ char *script = mct_strdup_printf(
            "cd '%s' || exit 1; touch '%s/ready'; while [ ! -e '%s/go' ]; do sleep 0.05; "
            "done; echo 'written during the deletion' > '%s'; touch '%s/done'",
            src, rigdir, rigdir, name, rigdir);
    /* setpriv execs the shell itself (runuser would fork it): the pid
     * the teardown kills is the shell's. */
    char *argv[] = {"/usr/bin/setpriv", "--reuid=" RIG, "--regid=" RIG, "--clear-groups",
                    "/bin/sh",          "-c",           script,         NULL};
    pid_t pid = fl_spawn(argv, NULL, log, NULL);
    char ready[450];
    snprintf(ready, sizeof(ready), "%s/ready", rigdir);
    for (int64_t end = mct_now_ms() + 10000; !fl_exists(ready); fl_sleep_ms(20))
        ck_assert_msg(mct_now_ms() < end, "the rig's shell never started");
    return pid;
}

static void rig_write_go(pid_t writer)
{
    char go[450], done[450];
    snprintf(go, sizeof(go), "%s/go", rigdir);
    snprintf(done, sizeof(done), "%s/done", rigdir);
    fl_write_file(go, "");
    ck_assert_int_eq(fl_wait_exit(writer, 10000), 0);
    ck_assert(fl_exists(done));
}

/* mctctl's stdout and stderr; its exit status must be want (-1: any).
 * At most 8 arguments, NULL-terminated: enough for every command here. */
static char *mctctl_out(int want, const char *config, const char *in, ...)
{
    va_list ap;
    va_start(ap, in);
    const char *a[8] = {0};
    size_t n = 0;
    while (n < ARRAY_SIZE(a) && (a[n] = va_arg(ap, const char *)))
        n++;
    va_end(ap);
    struct run_result r;
    int st = fl_mctctl(config, in, &r, "--no-color", a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7],
                       NULL);
    char *both = mct_strdup_printf("%s%s", r.out, r.err);
    ck_assert_msg(want < 0 || st == want, "mctctl %s: exit %d, want %d\n%s", a[0], st, want, both);
    run_result_free(&r);
    return both;
}

/* The session lock of P/D, as a command holds it. */
static int hold_lock(const char *p, const char *d)
{
    _cleanup_config_ struct mct_config *cfg = NULL;
    char err[512] = "";
    ck_assert_msg(mct_config_load(lab.config, &cfg, err, sizeof(err)) == 0, "%s", err);
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, p, d, NULL, 0), 0);
    int fd = -1;
    ck_assert_int_eq(mct_session_lock_ref(cfg, &ref, &fd), 0);
    return fd;
}

/* The rig user's process holding flock on dir, until killed (or until the
 * test that made it ends). */
static pid_t rig_flock(const char *dir)
{
    struct passwd *pw = getpwnam(RIG);
    ck_assert_ptr_nonnull(pw);
    int ready[2];
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = -1;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || setgroups(0, NULL) < 0 ||
            setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
            setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0 ||
            (fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0 || flock(fd, LOCK_EX) < 0)
            _exit(1);
        (void)!write(ready[1], "1", 1);
        for (;;)
            pause();
    }
    close(ready[1]);
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
    return pid;
}

/* depth folders "d" below dir, "leaf.bin" at the bottom, three hours old. */
static void make_deep(const char *dir, size_t depth)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    for (size_t i = 0; i < depth; i++) {
        ck_assert_int_eq(mkdirat(fd, "d", 0755), 0);
        int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(next, 0);
        close(fd);
        fd = next;
    }
    int f = openat(fd, "leaf.bin", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ck_assert_int_eq(write(f, "deep", 4), 4);
    struct timespec ts[2] = {{.tv_sec = time(NULL) - 3 * 3600}, {.tv_sec = time(NULL) - 3 * 3600}};
    ck_assert_int_eq(futimens(f, ts), 0);
    close(f);
    close(fd);
}
