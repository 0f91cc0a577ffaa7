/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ino.h"

#include <pthread.h>
#include <stdlib.h>

struct mapped {
    dev_t dev;
    ino_t ino;
    uint64_t number;
    struct mapped *next;
};

#define N_BUCKETS 1024

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapped *buckets[N_BUCKETS];
static uint64_t next_number = 1;

static unsigned bucket_of(dev_t dev, ino_t ino)
{
    uint64_t h = (uint64_t)dev * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)ino;
    return (unsigned)((h ^ (h >> 29)) % N_BUCKETS);
}

uint64_t ino_real(dev_t base_dev, const struct stat *st)
{
    if (st->st_dev == base_dev)
        return (uint64_t)st->st_ino;
    pthread_mutex_lock(&lock);
    unsigned b = bucket_of(st->st_dev, st->st_ino);
    struct mapped *m = buckets[b];
    while (m && !(m->dev == st->st_dev && m->ino == st->st_ino))
        m = m->next;
    if (!m && (m = malloc(sizeof(*m)))) {
        *m = (struct mapped){st->st_dev, st->st_ino, INO_MAPPED_BIT | next_number++, buckets[b]};
        buckets[b] = m;
    }
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

void ino_table_free(void)
{
    pthread_mutex_lock(&lock);
    for (size_t b = 0; b < N_BUCKETS; b++)
        while (buckets[b]) {
            struct mapped *m = buckets[b];
            buckets[b] = m->next;
            free(m);
        }
    pthread_mutex_unlock(&lock);
}
