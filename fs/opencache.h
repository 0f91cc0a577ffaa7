/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which real files may keep the kernel's page cache across opens. A file
 * opened again with the same inode, size and mtime as at its last open is
 * unchanged, so the pages the kernel holds are still right and re-reads of
 * a video run at close to native speed (fi->keep_cache). Anything else, or
 * a path not seen before, drops the kernel's pages.
 */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

struct opencache;

int opencache_new(struct opencache **ret);
void opencache_free(struct opencache *c);

/* Record st for path; true when it matches what the last open recorded. */
bool opencache_unchanged(struct opencache *c, const char *path, const struct stat *st);
