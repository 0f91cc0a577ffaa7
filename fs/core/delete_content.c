/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The deletion protocol's content check (verify_method: checksum). The
 * status only knows what the hash cache proves; here every copy whose
 * sizes match is compared by content now: both sides hashed again, except
 * files whose cache entries are proven fresh by path, size, mtime, ctime
 * and inode of both sides. A copy that could not be hashed is not verified.
 */
#include "content.h"
#include "delete_checks.h"
#include "hashcache.h"
#include "log.h"
#include "manifest.h"
#include "util.h"

static void set_dest(struct mct_dest_status *ds, enum mct_dest_state state,
                     enum mct_content_state content, char *detail)
{
    ds->state = state;
    ds->content = content;
    free(ds->detail);
    ds->detail = detail;
}

/* The source's hashes, for the manifest, from a copy that matched. */
static int build_manifest(const struct mct_content_result *cr, struct mct_manifest *m)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < cr->n_files; i++)
        r = mct_manifest_add(m, cr->files[i].relpath, &cr->files[i].source);
    return r;
}

static int judge_copy(struct mct_deletion *d, struct mct_dest_status *ds,
                      struct mct_hashcache *cache, struct mct_manifest *m)
{
    const struct mct_scan *src = &d->status->source;
    struct mct_content_result cr = {0};
    int r = mct_content_compare(d->cfg, d->source_path, src, ds->dest, ds->path, &ds->scan, cache,
                                NULL, &cr);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        set_dest(ds, MCT_DEST_UNVERIFIED, MCT_CONTENT_UNPROVEN,
                 mct_strdup_printf("cannot hash the copy at %s: %s", ds->path,
                                   r == -ETIMEDOUT ? "the share stopped answering" : strerror(-r)));
    } else if (cr.n_differ || cr.n_errors || cr.n_files != src->n_files || cr.n_files == 0) {
        char *sum = mct_content_summary(&cr);
        set_dest(ds, MCT_DEST_UNVERIFIED, cr.n_differ ? MCT_CONTENT_DIFFERS : MCT_CONTENT_UNPROVEN,
                 sum ? sum : strdup("not every file could be compared by content"));
    } else {
        set_dest(ds, MCT_DEST_VERIFIED, MCT_CONTENT_VERIFIED, NULL);
        if (m->n == 0)
            r = build_manifest(&cr, m);
    }
    mct_content_result_free(&cr);
    return r == -ENOMEM ? r : 0;
}

/* Evidence for a later `mctctl audit`; the deletion does not depend on it. */
static void write_manifest(struct mct_deletion *d, const struct mct_manifest *m)
{
    _cleanup_free_ char *path = NULL;
    char why[1024] = "";
    if (m->n == 0 || mct_manifest_path(d->cfg, &d->req->ref, &path) < 0)
        return;
    if (mct_manifest_write(path, m, why, sizeof(why)) < 0) {
        log_warning("%s", why);
        (void)mct_strv_pushf(&d->res->lines, "  WARNING: no manifest written: %s", why);
    } else {
        (void)mct_strv_pushf(&d->res->lines, "  manifest of %zu XXH3-128 hashes: %s", m->n, path);
    }
}

int mct_delete_check_content(struct mct_deletion *d)
{
    if (d->req->mode != MCT_DELETE_NORMAL || d->cfg->verify_method != MCT_VERIFY_CHECKSUM)
        return 0;
    _cleanup_hashcache_ struct mct_hashcache *cache = NULL;
    int r = mct_hashcache_open(d->cfg, &d->req->ref, &cache);
    if (r < 0)
        return r;
    struct mct_manifest m = {0};
    for (size_t i = 0; r == 0 && i < d->status->n_dests; i++) {
        struct mct_dest_status *ds = &d->status->dests[i];
        /* Only copies whose one open question is their content are worth
         * reading: the status judged them by the hash cache (content
         * set). A copy the rules refused for anything else (no marker,
         * another session's, the source itself) stays refused. */
        if (ds->verify.state == MCT_DEST_VERIFIED && ds->content != MCT_CONTENT_NOT_CHECKED)
            r = judge_copy(d, ds, cache, &m);
    }
    (void)mct_hashcache_save(cache);
    if (r == 0 && !d->req->dry_run)
        write_manifest(d, &m);
    mct_manifest_free(&m);
    if (r == 0)
        r = mct_status_decide(d->status);
    return r;
}
