/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A READDIRPLUS reply gives each entry's attributes with its name, and the
 * kernel keeps them as if it had looked each one up: a fresh walk that
 * stats what it lists (os.walk, ls -l, a file browser) then costs one
 * round trip per folder instead of one per entry. The kernel asks for it
 * on the first reply of a listing and on later ones only when the
 * entries it gave were looked at (READDIRPLUS_AUTO): `find` pays for the
 * first few dozen stats of each folder, not all.
 *
 * The names of a reply are taken from the listing under its lock, and
 * looked at (a stat each, no wait on any status) after it is let go.
 * .control and .metrics go without attributes (node id 0): the kernel
 * caches neither (entry.h). Every entry given with a node id counts a
 * lookup of its inode, taken back when the reply never reached the kernel.
 */
#include "readdir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "inode.h"
#include "listing.h"
#include "util.h"

struct reply {
    fuse_req_t req;
    char *buf;
    size_t size, len;
};

static bool list_one(void *ud, const char *name, mode_t type, uint64_t ino, off_t next)
{
    struct reply *l = ud;
    struct stat entry = {.st_ino = (ino_t)ino, .st_mode = type};
    size_t n = fuse_add_direntry(l->req, l->buf + l->len, l->size - l->len, name, &entry, next);
    if (n > l->size - l->len)
        return false; /* full: the kernel asks again from the last next */
    l->len += n;
    return true;
}

/* The names of a READDIRPLUS reply, as many as fit. */
struct plus_names {
    fuse_req_t req;
    size_t size, used;
    struct plus_name {
        char *name;
        mode_t type;
        uint64_t ino;
        off_t next;
    } * v;
    size_t n, cap;
    int error;
};

static bool collect_one(void *ud, const char *name, mode_t type, uint64_t ino, off_t next)
{
    struct plus_names *p = ud;
    size_t need = fuse_add_direntry_plus(p->req, NULL, 0, name, NULL, 0);
    if (need > p->size - p->used)
        return false; /* full: the kernel asks again from the last next */
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 32;
        struct plus_name *v = realloc(p->v, cap * sizeof(*v));
        if (!v) {
            p->error = -ENOMEM;
            return false;
        }
        p->v = v;
        p->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        p->error = -ENOMEM;
        return false;
    }
    p->v[p->n++] = (struct plus_name){copy, type, ino, next};
    p->used += need;
    return true;
}

static void plus_names_done(struct plus_names *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].name);
    free(p->v);
}

/* The entry of name in folder: its attributes and a counted lookup, or
 * just its name and type (e->ino 0) when the kernel is not to cache it
 * or it went since the listing was read. */
static void plus_entry(struct mctfs *fs, const struct node *folder, const struct plus_name *pn,
                       struct fuse_entry_param *e)
{
    *e = (struct fuse_entry_param){.attr = {.st_ino = (ino_t)pn->ino, .st_mode = pn->type}};
    if (streq(pn->name, ".") || streq(pn->name, ".."))
        return;
    struct node n;
    if (node_child(fs, folder, pn->name, &n) < 0)
        return;
    if (node_is_virtual(n.kind) && !node_is_cached_vfile(n.kind)) {
        node_done(&n);
        return;
    }
    struct fuse_entry_param made;
    if (entry_make(fs, &n, &made) == 0)
        *e = made;
}

static int reply_plus(fuse_req_t req, struct mctfs *fs, const struct node *n, size_t size,
                      off_t off)
{
    struct plus_names p = {.req = req, .size = size};
    int r = listings_serve(fs->listings, fs, n, off, collect_one, &p);
    if (r == 0 && p.error < 0 && p.n == 0)
        r = p.error;
    _cleanup_free_ char *buf = r == 0 ? malloc(size ? size : 1) : NULL;
    _cleanup_free_ fuse_ino_t *counted = r == 0 ? calloc(p.n + 1, sizeof(*counted)) : NULL;
    if (r == 0 && (!buf || !counted))
        r = -ENOMEM;
    if (r < 0) {
        plus_names_done(&p);
        return r;
    }
    size_t len = 0, n_counted = 0;
    for (size_t i = 0; i < p.n; i++) {
        struct fuse_entry_param e;
        plus_entry(fs, n, &p.v[i], &e);
        /* Fits: collect_one measured it. */
        len += fuse_add_direntry_plus(req, buf + len, size - len, p.v[i].name, &e, p.v[i].next);
        if (e.ino)
            counted[n_counted++] = e.ino;
    }
    plus_names_done(&p);
    /* -ENOENT: interrupted, the kernel counted none of them. */
    if (fuse_reply_buf(req, buf, len) == -ENOENT)
        for (size_t i = 0; i < n_counted; i++)
            inode_forget(counted[i], 1);
    return 0;
}

/* The folder is read once, at offset 0, and the rest of the sequence
 * served from that (listing.c). */
void readdir_reply(fuse_req_t req, struct mctfs *fs, const struct node *n, size_t size, off_t off,
                   bool plus)
{
    int r;
    if (n->kind != NODE_REAL) {
        r = -ENOTDIR;
    } else if (plus) {
        r = reply_plus(req, fs, n, size, off);
    } else {
        _cleanup_free_ char *buf = malloc(size ? size : 1);
        struct reply l = {.req = req, .buf = buf, .size = size};
        r = buf ? listings_serve(fs->listings, fs, n, off, list_one, &l) : -ENOMEM;
        if (r == 0)
            fuse_reply_buf(req, buf, l.len);
    }
    if (r < 0)
        fuse_reply_err(req, -r);
}
