/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "open_text.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "checksum.h"
#include "inode.h"
#include "util.h"

/* Callers (thread ids) told -ESTALE in the last second: the kernel retries
 * their open at once, and that retry must not get another (inode.h). */
static struct {
    pid_t tid;
    int64_t ms;
} estaled[64];
static unsigned estaled_next;
static pthread_mutex_t estaled_lock = PTHREAD_MUTEX_INITIALIZER;

static bool estaled_recently(pid_t tid, bool add)
{
    int64_t now = mct_now_ms();
    bool found = false;
    pthread_mutex_lock(&estaled_lock);
    for (size_t i = 0; i < ARRAY_SIZE(estaled) && !found; i++)
        found = estaled[i].tid == tid && now - estaled[i].ms < 1000;
    if (add) {
        estaled[estaled_next % ARRAY_SIZE(estaled)].tid = tid;
        estaled[estaled_next++ % ARRAY_SIZE(estaled)].ms = now;
    }
    pthread_mutex_unlock(&estaled_lock);
    return found;
}

/* The kernel drops the inode's pages and size before this open keeps
 * them (inode.h); until it has, every other open of it waits. */
static void read_through_pages(struct mctfs *fs, fuse_ino_t ino, const struct inode_text *text,
                               struct fuse_file_info *fi)
{
    if (!inode_pages_claim(ino, text)) {
        int r = fs->se ? fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0) : -ENOTCONN;
        inode_pages_dropped(ino, r == 0);
        if (r < 0)
            return; /* unknown: read direct */
    }
    fi->direct_io = 0;
    fi->keep_cache = 1;
}

int open_text_pin(struct mctfs *fs, fuse_req_t req, fuse_ino_t ino, const struct node *n,
                  struct handle *h, struct fuse_file_info *fi)
{
    struct inode_text text = {.len = h->content.len, .mtime = h->content.mtime};
    if (!node_is_cached_vfile(n->kind)) {
        int r = inode_pin(ino, &text);
        if (r < 0)
            return r;
        h->pinned_ino = ino;
        return 0;
    }
    /* The root's texts are megabytes and read rarely: told apart by size
     * and time, and read direct. A session's by its content too. */
    bool pages = node_is_session_vfile(n->kind);
    if (pages) {
        struct mct_hash hash;
        mct_hash_buffer(h->content.data, h->content.len, &hash);
        static_assert(sizeof(hash.b) == sizeof(text.hash), "one hash");
        memcpy(text.hash, hash.b, sizeof(text.hash));
    }
    /* The kernel caches the name: this inode may be held open with
     * another text (inode.h). */
    pid_t tid = fuse_req_ctx(req)->pid;
    int r = inode_pin_text(ino, &text, estaled_recently(tid, false));
    if (r == -ESTALE)
        (void)estaled_recently(tid, true);
    if (r < 0)
        return r;
    h->pinned_ino = ino;
    /* 1: pinned with another text (a retry), whose size stat shows. */
    if (r == 0 && pages)
        read_through_pages(fs, ino, &text, fi);
    return 0;
}
