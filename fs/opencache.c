/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "opencache.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"

#define N_BUCKETS 1024
/* A rig holds thousands of files, not millions; past this the map starts
 * over, which costs each file one uncached open. */
#define MAX_ENTRIES 16384

struct oc_entry {
    struct mct_hash_link by_path;
    char *path;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct opencache {
    pthread_mutex_t lock;
    struct mct_hashtab table; /* by path */
};

int opencache_new(struct opencache **ret)
{
    struct opencache *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    if (mct_hashtab_init(&c->table, N_BUCKETS) < 0) {
        free(c);
        return -ENOMEM;
    }
    pthread_mutex_init(&c->lock, NULL);
    *ret = c;
    return 0;
}

static void drop(struct mct_hash_link *link)
{
    struct oc_entry *e = mct_hash_entry(link, struct oc_entry, by_path);
    free(e->path);
    free(e);
}

void opencache_free(struct opencache *c)
{
    if (!c)
        return;
    mct_hashtab_clear(&c->table, drop);
    mct_hashtab_done(&c->table);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static bool is_path(const struct mct_hash_link *link, const void *path)
{
    return strcmp(mct_hash_entry(link, struct oc_entry, by_path)->path, path) == 0;
}

/* The entry of path, a new one when there is none; NULL on ENOMEM. */
static struct oc_entry *entry_get(struct opencache *c, const char *path, bool *found)
{
    uint64_t h = mct_fnv1a(MCT_FNV1A_INIT, path);
    struct mct_hash_link *link = mct_hashtab_find(&c->table, h, is_path, path);
    *found = link != NULL;
    if (link)
        return mct_hash_entry(link, struct oc_entry, by_path);
    if (c->table.n >= MAX_ENTRIES)
        mct_hashtab_clear(&c->table, drop);
    struct oc_entry *e = calloc(1, sizeof(*e));
    if (e && !(e->path = strdup(path))) {
        free(e);
        return NULL;
    }
    if (e)
        mct_hashtab_add(&c->table, &e->by_path, h);
    return e;
}

bool opencache_unchanged(struct opencache *c, const char *path, const struct stat *st)
{
    bool same = false, found;

    pthread_mutex_lock(&c->lock);
    struct oc_entry *e = entry_get(c, path, &found);
    if (e && found)
        same = e->ino == st->st_ino && e->size == st->st_size &&
               e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
    if (e) {
        e->ino = st->st_ino;
        e->size = st->st_size;
        e->mtime = st->st_mtim;
    }
    pthread_mutex_unlock(&c->lock);
    return same;
}
