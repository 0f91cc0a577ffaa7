/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Source scan against copy scan, file by file. Both lists are sorted by
 * relpath, so one merge pass finds what is missing, extra or different.
 */
#include "verify.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

const char *mct_dest_state_name(enum mct_dest_state s)
{
    switch (s) {
    case MCT_DEST_UNREACHABLE:
        return "unreachable";
    case MCT_DEST_MISSING:
        return "missing";
    case MCT_DEST_UNVERIFIED:
        return "unverified";
    case MCT_DEST_VERIFIED:
        return "verified";
    case MCT_DEST_UNSAFE:
        return "unsafe";
    }
    return "unknown";
}

void mct_verify_result_free(struct mct_verify_result *res)
{
    if (!res)
        return;
    mct_strv_free(res->missing);
    mct_strv_free(res->extra);
    for (size_t i = 0; i < res->n_mismatched; i++)
        free(res->mismatched[i].relpath);
    free(res->mismatched);
    *res = (struct mct_verify_result){.state = MCT_DEST_UNVERIFIED};
}

static int push_path(char ***v, size_t *n, const char *relpath)
{
    int r = mct_strv_push(v, strdup(relpath));
    if (r == 0)
        (*n)++;
    return r;
}

static int push_mismatch(struct mct_verify_result *res, const struct mct_file *s,
                         const struct mct_file *c)
{
    struct mct_size_mismatch *m =
            realloc(res->mismatched, (res->n_mismatched + 1) * sizeof(*res->mismatched));
    if (!m)
        return -ENOMEM;
    res->mismatched = m;
    char *p = strdup(s->relpath);
    if (!p)
        return -ENOMEM;
    m[res->n_mismatched++] = (struct mct_size_mismatch){
            .relpath = p,
            .source_size = s->size,
            .copy_size = c->size,
    };
    return 0;
}

/* Same size and same kind: a symlink in the copy does not hold a file's
 * data even when the lengths happen to agree. */
static bool same_file(const struct mct_file *s, const struct mct_file *c)
{
    return s->size == c->size && (s->mode & S_IFMT) == (c->mode & S_IFMT);
}

#define PROGRESS_EVERY 256

static int merge(const struct mct_scan *source, const struct mct_scan *copy,
                 void (*progress)(void *ud, uint64_t done, uint64_t total), void *ud,
                 struct mct_verify_result *res)
{
    size_t i = 0, j = 0;
    size_t ns = source ? source->n_files : 0, nc = copy ? copy->n_files : 0;
    int r = 0;
    while (r == 0 && (i < ns || j < nc)) {
        int c = i >= ns   ? 1
                : j >= nc ? -1
                          : strcmp(source->files[i].relpath, copy->files[j].relpath);
        if (c < 0) {
            r = push_path(&res->missing, &res->n_missing, source->files[i++].relpath);
        } else if (c > 0) {
            r = push_path(&res->extra, &res->n_extra, copy->files[j++].relpath);
        } else {
            if (!same_file(&source->files[i], &copy->files[j]))
                r = push_mismatch(res, &source->files[i], &copy->files[j]);
            i++;
            j++;
        }
        if (progress && c <= 0 && i % PROGRESS_EVERY == 0)
            progress(ud, i, ns);
    }
    if (r == 0 && progress)
        progress(ud, ns, ns);
    return r;
}

int mct_verify_compare(const struct mct_scan *source, const struct mct_scan *copy,
                       void (*progress)(void *ud, uint64_t done, uint64_t total), void *ud,
                       struct mct_verify_result *res)
{
    *res = (struct mct_verify_result){.state = MCT_DEST_UNVERIFIED};
    int r = merge(source, copy, progress, ud, res);
    if (r < 0) {
        mct_verify_result_free(res);
        return r;
    }
    bool copy_has_files = copy && copy->n_files > 0;
    if (res->n_missing == 0 && res->n_mismatched == 0 && copy_has_files)
        res->state = MCT_DEST_VERIFIED;
    return 0;
}
