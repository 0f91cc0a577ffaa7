/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "handle.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "fdcap.h"

static pthread_mutex_t open_handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct handle *open_handles;

struct handle *handle_new(enum node_kind kind)
{
    struct handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->kind = kind;
    h->fd = -1;
    pthread_mutex_lock(&open_handles_lock);
    h->next = open_handles;
    if (open_handles)
        open_handles->prev = h;
    open_handles = h;
    pthread_mutex_unlock(&open_handles_lock);
    return h;
}

void handle_free(struct handle *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&open_handles_lock);
    if (h->prev)
        h->prev->next = h->next;
    else
        open_handles = h->next;
    if (h->next)
        h->next->prev = h->prev;
    pthread_mutex_unlock(&open_handles_lock);
    if (h->fd >= 0)
        close(h->fd);
    if (h->counted)
        fdcap_put(mctfs_get()->fdcap, h->uid);
    vfile_content_release(&h->content);
    free(h);
}

void handle_free_all(void)
{
    while (open_handles)
        handle_free(open_handles);
}
