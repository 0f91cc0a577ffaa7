/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * READDIR and READDIRPLUS replies, from the folder listings (listing.h).
 */
#pragma once

#include <stdbool.h>

#include "mctfs.h"
#include "node.h"

/* Reply to a READDIR (plus: READDIRPLUS) of the folder n from off. */
void readdir_reply(fuse_req_t req, struct mctfs *fs, const struct node *n, size_t size, off_t off,
                   bool plus);
