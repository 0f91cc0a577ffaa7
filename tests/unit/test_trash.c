/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trash's parts on a temp dir: the bounded-descriptor walk and
 * removal of trees thousands of levels deep under a small descriptor
 * limit, snapshots that round-trip any name, removal of exactly what a
 * snapshot lists with the rest put back, entry names, the ownership check
 * of the trash, and files in it that never block (FIFOs at a journal's
 * name or its temporary name).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trash.h"
#include "trash_journal.h"
#include "tree.h"
#include "unit.h"
#include "util.h"

static char tmpdir[256];
static struct mct_config cfg;

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mct-test-trash.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    cfg = (struct mct_config){.source_base_path = tmpdir,
                              .source_path_structure = "{participant_id}/{session_date}"};
}

/* rm -rf: the trees here are deeper than any path nftw could build. */
static void teardown(void)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execlp("rm", "rm", "-rf", "--", tmpdir, (char *)NULL);
        _exit(127);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int open_dir(const char *rel)
{
    _cleanup_free_ char *p = mct_path_join(tmpdir, rel);
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "%s: %s", p, strerror(errno));
    return fd;
}

static void write_at(int dfd, const char *name, const char *text)
{
    int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* depth folders "d" below dfd, a file "leaf" at the bottom and one
 * "side" file every 100 levels. */
static void make_deep(int dfd, size_t depth)
{
    int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
    for (size_t i = 0; i < depth; i++) {
        ck_assert_int_eq(mkdirat(fd, "d", 0755), 0);
        if (i % 100 == 0)
            write_at(fd, "side", "x");
        int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(next, 0);
        close(fd);
        fd = next;
    }
    write_at(fd, "leaf", "bottom");
    close(fd);
}

static int count_entry(void *ud, const struct mct_tree_entry *e)
{
    size_t *n = ud;
    n[e->after ? 1 : 0]++;
    return 0;
}

/* Run fn with at most `limit` descriptors open in this process. */
static void limit_fds(rlim_t limit, struct rlimit *saved)
{
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, saved), 0);
    struct rlimit l = {.rlim_cur = limit, .rlim_max = saved->rlim_max};
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &l), 0);
}

START_TEST(a_3000_deep_tree_is_walked_with_48_descriptors)
{
    _cleanup_close_ int root = open_dir(".");
    make_deep(root, 3000);
    struct rlimit saved;
    limit_fds(48, &saved);
    size_t n[2] = {0, 0};
    int64_t t0 = mct_now_ms();
    ck_assert_int_eq(mct_tree_walk(root, count_entry, n), 0);
    printf("walked a 3000-deep tree with at most 48 descriptors in %lld ms\n",
           (long long)(mct_now_ms() - t0));
    /* 3000 folders (before and after), 30 side files and the leaf. */
    ck_assert_uint_eq(n[0], 3000 + 30 + 1);
    ck_assert_uint_eq(n[1], 3000);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
}
END_TEST

static void open_trash(struct mct_trash *t)
{
    char why[512] = "";
    ck_assert_msg(mct_trash_open(&cfg, true, t, why, sizeof(why)) == 0, "%s", why);
}

/* A session P/D moved into the trash the way a deletion does it. */
static void move_in(struct mct_trash *t, struct mct_trash_entry *e, const char *p, const char *d)
{
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, p, d, NULL, 0), 0);
    ck_assert_int_eq(mct_trash_entry_new(t, &ref, e), 0);
    ck_assert_int_eq(mct_trash_move_in(e), 0);
}

static int entry_fd(const struct mct_trash_entry *e)
{
    int fd = openat(e->trash->fd, e->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    return fd;
}

static bool exists_at(int dfd, const char *name)
{
    struct stat st;
    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

START_TEST(a_3000_deep_session_is_snapshot_and_removed_with_48_descriptors)
{
    _cleanup_free_ char *sess = mct_path_join(tmpdir, "p001/20250104");
    ck_assert_int_eq(mct_mkdir_p(sess, 0755), 0);
    {
        _cleanup_close_ int s = open_dir("p001/20250104");
        make_deep(s, 3000);
    }
    _cleanup_trash_ struct mct_trash t;
    open_trash(&t);
    _cleanup_trash_entry_ struct mct_trash_entry e = {0};
    move_in(&t, &e, "p001", "20250104");
    _cleanup_tsnap_ struct mct_tsnap snap = {0};
    {
        _cleanup_close_ int fd = entry_fd(&e);
        ck_assert_int_eq(mct_tsnap_take(fd, &snap), 0);
    }
    ck_assert_uint_eq(snap.n, 3000 + 30 + 1);
    /* Names 6000 bytes long go through the file and back. */
    ck_assert_int_eq(mct_tsnap_write(t.fd, e.name, &snap), 0);
    _cleanup_tsnap_ struct mct_tsnap back = {0};
    ck_assert_int_eq(mct_tsnap_read(t.fd, e.name, &back), 0);
    ck_assert_uint_eq(back.n, snap.n);

    struct rlimit saved;
    limit_fds(48, &saved);
    struct mct_trash_removal out;
    int64_t t0 = mct_now_ms();
    ck_assert_int_eq(mct_trash_remove(&e, &back, &out), 0);
    printf("removed a 3000-deep tree with at most 48 descriptors in %lld ms\n",
           (long long)(mct_now_ms() - t0));
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
    ck_assert_uint_eq(out.files, 31);
    ck_assert_uint_eq(out.kept, 0);
    ck_assert(!exists_at(t.fd, e.name));
    _cleanup_free_ char *jn = mct_strdup_printf("%s.json", e.name);
    ck_assert(!exists_at(t.fd, jn));
}
END_TEST

START_TEST(a_snapshot_round_trips_any_file_name)
{
    static const char *const names[] = {"new\nline", "\xff\xfe not utf-8", " spaced ", "percent%41",
                                        "tab\there"};
    _cleanup_close_ int root = open_dir(".");
    ck_assert_int_eq(mkdirat(root, "s", 0755), 0);
    _cleanup_close_ int s = openat(root, "s", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        write_at(s, names[i], names[i]);
    ck_assert_int_eq(symlinkat("/etc/passwd", s, "link"), 0);
    ck_assert_int_eq(mkfifoat(s, "fifo", 0600), 0);

    _cleanup_tsnap_ struct mct_tsnap a = {0}, b = {0};
    ck_assert_int_eq(mct_tsnap_take(s, &a), 0);
    ck_assert_uint_eq(a.n, ARRAY_SIZE(names) + 2);
    ck_assert_int_eq(mct_tsnap_write(root, "entry", &a), 0);
    ck_assert_int_eq(mct_tsnap_read(root, "entry", &b), 0);
    ck_assert_uint_eq(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        ck_assert_str_eq(a.e[i].relpath, b.e[i].relpath);
        ck_assert_int_eq(a.e[i].type, b.e[i].type);
        ck_assert_uint_eq(a.e[i].ino, b.e[i].ino);
        ck_assert_uint_eq(a.e[i].size, b.e[i].size);
    }
    ck_assert_ptr_nonnull(mct_tsnap_find(&b, "new\nline"));
    ck_assert_int_eq(mct_tsnap_find(&b, "fifo")->type, 'o');
    ck_assert_int_eq(mct_tsnap_find(&b, "link")->type, 'l');

    /* Cut short: refused, not half read. */
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(mct_trash_file_read(root, "entry.snapshot", 1 << 20, &text, &len), 0);
    ck_assert_int_eq(mct_trash_file_write(root, "cut.snapshot", text, len - 4), 0);
    _cleanup_tsnap_ struct mct_tsnap c = {0};
    ck_assert_int_eq(mct_tsnap_read(root, "cut", &c), -EBADMSG);
}
END_TEST

/* A session P/D holding a.mp4 and sub/b.mp4, moved into the trash, its
 * snapshot taken as the deletion takes it; the entry's folder, open. */
static int moved_session(const char *p, const char *d, struct mct_trash *t,
                         struct mct_trash_entry *e, struct mct_tsnap *snap)
{
    _cleanup_free_ char *rel = mct_strdup_printf("%s/%s", p, d);
    _cleanup_free_ char *sess = mct_path_join(tmpdir, rel);
    ck_assert_int_eq(mct_mkdir_p(sess, 0755), 0);
    {
        _cleanup_close_ int s = open_dir(rel);
        write_at(s, "a.mp4", "aaaa");
        ck_assert_int_eq(mkdirat(s, "sub", 0755), 0);
        _cleanup_close_ int sub = openat(s, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        write_at(sub, "b.mp4", "bbbb");
    }
    open_trash(t);
    move_in(t, e, p, d);
    int fd = entry_fd(e);
    ck_assert_int_eq(mct_tsnap_take(fd, snap), 0);
    return fd;
}

/* A file the snapshot does not list goes back; what it lists goes. */
START_TEST(removal_puts_back_what_the_snapshot_does_not_list)
{
    _cleanup_trash_ struct mct_trash t;
    _cleanup_trash_entry_ struct mct_trash_entry e = {0};
    _cleanup_tsnap_ struct mct_tsnap snap = {0};
    _cleanup_close_ int fd = moved_session("p002", "20250105", &t, &e, &snap);

    /* Written after the comparison: a new file, a verified one grown. */
    _cleanup_close_ int sub = openat(fd, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    write_at(sub, "late.mp4", "late");
    write_at(fd, "a.mp4", "aaaa and more");

    struct mct_trash_removal sv, out;
    ck_assert_int_eq(mct_trash_survey(&e, &snap, &sv), 0);
    ck_assert_uint_eq(sv.files, 1);
    ck_assert_uint_eq(sv.kept, 2);
    ck_assert_int_eq(mct_trash_remove(&e, &snap, &out), 0);
    ck_assert_uint_eq(out.files, 1);
    ck_assert_uint_eq(out.kept, 2);
    ck_assert(out.whole && out.back);
    _cleanup_close_ int s = open_dir("p002/20250105");
    ck_assert(exists_at(s, "a.mp4"));
    ck_assert(exists_at(s, "sub/late.mp4"));
    ck_assert(!exists_at(s, "sub/b.mp4"));
    ck_assert(!exists_at(t.fd, e.name));
}
END_TEST

/* The session folder exists again: extras are merged in, never over a
 * name that is taken there. */
START_TEST(removal_merges_extras_into_a_new_session_folder_never_over_a_taken_name)
{
    _cleanup_trash_ struct mct_trash t;
    _cleanup_trash_entry_ struct mct_trash_entry e = {0};
    _cleanup_tsnap_ struct mct_tsnap snap = {0};
    {
        _cleanup_close_ int fd = moved_session("p003", "20250106", &t, &e, &snap);
        write_at(fd, "late.mp4", "late");
        write_at(fd, "taken.mp4", "mine");
        ck_assert_int_eq(mkdirat(fd, "new", 0755), 0);
        _cleanup_close_ int nd = openat(fd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        write_at(nd, "x", "x");
    }
    _cleanup_free_ char *sess = mct_path_join(tmpdir, "p003/20250106");
    ck_assert_int_eq(mct_mkdir_p(sess, 0755), 0);
    {
        _cleanup_close_ int s = open_dir("p003/20250106");
        write_at(s, "taken.mp4", "theirs");
    }
    struct mct_trash_removal out;
    ck_assert_int_eq(mct_trash_remove(&e, &snap, &out), 0);
    ck_assert_uint_eq(out.kept, 3);
    ck_assert_uint_eq(out.stuck, 1);
    ck_assert(!out.whole && out.back);
    _cleanup_close_ int s = open_dir("p003/20250106");
    ck_assert(exists_at(s, "late.mp4"));
    ck_assert(exists_at(s, "new/x"));
    ck_assert(!exists_at(s, "a.mp4"));
    ck_assert(!exists_at(s, "sub/b.mp4"));
    /* What could not go back stays in the entry, journal and all. */
    ck_assert(exists_at(t.fd, e.name));
    _cleanup_free_ char *jn = mct_strdup_printf("%s.json", e.name);
    ck_assert(exists_at(t.fd, jn));
}
END_TEST

START_TEST(trash_entry_names_parse_back_to_their_session_and_others_are_einval)
{
    _cleanup_trash_ struct mct_trash t;
    open_trash(&t);
    static const struct {
        const char *name, *p, *d;
    } good[] = {
            {"p001__20250104__1736000000__42", "p001", "20250104"},
            {"p_x___20250104__1__2", "p_x_", "20250104"},
            {"a__b__20240229__1__2", "a__b", "20240229"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        _cleanup_trash_entry_ struct mct_trash_entry e = {0};
        ck_assert_int_eq(mct_trash_entry_parse(&t, good[i].name, &e), 0);
        ck_assert_str_eq(e.ref.participant_id, good[i].p);
        ck_assert_str_eq(e.ref.session_date, good[i].d);
        _cleanup_free_ char *want = mct_strdup_printf("%s/%s", good[i].p, good[i].d);
        ck_assert_str_eq(e.rel, want);
    }
    static const char *const bad[] = {"p001__20250104__1",  "p001__20251304__1__2",
                                      "..__20250104__1__2", "p001__20250104__x__2",
                                      "__20250104__1__2",   "p001__20250104__1__"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        _cleanup_trash_entry_ struct mct_trash_entry e = {0};
        ck_assert_msg(mct_trash_entry_parse(&t, bad[i], &e) == -EINVAL, "%s", bad[i]);
    }
}
END_TEST

START_TEST(a_trash_folder_not_ours_is_refused)
{
    _cleanup_free_ char *path = mct_path_join(tmpdir, MCT_TRASH_NAME);
    struct mct_trash t;
    char why[512];

    ck_assert_int_eq(mct_trash_open(&cfg, false, &t, why, sizeof(why)), -ENOENT);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    ck_assert_int_eq(mct_trash_open(&cfg, true, &t, why, sizeof(why)), -EPERM);
    ck_assert_msg(strstr(why, "is not ours (owner uid 0, mode 0755)") &&
                          strstr(why, "chown/chmod it or move it aside"),
                  "%s", why);
    ck_assert_int_eq(chmod(path, 0700), 0);
    ck_assert_int_eq(chown(path, 65534, 65534), 0);
    ck_assert_int_eq(mct_trash_open(&cfg, true, &t, why, sizeof(why)), -EPERM);
    ck_assert_msg(strstr(why, "owner uid 65534"), "%s", why);
    ck_assert_int_eq(rmdir(path), 0);

    /* A symlink to a folder that would pass is refused, not followed. */
    _cleanup_free_ char *real = mct_path_join(tmpdir, "real");
    ck_assert_int_eq(mkdir(real, 0700), 0);
    ck_assert_int_eq(symlink(real, path), 0);
    ck_assert_int_eq(mct_trash_open(&cfg, true, &t, why, sizeof(why)), -ELOOP);
    ck_assert_msg(strstr(why, "is a symlink or not a folder"), "%s", why);
    ck_assert_int_eq(unlink(path), 0);

    ck_assert_int_eq(mct_trash_open(&cfg, true, &t, why, sizeof(why)), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0700);
    mct_trash_done(&t);
}
END_TEST

static void on_alarm(int sig)
{
    (void)sig;
}

/* Nothing in the trash is ever opened in a way a FIFO could block. */
START_TEST(a_fifo_in_the_trash_never_blocks)
{
    _cleanup_trash_ struct mct_trash t;
    open_trash(&t);
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    alarm(5); /* a blocked open would fail the test with EINTR, not hang it */

    ck_assert_int_eq(mkfifoat(t.fd, "p001__20250104__1__1.json.tmp", 0600), 0);
    struct mct_session_ref ref = {"p001", "20250104"};
    ck_assert_int_eq(mct_journal_write(t.fd, "p001__20250104__1__1", &ref, "moved"), -EEXIST);

    ck_assert_int_eq(mkfifoat(t.fd, "p002__20250104__1__1.json", 0600), 0);
    struct mct_journal j;
    ck_assert_int_eq(mct_journal_read(t.fd, "p002__20250104__1__1", &j), -EPERM);
    alarm(0);

    /* Under the session's lock a stale temporary name is dropped. */
    _cleanup_trash_entry_ struct mct_trash_entry e = {0};
    ck_assert_int_eq(mct_trash_entry_parse(&t, "p001__20250104__1__1", &e), 0);
    mct_trash_drop_temporaries(&e);
    ck_assert_int_eq(mct_trash_journal_set(&e, "moved"), 0);
    ck_assert_int_eq(mct_journal_read(t.fd, e.name, &j), 0);
    ck_assert_str_eq(j.state, "moved");
}
END_TEST

static Suite *trash_suite(void)
{
    Suite *s = suite_create("trash");
    TCase *tc = tcase_create("trash");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_3000_deep_tree_is_walked_with_48_descriptors);
    tcase_add_test(tc, a_3000_deep_session_is_snapshot_and_removed_with_48_descriptors);
    tcase_add_test(tc, a_snapshot_round_trips_any_file_name);
    tcase_add_test(tc, removal_puts_back_what_the_snapshot_does_not_list);
    tcase_add_test(tc, removal_merges_extras_into_a_new_session_folder_never_over_a_taken_name);
    tcase_add_test(tc, trash_entry_names_parse_back_to_their_session_and_others_are_einval);
    tcase_add_test(tc, a_trash_folder_not_ours_is_refused);
    tcase_add_test(tc, a_fifo_in_the_trash_never_blocks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(trash_suite());
}
