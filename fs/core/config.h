/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backup_config.yaml: the seed tool's keys plus mctfs's own sections.
 * Every key is known; an unknown key, a wrong type or a bad value is an
 * error that names the file and line, so a typo never falls back to a default.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "space.h"

#define MCT_DEFAULT_CONFIG "/etc/mctfs/backup_config.yaml"
#define MCT_LOCAL_CONFIG   "./backup_config.yaml"

struct mct_destination {
    char *name;
    char *mount_point;    /* must be a real mount point when verify_mount */
    char *base_path;      /* sessions live under it, laid out by path_structure */
    char *path_structure; /* e.g. "{session_date}/{participant_id}" */
    bool enabled;         /* default true */
    bool verify_mount;    /* default true */
};

enum mct_verify_method {
    MCT_VERIFY_SIZE,
    MCT_VERIFY_CHECKSUM, /* XXH3-128 of every file on both sides (checksum.h) */
};

/* datajoint.tls: how the connection to the DataJoint server is secured. */
enum mct_dj_tls {
    MCT_DJ_TLS_OFF,       /* never TLS */
    MCT_DJ_TLS_PREFERRED, /* TLS when the server offers it, else plain (DataJoint's default) */
    MCT_DJ_TLS_REQUIRED,  /* TLS or no connection; the server's certificate is not checked */
    MCT_DJ_TLS_VERIFY,    /* TLS, certificate and host name checked against ca_file (or the
                           * system's CAs) */
};
/* "off", "preferred", "required", "verify", then NULL. */
extern const char *const mct_dj_tls_names[];

/* backup.rsync.flags when the config leaves it out: "-avh". Every other
 * default is set where the config is made (config.c); this one is also
 * what rsync.c runs with for a config built by hand (a test's). */
extern const char mct_config_default_rsync_flags[];

/* Where a setting's value came from (mctctl config). No entry: the default. */
enum mct_origin {
    MCT_ORIGIN_DEFAULT,
    MCT_ORIGIN_CONFIG,  /* backup_config.yaml, at line */
    MCT_ORIGIN_ENV,     /* the environment variable var */
    MCT_ORIGIN_DJ_FILE, /* datajoint.config_file */
};

struct mct_config_origin {
    char *key; /* "datajoint.host", "backup.destinations[0].name" */
    enum mct_origin kind;
    size_t line;     /* MCT_ORIGIN_CONFIG, MCT_ORIGIN_DJ_FILE */
    const char *var; /* MCT_ORIGIN_ENV: "DJ_HOST" (static) */
};

struct mct_config {
    char *path; /* the file it was read from */

    struct mct_destination *destinations;
    size_t n_destinations;

    char *source_base_path;      /* default "/data" */
    char *source_path_structure; /* default "{participant_id}/{session_date}" */

    char **participant_prefixes; /* strv; NULL/empty = every participant */
    char **exclude_patterns;     /* strv, rsync-style patterns */

    char *rsync_flags;         /* default "-avh", split on whitespace */
    unsigned rsync_bwlimit_kb; /* backup.rsync.bandwidth_limit, 0 = none */
    unsigned rsync_timeout_s;  /* backup.rsync.timeout, default 600; rsync --timeout */

    bool verify_after_sync; /* default true */
    enum mct_verify_method verify_method;
    char *cache_dir; /* verification.cache_dir, default "/var/cache/mctfs": hash cache */

    /* backup.required_copies: verified copies a deletion needs; 0 = unset,
     * meaning every enabled destination (mct_config_required_copies()). */
    unsigned required_copies;

    /* host, port, user, password and tls: the key in this file, else
     * DJ_HOST/DJ_PORT/DJ_USER/DJ_PASS, else config_file (DataJoint's own
     * dj_local_conf.json), else the default (config_datajoint.c). */
    struct {
        char *host;    /* default "localhost" */
        unsigned port; /* default 3306 */
        char *user;
        char *password; /* from password or password_file (file read at load) */
        char *password_file;
        char *socket;
        enum mct_dj_tls tls; /* default preferred */
        char *ca_file;       /* tls: verify only; NULL = the system's CAs */
        char *cert_file;     /* client certificate and its key, both or neither */
        char *key_file;
        char *config_file;              /* DataJoint's JSON config: database.host, .port, ... */
        char *sessions_schema;          /* default "mocap_sessions" */
        char *tracking_schema;          /* default "multicamera_tracking" */
        bool normalize_participant_ids; /* default true */
    } datajoint;

    char *recording_db_path; /* default "{source.base_path}/recordings.db" */

    unsigned deletion_min_age_minutes; /* default 60 */
    char *deletion_log_path;           /* default "/var/log/mctfs/deletions.log" */

    /* deletion.reclaim: free space on the source filesystem by deleting
     * the oldest safe sessions (reclaim.h). Off unless enabled. */
    struct {
        bool enabled;
        struct mct_space keep_free; /* default 10% */
        unsigned keep_recent_days;  /* default 14: never reclaimed when younger */
    } reclaim;

    unsigned share_timeout_s;    /* timeouts.share_seconds, default 5 */
    unsigned database_timeout_s; /* timeouts.database_seconds, default 5 */

    struct {
        unsigned cache_seconds; /* default 30 */
        unsigned attr_seconds;  /* kernel cache of real files' names and attributes, default 10 */
        uid_t *allow_uids;
        size_t n_allow_uids;
        gid_t *allow_gids;
        size_t n_allow_gids;
    } mount;

    /* metrics: the Prometheus text (metrics.h) for node_exporter's
     * textfile collector. */
    struct {
        char *rig_name;     /* the rig label; NULL = the host name */
        char *textfile_dir; /* where mctfs.prom is kept up to date; NULL = nowhere */
    } metrics;

    struct {
        /* The unprivileged user mctfs and mctctl work as: started as root,
         * they read the config, then switch to it. NULL = not set. */
        char *user;
        /* Session locks, in a folder only that user may write (default
         * "/run/mctfs/locks"): a lock on /data itself anyone could hold. */
        char *lock_dir;
    } service;

    /* Where each value that is not a default came from. */
    struct mct_config_origin *origins;
    size_t n_origins;
};

/*
 * Which file to load: explicit (-c) if given, then $MCTFS_CONFIG, then
 * ./backup_config.yaml when the caller owns it and nobody else may write
 * it (else skipped with a warning), then MCT_DEFAULT_CONFIG. *ret is
 * malloc'd. -ENOENT (with a message listing what was tried in err) when
 * none exists.
 */
int mct_config_find(const char *explicit_path, char **ret, char *err, size_t errlen);

/*
 * Parse path, apply defaults, fill what the datajoint section leaves unset
 * from DJ_HOST/DJ_PORT/DJ_USER/DJ_PASS and then datajoint.config_file,
 * validate. On failure returns -EINVAL (or -errno
 * for I/O) and writes "FILE:LINE: message" into err. The file and its
 * datajoint.password_file must be owned by root, service.user or the
 * caller and not writable by group or others (trust.h): else -EPERM, err
 * saying what to chown or chmod.
 */
int mct_config_load(const char *path, struct mct_config **ret, char *err, size_t errlen);

/* mct_config_find() then mct_config_load(): what mctfs and mctctl do
 * first. On failure err says why (the file's name and what is wrong in
 * it, or what was tried). */
int mct_config_find_load(const char *explicit_path, struct mct_config **ret, char *err,
                         size_t errlen);

/* Same, from a string (for tests and fuzzing); name is used in messages. */
int mct_config_parse_string(const char *name, const char *yaml, struct mct_config **ret, char *err,
                            size_t errlen);

void mct_config_free(struct mct_config *cfg);
static inline void mct_config_freep(struct mct_config **c)
{
    mct_config_free(*c);
}
#define _cleanup_config_ __attribute__((cleanup(mct_config_freep)))

/* Number of enabled destinations. */
size_t mct_config_enabled_destinations(const struct mct_config *cfg);

/* How many enabled destinations must hold a verified copy before a
 * session is safe to delete: backup.required_copies, or every enabled
 * destination when it is not set. */
size_t mct_config_required_copies(const struct mct_config *cfg);

/* Record (replace) where key's value came from. -ENOMEM. */
int mct_config_set_origin(struct mct_config *cfg, const char *key, enum mct_origin kind,
                          size_t line, const char *var);
/* Where key's value came from; NULL: the default. */
const struct mct_config_origin *mct_config_origin_of(const struct mct_config *cfg, const char *key);

/*
 * Every setting of the schema with its effective value and where it came
 * from, in schema order, for `mctctl config`: fn(ud, "datajoint.port",
 * "3306", "default"). The password is never passed: its value reads
 * "********" (or "null" when there is none). Returns 0 or -ENOMEM.
 */
typedef void (*mct_config_show_fn)(void *ud, const char *key, const char *value,
                                   const char *origin);
int mct_config_show(const struct mct_config *cfg, mct_config_show_fn fn, void *ud);
