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
#include <sys/stat.h>
#include <time.h>

#include "hashtab.h"
#include "mctfs.h"
#include "node.h"

/* A status file's text, told from any other by its content, length and
 * modification time. */
struct inode_text {
    unsigned char hash[16]; /* XXH3-128 of the content */
    size_t len;
    struct timespec mtime;
};

/* What a status file's inode knows of the texts of its opens and the
 * kernel's caches of it. Made at its first open: most inodes are the
 * source's files and never need it (75 bytes each). */
struct inode_texts {
    struct inode_text pinned; /* while n_open > 0 */
    /* Which text the kernel's cached pages may hold (inode_pages_claim);
     * pages_known false: any, or none. */
    bool pages_known;
    bool pages_dropping; /* an open is making the kernel drop them */
    bool pages_spoiled;  /* an open with another text came since (inode_pin_text 1) */
    struct inode_text pages_text;
    /* The size the kernel was last told (inode_attr_told), which is its
     * i_size: a read through the pages stops there. Set by every drop,
     * so known whenever pages_known is. */
    size_t attr_len;
};

struct inode {
    struct node node;
    uint64_t nlookup;
    uint64_t generation;
    bool hashed;
    /* A status file open: what stat says of this inode is what its opens
     * read (pinned at the first), so tail -f never sees it shrink; a new
     * lookup of the name gets an inode of its own. */
    unsigned n_open;
    unsigned n_writers;          /* .control: opens for writing */
    bool born_busy;              /* made because the name's inode was busy (inode_pin_text) */
    struct inode_texts *texts;   /* NULL until its first open */
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
 * (also on failure). NULL only on ENOMEM. told: the attributes the reply
 * gives the kernel (NULL: none). */
struct inode *inode_ref(struct node *node, const struct stat *told);
/* The kernel dropped n lookups of ino. */
void inode_forget(fuse_ino_t ino, uint64_t n);

/* A status file of ino was opened with a text of len bytes (mtime), and
 * closed again. inode_pinned: false when no open holds it. */
int inode_pin(fuse_ino_t ino, const struct inode_text *text);
/* A status file of ino whose name the kernel caches is opened with a text
 * of len bytes (mtime): pins it as inode_pin does; 0. -ESTALE when
 * another open holds the inode with another text: its size is that
 * text's, so this open must find the name anew (the kernel retries the
 * open once after a fresh lookup, which makes an inode of its own). A
 * retry (retrying: this caller got -ESTALE a moment ago) never gets a
 * second one, nor an open of an inode made that way: 1, the open is
 * counted, its fstat the other text's size (a race of three opens of a
 * changing text; reads are direct, so no byte is cut off). */
int inode_pin_text(fuse_ino_t ino, const struct inode_text *text, bool retrying);
void inode_unpin(fuse_ino_t ino);

/* Page cache for a session's status file, which is read through it (not
 * direct) only while every page the kernel holds of the inode is of the
 * text the open reads. An open that pinned its text (inode_pin_text 0)
 * claims the pages for it: true, they hold that text or nothing, the open
 * may keep them (keep_cache); false, they may hold another, and the
 * caller makes the kernel drop them and their size (an inval_inode
 * notification), then calls inode_pages_dropped(ino, ok): ok false (the
 * kernel could not be told) leaves them unknown, and the open reads
 * direct. Waits while another open of the inode is dropping them.
 *
 * Why this is enough: pages are filled only by reads of opens that keep
 * them, and those all read the claimed text (an inode an open holds
 * takes no other, inode.h); a dropping claim happens only when no open
 * keeps pages, so no read holds a page lock the notification waits for.
 * An open pinned with another text (inode_pin_text 1) reads direct, but a
 * MAP_PRIVATE mmap of it fills pages even so: after one, the pages are
 * unknown again. */
bool inode_pages_claim(fuse_ino_t ino, const struct inode_text *text);
/* The kernel is told a status file's size (len, mtime) by an attribute
 * reply. held_wins (a stat by name): when an open holds the inode, its
 * text's instead (true; the caller says that); else as given (an open's
 * fstat). A claim keeps the pages only when the last size told is its
 * text's: a size told before, from a newer status, would cut the reads
 * short. */
bool inode_attr_told(fuse_ino_t ino, size_t *len, struct timespec *mtime, bool held_wins);
void inode_pages_dropped(fuse_ino_t ino, bool ok);
/* A .control of ino was opened for writing, and closed again. */
void inode_writer_begin(fuse_ino_t ino);
void inode_writer_end(fuse_ino_t ino);
bool inode_pinned(fuse_ino_t ino, size_t *len, struct timespec *mtime);

/* How many inodes the kernel holds (the root aside). */
size_t inode_count(void);

/* The node id the kernel knows the entry rel by, 0 when it never looked
 * it up. */
fuse_ino_t inode_find(const char *rel);
