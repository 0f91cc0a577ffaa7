/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hash cache: an accelerator, never a source of truth it cannot prove.
 * One file per session under verification.cache_dir (hashes/P__D.cache)
 * remembers the XXH3-128 of every file hashed there, keyed by its absolute
 * path and the size, mtime, ctime and inode it had then. An entry counts
 * only while all five still match the file as scanned now: writing a file
 * moves its ctime, which no user can set back. A missing, unreadable,
 * corrupt or untrusted cache file (not ours, or writable by others) reads
 * as empty; failing to save one costs the next run its speed, nothing else.
 */
#pragma once

#include <stdbool.h>

#include "checksum.h"
#include "config.h"
#include "scan.h"
#include "session.h"

struct mct_hashcache;

/* The session's cache (empty when there is none or it cannot be used).
 * Only -ENOMEM. */
int mct_hashcache_open(const struct mct_config *cfg, const struct mct_session_ref *ref,
                       struct mct_hashcache **ret);

/* A fresh entry for path: its key matches st (size, mtime, ctime, inode,
 * kind). true and *out filled, or false. */
bool mct_hashcache_lookup(struct mct_hashcache *c, const char *path, const struct mct_file *st,
                          struct mct_hash *out);

/* Remember h for path as it was when hashed (st). -ENOMEM. */
int mct_hashcache_store(struct mct_hashcache *c, const char *path, const struct mct_file *st,
                        const struct mct_hash *h);

/* Write back the entries looked up fresh or stored in this run (stale ones
 * are dropped), atomically. -errno, which callers may ignore. */
int mct_hashcache_save(struct mct_hashcache *c);

/* Remove the session's cache file (after a deletion). Best effort. */
void mct_hashcache_remove(const struct mct_config *cfg, const struct mct_session_ref *ref);

/* The cache file's path (tests). NULL on ENOMEM. */
char *mct_hashcache_path(const struct mct_config *cfg, const struct mct_session_ref *ref);

void mct_hashcache_free(struct mct_hashcache *c);
static inline void mct_hashcache_freep(struct mct_hashcache **c)
{
    mct_hashcache_free(*c);
}
#define _cleanup_hashcache_ __attribute__((cleanup(mct_hashcache_freep)))
