/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One small hash table for the tables of the mount (the inodes by path,
 * the model's sessions, the open-file cache, the numbers given to other
 * filesystems' inodes). Intrusive: an entry embeds a struct
 * mct_hash_link, so adding and removing never allocate and an entry knows
 * its own place; the caller gives the hash when adding (mct_fnv1a for
 * strings) and says which entry is the one when finding. The number of
 * buckets is fixed at init: the tables hold thousands of entries, not
 * millions. No lock: each user keeps the one it has, and the entries are
 * the user's to free (mct_hashtab_clear hands each over).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mct_hash_link {
    struct mct_hash_link *next;
    uint64_t hash;
};

struct mct_hashtab {
    struct mct_hash_link **buckets;
    size_t n_buckets;
    size_t n; /* entries */
};

/* The entry of type that holds link as member. */
#define mct_hash_entry(link, type, member) ((type *)((char *)(link)-offsetof(type, member)))

/* 0 or -ENOMEM. */
int mct_hashtab_init(struct mct_hashtab *t, size_t n_buckets);
/* Frees the buckets; whatever entries are left are the caller's. */
void mct_hashtab_done(struct mct_hashtab *t);

/* FNV-1a over the bytes of s, going on from h: MCT_FNV1A_INIT to start,
 * or the hash of the key's parts before s. */
#define MCT_FNV1A_INIT 14695981039346656037ull
uint64_t mct_fnv1a(uint64_t h, const char *s);

void mct_hashtab_add(struct mct_hashtab *t, struct mct_hash_link *link, uint64_t hash);
/* link must be in t. */
void mct_hashtab_remove(struct mct_hashtab *t, struct mct_hash_link *link);
/* The first entry added of those with this hash that is(link, key) says
 * is the one (newest first), NULL when none is. */
struct mct_hash_link *
mct_hashtab_find(const struct mct_hashtab *t, uint64_t hash,
                 bool (*is)(const struct mct_hash_link *link, const void *key), const void *key);
/* Empty t, each entry given to drop (which may free it). */
void mct_hashtab_clear(struct mct_hashtab *t, void (*drop)(struct mct_hash_link *link));

/* Every entry, in no particular order; the body must not add or remove. */
struct mct_hash_link *mct_hashtab_first(const struct mct_hashtab *t);
struct mct_hash_link *mct_hashtab_next(const struct mct_hashtab *t,
                                       const struct mct_hash_link *link);
#define mct_hashtab_foreach(link, t)                                                               \
    for (struct mct_hash_link *link = mct_hashtab_first(t); link; link = mct_hashtab_next(t, link))
