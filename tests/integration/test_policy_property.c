/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one promise, as a property: over a few hundred random lab states
 * (DataJoint rows present or one table missing, the SQLite flag, a copy
 * missing, short, with extra files, without or with another session's
 * marker, reached through a symlink, changed in content; young, lock and
 * tmp files; an unreachable share; two destinations with
 * required_copies; both verify methods) the status says "safe" exactly
 * when a deletion of that state succeeds, and both agree with what the
 * state should give. Reproducible: MCT_PROPERTY_SEED picks the states
 * (the seed is printed).
 */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kit.h"

enum copy_kind {
    COPY_NONE,
    COPY_GOOD,
    COPY_SHORT,     /* a video one byte short */
    COPY_EXTRA,     /* a file only the copy has: still a full copy */
    COPY_OTHERS,    /* its marker names another session */
    COPY_UNMARKED,  /* made by another tool */
    COPY_SYMLINKED, /* the copy folder is a symlink to a good copy elsewhere */
    COPY_FLIPPED,   /* one byte changed, same size and mtime (checksum finds it) */
    COPY_KINDS,
};

static const char *const copy_names[] = {"none",   "good",     "short",     "extra",
                                         "others", "unmarked", "symlinked", "flipped"};

enum local_kind { LOCAL_IDLE, LOCAL_YOUNG, LOCAL_LOCK, LOCAL_TMP, LOCAL_KINDS };
static const char *const local_names[] = {"idle", "young file", "lock file", "tmp file"};

static const char *const dj_tables[] = {"subject", "session", "recording", "multi_camera_recording",
                                        "single_camera_video"};

struct state {
    char p[16], d[16];
    bool imported;
    int dj; /* -1 no rows, 5 all rows, 0..4 all but dj_tables[dj] */
    enum copy_kind copy, second;
    enum local_kind local;
};

static unsigned long long rng;

static unsigned roll(unsigned n)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((rng >> 33) % n);
}

static unsigned long long seed(void)
{
    const char *e = getenv("MCT_PROPERTY_SEED");
    unsigned long long s = e ? strtoull(e, NULL, 10) : 20261207ULL;
    printf("property seed %llu (MCT_PROPERTY_SEED=%llu reproduces it)\n", s, s);
    return s;
}

static void describe(const struct state *s, char *out, size_t len)
{
    snprintf(out, len, "%s %s: sqlite %s, datajoint %s%s, copy %s, second %s, local %s", s->p, s->d,
             s->imported ? "yes" : "no",
             s->dj < 0    ? "none"
             : s->dj == 5 ? "all"
                          : "all but ",
             s->dj >= 0 && s->dj < 5 ? dj_tables[s->dj] : "", copy_names[s->copy],
             copy_names[s->second], local_names[s->local]);
}

/* A copy of P/D of the given kind under base ({date}/{participant}). */
static void make_copy(const struct state *s, const char *base, enum copy_kind kind)
{
    if (kind == COPY_NONE)
        return;
    char src[512], dst[700];
    kit_source_path(s->p, s->d, src, sizeof(src));
    if (kind == COPY_SYMLINKED)
        snprintf(dst, sizeof(dst), "%s/elsewhere/%s_%s", base, s->p, s->d);
    else
        snprintf(dst, sizeof(dst), "%s/%s/%s", base, s->d, s->p);
    ck_assert_int_eq(mct_mkdir_p(dst, 0755), 0);
    _cleanup_free_ char *from = mct_strdup_printf("%s/.", src);
    char *cp[] = {"cp", "-a", from, dst, NULL};
    kit_run_ok(cp);
    if (kind != COPY_UNMARKED)
        ck_assert_int_eq(kit_lab_sh(&lab, "marker %s %s %s", kind == COPY_OTHERS ? "px999" : s->p,
                                    s->d, dst),
                         0);
    _cleanup_free_ char *video = mct_strdup_printf("%s/trial_%s_093000.22001.mp4", dst, s->d);
    struct stat st;
    ck_assert_int_eq(stat(video, &st), 0);
    if (kind == COPY_SHORT)
        ck_assert_int_eq(truncate(video, st.st_size - 1), 0);
    if (kind == COPY_EXTRA) {
        _cleanup_free_ char *extra = mct_strdup_printf("%s/notes-on-the-share.txt", dst);
        kit_write_file(extra, "extra\n");
    }
    if (kind == COPY_FLIPPED) {
        int fd = open(video, O_RDWR | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        unsigned char c;
        ck_assert_int_eq(pread(fd, &c, 1, 10), 1);
        c ^= 0x40;
        ck_assert_int_eq(pwrite(fd, &c, 1, 10), 1);
        close(fd);
        struct timespec t[2] = {st.st_atim, st.st_mtim};
        ck_assert_int_eq(utimensat(AT_FDCWD, video, t, 0), 0);
    }
    if (kind == COPY_SYMLINKED) {
        char folder[700], day[650];
        snprintf(day, sizeof(day), "%s/%s", base, s->d);
        snprintf(folder, sizeof(folder), "%s/%s", day, s->p);
        ck_assert_int_eq(mct_mkdir_p(day, 0755), 0);
        ck_assert_int_eq(symlink(dst, folder), 0);
    }
}

static void make_local(const struct state *s)
{
    char src[512];
    kit_source_path(s->p, s->d, src, sizeof(src));
    if (s->local == LOCAL_IDLE)
        return;
    const char *name = s->local == LOCAL_YOUNG  ? "new-notes.json"
                       : s->local == LOCAL_LOCK ? "acquisition.lock"
                                                : "frames.tmp";
    _cleanup_free_ char *path = mct_strdup_printf("%s/%s", src, name);
    kit_write_file(path, "x\n");
    if (s->local != LOCAL_YOUNG) {
        struct timespec old = {.tv_sec = time(NULL) - 3 * 3600};
        struct timespec t[2] = {old, old};
        ck_assert_int_eq(utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW), 0);
    }
}

/* Session i of a run: distinct participant and day, random state. */
static void make_state(struct state *s, unsigned i, unsigned kinds, bool second)
{
    *s = (struct state){0};
    snprintf(s->p, sizeof(s->p), "p%03u", i);
    struct tm tm = {.tm_year = 122, .tm_mon = 0, .tm_mday = 1 + (int)i};
    time_t t = timegm(&tm);
    strftime(s->d, sizeof(s->d), "%Y%m%d", gmtime_r(&t, &tm));
    s->imported = roll(5) != 0;
    unsigned dj = roll(8);
    s->dj = dj < 5 ? (int)dj : dj == 5 ? -1 : 5;
    if (roll(3) != 0)
        s->dj = 5; /* mostly imported, so that many sessions are safe */
    s->copy = (enum copy_kind)roll(kinds);
    if (roll(3) == 0)
        s->copy = COPY_GOOD;
    s->second =
            second ? (roll(2) ? COPY_GOOD : (enum copy_kind)roll(COPY_SYMLINKED + 1)) : COPY_NONE;
    s->local = roll(3) == 0 ? (enum local_kind)roll(LOCAL_KINDS) : LOCAL_IDLE;

    kit_session("%s %s --videos 2 --size 1000%s%s", s->p, s->d, s->imported ? " --imported" : "",
                s->dj >= 0 ? " --dj" : "");
    if (s->dj >= 0 && s->dj < 5)
        ck_assert_int_eq(kit_lab_sh(&lab, "dj-delete %s %s %s", dj_tables[s->dj], s->p, s->d), 0);
    make_copy(s, lab.dest_base, s->copy);
    make_local(s);
}

static bool copy_counts(enum copy_kind k)
{
    return k == COPY_GOOD || k == COPY_EXTRA;
}

/* What the state should give, from the rules as the manual states them. */
static bool expected_safe(const struct state *s, bool reachable, bool second)
{
    return reachable && s->imported && s->dj == 5 && copy_counts(s->copy) &&
           (!second || copy_counts(s->second)) && s->local == LOCAL_IDLE;
}

static bool status_safe(const char *cfg, const struct state *s)
{
    struct kit_result r;
    int st = kit_mctctl(cfg, NULL, &r, "--json", "status", s->p, s->d, NULL);
    /* 3 when something could not be checked (an unreachable share). */
    ck_assert_msg(st == 0 || st == 3, "status %s %s: exit %d\n%s", s->p, s->d, st, r.err);
    bool safe = strstr(r.out, "\"safe_to_delete\":true") != NULL;
    kit_result_free(&r);
    return safe;
}

static bool deleted(const char *cfg, const struct state *s)
{
    struct kit_result r;
    int st = kit_mctctl(cfg, "DELETE\n", &r, "delete", s->p, s->d, NULL);
    /* 0 deleted, 4 refused by a rule, 3 refused for what could not be checked. */
    ck_assert_msg(st == 0 || st == 3 || st == 4, "delete %s %s: exit %d\n%s", s->p, s->d, st,
                  r.err);
    kit_result_free(&r);
    char src[512];
    kit_source_path(s->p, s->d, src, sizeof(src));
    ck_assert_msg((st == 0) == !kit_exists(src), "delete %s %s exit %d but the folder %s", s->p,
                  s->d, st, kit_exists(src) ? "is still there" : "is gone");
    return st == 0;
}

/* Status, then deletion, of every state; both must agree with each other
 * and with the rules. */
static void check_all(const char *cfg, const struct state *st, size_t n, bool reachable,
                      bool second)
{
    size_t n_safe = 0;
    for (size_t i = 0; i < n; i++) {
        char what[300];
        describe(&st[i], what, sizeof(what));
        bool want = expected_safe(&st[i], reachable, second);
        bool safe = status_safe(cfg, &st[i]);
        ck_assert_msg(safe == want, "status says %s for %s", safe ? "safe" : "not safe", what);
        bool gone = deleted(cfg, &st[i]);
        ck_assert_msg(gone == safe, "status %s but the deletion %s: %s", safe ? "safe" : "not safe",
                      gone ? "succeeded" : "was refused", what);
        n_safe += safe;
    }
    printf("%zu states: %zu safe and deleted, %zu refused\n", n, n_safe, n - n_safe);
    /* A property over states that are all alike proves nothing. */
    if (reachable)
        ck_assert_msg(n_safe > 0 && n_safe < n, "%zu of %zu safe: no contrast", n_safe, n);
}

START_TEST(size_method_safe_exactly_when_deletable)
{
    rng = seed();
    enum { N = 200 };
    static struct state st[N];
    for (unsigned i = 0; i < N; i++)
        make_state(&st[i], i, COPY_FLIPPED, false);
    check_all(NULL, st, N, true, false);
}
END_TEST

START_TEST(checksum_method_safe_exactly_when_deletable)
{
    rng = seed() + 1;
    const char *cfg = kit_config_variant("checksum", "verify_method: \"size\"",
                                         "verify_method: \"checksum\"", NULL);
    enum { N = 40 };
    static struct state st[N];
    for (unsigned i = 0; i < N; i++) {
        make_state(&st[i], i, COPY_KINDS, false);
        /* The hashes a verification leaves are what the status reads. */
        struct kit_result r;
        (void)kit_mctctl(cfg, NULL, &r, "verify", st[i].p, st[i].d, NULL);
        kit_result_free(&r);
    }
    check_all(cfg, st, N, true, false);
}
END_TEST

START_TEST(unreachable_share_is_never_safe)
{
    rng = seed() + 2;
    enum { N = 20 };
    static struct state st[N];
    for (unsigned i = 0; i < N; i++)
        make_state(&st[i], i, COPY_FLIPPED, false);
    ck_assert_int_eq(kit_lab_sh(&lab, "share-umount"), 0);
    check_all(NULL, st, N, false, false);
    ck_assert_int_eq(kit_lab_sh(&lab, "share-mount"), 0);
}
END_TEST

START_TEST(two_required_destinations_both_need_a_copy)
{
    rng = seed() + 3;
    char mnt[400], base[450];
    snprintf(mnt, sizeof(mnt), "%s/second", lab.dir);
    snprintf(base, sizeof(base), "%s/backup", mnt);
    ck_assert_int_eq(mct_mkdir_p(mnt, 0755), 0);
    ck_assert_int_eq(mount("second", mnt, "tmpfs", 0, "size=64m"), 0);
    ck_assert_int_eq(mct_mkdir_p(base, 0755), 0);
    _cleanup_free_ char *to = mct_strdup_printf("    - name: \"second\"\n"
                                                "      mount_point: \"%s\"\n"
                                                "      base_path: \"%s\"\n"
                                                "  required_copies: 2\n"
                                                "  source:\n",
                                                mnt, base);
    const char *cfg = kit_config_variant("two", "  source:\n", to, NULL);
    enum { N = 30 };
    static struct state st[N];
    for (unsigned i = 0; i < N; i++) {
        make_state(&st[i], i, COPY_FLIPPED, true);
        make_copy(&st[i], base, st[i].second);
    }
    check_all(cfg, st, N, true, true);
}
END_TEST

Suite *suite(void);
Suite *suite(void)
{
    Suite *s = suite_create("policy property");
    TCase *tc = tcase_create("states");
    tcase_add_checked_fixture(tc, kit_setup, kit_teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, size_method_safe_exactly_when_deletable);
    tcase_add_test(tc, checksum_method_safe_exactly_when_deletable);
    tcase_add_test(tc, unreachable_share_is_never_safe);
    tcase_add_test(tc, two_required_destinations_both_need_a_copy);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(suite());
}
