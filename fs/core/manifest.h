/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Manifests: the verified XXH3-128 of every file of a session, written
 * next to the deletion log (dirname(deletion.log_path)/manifests/
 * P__D.xxh128), never into the backup folder, whose file count it would
 * change. The format is `xxhsum -H2`'s ("HASH  RELPATH" per line), so
 * `cd COPY && xxhsum -c MANIFEST` checks a copy by hand. `mctctl audit`
 * re-hashes the copy against it after the local session is gone.
 */
#pragma once

#include <stddef.h>

#include "checksum.h"
#include "config.h"
#include "session.h"

struct mct_manifest_entry {
    char *relpath;
    struct mct_hash hash;
};

struct mct_manifest {
    struct mct_manifest_entry *entries; /* in the order written (relpath order) */
    size_t n;
};

/* dirname(cfg->deletion_log_path)/manifests/P__D.xxh128; -ENOMEM. */
int mct_manifest_path(const struct mct_config *cfg, const struct mct_session_ref *ref, char **ret);

/* Append one entry (relpath copied). -ENOMEM. */
int mct_manifest_add(struct mct_manifest *m, const char *relpath, const struct mct_hash *h);

/* Write atomically (temp file, fsync, rename), creating the folder.
 * -EINVAL when a relpath cannot be written in xxhsum's format (newline,
 * backslash), -errno; why gets a sentence naming the file. */
int mct_manifest_write(const char *path, const struct mct_manifest *m, char *why, size_t whylen);

/* Read one; -ENOENT, -EINVAL (with the line in why) for a malformed line. */
int mct_manifest_read(const char *path, struct mct_manifest *m, char *why, size_t whylen);

void mct_manifest_free(struct mct_manifest *m);
