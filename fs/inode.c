/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "inode.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define N_BUCKETS 8192

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pages_dropped = PTHREAD_COND_INITIALIZER;
static struct mct_hashtab table; /* by rel */
static struct inode root_inode;
/* Inodes no name finds (busy ones a lookup passed by, renamed-over ones):
 * kept on a list so
 * the teardown frees them when the kernel did not FORGET them first. */
static struct inode *loose;
static size_t n_inodes; /* but the root */

static void loose_add(struct inode *in)
{
    in->hashed = false;
    in->loose_prev = NULL;
    in->loose_next = loose;
    if (loose)
        loose->loose_prev = in;
    loose = in;
}

static void loose_remove(struct inode *in)
{
    if (in->loose_prev)
        in->loose_prev->loose_next = in->loose_next;
    else
        loose = in->loose_next;
    if (in->loose_next)
        in->loose_next->loose_prev = in->loose_prev;
}
/* Node ids are addresses, which come back after a FORGET: the generation
 * tells a new inode from an old one at the same number. */
static uint64_t next_generation = 1;

static uint64_t rel_hash(const char *rel)
{
    return mct_fnv1a(MCT_FNV1A_INIT, rel);
}

static bool is_rel(const struct mct_hash_link *link, const void *rel)
{
    return streq(mct_hash_entry(link, struct inode, by_rel)->node.rel, rel);
}

static void inode_free(struct inode *in)
{
    free(in->texts);
    node_done(&in->node);
    free(in);
}

static void drop_hashed(struct mct_hash_link *link)
{
    inode_free(mct_hash_entry(link, struct inode, by_rel));
}

int inode_table_init(void)
{
    root_inode.nlookup = 1;
    root_inode.hashed = false;
    int r = mct_hashtab_init(&table, N_BUCKETS);
    return r < 0 ? r : node_root(&root_inode.node);
}

void inode_table_free(void)
{
    pthread_mutex_lock(&table_lock);
    mct_hashtab_clear(&table, drop_hashed);
    mct_hashtab_done(&table);
    while (loose) {
        struct inode *in = loose;
        loose = in->loose_next;
        inode_free(in);
    }
    pthread_mutex_unlock(&table_lock);
    node_done(&root_inode.node);
}

fuse_ino_t inode_ino(const struct inode *in)
{
    return in == &root_inode ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)in;
}

struct inode *inode_get(fuse_ino_t ino)
{
    return ino == FUSE_ROOT_ID ? &root_inode : (struct inode *)(uintptr_t)ino;
}

/* With table_lock held. */
static struct inode *table_find(const char *rel)
{
    if (streq(rel, "."))
        return &root_inode;
    struct mct_hash_link *link = mct_hashtab_find(&table, rel_hash(rel), is_rel, rel);
    return link ? mct_hash_entry(link, struct inode, by_rel) : NULL;
}

struct inode *inode_ref(struct node *node, const struct stat *told)
{
    bool born_busy = false;
    pthread_mutex_lock(&table_lock);
    struct inode *in = table_find(node->rel);
    if (in && (in->node.kind != node->kind || in->n_open > 0 || in->n_writers > 0)) {
        /* A busy inode keeps to itself (inode.h); or the same name is now
         * another kind: the old inode stays for the kernel, unfindable;
         * the new one takes the name. */
        mct_hashtab_remove(&table, &in->by_rel);
        bool busy = in->n_open > 0 || in->n_writers > 0;
        loose_add(in);
        in = NULL;
        born_busy = busy;
    }
    if (in) {
        node_done(node);
    } else {
        in = calloc(1, sizeof(*in));
        if (!in) {
            pthread_mutex_unlock(&table_lock);
            node_done(node);
            return NULL;
        }
        in->node = *node;
        in->generation = next_generation++;
        n_inodes++;
        in->born_busy = born_busy;
        mct_hashtab_add(&table, &in->by_rel, rel_hash(in->node.rel));
        in->hashed = true;
    }
    *node = (struct node){0};
    in->nlookup++;
    /* Without texts, no pages are known to keep: nothing to guard. */
    if (told && in->texts) {
        in->texts->attr_len = (size_t)told->st_size;
    }
    pthread_mutex_unlock(&table_lock);
    return in;
}

void inode_forget(fuse_ino_t ino, uint64_t n)
{
    struct inode *in = inode_get(ino);
    if (in == &root_inode)
        return;
    pthread_mutex_lock(&table_lock);
    in->nlookup = n < in->nlookup ? in->nlookup - n : 0;
    if (in->nlookup == 0) {
        if (in->hashed)
            mct_hashtab_remove(&table, &in->by_rel);
        else
            loose_remove(in);
        inode_free(in);
        n_inodes--;
    }
    pthread_mutex_unlock(&table_lock);
}

size_t inode_count(void)
{
    pthread_mutex_lock(&table_lock);
    size_t n = n_inodes;
    pthread_mutex_unlock(&table_lock);
    return n;
}

fuse_ino_t inode_find(const char *rel)
{
    pthread_mutex_lock(&table_lock);
    struct inode *in = table_find(rel);
    fuse_ino_t ino = in ? inode_ino(in) : 0;
    pthread_mutex_unlock(&table_lock);
    return ino;
}

static bool text_eq(const struct inode_text *a, const struct inode_text *b)
{
    return a->len == b->len && timespec_eq(&a->mtime, &b->mtime) &&
           memcmp(a->hash, b->hash, sizeof(a->hash)) == 0;
}

/* With table_lock held. */
static struct inode_texts *texts_of(struct inode *in)
{
    if (!in->texts)
        in->texts = calloc(1, sizeof(*in->texts));
    return in->texts;
}

int inode_pin(fuse_ino_t ino, const struct inode_text *text)
{
    struct inode *in = inode_get(ino);
    pthread_mutex_lock(&table_lock);
    struct inode_texts *t = texts_of(in);
    if (t && in->n_open++ == 0)
        t->pinned = *text;
    pthread_mutex_unlock(&table_lock);
    return t ? 0 : -ENOMEM;
}

int inode_pin_text(fuse_ino_t ino, const struct inode_text *text, bool retrying)
{
    struct inode *in = inode_get(ino);
    pthread_mutex_lock(&table_lock);
    struct inode_texts *t = texts_of(in);
    int r = t ? 0 : -ENOMEM;
    if (t && in->n_open > 0 && !text_eq(&t->pinned, text))
        r = in->born_busy || retrying ? 1 : -ESTALE;
    if (r == 1) {
        t->pages_known = false;
        t->pages_spoiled = true;
    }
    if (r >= 0 && in->n_open++ == 0)
        t->pinned = *text;
    pthread_mutex_unlock(&table_lock);
    return r;
}

void inode_unpin(fuse_ino_t ino)
{
    struct inode *in = inode_get(ino);
    pthread_mutex_lock(&table_lock);
    if (in->n_open > 0)
        in->n_open--;
    pthread_mutex_unlock(&table_lock);
}

/* Only after inode_pin_text, which made in->texts. */
bool inode_pages_claim(fuse_ino_t ino, const struct inode_text *text)
{
    struct inode *in = inode_get(ino);
    pthread_mutex_lock(&table_lock);
    struct inode_texts *t = in->texts;
    while (t && t->pages_dropping)
        pthread_cond_wait(&pages_dropped, &table_lock);
    bool keep = t && t->pages_known && text_eq(&t->pages_text, text) && t->attr_len == text->len;
    if (t && !keep) {
        t->pages_dropping = true;
        t->pages_spoiled = false;
        t->pages_text = *text;
        /* The drop voids the kernel's size too: the next one it is told
         * is this open's (inode_attr_told), or it is told later. */
        t->attr_len = text->len;
    }
    pthread_mutex_unlock(&table_lock);
    return keep;
}

void inode_pages_dropped(fuse_ino_t ino, bool ok)
{
    struct inode *in = inode_get(ino);
    pthread_mutex_lock(&table_lock);
    struct inode_texts *t = in->texts;
    if (t) {
        t->pages_dropping = false;
        t->pages_known = ok && !t->pages_spoiled;
    }
    pthread_cond_broadcast(&pages_dropped);
    pthread_mutex_unlock(&table_lock);
}

bool inode_attr_told(fuse_ino_t ino, size_t *len, struct timespec *mtime, bool held_wins)
{
    struct inode *in = inode_get(ino);
    pthread_mutex_lock(&table_lock);
    struct inode_texts *t = in->texts;
    bool held = held_wins && t && in->n_open > 0;
    if (held) {
        *len = t->pinned.len;
        *mtime = t->pinned.mtime;
    }
    if (t)
        t->attr_len = *len;
    pthread_mutex_unlock(&table_lock);
    return held;
}

void inode_writer_begin(fuse_ino_t ino)
{
    struct inode *in = inode_get(ino);
    pthread_mutex_lock(&table_lock);
    in->n_writers++;
    pthread_mutex_unlock(&table_lock);
}

void inode_writer_end(fuse_ino_t ino)
{
    struct inode *in = inode_get(ino);
    pthread_mutex_lock(&table_lock);
    if (in->n_writers > 0)
        in->n_writers--;
    pthread_mutex_unlock(&table_lock);
}

bool inode_pinned(fuse_ino_t ino, size_t *len, struct timespec *mtime)
{
    struct inode *in = inode_get(ino);
    pthread_mutex_lock(&table_lock);
    bool pinned = in->texts && in->n_open > 0;
    if (pinned) {
        *len = in->texts->pinned.len;
        *mtime = in->texts->pinned.mtime;
    }
    pthread_mutex_unlock(&table_lock);
    return pinned;
}
