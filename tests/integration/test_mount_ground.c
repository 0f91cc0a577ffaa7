/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount as the lab uses it: mctfs as root with allow_other, the rig's
 * folders owned by an unprivileged rig user (mctrig1), read by an
 * unprivileged viewer (mctview1). What one user does to the source must
 * never show a viewer more than the viewer could read on the disk now:
 * a folder swapped for a symlink after the kernel cached it, an ACL, a
 * chmod within the kernel's attribute cache. One viewer must not starve
 * the daemon of descriptors, and a big folder must list in about the time
 * the disk takes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "kit.h"

#define VIEWER "mctview1"
#define RIG    "mctrig1"

/* What the root-only folder holds: nothing of it may come out of the mount. */
#define SECRET_TEXT "the-root-only-secret"
#define SECRET_NAME "only-root-knows-this-name"

static uid_t viewer_uid, rig_uid;
static gid_t viewer_gid, rig_gid;
static char secret_dir[400];

static void setup_all(void)
{
    kit_setup();
    kit_user_add(VIEWER, &viewer_uid, &viewer_gid);
    kit_user_add(RIG, &rig_uid, &rig_gid);
    /* The lab is root's 0700: others must reach the mounts inside it. */
    ck_assert_int_eq(chmod(lab.dir, 0711), 0);

    snprintf(secret_dir, sizeof(secret_dir), "%s/root-only", lab.dir);
    ck_assert_int_eq(mkdir(secret_dir, 0700), 0);
    char path[500];
    snprintf(path, sizeof(path), "%s/secret", secret_dir);
    kit_write_file(path, SECRET_TEXT "\n");
    ck_assert_int_eq(chmod(path, 0600), 0);
    snprintf(path, sizeof(path), "%s/" SECRET_NAME, secret_dir);
    kit_write_file(path, SECRET_TEXT "\n");
}

static void teardown_all(void)
{
    kit_teardown();
    kit_user_del(VIEWER);
    kit_user_del(RIG);
}

/* ---- running as someone else ---- */

typedef int (*as_fn)(void *arg);

static void become(uid_t uid, gid_t gid)
{
    if (kit_become(uid, gid) < 0)
        _exit(120);
}

/* fn(arg) in a child running as uid:gid (no supplementary groups); its
 * return value, which must fit an exit status. */
static int run_as(uid_t uid, gid_t gid, as_fn fn, void *arg)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        become(uid, gid);
        _exit(fn(arg) & 0xff);
    }
    int status = kit_wait_exit(pid, 120000);
    ck_assert_msg(status >= 0, "child as uid %u did not finish", (unsigned)uid);
    return status;
}

static int as_viewer(as_fn fn, void *arg)
{
    return run_as(viewer_uid, viewer_gid, fn, arg);
}

static int as_rig(as_fn fn, void *arg)
{
    return run_as(rig_uid, rig_gid, fn, arg);
}

/* Read path whole into buf (NUL-terminated): 0, or the errno of the
 * failing call. */
static int read_into(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    ssize_t n = read(fd, buf, size - 1);
    int err = n < 0 ? errno : 0;
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return err;
}

/* The exit status of a child that reads a file: 0 read, else its errno;
 * 99 when what it read holds the secret. */
static int read_status(const char *path)
{
    char buf[4096];
    int err = read_into(path, buf, sizeof(buf));
    if (err)
        return err;
    return strstr(buf, SECRET_TEXT) ? 99 : 0;
}

static int do_read(void *arg)
{
    return read_status(arg);
}

static int do_stat(void *arg)
{
    struct stat st;
    return stat(arg, &st) < 0 ? errno : 0;
}

/* List a folder: 98 when a name of the root-only folder shows, else 0 or
 * the errno of opendir/readdir. */
static int do_list(void *arg)
{
    DIR *d = opendir(arg);
    if (!d)
        return errno;
    struct dirent *de;
    int leaked = 0;
    errno = 0;
    while ((de = readdir(d)))
        if (streq(de->d_name, SECRET_NAME) || streq(de->d_name, "secret"))
            leaked = 98;
    int err = errno;
    closedir(d);
    return leaked ? leaked : err;
}

struct swap {
    const char *dir; /* the folder to replace */
    const char *target;
};

/* What the rig user can do to their own folder at any time. */
static int do_swap(void *arg)
{
    const struct swap *s = arg;
    char old[600];
    snprintf(old, sizeof(old), "%s.old", s->dir);
    if (rename(s->dir, old) < 0 || symlink(s->target, s->dir) < 0)
        return errno;
    return 0;
}

static int do_chmod_600(void *arg)
{
    return chmod(arg, 0600) < 0 ? errno : 0;
}

static int do_chmod_700(void *arg)
{
    return chmod(arg, 0700) < 0 ? errno : 0;
}

/* A session of the rig user: P/D with one video and the folder sub/ holding
 * a harmless file named like the secret. */
static void rig_session(const char *p, const char *d)
{
    char src[512];
    kit_plain_session(p, d, 1, 1000);
    kit_source_path(p, d, src, sizeof(src));
    ck_assert_int_eq(kit_shell("mkdir '%1$s/sub' && echo harmless > '%1$s/sub/secret' && "
                               "echo x > '%1$s/sub/other' && chown -R %2$s: '%3$s/%4$s'",
                               src, RIG, lab.data, p),
                     0);
}

static void mount_lab(struct kit_mount *m)
{
    kit_mount_with(m, NULL, "allow_other", NULL);
}

/* ---- symlinks swapped in after the kernel cached the folder ---- */

START_TEST(a_folder_swapped_for_a_symlink_shows_nothing_of_its_target)
{
    rig_session("p701", "20240701");
    struct kit_mount m;
    mount_lab(&m);

    char file[700], sub[700], src[512];
    kit_mpath(&m, file, sizeof(file), "p701/20240701/sub/secret");
    kit_mpath(&m, sub, sizeof(sub), "p701/20240701/sub");
    kit_source_path("p701", "20240701", src, sizeof(src));
    char src_sub[600];
    snprintf(src_sub, sizeof(src_sub), "%s/sub", src);

    /* The viewer sees the file (the kernel now caches sub and sub/secret). */
    ck_assert_int_eq(as_viewer(do_stat, file), 0);
    ck_assert_int_eq(as_viewer(do_read, file), 0);

    /* The rig user swaps sub for a symlink to a folder only root may read. */
    struct swap s = {src_sub, secret_dir};
    ck_assert_int_eq(as_rig(do_swap, &s), 0);

    /* Well within attr_seconds (10): the kernel still holds sub as the old
     * folder. mctfs resolves without following: ELOOP, never the secret. */
    int st = as_viewer(do_read, file);
    printf("viewer reads sub/secret after the swap: %s\n", st == 99 ? "THE SECRET" : strerror(st));
    ck_assert_msg(st != 99, "the root-only file was read through the mount");
    ck_assert_int_eq(st, ELOOP);
    /* Root through the mount no more than the viewer. */
    ck_assert_int_eq(read_status(file), ELOOP);

    /* Listing the swapped folder shows none of the target's names. */
    st = as_viewer(do_list, sub);
    printf("viewer lists sub after the swap: %s\n", st == 98 ? "THE TARGET'S NAMES" : strerror(st));
    ck_assert_msg(st != 98, "the root-only folder was listed through the mount");
    ck_assert_int_eq(st, ELOOP);

    kit_unmount(&m);
}
END_TEST

/* ---- permissions as they are on the disk now ---- */

START_TEST(an_acl_denied_file_is_eacces)
{
    rig_session("p702", "20240702");
    char src[600];
    kit_source_path("p702", "20240702", src, sizeof(src));
    ck_assert_int_eq(kit_shell("setfacl -m u:" VIEWER ":--- '%s/sub/other'", src), 0);
    struct stat st;
    strcat(src, "/sub/other");
    ck_assert_int_eq(stat(src, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);

    struct kit_mount m;
    mount_lab(&m);
    char file[700];
    kit_mpath(&m, file, sizeof(file), "p702/20240702/sub/other");

    /* On the disk itself the viewer is refused, and anyone else may read. */
    ck_assert_int_eq(as_viewer(do_read, src), EACCES);
    ck_assert_int_eq(run_as(65534, 65534, do_read, src), 0);
    /* The same through the mount. */
    ck_assert_int_eq(as_viewer(do_read, file), EACCES);
    ck_assert_int_eq(run_as(65534, 65534, do_read, file), 0);
    ck_assert_int_eq(as_rig(do_read, file), 0);

    kit_unmount(&m);
}
END_TEST

START_TEST(a_chmod_applies_at_once)
{
    rig_session("p703", "20240703");
    char src[600], src_file[700], src_sub[700];
    kit_source_path("p703", "20240703", src, sizeof(src));
    snprintf(src_sub, sizeof(src_sub), "%s/sub", src);
    snprintf(src_file, sizeof(src_file), "%s/sub/other", src);

    struct kit_mount m;
    mount_lab(&m);
    char file[700], secret[700];
    kit_mpath(&m, file, sizeof(file), "p703/20240703/sub/other");
    kit_mpath(&m, secret, sizeof(secret), "p703/20240703/sub/secret");
    ck_assert_int_eq(as_viewer(do_read, file), 0);
    ck_assert_int_eq(as_viewer(do_read, secret), 0);

    /* The file itself: refused on the next open, not attr_seconds later. */
    int64_t t0 = mct_now_ms();
    ck_assert_int_eq(as_rig(do_chmod_600, src_file), 0);
    ck_assert_int_eq(as_viewer(do_read, file), EACCES);
    ck_assert_int_eq(as_rig(do_read, file), 0);

    /* Its folder: the kernel still holds sub as 0755. */
    ck_assert_int_eq(as_rig(do_chmod_700, src_sub), 0);
    ck_assert_int_eq(as_viewer(do_read, secret), EACCES);
    ck_assert_int_eq(as_rig(do_read, secret), 0);
    int64_t took = mct_now_ms() - t0;
    printf("chmod to refusal: %lld ms (attr_seconds 10)\n", (long long)took);
    ck_assert_int_lt(took, 5000);

    kit_unmount(&m);
}
END_TEST

/* ---- descriptors ---- */

#define N_OPENS 1100

struct opener {
    const char *path;
    int ready[2]; /* child -> parent: the counts */
    int done[2];  /* parent -> child: close them */
};

/* Open path N_OPENS times and keep what opened until told: reports the
 * number opened and the number of failures that were not EMFILE. */
static int do_open_many(void *arg)
{
    struct opener *o = arg;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max < N_OPENS + 16)
        return 2;
    int counts[3] = {0, 0, 0}; /* opened, EMFILE, other errno (last) */
    for (int i = 0; i < N_OPENS; i++) {
        int fd = open(o->path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            counts[0]++;
        else if (errno == EMFILE)
            counts[1]++;
        else
            counts[2] = errno;
    }
    if (write(o->ready[1], counts, sizeof(counts)) != sizeof(counts))
        return 3;
    char c;
    if (read(o->done[0], &c, 1) != 1)
        return 4;
    return 0; /* exit closes them */
}

START_TEST(one_viewer_cannot_exhaust_the_descriptors)
{
    kit_session("p704 20240704 --imported --dj --copy");
    /* The limit systemd and shells start programs with: mctfs raises it. */
    struct rlimit saved, low;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
    low = saved;
    low.rlim_cur = 1024;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    struct kit_mount m;
    mount_lab(&m);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);

    char video[700];
    kit_mpath(&m, video, sizeof(video), "p704/20240704/trial_20240704_093000.22001.mp4");
    struct opener o = {.path = video};
    ck_assert_int_eq(pipe2(o.ready, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(o.done, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        become(viewer_uid, viewer_gid);
        _exit(do_open_many(&o));
    }
    int counts[3];
    ck_assert_int_eq(read(o.ready[0], counts, sizeof(counts)), sizeof(counts));
    printf("viewer: %d opened, %d EMFILE, other errno %d\n", counts[0], counts[1], counts[2]);

    /* While the viewer holds every handle it got, the daemon still works. */
    _cleanup_free_ char *status = kit_vfile(&m, "p704", "20240704", ".status");
    kit_assert_has(status, "Session p704 20240704");
    char root_status[700];
    kit_mpath(&m, root_status, sizeof(root_status), ".status");
    _cleanup_free_ char *all = kit_slurp(root_status, NULL);
    ck_assert_msg(all, "root .status: %s", strerror(errno));
    struct kit_result r;
    int ex = kit_mctctl(NULL, NULL, &r, "status", "p704", "20240704", NULL);
    ck_assert_msg(ex == 0 || ex == 1, "mctctl status: exit %d\n%s", ex, r.err);
    kit_result_free(&r);
    int err;
    ssize_t n = kit_control_write(&m, "p704", "20240704", "DELETE\n", 7, &err);
    if (n != 7) {
        _cleanup_free_ char *control = kit_vfile(&m, "p704", "20240704", ".control");
        ck_abort_msg("DELETE while the viewer holds its handles: %s\n%s", strerror(err), control);
    }
    char src[600];
    kit_source_path("p704", "20240704", src, sizeof(src));
    ck_assert(!kit_exists(src));

    ck_assert_int_eq(write(o.done[1], "x", 1), 1);
    ck_assert_int_eq(kit_wait_exit(pid, 60000), 0);
    close(o.ready[0]);
    close(o.ready[1]);
    close(o.done[0]);
    close(o.done[1]);

    /* One user's cap, and the rest refused with "Too many open files". */
    ck_assert_int_eq(counts[0], 256);
    ck_assert_int_eq(counts[1], N_OPENS - 256);
    ck_assert_int_eq(counts[2], 0);
    kit_unmount(&m);
}
END_TEST

/* ---- big folders ---- */

static void make_files(const char *dir, int n)
{
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(dfd, 0);
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof(name), "frame_%08d.png", i);
        int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        close(fd);
    }
    close(dfd);
}

/* `ls -f | wc -l`: the names of dir, counted; seconds in *secs. */
static long list_count(const char *dir, double *secs)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    DIR *d = opendir(dir);
    ck_assert_msg(d, "opendir %s: %s", dir, strerror(errno));
    long n = 0;
    errno = 0;
    while (readdir(d))
        n++;
    ck_assert_msg(errno == 0, "readdir %s: %s", dir, strerror(errno));
    closedir(d);
    clock_gettime(CLOCK_MONOTONIC, &b);
    *secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    return n;
}

START_TEST(a_big_folder_lists_in_linear_time)
{
    static const int sizes[] = {20000, 40000, 80000};
    enum { COPIES = 3 };
    char dirs[3][COPIES][600];
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < COPIES; c++) {
            /* Not a session folder: nothing but the listing runs. */
            snprintf(dirs[i][c], sizeof(dirs[i][c]), "%s/frames%d_%c", lab.data, sizes[i], 'a' + c);
            make_files(dirs[i][c], sizes[i]);
        }
    double native[3], mount[3];
    for (int i = 0; i < 3; i++)
        native[i] = mount[i] = 1e9;
    /* The best of each; each folder is listed through a mount once, before
     * the kernel holds its listing: two mounts give each size six uncached
     * listings, so one stall of a busy machine does not decide. */
    for (int round = 0; round < 2; round++) {
        struct kit_mount m;
        mount_lab(&m);
        /* The root's status is computed at mount: wait for it, so what is
         * timed is the listing alone. */
        char root_status[700];
        kit_mpath(&m, root_status, sizeof(root_status), ".status");
        _cleanup_free_ char *all = kit_slurp(root_status, NULL);
        ck_assert_ptr_nonnull(all);

        for (int i = 0; i < 3; i++) {
            for (int c = 0; c < COPIES; c++) {
                double t;
                ck_assert_int_eq(list_count(dirs[i][c], &t), sizes[i] + 2);
                ck_assert_int_eq(list_count(dirs[i][c], &t), sizes[i] + 2);
                if (t < native[i])
                    native[i] = t;
                char path[700];
                kit_mpath(&m, path, sizeof(path), "frames%d_%c", sizes[i], 'a' + c);
                ck_assert_int_eq(list_count(path, &t), sizes[i] + 2);
                if (t < mount[i])
                    mount[i] = t;
            }
        }
        kit_unmount(&m);
    }
    for (int i = 0; i < 3; i++)
        printf("%d entries: native %.3f s, through the mount %.3f s (%.1fx)\n", sizes[i], native[i],
               mount[i], mount[i] / native[i]);
    /* Linear: four times the entries, not sixteen times the time (with
     * slack for a busy machine), and close to the disk. An ASan build
     * slows the daemon, not the kernel's native listing: the bound against
     * native is the release build's. */
    ck_assert_msg(mount[2] <= 8 * mount[0] + 0.02, "20k entries %.3f s, 80k %.3f s: not linear",
                  mount[0], mount[2]);
    double bound = getenv("ASAN_OPTIONS") ? 8 : 3;
    ck_assert_msg(mount[2] <= bound * native[2],
                  "80k entries: %.3f s through the mount, %.3f s native", mount[2], native[2]);
}
END_TEST

int main(void)
{
    /* The timings and counts show even when a test fails. */
    setvbuf(stdout, NULL, _IONBF, 0);
    Suite *s = suite_create("mount_ground");
    TCase *tc = tcase_create("ground");
    tcase_set_timeout(tc, 600);
    tcase_add_unchecked_fixture(tc, setup_all, teardown_all);
    tcase_add_test(tc, a_folder_swapped_for_a_symlink_shows_nothing_of_its_target);
    tcase_add_test(tc, an_acl_denied_file_is_eacces);
    tcase_add_test(tc, a_chmod_applies_at_once);
    tcase_add_test(tc, one_viewer_cannot_exhaust_the_descriptors);
    tcase_add_test(tc, a_big_folder_lists_in_linear_time);
    suite_add_tcase(s, tc);
    return kit_run_suite(s);
}
