/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A "yes" is only as good as the source it was computed from, and a file
 * that grows (the rig still recording into it) leaves its folder's mtime
 * alone. Walking the session at every read of a safe session cost 0.6 ms
 * per open of a 500-file session and 12 ms of a 10,000-file one, so the
 * walk that proves the source unchanged is made once per snapshot, with
 * inotify watches on every folder it enters, each added before that
 * folder is read: a change after the walk looked is an event, a change
 * before it is in what the walk saw. Until an event arrives for one of its
 * folders (events are read at every read of a safe session, one
 * non-blocking read(2)), the proof stands.
 *
 * What inotify does not see (a write through a hard link outside the
 * session, a shared mapping) waits for the next snapshot, which needs a
 * new proof: at most cache_seconds / 2, as everything else the model
 * shows. Without inotify (no instance, the watch budget spent, a folder
 * already watched for another session) every read walks, as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/inotify.h>

#include "beneath.h"
#include "log.h"
#include "model_int.h"
#include "scan.h"

/* Each watch pins a folder's inode in the kernel (~1 KiB), and a user's
 * watches are shared with their file browsers and editors
 * (fs.inotify.max_user_watches, 8192 on small machines): a quarter of
 * that limit at most, and never more than this. */
#define MAX_WATCHES 8192

static size_t watch_budget(void)
{
    size_t limit = MAX_WATCHES * 4;
    _cleanup_fclose_ FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "re");
    unsigned long v;
    if (f && fscanf(f, "%lu", &v) == 1 && v > 0)
        limit = v;
    return limit / 4 < MAX_WATCHES ? limit / 4 : MAX_WATCHES;
}

#define CHANGE_MASK                                                                                \
    (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |              \
     IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)

struct model_watch_rec {
    struct mct_hash_link by_wd;
    int wd;
    struct entry *e;
};

static uint64_t wd_hash(int wd)
{
    return (uint64_t)(unsigned)wd * 0x9E3779B97F4A7C15ull;
}

static bool is_wd(const struct mct_hash_link *link, const void *key)
{
    return mct_hash_entry(link, struct model_watch_rec, by_wd)->wd == *(const int *)key;
}

void model_watch_init(struct model *m)
{
    m->inotify_fd = -1;
    if (mct_hashtab_init(&m->watches_by_wd, N_BUCKETS) < 0)
        return;
    m->watch_budget = watch_budget();
    m->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (m->inotify_fd < 0)
        log_warning_errno(-errno, "no inotify instance: every read of a safe session walks it");
}

/* With m->lock: e's watches are removed and its proof is gone. */
void model_watch_forget(struct model *m, struct entry *e)
{
    for (size_t i = 0; i < e->n_watches; i++) {
        inotify_rm_watch(m->inotify_fd, e->watches[i].wd);
        mct_hashtab_remove(&m->watches_by_wd, &e->watches[i].by_wd);
    }
    m->n_watches -= e->n_watches;
    free(e->watches);
    e->watches = NULL;
    e->n_watches = 0;
    e->proven = false;
}

void model_watch_done(struct model *m)
{
    mct_hashtab_foreach (link, &m->sessions)
        model_watch_forget(m, model_entry_of(link));
    mct_hashtab_done(&m->watches_by_wd);
    if (m->inotify_fd >= 0)
        close(m->inotify_fd);
    m->inotify_fd = -1;
}

/* With m->lock: read every queued event; a session whose folder changed
 * loses its proof (and its watches: the next read walks it again). */
static void drain(struct model *m)
{
    if (m->inotify_fd < 0)
        return;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(m->inotify_fd, buf, sizeof(buf));
        if (n <= 0)
            return;
        for (ssize_t off = 0; off < n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
            off += (ssize_t)(sizeof(*ev) + ev->len);
            if (ev->mask & IN_Q_OVERFLOW) {
                /* Events were lost: no proof stands. */
                mct_hashtab_foreach (link, &m->sessions)
                    model_entry_of(link)->proven = false;
                m->unknown_events++;
                continue;
            }
            struct mct_hash_link *link =
                    mct_hashtab_find(&m->watches_by_wd, wd_hash(ev->wd), is_wd, &ev->wd);
            if (link) {
                struct entry *e = mct_hash_entry(link, struct model_watch_rec, by_wd)->e;
                e->watch_event = true;
                model_watch_forget(m, e);
            } else if (!(ev->mask & IN_IGNORED)) {
                /* A watch not registered yet (a walk is under way: it may
                 * be the one this change escaped) or one just removed. */
                m->unknown_events++;
            }
        }
    }
}

bool model_watch_proven(struct model *m, const struct mct_session_ref *ref,
                        const struct status_snap *s)
{
    pthread_mutex_lock(&m->lock);
    drain(m);
    struct entry *e = model_entry_get(m, ref);
    bool proven = e && e->proven && e->snap == s && e->proven_published == e->published;
    pthread_mutex_unlock(&m->lock);
    return proven;
}

/* The walk: the source's counts as the collection counts them, and a
 * watch on each folder before it is read. */
struct proof_walk {
    struct model *m;
    struct mct_scan counts; /* no file list: n_files, bytes, newest_mtime */
    int *wds;
    size_t n_wds, cap;
    bool unwatched; /* some folder could not be watched: no proof */
};

static int count_file(void *ud, const struct mct_file *f)
{
    struct proof_walk *p = ud;
    p->counts.n_files++;
    mct_scan_tally(&p->counts, f);
    return 0;
}

static int watch_dir(void *ud, int dfd, _unused_ const char *relpath)
{
    struct proof_walk *p = ud;
    if (p->unwatched || p->m->inotify_fd < 0 || p->m->n_watches + p->n_wds >= p->m->watch_budget) {
        p->unwatched = true;
        return 0;
    }
    if (MCT_RESERVE(p->wds, p->cap, p->n_wds, 8) < 0) {
        p->unwatched = true;
        return 0;
    }
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dfd);
    /* IN_MASK_CREATE: a folder another session already watches (a bind
     * mount, a hard-linked tree) would share its wd; no proof then. */
    int wd = inotify_add_watch(p->m->inotify_fd, proc, CHANGE_MASK | IN_ONLYDIR | IN_MASK_CREATE);
    if (wd < 0)
        p->unwatched = true;
    else
        p->wds[p->n_wds++] = wd;
    return 0;
}

/* With m->lock: the walk's watches become e's. */
static bool adopt(struct model *m, struct entry *e, struct proof_walk *p)
{
    struct model_watch_rec *recs = calloc(p->n_wds, sizeof(*recs));
    if (!recs)
        return false;
    for (size_t i = 0; i < p->n_wds; i++) {
        recs[i] = (struct model_watch_rec){.wd = p->wds[i], .e = e};
        mct_hashtab_add(&m->watches_by_wd, &recs[i].by_wd, wd_hash(p->wds[i]));
    }
    e->watches = recs;
    e->n_watches = p->n_wds;
    m->n_watches += p->n_wds;
    p->n_wds = 0;
    return true;
}

bool model_watch_prove(struct model *m, const struct mct_session_ref *ref,
                       const struct status_snap *s)
{
    const struct mct_session_status *st = &s->st[0];
    /* One proof at a time: two walks of one session would fight over its
     * watches (the second one's folders are already watched). */
    pthread_mutex_lock(&m->prove_lock);

    pthread_mutex_lock(&m->lock);
    m->counters.source_walks++;
    struct entry *e = model_entry_get(m, ref);
    if (e)
        model_watch_forget(m, e);
    uint64_t published = e ? e->published : 0;
    uint64_t unknown = m->unknown_events;
    pthread_mutex_unlock(&m->lock);

    struct proof_walk p = {.m = m};
    _cleanup_close_ int fd = -1;
    bool same = mct_session_open_dir(m->cfg, ref, &fd) >= 0 &&
                mct_scan_walk_dirs_fd(TAKE_FD(fd), m->cfg->exclude_patterns, count_file, watch_dir,
                                      &p, NULL) >= 0 &&
                p.counts.n_files == st->source.n_files && p.counts.bytes == st->source.bytes &&
                timespec_eq(&p.counts.newest_mtime, &st->source.newest_mtime);

    pthread_mutex_lock(&m->lock);
    if (e && same && !p.unwatched && e->snap == s && e->published == published) {
        e->watch_event = false;
        if (adopt(m, e, &p)) {
            drain(m); /* what happened during the walk */
            e->proven = !e->watch_event && m->unknown_events == unknown;
            e->proven_published = published;
            if (!e->proven)
                model_watch_forget(m, e);
        }
    }
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < p.n_wds; i++) /* not adopted */
        inotify_rm_watch(m->inotify_fd, p.wds[i]);
    free(p.wds);

    pthread_mutex_unlock(&m->prove_lock);
    return same;
}
