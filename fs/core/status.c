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
#include "operations.h"
#include "share.h"

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
        free(st[i].activity);
    }
    free(st);
}

/* One reason per rule, naming the first file and how many more. */
static int push_rule(char ***reasons, const char *what, const char *first, size_t n)
{
    if (n == 0)
        return 0;
    if (n == 1)
        return mct_strv_pushf(reasons, "%s: %s", what, first);
    return mct_strv_pushf(reasons, "%s: %s (and %zu more)", what, first, n - 1);
}

/* The deletion protocol refuses sessions the rig may still be writing and
 * files no copy receives; the status says so too, so that `.safe_to_delete`
 * never says yes to a deletion that would be refused. */
static int judge_local_files(const struct mct_config *cfg, const struct mct_scan *raw,
                             struct mct_session_status *st)
{
    int64_t min_age_s = (int64_t)cfg->deletion_min_age_minutes * 60;
    int64_t now = time(NULL);
    const char *young = NULL, *rig = NULL, *unbacked = NULL;
    size_t n_young = 0, n_rig = 0, n_unbacked = 0;
    for (size_t i = 0; i < raw->n_files; i++) {
        const struct mct_file *f = &raw->files[i];
        if (now - (int64_t)f->mtime.tv_sec < min_age_s && n_young++ == 0)
            young = f->relpath;
        if (mct_is_rig_file(f->relpath)) {
            if (n_rig++ == 0)
                rig = f->relpath;
        } else if (!mct_scan_find(&st->source, f->relpath) && n_unbacked++ == 0) {
            unbacked = f->relpath;
        }
    }
    _cleanup_free_ char *young_what =
            mct_strdup_printf("file younger than %u min", cfg->deletion_min_age_minutes);
    if (!young_what)
        return -ENOMEM;
    int r = push_rule(&st->local_reasons, young_what, young, n_young);
    if (r == 0)
        r = push_rule(&st->local_reasons,
                      "lock or temporary file present (the rig may be recording)", rig, n_rig);
    if (r == 0)
        r = push_rule(&st->local_reasons,
                      "not in any backup (excluded from copies by exclude_patterns)", unbacked,
                      n_unbacked);
    return r;
}

/* A deletion refuses a session folder that is a symlink or is reached
 * through one (what it points to is outside the source tree), so the
 * status must not call it safe either. */
static int judge_folder(const struct mct_config *cfg, struct mct_session_status *st)
{
    _cleanup_close_ int fd = -1;
    if (mct_session_open_dir(cfg, &st->ref, &fd) != -ELOOP)
        return 0;
    return mct_strv_pushf(&st->local_reasons,
                          "%s is a symlink or is reached through one: not a session folder",
                          st->source_path);
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
        struct mct_scan raw = {0};
        r = mct_scan_tree(st[i].source_path, NULL, &raw);
        st[i].source_exists = r >= 0;
        if (r < 0) {
            if (r != -ENOENT && r != -ENOTDIR)
                log_warning_errno(r, "cannot scan %s", st[i].source_path);
            continue;
        }
        r = mct_scan_filter(&raw, cfg->exclude_patterns, &st[i].source);
        if (r == 0)
            r = judge_local_files(cfg, &raw, &st[i]);
        if (r == 0)
            r = judge_folder(cfg, &st[i]);
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

/* Turn one scanned copy into a state by comparing it with the source. */
static int dest_judge(const struct mct_config *cfg, struct mct_session_status *st,
                      struct mct_dest_status *d)
{
    d->files = d->scan.n_files;
    d->bytes = d->scan.bytes;
    if (!st->source_exists) {
        dest_set(d, MCT_DEST_UNVERIFIED, strdup("no local session to compare with"));
        return 0;
    }
    int r = mct_verify_compare(&st->source, &d->scan, NULL, NULL, &d->verify);
    if (r < 0)
        return r;
    d->state = d->verify.state;
    if (d->state == MCT_DEST_VERIFIED && cfg->verify_method == MCT_VERIFY_CHECKSUM)
        return judge_content(cfg, st, d);
    if (d->state == MCT_DEST_VERIFIED)
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

static int collect_destination(const struct mct_config *cfg, const struct mct_destination *dest,
                               size_t di, struct mct_session_status *st, size_t n, unsigned flags)
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
        /* A mounted share without its base folder holds no copy; anything
         * else (not mounted, hung, unreadable) means we cannot know. */
        enum mct_dest_state s = r == -ENOENT ? MCT_DEST_MISSING : MCT_DEST_UNREACHABLE;
        for (size_t i = 0; i < n; i++)
            dest_set(&st[i].dests[di], s, strdup(why[0] ? why : strerror(-r)));
        return 0;
    }

    _cleanup_free_ char **paths = calloc(n + 1, sizeof(char *));
    _cleanup_free_ struct mct_scan *scans = calloc(n ? n : 1, sizeof(struct mct_scan));
    _cleanup_free_ int *errs = calloc(n ? n : 1, sizeof(int));
    if (!paths || !scans || !errs)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        paths[i] = st[i].dests[di].path;

    mct_share_scan_many(cfg, paths, n, scans, errs);

    for (size_t i = 0; i < n; i++) {
        struct mct_dest_status *d = &st[i].dests[di];
        d->scan = scans[i];
        if (errs[i] == -ENOENT)
            dest_set(d, MCT_DEST_MISSING, mct_strdup_printf("no copy at %s", d->path));
        else if (errs[i] == -ETIMEDOUT)
            dest_set(d, MCT_DEST_UNREACHABLE,
                     mct_strdup_printf("%s did not answer within %u s (stale or hung share?)",
                                       d->path, cfg->share_timeout_s));
        else if (errs[i] < 0)
            dest_set(d, MCT_DEST_UNREACHABLE,
                     mct_strdup_printf("cannot read %s: %s", d->path, strerror(-errs[i])));
        else if ((r = dest_judge(cfg, &st[i], d)) < 0)
            return r;
        if (!(flags & MCT_STATUS_KEEP_FILES))
            scan_drop_files(&d->scan);
    }
    return 0;
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

    for (size_t k = 0, di = 0; r == 0 && k < cfg->n_destinations; k++) {
        if (!cfg->destinations[k].enabled)
            continue;
        r = collect_destination(cfg, &cfg->destinations[k], di++, st, n, flags);
    }

    for (size_t i = 0; r == 0 && i < n; i++) {
        r = mct_status_decide(&st[i]);
        if (!(flags & MCT_STATUS_KEEP_FILES))
            scan_drop_files(&st[i].source);
    }
    return r;
}

int mct_status_collect(const struct mct_config *cfg, const struct mct_session_ref *refs, size_t n,
                       unsigned flags, struct mct_session_status **ret)
{
    struct mct_session_status *st = calloc(n ? n : 1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    int r = 0;
    for (size_t off = 0; off < n && r == 0; off += MCT_STATUS_CHUNK) {
        size_t k = n - off < MCT_STATUS_CHUNK ? n - off : MCT_STATUS_CHUNK;
        r = collect_chunk(cfg, refs + off, k, flags, st + off);
    }
    if (r < 0) {
        mct_session_status_free_array(st, n);
        return r;
    }
    *ret = st;
    return 0;
}

/* At least k destinations (k = required_copies, default all) in a "yes"
 * state: YES; could be with the unreachable ones: UNKNOWN; else NO. */
static size_t required(const struct mct_session_status *st)
{
    size_t k = st->required_copies;
    return k == 0 || k > st->n_dests ? st->n_dests : k;
}

static enum mct_tristate enough_dests(const struct mct_session_status *st,
                                      bool (*yes)(enum mct_dest_state))
{
    if (st->n_dests == 0)
        return MCT_NO;
    size_t n_yes = 0, n_unknown = 0;
    for (size_t i = 0; i < st->n_dests; i++) {
        if (yes(st->dests[i].state))
            n_yes++;
        else if (st->dests[i].state == MCT_DEST_UNREACHABLE)
            n_unknown++;
    }
    if (n_yes >= required(st))
        return MCT_YES;
    return n_yes + n_unknown >= required(st) ? MCT_UNKNOWN : MCT_NO;
}

static bool has_copy(enum mct_dest_state s)
{
    return s == MCT_DEST_UNVERIFIED || s == MCT_DEST_VERIFIED;
}

static bool is_verified(enum mct_dest_state s)
{
    return s == MCT_DEST_VERIFIED;
}

int mct_status_decide(struct mct_session_status *st)
{
    mct_strv_free(st->reasons);
    st->reasons = NULL;
    st->backup = enough_dests(st, has_copy);
    st->verified = enough_dests(st, is_verified);
    if (!st->source_exists)
        st->verified = MCT_NO;

    int r = 0;
    if (!st->source_exists)
        r = mct_strv_pushf(&st->reasons, "no local session at %s", st->source_path);
    else if (st->source.n_files == 0)
        r = mct_strv_pushf(&st->reasons, "local session %s holds no files", st->source_path);

    for (char **l = st->local_reasons; r == 0 && l && *l; l++)
        r = mct_strv_push(&st->reasons, strdup(*l));

    if (r == 0 && st->dj.state == MCT_NO)
        r = mct_strv_pushf(&st->reasons, "not in DataJoint: %s", st->dj.reason);
    else if (r == 0 && st->dj.state != MCT_YES)
        r = mct_strv_pushf(&st->reasons, "DataJoint state unknown: %s", st->dj.reason);

    if (r == 0 && st->n_dests == 0)
        r = mct_strv_pushf(&st->reasons, "no backup destination is enabled");
    /* Reasons are blockers: with enough verified copies the other
     * destinations' states are in the report, not here. */
    bool enough = st->verified == MCT_YES;
    if (r == 0 && !enough && st->n_dests > 0 && required(st) < st->n_dests)
        r = mct_strv_pushf(&st->reasons,
                           "fewer than %zu of %zu destinations hold a verified copy "
                           "(backup.required_copies)",
                           required(st), st->n_dests);
    for (size_t i = 0; r == 0 && !enough && i < st->n_dests; i++) {
        const struct mct_dest_status *d = &st->dests[i];
        if (d->state == MCT_DEST_VERIFIED)
            continue;
        r = mct_strv_pushf(&st->reasons, "destination '%s' %s: %s", d->dest->name,
                           mct_dest_state_name(d->state), d->detail ? d->detail : "no details");
    }
    if (r < 0)
        return r;

    /* Unknown anywhere is a reason above, so "no reasons" is the verdict. */
    st->safe_to_delete = st->source_exists && mct_strv_length(st->reasons) == 0 &&
                         st->dj.state == MCT_YES && st->verified == MCT_YES;
    return 0;
}
