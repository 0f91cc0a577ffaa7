/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "hashtab.h"

#include <errno.h>
#include <stdlib.h>

int mct_hashtab_init(struct mct_hashtab *t, size_t n_buckets)
{
    *t = (struct mct_hashtab){0};
    t->buckets = calloc(n_buckets ? n_buckets : 1, sizeof(*t->buckets));
    if (!t->buckets)
        return -ENOMEM;
    t->n_buckets = n_buckets ? n_buckets : 1;
    return 0;
}

void mct_hashtab_done(struct mct_hashtab *t)
{
    free(t->buckets);
    *t = (struct mct_hashtab){0};
}

uint64_t mct_fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct mct_hash_link **bucket(const struct mct_hashtab *t, uint64_t hash)
{
    return &t->buckets[hash % t->n_buckets];
}

void mct_hashtab_add(struct mct_hashtab *t, struct mct_hash_link *link, uint64_t hash)
{
    struct mct_hash_link **head = bucket(t, hash);
    link->hash = hash;
    link->next = *head;
    *head = link;
    t->n++;
}

void mct_hashtab_remove(struct mct_hashtab *t, struct mct_hash_link *link)
{
    struct mct_hash_link **p = bucket(t, link->hash);
    while (*p && *p != link)
        p = &(*p)->next;
    if (!*p)
        return;
    *p = link->next;
    link->next = NULL;
    t->n--;
}

struct mct_hash_link *
mct_hashtab_find(const struct mct_hashtab *t, uint64_t hash,
                 bool (*is)(const struct mct_hash_link *link, const void *key), const void *key)
{
    if (!t->buckets)
        return NULL;
    for (struct mct_hash_link *l = *bucket(t, hash); l; l = l->next)
        if (l->hash == hash && is(l, key))
            return l;
    return NULL;
}

/* The first entry in the buckets from i on. */
static struct mct_hash_link *first_from(const struct mct_hashtab *t, size_t i)
{
    for (; t->n && i < t->n_buckets; i++)
        if (t->buckets[i])
            return t->buckets[i];
    return NULL;
}

void mct_hashtab_clear(struct mct_hashtab *t, void (*drop)(struct mct_hash_link *link))
{
    for (size_t i = 0; t->n && i < t->n_buckets; i++)
        while (t->buckets[i]) {
            struct mct_hash_link *l = t->buckets[i];
            t->buckets[i] = l->next;
            t->n--;
            drop(l);
        }
}

struct mct_hash_link *mct_hashtab_first(const struct mct_hashtab *t)
{
    return first_from(t, 0);
}

struct mct_hash_link *mct_hashtab_next(const struct mct_hashtab *t,
                                       const struct mct_hash_link *link)
{
    return link->next ? link->next : first_from(t, link->hash % t->n_buckets + 1);
}
