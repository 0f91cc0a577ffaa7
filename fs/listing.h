/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Folder listings, read once per READDIR sequence. The kernel reads a
 * listing in replies of a few KiB, each asking from the offset the last
 * one ended at; reading the folder again for each reply and skipping to
 * the offset made a listing of n entries cost O(n^2) (80,000 entries:
 * 2.3 s, the disk 0.03 s). Here the request at offset 0 reads the folder
 * whole (with the caller's rights, checked as the disk says now) and the
 * rest of that sequence is served from what it read.
 *
 * An offset names its listing: the id of the listing in its high 32 bits,
 * the number of entries before it in the low 32, so two sequences of the
 * same folder (two `ls` at once) never mix. A listing goes when the
 * kernel asks past its end, after IDLE seconds unused (a reader that
 * stopped half way), or, oldest first, when too many are kept; an offset
 * whose listing went is served by reading the folder again, as before.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "node.h"

struct listings;

int listings_new(struct listings **ret);
void listings_free(struct listings *ls);

/* One entry of the reply being built; false when it did not fit (the
 * reply is full). ino: its st_ino as stat shows it; next: the offset that
 * continues after it. */
typedef bool (*listing_emit_fn)(void *ud, const char *name, mode_t type, uint64_t ino, off_t next);

/* Serve a READDIR of the folder n from off, listed by real_list(). 0 or
 * -errno (that of opening the folder: -EACCES, -ELOOP, -ENOENT, ...). */
int listings_serve(struct listings *ls, struct mctfs *fs, const struct node *n, off_t off,
                   listing_emit_fn emit, void *ud);
