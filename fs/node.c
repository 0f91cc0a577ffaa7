/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "beneath.h"
#include "util.h"

const char *const node_root_vfiles[] = {".status", ".status.json", ".control", NULL};
const char *const node_session_vfiles[] = {".status",         ".status.json", ".backup_status",
                                           ".safe_to_delete", ".control",     NULL};

static const enum node_kind session_kinds[] = {NODE_STATUS, NODE_STATUS_JSON, NODE_BACKUP_STATUS,
                                               NODE_SAFE_TO_DELETE, NODE_CONTROL};

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

static bool is_trash(const char *rel)
{
    size_t n = strlen(MCTFS_TRASH_NAME);
    return strncmp(rel, MCTFS_TRASH_NAME, n) == 0 && (rel[n] == '\0' || rel[n] == '/');
}

int node_resolve(struct mctfs *fs, const char *path, struct node *ret)
{
    while (*path == '/')
        path++;
    if (strlen(path) >= sizeof(ret->session_rel))
        return -ENAMETOOLONG;

    *ret = (struct node){.kind = NODE_REAL, .rel = *path ? path : "."};
    if (is_trash(path)) {
        ret->kind = NODE_HIDDEN;
        return 0;
    }

    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;

    if (!slash) {
        if (streq(name, ".status"))
            ret->kind = NODE_ROOT_STATUS;
        else if (streq(name, ".status.json"))
            ret->kind = NODE_ROOT_STATUS_JSON;
        else if (streq(name, ".control"))
            ret->kind = NODE_CONTROL; /* RECLAIM; an empty ref (control.c) */
        else
            ret->session = node_rel_is_session(fs, ret->rel, &ret->ref);
        if (ret->session)
            strcpy(ret->session_rel, ret->rel);
        return 0;
    }

    for (size_t i = 0; node_session_vfiles[i]; i++) {
        if (!streq(name, node_session_vfiles[i]))
            continue;
        memcpy(ret->session_rel, path, (size_t)(slash - path));
        ret->session_rel[slash - path] = '\0';
        if (!node_rel_is_session(fs, ret->session_rel, &ret->ref))
            break; /* a real file that happens to be called .status */

        /* The virtual files exist only while their folder does. */
        struct stat st;
        int r = mct_stat_beneath(fs->base_fd, ret->session_rel, &st, 0);
        if (r < 0)
            return r;
        if (!S_ISDIR(st.st_mode))
            return -ENOENT;
        ret->kind = session_kinds[i];
        ret->session = true;
        return 0;
    }

    ret->session = node_rel_is_session(fs, ret->rel, &ret->ref);
    if (ret->session)
        strcpy(ret->session_rel, ret->rel);
    return 0;
}

int node_resolve_real(struct mctfs *fs, const char *path, struct node *ret, int not_real)
{
    int r = node_resolve(fs, path, ret);
    if (r < 0)
        return r;
    if (ret->kind == NODE_HIDDEN)
        return -ENOENT;
    return ret->kind == NODE_REAL ? 0 : not_real;
}

void node_forget_session(struct mctfs *fs, const struct mct_session_ref *ref, bool gone)
{
    _cleanup_free_ char *rel = NULL;
    char path[PATH_MAX];

    /* Never .control: this runs inside a write to one. */
    if (!ref) {
        for (size_t i = 0; node_root_vfiles[i]; i++) {
            if (streq(node_root_vfiles[i], ".control"))
                continue;
            snprintf(path, sizeof(path), "/%s", node_root_vfiles[i]);
            mctfs_kernel_forget(fs, path);
        }
        return;
    }
    if (mct_template_expand(fs->cfg->source_path_structure, ref, &rel) < 0)
        return;

    /* Not .control: this runs inside a write to it. */
    for (size_t i = 0; node_session_vfiles[i]; i++) {
        if (streq(node_session_vfiles[i], ".control"))
            continue;
        snprintf(path, sizeof(path), "/%s/%s", rel, node_session_vfiles[i]);
        mctfs_kernel_forget(fs, path);
    }
    if (gone) {
        /* The session folder, and its participant folder when that went
         * too (the kernel caches names and listings). */
        snprintf(path, sizeof(path), "/%s", rel);
        mctfs_kernel_forget_entry(fs, path);
        char *slash = strrchr(path, '/');
        if (slash && slash != path) {
            *slash = '\0';
            mctfs_kernel_forget_entry(fs, path);
        }
    }
    for (size_t i = 0; node_root_vfiles[i]; i++) {
        if (streq(node_root_vfiles[i], ".control"))
            continue;
        snprintf(path, sizeof(path), "/%s", node_root_vfiles[i]);
        mctfs_kernel_forget(fs, path);
    }
}
