/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount's shared state. One instance lives for the whole mount and is
 * the FUSE private_data; every part of fs/ gets to it through mctfs_get().
 * The engine (fs/core/) knows nothing of this.
 */
#pragma once

/* 3.12 is the first API with the opaque loop config (fuse_loop_cfg_*). */
#define FUSE_USE_VERSION 312

#include <fuse.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"

/* The deletion protocol's trash folder at the root of the source base. It is
 * the engine's, half-deleted sessions live there: never shown. */
#define MCTFS_TRASH_NAME ".mctfs-trash"

struct status_cache;
struct control;
struct opencache;

struct mctfs {
    struct mct_config *cfg;
    int base_fd;     /* O_PATH of cfg->source_base_path; every real path is relative to it */
    uid_t owner_uid; /* who mounted: may write .control */
    gid_t owner_gid;
    struct fuse *fuse; /* for kernel cache invalidation from worker threads */
    struct status_cache *cache;
    struct control *control;
    struct opencache *opencache;
};

static inline struct mctfs *mctfs_get(void)
{
    return fuse_get_context()->private_data;
}

/* The FUSE operations (fs/ops.c). */
extern const struct fuse_operations mctfs_ops;

/* Drop the kernel's cached attributes of path ("/p001/20250104/.status"),
 * so a new status' size shows at once. Quiet when the kernel does not know
 * the path. Safe from any thread, never from inside a callback on path itself. */
void mctfs_kernel_forget(struct mctfs *fs, const char *path);
