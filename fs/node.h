/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a path of the mount is: a real file of the source, a hidden one,
 * or one of the virtual files. Every FUSE operation starts here and then
 * dispatches on the kind, the way LXCFS dispatches on its file types.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "mctfs.h"
#include "session.h"

enum node_kind {
    NODE_REAL,   /* a file or folder of the source, shown as it is */
    NODE_HIDDEN, /* the trash and everything under it */
    NODE_ROOT_STATUS,
    NODE_ROOT_STATUS_JSON,
    NODE_STATUS,
    NODE_STATUS_JSON,
    NODE_BACKUP_STATUS,
    NODE_SAFE_TO_DELETE,
    NODE_CONTROL,
};

struct node {
    enum node_kind kind;
    const char *rel; /* relative to the source base ("." for the root); points into path */
    /* NODE_REAL: the path has the shape of a selected session folder (its
     * readdir adds the virtual files when it is a real directory).
     * Session virtual files: their folder, which exists and is a directory. */
    bool session;
    struct mct_session_ref ref;
    char session_rel[PATH_MAX]; /* the session folder, relative to the base */
};

static inline bool node_is_virtual(enum node_kind k)
{
    return k >= NODE_ROOT_STATUS;
}

static inline bool node_is_session_vfile(enum node_kind k)
{
    return k >= NODE_STATUS;
}

/* Classify a FUSE path ("/", "/p001/20250104/.status"). -ENOENT for a
 * session virtual file whose folder does not exist, -ENAMETOOLONG. */
int node_resolve(struct mctfs *fs, const char *path, struct node *ret);

/* node_resolve() for an operation on real files only: -ENOENT for the
 * hidden trash, not_real for a virtual file. */
int node_resolve_real(struct mctfs *fs, const char *path, struct node *ret, int not_real);

/* Does the folder at rel (relative to the base) hold sessions' virtual
 * files? Fills ref when it does. */
bool node_rel_is_session(struct mctfs *fs, const char *rel, struct mct_session_ref *ref);

/* Names readdir adds: NULL-terminated. */
extern const char *const node_root_vfiles[];
extern const char *const node_session_vfiles[];

/* Is name one of the names in a NULL-terminated list? */
bool node_name_in(const char *const *names, const char *name);

/* Make the kernel forget what it cached of a session's status files (their
 * sizes change with the status) and, when gone, of the folder itself, so a
 * deleted session disappears at once rather than after the attr timeout.
 * ref NULL: the root's status files. */
void node_forget_session(struct mctfs *fs, const struct mct_session_ref *ref, bool gone);
