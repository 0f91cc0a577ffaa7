/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bounded-descriptor walk (tree.h). A stack of levels, one per folder
 * on the way down from the root, each with the names read when the walk
 * entered it and, for the deepest few, an open descriptor. A recursive
 * walk holding one descriptor per level (or two, with readdir's DIR) runs
 * out of them some 500 to 1000 levels down.
 */
#include "tree.h"

#include <dirent.h>
#include <fcntl.h>

#include "util.h"

#define DENTS_BUF 32768

struct level {
    char *name; /* in the parent folder; NULL at the root */
    struct stat st;
    int fd; /* -1 while closed */
    char **names;
    size_t n, cap, next;
    size_t path_len; /* this folder's relpath is path[0..path_len) */
};

struct walk {
    struct level *lv;
    size_t depth, cap; /* lv[0..depth) */
    size_t n_open;
    char *path;
    size_t path_cap;
    char *dents;
    dev_t dev;
};

static void level_close(struct walk *w, struct level *l)
{
    if (l->fd < 0)
        return;
    close(l->fd);
    l->fd = -1;
    w->n_open--;
}

static void level_free(struct walk *w, struct level *l)
{
    level_close(w, l);
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->name);
    *l = (struct level){.fd = -1};
}

/* Over the budget: close the shallowest open folders (never the root),
 * keeping levels keep_from and deeper. */
static void trim(struct walk *w, size_t keep_from)
{
    for (size_t i = 1; w->n_open > MCT_TREE_MAX_FDS && i < keep_from; i++)
        level_close(w, &w->lv[i]);
}

static int push_name(struct level *l, const char *name)
{
    if (MCT_RESERVE(l->names, l->cap, l->n, 16) < 0)
        return -ENOMEM;
    l->names[l->n] = strdup(name);
    return l->names[l->n++] ? 0 : -ENOMEM;
}

/* Every name in the folder, read once; the walk needs no descriptor to
 * go on with a folder after returning from below it. */
static int read_names(struct walk *w, struct level *l)
{
    for (;;) {
        ssize_t n = getdents64(l->fd, w->dents, DENTS_BUF);
        if (n < 0)
            return errno == ENOENT ? 0 : -errno;
        if (n == 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            const struct dirent64 *de = (const struct dirent64 *)(w->dents + off);
            off += de->d_reclen;
            if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                continue;
            int r = push_name(l, de->d_name);
            if (r < 0)
                return r;
        }
    }
}

/* Open lv[k] again from its nearest open ancestor, a component at a time:
 * every folder on the way must still be the one the walk met. */
static int ensure_open(struct walk *w, size_t k)
{
    size_t j = k;
    while (w->lv[j].fd < 0)
        j--; /* the root is always open */
    for (size_t i = j + 1; i <= k; i++) {
        struct level *l = &w->lv[i];
        int fd = openat(w->lv[i - 1].fd, l->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? -ESTALE : -errno;
        struct stat st;
        if (fstat(fd, &st) < 0 || st.st_dev != l->st.st_dev || st.st_ino != l->st.st_ino) {
            close(fd);
            return -ESTALE;
        }
        l->fd = fd;
        w->n_open++;
        trim(w, i - 1);
    }
    return 0;
}

/* relpath of name in the folder lv[k] into w->path. */
static int set_path(struct walk *w, size_t k, const char *name)
{
    size_t base = w->lv[k].path_len, n = strlen(name);
    size_t need = base + (base ? 1 : 0) + n + 1;
    if (need > w->path_cap) {
        size_t cap = need * 2;
        char *p = realloc(w->path, cap);
        if (!p)
            return -ENOMEM;
        w->path = p;
        w->path_cap = cap;
    }
    if (base)
        w->path[base++] = '/';
    memcpy(w->path + base, name, n + 1);
    return 0;
}

/* Push the folder name (met as st) of the top level. 1 when it is gone
 * or was replaced since it was met: nothing to enter. */
static int enter(struct walk *w, const char *name, const struct stat *st)
{
    if (MCT_RESERVE(w->lv, w->cap, w->depth, 64) < 0)
        return -ENOMEM;
    struct level *parent = &w->lv[w->depth - 1];
    int fd = openat(parent->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 1 : -errno;
    struct stat now;
    if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
        close(fd);
        return 1;
    }
    size_t base = parent->path_len;
    struct level *l = &w->lv[w->depth++];
    *l = (struct level){.name = strdup(name), .st = *st, .fd = fd};
    l->path_len = base + (base ? 1 : 0) + strlen(name);
    w->n_open++;
    if (!l->name)
        return -ENOMEM;
    int r = read_names(w, l);
    trim(w, w->depth - 2);
    return r;
}

static int walk_run(struct walk *w, mct_tree_fn fn, void *ud)
{
    while (w->depth > 0) {
        struct level *top = &w->lv[w->depth - 1];
        if (top->next < top->n) {
            const char *name = top->names[top->next++];
            int r = ensure_open(w, w->depth - 1);
            if (r < 0)
                return r;
            struct stat st;
            if (fstatat(top->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                    continue;
                return -errno;
            }
            r = set_path(w, w->depth - 1, name);
            if (r < 0)
                return r;
            struct mct_tree_entry e = {
                    .dirfd = top->fd, .name = name, .relpath = w->path, .st = &st};
            r = fn(ud, &e);
            if (r < 0)
                return r;
            if (r == MCT_TREE_SKIP || !S_ISDIR(st.st_mode) || st.st_dev != w->dev)
                continue;
            r = enter(w, name, &st);
            if (r < 0)
                return r;
            continue;
        }
        if (w->depth == 1)
            return 0;
        /* Done with top: visit it again from its parent. */
        level_close(w, top);
        int r = ensure_open(w, w->depth - 2);
        if (r < 0)
            return r;
        struct level *parent = &w->lv[w->depth - 2];
        w->path[top->path_len] = '\0';
        struct mct_tree_entry e = {.dirfd = parent->fd,
                                   .name = top->name,
                                   .relpath = w->path,
                                   .st = &top->st,
                                   .after = true};
        r = fn(ud, &e);
        level_free(w, top);
        w->depth--;
        if (r < 0)
            return r;
    }
    return 0;
}

int mct_tree_walk(int root_fd, mct_tree_fn fn, void *ud)
{
    struct walk w = {0};
    int r = 0;
    w.dents = malloc(DENTS_BUF);
    w.lv = calloc(64, sizeof(*w.lv));
    w.path = calloc(1, 256);
    if (!w.dents || !w.lv || !w.path) {
        r = -ENOMEM;
        goto out;
    }
    w.cap = 64;
    w.path_cap = 256;
    struct level *root = &w.lv[0];
    *root = (struct level){.fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3)};
    if (root->fd < 0) {
        r = -errno;
        goto out;
    }
    w.depth = 1;
    w.n_open = 1;
    if (fstat(root->fd, &root->st) < 0) {
        r = -errno;
        goto out;
    }
    w.dev = root->st.st_dev;
    r = read_names(&w, root);
    if (r >= 0)
        r = walk_run(&w, fn, ud);
out:
    while (w.depth > 0)
        level_free(&w, &w.lv[--w.depth]);
    free(w.lv);
    free(w.path);
    free(w.dents);
    return r < 0 ? r : 0;
}
