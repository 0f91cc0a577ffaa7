/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What an open file of the mount is (fi->fh): a real file's descriptor,
 * counted against its opener's cap (fdcap.h), or a virtual file's text,
 * rendered once at open so every read and fstat of that open agree.
 * Every handle is on one list: a file still open when the mount goes away
 * (SIGTERM while a reader is in it) is never released by libfuse, so the
 * teardown frees what is left.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "node.h"
#include "vfile.h"

struct handle {
    enum node_kind kind;
    int fd;       /* real files */
    bool counted; /* the fd counts against uid's cap */
    uid_t uid;
    struct vfile_content content; /* virtual files: rendered once at open */
    struct mct_session_ref ref;   /* .control */
    uint64_t pinned_ino;          /* a status file: the inode it pins (inode_pin), 0 none */
    uint64_t writer_ino;          /* .control open for writing: its inode, else 0 */
    struct handle *prev, *next;
};

struct handle *handle_new(enum node_kind kind);
void handle_free(struct handle *h);
/* Free every handle still open (the loop has ended). */
void handle_free_all(void);

static inline struct handle *handle_of(uint64_t fh)
{
    return (struct handle *)(uintptr_t)fh;
}
