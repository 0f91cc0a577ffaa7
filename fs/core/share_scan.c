/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scanning destination session folders on the share: one forked child
 * (share.c's machinery) walks them all with mct_scan_walk and streams the
 * files back; the parent builds the struct mct_scan of each. The child is
 * forked from the threaded daemon, so it uses system calls and static
 * buffers only: no malloc, no stdio, no log_*.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "share.h"
#include "util.h"

/* The wire format: both ends are this binary on this machine, so native
 * layout is fine. Per path, the files in the order the walk met them, each
 * a WIRE_FILE record followed by relpath_len bytes of relpath, then one
 * WIRE_END record with the walk's outcome. The child streams as it walks
 * (it keeps no list: that would need malloc); the parent counts and sorts
 * exactly as mct_scan_tree does, through the same functions. */
enum { WIRE_FILE = 1, WIRE_END = 2 };

struct wire_rec {
    uint32_t kind;
    uint32_t relpath_len; /* WIRE_FILE */
    int32_t err;          /* WIRE_END: 0 or -errno */
    uint32_t mode;
    uint64_t n_files; /* WIRE_END: WIRE_FILE records sent for this path */
    uint64_t size, dev, ino;
    int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
};

struct scan_args {
    char *const *paths;
    size_t n;
    char *const *excludes;
};

/* The child's output, batched into one static buffer. */
struct sender {
    int wfd;
    size_t len;
    uint64_t n_files;
    bool broken; /* a write failed: the parent gave up on us */
    char buf[65536];
};

static int sender_flush(struct sender *s)
{
    int r = s->len ? mct_share_child_write(s->wfd, s->buf, s->len) : 0;
    s->len = 0;
    if (r < 0)
        s->broken = true;
    return r;
}

static int sender_put(struct sender *s, const struct wire_rec *w, const char *relpath)
{
    if (s->len + sizeof(*w) + w->relpath_len > sizeof(s->buf)) {
        int r = sender_flush(s);
        if (r < 0)
            return r;
    }
    memcpy(s->buf + s->len, w, sizeof(*w));
    memcpy(s->buf + s->len + sizeof(*w), relpath, w->relpath_len);
    s->len += sizeof(*w) + w->relpath_len;
    return 0;
}

static int send_file(void *ud, const struct mct_file *f)
{
    struct sender *s = ud;
    struct wire_rec w = {
            .kind = WIRE_FILE,
            .relpath_len = (uint32_t)strlen(f->relpath),
            .mode = f->mode,
            .size = f->size,
            .dev = (uint64_t)f->dev,
            .ino = (uint64_t)f->ino,
            .mtime_s = f->mtime.tv_sec,
            .mtime_ns = f->mtime.tv_nsec,
            .ctime_s = f->ctime.tv_sec,
            .ctime_ns = f->ctime.tv_nsec,
    };
    s->n_files++;
    return sender_put(s, &w, f->relpath);
}

static void scan_child(int wfd, void *ud)
{
    const struct scan_args *a = ud;
    /* Static, not on the stack: the walk may be thousands of levels deep
     * and the stack is that of whichever daemon thread forked us. */
    static _Alignas(struct dirent64) char dents[MCT_SCAN_MAX_DEPTH][MCT_SCAN_DENTS_BUF];
    static struct sender s; /* 64 KiB: no compound literal, no stack copy */
    s.wfd = wfd;
    s.len = 0;
    s.broken = false;
    for (size_t i = 0; i < a->n; i++) {
        s.n_files = 0;
        int r = mct_scan_walk(a->paths[i], a->excludes, dents, send_file, &s);
        struct wire_rec end = {.kind = WIRE_END, .err = r, .n_files = s.n_files};
        if (s.broken || sender_put(&s, &end, "") < 0 || sender_flush(&s) < 0)
            _exit(1); /* the parent gave up on us */
    }
}

/* One path's result. 0 with *err set (the scan's own outcome), or a
 * transport error after which the stream is unusable. */
static int recv_scan(struct mct_share_child *c, int idle, struct mct_scan *s, int *err)
{
    size_t cap = 0;
    for (;;) {
        struct wire_rec w;
        char relpath[MCT_SCAN_PATH_MAX];
        int r = mct_share_child_read(c, &w, sizeof(w), idle);
        if (r == 0 && w.kind == WIRE_END && w.n_files == s->n_files) {
            *err = w.err;
            if (w.err)
                mct_scan_free(s); /* as mct_scan_tree: a failed walk lists nothing */
            else
                mct_scan_done(s, cap);
            return 0;
        }
        if (r == 0 &&
            (w.kind != WIRE_FILE || w.relpath_len == 0 || w.relpath_len >= sizeof(relpath)))
            r = -EIO;
        if (r == 0)
            r = mct_share_child_read(c, relpath, w.relpath_len, idle);
        if (r == 0) {
            relpath[w.relpath_len] = '\0';
            struct mct_file f = {
                    .relpath = relpath,
                    .size = w.size,
                    .mtime = {.tv_sec = w.mtime_s, .tv_nsec = w.mtime_ns},
                    .ctime = {.tv_sec = w.ctime_s, .tv_nsec = w.ctime_ns},
                    .dev = (dev_t)w.dev,
                    .ino = (ino_t)w.ino,
                    .mode = (mode_t)w.mode,
            };
            r = mct_scan_add(s, &cap, &f);
        }
        if (r < 0) {
            mct_scan_free(s);
            return r;
        }
    }
}

int mct_share_scan_many(const struct mct_config *cfg, char *const *paths, size_t n,
                        struct mct_scan *results, int *errs)
{
    for (size_t i = 0; i < n; i++) {
        results[i] = (struct mct_scan){0};
        errs[i] = -ETIMEDOUT;
    }
    if (n == 0)
        return 0;

    struct scan_args a = {paths, n, cfg->exclude_patterns};
    struct mct_share_child c = {.fd = -1};
    int r = mct_share_child_start(&c, scan_child, &a);
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            errs[i] = r;
        return r;
    }
    int idle = mct_share_timeout_ms(cfg);
    bool timed_out = false;
    for (size_t i = 0; i < n; i++) {
        r = recv_scan(&c, idle, &results[i], &errs[i]);
        if (r < 0) {
            for (size_t k = i; k < n; k++)
                errs[k] = r;
            timed_out = r == -ETIMEDOUT;
            break;
        }
    }
    mct_share_child_finish(&c);
    return timed_out ? -ETIMEDOUT : 0;
}
