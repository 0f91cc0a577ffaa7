/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "opencache.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N_BUCKETS 1024
/* A rig holds thousands of files, not millions; past this the map starts
 * over, which costs each file one uncached open. */
#define MAX_ENTRIES 16384

struct oc_entry {
    char *path;
    uint64_t hash;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    struct oc_entry *next;
};

struct opencache {
    pthread_mutex_t lock;
    struct oc_entry *buckets[N_BUCKETS];
    size_t n;
};

int opencache_new(struct opencache **ret)
{
    struct opencache *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->lock, NULL);
    *ret = c;
    return 0;
}

static void clear(struct opencache *c)
{
    for (size_t i = 0; i < N_BUCKETS; i++)
        while (c->buckets[i]) {
            struct oc_entry *e = c->buckets[i];
            c->buckets[i] = e->next;
            free(e->path);
            free(e);
        }
    c->n = 0;
}

void opencache_free(struct opencache *c)
{
    if (!c)
        return;
    clear(c);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static uint64_t hash_path(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

bool opencache_unchanged(struct opencache *c, const char *path, const struct stat *st)
{
    uint64_t h = hash_path(path);
    bool same = false;

    pthread_mutex_lock(&c->lock);
    struct oc_entry **head = &c->buckets[h % N_BUCKETS], *e;
    for (e = *head; e; e = e->next)
        if (e->hash == h && strcmp(e->path, path) == 0)
            break;

    if (e) {
        same = e->ino == st->st_ino && e->size == st->st_size &&
               e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
    } else {
        if (c->n >= MAX_ENTRIES) {
            clear(c);
            head = &c->buckets[h % N_BUCKETS];
        }
        e = calloc(1, sizeof(*e));
        if (e && !(e->path = strdup(path))) {
            free(e);
            e = NULL;
        }
        if (e) {
            e->hash = h;
            e->next = *head;
            *head = e;
            c->n++;
        }
    }
    if (e) {
        e->ino = st->st_ino;
        e->size = st->st_size;
        e->mtime = st->st_mtim;
    }
    pthread_mutex_unlock(&c->lock);
    return same;
}
