/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fdcap.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "log.h"

#define N_BUCKETS 64

/* The users with files open now; an entry goes when its count is 0. */
struct uid_count {
    uid_t uid;
    unsigned n;
    bool told; /* refused since it was last below its cap: logged once */
    struct uid_count *next;
};

struct fdcap {
    pthread_mutex_t lock;
    unsigned per_uid;
    long total_max, total;
    bool total_told;
    struct uid_count *buckets[N_BUCKETS];
};

int fdcap_new(long nofile, unsigned per_uid, unsigned reserve, struct fdcap **ret)
{
    struct fdcap *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->lock, NULL);
    c->per_uid = per_uid;
    /* A limit below the reserve (a test, a bad unit file) still leaves
     * viewers a few, at the daemon's risk, rather than none. */
    c->total_max = nofile - (long)reserve;
    if (c->total_max < 16)
        c->total_max = 16;
    *ret = c;
    return 0;
}

void fdcap_free(struct fdcap *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < N_BUCKETS; i++)
        while (c->buckets[i]) {
            struct uid_count *e = c->buckets[i];
            c->buckets[i] = e->next;
            free(e);
        }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

long fdcap_total(const struct fdcap *c)
{
    return c->total_max;
}

static struct uid_count **find(struct fdcap *c, uid_t uid)
{
    struct uid_count **p = &c->buckets[uid % N_BUCKETS];
    while (*p && (*p)->uid != uid)
        p = &(*p)->next;
    return p;
}

int fdcap_take(struct fdcap *c, uid_t uid, bool unlimited)
{
    int r = 0;
    pthread_mutex_lock(&c->lock);
    struct uid_count **p = find(c, uid), *e = *p;
    if (c->total >= c->total_max) {
        if (!c->total_told)
            log_warning("%ld real files open through the mount: refusing more opens (EMFILE)",
                        c->total);
        c->total_told = true;
        r = -EMFILE;
    } else if (!unlimited && e && e->n >= c->per_uid) {
        if (!e->told)
            log_notice("uid %u holds %u real files open through the mount: refusing more (EMFILE)",
                       (unsigned)uid, e->n);
        e->told = true;
        r = -EMFILE;
    } else {
        if (!e) {
            e = calloc(1, sizeof(*e));
            if (!e) {
                pthread_mutex_unlock(&c->lock);
                return -ENOMEM;
            }
            e->uid = uid;
            *p = e;
        }
        e->n++;
        c->total++;
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}

void fdcap_put(struct fdcap *c, uid_t uid)
{
    pthread_mutex_lock(&c->lock);
    struct uid_count **p = find(c, uid), *e = *p;
    if (e) {
        c->total--;
        c->total_told = false;
        if (--e->n < c->per_uid)
            e->told = false;
        if (e->n == 0) {
            *p = e->next;
            free(e);
        }
    }
    pthread_mutex_unlock(&c->lock);
}
