/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Finding and loading backup_config.yaml: defaults, the DJ_* environment
 * overrides DataJoint users already rely on, and freeing. The YAML itself is
 * walked in config_yaml.c.
 */
#include "config.h"
#include "config_yaml.h"
#include "util.h"

#include <sys/stat.h>

/* Nobody's config is this big; a bigger file is a mistake, not a config. */
#define CONFIG_MAX_BYTES (1024 * 1024)

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
    cfg->datajoint.normalize_participant_ids = true;
    cfg->deletion_min_age_minutes = 60;
    cfg->share_timeout_s = 5;
    cfg->database_timeout_s = 5;
    cfg->mount.cache_seconds = 30;

    if (set_default(&cfg->path, name) < 0 || set_default(&cfg->source_base_path, "/data") < 0 ||
        set_default(&cfg->source_path_structure, "{participant_id}/{session_date}") < 0 ||
        set_default(&cfg->rsync_flags, "-avh") < 0 ||
        set_default(&cfg->datajoint.host, "localhost") < 0 ||
        set_default(&cfg->datajoint.sessions_schema, "mocap_sessions") < 0 ||
        set_default(&cfg->datajoint.tracking_schema, "multicamera_tracking") < 0 ||
        set_default(&cfg->deletion_log_path, "/var/log/mctfs/deletions.log") < 0)
        return -ENOMEM;

    *ret = TAKE_PTR(cfg);
    return 0;
}

static int replace(char **field, const char *value)
{
    char *s = strdup(value);
    if (!s)
        return -ENOMEM;
    free(*field);
    *field = s;
    return 0;
}

/* An empty variable counts as unset: `DJ_HOST= mctctl ...` clears nothing. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return strempty(v) ? NULL : v;
}

static int apply_env(struct mct_config *cfg, char *err, size_t errlen)
{
    const char *v;
    int r;

    if ((v = env("DJ_HOST")) && (r = replace(&cfg->datajoint.host, v)) < 0)
        return r;
    if ((v = env("DJ_USER")) && (r = replace(&cfg->datajoint.user, v)) < 0)
        return r;
    if ((v = env("DJ_PASS")) && (r = replace(&cfg->datajoint.password, v)) < 0)
        return r;
    if ((v = env("DJ_PORT"))) {
        char *end;
        errno = 0;
        unsigned long port = strtoul(v, &end, 10);
        if (v[0] < '0' || v[0] > '9' || *end || errno || port < 1 || port > 65535) {
            snprintf(err, errlen, "%s: environment DJ_PORT: expected a port 1..65535, got '%s'",
                     cfg->path, v);
            return -EINVAL;
        }
        cfg->datajoint.port = (unsigned)port;
    }
    return 0;
}

int mct_config_parse_string(const char *name, const char *yaml, struct mct_config **ret, char *err,
                            size_t errlen)
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
    r = mct_config_parse_yaml(cfg, cfg->path, yaml, err, errlen);
    if (r < 0)
        return r;
    if (!cfg->recording_db_path) {
        cfg->recording_db_path = mct_path_join(cfg->source_base_path, "recordings.db");
        if (!cfg->recording_db_path)
            return -ENOMEM;
    }
    r = apply_env(cfg, err, errlen);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(cfg);
    return 0;
}

int mct_config_load(const char *path, struct mct_config **ret, char *err, size_t errlen)
{
    _cleanup_free_ char *text = NULL;
    int r = mct_read_file(path, CONFIG_MAX_BYTES, &text);
    if (r < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot read config: %s", path, strerror(-r));
        return r;
    }
    /* libyaml would stop at a NUL and ignore the rest of the file. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (off_t)strlen(text) != st.st_size) {
        if (err && errlen)
            snprintf(err, errlen, "%s: not a text file (contains a NUL byte)", path);
        return -EINVAL;
    }
    return mct_config_parse_string(path, text, ret, err, errlen);
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

int mct_config_find(const char *explicit_path, char **ret, char *err, size_t errlen)
{
    static const char local[] = "./backup_config.yaml";
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
    const char *e = env("MCTFS_CONFIG");
    if (e) {
        int r = probe(e, "from $MCTFS_CONFIG", true, err, errlen);
        return r < 0 ? r : found(e, ret);
    }
    int r = probe(local, "current directory", false, err, errlen);
    if (r != 0)
        return r < 0 ? r : found(local, ret);
    r = probe(MCT_DEFAULT_CONFIG, "default", false, err, errlen);
    if (r != 0)
        return r < 0 ? r : found(MCT_DEFAULT_CONFIG, ret);
    snprintf(err, errlen, "no config file found (tried %s and %s); use -c or set $MCTFS_CONFIG",
             local, MCT_DEFAULT_CONFIG);
    return -ENOENT;
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
    free(cfg->datajoint.sessions_schema);
    free(cfg->datajoint.tracking_schema);
    free(cfg->recording_db_path);
    free(cfg->deletion_log_path);
    free(cfg->mount.allow_uids);
    free(cfg->mount.allow_gids);
    free(cfg);
}

size_t mct_config_enabled_destinations(const struct mct_config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; cfg && i < cfg->n_destinations; i++)
        n += cfg->destinations[i].enabled;
    return n;
}
