/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hash cache file, one line per file:
 *   HEX32 SIZE MTIME_S MTIME_NS CTIME_S CTIME_NS INODE KIND PATH
 * after a "mctfs-hashcache 2" header, PATH escaped as text (escape.h), so
 * any name (a newline, a backslash, bytes that are not UTF-8) has its
 * line and reads back as itself. A file with another header (version 1
 * wrote paths raw) is ignored and rewritten: the cache only saves time.
 * Lines that do not parse are skipped (a torn write costs only those
 * entries). Sessions hold tens to thousands of files: a sorted array with
 * binary search is enough.
 */
#include "hashcache.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "escape.h"
#include "log.h"
#include "util.h"

#define HEADER          "mctfs-hashcache 2\n"
#define CACHE_MAX_BYTES (256u << 20)

struct entry {
    char *path;
    struct mct_file st; /* relpath unused */
    struct mct_hash hash;
    bool used; /* looked up fresh or stored in this run: kept by save */
};

struct mct_hashcache {
    char *file; /* NULL: nowhere to save (no cache_dir) */
    struct entry *e;
    size_t n, cap;
    size_t n_sorted; /* e[0..n_sorted) is sorted; the tail is searched linearly */
};

/* Re-sort once the unsorted tail is this long. */
#define TAIL_MAX 256

char *mct_hashcache_path(const struct mct_config *cfg, const struct mct_session_ref *ref)
{
    return mct_strdup_printf("%s/hashes/%s__%s.cache", cfg->cache_dir ? cfg->cache_dir : "",
                             ref->participant_id, ref->session_date);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

static struct entry *find(struct mct_hashcache *c, const char *path)
{
    if (c->n - c->n_sorted > TAIL_MAX) {
        qsort(c->e, c->n, sizeof(*c->e), cmp_entry);
        c->n_sorted = c->n;
    }
    struct entry key = {.path = (char *)path};
    struct entry *e =
            c->n_sorted ? bsearch(&key, c->e, c->n_sorted, sizeof(*c->e), cmp_entry) : NULL;
    for (size_t i = c->n_sorted; !e && i < c->n; i++)
        if (streq(c->e[i].path, path))
            e = &c->e[i];
    return e;
}

static int add(struct mct_hashcache *c, const char *path, const struct mct_file *st,
               const struct mct_hash *h, bool used)
{
    if (MCT_RESERVE(c->e, c->cap, c->n, 64) < 0)
        return -ENOMEM;
    char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    c->e[c->n++] = (struct entry){.path = p, .st = *st, .hash = *h, .used = used};
    c->e[c->n - 1].st.relpath = NULL;
    return 0;
}

/* Someone else's cache file could make a copy look verified: use only our
 * own, and only when nobody else can write it. */
static bool trusted(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
           (st.st_uid == geteuid() || st.st_uid == 0) && !(st.st_mode & 022);
}

static void parse_line(struct mct_hashcache *c, char *line)
{
    char hex[MCT_HASH_HEX_LEN + 1];
    uint64_t size, ino;
    int64_t ms, mns, cs, cns;
    unsigned kind;
    int off = 0;
    if (sscanf(line,
               "%32s %" SCNu64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNu64 " %o %n",
               hex, &size, &ms, &mns, &cs, &cns, &ino, &kind, &off) != 8 ||
        off == 0 || line[off] != '/')
        return;
    struct mct_hash h;
    _cleanup_buf_ struct mct_buf path = {0};
    if (mct_hash_parse(hex, &h) < 0 || mct_unesc_text(line + off, strlen(line + off), &path) < 0 ||
        strlen(path.data) != path.len)
        return;
    struct mct_file st = {
            .size = size,
            .mtime = {.tv_sec = ms, .tv_nsec = mns},
            .ctime = {.tv_sec = cs, .tv_nsec = cns},
            .ino = (ino_t)ino,
            .mode = (mode_t)kind,
    };
    (void)add(c, path.data, &st, &h, false);
}

static void load(struct mct_hashcache *c)
{
    _cleanup_close_ int fd = open(c->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || !trusted(fd))
        return;
    _cleanup_fclose_ FILE *f = fdopen(fd, "re");
    if (!f)
        return;
    fd = -1;
    _cleanup_free_ char *line = NULL;
    size_t cap = 0, total = 0;
    ssize_t n = getline(&line, &cap, f);
    if (n < 0 || !streq(line, HEADER))
        return;
    while ((n = getline(&line, &cap, f)) > 0 && (total += (size_t)n) < CACHE_MAX_BYTES) {
        if (line[n - 1] != '\n')
            break; /* torn last line */
        line[n - 1] = '\0';
        parse_line(c, line);
    }
    /* Duplicates only come from a file edited by hand; any one will do. */
    if (c->n > 1)
        qsort(c->e, c->n, sizeof(*c->e), cmp_entry);
    c->n_sorted = c->n;
}

int mct_hashcache_open(const struct mct_config *cfg, const struct mct_session_ref *ref,
                       struct mct_hashcache **ret)
{
    struct mct_hashcache *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    if (!strempty(cfg->cache_dir)) {
        c->file = mct_hashcache_path(cfg, ref);
        if (!c->file) {
            free(c);
            return -ENOMEM;
        }
        load(c);
    }
    *ret = c;
    return 0;
}

bool mct_hashcache_lookup(struct mct_hashcache *c, const char *path, const struct mct_file *st,
                          struct mct_hash *out)
{
    struct entry *e = c ? find(c, path) : NULL;
    if (!e || !mct_file_same_version(&e->st, st))
        return false;
    e->used = true;
    *out = e->hash;
    return true;
}

int mct_hashcache_store(struct mct_hashcache *c, const char *path, const struct mct_file *st,
                        const struct mct_hash *h)
{
    if (!c || path[0] != '/')
        return 0;
    struct entry *e = find(c, path);
    if (e) {
        e->st = *st;
        e->st.relpath = NULL;
        e->hash = *h;
        e->used = true;
        return 0;
    }
    return add(c, path, st, h, true);
}

static int write_entries(FILE *f, const struct mct_hashcache *c)
{
    _cleanup_buf_ struct mct_buf path = {0};
    fputs(HEADER, f);
    for (size_t i = 0; i < c->n; i++) {
        const struct entry *e = &c->e[i];
        if (!e->used)
            continue;
        char hex[MCT_HASH_HEX_LEN + 1];
        mct_hash_hex(&e->hash, hex);
        path.len = 0;
        if (mct_esc_text_str(&path, e->path) < 0)
            return -ENOMEM;
        fprintf(f,
                "%s %" PRIu64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRIu64
                " %o %s\n",
                hex, e->st.size, (int64_t)e->st.mtime.tv_sec, (int64_t)e->st.mtime.tv_nsec,
                (int64_t)e->st.ctime.tv_sec, (int64_t)e->st.ctime.tv_nsec, (uint64_t)e->st.ino,
                (unsigned)e->st.mode, path.data);
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

int mct_hashcache_save(struct mct_hashcache *c)
{
    if (!c || !c->file)
        return 0;
    _cleanup_free_ char *dir = strdup(c->file);
    if (!dir)
        return -ENOMEM;
    *strrchr(dir, '/') = '\0';
    int r = mct_mkdir_p(dir, 0700);
    _cleanup_free_ char *tmp = mct_strdup_printf("%s.%d.tmp", c->file, (int)getpid());
    if (r == 0 && !tmp)
        r = -ENOMEM;
    _cleanup_fclose_ FILE *f = NULL;
    if (r == 0) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        f = fd >= 0 ? fdopen(fd, "we") : NULL;
        if (!f) {
            r = -errno;
            if (fd >= 0)
                close(fd);
        }
    }
    if (r == 0)
        r = write_entries(f, c);
    if (r == 0 && rename(tmp, c->file) < 0)
        r = -errno;
    if (r < 0) {
        if (tmp)
            (void)unlink(tmp);
        log_debug("hash cache %s not saved: %s (only speed is lost)", c->file, strerror(-r));
    }
    return r;
}

void mct_hashcache_remove(const struct mct_config *cfg, const struct mct_session_ref *ref)
{
    _cleanup_free_ char *p = strempty(cfg->cache_dir) ? NULL : mct_hashcache_path(cfg, ref);
    if (p)
        (void)unlink(p);
}

void mct_hashcache_free(struct mct_hashcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->e[i].path);
    free(c->e);
    free(c->file);
    free(c);
}
