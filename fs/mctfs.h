/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount's shared state. One instance lives for the whole mount; every
 * part of fs/ gets to it through mctfs_get().
 * The engine (fs/core/) knows nothing of this.
 */
#pragma once

/* 3.12 is the first API with the opaque loop config (fuse_loop_cfg_*). */
#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/* The deletion protocol's trash folder at the root of the source base. It is
 * the engine's, half-deleted sessions live there: never shown. */
#define MCTFS_TRASH_NAME ".mctfs-trash"

struct model;
struct control;
struct opencache;
struct fdcap;
struct listings;
struct vmetrics;

struct mctfs {
    struct mct_config *cfg;
    int base_fd;       /* O_PATH of cfg->source_base_path; every real path is relative to it */
    dev_t base_dev;    /* its device: real inode numbers are the source's on it (ino.h) */
    uint64_t base_ino; /* its st_ino as the view shows it */
    uid_t owner_uid;   /* who mounted: may write .control */
    gid_t owner_gid;
    struct fuse_session *se; /* for kernel cache invalidation from worker threads */
    struct model *model;
    struct control *control;
    struct opencache *opencache;
    struct fdcap *fdcap;       /* real files open, per user (fdcap.h) */
    struct listings *listings; /* folders being listed (listing.h) */
    struct vmetrics *metrics;  /* the root's .metrics and the textfile (vmetrics.h) */
};

/* Set by main() before the mount starts. */
extern struct mctfs *mctfs_instance;

static inline struct mctfs *mctfs_get(void)
{
    return mctfs_instance;
}

/* The mount's operations (fs/lowlevel.c). */
extern const struct fuse_lowlevel_ops mctfs_ll_ops;

/* Who made the request being served (valid inside an operation only). */
/* LOOKUP requests answered since the mount (.metrics). */
uint64_t mctfs_lookups(void);

const struct fuse_ctx *mctfs_caller(void);
/* Their supplementary groups, as fuse_req_getgroups(). */
int mctfs_caller_groups(int size, gid_t list[]);

/* Drop the kernel's cached attributes (and pages, or listing) of the entry
 * name in the folder dir (relative to the source base, "." for the root),
 * so a new status' size and text show at once; an open status file keeps
 * its own, and only the name is dropped. Quiet when the kernel does not
 * know it. Safe from any thread, never from inside a callback on it. */
void mctfs_kernel_forget(struct mctfs *fs, const char *dir, const char *name);
/* rel is gone: drop its name from its folder and the folder's listing. */
void mctfs_kernel_forget_entry(struct mctfs *fs, const char *rel);
