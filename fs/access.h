/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * May this caller read this real file, by the file's mode and POSIX ACL as
 * they are on the disk now? The kernel checks the mount's callers too
 * (default_permissions, and ACLs with FUSE_CAP_POSIX_ACL), but against
 * attributes it caches for mount.attr_seconds: a chmod or setfacl by the
 * rig user would take that long to bite. Every open of a real file or
 * folder is checked here again, from the descriptor that is then used, so
 * no grant outlives a change on the disk. No FUSE in here: the caller's
 * identity comes in a struct, so the rules are unit-tested with fakes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Who asks, as the kernel would check them: fsuid, fsgid, supplementary
 * groups. */
struct access_cred {
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t n_groups;
    /* When set: called the first time a check needs the supplementary
     * groups (reading them costs a /proc read), to fill groups. */
    void (*load_groups)(struct access_cred *c);
    void *userdata;
};

/*
 * May c have mask (R_OK | W_OK | X_OK) on a file with attributes st and
 * the POSIX access ACL acl (the raw system.posix_acl_access value, len 0:
 * none)? 0 or -EACCES. The kernel's rules (generic_permission): the owner
 * gets the owner bits, then the ACL (named users, owning and named groups,
 * each limited by the mask entry, then other), then group and other bits.
 * Like the kernel, an ACL whose mask (the mode's group bits) is empty is
 * not consulted. A malformed ACL refuses. uid 0 keeps root's override:
 * read and write always, execute when any x bit is set or on a folder.
 */
int access_check(struct access_cred *c, const struct stat *st, const void *acl, size_t len,
                 int mask);

/* access_check() for the file open at fd (O_PATH too), whose fstat is st;
 * its ACL is read from fd. 0, -EACCES, or -errno of reading the ACL. */
int access_check_fd(struct access_cred *c, int fd, const struct stat *st, int mask);

/*
 * Open rel below base_fd as mct_openat_beneath() does (no symlink, no
 * escape: -ELOOP for a symlink anywhere on the way) with flags, checking
 * on the way what the kernel checks on a path walk, with the file system
 * as it is now: search (x) on base_fd and on every folder crossed, then
 * mask on what was opened. Returns the fd, or -errno (-EACCES refused).
 * The stat of the opened file goes to *st when st is not NULL.
 */
int access_open_beneath(int base_fd, const char *rel, int flags, struct access_cred *c, int mask,
                        struct stat *st);
