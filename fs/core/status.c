/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Collecting and deciding a session's status. The collection is shaped for
 * many sessions at once (status-range, the mount's root): one probe per
 * share, one child process scanning every copy on a share, the DataJoint
 * checks as set-based queries. The decision is the product's one policy:
 * safe to delete = DataJoint YES and at least backup.required_copies
 * enabled destinations verified. Under verify_method: checksum the status
 * still reads no file: a copy whose sizes match is verified only when the
 * hash cache holds fresh, equal hashes of both sides of every file
 * (written by `mctctl verify`, a sync or a deletion); otherwise it is
 * unverified with "content not yet verified by checksum".
 */
#include "status.h"

#include "hashcache.h"
#include "log.h"
#include "marker.h"
#include "policy.h"
#include "share.h"
#include "trash_pending.h"

#include <strings.h>
#include <time.h>

/* Drop the per-file lists when nobody asked for them (status-range over
 * thousands of sessions should not hold millions of names), keeping the
 * counts: n_files stays, files becomes NULL. */
static void scan_drop_files(struct mct_scan *scan)
{
    if (!scan->files)
        return;
    for (size_t i = 0; i < scan->n_files; i++)
        free(scan->files[i].relpath);
    free(scan->files);
    scan->files = NULL;
}

static void scan_release(struct mct_scan *scan)
{
    scan_drop_files(scan);
    memset(scan, 0, sizeof(*scan));
}

static void dest_status_clear(struct mct_dest_status *d)
{
    free(d->path);
    free(d->detail);
    mct_verify_result_free(&d->verify);
    scan_release(&d->scan);
    memset(d, 0, sizeof(*d));
}

void mct_session_status_free_array(struct mct_session_status *st, size_t n)
{
    if (!st)
        return;
    for (size_t i = 0; i < n; i++) {
        free(st[i].source_path);
        scan_release(&st[i].source);
        for (size_t j = 0; j < st[i].n_dests; j++)
            dest_status_clear(&st[i].dests[j]);
        free(st[i].dests);
        mct_strv_free(st[i].reasons);
        mct_strv_free(st[i].local_reasons);
        mct_strv_free(st[i].unbacked_reasons);
        free(st[i].activity);
    }
    free(st);
}

/* A session with an interrupted deletion in the trash (moved out, maybe
 * half removed) is not safe whatever its folder holds now. */
static int judge_trash(const struct mct_config *cfg, struct mct_session_status *st)
{
    char *why = NULL;
    int r = mct_trash_pending(cfg, &st->ref, &why);
    if (r <= 0)
        return r == -ENOMEM ? r : 0;
    return mct_strv_push(&st->local_reasons, why);
}

/* One walk per session without excludes; the backed-up view is filtered
 * from it in memory, and the rest feeds the local rules. */
static int collect_sources(const struct mct_config *cfg, struct mct_session_status *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int r = mct_session_source_path(cfg, &st[i].ref, &st[i].source_path);
        if (r == 0)
            r = judge_trash(cfg, &st[i]);
        if (r < 0)
            return r;
        /* Read through the folder as opened from the source base without
         * following a symlink: a session folder that is one, or is reached
         * through one, is shown as such and its target is never read. */
        struct mct_scan raw = {0};
        int fd = -1;
        r = mct_session_open_dir(cfg, &st[i].ref, &fd);
        if (r == -ELOOP) {
            st[i].source_exists = true;
            if (mct_policy_folder_symlinked(&st[i]) < 0)
                return -ENOMEM;
            continue;
        }
        if (r >= 0)
            r = mct_scan_tree_fd(fd, NULL, &raw);
        st[i].source_exists = r >= 0;
        if (r < 0) {
            /* Reported with the status (policy.h, unknowns), not here. */
            if (r != -ENOENT && r != -ENOTDIR)
                st[i].source_err = r;
            continue;
        }
        r = mct_scan_filter(&raw, cfg->exclude_patterns, &st[i].source);
        if (r == 0)
            r = mct_policy_local_files(cfg, &raw, &st[i]);
        mct_scan_free(&raw);
        if (r < 0)
            return r;
    }
    return 0;
}

static void dest_set(struct mct_dest_status *d, enum mct_dest_state state, char *detail)
{
    d->state = state;
    free(d->detail);
    d->detail = detail;
}

/* Fresh hashes of both sides of one file from the cache: 1 equal, 0 not
 * known, -1 different. */
static int cached_match(struct mct_hashcache *cache, const char *src_dir, const char *dst_dir,
                        const struct mct_file *f, const struct mct_file *c)
{
    _cleanup_free_ char *a = mct_path_join(src_dir, f->relpath);
    _cleanup_free_ char *b = mct_path_join(dst_dir, c->relpath);
    struct mct_hash hs, hc;
    if (!a || !b || !mct_hashcache_lookup(cache, a, f, &hs) ||
        !mct_hashcache_lookup(cache, b, c, &hc))
        return 0;
    return mct_hash_eq(&hs, &hc) ? 1 : -1;
}

/* Sizes match; what does the hash cache prove about the content? */
static int judge_content(const struct mct_config *cfg, struct mct_session_status *st,
                         struct mct_dest_status *d)
{
    _cleanup_hashcache_ struct mct_hashcache *cache = NULL;
    int r = mct_hashcache_open(cfg, &st->ref, &cache);
    if (r < 0)
        return r;
    const char *differs = NULL;
    size_t unproven = 0;
    for (size_t i = 0; i < st->source.n_files && !differs; i++) {
        const struct mct_file *f = &st->source.files[i];
        const struct mct_file *c = mct_scan_find(&d->scan, f->relpath);
        int m = c ? cached_match(cache, st->source_path, d->path, f, c) : 0;
        if (m < 0)
            differs = f->relpath;
        else if (m == 0)
            unproven++;
    }
    if (differs) {
        d->content = MCT_CONTENT_DIFFERS;
        dest_set(d, MCT_DEST_UNVERIFIED,
                 mct_strdup_printf("content differs (XXH3-128): %s (run mctctl verify %s %s)",
                                   differs, st->ref.participant_id, st->ref.session_date));
    } else if (unproven) {
        d->content = MCT_CONTENT_UNPROVEN;
        dest_set(d, MCT_DEST_UNVERIFIED,
                 mct_strdup_printf("sizes match; content not yet verified by checksum (%zu of "
                                   "%zu files; run mctctl verify %s %s)",
                                   unproven, st->source.n_files, st->ref.participant_id,
                                   st->ref.session_date));
    } else {
        d->content = MCT_CONTENT_VERIFIED;
    }
    return 0;
}

/* Turn one scanned copy into a state: what the share showed of the
 * folder (policy.h), then the files compared with the source. */
static int dest_judge(const struct mct_config *cfg, struct mct_session_status *st,
                      struct mct_dest_status *d, struct mct_copy_scan *c)
{
    d->copy_seen = c->err == 0;
    d->copy_dev = c->dev;
    d->copy_ino = c->ino;
    int r = mct_policy_copy_found(cfg, st, c, d);
    if (r != 0)
        return r < 0 ? r : 0;
    d->scan = c->scan;
    c->scan = (struct mct_scan){0};
    d->files = d->scan.n_files;
    d->bytes = d->scan.bytes;
    if (!st->source_exists) {
        dest_set(d, MCT_DEST_UNVERIFIED, strdup("no local session to compare with"));
        return 0;
    }
    r = mct_verify_compare(&st->source, &d->scan, NULL, NULL, &d->verify);
    if (r < 0)
        return r;
    d->state = d->verify.state;
    if (d->state == MCT_DEST_VERIFIED) {
        c->scan = d->scan; /* the policy looks at it through c */
        r = mct_policy_copy_verified(st, c, d);
        c->scan = (struct mct_scan){0};
        if (r < 0)
            return r;
    }
    if (d->state == MCT_DEST_VERIFIED && cfg->verify_method == MCT_VERIFY_CHECKSUM)
        return judge_content(cfg, st, d);
    if (d->state != MCT_DEST_UNVERIFIED || d->detail)
        return 0;

    struct mct_verify_result *v = &d->verify;
    _cleanup_buf_ struct mct_buf b = {0};
    if (d->scan.n_files == 0)
        mct_buf_puts(&b, "the copy holds no files");
    else
        mct_buf_printf(&b, "%zu of %zu files missing, %zu differ in size", v->n_missing,
                       st->source.n_files, v->n_mismatched);
    if (v->n_mismatched > 0)
        mct_buf_printf(&b, " (e.g. %s: source %llu bytes, copy %llu)", v->mismatched[0].relpath,
                       (unsigned long long)v->mismatched[0].source_size,
                       (unsigned long long)v->mismatched[0].copy_size);
    else if (v->n_missing > 0)
        mct_buf_printf(&b, " (e.g. %s)", v->missing[0]);
    dest_set(d, MCT_DEST_UNVERIFIED, mct_buf_steal(&b));
    return 0;
}

static void copy_scans_free(struct mct_copy_scan *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++)
        mct_copy_scan_done(&c[i]);
    free(c);
}

/* Copy folders of the local sessions whose ids differ from st[i]'s only
 * in case (same day): on a share that ignores case they are one folder. */
static int case_partners(const struct mct_destination *dest, const struct mct_session_ref *refs,
                         size_t n, const struct mct_session_ref *ref, char ***out)
{
    for (size_t k = 0; k < n; k++) {
        if (!streq(refs[k].session_date, ref->session_date) ||
            streq(refs[k].participant_id, ref->participant_id) ||
            strcasecmp(refs[k].participant_id, ref->participant_id) != 0)
            continue;
        char *p = NULL;
        int r = mct_session_dest_path(dest, &refs[k], &p);
        if (r < 0 || (r = mct_strv_push(out, p)) < 0)
            return r;
    }
    return 0;
}

static int collect_destination(const struct mct_config *cfg, const struct mct_destination *dest,
                               size_t di, struct mct_session_status *st, size_t n,
                               const struct mct_session_ref *day_refs, size_t n_day, unsigned flags)
{
    for (size_t i = 0; i < n; i++) {
        struct mct_dest_status *d = &st[i].dests[di];
        d->dest = dest;
        int r = mct_session_dest_path(dest, &st[i].ref, &d->path);
        if (r < 0)
            return r;
    }

    char why[512] = "";
    int r = mct_share_probe(cfg, dest, why, sizeof(why));
    if (r < 0) {
        /* A mounted share without its base folder holds no copy; one that
         * cannot hold a copy at all is unsafe; anything else (not
         * mounted, hung, unreadable) means we cannot know. */
        enum mct_dest_state s = r == -ENOENT                 ? MCT_DEST_MISSING
                                : r == -ELOOP || r == -EXDEV ? MCT_DEST_UNSAFE
                                                             : MCT_DEST_UNREACHABLE;
        for (size_t i = 0; i < n; i++)
            dest_set(&st[i].dests[di], s, strdup(why[0] ? why : strerror(-r)));
        return 0;
    }

    struct mct_copy_scan *copies = calloc(n ? n : 1, sizeof(*copies));
    if (!copies)
        return -ENOMEM;
    for (size_t i = 0; i < n && r >= 0; i++) {
        copies[i].path = st[i].dests[di].path;
        r = case_partners(dest, day_refs, n_day, &st[i].ref, &copies[i].partners);
    }
    if (r >= 0)
        mct_share_scan_copies(cfg, dest, copies, n);
    for (size_t i = 0; i < n && r >= 0; i++) {
        struct mct_dest_status *d = &st[i].dests[di];
        r = dest_judge(cfg, &st[i], d, &copies[i]);
        if (!(flags & MCT_STATUS_KEEP_FILES))
            scan_drop_files(&d->scan);
    }
    for (size_t i = 0; i < n; i++)
        mct_strv_free(copies[i].partners);
    copy_scans_free(copies, n);
    return r < 0 ? r : 0;
}

/* The local sessions of the days in refs, to find ids that differ only in
 * case; the refs themselves when the source cannot be listed. */
static int sessions_of_the_days(const struct mct_config *cfg, const struct mct_session_ref *refs,
                                size_t n, struct mct_session_ref **out, size_t *n_out)
{
    const char *first = refs[0].session_date, *last = refs[0].session_date;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(refs[i].session_date, first) < 0)
            first = refs[i].session_date;
        if (strcmp(refs[i].session_date, last) > 0)
            last = refs[i].session_date;
    }
    return mct_discover_sessions(cfg, first, last, out, n_out);
}

/* Every phase below keeps the file lists of all the sessions it is given
 * until they are judged, hence the chunks (MCT_STATUS_CHUNK). */
static int collect_chunk(const struct mct_config *cfg, const struct mct_session_ref *refs, size_t n,
                         unsigned flags, struct mct_session_status *st)
{
    size_t n_enabled = mct_config_enabled_destinations(cfg);
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        st[i].ref = refs[i];
        st[i].dests = calloc(n_enabled ? n_enabled : 1, sizeof(struct mct_dest_status));
        st[i].n_dests = n_enabled;
        st[i].required_copies = mct_config_required_copies(cfg);
        st[i].not_managed = !mct_participant_selected(cfg, refs[i].participant_id);
        if (!st[i].dests)
            r = -ENOMEM;
    }
    if (r == 0)
        r = collect_sources(cfg, st, n);

    _cleanup_free_ struct mct_dj_status *dj = calloc(n ? n : 1, sizeof(*dj));
    if (r == 0 && !dj)
        r = -ENOMEM;
    if (r == 0) {
        mct_dj_check_sessions(cfg, refs, n, dj);
        for (size_t i = 0; i < n; i++)
            st[i].dj = dj[i];
    }

    _cleanup_free_ struct mct_session_ref *days = NULL;
    size_t n_days = 0;
    if (r == 0 && n > 0 && sessions_of_the_days(cfg, refs, n, &days, &n_days) < 0)
        n_days = 0;
    for (size_t k = 0, di = 0; r == 0 && k < cfg->n_destinations; k++) {
        if (!cfg->destinations[k].enabled)
            continue;
        r = collect_destination(cfg, &cfg->destinations[k], di++, st, n, days ? days : refs,
                                days ? n_days : n, flags);
    }

    for (size_t i = 0; r == 0 && i < n; i++) {
        r = mct_policy_distinct_copies(&st[i]);
        if (r == 0)
            r = mct_status_decide(&st[i]);
        if (!(flags & MCT_STATUS_KEEP_FILES))
            scan_drop_files(&st[i].source);
    }
    return r;
}

int mct_status_collect_chunks(const struct mct_config *cfg, const struct mct_session_ref *refs,
                              size_t n, unsigned flags, const struct mct_status_stream *s)
{
    /* do/while: a rig without sessions still has its one (empty) chunk. */
    size_t off = 0;
    int r;
    do {
        size_t k = n - off < MCT_STATUS_CHUNK ? n - off : MCT_STATUS_CHUNK;
        struct mct_status_chunk c = {
                .refs = n ? refs + off : NULL, .off = off, .n = k, .last = off + k == n};
        r = s->before ? s->before(&c, s->ud) : 0;
        if (r < 0)
            return r;
        c.st = calloc(k ? k : 1, sizeof(*c.st));
        if (!c.st)
            return -ENOMEM;
        r = k ? collect_chunk(cfg, c.refs, k, flags, c.st) : 0;
        if (r >= 0)
            r = s->each(&c, s->ud);
        mct_session_status_free_array(c.st, k);
        off += k;
    } while (r >= 0 && off < n);
    return r < 0 ? r : 0;
}

/* mct_status_collect's chunk: moved into the whole array. */
static int take_chunk(struct mct_status_chunk *c, void *ud)
{
    struct mct_session_status *all = ud;
    memcpy(all + c->off, c->st, c->n * sizeof(*c->st));
    free(TAKE_PTR(c->st));
    return 0;
}

int mct_status_collect(const struct mct_config *cfg, const struct mct_session_ref *refs, size_t n,
                       unsigned flags, struct mct_session_status **ret)
{
    struct mct_session_status *st = calloc(n ? n : 1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    int r = mct_status_collect_chunks(cfg, refs, n, flags,
                                      &(struct mct_status_stream){.each = take_chunk, .ud = st});
    if (r < 0) {
        mct_session_status_free_array(st, n);
        return r;
    }
    *ret = st;
    return 0;
}
