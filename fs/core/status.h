/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A session's status: the facts (source scan, each destination's state,
 * DataJoint checks) and the one policy that matters: safe to delete =
 * DataJoint YES and at least backup.required_copies (default: every)
 * enabled destinations VERIFIED. Under verify_method: checksum a copy is
 * VERIFIED only when the hash cache proves its content (content.h). Every way of
 * asking (mctctl status, status-range, the mount's files) goes through
 * mct_status_collect(), so the CLI and the mount cannot disagree.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "datajoint.h"
#include "scan.h"
#include "session.h"
#include "verify.h"

/* Under verify_method: checksum, what is known about a copy's content
 * beyond its sizes. The status reads no file (it must stay fast): it
 * knows only what the hash cache proves fresh for both sides. */
enum mct_content_state {
    MCT_CONTENT_NOT_CHECKED, /* size method, or the sizes already differ */
    MCT_CONTENT_UNPROVEN,    /* sizes match; no fresh hashes for every file: UNVERIFIED */
    MCT_CONTENT_VERIFIED,    /* fresh equal hashes for every file */
    MCT_CONTENT_DIFFERS,     /* fresh hashes differ for some file: UNVERIFIED */
};

struct mct_dest_status {
    const struct mct_destination *dest; /* points into the config */
    char *path;                         /* the session's folder on the share */
    enum mct_dest_state state;
    size_t files;
    uint64_t bytes;
    char *detail;                    /* why unreachable / what differs, NULL when verified */
    struct mct_verify_result verify; /* filled when both sides were scanned */
    struct mct_scan scan;            /* the copy's files; kept only with MCT_STATUS_KEEP_FILES */
    enum mct_content_state content;  /* checksum method only */
    bool copy_seen;                  /* the copy folder answered: copy_dev/copy_ino are its */
    dev_t copy_dev;
    ino_t copy_ino;
};

struct mct_session_status {
    struct mct_session_ref ref;
    char *source_path;
    bool source_exists;
    int source_err;         /* the folder is there but could not be read (-errno), else 0 */
    bool not_managed;       /* participant outside backup.filters.participant_prefixes */
    struct mct_scan source; /* files, bytes, videos */
    struct mct_dj_status dj;
    struct mct_dest_status *dests; /* one per ENABLED destination, config order */
    size_t n_dests;
    size_t required_copies;     /* backup.required_copies (0: every enabled destination) */
    enum mct_tristate backup;   /* at least required_copies destinations have a copy */
    enum mct_tristate verified; /* at least required_copies destinations verified */
    bool safe_to_delete;
    char **local_reasons;    /* strv: the rig is not done with it (young files, lock and
                              * tmp files, a symlinked folder): policy.h IDLE */
    char **unbacked_reasons; /* strv: local files no copy receives: policy.h BACKUP */
    char **reasons;          /* strv: every reason it is not safe (empty when safe) */
    char *activity;          /* set by the mount: "syncing 42%", NULL when idle */
};

enum {
    MCT_STATUS_KEEP_FILES = 1 << 0, /* keep source.files and each dest's scan (verify, delete) */
};

/* Sessions whose file lists are held at once: collection goes in chunks of
 * this many (a few set-based database queries each; the DataJoint batch is
 * 500 too), and so does whatever walks every session
 * (mct_status_collect_chunks). */
#define MCT_STATUS_CHUNK 500

/*
 * Collect the status of n sessions: one source walk each, one share probe
 * per destination, one child scanning all copies per destination, the
 * DataJoint checks in set-based queries. *ret is an array of n. Never
 * blocks longer than the configured timeouts. Returns 0 or -ENOMEM.
 */
int mct_status_collect(const struct mct_config *cfg, const struct mct_session_ref *refs, size_t n,
                       unsigned flags, struct mct_session_status **ret);

/* A collection a chunk at a time, for whatever walks every session (the
 * mount's root, mctctl metrics): years of sessions are never held at
 * once. For each chunk of at most MCT_STATUS_CHUNK sessions: before()
 * (may be NULL; st is NULL then), the collection, then each() with the
 * chunk's statuses, freed after it unless it takes them (sets c->st to
 * NULL: they are its own then). A rig without sessions still gets one
 * empty chunk (n 0, last), so a root is still rendered. The first
 * negative return of either callback stops it and is returned; 0, or
 * -ENOMEM. */
struct mct_status_chunk {
    const struct mct_session_ref *refs; /* the chunk's sessions */
    struct mct_session_status *st;      /* their statuses, n of them */
    size_t off;                         /* refs[0]'s index among all the sessions */
    size_t n;
    bool last;
};
struct mct_status_stream {
    int (*before)(const struct mct_status_chunk *c, void *ud);
    int (*each)(struct mct_status_chunk *c, void *ud);
    void *ud;
};
int mct_status_collect_chunks(const struct mct_config *cfg, const struct mct_session_ref *refs,
                              size_t n, unsigned flags, const struct mct_status_stream *s);

/* How long a reader waits for a status before it is answered "unknown":
 * a collection's share probes and database checks each give up at their
 * timeouts (timeouts.share_seconds, timeouts.database_seconds); a second
 * more for the rest of it. */
unsigned mct_status_deadline_seconds(const struct mct_config *cfg);

/* The status of a session nothing was computed for in time: every answer
 * unknown, each enabled destination unreachable, never safe to delete;
 * why is its reason and each destination's detail. On failure (-ENOMEM)
 * st holds what was filled, for mct_session_status_free_array(). */
int mct_status_unknown(const struct mct_config *cfg, const struct mct_session_ref *ref,
                       const char *why, struct mct_session_status *st);

/* Recompute backup/verified/safe_to_delete/reasons from the facts. */
int mct_status_decide(struct mct_session_status *st);

void mct_session_status_free_array(struct mct_session_status *st, size_t n);
