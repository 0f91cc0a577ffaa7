/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "entry.h"

#include <errno.h>

#include "inode.h"
#include "real.h"
#include "vfile.h"

/* Names and attributes of real files are cached by the kernel for
 * mount.attr_seconds (default 10), folders' listings as well: without,
 * every stat is a round trip and a tree walk pays one per entry. What it
 * costs: a size or time seen through the mount may lag the disk by that
 * long (real_open reads files changed within it direct, so no byte is
 * ever cut off), and no status reads the mount. Status files' attributes
 * are cached as long, because they cannot lag: every new text the model
 * publishes drops them from the kernel (node_forget_session), and an
 * inode an open holds keeps the text, and so the size, that open reads
 * (a new text gets a new inode: tail -f's fstat stays true). .control's
 * and .metrics' are never cached. */
double entry_attr_seconds(const struct node *n)
{
    return !node_is_virtual(n->kind) || node_is_cached_vfile(n->kind)
                   ? mctfs_get()->cfg->mount.attr_seconds
                   : 0;
}

/* Status files' names are, as long: a listing, a stat and the xattr
 * reads of ls -l then find them without a lookup each. An open that
 * lands on an inode another open holds with an older text is sent to
 * look the name up again (ll_open), and a new text makes the kernel drop
 * the name of an open one (mctfs_kernel_forget). Not .control's: each
 * open looks it up, so a second writer finds an inode of its own while
 * the first is busy (inode.h); nor .metrics', rendered at every open. */
double entry_name_seconds(const struct node *n)
{
    return entry_attr_seconds(n);
}

int entry_stat(struct mctfs *fs, const struct node *n, struct stat *st)
{
    return n->kind == NODE_REAL ? real_stat(fs, n, st) : vfile_stat(fs, n, st);
}

int entry_make(struct mctfs *fs, struct node *n, struct fuse_entry_param *e)
{
    *e = (struct fuse_entry_param){};
    int r = entry_stat(fs, n, &e->attr);
    if (r < 0) {
        node_done(n);
        return r;
    }
    e->attr_timeout = entry_attr_seconds(n);
    e->entry_timeout = entry_name_seconds(n);
    struct inode *in = inode_ref(n, &e->attr);
    if (!in)
        return -ENOMEM;
    e->ino = inode_ino(in);
    e->generation = in->generation;
    return 0;
}
