/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount, for real: mctfs over the private lab (MariaDB, SQLite, a tmpfs
 * share, real rsync), as root with /dev/fuse. One lab for the whole run,
 * one mount per test on its own mount point, and every test uses its own
 * participant so the tests do not see each other's sessions.
 *
 * A failed assertion ends the forked test without its teardown, so every
 * process a test starts leaves its pid in the lab; the lab's teardown kills
 * them and unmounts whatever is left.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>

#include "fault_lib.h"
#include "harness.h"
#include "util.h"

extern char **environ;

/* The current test's mount. */
static char mnt[400];
static pid_t mctfs_pid = -1;
static char mctfs_log[420];

static const char *env_path(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(!strempty(v), "$%s is not set (run through meson test)", name);
    return v;
}

static void session(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void session(const char *fmt, ...)
{
    char args[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    ck_assert_msg(lab_sh(&lab, "session %s", args) == 0, "lab.sh session %s failed", args);
}

static char *slurp_ok(const char *path, size_t *len)
{
    char *s = fl_slurp(path, len);
    ck_assert_msg(s, "reading %s: %s", path, strerror(errno));
    return s;
}

static void mpath(char *out, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void mpath(char *out, size_t len, const char *fmt, ...)
{
    char rel[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    ck_assert_msg((size_t)snprintf(out, len, "%s/%s", mnt, rel) < len, "path too long");
}

/* ---- mounting ---- */

static void remember_pid(const char *what, pid_t pid)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/%s.%d.pid", lab.dir, what, (int)pid);
    FILE *f = fopen(path, "we");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%d\n", (int)pid);
    fclose(f);
}

static pid_t spawn_logged(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid;
    int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    ck_assert_msg(r == 0, "spawning %s: %s", argv[0], strerror(r));
    return pid;
}

/* Wait until path is a mount point, failing if pid exits first. */
static void wait_mounted(const char *path, pid_t pid, const char *log)
{
    int64_t end = mct_now_ms() + 15000;
    while (!fl_is_mounted(path)) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            _cleanup_free_ char *out = fl_slurp(log, NULL);
            ck_abort_msg("%s exited (status %d) before mounting:\n%s", path, status,
                         out ? out : "");
        }
        ck_assert_msg(mct_now_ms() < end, "%s not mounted within 15 s", path);
        fl_sleep_ms(20);
    }
}

/* mctfs must exit 0 within 15 s (after an unmount or SIGTERM). */
static void assert_clean_exit(void)
{
    int status = fl_wait_exit(mctfs_pid, 15000);
    if (status < 0) {
        kill(mctfs_pid, SIGKILL);
        fl_wait_exit(mctfs_pid, 5000);
    }
    mctfs_pid = -1;
    if (status != 0) {
        _cleanup_free_ char *out = fl_slurp(mctfs_log, NULL);
        ck_abort_msg("mctfs exited with %d:\n%s", status, out ? out : "");
    }
}

/* mctfs -c CONFIG MNT -f [-o OPT], in the background. */
static void mount_mctfs(const char *config, const char *opt)
{
    snprintf(mnt, sizeof(mnt), "%s/mnt.XXXXXX", lab.dir);
    ck_assert_ptr_nonnull(mkdtemp(mnt));
    snprintf(mctfs_log, sizeof(mctfs_log), "%s.log", mnt);

    char *argv[8] = {(char *)env_path("MCTFS"), "-c", (char *)config, mnt, "-f"};
    if (opt) {
        argv[5] = "-o";
        argv[6] = (char *)opt;
    }
    mctfs_pid = spawn_logged(argv, mctfs_log);
    remember_pid("mctfs", mctfs_pid);
    wait_mounted(mnt, mctfs_pid, mctfs_log);
}

static int fusermount(const char *flags, const char *path)
{
    char *argv[] = {"fusermount3", (char *)flags, (char *)path, NULL};
    struct run_result r = {};
    int status = run_argv(argv, NULL, &r);
    run_result_free(&r);
    return status;
}

/* Unmount and expect mctfs to exit 0 (a clean unmount). */
static void unmount_mctfs(void)
{
    if (mctfs_pid < 0)
        return;
    if (fusermount("-u", mnt) != 0)
        fusermount("-uz", mnt);
    assert_clean_exit();
    ck_assert(!fl_is_mounted(mnt));
}

static void mount_lab(void)
{
    mount_mctfs(lab.config, NULL);
}

/* ---- fixtures ---- */

static void lab_setup(void)
{
    lab_up(&lab);
}

/* Kill whatever a failed test left running, then tear the lab down
 * (which unmounts everything under it). */
static void lab_teardown(void)
{
    DIR *d = opendir(lab.dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        int pid;
        if (sscanf(de->d_name, "mctfs.%d.pid", &pid) == 1)
            kill(pid, SIGTERM);
        else if (sscanf(de->d_name, "hangfs.%d.pid", &pid) == 1)
            kill(pid, SIGKILL);
    }
    if (d)
        closedir(d);
    lab_down(&lab);
}

static void test_teardown(void)
{
    unmount_mctfs();
}

/* ---- helpers on the mount ---- */

/* Open .control for writing as `echo TEXT > .control` does, write len
 * bytes; the write's result, errno in *err. */
static ssize_t control_write(const char *p, const char *d, const void *text, size_t len, int *err)
{
    char path[600];
    mpath(path, sizeof(path), "%s/%s/.control", p, d);
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    ssize_t n = write(fd, text, len);
    *err = n < 0 ? errno : 0;
    close(fd);
    return n;
}

static char *vfile(const char *p, const char *d, const char *name)
{
    char path[600];
    mpath(path, sizeof(path), "%s/%s/%s", p, d, name);
    return slurp_ok(path, NULL);
}

static size_t count_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d, "opendir %s: %s", dir, strerror(errno));
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static bool dir_lists(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d, "opendir %s: %s", dir, strerror(errno));
    bool found = false;
    struct dirent *de;
    while ((de = readdir(d)))
        if (streq(de->d_name, name))
            found = true;
    closedir(d);
    return found;
}

#define assert_starts(s, prefix)                                                                   \
    ck_assert_msg(startswith((s), (prefix)), "expected \"%s...\", got \"%s\"", (prefix), (s))

/* ---- the view ---- */

START_TEST(virtual_files_in_each_state)
{
    session("p101 20240101 --imported --dj --copy"); /* safe */
    session("p102 20240102 --copy");                 /* copied, not imported */
    session("p103 20240103 --imported --dj");        /* imported, no copy */
    mount_lab();

    _cleanup_free_ char *safe = vfile("p101", "20240101", ".safe_to_delete");
    ck_assert_str_eq(safe, "yes\n");
    _cleanup_free_ char *backup = vfile("p101", "20240101", ".backup_status");
    assert_starts(backup, "verified");
    _cleanup_free_ char *json = vfile("p101", "20240101", ".status.json");
    assert_starts(json, "{");
    ck_assert_ptr_nonnull(strstr(json, "\"p101\""));

    _cleanup_free_ char *safe2 = vfile("p102", "20240102", ".safe_to_delete");
    assert_starts(safe2, "no: ");
    _cleanup_free_ char *backup2 = vfile("p102", "20240102", ".backup_status");
    assert_starts(backup2, "verified");

    _cleanup_free_ char *safe3 = vfile("p103", "20240103", ".safe_to_delete");
    assert_starts(safe3, "no: ");
    _cleanup_free_ char *backup3 = vfile("p103", "20240103", ".backup_status");
    assert_starts(backup3, "missing");

    _cleanup_free_ char *ctl = vfile("p101", "20240101", ".control");
    assert_starts(ctl, "no command yet");

    /* .status is the text of `mctctl status P D` and .status.json its
     * --json, final newline included: the mount and the CLI cannot
     * disagree. */
    const char *cases[][2] = {{"p101", "20240101"}, {"p102", "20240102"}, {"p103", "20240103"}};
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct run_result r = {};
        run_mctctl(&lab, NULL, &r, "--no-color", "status", cases[i][0], cases[i][1], NULL);
        ck_assert_msg(!strempty(r.out), "mctctl status: %s", r.err);
        _cleanup_free_ char *text = vfile(cases[i][0], cases[i][1], ".status");
        ck_assert_str_eq(text, r.out);
        run_result_free(&r);
        run_mctctl(&lab, NULL, &r, "--json", "status", cases[i][0], cases[i][1], NULL);
        ck_assert_msg(endswith(r.out, "}\n"), "mctctl --json status: %s%s", r.out, r.err);
        _cleanup_free_ char *js = vfile(cases[i][0], cases[i][1], ".status.json");
        ck_assert_str_eq(js, r.out);
        run_result_free(&r);
    }

    /* The root: every local session, as table and array. */
    char path[600];
    mpath(path, sizeof(path), ".status");
    _cleanup_free_ char *root = slurp_ok(path, NULL);
    ck_assert_ptr_nonnull(strstr(root, "p101"));
    ck_assert_ptr_nonnull(strstr(root, "p102"));
    ck_assert_ptr_nonnull(strstr(root, "p103"));
    mpath(path, sizeof(path), ".status.json");
    _cleanup_free_ char *rootjson = slurp_ok(path, NULL);
    assert_starts(rootjson, "[");
    ck_assert_msg(endswith(rootjson, "]\n"), "%s", rootjson);
    ck_assert_ptr_nonnull(strstr(rootjson, "\"p103\""));

    /* Listed (they are dot-files: `ls -a` shows them, `ls` does not). */
    mpath(path, sizeof(path), "p101/20240101");
    ck_assert(dir_lists(path, ".status"));
    ck_assert(dir_lists(path, ".control"));
    ck_assert(dir_lists(path, ".safe_to_delete"));
    ck_assert(dir_lists(mnt, ".status.json"));
    /* A folder that is not a session has none. */
    mpath(path, sizeof(path), "p101");
    ck_assert(!dir_lists(path, ".status"));
}
END_TEST

START_TEST(stat_size_is_the_content_length)
{
    session("p111 20240111 --imported --dj --copy");
    mount_lab();

    static const char *const names[] = {".status", ".status.json", ".backup_status",
                                        ".safe_to_delete", ".control"};
    char path[600];
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        mpath(path, sizeof(path), "p111/20240111/%s", names[i]);
        size_t len;
        _cleanup_free_ char *text = slurp_ok(path, &len);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_msg((size_t)st.st_size == len, "%s: stat says %lld, read %zu", names[i],
                      (long long)st.st_size, len);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_uint_gt(len, 0);

        /* Partial reads of one open see one rendering. */
        int fd = open(path, O_RDONLY);
        ck_assert_int_ge(fd, 0);
        char head[8], rest[65536];
        ssize_t a = read(fd, head, sizeof(head));
        ssize_t b = read(fd, rest, sizeof(rest));
        close(fd);
        ck_assert_int_eq(a + b, (ssize_t)len);
        ck_assert(memcmp(head, text, (size_t)a) == 0);
        ck_assert(memcmp(rest, text + a, (size_t)b) == 0);
    }
    for (size_t i = 0; i < 2; i++) {
        mpath(path, sizeof(path), "%s", names[i]);
        size_t len;
        _cleanup_free_ char *text = slurp_ok(path, &len);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq((size_t)st.st_size, len);
    }
}
END_TEST

/* The first video lab.sh makes in session P D: on disk and through the mount. */
static void first_video(const char *p, const char *d, char src[600], char via[600])
{
    char rel[200];
    snprintf(rel, sizeof(rel), "%s/%s/trial_%s_093000.22001.mp4", p, d, d);
    snprintf(src, 600, "%s/%s", lab.data, rel);
    mpath(via, 600, "%s", rel);
}

START_TEST(video_bytes_are_identical)
{
    session("p121 20240121 --videos 2 --size 3000000");
    mount_lab();

    char src[600], via[600];
    first_video("p121", "20240121", src, via);

    size_t n_src, n_via;
    _cleanup_free_ char *a = slurp_ok(src, &n_src);
    ck_assert_uint_eq(n_src, 3000000);
    /* Twice: the second open keeps the kernel's cache (unchanged file). */
    for (int pass = 0; pass < 2; pass++) {
        _cleanup_free_ char *b = slurp_ok(via, &n_via);
        ck_assert_uint_eq(n_via, n_src);
        ck_assert(memcmp(a, b, n_src) == 0);
    }

    /* A read in the middle. */
    int fd = open(via, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    char buf[10000];
    ck_assert_int_eq(pread(fd, buf, sizeof(buf), 1234567), (ssize_t)sizeof(buf));
    ck_assert(memcmp(buf, a + 1234567, sizeof(buf)) == 0);
    close(fd);

    struct stat s1, s2;
    ck_assert_int_eq(stat(src, &s1), 0);
    ck_assert_int_eq(stat(via, &s2), 0);
    ck_assert_int_eq(s1.st_size, s2.st_size);
    ck_assert_int_eq(s1.st_mtime, s2.st_mtime);
}
END_TEST

/* The kernel keeps a file's size for mount.attr_seconds; a recording that
 * grows meanwhile must still be read to its end through the mount. */
START_TEST(a_growing_file_is_read_to_its_end)
{
    session("p122 20240122 --videos 1 --size 100000");
    mount_lab();

    char src[600], via[600];
    first_video("p122", "20240122", src, via);

    struct stat st;
    size_t n;
    ck_assert_int_eq(stat(via, &st), 0);
    ck_assert_int_eq(st.st_size, 100000);
    free(slurp_ok(via, &n));
    ck_assert_uint_eq(n, 100000);

    int fd = open(src, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    char more[50000];
    memset(more, 'x', sizeof(more));
    ck_assert_int_eq(write(fd, more, sizeof(more)), (ssize_t)sizeof(more));
    close(fd);

    size_t n_src;
    _cleanup_free_ char *a = slurp_ok(src, &n_src);
    _cleanup_free_ char *b = slurp_ok(via, &n);
    ck_assert_uint_eq(n_src, 150000);
    ck_assert_uint_eq(n, n_src);
    ck_assert(memcmp(a, b, n) == 0);
}
END_TEST

START_TEST(writes_to_real_files_are_erofs)
{
    session("p131 20240131");
    mount_lab();

    char dir[600], video[600], other[600];
    mpath(dir, sizeof(dir), "p131/20240131");
    mpath(video, sizeof(video), "p131/20240131/trial_20240131_093000.22001.mp4");
    mpath(other, sizeof(other), "p131/20240131/new.mp4");

#define ASSERT_EROFS(call)                                                                         \
    do {                                                                                           \
        errno = 0;                                                                                 \
        ck_assert_msg((call) < 0 && errno == EROFS, #call ": %s", strerror(errno));                \
    } while (0)

    ASSERT_EROFS(open(video, O_WRONLY));
    ASSERT_EROFS(open(video, O_RDWR));
    ASSERT_EROFS(open(video, O_WRONLY | O_TRUNC));
    ASSERT_EROFS(open(other, O_WRONLY | O_CREAT, 0644));
    ASSERT_EROFS(mknod(other, S_IFREG | 0644, 0));
    ASSERT_EROFS(unlink(video));
    ASSERT_EROFS(rename(video, other));
    ASSERT_EROFS(link(video, other));
    ASSERT_EROFS(symlink("x", other));
    char sub[640];
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    ASSERT_EROFS(mkdir(sub, 0755));
    ASSERT_EROFS(rmdir(dir));
    ASSERT_EROFS(chmod(video, 0600));
    ASSERT_EROFS(chown(video, 1, 1));
    ASSERT_EROFS(truncate(video, 0));
    ASSERT_EROFS(utimes(video, NULL));
    ASSERT_EROFS(setxattr(video, "user.x", "1", 1, 0));

    /* Nothing changed underneath. */
    char src[600];
    snprintf(src, sizeof(src), "%s/p131/20240131", lab.data);
    ck_assert_uint_eq(count_files(src), 5);
    struct stat st;
    snprintf(src, sizeof(src), "%s/p131/20240131/trial_20240131_093000.22001.mp4", lab.data);
    ck_assert_int_eq(stat(src, &st), 0);
    ck_assert_int_eq(st.st_size, 2000);
    ck_assert_int_eq(st.st_mode & 07777, 0644);
}
END_TEST

START_TEST(trash_is_hidden)
{
    session("p141 20240201");
    char trash[600];
    snprintf(trash, sizeof(trash), "%s/.mctfs-trash/left", lab.data);
    ck_assert_int_eq(mct_mkdir_p(trash, 0700), 0);
    mount_lab();

    ck_assert(!dir_lists(mnt, ".mctfs-trash"));
    ck_assert(dir_lists(mnt, "p141"));
    char path[600];
    struct stat st;
    mpath(path, sizeof(path), ".mctfs-trash");
    ck_assert(stat(path, &st) < 0 && errno == ENOENT);
    mpath(path, sizeof(path), ".mctfs-trash/left");
    ck_assert(stat(path, &st) < 0 && errno == ENOENT);
}
END_TEST

/* ---- the control file ---- */

START_TEST(sync_then_verified)
{
    session("p151 20240301 --imported --dj");
    mount_lab();

    _cleanup_free_ char *before = vfile("p151", "20240301", ".backup_status");
    assert_starts(before, "missing");
    _cleanup_free_ char *safe_before = vfile("p151", "20240301", ".safe_to_delete");
    assert_starts(safe_before, "no: ");

    int err;
    ck_assert_int_eq(control_write("p151", "20240301", "SYNC\n", 5, &err), 5);

    /* Right after the write returns, the new state. */
    _cleanup_free_ char *after = vfile("p151", "20240301", ".backup_status");
    assert_starts(after, "verified");
    _cleanup_free_ char *safe = vfile("p151", "20240301", ".safe_to_delete");
    ck_assert_str_eq(safe, "yes\n");
    _cleanup_free_ char *ctl = vfile("p151", "20240301", ".control");
    ck_assert_msg(strstr(ctl, "command: SYNC") && strstr(ctl, "outcome: ok") &&
                          strstr(ctl, "uid: 0"),
                  "%s", ctl);

    char dest[600];
    lab_dest_path(&lab, "p151", "20240301", dest, sizeof(dest));
    ck_assert_uint_eq(count_files(dest), 5);

    /* VERIFY of a good copy succeeds too. */
    ck_assert_int_eq(control_write("p151", "20240301", "VERIFY", 6, &err), 6);
}
END_TEST

struct writer {
    const char *p, *d;
    ssize_t n;
    int err;
};

static void *sync_thread(void *arg)
{
    struct writer *w = arg;
    w->n = control_write(w->p, w->d, "SYNC\n", 5, &w->err);
    return NULL;
}

START_TEST(sync_progress_is_visible)
{
    /* Slow rsync down so the copy takes a few seconds. */
    const char *cfg = fl_config_variant("slow", "    flags: \"-avh\"\n",
                                        "    flags: \"-avh\"\n    bandwidth_limit: 1000\n", NULL);
    session("p152 20240302 --imported --dj --videos 1 --size 4000000");
    mount_mctfs(cfg, NULL);

    struct writer w = {.p = "p152", .d = "20240302"};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, sync_thread, &w), 0);

    bool seen = false;
    char last[512] = "";
    int64_t end = mct_now_ms() + 30000;
    while (!seen && mct_now_ms() < end && w.n == 0) {
        _cleanup_free_ char *b = vfile("p152", "20240302", ".backup_status");
        snprintf(last, sizeof(last), "%s", b);
        seen = startswith(b, "syncing ") || startswith(b, "verifying ");
        if (seen) {
            ck_assert_msg(strchr(b, '%'), "%s", b);
            _cleanup_free_ char *s = vfile("p152", "20240302", ".safe_to_delete");
            assert_starts(s, "no: ");
        }
        fl_sleep_ms(100);
    }
    pthread_join(t, NULL);
    ck_assert_msg(seen, "no progress shown in .backup_status during SYNC (write: %zd %s; last: %s)",
                  w.n, strerror(w.err), last);
    ck_assert_int_eq(w.n, 5);
    _cleanup_free_ char *after = vfile("p152", "20240302", ".backup_status");
    assert_starts(after, "verified");
}
END_TEST

START_TEST(delete_of_a_safe_session)
{
    session("p161 20240401 --imported --dj --copy");
    mount_lab();

    _cleanup_free_ char *safe = vfile("p161", "20240401", ".safe_to_delete");
    ck_assert_str_eq(safe, "yes\n");

    /* Listed first, so the kernel holds both listings when it goes. */
    char dir[600];
    mpath(dir, sizeof(dir), "p161");
    ck_assert(dir_lists(mnt, "p161"));
    ck_assert(dir_lists(dir, "20240401"));

    int err;
    ck_assert_int_eq(control_write("p161", "20240401", "DELETE\n", 7, &err), 7);

    char path[600];
    struct stat st;
    /* The participant's folder goes too when it is left empty. */
    mpath(path, sizeof(path), "p161");
    ck_assert(stat(path, &st) < 0 ? errno == ENOENT : !dir_lists(path, "20240401"));
    ck_assert(!dir_lists(mnt, "p161") || stat(path, &st) == 0);
    mpath(path, sizeof(path), "p161/20240401");
    ck_assert_msg(stat(path, &st) < 0 && errno == ENOENT, "deleted session still visible");
    mpath(path, sizeof(path), "p161/20240401/.status");
    ck_assert(stat(path, &st) < 0 && errno == ENOENT);

    char src[600], dest[600];
    lab_source_path(&lab, "p161", "20240401", src, sizeof(src));
    ck_assert(stat(src, &st) < 0 && errno == ENOENT);
    lab_dest_path(&lab, "p161", "20240401", dest, sizeof(dest));
    ck_assert_uint_eq(count_files(dest), 5);

    /* The root no longer lists it. */
    mpath(path, sizeof(path), ".status");
    _cleanup_free_ char *root = slurp_ok(path, NULL);
    ck_assert_ptr_null(strstr(root, "p161"));
}
END_TEST

/* Listings are cached by the kernel for mount.attr_seconds: a session
 * recorded while mounted is listed once that has passed, and a name typed
 * in full is found at once. */
START_TEST(new_sessions_are_listed)
{
    session("p171 20240501");
    mount_mctfs(fl_config_variant("attr1", NULL, NULL, "mount:\n  attr_seconds: 1\n"), NULL);
    char dir[600];
    mpath(dir, sizeof(dir), "p171");
    ck_assert(dir_lists(mnt, "p171"));
    ck_assert(dir_lists(dir, "20240501"));
    ck_assert(!dir_lists(dir, "20240502"));

    session("p171 20240502");
    session("p172 20240502");
    char path[600];
    struct stat st;
    mpath(path, sizeof(path), "p172/20240502/.status");
    ck_assert_int_eq(stat(path, &st), 0);

    bool listed = false;
    for (int i = 0; i < 40 && !listed; i++) {
        listed = dir_lists(dir, "20240502") && dir_lists(mnt, "p172");
        if (!listed)
            fl_sleep_ms(100);
    }
    ck_assert_msg(listed, "new sessions not listed 4 s after they were made (attr_seconds 1)");
}
END_TEST

START_TEST(delete_of_an_unsafe_session_is_eperm)
{
    session("p171 20240501 --copy"); /* not imported */
    mount_lab();

    int err;
    ck_assert_int_eq(control_write("p171", "20240501", "DELETE\n", 7, &err), -1);
    ck_assert_int_eq(err, EPERM);

    char src[600];
    lab_source_path(&lab, "p171", "20240501", src, sizeof(src));
    ck_assert_uint_eq(count_files(src), 5);
    _cleanup_free_ char *ctl = vfile("p171", "20240501", ".control");
    ck_assert_msg(strstr(ctl, "command: DELETE") && strstr(ctl, "outcome: refused"), "%s", ctl);
    _cleanup_free_ char *status = vfile("p171", "20240501", ".status");
    ck_assert_ptr_nonnull(strstr(status, "Safe to delete: NO"));
}
END_TEST

START_TEST(garbage_is_einval)
{
    session("p181 20240601 --imported --dj --copy"); /* safe: a DELETE would work */
    mount_lab();

    char big[1000];
    memset(big, 'A', sizeof(big));
    memcpy(big, "DELETE\n", 7);
    static const char binary[] = {'D', 'E', 'L', 'E', 'T', 'E', '\0', '\xff', '\n'};
    const struct {
        const char *text;
        size_t len;
    } cases[] = {
            {"FOO\n", 4},  {"DELETE now", 10},       {"delete\n", 7},    {"\n", 1},
            {"  \t\n", 4}, {"DELETE\nDELETE\n", 14}, {big, sizeof(big)}, {binary, sizeof(binary)},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int err;
        ck_assert_msg(control_write("p181", "20240601", cases[i].text, cases[i].len, &err) == -1 &&
                              err == EINVAL,
                      "case %zu: %s", i, strerror(err));
    }

    /* A command not at offset 0 is not one command. */
    char path[600];
    mpath(path, sizeof(path), "p181/20240601/.control");
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    errno = 0;
    ck_assert(pwrite(fd, "DELETE", 6, 3) < 0 && errno == EINVAL);
    /* An empty write never reaches the file system, and does nothing. */
    ck_assert_int_le(write(fd, "", 0), 0);
    close(fd);

    char src[600];
    lab_source_path(&lab, "p181", "20240601", src, sizeof(src));
    ck_assert_uint_eq(count_files(src), 5);
    _cleanup_free_ char *ctl = vfile("p181", "20240601", ".control");
    assert_starts(ctl, "no command yet");

    /* The status files cannot be written at all. */
    mpath(path, sizeof(path), "p181/20240601/.status");
    ck_assert(open(path, O_WRONLY) < 0 && errno == EACCES);
}
END_TEST

START_TEST(other_uid_gets_eacces)
{
    session("p191 20240701 --imported --dj --copy");
    mount_mctfs(lab.config, "allow_other");

    char dir[600];
    mpath(dir, sizeof(dir), "p191/20240701");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* The lab folder is private: enter the mount before dropping root. */
        if (chdir(dir) < 0)
            _exit(10);
        if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
            setresuid(65534, 65534, 65534) < 0)
            _exit(11);
        int fd = open(".control", O_WRONLY | O_TRUNC);
        if (fd >= 0 || errno != EACCES)
            _exit(12);
        if (truncate(".control", 0) == 0 || errno != EACCES)
            _exit(13);
        char buf[4096];
        fd = open(".status", O_RDONLY);
        if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
            _exit(14);
        close(fd);
        fd = open(".control", O_RDONLY);
        if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
            _exit(15);
        close(fd);
        _exit(0);
    }
    ck_assert_int_eq(fl_wait_exit(pid, 60000), 0);

    char src[600];
    lab_source_path(&lab, "p191", "20240701", src, sizeof(src));
    ck_assert_uint_eq(count_files(src), 5);
    /* The owner still may. */
    int err;
    ck_assert_int_eq(control_write("p191", "20240701", "VERIFY\n", 7, &err), 7);
}
END_TEST

struct deleter {
    pthread_barrier_t *barrier;
    int fd;
    ssize_t n;
    int err;
};

static void *delete_thread(void *arg)
{
    struct deleter *d = arg;
    pthread_barrier_wait(d->barrier);
    d->n = write(d->fd, "DELETE\n", 7);
    d->err = d->n < 0 ? errno : 0;
    return NULL;
}

START_TEST(concurrent_deletes_delete_once)
{
    session("p201 20240801 --imported --dj --copy");
    mount_lab();

    char path[600];
    mpath(path, sizeof(path), "p201/20240801/.control");
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    struct deleter d[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        d[i] = (struct deleter){.barrier = &barrier, .fd = open(path, O_WRONLY | O_TRUNC)};
        ck_assert_int_ge(d[i].fd, 0);
    }
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, delete_thread, &d[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        close(d[i].fd);
    }
    pthread_barrier_destroy(&barrier);

    int ok = (d[0].n == 7) + (d[1].n == 7);
    ck_assert_msg(ok == 1, "%d deletes succeeded (%zd/%s, %zd/%s)", ok, d[0].n, strerror(d[0].err),
                  d[1].n, strerror(d[1].err));
    struct deleter *loser = d[0].n == 7 ? &d[1] : &d[0];
    ck_assert_msg(loser->err == EBUSY || loser->err == ENOENT || loser->err == EPERM,
                  "the second delete failed with %s", strerror(loser->err));

    char src[600], dest[600];
    struct stat st;
    lab_source_path(&lab, "p201", "20240801", src, sizeof(src));
    ck_assert(stat(src, &st) < 0 && errno == ENOENT);
    lab_dest_path(&lab, "p201", "20240801", dest, sizeof(dest));
    ck_assert_uint_eq(count_files(dest), 5);
}
END_TEST

/* ---- freshness ---- */

START_TEST(local_changes_refresh_the_status)
{
    session("p241 20241101 --imported --dj --copy");
    session("p242 20241102 --imported --dj --copy");
    mount_lab();

    _cleanup_free_ char *safe = vfile("p241", "20241101", ".safe_to_delete");
    ck_assert_str_eq(safe, "yes\n");
    _cleanup_free_ char *safe2 = vfile("p242", "20241102", ".safe_to_delete");
    ck_assert_str_eq(safe2, "yes\n");

    /* A file added: the copy lacks it, at once (not after cache_seconds). */
    char src[600];
    snprintf(src, sizeof(src), "%s/p241/20241101/trial_20241101_101500.22001.mp4", lab.data);
    FILE *f = fopen(src, "we");
    ck_assert_ptr_nonnull(f);
    fputs("new recording", f);
    fclose(f);
    _cleanup_free_ char *after = vfile("p241", "20241101", ".safe_to_delete");
    assert_starts(after, "no: ");
    _cleanup_free_ char *backup = vfile("p241", "20241101", ".backup_status");
    assert_starts(backup, "unverified");

    /* A file that grew (the folder's mtime does not change). */
    snprintf(src, sizeof(src), "%s/p242/20241102/trial_20241102_093000.22003.mp4", lab.data);
    f = fopen(src, "ae");
    ck_assert_ptr_nonnull(f);
    fputs("more frames", f);
    fclose(f);
    _cleanup_free_ char *grown = vfile("p242", "20241102", ".safe_to_delete");
    assert_starts(grown, "no: ");
}
END_TEST

START_TEST(database_down_is_never_safe)
{
    session("p251 20241201 --imported --dj --copy");
    ck_assert_int_eq(lab_sh(&lab, "db-stop"), 0);
    mount_lab();

    /* Within the database timeout (2 s) and a little: unknown, not safe. */
    int64_t t0 = mct_now_ms();
    _cleanup_free_ char *safe = vfile("p251", "20241201", ".safe_to_delete");
    int64_t took = mct_now_ms() - t0;
    assert_starts(safe, "no: ");
    ck_assert_msg(took < 6000, ".safe_to_delete took %lld ms", (long long)took);
    _cleanup_free_ char *json = vfile("p251", "20241201", ".status.json");
    ck_assert_ptr_null(strstr(json, "\"safe_to_delete\":true"));

    int err;
    ck_assert_int_eq(control_write("p251", "20241201", "DELETE\n", 7, &err), -1);
    ck_assert_int_eq(err, EPERM);
    char src[600];
    lab_source_path(&lab, "p251", "20241201", src, sizeof(src));
    ck_assert_uint_eq(count_files(src), 5);

    ck_assert_int_eq(lab_sh(&lab, "db-start"), 0);
}
END_TEST

/* ---- a hung share, unmounting ---- */

START_TEST(hung_share_does_not_block_the_view)
{
    session("p211 20240901 --imported --dj");

    /* hangfs as the destination's mount point: every stat of it hangs. */
    char hang[400], hang_log[420];
    snprintf(hang, sizeof(hang), "%s/hang", lab.dir);
    snprintf(hang_log, sizeof(hang_log), "%s/hangfs.log", lab.dir);
    ck_assert_int_eq(mkdir(hang, 0755), 0);
    char *argv[] = {(char *)env_path("HANGFS"), hang, "-f", NULL};
    pid_t hangfs = spawn_logged(argv, hang_log);
    remember_pid("hangfs", hangfs);
    wait_mounted(hang, hangfs, hang_log);
    mount_mctfs(fl_config_variant("hung", lab.share, hang, NULL), NULL);

    /* Listing, lookups and video reads answer at once. */
    int64_t t0 = mct_now_ms();
    ck_assert(dir_lists(mnt, "p211"));
    char path[600], src[600];
    mpath(path, sizeof(path), "p211/20240901");
    ck_assert(dir_lists(path, "trial_20240901_093000.22001.mp4"));
    mpath(path, sizeof(path), "p211/20240901/trial_20240901_093000.22002.mp4");
    snprintf(src, sizeof(src), "%s/p211/20240901/trial_20240901_093000.22002.mp4", lab.data);
    size_t n1, n2;
    _cleanup_free_ char *a = slurp_ok(path, &n1);
    _cleanup_free_ char *b = slurp_ok(src, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert(memcmp(a, b, n1) == 0);
    ck_assert_int_lt(mct_now_ms() - t0, 1500);

    /* The status says so within the share timeout (2 s) and a little. */
    t0 = mct_now_ms();
    _cleanup_free_ char *backup = vfile("p211", "20240901", ".backup_status");
    int64_t took = mct_now_ms() - t0;
    assert_starts(backup, "unreachable");
    ck_assert_msg(took < 6000, ".backup_status took %lld ms", (long long)took);
    _cleanup_free_ char *safe = vfile("p211", "20240901", ".safe_to_delete");
    assert_starts(safe, "no: ");

    /* Still answering while workers deal with the share. */
    t0 = mct_now_ms();
    ck_assert(dir_lists(mnt, "p211"));
    ck_assert_int_lt(mct_now_ms() - t0, 1500);

    unmount_mctfs();
    kill(hangfs, SIGKILL);
    fl_wait_exit(hangfs, 10000);
    fusermount("-uz", hang);
}
END_TEST

struct reader {
    const char *path;
    const char *expect;
    size_t len;
    volatile bool stop;
    size_t bytes;
    size_t mismatches;
    int err;
};

/* Reads the file over and over, checking every byte, until told to stop
 * or a read fails. */
static void *reader_thread(void *arg)
{
    struct reader *r = arg;
    int fd = open(r->path, O_RDONLY);
    if (fd < 0) {
        r->err = errno;
        return NULL;
    }
    char buf[65536];
    off_t off = 0;
    while (!r->stop) {
        ssize_t n = pread(fd, buf, sizeof(buf), off);
        if (n < 0) {
            r->err = errno;
            break;
        }
        if (memcmp(buf, r->expect + off, (size_t)n) != 0)
            r->mismatches++;
        r->bytes += (size_t)n;
        off = n == 0 ? 0 : off + n;
    }
    close(fd);
    return NULL;
}

static void join_within(pthread_t t, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ck_assert_msg(pthread_timedjoin_np(t, NULL, &ts) == 0, "reader did not finish in %u ms", ms);
}

START_TEST(unmount_with_a_read_in_flight)
{
    session("p221 20241001 --videos 1 --size 20000000");
    char src[600];
    snprintf(src, sizeof(src), "%s/p221/20241001/trial_20241001_093000.22001.mp4", lab.data);
    size_t len;
    _cleanup_free_ char *expect = slurp_ok(src, &len);

    /* fusermount3 -uz while reading: the open file keeps working, and mctfs
     * exits cleanly once it is closed. */
    mount_lab();
    char path[600];
    mpath(path, sizeof(path), "p221/20241001/trial_20241001_093000.22001.mp4");
    struct reader r = {.path = path, .expect = expect, .len = len};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, reader_thread, &r), 0);
    fl_sleep_ms(300);
    ck_assert_int_eq(fusermount("-uz", mnt), 0);
    fl_sleep_ms(300);
    r.stop = true;
    join_within(t, 10000);
    ck_assert_uint_gt(r.bytes, 0);
    ck_assert_uint_eq(r.mismatches, 0);
    ck_assert_int_eq(r.err, 0);
    assert_clean_exit();
    ck_assert(!fl_is_mounted(mnt));

    /* SIGTERM while reading: mctfs unmounts and exits 0; the reader gets
     * an error, it does not hang. */
    mount_lab();
    mpath(path, sizeof(path), "p221/20241001/trial_20241001_093000.22001.mp4");
    struct reader r2 = {.path = path, .expect = expect, .len = len};
    ck_assert_int_eq(pthread_create(&t, NULL, reader_thread, &r2), 0);
    fl_sleep_ms(300);
    ck_assert_int_eq(kill(mctfs_pid, SIGTERM), 0);
    assert_clean_exit();
    join_within(t, 10000);
    ck_assert_uint_gt(r2.bytes, 0);
    ck_assert_uint_eq(r2.mismatches, 0);
    /* ECONNABORTED: a direct read (a file changed within attr_seconds)
     * that was in flight when the connection went. */
    ck_assert_msg(r2.err == ENOTCONN || r2.err == ENODEV || r2.err == ECONNABORTED || r2.err == 0,
                  "reader: %s", strerror(r2.err));
    ck_assert(!fl_is_mounted(mnt));
}
END_TEST

/* ---- the command line ---- */

static int run_mctfs(struct run_result *r, const char *a1, const char *a2, const char *a3,
                     const char *a4)
{
    char *argv[] = {
            (char *)env_path("MCTFS"), (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
    return run_argv(argv, NULL, r);
}

START_TEST(command_line)
{
    struct run_result r = {};
    ck_assert_int_eq(run_mctfs(&r, "--help", NULL, NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: "));
    ck_assert_ptr_nonnull(strstr(r.out, "--config"));
    run_result_free(&r);

    ck_assert_int_eq(run_mctfs(&r, "--version", NULL, NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(r.out, MCT_VERSION));
    run_result_free(&r);

    ck_assert_int_eq(run_mctfs(&r, "-c", lab.config, NULL, NULL), 2); /* no mount point */
    ck_assert_ptr_nonnull(strstr(r.err, "usage: "));
    run_result_free(&r);

    char bad[400], dir[400];
    snprintf(bad, sizeof(bad), "%s/bad.yaml", lab.dir);
    snprintf(dir, sizeof(dir), "%s/never-mounted", lab.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    FILE *f = fopen(bad, "we");
    ck_assert_ptr_nonnull(f);
    fputs("backup:\n  sourc:\n    base_path: /data\n", f);
    fclose(f);
    ck_assert_int_eq(run_mctfs(&r, "-c", bad, dir, "-f"), 2);
    ck_assert_msg(strstr(r.err, "bad.yaml"), "%s", r.err);
    run_result_free(&r);
    ck_assert(!fl_is_mounted(dir));

    char *argv[] = {
            (char *)env_path("MCTFS"), "-c", lab.config, dir, "-f", "-o", "kernel_cache", NULL};
    ck_assert_int_eq(run_argv(argv, NULL, &r), 2);
    run_result_free(&r);
    ck_assert(!fl_is_mounted(dir));
}
END_TEST

static Suite *mount_suite(void)
{
    Suite *s = suite_create("mctfs");
    TCase *tc = tcase_create("mount");
    tcase_add_unchecked_fixture(tc, lab_setup, lab_teardown);
    tcase_add_checked_fixture(tc, NULL, test_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, virtual_files_in_each_state);
    tcase_add_test(tc, stat_size_is_the_content_length);
    tcase_add_test(tc, video_bytes_are_identical);
    tcase_add_test(tc, a_growing_file_is_read_to_its_end);
    tcase_add_test(tc, writes_to_real_files_are_erofs);
    tcase_add_test(tc, trash_is_hidden);
    tcase_add_test(tc, sync_then_verified);
    tcase_add_test(tc, sync_progress_is_visible);
    tcase_add_test(tc, delete_of_a_safe_session);
    tcase_add_test(tc, new_sessions_are_listed);
    tcase_add_test(tc, delete_of_an_unsafe_session_is_eperm);
    tcase_add_test(tc, garbage_is_einval);
    tcase_add_test(tc, other_uid_gets_eacces);
    tcase_add_test(tc, concurrent_deletes_delete_once);
    tcase_add_test(tc, local_changes_refresh_the_status);
    tcase_add_test(tc, database_down_is_never_safe);
    tcase_add_test(tc, hung_share_does_not_block_the_view);
    tcase_add_test(tc, unmount_with_a_read_in_flight);
    tcase_add_test(tc, command_line);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mount_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
