/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ino.h"

#include <pthread.h>
#include <stdlib.h>

#include "hashtab.h"

struct mapped {
    struct mct_hash_link by_dev_ino;
    dev_t dev;
    ino_t ino;
    uint64_t number;
};

#define N_BUCKETS 1024

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mct_hashtab table; /* made at the first mapped number */
static uint64_t next_number = 1;

static uint64_t dev_ino_hash(dev_t dev, ino_t ino)
{
    uint64_t h = (uint64_t)dev * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)ino;
    return h ^ (h >> 29);
}

static bool is_dev_ino(const struct mct_hash_link *link, const void *key)
{
    const struct mapped *m = mct_hash_entry(link, struct mapped, by_dev_ino);
    const struct stat *st = key;
    return m->dev == st->st_dev && m->ino == st->st_ino;
}

/* With lock held; NULL when there is no room. */
static struct mapped *mapped_get(const struct stat *st)
{
    if (!table.buckets && mct_hashtab_init(&table, N_BUCKETS) < 0)
        return NULL;
    uint64_t h = dev_ino_hash(st->st_dev, st->st_ino);
    struct mct_hash_link *link = mct_hashtab_find(&table, h, is_dev_ino, st);
    if (link)
        return mct_hash_entry(link, struct mapped, by_dev_ino);
    struct mapped *m = malloc(sizeof(*m));
    if (!m)
        return NULL;
    *m = (struct mapped){
            .dev = st->st_dev, .ino = st->st_ino, .number = INO_MAPPED_BIT | next_number++};
    mct_hashtab_add(&table, &m->by_dev_ino, h);
    return m;
}

uint64_t ino_real(dev_t base_dev, const struct stat *st)
{
    if (st->st_dev == base_dev)
        return (uint64_t)st->st_ino;
    pthread_mutex_lock(&lock);
    struct mapped *m = mapped_get(st);
    uint64_t n = m ? m->number : (uint64_t)st->st_ino;
    pthread_mutex_unlock(&lock);
    return n;
}

uint64_t ino_virtual(uint64_t dir_ino, unsigned kind)
{
    /* 4 bits of kind under the folder's number, folded into 58 bits. */
    uint64_t dir = (dir_ino ^ (dir_ino >> 58)) & ((UINT64_C(1) << 58) - 1);
    return INO_VIRTUAL_BIT | (dir << 4) | (kind & 15u);
}

static void drop(struct mct_hash_link *link)
{
    free(mct_hash_entry(link, struct mapped, by_dev_ino));
}

void ino_table_free(void)
{
    pthread_mutex_lock(&lock);
    mct_hashtab_clear(&table, drop);
    mct_hashtab_done(&table);
    pthread_mutex_unlock(&lock);
}
