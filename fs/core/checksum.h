/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Content hashes for verify_method: checksum. XXH3-128 (libxxhash): a
 * 128-bit non-cryptographic hash that runs at memory speed, so hashing a
 * session costs what reading it costs; collisions by accident are out of
 * reach at 128 bits, and nobody forges recordings on our own share. The
 * hex form is the canonical (big-endian) one `xxhsum -H2` prints, so a
 * manifest can be checked with `xxhsum -c`.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "scan.h"

#define MCT_HASH_HEX_LEN 32

struct mct_hash {
    unsigned char b[16]; /* XXH128 canonical bytes */
};

/* out gets MCT_HASH_HEX_LEN lowercase hex digits and a NUL. */
void mct_hash_hex(const struct mct_hash *h, char out[MCT_HASH_HEX_LEN + 1]);
/* Exactly MCT_HASH_HEX_LEN hex digits (either case); -EINVAL otherwise. */
int mct_hash_parse(const char *hex, struct mct_hash *h);
bool mct_hash_eq(const struct mct_hash *a, const struct mct_hash *b);
/* XXH3-128 of a buffer (tests, symlink targets). */
void mct_hash_buffer(const void *data, size_t len, struct mct_hash *out);

/* Called after every read with the bytes just hashed. */
typedef void (*mct_bytes_fn)(void *ud, uint64_t n);

/*
 * Hash the file at path (relative to dirfd, or AT_FDCWD) with 1 MiB
 * sequential reads; a symlink is not followed: its target text is hashed.
 * *st (relpath untouched) gets the size, times, device and inode the hash
 * belongs to: taken before the read and checked again after it, so a file
 * written meanwhile gives -EAGAIN instead of a hash of a moving target.
 * When drop_cache, cached pages are dropped first, so a network copy is
 * read from the server and not from what this machine wrote there.
 * -errno from open/read.
 */
int mct_hash_path(int dirfd, const char *path, bool drop_cache, mct_bytes_fn on_bytes, void *ud,
                  struct mct_hash *out, struct mct_file *st);

/* mct_hash_path with a static state and read buffer instead of malloc'd
 * ones: for forked children of the threaded daemon (content.c's share
 * side), where the allocator may be locked. Not reentrant. */
int mct_hash_path_static(int dirfd, const char *path, bool drop_cache, mct_bytes_fn on_bytes,
                         void *ud, struct mct_hash *out, struct mct_file *st);

/* Do two stats describe the same unchanged file: size, mtime, ctime, inode? */
bool mct_file_same_version(const struct mct_file *a, const struct mct_file *b);
