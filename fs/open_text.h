/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What an open of a virtual file holds its inode to: the text it read at
 * open (inode.h). A status file's inode keeps one text while open, so its
 * size is that text's; an open with another text is sent to look the name
 * up again (-ESTALE), once. A session's status file is read through the
 * kernel's page cache when its pages are known to hold that very text, so
 * a warm `cat` costs an OPEN and a RELEASE; otherwise, and for the root's
 * files, .control and .metrics, reads are direct.
 */
#pragma once

#include "handle.h"
#include "mctfs.h"
#include "node.h"

/* The open of n (ino) rendered h->content: pin it, and choose how it is
 * read (fi's direct_io and keep_cache). 0, or -ESTALE. */
int open_text_pin(struct mctfs *fs, fuse_req_t req, fuse_ino_t ino, const struct node *n,
                  struct handle *h, struct fuse_file_info *fi);
