/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "listing.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mctfs.h"
#include "real.h"
#include "util.h"

#define IDLE_MS (30 * 1000)
/* Bounds on what is kept: a listing of 80,000 names is about 2.5 MiB. */
#define MAX_BYTES ((size_t)64 << 20)
#define MAX_KEPT  256
#define MAX_ID    0x7fffffffu

struct snap {
    uint32_t id;
    char *path;
    char *names;   /* per entry: its mode's type bits' DT_ byte, then the name, NUL */
    uint32_t *at;  /* where each entry starts in names */
    uint64_t *ino; /* each entry's st_ino as the view shows it */
    size_t len, cap;
    uint32_t n, n_cap;
    int error;
    int64_t used_ms;
    struct snap *next;
};

struct listings {
    pthread_mutex_t lock;
    struct snap *kept;
    size_t bytes, count;
    uint32_t last_id;
};

int listings_new(struct listings **ret)
{
    struct listings *ls = calloc(1, sizeof(*ls));
    if (!ls)
        return -ENOMEM;
    pthread_mutex_init(&ls->lock, NULL);
    *ret = ls;
    return 0;
}

static void snap_free(struct snap *s)
{
    if (!s)
        return;
    free(s->path);
    free(s->names);
    free(s->at);
    free(s->ino);
    free(s);
}

static size_t snap_bytes(const struct snap *s)
{
    return s->cap + s->n_cap * (sizeof(uint32_t) + sizeof(uint64_t)) + sizeof(*s);
}

void listings_free(struct listings *ls)
{
    if (!ls)
        return;
    while (ls->kept) {
        struct snap *s = ls->kept;
        ls->kept = s->next;
        snap_free(s);
    }
    pthread_mutex_destroy(&ls->lock);
    free(ls);
}

static int add_entry(void *ud, const char *name, mode_t type, uint64_t ino)
{
    struct snap *s = ud;
    size_t k = strlen(name) + 2;
    if (s->n == UINT32_MAX || s->len + k > UINT32_MAX) {
        s->error = -EOVERFLOW;
        return 1;
    }
    if (s->len + k > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        while (cap < s->len + k)
            cap *= 2;
        char *p = realloc(s->names, cap);
        if (!p) {
            s->error = -ENOMEM;
            return 1;
        }
        s->names = p;
        s->cap = cap;
    }
    if (s->n == s->n_cap) {
        uint32_t n = s->n_cap ? s->n_cap * 2 : 256;
        uint32_t *p = realloc(s->at, n * sizeof(*p));
        if (p)
            s->at = p;
        uint64_t *q = p ? realloc(s->ino, n * sizeof(*q)) : NULL;
        if (!q) {
            s->error = -ENOMEM;
            return 1;
        }
        s->ino = q;
        s->n_cap = n;
    }
    s->ino[s->n] = ino;
    s->at[s->n++] = (uint32_t)s->len;
    s->names[s->len] = (char)IFTODT(type);
    memcpy(s->names + s->len + 1, name, k - 1);
    s->len += k;
    return 0;
}

/* The whole folder, as the view lists it (virtual files included). */
static int read_folder(struct mctfs *fs, const struct node *n, struct snap **ret)
{
    struct snap *s = calloc(1, sizeof(*s));
    if (!s || !(s->path = strdup(n->rel))) {
        free(s);
        return -ENOMEM;
    }
    int r = real_list(fs, n, add_entry, s);
    if (r == 0 && s->error)
        r = s->error;
    if (r < 0) {
        snap_free(s);
        return r;
    }
    *ret = s;
    return 0;
}

/* ---- what is kept; with ls->lock held ---- */

static void drop(struct listings *ls, struct snap *s)
{
    struct snap **p = &ls->kept;
    while (*p && *p != s)
        p = &(*p)->next;
    if (*p) {
        *p = s->next;
        ls->bytes -= snap_bytes(s);
        ls->count--;
    }
    snap_free(s);
}

static void expire(struct listings *ls, int64_t now, const struct snap *keep)
{
    for (struct snap **p = &ls->kept; *p;) {
        struct snap *s = *p;
        if (s != keep && now - s->used_ms > IDLE_MS) {
            *p = s->next;
            ls->bytes -= snap_bytes(s);
            ls->count--;
            snap_free(s);
        } else {
            p = &s->next;
        }
    }
    while (ls->bytes > MAX_BYTES || ls->count > MAX_KEPT) {
        struct snap *oldest = NULL;
        for (struct snap *s = ls->kept; s; s = s->next)
            if (s != keep && (!oldest || s->used_ms < oldest->used_ms))
                oldest = s;
        if (!oldest)
            break;
        drop(ls, oldest);
    }
}

static struct snap *find(struct listings *ls, uint32_t id, const char *path)
{
    for (struct snap *s = ls->kept; s; s = s->next)
        if (s->id == id)
            return streq(s->path, path) ? s : NULL;
    return NULL;
}

static void keep(struct listings *ls, struct snap *s, int64_t now)
{
    /* Ids never 0, so no offset but the first is 0. */
    ls->last_id = ls->last_id >= MAX_ID ? 1 : ls->last_id + 1;
    s->id = ls->last_id;
    s->used_ms = now;
    s->next = ls->kept;
    ls->kept = s;
    ls->bytes += snap_bytes(s);
    ls->count++;
    expire(ls, now, s);
}

static void emit_from(const struct snap *s, uint32_t index, listing_emit_fn emit, void *ud)
{
    for (uint32_t i = index; i < s->n; i++) {
        const char *e = s->names + s->at[i];
        mode_t type = DTTOIF((unsigned char)e[0]);
        if (!emit(ud, e + 1, type, s->ino[i], (off_t)(((uint64_t)s->id << 32) | (i + 1))))
            break;
    }
}

int listings_serve(struct listings *ls, struct mctfs *fs, const struct node *n, off_t off,
                   listing_emit_fn emit, void *ud)
{
    const char *path = n->rel;
    uint32_t id = (uint32_t)((uint64_t)off >> 32), index = (uint32_t)(uint64_t)off;
    int64_t now = mct_now_ms();

    if (off != 0) {
        pthread_mutex_lock(&ls->lock);
        struct snap *s = find(ls, id, path);
        if (s && index >= s->n) {
            /* Asked past the end: the sequence is over. */
            drop(ls, s);
            pthread_mutex_unlock(&ls->lock);
            return 0;
        }
        if (s) {
            s->used_ms = now;
            emit_from(s, index, emit, ud);
            pthread_mutex_unlock(&ls->lock);
            return 0;
        }
        pthread_mutex_unlock(&ls->lock);
    }

    /* A new sequence, or one whose listing went: read the folder. */
    struct snap *s;
    int r = read_folder(fs, n, &s);
    if (r < 0)
        return r;
    pthread_mutex_lock(&ls->lock);
    if (index >= s->n) {
        pthread_mutex_unlock(&ls->lock);
        snap_free(s);
        return 0;
    }
    keep(ls, s, now);
    emit_from(s, index, emit, ud);
    pthread_mutex_unlock(&ls->lock);
    return 0;
}
