/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a deletion verified, entry by entry: every folder, file, symlink
 * and other entry of the moved session with its type, inode, size and
 * mtime, taken in the same walk the comparison with the snapshot of the
 * checks uses. Written next to the journal as <entry>.snapshot before the
 * journal says "verified":
 *   mctfs-trash-snapshot 1
 *   <type> <inode> <size> <mtime s>.<mtime ns> <relpath in hex>
 *   ...
 *   end <count>
 * Names are hex-encoded, so any name (newlines, bytes that are no UTF-8)
 * round-trips. The removal removes exactly what it lists; anything else
 * found in the entry was written during the deletion and goes back.
 * Private to the trash.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

struct mct_tsnap_entry {
    char *relpath;
    char type; /* 'd' folder, 'f' regular file, 'l' symlink, 'o' anything else */
    uint64_t ino;
    uint64_t size;
    struct timespec mtime;
};

struct mct_tsnap {
    struct mct_tsnap_entry *e; /* sorted by relpath (strcmp) */
    size_t n, cap;
};

void mct_tsnap_free(struct mct_tsnap *s);
#define _cleanup_tsnap_ __attribute__((cleanup(mct_tsnap_free)))

/* Everything below the folder dir_fd (bounded descriptors, tree.h). */
int mct_tsnap_take(int dir_fd, struct mct_tsnap *s);

const struct mct_tsnap_entry *mct_tsnap_find(const struct mct_tsnap *s, const char *relpath);
char mct_tsnap_type(mode_t mode);
/* Is st the entry that was verified: same type and inode, and for a file
 * or symlink the same size (and for a file the same mtime)? */
bool mct_tsnap_matches(const struct mct_tsnap_entry *e, const struct stat *st);
/* Files (regular and symlinks) and bytes of regular files, as a scan
 * counts them. */
void mct_tsnap_count(const struct mct_tsnap *s, size_t *files, uint64_t *bytes);

int mct_tsnap_write(int trash_fd, const char *entry, const struct mct_tsnap *s);
/* -ENOENT when there is none, -EBADMSG when it is not one we wrote. */
int mct_tsnap_read(int trash_fd, const char *entry, struct mct_tsnap *s);
int mct_tsnap_remove(int trash_fd, const char *entry);
