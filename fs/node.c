/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "beneath.h"
#include "ino.h"
#include "util.h"

const char *const node_root_vfiles[] = {".status", ".status.json", ".control", ".metrics", NULL};
const char *const node_session_vfiles[] = {".status",         ".status.json", ".backup_status",
                                           ".safe_to_delete", ".control",     NULL};

/* The root's .control takes RECLAIM; its node has no session (an empty
 * ref, control.c). */
static const enum node_kind root_kinds[] = {NODE_ROOT_STATUS, NODE_ROOT_STATUS_JSON, NODE_CONTROL,
                                            NODE_ROOT_METRICS};
static const enum node_kind session_kinds[] = {NODE_STATUS, NODE_STATUS_JSON, NODE_BACKUP_STATUS,
                                               NODE_SAFE_TO_DELETE, NODE_CONTROL};

const char *node_vfile_name(enum node_kind k)
{
    for (size_t i = 0; i < ARRAY_SIZE(root_kinds); i++)
        if (root_kinds[i] == k)
            return node_root_vfiles[i];
    for (size_t i = 0; i < ARRAY_SIZE(session_kinds); i++)
        if (session_kinds[i] == k)
            return node_session_vfiles[i];
    return "?";
}

enum node_kind node_vfile_kind(bool root, const char *name)
{
    const char *const *names = root ? node_root_vfiles : node_session_vfiles;
    const enum node_kind *kinds = root ? root_kinds : session_kinds;
    for (size_t i = 0; names[i]; i++)
        if (streq(names[i], name))
            return kinds[i];
    return NODE_REAL;
}

bool node_name_in(const char *const *names, const char *name)
{
    for (size_t i = 0; names[i]; i++)
        if (streq(names[i], name))
            return true;
    return false;
}

static size_t count_components(const char *rel)
{
    size_t n = 1;
    for (const char *p = rel; *p; p++)
        if (*p == '/')
            n++;
    return n;
}

bool node_rel_is_session(struct mctfs *fs, const char *rel, struct mct_session_ref *ref)
{
    const char *tmpl = fs->cfg->source_path_structure;

    /* The template matcher validates ids and dates; the depth test first
     * keeps it off the hot path of deep trees. */
    if (streq(rel, ".") || count_components(rel) != mct_template_depth(tmpl))
        return false;
    if (mct_template_match(tmpl, rel, ref) < 0)
        return false;
    return mct_participant_selected(fs->cfg, ref->participant_id);
}

void node_done(struct node *n)
{
    free(n->rel);
    n->rel = NULL;
}

int node_root(struct node *ret)
{
    *ret = (struct node){.kind = NODE_REAL, .rel = strdup(".")};
    return ret->rel ? 0 : -ENOMEM;
}

char *node_session_rel(const struct node *n)
{
    return strndup(n->rel, n->session_len);
}

static int index_in(const char *const *names, const char *name)
{
    for (int i = 0; names[i]; i++)
        if (streq(names[i], name))
            return i;
    return -1;
}

/* A session's virtual file: there while its folder is a folder. */
static int session_vfile(struct mctfs *fs, const struct node *parent, enum node_kind kind,
                         struct node *ret)
{
    struct stat st;
    int r = mct_stat_beneath(fs->base_fd, parent->rel, &st, 0);
    if (r < 0)
        return r;
    if (!S_ISDIR(st.st_mode))
        return -ENOENT;
    ret->kind = kind;
    ret->session = true;
    ret->ref = parent->ref;
    ret->session_len = strlen(parent->rel);
    ret->dir_ino = ino_real(fs->base_dev, &st);
    return 0;
}

int node_child(struct mctfs *fs, const struct node *parent, const char *name, struct node *ret)
{
    *ret = (struct node){.kind = NODE_REAL};
    if (parent->kind != NODE_REAL)
        return -ENOTDIR;
    if (strchr(name, '/') || streq(name, ".") || streq(name, ".."))
        return -EINVAL;
    bool at_root = streq(parent->rel, ".");
    ret->rel = at_root ? strdup(name) : mct_strdup_printf("%s/%s", parent->rel, name);
    if (!ret->rel)
        return -ENOMEM;
    if (strlen(ret->rel) >= PATH_MAX) {
        node_done(ret);
        return -ENAMETOOLONG;
    }

    int i;
    int r = 0;
    if (at_root && streq(name, MCTFS_TRASH_NAME))
        r = -ENOENT; /* the engine's: half-deleted sessions live there */
    else if (at_root && (i = index_in(node_root_vfiles, name)) >= 0) {
        ret->kind = root_kinds[i];
        ret->dir_ino = fs->base_ino;
    } else if (parent->session && (i = index_in(node_session_vfiles, name)) >= 0)
        r = session_vfile(fs, parent, session_kinds[i], ret);
    else if ((ret->session = node_rel_is_session(fs, ret->rel, &ret->ref)))
        ret->session_len = strlen(ret->rel);
    if (r < 0)
        node_done(ret);
    return r;
}

void node_forget_session(struct mctfs *fs, const struct mct_session_ref *ref, bool gone)
{
    _cleanup_free_ char *rel = NULL;

    /* Never .control: this may run inside a write to one. */
    if (!ref) {
        for (size_t i = 0; node_root_vfiles[i]; i++)
            if (!streq(node_root_vfiles[i], ".control"))
                mctfs_kernel_forget(fs, ".", node_root_vfiles[i]);
        return;
    }
    if (mct_template_expand(fs->cfg->source_path_structure, ref, &rel) < 0)
        return;

    /* Not .control: this runs inside a write to it. */
    for (size_t i = 0; node_session_vfiles[i]; i++)
        if (!streq(node_session_vfiles[i], ".control"))
            mctfs_kernel_forget(fs, rel, node_session_vfiles[i]);
    if (gone) {
        /* The session folder, and its participant folder when that went
         * too (the kernel caches names and listings). */
        mctfs_kernel_forget_entry(fs, rel);
        char *slash = strrchr(rel, '/');
        if (slash) {
            *slash = '\0';
            mctfs_kernel_forget_entry(fs, rel);
        }
    }
    for (size_t i = 0; node_root_vfiles[i]; i++)
        if (!streq(node_root_vfiles[i], ".control"))
            mctfs_kernel_forget(fs, ".", node_root_vfiles[i]);
}
