/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The helpers of fault_lib.h. Written for the tests only: they assert
 * (ck_assert) instead of returning errors, and they deliberately do not
 * use the engine's scanner for digests, so a bug there cannot hide a lost
 * file.
 */
#include "fault_lib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct lab lab;

static const char *env_path(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(!strempty(v), "$%s is not set (run through meson test)", name);
    return v;
}

void fl_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- fixtures ---- */

void fl_setup(void)
{
    lab_up(&lab);
}

static void kill_remembered(void)
{
    DIR *d = opendir(lab.dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        int pid;
        if (sscanf(de->d_name, "pid.%d", &pid) == 1 && pid > 1)
            kill(pid, SIGKILL);
    }
    if (d)
        closedir(d);
}

void fl_teardown(void)
{
    kill_remembered();
    lab_down(&lab);
}

static int fusermount(const char *flags, const char *path);

void fl_setup_bare(void)
{
    memset(&lab, 0, sizeof(lab));
    snprintf(lab.dir, sizeof(lab.dir), "/tmp/mctfs-bare.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(lab.dir));
}

void fl_teardown_bare(void)
{
    if (!lab.dir[0])
        return;
    kill_remembered();
    /* Detach what a failed test left mounted below the dir, deepest first
     * (mountinfo lists them in mount order), before removing it. */
    char mps[16][4096], line[8192], prefix[300];
    size_t n = 0;
    snprintf(prefix, sizeof(prefix), "%s/", lab.dir);
    FILE *f = fopen("/proc/self/mountinfo", "re");
    while (f && n < 16 && fgets(line, sizeof(line), f))
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mps[n]) == 1 && startswith(mps[n], prefix))
            n++;
    if (f)
        fclose(f);
    while (n--)
        fusermount("-uz", mps[n]);
    char *argv[] = {"rm", "-rf", "--one-file-system", lab.dir, NULL};
    struct run_result r = {};
    run_argv(argv, NULL, &r);
    run_result_free(&r);
    lab.dir[0] = '\0';
}

static void remember_pid(pid_t pid)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/pid.%d", lab.dir, (int)pid);
    fl_write_file(path, "");
}

/* ---- sessions ---- */

void fl_session(const char *fmt, ...)
{
    char args[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    ck_assert_msg(lab_sh(&lab, "session %s", args) == 0, "lab.sh session %s failed", args);
}

static void write_random(const char *path, size_t size, time_t when)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
    char buf[4096];
    uint64_t x = (uint64_t)size * 2654435761u ^ (uint64_t)(uintptr_t)path ^ (uint64_t)when;
    for (size_t done = 0; done < size;) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (char)x;
        }
        size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);
        ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
        done += n;
    }
    struct timespec ts[2] = {{.tv_sec = when}, {.tv_sec = when}};
    ck_assert_int_eq(futimens(fd, ts), 0);
    close(fd);
}

void fl_plain_session(const char *p, const char *d, int videos, size_t size)
{
    char dir[512], path[700];
    time_t when = time(NULL) - 3 * 3600;
    lab_source_path(&lab, p, d, dir, sizeof(dir));
    ck_assert_int_eq(mct_mkdir_p(dir, 0755), 0);
    for (int i = 1; i <= videos; i++) {
        snprintf(path, sizeof(path), "%s/trial_%s_093000.%d.mp4", dir, d, 22000 + i);
        write_random(path, size, when);
    }
    snprintf(path, sizeof(path), "%s/trial_%s_093000.json", dir, d);
    write_random(path, 100, when);
}

void fl_recdb_add(const char *const *pd, size_t n)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/recdb-add.sql", lab.dir);
    struct mct_buf b = {};
    mct_buf_puts(&b, "BEGIN;\n");
    for (size_t i = 0; i < n; i++) {
        char p[128], d[16], iso[16];
        ck_assert_int_eq(sscanf(pd[i], "%127[^:]:%15s", p, d), 2);
        snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2s", d, d + 4, d + 6);
        mct_buf_printf(&b,
                       "INSERT INTO participants (name) SELECT '%s' WHERE NOT EXISTS "
                       "(SELECT 1 FROM participants WHERE name = '%s');\n"
                       "INSERT INTO sessions (session_date, session_path, participant_id) "
                       "SELECT '%s', '%s/%s/%s', id FROM participants WHERE name = '%s';\n",
                       p, p, iso, lab.data, p, d, p);
    }
    mct_buf_puts(&b, "COMMIT;\n");
    fl_write_file(path, b.data);
    mct_buf_free(&b);
    ck_assert_int_eq(lab_sh(&lab, "sqlite '.read %s'", path), 0);
}

int fl_shell(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = NULL;
    ck_assert_int_ge(vasprintf(&cmd, fmt, ap), 0);
    va_end(ap);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    struct run_result r = {};
    int status = run_argv(argv, NULL, &r);
    if (status != 0)
        fprintf(stderr, "sh -c '%s': exit %d\n%s%s", cmd, status, r.out, r.err);
    run_result_free(&r);
    free(cmd);
    return status;
}

/* ---- files ---- */

bool fl_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

char *fl_slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct mct_buf b = {};
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        ck_assert_int_eq(mct_buf_append(&b, chunk, (size_t)n), 0);
    int saved = errno;
    close(fd);
    if (n < 0) {
        mct_buf_free(&b);
        errno = saved;
        return NULL;
    }
    if (len)
        *len = b.len;
    if (!b.data)
        return strdup("");
    return mct_buf_steal(&b);
}

void fl_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    ck_assert_msg(f, "cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void digest_walk(const char *root, const char *rel, struct mct_buf *out)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s%s%s", root, *rel ? "/" : "", rel);
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    ck_assert_msg(n >= 0, "scandir %s: %s", dir, strerror(errno));
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        char sub[4096], path[8192];
        if (streq(name, ".") || streq(name, "..")) {
            free(names[i]);
            continue;
        }
        snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", name);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        free(names[i]);
        struct stat st;
        ck_assert_int_eq(lstat(path, &st), 0);
        uint64_t h = 14695981039346656037ULL;
        if (S_ISDIR(st.st_mode)) {
            mct_buf_printf(out, "d %s\n", sub);
            digest_walk(root, sub, out);
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t k = readlink(path, target, sizeof(target));
            ck_assert_int_ge(k, 0);
            mct_buf_printf(out, "l %s -> %.*s\n", sub, (int)k, target);
            continue;
        }
        size_t len = 0;
        _cleanup_free_ char *data = fl_slurp(path, &len);
        ck_assert_msg(data, "read %s: %s", path, strerror(errno));
        h = fnv(h, data, len);
        mct_buf_printf(out, "f %s %zu %016llx\n", sub, len, (unsigned long long)h);
    }
    free(names);
}

char *fl_tree_digest(const char *root)
{
    struct mct_buf b = {};
    if (fl_exists(root))
        digest_walk(root, "", &b);
    return b.data ? mct_buf_steal(&b) : strdup("");
}

char *fl_session_digest(const char *p, const char *d)
{
    char src[512];
    lab_source_path(&lab, p, d, src, sizeof(src));
    char *dg = fl_tree_digest(src);
    ck_assert_msg(*dg, "session %s is empty or gone", src);
    return dg;
}

size_t fl_count_entries(const char *dir, bool all)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d, "opendir %s: %s", dir, strerror(errno));
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && (all || de->d_name[0] != '.'))
            n++;
    closedir(d);
    return n;
}

size_t fl_log_count(const char *p, const char *d, const char *result)
{
    char path[512], who[300], res[100];
    snprintf(path, sizeof(path), "%s/deletions.log", lab.dir);
    snprintf(who, sizeof(who), "\"participant\":\"%s\",\"date\":\"%s\"", p, d);
    snprintf(res, sizeof(res), "\"result\":\"%s\"", result ? result : "");
    _cleanup_free_ char *text = fl_slurp(path, NULL);
    size_t n = 0;
    char *save = NULL;
    for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save))
        n += strstr(l, who) && (!result || strstr(l, res));
    return n;
}

bool fl_trash_empty(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/.mctfs-trash", lab.data);
    return !fl_exists(path) || fl_count_entries(path, true) == 0;
}

char *fl_trash_state(const char *p)
{
    char dir[512], prefix[200];
    snprintf(dir, sizeof(dir), "%s/.mctfs-trash", lab.data);
    snprintf(prefix, sizeof(prefix), "%s__", p);
    DIR *d = opendir(dir);
    char *state = NULL;
    struct dirent *de;
    while (d && !state && (de = readdir(d))) {
        if (!startswith(de->d_name, prefix) || !endswith(de->d_name, ".json"))
            continue;
        char path[800];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        _cleanup_free_ char *text = fl_slurp(path, NULL);
        const char *s = text ? strstr(text, "\"state\": \"") : NULL;
        if (s) {
            s += strlen("\"state\": \"");
            state = strndup(s, strcspn(s, "\""));
        }
    }
    if (d)
        closedir(d);
    return state;
}

const char *fl_config_variant(const char *name, const char *from, const char *to, const char *extra)
{
    static char path[400];
    _cleanup_free_ char *text = fl_slurp(lab.config, NULL);
    ck_assert_ptr_nonnull(text);
    struct mct_buf b = {};
    const char *p = text, *hit;
    if (from)
        ck_assert_msg(strstr(p, from), "\"%s\" not in the lab's config", from);
    while (from && (hit = strstr(p, from))) {
        mct_buf_append(&b, p, (size_t)(hit - p));
        mct_buf_puts(&b, to);
        p = hit + strlen(from);
    }
    mct_buf_puts(&b, p);
    if (extra)
        mct_buf_puts(&b, extra);
    snprintf(path, sizeof(path), "%s/%s.yaml", lab.dir, name);
    fl_write_file(path, b.data);
    mct_buf_free(&b);
    return path;
}

int fl_mctctl(const char *config, const char *stdin_text, struct run_result *r, ...)
{
    char *argv[64] = {(char *)env_path("MCTCTL"), "-c", (char *)(config ? config : lab.config)};
    size_t i = 3;
    va_list ap;
    va_start(ap, r);
    for (const char *a; (a = va_arg(ap, const char *));) {
        ck_assert_uint_lt(i, ARRAY_SIZE(argv) - 1);
        argv[i++] = (char *)a;
    }
    va_end(ap);
    argv[i] = NULL;
    return run_argv(argv, stdin_text, r);
}

/* ---- processes ---- */

pid_t fl_spawn(char *const argv[], const char *stdin_path, const char *log, char *const env_add[])
{
    char **env = NULL;
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    while (env_add && env_add[k])
        k++;
    env = calloc(n + k + 1, sizeof(char *));
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
    free(env);
    ck_assert_msg(r == 0, "spawning %s: %s", argv[0], strerror(r));
    remember_pid(pid);
    return pid;
}

int fl_wait_exit(pid_t pid, unsigned ms)
{
    int64_t end = mct_now_ms() + ms;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0 || mct_now_ms() >= end)
            return -1;
        fl_sleep_ms(10);
    }
}

/* Fields of /proc/PID/stat after the comm: state ppid pgrp ... */
static bool proc_stat(pid_t pid, char *comm, size_t commlen, char *state, pid_t *ppid, pid_t *pgrp)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_free_ char *text = fl_slurp(path, NULL);
    if (!text)
        return false;
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

char fl_proc_state(pid_t pid)
{
    char comm[64], state = 0;
    pid_t pp, pg;
    return proc_stat(pid, comm, sizeof(comm), &state, &pp, &pg) ? state : 0;
}

static size_t scan_procs(pid_t ppid, const char *comm, pid_t pgid, pid_t *out, size_t max)
{
    DIR *d = opendir("/proc");
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
    closedir(d);
    return n;
}

size_t fl_children(pid_t ppid, const char *comm, pid_t *out, size_t max)
{
    return scan_procs(ppid, comm, 0, out, max);
}

bool fl_pgrp_alive(pid_t pgid)
{
    pid_t dummy[1];
    return scan_procs(0, NULL, pgid, dummy, 1) > 0;
}

long fl_vmhwm_kb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    _cleanup_free_ char *text = fl_slurp(path, NULL);
    const char *s = text ? strstr(text, "VmHWM:") : NULL;
    return s ? strtol(s + strlen("VmHWM:"), NULL, 10) : -1;
}

/* ---- mounts ---- */

bool fl_is_mounted(const char *path)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    ck_assert_ptr_nonnull(f);
    char line[4096], mp[4096];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && streq(mp, path);
    fclose(f);
    return found;
}

static void wait_mounted(const char *path, pid_t pid, const char *log)
{
    int64_t end = mct_now_ms() + 15000;
    while (!fl_is_mounted(path)) {
        int status = fl_wait_exit(pid, 0);
        if (status >= 0) {
            _cleanup_free_ char *out = fl_slurp(log, NULL);
            ck_abort_msg("%s: exited %d before mounting:\n%s", path, status, out ? out : "");
        }
        ck_assert_msg(mct_now_ms() < end, "%s not mounted within 15 s", path);
        fl_sleep_ms(20);
    }
}

void fl_mount_with(struct fl_mount *m, const char *config, const char *options,
                   char *const env_add[])
{
    snprintf(m->dir, sizeof(m->dir), "%s/mnt.XXXXXX", lab.dir);
    ck_assert_ptr_nonnull(mkdtemp(m->dir));
    snprintf(m->log, sizeof(m->log), "%s.log", m->dir);
    char *argv[] = {(char *)env_path("MCTFS"),
                    "-c",
                    (char *)(config ? config : lab.config),
                    m->dir,
                    "-f",
                    options ? "-o" : NULL,
                    (char *)options,
                    NULL};
    m->pid = fl_spawn(argv, NULL, m->log, env_add);
    wait_mounted(m->dir, m->pid, m->log);
}

void fl_mount(struct fl_mount *m, const char *config, char *const env_add[])
{
    fl_mount_with(m, config, NULL, env_add);
}

static int fusermount(const char *flags, const char *path)
{
    char *argv[] = {"fusermount3", (char *)flags, (char *)path, NULL};
    struct run_result r = {};
    int status = run_argv(argv, NULL, &r);
    run_result_free(&r);
    return status;
}

void fl_unmount(struct fl_mount *m)
{
    if (m->pid <= 0)
        return;
    if (fusermount("-u", m->dir) != 0)
        fusermount("-uz", m->dir);
    int status = fl_wait_exit(m->pid, 15000);
    if (status < 0)
        kill(m->pid, SIGKILL);
    m->pid = -1;
    _cleanup_free_ char *out = fl_slurp(m->log, NULL);
    ck_assert_msg(status == 0, "mctfs exited with %d:\n%s", status, out ? out : "");
    ck_assert(!fl_is_mounted(m->dir));
}

void fl_unmount_dead(struct fl_mount *m)
{
    fusermount("-uz", m->dir);
    m->pid = -1;
    ck_assert(!fl_is_mounted(m->dir));
}

void fl_mpath(const struct fl_mount *m, char *out, size_t len, const char *fmt, ...)
{
    char rel[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    ck_assert_msg((size_t)snprintf(out, len, "%s/%s", m->dir, rel) < len, "path too long");
}

char *fl_vfile(const struct fl_mount *m, const char *p, const char *d, const char *name)
{
    char path[700];
    fl_mpath(m, path, sizeof(path), "%s/%s/%s", p, d, name);
    char *s = fl_slurp(path, NULL);
    ck_assert_msg(s, "reading %s: %s", path, strerror(errno));
    return s;
}

ssize_t fl_control_write(const struct fl_mount *m, const char *p, const char *d, const void *text,
                         size_t len, int *err)
{
    char path[700];
    fl_mpath(m, path, sizeof(path), "%s/%s/.control", p, d);
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    ssize_t n = write(fd, text, len);
    *err = n < 0 ? errno : 0;
    close(fd);
    return n;
}

pid_t fl_hangfs_start(char *dir, size_t len)
{
    char log[450];
    snprintf(dir, len, "%s/hang.XXXXXX", lab.dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(log, sizeof(log), "%s.log", dir);
    char *argv[] = {(char *)env_path("HANGFS"), dir, "-f", NULL};
    pid_t pid = fl_spawn(argv, NULL, log, NULL);
    wait_mounted(dir, pid, log);
    return pid;
}

void fl_hangfs_stop(pid_t pid, const char *dir)
{
    /* SIGKILL aborts the connection, failing every blocked request. */
    kill(pid, SIGKILL);
    fl_wait_exit(pid, 10000);
    fusermount("-uz", dir);
}

pid_t fl_foldfs_start(const char *backing, char *mountpoint, size_t len)
{
    char log[450];
    snprintf(mountpoint, len, "%s/fold.XXXXXX", lab.dir);
    ck_assert_ptr_nonnull(mkdtemp(mountpoint));
    snprintf(log, sizeof(log), "%s.log", mountpoint);
    /* Open to the service user too, with the kernel checking modes. */
    char *argv[] = {(char *)env_path("FOLDFS"),
                    (char *)backing,
                    mountpoint,
                    "-f",
                    "-o",
                    "allow_other,default_permissions",
                    NULL};
    pid_t pid = fl_spawn(argv, NULL, log, NULL);
    wait_mounted(mountpoint, pid, log);
    return pid;
}

void fl_foldfs_stop(pid_t pid, const char *mountpoint)
{
    /* A plain unmount, as the share would be: foldfs must then exit 0. */
    char log[450];
    snprintf(log, sizeof(log), "%s.log", mountpoint);
    int um = fusermount("-u", mountpoint);
    int status = um == 0 ? fl_wait_exit(pid, 15000) : -1;
    if (status != 0) {
        kill(pid, SIGKILL);
        fl_wait_exit(pid, 10000);
        fusermount("-uz", mountpoint);
    }
    _cleanup_free_ char *out = fl_slurp(log, NULL);
    ck_assert_msg(um == 0, "fusermount3 -u %s failed:\n%s", mountpoint, out ? out : "");
    ck_assert_msg(status == 0, "foldfs exited with %d:\n%s", status, out ? out : "");
    ck_assert(!fl_is_mounted(mountpoint));
}

int fl_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
