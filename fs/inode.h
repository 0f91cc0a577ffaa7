/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inode table: what the kernel knows, by the number it knows it by.
 * Each inode holds its node (node.h), resolved once at lookup, and the
 * kernel's lookup count; it is freed when the kernel FORGETs it, so a
 * number the kernel may still use always points at a live inode. Inodes
 * are found again by their path relative to the source base (to tell the
 * kernel to drop what it cached). A lookup of a name whose inode is busy
 * gets an inode of its own: a .control being written (so a second writer
 * is never queued behind the first in the kernel's per-inode write lock,
 * and gets EBUSY from us at once), a status file open with a text.
 *
 * What stat shows as st_ino is another number, the source's (ino.h): the
 * FUSE node id is ours, for the kernel only.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "hashtab.h"
#include "mctfs.h"
#include "node.h"

struct inode {
    struct node node;
    uint64_t nlookup;
    uint64_t generation;
    bool hashed;
    /* A status file open: what stat says of this inode is what its opens
     * read (pinned at the first), so tail -f never sees it shrink; a new
     * lookup of the name gets an inode of its own. */
    unsigned n_open;
    unsigned n_writers; /* .control: opens for writing */
    bool born_busy;     /* made because the name's inode was busy (inode_pin_text) */
    size_t pinned_len;
    struct timespec pinned_mtime;
    struct mct_hash_link by_rel; /* in the table, when hashed */
    struct inode *loose_prev;    /* not hashed (busy, renamed over): in the loose list */
    struct inode *loose_next;
};

int inode_table_init(void);
void inode_table_free(void);

/* The inode of a FUSE node id (FUSE_ROOT_ID: the root). */
struct inode *inode_get(fuse_ino_t ino);
fuse_ino_t inode_ino(const struct inode *in);

/* The inode of node with one more lookup counted; node is taken over
 * (also on failure). NULL only on ENOMEM. */
struct inode *inode_ref(struct node *node);
/* The kernel dropped n lookups of ino. */
void inode_forget(fuse_ino_t ino, uint64_t n);

/* A status file of ino was opened with a text of len bytes (mtime), and
 * closed again. inode_pinned: false when no open holds it. */
void inode_pin(fuse_ino_t ino, size_t len, const struct timespec *mtime);
/* A status file of ino whose name the kernel caches is opened with a text
 * of len bytes (mtime): pins it as inode_pin does; 0. -ESTALE when
 * another open holds the inode with another text: its size is that
 * text's, so this open must find the name anew (the kernel retries the
 * open once after a fresh lookup, which makes an inode of its own). A
 * retry (retrying: this caller got -ESTALE a moment ago) never gets a
 * second one, nor an open of an inode made that way: 1, the open is
 * counted, its fstat the other text's size (a race of three opens of a
 * changing text; reads are direct, so no byte is cut off). */
int inode_pin_text(fuse_ino_t ino, size_t len, const struct timespec *mtime, bool retrying);
void inode_unpin(fuse_ino_t ino);
/* A .control of ino was opened for writing, and closed again. */
void inode_writer_begin(fuse_ino_t ino);
void inode_writer_end(fuse_ino_t ino);
bool inode_pinned(fuse_ino_t ino, size_t *len, struct timespec *mtime);

/* How many inodes the kernel holds (the root aside). */
size_t inode_count(void);

/* The node id the kernel knows the entry rel by, 0 when it never looked
 * it up. */
fuse_ino_t inode_find(const char *rel);
