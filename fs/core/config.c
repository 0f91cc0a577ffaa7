/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backup_config.yaml: the schema (every key, its type, its bounds), the
 * defaults, finding the file, where each value came from, and freeing.
 * config_yaml.c walks the YAML against the schema; config_datajoint.c
 * fills the DataJoint connection from the environment and DataJoint's own
 * config file.
 */
#include "config.h"
#include "log.h"
#include "config_yaml.h"
#include "trust.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

/* Nobody's config is this big; a bigger file is a mistake, not a config. */
#define CONFIG_MAX_BYTES (1024 * 1024)

/* The schema: every key backup_config.yaml may hold. */
#define CFG(f) offsetof(struct mct_config, f)
#define DST(f) offsetof(struct mct_destination, f)

static const struct mct_key dest_keys[] = {
        {"name", K_STR, DST(name), .required = true},
        {"mount_point", K_PATH, DST(mount_point), .required = true},
        {"base_path", K_PATH, DST(base_path), .required = true},
        {"path_structure", K_TEMPLATE, DST(path_structure)},
        {"enabled", K_BOOL, DST(enabled)},
        {"verify_mount", K_BOOL, DST(verify_mount)},
        {NULL},
};

static const struct mct_key source_keys[] = {
        {"base_path", K_PATH, CFG(source_base_path)},
        {"path_structure", K_TEMPLATE, CFG(source_path_structure)},
        {NULL},
};

static const struct mct_key filters_keys[] = {
        {"participant_prefixes", K_STRV, CFG(participant_prefixes)},
        {"exclude_patterns", K_STRV, CFG(exclude_patterns)},
        {NULL},
};

static const struct mct_key rsync_keys[] = {
        {"flags", K_FLAGS, CFG(rsync_flags)},
        {"bandwidth_limit", K_UINT, CFG(rsync_bwlimit_kb), .min = 0, .max = UINT_MAX},
        /* A week: longer than any sane I/O stall, and no overflow as milliseconds. */
        {"timeout", K_UINT, CFG(rsync_timeout_s), .min = 1, .max = 7 * 86400},
        {NULL},
};

static const char *const verify_method_names[] = {
        [MCT_VERIFY_SIZE] = "size",
        [MCT_VERIFY_CHECKSUM] = "checksum",
        NULL,
};

const char *const mct_dj_tls_names[] = {
        [MCT_DJ_TLS_OFF] = "off",
        [MCT_DJ_TLS_PREFERRED] = "preferred",
        [MCT_DJ_TLS_REQUIRED] = "required",
        [MCT_DJ_TLS_VERIFY] = "verify",
        NULL,
};

static const struct mct_key verification_keys[] = {
        {"verify_after_sync", K_BOOL, CFG(verify_after_sync)},
        {"verify_method", K_ENUM, CFG(verify_method), .names = verify_method_names},
        {"cache_dir", K_PATH, CFG(cache_dir)},
        {NULL},
};

static const struct mct_key backup_keys[] = {
        {"destinations", K_DESTS, .sub = dest_keys},
        {"source", K_SECTION, .sub = source_keys},
        {"filters", K_SECTION, .sub = filters_keys},
        {"rsync", K_SECTION, .sub = rsync_keys},
        {"verification", K_SECTION, .sub = verification_keys},
        /* Checked against the enabled destinations by config_yaml.c. */
        {"required_copies", K_UINT, CFG(required_copies), .min = 1, .max = 1000},
        {NULL},
};

static const struct mct_key datajoint_keys[] = {
        {"host", K_STR, CFG(datajoint.host)},
        {"port", K_UINT, CFG(datajoint.port), .min = 1, .max = 65535},
        {"user", K_OPTSTR, CFG(datajoint.user)},
        {"password", K_OPTSTR, CFG(datajoint.password)},
        {"password_file", K_OPTSTR, CFG(datajoint.password_file)},
        {"socket", K_OPTSTR, CFG(datajoint.socket)},
        {"tls", K_ENUM, CFG(datajoint.tls), .names = mct_dj_tls_names},
        {"ca_file", K_OPTPATH, CFG(datajoint.ca_file)},
        {"cert_file", K_OPTPATH, CFG(datajoint.cert_file)},
        {"key_file", K_OPTPATH, CFG(datajoint.key_file)},
        {"config_file", K_OPTPATH, CFG(datajoint.config_file)},
        {"sessions_schema", K_IDENT, CFG(datajoint.sessions_schema)},
        {"tracking_schema", K_IDENT, CFG(datajoint.tracking_schema)},
        {"normalize_participant_ids", K_BOOL, CFG(datajoint.normalize_participant_ids)},
        {NULL},
};

static const struct mct_key recording_db_keys[] = {
        {"path", K_PATH, CFG(recording_db_path)},
        {NULL},
};

static const struct mct_key reclaim_keys[] = {
        {"enabled", K_BOOL, CFG(reclaim.enabled)},
        {"keep_free", K_CUSTOM, CFG(reclaim.keep_free), .parse = mct_space_parse},
        /* Ten years. */
        {"keep_recent_days", K_UINT, CFG(reclaim.keep_recent_days), .min = 0, .max = 3660},
        {NULL},
};

static const struct mct_key deletion_keys[] = {
        /* Ten years in minutes: the bound only keeps "minutes * 60" from overflowing. */
        {"min_age_minutes", K_UINT, CFG(deletion_min_age_minutes), .min = 0, .max = 5256000},
        {"log_path", K_PATH, CFG(deletion_log_path)},
        {"reclaim", K_SECTION, .sub = reclaim_keys},
        {NULL},
};

static const struct mct_key timeouts_keys[] = {
        {"share_seconds", K_UINT, CFG(share_timeout_s), .min = 1, .max = 3600},
        {"database_seconds", K_UINT, CFG(database_timeout_s), .min = 1, .max = 3600},
        {NULL},
};

static const struct mct_key mount_keys[] = {
        {"cache_seconds", K_UINT, CFG(mount.cache_seconds), .min = 0, .max = 86400},
        {"attr_seconds", K_UINT, CFG(mount.attr_seconds), .min = 0, .max = 3600},
        {"allow_uids", K_IDS, CFG(mount.allow_uids), CFG(mount.n_allow_uids)},
        {"allow_gids", K_IDS, CFG(mount.allow_gids), CFG(mount.n_allow_gids)},
        {NULL},
};

static const struct mct_key metrics_keys[] = {
        {"rig_name", K_OPTSTR, CFG(metrics.rig_name)},
        {"textfile_dir", K_OPTPATH, CFG(metrics.textfile_dir)},
        {NULL},
};

static const struct mct_key service_keys[] = {
        {"user", K_OPTSTR, CFG(service.user)},
        {"lock_dir", K_PATH, CFG(service.lock_dir)},
        {NULL},
};

const struct mct_key mct_config_schema[] = {
        {"backup", K_SECTION, .sub = backup_keys},
        {"datajoint", K_SECTION, .sub = datajoint_keys},
        {"recording_db", K_SECTION, .sub = recording_db_keys},
        {"deletion", K_SECTION, .sub = deletion_keys},
        {"timeouts", K_SECTION, .sub = timeouts_keys},
        {"mount", K_SECTION, .sub = mount_keys},
        {"metrics", K_SECTION, .sub = metrics_keys},
        {"service", K_SECTION, .sub = service_keys},
        {NULL},
};

const char mct_config_default_rsync_flags[] = "-avh";

static int set_default(char **field, const char *value)
{
    *field = strdup(value);
    return *field ? 0 : -ENOMEM;
}

static int config_new(const char *name, struct mct_config **ret)
{
    _cleanup_config_ struct mct_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return -ENOMEM;

    cfg->rsync_timeout_s = 600;
    cfg->verify_after_sync = true;
    cfg->verify_method = MCT_VERIFY_SIZE;
    cfg->datajoint.port = 3306;
    cfg->datajoint.tls = MCT_DJ_TLS_PREFERRED;
    cfg->datajoint.normalize_participant_ids = true;
    cfg->deletion_min_age_minutes = 60;
    cfg->reclaim.keep_free = (struct mct_space){.percent_x100 = 1000};
    cfg->reclaim.keep_recent_days = 14;
    cfg->share_timeout_s = 5;
    cfg->database_timeout_s = 5;
    cfg->mount.cache_seconds = 30;
    cfg->mount.attr_seconds = 10;

    if (set_default(&cfg->path, name) < 0 || set_default(&cfg->source_base_path, "/data") < 0 ||
        set_default(&cfg->source_path_structure, "{participant_id}/{session_date}") < 0 ||
        set_default(&cfg->rsync_flags, mct_config_default_rsync_flags) < 0 ||
        set_default(&cfg->datajoint.host, "localhost") < 0 ||
        set_default(&cfg->datajoint.sessions_schema, "mocap_sessions") < 0 ||
        set_default(&cfg->datajoint.tracking_schema, "multicamera_tracking") < 0 ||
        set_default(&cfg->deletion_log_path, "/var/log/mctfs/deletions.log") < 0 ||
        set_default(&cfg->cache_dir, "/var/cache/mctfs") < 0 ||
        set_default(&cfg->service.lock_dir, "/run/mctfs/locks") < 0)
        return -ENOMEM;

    *ret = TAKE_PTR(cfg);
    return 0;
}

/* config_st: the fstat of the file yaml was read from, for the checks of
 * the files it names (NULL for a string that came from no file). */
static int parse_string(const char *name, const char *yaml, const struct stat *config_st,
                        struct mct_config **ret, char *err, size_t errlen)
{
    _cleanup_config_ struct mct_config *cfg = NULL;
    char dummy[1];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    int r = config_new(name ? name : "<string>", &cfg);
    if (r < 0)
        return r;
    r = mct_config_parse_yaml(cfg, mct_config_schema, cfg->path, yaml, err, errlen);
    if (r < 0)
        return r;
    if (!cfg->recording_db_path) {
        cfg->recording_db_path = mct_path_join(cfg->source_base_path, "recordings.db");
        if (!cfg->recording_db_path)
            return -ENOMEM;
    }
    r = mct_config_resolve_datajoint(cfg, config_st, err, errlen);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(cfg);
    return 0;
}

int mct_config_parse_string(const char *name, const char *yaml, struct mct_config **ret, char *err,
                            size_t errlen)
{
    return parse_string(name, yaml, NULL, ret, err, errlen);
}

int mct_config_load(const char *path, struct mct_config **ret, char *err, size_t errlen)
{
    _cleanup_config_ struct mct_config *cfg = NULL;
    _cleanup_free_ char *text = NULL;
    char dummy[1];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    /* The one in the current folder is never a symlink: a link to a file
     * root owns would pass the owner check below. */
    bool local = streq(path, MCT_LOCAL_CONFIG);
    struct stat st = {0};
    int r = mct_read_regular_file_stat(path, local ? O_NOFOLLOW : 0, CONFIG_MAX_BYTES, &text, &st);
    if (r < 0) {
        snprintf(err, errlen, "%s: cannot read config: %s", path, mct_read_strerror(r));
        return r;
    }
    /* libyaml would stop at a NUL and ignore the rest of the file. */
    if ((off_t)strlen(text) != st.st_size) {
        snprintf(err, errlen, "%s: not a text file (contains a NUL byte)", path);
        return -EINVAL;
    }
    /* The same rule mct_config_find() applied, now on the file read. */
    char why[256];
    if (local && mct_trust_check_local(getuid(), &st, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: %s; refusing to use it", path, why);
        return -EPERM;
    }
    r = parse_string(path, text, &st, &cfg, err, errlen);
    if (r < 0)
        return r;
    /* Known only now: who the service user is. The password file (if any)
     * was read only after the same check (config_yaml.c). */
    struct mct_trust t;
    mct_trust_init(&t, cfg->service.user);
    r = mct_trust_check(&t, path, "config", &st, err, errlen);
    if (r < 0)
        return r;
    mct_config_warn_password_modes(cfg, &st);
    *ret = TAKE_PTR(cfg);
    return 0;
}

/*
 * 1 when path is a file to use, 0 when it does not exist and we may look
 * further, <0 otherwise. A named config (-c, $MCTFS_CONFIG) that is missing
 * is an error: falling through would load some other file.
 */
static int probe(const char *path, const char *origin, bool must_exist, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        int r = -errno;
        if (r == -ENOENT && !must_exist)
            return 0;
        snprintf(err, errlen, "%s (%s): %s", path, origin, strerror(-r));
        return r;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s (%s): is a directory, not a config file", path, origin);
        return -EISDIR;
    }
    return 1;
}

static int found(const char *path, char **ret)
{
    *ret = strdup(path);
    return *ret ? 0 : -ENOMEM;
}

/*
 * 1 when ./backup_config.yaml is there and ours to use, 0 to look further.
 * Anyone may have written into the folder we were started in (a session
 * folder, /tmp): like git's safe.directory, only a file the caller owns and
 * nobody else may write is taken; any other is skipped, saying so.
 */
static int probe_local(void)
{
    _cleanup_close_ int fd =
            open(MCT_LOCAL_CONFIG, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    char why[256];

    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0)
        snprintf(why, sizeof(why), "%s", errno == ELOOP ? "a symlink" : strerror(errno));
    else if (fstat(fd, &st) < 0)
        snprintf(why, sizeof(why), "%s", strerror(errno));
    else if (mct_trust_check_local(getuid(), &st, why, sizeof(why)) == 0)
        return 1;
    log_warning("ignoring %s: %s", MCT_LOCAL_CONFIG, why);
    return 0;
}

int mct_config_find(const char *explicit_path, char **ret, char *err, size_t errlen)
{
    static const char local[] = MCT_LOCAL_CONFIG;
    char dummy[1];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    if (explicit_path) {
        if (!*explicit_path) {
            snprintf(err, errlen, "empty config file path given with -c");
            return -EINVAL;
        }
        int r = probe(explicit_path, "given with -c", true, err, errlen);
        return r < 0 ? r : found(explicit_path, ret);
    }
    const char *e = mct_getenv("MCTFS_CONFIG");
    if (e) {
        int r = probe(e, "from $MCTFS_CONFIG", true, err, errlen);
        return r < 0 ? r : found(e, ret);
    }
    if (probe_local())
        return found(local, ret);
    int r = probe(MCT_DEFAULT_CONFIG, "default", false, err, errlen);
    if (r != 0)
        return r < 0 ? r : found(MCT_DEFAULT_CONFIG, ret);
    snprintf(err, errlen, "no config file found (tried %s and %s); use -c or set $MCTFS_CONFIG",
             local, MCT_DEFAULT_CONFIG);
    return -ENOENT;
}

int mct_config_find_load(const char *explicit_path, struct mct_config **ret, char *err,
                         size_t errlen)
{
    _cleanup_free_ char *path = NULL;
    int r = mct_config_find(explicit_path, &path, err, errlen);
    return r < 0 ? r : mct_config_load(path, ret, err, errlen);
}

static void destination_clear(struct mct_destination *d)
{
    free(d->name);
    free(d->mount_point);
    free(d->base_path);
    free(d->path_structure);
}

void mct_config_free(struct mct_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    for (size_t i = 0; i < cfg->n_destinations; i++)
        destination_clear(&cfg->destinations[i]);
    free(cfg->destinations);
    free(cfg->source_base_path);
    free(cfg->source_path_structure);
    mct_strv_free(cfg->participant_prefixes);
    mct_strv_free(cfg->exclude_patterns);
    free(cfg->rsync_flags);
    free(cfg->datajoint.host);
    free(cfg->datajoint.user);
    if (cfg->datajoint.password) {
        /* Do not leave the database password lying in freed heap. */
        explicit_bzero(cfg->datajoint.password, strlen(cfg->datajoint.password));
        free(cfg->datajoint.password);
    }
    free(cfg->datajoint.password_file);
    free(cfg->datajoint.socket);
    free(cfg->datajoint.ca_file);
    free(cfg->datajoint.cert_file);
    free(cfg->datajoint.key_file);
    free(cfg->datajoint.config_file);
    free(cfg->datajoint.sessions_schema);
    free(cfg->datajoint.tracking_schema);
    free(cfg->recording_db_path);
    free(cfg->deletion_log_path);
    free(cfg->cache_dir);
    free(cfg->metrics.rig_name);
    free(cfg->metrics.textfile_dir);
    free(cfg->service.user);
    free(cfg->service.lock_dir);
    free(cfg->mount.allow_uids);
    free(cfg->mount.allow_gids);
    for (size_t i = 0; i < cfg->n_origins; i++)
        free(cfg->origins[i].key);
    free(cfg->origins);
    free(cfg);
}

size_t mct_config_enabled_destinations(const struct mct_config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; cfg && i < cfg->n_destinations; i++)
        n += cfg->destinations[i].enabled;
    return n;
}

size_t mct_config_required_copies(const struct mct_config *cfg)
{
    return cfg->required_copies ? cfg->required_copies : mct_config_enabled_destinations(cfg);
}

int mct_config_set_origin(struct mct_config *cfg, const char *key, enum mct_origin kind,
                          size_t line, const char *var)
{
    struct mct_config_origin *o = (struct mct_config_origin *)mct_config_origin_of(cfg, key);

    if (!o) {
        char *k = strdup(key);
        struct mct_config_origin *n =
                k ? reallocarray(cfg->origins, cfg->n_origins + 1, sizeof(*n)) : NULL;
        if (!n) {
            free(k);
            return -ENOMEM;
        }
        cfg->origins = n;
        o = &n[cfg->n_origins++];
        o->key = k;
    }
    o->kind = kind;
    o->line = line;
    o->var = var;
    return 0;
}

const struct mct_config_origin *mct_config_origin_of(const struct mct_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n_origins; i++)
        if (streq(cfg->origins[i].key, key))
            return &cfg->origins[i];
    return NULL;
}
