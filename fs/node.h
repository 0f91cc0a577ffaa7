/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What an entry of the mount is: a real file or folder of the source, or
 * one of the virtual files. A node is resolved once, when the kernel looks
 * its name up, and kept with its inode (inode.h); every operation then
 * dispatches on its kind, the way LXCFS dispatches on its file types.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "mctfs.h"
#include "session.h"

enum node_kind {
    NODE_REAL, /* a file or folder of the source, shown as it is */
    NODE_ROOT_STATUS,
    NODE_ROOT_STATUS_JSON,
    NODE_ROOT_METRICS, /* Prometheus text (vmetrics.h) */
    NODE_STATUS,
    NODE_STATUS_JSON,
    NODE_BACKUP_STATUS,
    NODE_SAFE_TO_DELETE,
    NODE_CONTROL,
    NODE_KINDS,
};

struct node {
    enum node_kind kind;
    /* NODE_REAL: a folder with the shape of a selected session (it shows
     * the virtual files). A session's virtual file: its folder. */
    bool session;
    struct mct_session_ref ref;
    char *rel;          /* relative to the source base, "." for the root; owned */
    uint64_t dir_ino;   /* a virtual file: its folder's st_ino as the view shows it */
    size_t session_len; /* session: the session folder is rel[0..session_len) */
};

static inline bool node_is_virtual(enum node_kind k)
{
    return k != NODE_REAL;
}

static inline bool node_is_session_vfile(enum node_kind k)
{
    return k >= NODE_STATUS;
}

/* A status file whose name the kernel may cache: its text changes only
 * when the model publishes a new one, and the mount then tells the kernel
 * (node_forget_session). Not .control (each open looks it up, inode.h)
 * nor .metrics (rendered at every open). */
static inline bool node_is_cached_vfile(enum node_kind k)
{
    return k != NODE_REAL && k != NODE_CONTROL && k != NODE_ROOT_METRICS;
}

void node_done(struct node *n);

/* The root of the mount. -ENOMEM. */
int node_root(struct node *ret);

/* The entry called name in the folder parent (a real folder): its kind
 * and, for a virtual file, its session. Existence of real entries is the
 * caller's to check (a stat); a session's virtual files exist while their
 * folder does. -ENOENT for the hidden trash and for virtual files of a
 * folder that is gone, -ENOTDIR below a file, -ENAMETOOLONG. */
int node_child(struct mctfs *fs, const struct node *parent, const char *name, struct node *ret);

/* The session folder of a session node, as a string (malloc'd). */
char *node_session_rel(const struct node *n);

/* Does the folder at rel (relative to the base) hold sessions' virtual
 * files? Fills ref when it does. */
bool node_rel_is_session(struct mctfs *fs, const char *rel, struct mct_session_ref *ref);

/* The name of the virtual file of kind k (".status", ...), and the kind
 * of the virtual file name at the root or in a session folder. */
const char *node_vfile_name(enum node_kind k);
enum node_kind node_vfile_kind(bool root, const char *name);

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
