/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Not running as root. mctfs and mctctl read folders other users write
 * (/data, the share) and run rsync there; as root, one mistake in that
 * code is a way to root for every rig user. Started as root, they read
 * the config and the password file, then become service.user for good
 * before touching /data, a share or a database. Root without service.user
 * is refused unless the caller says, with --allow-root or
 * MCTFS_ALLOW_ROOT=1, that it accepts the risk.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define MCT_ALLOW_ROOT_ENV "MCTFS_ALLOW_ROOT"

/*
 * Not root: nothing to do, 0. Root with cfg->service.user: switch to it
 * (supplementary groups, gid, uid, all three of each), check that root
 * cannot be regained, 0. Root without it: 0 when allow_root or
 * MCTFS_ALLOW_ROOT=1, else -EPERM with what to set in err. prog names the
 * program in messages.
 */
int mct_privilege_drop(const struct mct_config *cfg, bool allow_root, const char *prog, char *err,
                       size_t errlen);
