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
#include <time.h>

#include "mctfs.h"
#include "node.h"

struct vfile_content {
    char *data; /* malloc'd, NUL-terminated; NULL when only the size was asked */
    size_t len;
    struct timespec mtime; /* when the status behind it was computed */
};

/* Render node (a virtual kind). want_data false: size and time only, which
 * for an unchanged status costs no allocation. May wait for a worker,
 * bounded (see status_cache_get). */
int vfile_render(struct mctfs *fs, const struct node *node, bool want_data,
                 struct vfile_content *ret);
