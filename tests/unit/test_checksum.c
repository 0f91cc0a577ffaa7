/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hashing (XXH3-128 in xxhsum's format), the hash cache (freshness by
 * size, mtime, ctime and inode; untrusted or broken files read as empty),
 * manifests, the two-sided content comparison on real files, and the
 * backup.required_copies / verification.cache_dir keys.
 */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "checksum.h"
#include "config.h"
#include "content.h"
#include "hashcache.h"
#include "manifest.h"
#include "util.h"

static char tmp[256];

static void setup(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/test_checksum.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(cmd), 0);
}

static char *at(const char *rel)
{
    char *p = mct_path_join(tmp, rel);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void put(const char *rel, const void *data, size_t n)
{
    _cleanup_free_ char *p = at(rel);
    _cleanup_free_ char *dir = strdup(p);
    *strrchr(dir, '/') = '\0';
    ck_assert_int_eq(mct_mkdir_p(dir, 0755), 0);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
}

static struct mct_config *config(const char *extra)
{
    _cleanup_free_ char *yaml =
            mct_strdup_printf("backup:\n"
                              "  destinations:\n"
                              "    - {name: a, mount_point: /mnt/a, base_path: /mnt/a/x}\n"
                              "    - {name: b, mount_point: /mnt/b, base_path: /mnt/b/x}\n"
                              "  source: {base_path: /data}\n"
                              "%s",
                              extra);
    struct mct_config *cfg = NULL;
    char err[512] = "";
    ck_assert_msg(mct_config_parse_string("t.yaml", yaml, &cfg, err, sizeof(err)) == 0, "%s", err);
    return cfg;
}

/* ---- hashing ---- */

static void add_bytes(void *ud, uint64_t n)
{
    *(uint64_t *)ud += n;
}

START_TEST(test_hash_matches_xxhsum)
{
    /* `echo hi | xxhsum -H2` prints f4d0497cf9394caab34d1a3ab2bece70. */
    put("hi", "hi\n", 3);
    struct mct_hash h;
    struct mct_file st = {0};
    uint64_t n = 0;
    _cleanup_free_ char *p = at("hi");
    ck_assert_int_eq(mct_hash_path(AT_FDCWD, p, false, add_bytes, &n, &h, &st), 0);
    char hex[MCT_HASH_HEX_LEN + 1];
    mct_hash_hex(&h, hex);
    ck_assert_str_eq(hex, "f4d0497cf9394caab34d1a3ab2bece70");
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(st.size, 3);
    struct stat s;
    ck_assert_int_eq(stat(p, &s), 0);
    ck_assert_uint_eq(st.ino, s.st_ino);
    ck_assert_int_eq(st.ctime.tv_nsec, s.st_ctim.tv_nsec);
}
END_TEST

START_TEST(test_hash_parse)
{
    struct mct_hash h, g;
    ck_assert_int_eq(mct_hash_parse("F4D0497CF9394CAAB34D1A3AB2BECE70", &h), 0);
    char hex[MCT_HASH_HEX_LEN + 1];
    mct_hash_hex(&h, hex);
    ck_assert_str_eq(hex, "f4d0497cf9394caab34d1a3ab2bece70");
    ck_assert_int_eq(mct_hash_parse("f4d0497cf9394caab34d1a3ab2bece70  x", &g), 0);
    ck_assert(mct_hash_eq(&h, &g));
    ck_assert_int_eq(mct_hash_parse("f4d0497cf9394caab34d1a3ab2bece7", &g), -EINVAL);
    ck_assert_int_eq(mct_hash_parse("f4d0497cf9394caab34d1a3ab2bece700", &g), -EINVAL);
    ck_assert_int_eq(mct_hash_parse("g4d0497cf9394caab34d1a3ab2bece70", &g), -EINVAL);
}
END_TEST

START_TEST(test_hash_large_file_and_flipped_byte)
{
    /* 3.5 MiB: several buffers and a partial last one. */
    size_t n = (7u << 20) / 2;
    _cleanup_free_ unsigned char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 2654435761u >> 13);
    put("big", data, n);
    struct mct_hash a, b, whole;
    struct mct_file st = {0};
    uint64_t done = 0;
    _cleanup_free_ char *p = at("big");
    ck_assert_int_eq(mct_hash_path(AT_FDCWD, p, true, add_bytes, &done, &a, &st), 0);
    ck_assert_uint_eq(done, n);
    mct_hash_buffer(data, n, &whole);
    ck_assert(mct_hash_eq(&a, &whole));
    data[n / 2] ^= 1;
    put("big", data, n);
    ck_assert_int_eq(mct_hash_path(AT_FDCWD, p, false, NULL, NULL, &b, &st), 0);
    ck_assert(!mct_hash_eq(&a, &b));
    ck_assert_uint_eq(st.size, n);
}
END_TEST

START_TEST(test_hash_symlink_and_errors)
{
    _cleanup_free_ char *l = at("link");
    ck_assert_int_eq(symlink("target/file", l), 0);
    struct mct_hash h, want;
    struct mct_file st = {0};
    ck_assert_int_eq(mct_hash_path(AT_FDCWD, l, false, NULL, NULL, &h, &st), 0);
    mct_hash_buffer("target/file", strlen("target/file"), &want);
    ck_assert(mct_hash_eq(&h, &want));
    ck_assert_uint_eq(st.mode, S_IFLNK);
    _cleanup_free_ char *none = at("none");
    ck_assert_int_eq(mct_hash_path(AT_FDCWD, none, false, NULL, NULL, &h, &st), -ENOENT);
    ck_assert_int_eq(mct_hash_path(AT_FDCWD, tmp, false, NULL, NULL, &h, &st), -EINVAL);
}
END_TEST

/* ---- hash cache ---- */

static struct mct_file stat_of(const char *path)
{
    struct stat s;
    ck_assert_int_eq(lstat(path, &s), 0);
    return (struct mct_file){.size = (uint64_t)s.st_size,
                             .mtime = s.st_mtim,
                             .ctime = s.st_ctim,
                             .ino = s.st_ino,
                             .mode = s.st_mode & S_IFMT};
}

static struct mct_config *cache_config(void)
{
    _cleanup_free_ char *extra = mct_strdup_printf(
            "  verification: {verify_method: checksum, cache_dir: %s/cache}\n", tmp);
    return config(extra);
}

START_TEST(test_cache_roundtrip_and_freshness)
{
    _cleanup_config_ struct mct_config *cfg = cache_config();
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", NULL, 0), 0);
    put("f", "hello", 5);
    _cleanup_free_ char *p = at("f");
    struct mct_file st = stat_of(p);
    struct mct_hash h, got;
    mct_hash_buffer("hello", 5, &h);

    struct mct_hashcache *c = NULL;
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(!mct_hashcache_lookup(c, p, &st, &got));
    ck_assert_int_eq(mct_hashcache_store(c, p, &st, &h), 0);
    ck_assert_int_eq(mct_hashcache_save(c), 0);
    mct_hashcache_free(c);

    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(mct_hashcache_lookup(c, p, &st, &got));
    ck_assert(mct_hash_eq(&h, &got));
    /* Each part of the key on its own makes the entry stale. */
    struct mct_file t = st;
    t.size++;
    ck_assert(!mct_hashcache_lookup(c, p, &t, &got));
    t = st;
    t.mtime.tv_nsec ^= 1;
    ck_assert(!mct_hashcache_lookup(c, p, &t, &got));
    t = st;
    t.ctime.tv_sec++;
    ck_assert(!mct_hashcache_lookup(c, p, &t, &got));
    t = st;
    t.ino++;
    ck_assert(!mct_hashcache_lookup(c, p, &t, &got));
    _cleanup_free_ char *other = at("g");
    ck_assert(!mct_hashcache_lookup(c, other, &st, &got));
    mct_hashcache_free(c);

    /* A rewrite with the old mtime put back still moves the ctime. */
    struct timespec ts[2] = {st.mtime, st.mtime};
    struct timespec pause = {.tv_nsec = 20 * 1000000};
    nanosleep(&pause, NULL);
    put("f", "HELLO", 5);
    ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
    struct mct_file now = stat_of(p);
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(!mct_hashcache_lookup(c, p, &now, &got));
    mct_hashcache_free(c);
}
END_TEST

START_TEST(test_cache_untrusted_corrupt_missing)
{
    _cleanup_config_ struct mct_config *cfg = cache_config();
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", NULL, 0), 0);
    put("f", "hello", 5);
    _cleanup_free_ char *p = at("f");
    struct mct_file st = stat_of(p);
    struct mct_hash h, got;
    mct_hash_buffer("hello", 5, &h);
    struct mct_hashcache *c = NULL;
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert_int_eq(mct_hashcache_store(c, p, &st, &h), 0);
    ck_assert_int_eq(mct_hashcache_save(c), 0);
    mct_hashcache_free(c);
    _cleanup_free_ char *file = mct_hashcache_path(cfg, &ref);

    /* Writable by others: someone could have made a copy look verified. */
    ck_assert_int_eq(chmod(file, 0666), 0);
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(!mct_hashcache_lookup(c, p, &st, &got));
    mct_hashcache_free(c);
    ck_assert_int_eq(chmod(file, 0600), 0);

    /* Garbage lines are skipped, good ones still count. */
    _cleanup_free_ char *text = NULL;
    ck_assert_int_eq(mct_read_file(file, 1 << 20, &text), 0);
    _cleanup_free_ char *bad = mct_strdup_printf("%szz not a line\n1234 5\n", text);
    FILE *f = fopen(file, "w");
    fputs(bad, f);
    fclose(f);
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(mct_hashcache_lookup(c, p, &st, &got));
    mct_hashcache_free(c);

    /* Wrong header: all of it ignored. */
    f = fopen(file, "w");
    fputs("something else\n", f);
    fputs(text + strcspn(text, "\n") + 1, f);
    fclose(f);
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(!mct_hashcache_lookup(c, p, &st, &got));
    mct_hashcache_free(c);

    /* Deleted: still works, empty. Unwritable (a file where the folder
     * should be): save fails, nothing else does. */
    ck_assert_int_eq(unlink(file), 0);
    _cleanup_free_ char *cdir = at("cache");
    _cleanup_free_ char *cmd = mct_strdup_printf("rm -rf '%s' && touch '%s'", cdir, cdir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(!mct_hashcache_lookup(c, p, &st, &got));
    ck_assert_int_eq(mct_hashcache_store(c, p, &st, &h), 0);
    ck_assert(mct_hashcache_lookup(c, p, &st, &got));
    ck_assert_int_lt(mct_hashcache_save(c), 0);
    mct_hashcache_free(c);
}
END_TEST

/* Any name a user can give a file has its entry: a newline, a tab, a
 * backslash (and a backslash before an 'n', which must stay apart from
 * the newline), bytes that are not UTF-8. */
START_TEST(test_cache_any_name)
{
    _cleanup_config_ struct mct_config *cfg = cache_config();
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", NULL, 0), 0);
    static const char *const names[] = {"a\nyes\noutcome: ok", "a\\nyes\\noutcome: ok",
                                        "tab\there",           "\xff\xfe",
                                        "back\\slash",         "cr\r",
                                        "esc\x1b[31m",         "plain"};
    char *paths[ARRAY_SIZE(names)];
    struct mct_file st[ARRAY_SIZE(names)];
    struct mct_hash h[ARRAY_SIZE(names)], got;
    struct mct_hashcache *c = NULL;
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        put(names[i], names[i], strlen(names[i]));
        paths[i] = at(names[i]);
        st[i] = stat_of(paths[i]);
        mct_hash_buffer(names[i], strlen(names[i]), &h[i]);
        ck_assert_int_eq(mct_hashcache_store(c, paths[i], &st[i], &h[i]), 0);
    }
    ck_assert_int_eq(mct_hashcache_save(c), 0);
    mct_hashcache_free(c);

    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        ck_assert_msg(mct_hashcache_lookup(c, paths[i], &st[i], &got), "no entry for %zu", i);
        ck_assert(mct_hash_eq(&h[i], &got));
    }
    mct_hashcache_free(c);

    /* One line per entry, whatever the names hold. */
    _cleanup_free_ char *file = mct_hashcache_path(cfg, &ref);
    _cleanup_free_ char *text = NULL;
    ck_assert_int_eq(mct_read_file(file, 1 << 20, &text), 0);
    size_t lines = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        lines++;
    ck_assert_uint_eq(lines, 1 + ARRAY_SIZE(names));
    ck_assert(startswith(text, "mctfs-hashcache 2\n"));

    /* A cache of the first format (paths raw) is not read: rebuilt. */
    text[strlen("mctfs-hashcache ")] = '1';
    FILE *f = fopen(file, "w");
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &c), 0);
    ck_assert(!mct_hashcache_lookup(c, paths[ARRAY_SIZE(names) - 1], &st[ARRAY_SIZE(names) - 1],
                                    &got));
    mct_hashcache_free(c);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        free(paths[i]);
}
END_TEST

/* ---- manifests ---- */

START_TEST(test_manifest_roundtrip)
{
    struct mct_manifest m = {0};
    struct mct_hash a, b;
    mct_hash_buffer("a", 1, &a);
    mct_hash_buffer("b", 1, &b);
    ck_assert_int_eq(mct_manifest_add(&m, "trial.22001.mp4", &a), 0);
    ck_assert_int_eq(mct_manifest_add(&m, "sub dir/x.json", &b), 0);
    _cleanup_free_ char *path = at("logs/manifests/p001__20250104.xxh128");
    char why[512] = "";
    ck_assert_int_eq(mct_manifest_write(path, &m, why, sizeof(why)), 0);
    _cleanup_free_ char *text = NULL;
    ck_assert_int_eq(mct_read_file(path, 1 << 20, &text), 0);
    char ha[33], hb[33];
    mct_hash_hex(&a, ha);
    mct_hash_hex(&b, hb);
    _cleanup_free_ char *want =
            mct_strdup_printf("%s  trial.22001.mp4\n%s  sub dir/x.json\n", ha, hb);
    ck_assert_str_eq(text, want);

    struct mct_manifest r = {0};
    ck_assert_int_eq(mct_manifest_read(path, &r, why, sizeof(why)), 0);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_str_eq(r.entries[1].relpath, "sub dir/x.json");
    ck_assert(mct_hash_eq(&r.entries[1].hash, &b));
    mct_manifest_free(&r);

    ck_assert_int_eq(mct_manifest_add(&m, "bad\nname", &a), 0);
    ck_assert_int_eq(mct_manifest_write(path, &m, why, sizeof(why)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "bad"));
    mct_manifest_free(&m);

    FILE *f = fopen(path, "a");
    fputs("nothex  file\n", f);
    fclose(f);
    ck_assert_int_eq(mct_manifest_read(path, &r, why, sizeof(why)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, ":3:"));
    _cleanup_free_ char *none = at("none.xxh128");
    ck_assert_int_eq(mct_manifest_read(none, &r, why, sizeof(why)), -ENOENT);
}
END_TEST

START_TEST(test_manifest_path_next_to_log)
{
    _cleanup_config_ struct mct_config *cfg =
            config("deletion: {log_path: /var/log/mctfs/deletions.log}\n");
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", NULL, 0), 0);
    _cleanup_free_ char *p = NULL;
    ck_assert_int_eq(mct_manifest_path(cfg, &ref, &p), 0);
    ck_assert_str_eq(p, "/var/log/mctfs/manifests/p001__20250104.xxh128");
}
END_TEST

/* ---- content comparison on real folders ---- */

static void make_pair(void)
{
    static const char *const names[] = {"a.mp4", "b.mp4", "sub/c.json"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        char src[64], dst[64], data[3000];
        memset(data, 'a' + (int)i, sizeof(data));
        snprintf(src, sizeof(src), "src/%s", names[i]);
        snprintf(dst, sizeof(dst), "dst/%s", names[i]);
        put(src, data, sizeof(data));
        put(dst, data, sizeof(data));
    }
}

struct scans {
    struct mct_scan src, dst;
    char *src_dir, *dst_dir;
};

static void scan_pair(struct scans *s)
{
    s->src_dir = at("src");
    s->dst_dir = at("dst");
    ck_assert_int_eq(mct_scan_tree(s->src_dir, NULL, &s->src), 0);
    ck_assert_int_eq(mct_scan_tree(s->dst_dir, NULL, &s->dst), 0);
}

static void scans_free(struct scans *s)
{
    mct_scan_free(&s->src);
    mct_scan_free(&s->dst);
    free(s->src_dir);
    free(s->dst_dir);
}

static int progress_calls;
static int last_percent;
static void on_progress(void *ud, const char *phase, int percent, const char *detail)
{
    progress_calls++;
    last_percent = percent;
    ck_assert_str_eq(phase, "verifying");
    ck_assert_ptr_nonnull(strstr(detail, "MB/s"));
    ck_assert_ptr_nonnull(strstr(detail, "ETA"));
}

/* The copy side lives in a plain folder: a destination rooted there. */
static const struct mct_destination *dst_dest(const struct scans *s)
{
    static struct mct_destination d;
    d = (struct mct_destination){.name = (char *)"dst", .base_path = (char *)s->dst_dir};
    return &d;
}

/* res->files point into s->src: free s after res. */
static void compare(const struct mct_config *cfg, struct mct_hashcache *cache, struct scans *s,
                    struct mct_content_result *res)
{
    *s = (struct scans){0};
    scan_pair(s);
    struct mct_content_progress p = {.fn = on_progress, .label = "dst"};
    ck_assert_int_eq(mct_content_compare(cfg, s->src_dir, &s->src, dst_dest(s), s->dst_dir, &s->dst,
                                         cache, &p, res),
                     0);
}

START_TEST(test_content_flipped_byte_and_cache)
{
    _cleanup_config_ struct mct_config *cfg = cache_config();
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", NULL, 0), 0);
    make_pair();
    struct mct_hashcache *cache = NULL;
    ck_assert_int_eq(mct_hashcache_open(cfg, &ref, &cache), 0);

    struct mct_content_result res;
    struct scans s;
    progress_calls = 0;
    compare(cfg, cache, &s, &res);
    ck_assert_uint_eq(res.n_files, 3);
    ck_assert_uint_eq(res.n_differ + res.n_errors, 0);
    ck_assert_uint_eq(res.bytes_hashed, 2 * 3 * 3000);
    ck_assert_int_gt(progress_calls, 0);
    ck_assert_int_eq(last_percent, 100);
    ck_assert_ptr_null(mct_content_summary(&res));
    mct_content_result_free(&res);
    scans_free(&s);

    /* Everything fresh now: nothing is read again. */
    compare(cfg, cache, &s, &res);
    ck_assert_uint_eq(res.bytes_hashed, 0);
    ck_assert_uint_eq(res.n_differ, 0);
    ck_assert(res.files[0].source_cached && res.files[0].copy_cached);
    mct_content_result_free(&res);
    scans_free(&s);

    /* One flipped byte in the copy, same size: only that file is re-read. */
    _cleanup_free_ char *b = at("dst/b.mp4");
    int fd = open(b, O_WRONLY);
    ck_assert_int_eq(pwrite(fd, "X", 1, 1234), 1);
    close(fd);
    compare(cfg, cache, &s, &res);
    ck_assert_uint_eq(res.n_differ, 1);
    ck_assert_uint_eq(res.bytes_hashed, 3000);
    _cleanup_free_ char *sum = mct_content_summary(&res);
    ck_assert_ptr_nonnull(sum);
    ck_assert_msg(strstr(sum, "content differs") && strstr(sum, "b.mp4"), "%s", sum);
    mct_content_result_free(&res);
    scans_free(&s);
    mct_hashcache_free(cache);
}
END_TEST

START_TEST(test_content_missing_copy_folder)
{
    _cleanup_config_ struct mct_config *cfg = cache_config();
    make_pair();
    struct scans s = {0};
    scan_pair(&s);
    _cleanup_free_ char *cmd = mct_strdup_printf("rm -rf '%s'", s.dst_dir);
    ck_assert_int_eq(system(cmd), 0);
    struct mct_content_result res;
    ck_assert_int_eq(mct_content_compare(cfg, s.src_dir, &s.src, dst_dest(&s), s.dst_dir, &s.dst,
                                         NULL, NULL, &res),
                     0);
    ck_assert_uint_eq(res.n_errors, 3);
    ck_assert_int_eq(res.files[0].copy_err, -ENOENT);
    _cleanup_free_ char *sum = mct_content_summary(&res);
    ck_assert_ptr_nonnull(strstr(sum, "could not hash"));
    mct_content_result_free(&res);
    scans_free(&s);
}
END_TEST

/* ---- configuration ---- */

START_TEST(test_config_required_copies)
{
    _cleanup_config_ struct mct_config *def = config("");
    ck_assert_uint_eq(def->required_copies, 0);
    ck_assert_uint_eq(mct_config_required_copies(def), 2);
    ck_assert_str_eq(def->cache_dir, "/var/cache/mctfs");
    _cleanup_config_ struct mct_config *one = config("  required_copies: 1\n");
    ck_assert_uint_eq(mct_config_required_copies(one), 1);

    static const char *const bad[] = {"  required_copies: 3\n", "  required_copies: 0\n",
                                      "  required_copies: two\n"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        _cleanup_free_ char *yaml = mct_strdup_printf(
                "backup:\n  destinations:\n"
                "    - {name: a, mount_point: /mnt/a, base_path: /mnt/a/x}\n"
                "    - {name: b, mount_point: /mnt/b, base_path: /mnt/b/x, enabled: %s}\n"
                "%s",
                i == 0 ? "true" : "false", bad[i]);
        struct mct_config *cfg = NULL;
        char err[512] = "";
        ck_assert_int_eq(mct_config_parse_string("t.yaml", yaml, &cfg, err, sizeof(err)), -EINVAL);
        ck_assert_msg(strstr(err, "t.yaml:5") && strstr(err, "required_copies"), "%s", err);
    }
    /* Disabling a destination lowers the default with it. */
    _cleanup_config_ struct mct_config *dis = config("");
    dis->destinations[1].enabled = false;
    ck_assert_uint_eq(mct_config_required_copies(dis), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("checksum");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_hash_matches_xxhsum);
    tcase_add_test(tc, test_hash_parse);
    tcase_add_test(tc, test_hash_large_file_and_flipped_byte);
    tcase_add_test(tc, test_hash_symlink_and_errors);
    tcase_add_test(tc, test_cache_roundtrip_and_freshness);
    tcase_add_test(tc, test_cache_untrusted_corrupt_missing);
    tcase_add_test(tc, test_cache_any_name);
    tcase_add_test(tc, test_manifest_roundtrip);
    tcase_add_test(tc, test_manifest_path_next_to_log);
    tcase_add_test(tc, test_content_flipped_byte_and_cache);
    tcase_add_test(tc, test_content_missing_copy_folder);
    tcase_add_test(tc, test_config_required_copies);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
