/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Free space on the source filesystem: how much there is, and a target
 * for it written as bytes ("500G") or as a share of the filesystem
 * ("20%"), the way git-annex's annex.diskreserve is written.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mct_space {
    uint64_t bytes;        /* when percent_x100 is 0 */
    unsigned percent_x100; /* hundredths of a percent (20% = 2000); 0: bytes */
};

/* "500G", "1.5T", "750M", "123456" (bytes; K, M, G, T, P with an optional
 * "B" or "iB" are powers of 1024, as every size mctfs prints), or "20%",
 * "12.5%" (0 < p < 100, at most two decimals). -EINVAL with why. The
 * signature of a config key's parser (config_yaml.h). */
int mct_space_parse(const char *s, void *space, char *why, size_t whylen);

/* The target in bytes on a filesystem of fs_size bytes. */
uint64_t mct_space_bytes(const struct mct_space *sp, uint64_t fs_size);

/* "20%" or "500G", as the config would say it. */
const char *mct_space_format(const struct mct_space *sp, char *out, size_t len);

struct mct_fs_space {
    uint64_t size;  /* bytes of the filesystem */
    uint64_t avail; /* bytes an unprivileged user may still write (the rig's recorder) */
};

/* statvfs of path. -errno. */
int mct_fs_space_get(const char *path, struct mct_fs_space *ret);
