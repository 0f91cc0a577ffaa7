/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtual files' contents. Status files are rendered by the engine's
 * report functions from a cached status, once per snapshot; a running
 * command's progress is overlaid. The FUSE layer reads them whole at open
 * (so partial reads of one open are consistent) and for stat (so st_size is
 * the true size).
 */
#pragma once

#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "mctfs.h"
#include "node.h"
#include "model.h"

/* The root's status files rendered chunk by chunk, and a session's file
 * of one slot, for the model (model.h). */
int vfile_render_root_part(const struct mct_session_status *st, size_t n, bool last,
                           struct status_root_render *rr);
int vfile_render_slot(const struct mct_session_status *st, unsigned slot, struct mct_buf *out);

struct vfile_content {
    const char *data; /* NUL-terminated; NULL when only the size was asked */
    size_t len;
    struct timespec mtime; /* when the status behind it was computed */
    /* What data lives in: a snapshot's rendering, shared by every open of
     * it (a root .status.json of 10,000 sessions is megabytes), or a
     * rendering of its own (progress overlaid, .control). */
    struct status_snap *snap;
    char *owned;
};

/* Render node (a virtual kind). want_data false: size and time only, which
 * for an unchanged status costs no allocation. May wait for a worker,
 * bounded (see model_get). */
int vfile_render(struct mctfs *fs, const struct node *node, bool want_data,
                 struct vfile_content *ret);
/* Drops what vfile_render returned (harmless on a zeroed one). */
void vfile_content_release(struct vfile_content *c);

/* The attributes of a virtual file: len and mtime of its text, 0444 for
 * the status files, .control writable as mount.allow_uids/allow_gids let
 * modes say (control.c decides who really may), st_ino from its folder's
 * (ino.h). */
void vfile_fill_stat(struct mctfs *fs, const struct node *n, size_t len,
                     const struct timespec *mtime, struct stat *st);
/* stat of a virtual node now. */
int vfile_stat(struct mctfs *fs, const struct node *n, struct stat *st);

struct handle;
/* Open a virtual file: its text rendered for this open (h->content), read
 * direct so no stale page is ever shown. .control opened for writing has
 * no text. */
int vfile_open(struct mctfs *fs, const struct node *n, struct fuse_file_info *fi, struct handle *h);
int vfile_read(const struct handle *h, char *buf, size_t size, off_t off);
