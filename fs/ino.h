/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inode numbers stat shows (st_ino). A real file or folder shows its
 * own, from the source, so hardlinks keep one number and tar, cp -a,
 * rsync -H and du see them as the disk has them; nothing is ever renumbered.
 * Entries on another filesystem mounted inside the source get numbers from
 * a table kept for the mount's life ((dev, ino) -> number); virtual files
 * get numbers from the top half of the space, derived from their folder's
 * and their kind, so they never collide with a real file's (source inode
 * numbers below 2^62, which every Linux filesystem in use gives).
 */
#pragma once

#include <stdint.h>
#include <sys/stat.h>

#define INO_VIRTUAL_BIT (UINT64_C(1) << 63)
#define INO_MAPPED_BIT  (UINT64_C(1) << 62)

/* base_dev: the source base's device. -ENOMEM is never returned: a table
 * that cannot grow gives the raw number (the collision risk only). */
uint64_t ino_real(dev_t base_dev, const struct stat *st);

/* Virtual file number kind (1..15) of the folder whose st_ino (as
 * ino_real gave it) is dir_ino. */
uint64_t ino_virtual(uint64_t dir_ino, unsigned kind);

void ino_table_free(void);
