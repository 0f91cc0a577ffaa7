/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scanning copy folders on the share: one forked child (share.c's
 * machinery) resolves each with mct_share_open_in_child (no symlink, no
 * other filesystem below the destination's root), reads its marker,
 * checks whether a case-variant of it is the same folder, walks it with
 * mct_scan_walk_fd and streams everything back; the parent builds the
 * struct mct_copy_scan of each. The child is forked from the threaded
 * daemon, so it uses system calls and static buffers only: no malloc, no
 * stdio, no log_*.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "marker.h"
#include "share.h"
#include "util.h"

/* The wire format: both ends are this binary on this machine, so native
 * layout is fine. Per path, an optional WIRE_MARKER record followed by
 * relpath_len bytes of marker text, the files in the order the walk met
 * them, each a WIRE_FILE record followed by relpath_len bytes of relpath,
 * then one WIRE_END record with the outcome (err, the folder's dev and
 * ino, symlink_end, folded, marker_err). The child streams as it walks
 * (it keeps no list: that would need malloc); the parent counts and sorts
 * exactly as mct_scan_tree does, through the same functions. */
enum { WIRE_FILE = 1, WIRE_END = 2, WIRE_MARKER = 3 };

struct wire_rec {
    uint32_t kind;
    uint32_t relpath_len; /* WIRE_FILE, WIRE_MARKER */
    int32_t err;          /* WIRE_END: 0 or -errno */
    uint32_t mode;
    uint64_t n_files; /* WIRE_END: WIRE_FILE records sent for this path */
    uint64_t size, dev, ino;
    int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
    uint64_t symlink_end, folded; /* WIRE_END */
    int32_t marker_err, pad;      /* WIRE_END */
};

struct scan_args {
    const struct mct_destination *dest;
    const struct mct_copy_scan *copies;
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

/* 1 + the index of the first partner that is the folder (dev, ino). */
static uint64_t folded_with(const struct scan_args *a, const struct mct_copy_scan *c,
                            const struct stat *st)
{
    for (size_t k = 0; c->partners && c->partners[k]; k++) {
        int pfd = mct_share_open_in_child(a->dest, c->partners[k], false, NULL);
        struct stat pst;
        bool same = pfd >= 0 && fstat(pfd, &pst) == 0 && pst.st_dev == st->st_dev &&
                    pst.st_ino == st->st_ino;
        if (pfd >= 0)
            close(pfd);
        if (same)
            return k + 1;
    }
    return 0;
}

/* One copy folder: END's fields in *end, the marker and files sent. */
static int scan_one(const struct scan_args *a, const struct mct_copy_scan *c, struct sender *s,
                    char (*dents)[MCT_SCAN_DENTS_BUF], struct wire_rec *end)
{
    static char marker[MCT_MARKER_MAX];
    size_t symlink_end = 0, n = 0;
    int fd = mct_share_open_in_child(a->dest, c->path, false, &symlink_end);
    end->symlink_end = symlink_end;
    if (fd < 0)
        return fd;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    end->dev = st.st_dev;
    end->ino = st.st_ino;
    end->marker_err = mct_share_read_marker(fd, marker, sizeof(marker), &n);
    if (end->marker_err == 0) {
        struct wire_rec w = {.kind = WIRE_MARKER, .relpath_len = (uint32_t)n};
        if (sender_put(s, &w, marker) < 0) {
            close(fd);
            return -EPIPE;
        }
    }
    end->folded = folded_with(a, c, &st);
    return mct_scan_walk_fd(fd, a->excludes, dents, send_file, s);
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
        struct wire_rec end = {.kind = WIRE_END};
        end.err = scan_one(a, &a->copies[i], &s, dents, &end);
        end.n_files = s.n_files;
        if (s.broken || sender_put(&s, &end, "") < 0 || sender_flush(&s) < 0)
            _exit(1); /* the parent gave up on us */
    }
}

static void end_received(struct mct_copy_scan *out, const struct wire_rec *w, size_t cap)
{
    out->err = w->err;
    out->dev = (dev_t)w->dev;
    out->ino = (ino_t)w->ino;
    out->symlink_end = (size_t)w->symlink_end;
    out->folded = (size_t)w->folded;
    out->marker_err = w->marker_err;
    if (w->err) {
        mct_scan_free(&out->scan); /* as mct_scan_tree: a failed walk lists nothing */
        free(out->marker);
        out->marker = NULL;
    } else {
        mct_scan_done(&out->scan, cap);
    }
}

/* One path's result. 0 with out->err set (the scan's own outcome), or a
 * transport error after which the stream is unusable. */
static int recv_scan(struct mct_share_child *c, int idle, struct mct_copy_scan *out)
{
    struct mct_scan *s = &out->scan;
    size_t cap = 0;
    for (;;) {
        struct wire_rec w;
        char relpath[MCT_SCAN_PATH_MAX];
        int r = mct_share_child_read(c, &w, sizeof(w), idle);
        if (r == 0 && w.kind == WIRE_END && w.n_files == s->n_files) {
            end_received(out, &w, cap);
            return 0;
        }
        if (r == 0 && w.kind == WIRE_MARKER && w.relpath_len < MCT_MARKER_MAX && !out->marker) {
            out->marker = calloc(1, (size_t)w.relpath_len + 1);
            r = out->marker ? mct_share_child_read(c, out->marker, w.relpath_len, idle) : -ENOMEM;
            if (r == 0)
                continue;
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
            mct_copy_scan_done(out);
            return r;
        }
    }
}

int mct_share_scan_copies(const struct mct_config *cfg, const struct mct_destination *dest,
                          struct mct_copy_scan *copies, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mct_copy_scan_done(&copies[i]);
        copies[i].err = -ETIMEDOUT;
        copies[i].marker_err = -ENOENT;
        copies[i].symlink_end = copies[i].folded = 0;
    }
    if (n == 0)
        return 0;

    _cleanup_strv_ char **excludes = mct_copy_excludes(cfg->exclude_patterns);
    if (!excludes)
        return -ENOMEM;
    struct scan_args a = {dest, copies, n, excludes};
    struct mct_share_child c = {.dest = dest, .fd = -1};
    int r = mct_share_child_start(&c, scan_child, &a);
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            copies[i].err = r;
        return r;
    }
    int idle = mct_share_timeout_ms(cfg);
    bool timed_out = false;
    for (size_t i = 0; i < n; i++) {
        r = recv_scan(&c, idle, &copies[i]);
        if (r < 0) {
            for (size_t k = i; k < n; k++)
                copies[k].err = r;
            timed_out = r == -ETIMEDOUT;
            break;
        }
    }
    mct_share_child_finish(&c);
    return timed_out ? -ETIMEDOUT : 0;
}
