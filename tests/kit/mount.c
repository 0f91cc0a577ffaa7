/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE mounts for the tests: mctfs over the lab, its virtual files and
 * .control, and the two FUSE file systems that stand in for a share that
 * misbehaves (hangfs, which hangs; foldfs, which folds case).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit.h"

bool kit_is_mounted(const char *path)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    ck_assert_ptr_nonnull(f);
    char line[4096], mp[4096];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && streq(mp, path);
    return found;
}

int kit_fusermount(const char *flags, const char *path)
{
    char *argv[] = {"fusermount3", (char *)flags, (char *)path, NULL};
    struct kit_result r = {};
    int status = kit_run(argv, NULL, &r);
    kit_result_free(&r);
    return status;
}

/* Until path is a mount point, failing when pid exits first. */
static void wait_mounted(const char *path, pid_t pid, const char *log)
{
    int64_t end = mct_now_ms() + 15000;
    while (!kit_is_mounted(path)) {
        int status = kit_wait_exit(pid, 0);
        if (status >= 0) {
            _cleanup_free_ char *out = kit_slurp(log, NULL);
            ck_abort_msg("%s: exited %d before mounting:\n%s", path, status, out ? out : "");
        }
        ck_assert_msg(mct_now_ms() < end, "%s not mounted within 15 s", path);
        kit_sleep_ms(20);
    }
}

/* ---- mctfs ---- */

void kit_mount_with(struct kit_mount *m, const char *config, const char *options,
                    char *const env_add[])
{
    snprintf(m->dir, sizeof(m->dir), "%s/mnt.XXXXXX", lab.dir);
    ck_assert_ptr_nonnull(mkdtemp(m->dir));
    snprintf(m->log, sizeof(m->log), "%s.log", m->dir);
    char *argv[] = {(char *)kit_env("MCTFS"),
                    "-c",
                    (char *)(config ? config : lab.config),
                    m->dir,
                    "-f",
                    options ? "-o" : NULL,
                    (char *)options,
                    NULL};
    m->pid = kit_spawn(argv, NULL, m->log, env_add);
    wait_mounted(m->dir, m->pid, m->log);
}

void kit_mount(struct kit_mount *m, const char *config, char *const env_add[])
{
    kit_mount_with(m, config, NULL, env_add);
}

void kit_assert_clean_exit(struct kit_mount *m)
{
    int status = kit_wait_exit(m->pid, 15000);
    if (status < 0) {
        kill(m->pid, SIGKILL);
        kit_wait_exit(m->pid, 5000);
    }
    m->pid = -1;
    _cleanup_free_ char *out = kit_slurp(m->log, NULL);
    ck_assert_msg(status == 0, "mctfs exited with %d:\n%s", status, out ? out : "");
}

void kit_unmount(struct kit_mount *m)
{
    if (m->pid <= 0)
        return;
    if (kit_fusermount("-u", m->dir) != 0)
        kit_fusermount("-uz", m->dir);
    kit_assert_clean_exit(m);
    ck_assert(!kit_is_mounted(m->dir));
}

void kit_unmount_dead(struct kit_mount *m)
{
    kit_fusermount("-uz", m->dir);
    m->pid = -1;
    ck_assert(!kit_is_mounted(m->dir));
}

void kit_mpath(const struct kit_mount *m, char *out, size_t len, const char *fmt, ...)
{
    char rel[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    ck_assert_msg((size_t)snprintf(out, len, "%s/%s", m->dir, rel) < len, "path too long");
}

char *kit_vfile(const struct kit_mount *m, const char *p, const char *d, const char *name)
{
    char path[700];
    kit_mpath(m, path, sizeof(path), "%s/%s/%s", p, d, name);
    return kit_slurp_ok(path, NULL);
}

unsigned long kit_mount_metric(const struct kit_mount *m, const char *name)
{
    char path[600], want[128];
    kit_mpath(m, path, sizeof(path), ".metrics");
    _cleanup_free_ char *text = kit_slurp_ok(path, NULL);
    snprintf(want, sizeof(want), "\n%s{", name);
    const char *line = strstr(text, want);
    ck_assert_msg(line, "%s not in .metrics", name);
    const char *value = strstr(line, "} ");
    ck_assert_ptr_nonnull(value);
    return strtoul(value + 2, NULL, 10);
}

ssize_t kit_control_write(const struct kit_mount *m, const char *p, const char *d, const void *text,
                          size_t len, int *err)
{
    char path[700];
    kit_mpath(m, path, sizeof(path), "%s/%s/.control", p, d);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    ssize_t n = write(fd, text, len);
    *err = n < 0 ? errno : 0;
    return n;
}

/* ---- the stand-ins for a share ---- */

pid_t kit_hangfs_start(char *dir, size_t len)
{
    char log[450];
    snprintf(dir, len, "%s/hang.XXXXXX", lab.dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(log, sizeof(log), "%s.log", dir);
    char *argv[] = {(char *)kit_env("HANGFS"), dir, "-f", NULL};
    pid_t pid = kit_spawn(argv, NULL, log, NULL);
    wait_mounted(dir, pid, log);
    return pid;
}

void kit_hangfs_stop(pid_t pid, const char *dir)
{
    /* SIGKILL aborts the connection, failing every blocked request. */
    kill(pid, SIGKILL);
    kit_wait_exit(pid, 10000);
    kit_fusermount("-uz", dir);
}

pid_t kit_foldfs_start(const char *backing, char *mountpoint, size_t len)
{
    char log[450];
    snprintf(mountpoint, len, "%s/fold.XXXXXX", lab.dir);
    ck_assert_ptr_nonnull(mkdtemp(mountpoint));
    snprintf(log, sizeof(log), "%s.log", mountpoint);
    /* Open to the service user too, with the kernel checking modes. */
    char *argv[] = {(char *)kit_env("FOLDFS"),
                    (char *)backing,
                    mountpoint,
                    "-f",
                    "-o",
                    "allow_other,default_permissions",
                    NULL};
    pid_t pid = kit_spawn(argv, NULL, log, NULL);
    wait_mounted(mountpoint, pid, log);
    return pid;
}

void kit_foldfs_stop(pid_t pid, const char *mountpoint)
{
    /* A plain unmount, as the share would be: foldfs must then exit 0. */
    char log[450];
    snprintf(log, sizeof(log), "%s.log", mountpoint);
    int um = kit_fusermount("-u", mountpoint);
    int status = um == 0 ? kit_wait_exit(pid, 15000) : -1;
    if (status != 0) {
        kill(pid, SIGKILL);
        kit_wait_exit(pid, 10000);
        kit_fusermount("-uz", mountpoint);
    }
    _cleanup_free_ char *out = kit_slurp(log, NULL);
    ck_assert_msg(um == 0, "fusermount3 -u %s failed:\n%s", mountpoint, out ? out : "");
    ck_assert_msg(status == 0, "foldfs exited with %d:\n%s", status, out ? out : "");
    ck_assert(!kit_is_mounted(mountpoint));
}
