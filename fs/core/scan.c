/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One walk per session folder. Directories are opened relative to their
 * parent's fd (openat + getdents64 + fstatat), so the kernel never resolves
 * a long path twice and a folder renamed mid-walk cannot send us elsewhere.
 * Any error below the root fails the whole scan: a scan that silently
 * skipped an unreadable folder would let a verification pass without the
 * files in it.
 */
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util.h"

void mct_scan_free(struct mct_scan *scan)
{
    if (!scan)
        return;
    for (size_t i = 0; i < scan->n_files; i++)
        free(scan->files[i].relpath);
    free(scan->files);
    *scan = (struct mct_scan){0};
}

/* ---- rsync-style pattern matching ---- */

/* Does the bracket expression at p (p[0] == '[') match c? fnmatch with
 * no flags in the C locale (nothing here calls setlocale) is the
 * single-byte matcher: no allocation, no lock, fine in a forked child. *end gets the
 * character after the closing ']', or NULL when there is none (then '['
 * is literal, as in rsync). */
static bool class_match(const char *p, char c, const char **end)
{
    const char *q = p + 1;
    if (*q == '!' || *q == '^')
        q++;
    if (*q == ']')
        q++;
    while (*q && *q != ']')
        q++;
    if (!*q) {
        *end = NULL;
        return false;
    }
    *end = q + 1;
    char cls[256], s[2] = {c, '\0'};
    size_t n = (size_t)(q + 1 - p);
    if (n >= sizeof(cls))
        return false;
    memcpy(cls, p, n);
    cls[n] = '\0';
    if (cls[1] == '^')
        cls[1] = '!';
    return c != '/' && fnmatch(cls, s, 0) == 0;
}

/* wildmatch's answers. The two aborts are rsync's (and git's): they stop
 * outer '*'s from retrying positions that cannot match either, which keeps
 * patterns like "**a**a**a**b" polynomial instead of exponential (found by
 * fuzz_exclude: a long pattern of "**" took minutes on a short path). */
enum {
    WM_ABORT_TO_STARSTAR = -2, /* a single '*' met a '/': only a "**" further out may help */
    WM_ABORT_ALL = -1,         /* the text ran out: no later start can match */
    WM_NOMATCH = 0,
    WM_MATCH = 1,
};

/*
 * Shell-style match where '*', '?' and classes never match '/' and '**'
 * matches anything, '/' included: rsync's wildmatch. (fnmatch with
 * FNM_PATHNAME has no '**', so it cannot be used for the whole pattern.)
 */
static int dowild(const char *p, const char *t)
{
    for (; *p; p++, t++) {
        /* Every pattern element but '*' takes one character. */
        if (!*t && *p != '*')
            return WM_ABORT_ALL;
        switch (*p) {
        case '\\':
            if (p[1])
                p++;
            if (*t != *p)
                return WM_NOMATCH;
            break;
        case '?':
            if (*t == '/')
                return WM_NOMATCH;
            break;
        case '[': {
            const char *end;
            bool m = class_match(p, *t, &end);
            if (!end) {
                if (*t != '[')
                    return WM_NOMATCH;
                break;
            }
            if (!m)
                return WM_NOMATCH;
            p = end - 1;
            break;
        }
        case '*': {
            bool dbl = p[1] == '*';
            while (*p == '*')
                p++;
            if (!*p)
                return dbl || !strchr(t, '/') ? WM_MATCH : WM_NOMATCH;
            for (; *t; t++) {
                int r = dowild(p, t);
                if (r != WM_NOMATCH) {
                    if (!dbl || r != WM_ABORT_TO_STARSTAR)
                        return r;
                } else if (!dbl && *t == '/') {
                    return WM_ABORT_TO_STARSTAR;
                }
            }
            return WM_ABORT_ALL;
        }
        default:
            if (*t != *p)
                return WM_NOMATCH;
        }
    }
    return *t ? WM_NOMATCH : WM_MATCH;
}

static bool wildmatch(const char *p, const char *t)
{
    return dowild(p, t) == WM_MATCH;
}

/* One pattern against one path (the path itself, not its parents). */
static bool pattern_match(const char *pat, const char *relpath, bool is_dir)
{
    char buf[4096];
    size_t len = strlen(pat);
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, pat, len + 1);

    bool dir_only = false, anchored = false;
    if (len > 1 && buf[len - 1] == '/') {
        buf[--len] = '\0';
        dir_only = true;
    }
    if (dir_only && !is_dir)
        return false;
    const char *p = buf;
    if (*p == '/') {
        anchored = true;
        p++;
    }

    if (!anchored && !strchr(p, '/') && !strstr(p, "**")) {
        const char *base = strrchr(relpath, '/');
        return wildmatch(p, base ? base + 1 : relpath);
    }
    if (wildmatch(p, relpath))
        return true;
    /* rsync: a pattern ending in slash + three stars also matches the folder itself. */
    size_t plen = strlen(p);
    if (plen > 4 && streq(p + plen - 4, "/***")) {
        /* Built by hand, not with snprintf: this runs in forked share
         * children, where stdio is off limits. */
        char dir[4096];
        size_t k = anchored ? 1 : 0;
        dir[0] = '/';
        memcpy(dir + k, p, plen - 4);
        memcpy(dir + k + plen - 4, "/", 2);
        if (pattern_match(dir, relpath, is_dir))
            return true;
    }
    if (anchored)
        return false;
    /* Unanchored: rsync matches it against the end of the path, at any
     * component boundary; a leading "**" + "/" may also match no folder. */
    if (startswith(p, "**/") && wildmatch(p + 3, relpath))
        return true;
    for (const char *s = strchr(relpath, '/'); s; s = strchr(s + 1, '/'))
        if (wildmatch(p, s + 1))
            return true;
    return false;
}

static bool any_pattern_match(char *const *patterns, const char *relpath, bool is_dir)
{
    for (char *const *p = patterns; p && *p; p++)
        if (pattern_match(*p, relpath, is_dir))
            return true;
    return false;
}

bool mct_exclude_match(char *const *patterns, const char *relpath, bool is_dir)
{
    if (!patterns || !*patterns || strempty(relpath))
        return false;
    char buf[4096];
    size_t len = strlen(relpath);
    if (len >= sizeof(buf))
        return false;
    memcpy(buf, relpath, len + 1);
    /* Every parent folder gets its chance first, as in rsync's walk. */
    for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        bool m = any_pattern_match(patterns, buf, true);
        *s = '/';
        if (m)
            return true;
    }
    return any_pattern_match(patterns, buf, is_dir);
}

/* ---- the walk ---- */

/* The array grows by doubling from 64 entries; a status keeps thousands of
 * small scans at once, so the slack is given back when a scan is done. */
static void scan_shrink(struct mct_scan *s, size_t cap)
{
    if (!s->files || cap - s->n_files < 8)
        return;
    struct mct_file *nf = realloc(s->files, (s->n_files ? s->n_files : 1) * sizeof(*nf));
    if (nf)
        s->files = nf;
}

void mct_scan_tally(struct mct_scan *s, const struct mct_file *f)
{
    if (f->mode == S_IFREG) {
        s->bytes += f->size;
        size_t len = strlen(f->relpath);
        if (len >= 4 && strcasecmp(f->relpath + len - 4, ".mp4") == 0)
            s->videos++;
    }
    if (f->mtime.tv_sec > s->newest_mtime.tv_sec ||
        (f->mtime.tv_sec == s->newest_mtime.tv_sec && f->mtime.tv_nsec > s->newest_mtime.tv_nsec))
        s->newest_mtime = f->mtime;
}

int mct_scan_add(struct mct_scan *s, size_t *cap, const struct mct_file *f)
{
    if (MCT_RESERVE(s->files, *cap, s->n_files, 64) < 0)
        return -ENOMEM;
    char *p = strdup(f->relpath);
    if (!p)
        return -ENOMEM;
    s->files[s->n_files] = *f;
    s->files[s->n_files++].relpath = p;
    mct_scan_tally(s, f);
    return 0;
}

static int file_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mct_file *)a)->relpath, ((const struct mct_file *)b)->relpath);
}

void mct_scan_done(struct mct_scan *s, size_t cap)
{
    if (s->n_files > 1)
        qsort(s->files, s->n_files, sizeof(*s->files), file_cmp);
    scan_shrink(s, cap);
}

int mct_scan_filter(const struct mct_scan *raw, char *const *excludes, struct mct_scan *out)
{
    *out = (struct mct_scan){0};
    size_t cap = 0;
    for (size_t i = 0; i < raw->n_files; i++) {
        if (mct_exclude_match(excludes, raw->files[i].relpath, false))
            continue;
        int r = mct_scan_add(out, &cap, &raw->files[i]);
        if (r < 0) {
            mct_scan_free(out);
            return r;
        }
    }
    scan_shrink(out, cap);
    return 0;
}

bool mct_is_rig_file(const char *relpath)
{
    const char *slash = strrchr(relpath, '/');
    const char *base = slash ? slash + 1 : relpath;
    size_t len = strlen(base);
    return (len >= 5 && strcasecmp(base + len - 5, ".lock") == 0) ||
           (len >= 4 && strcasecmp(base + len - 4, ".tmp") == 0);
}

/*
 * The walk itself runs in forked children of the threaded daemon too
 * (share.c), so it allocates nothing and takes no lock: getdents64 into a
 * buffer per depth instead of readdir's malloc'd DIR, the path in the
 * walker, each file handed to fn.
 */
struct walker {
    char *const *excludes;
    char (*dents)[MCT_SCAN_DENTS_BUF]; /* NULL: one malloc'd buffer per folder */
    mct_scan_file_fn fn;
    mct_scan_dir_fn dir_fn; /* NULL: folders are only walked */
    void *ud;
    char path[MCT_SCAN_PATH_MAX]; /* relpath of the folder being walked, "" at the root */
};

static int walk_dir(struct walker *w, int dfd, size_t depth);

static int walk_entry(struct walker *w, int dfd, const char *name, size_t base_len, size_t depth)
{
    size_t nlen = strlen(name);
    if (base_len + nlen + 2 > sizeof(w->path))
        return -ENAMETOOLONG;
    if (base_len)
        w->path[base_len] = '/';
    memcpy(w->path + base_len + (base_len ? 1 : 0), name, nlen + 1);

    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno; /* gone since readdir: nothing to list */

    bool is_dir = S_ISDIR(st.st_mode);
    if (!is_dir && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
        return 0; /* fifos, sockets, devices: rsync -a would not copy their data either */
    if (any_pattern_match(w->excludes, w->path, is_dir))
        return 0;
    if (!is_dir) {
        struct mct_file f = {
                .relpath = w->path,
                .size = (uint64_t)st.st_size,
                .mtime = st.st_mtim,
                .ctime = st.st_ctim,
                .dev = st.st_dev,
                .ino = st.st_ino,
                .mode = st.st_mode & S_IFMT,
        };
        return w->fn(w->ud, &f);
    }

    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    return walk_dir(w, fd, depth + 1);
}

/* Takes ownership of dfd. */
static int walk_dir(struct walker *w, int dfd, size_t depth)
{
    _cleanup_close_ int fd = dfd;
    _cleanup_free_ char *heap = NULL;
    /* Unreachable: every level adds at least "/x" to a bounded path. */
    if (depth >= MCT_SCAN_MAX_DEPTH)
        return -ENAMETOOLONG;
    char *buf = w->dents ? w->dents[depth] : (heap = malloc(MCT_SCAN_DENTS_BUF));
    if (!buf)
        return -ENOMEM;
    /* Before its entries are read: whatever changes after the call is
     * either seen by this walk or happens after dir_fn looked. */
    if (w->dir_fn) {
        int r = w->dir_fn(w->ud, fd, w->path);
        if (r < 0)
            return r;
    }
    size_t base_len = strlen(w->path);
    for (;;) {
        ssize_t n = getdents64(fd, buf, MCT_SCAN_DENTS_BUF);
        /* ENOENT: the folder was deleted under us, which readdir() also
         * reports as its plain end. */
        if (n < 0)
            return errno == ENOENT ? 0 : -errno;
        if (n == 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            const struct dirent64 *de = (const struct dirent64 *)(buf + off);
            off += de->d_reclen;
            if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                continue;
            int r = walk_entry(w, fd, de->d_name, base_len, depth);
            w->path[base_len] = '\0';
            if (r < 0)
                return r;
        }
    }
}

int mct_scan_walk_fd(int fd, char *const *excludes, char (*dents)[MCT_SCAN_DENTS_BUF],
                     mct_scan_file_fn fn, void *ud)
{
    return mct_scan_walk_dirs_fd(fd, excludes, fn, NULL, ud, dents);
}

int mct_scan_walk_dirs_fd(int fd, char *const *excludes, mct_scan_file_fn fn,
                          mct_scan_dir_fn dir_fn, void *ud, char (*dents)[MCT_SCAN_DENTS_BUF])
{
    struct walker w = {.excludes = excludes, .dents = dents, .fn = fn, .dir_fn = dir_fn, .ud = ud};
    return walk_dir(&w, fd, 0);
}

int mct_scan_walk(const char *root, char *const *excludes, char (*dents)[MCT_SCAN_DENTS_BUF],
                  mct_scan_file_fn fn, void *ud)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return mct_scan_walk_fd(fd, excludes, dents, fn, ud);
}

struct collect {
    struct mct_scan *scan;
    size_t cap;
};

static int collect_file(void *ud, const struct mct_file *f)
{
    struct collect *c = ud;
    return mct_scan_add(c->scan, &c->cap, f);
}

int mct_scan_tree(const char *root, char *const *excludes, struct mct_scan *ret)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        *ret = (struct mct_scan){0};
        return -errno;
    }
    return mct_scan_tree_fd(fd, excludes, ret);
}

int mct_scan_tree_fd(int fd, char *const *excludes, struct mct_scan *ret)
{
    *ret = (struct mct_scan){0};
    struct collect c = {.scan = ret};
    int r = mct_scan_walk_fd(fd, excludes, NULL, collect_file, &c);
    if (r < 0) {
        mct_scan_free(ret);
        return r;
    }
    mct_scan_done(ret, c.cap);
    return 0;
}

const struct mct_file *mct_scan_find(const struct mct_scan *scan, const char *relpath)
{
    if (!scan || !scan->n_files)
        return NULL;
    struct mct_file key = {.relpath = (char *)relpath};
    return bsearch(&key, scan->files, scan->n_files, sizeof(*scan->files), file_cmp);
}
