/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the DataJoint connection comes from. Each of host, port, user,
 * password and tls is taken from the first of: its key in
 * backup_config.yaml, the DJ_* variable DataJoint users already set,
 * DataJoint's own config file (datajoint.config_file), the default. The
 * config wins because it is what the admin wrote for this rig; a variable
 * fills what the config leaves open (a lab member's own account for
 * mctctl), and DataJoint's file what is left after that. mctctl config
 * shows which one each value came from.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "config_yaml.h"
#include "djconf.h"
#include "log.h"
#include "trust.h"
#include "util.h"

/* DataJoint files are small; anything bigger is not one. */
#define DJCONF_MAX_BYTES (1024 * 1024)

static bool from_config(const struct mct_config *cfg, const char *key)
{
    const struct mct_config_origin *o = mct_config_origin_of(cfg, key);
    return o && o->kind == MCT_ORIGIN_CONFIG;
}

/* "NAME:LINE: message", the line of key in the config when it is there. */
static _printf_(5, 6) int fail_at(const struct mct_config *cfg, const char *key, char *err,
                                  size_t errlen, const char *fmt, ...)
{
    const struct mct_config_origin *o = mct_config_origin_of(cfg, key);
    size_t line = o && o->kind == MCT_ORIGIN_CONFIG ? o->line : 0;
    int n = line ? snprintf(err, errlen, "%s:%zu: ", cfg->path, line)
                 : snprintf(err, errlen, "%s: ", cfg->path);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/*
 * A file the config names (the password file, DataJoint's config) is read
 * as root before we switch to the service user: it must be as trusted as
 * the config, which is checked first (its owner may only be known from
 * service.user, hence here). *ret NULL and 0: unreadable to a user who
 * brings DJ_PASS instead.
 */
static int read_named_file(const struct mct_config *cfg, const struct stat *config_st,
                           const char *key, const char *path, const char *what, size_t max,
                           char **ret, char *err, size_t errlen)
{
    struct mct_trust t;
    char why[768];
    struct stat st;

    *ret = NULL;
    mct_trust_init(&t, cfg->service.user);
    if (config_st && mct_trust_check(&t, cfg->path, "config", config_st, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s", why);
        return -EPERM;
    }
    int r = mct_read_regular_file_stat(path, 0, max, ret, &st);
    /* A user who may not read the service's files brings their own
     * password in DJ_PASS. */
    if (r == -EACCES && mct_getenv("DJ_PASS"))
        return 0;
    if (r < 0)
        return fail_at(cfg, key, err, errlen, "%s: cannot read '%s': %s", key, path,
                       mct_read_strerror(r));
    if (config_st &&
        (mct_trust_check(&t, path, what, &st, why, sizeof(why)) < 0 ||
         mct_trust_check_named_by(&t, path, &st, cfg->path, config_st, why, sizeof(why)) < 0)) {
        explicit_bzero(*ret, strlen(*ret));
        free(*ret);
        *ret = NULL;
        fail_at(cfg, key, err, errlen, "%s: %s", key, why);
        return -EPERM;
    }
    return 0;
}

static int read_password_file(struct mct_config *cfg, const struct stat *config_st, char *err,
                              size_t errlen)
{
    const char *pf = cfg->datajoint.password_file;
    char *pw;

    if (!pf)
        return 0;
    if (cfg->datajoint.password)
        return fail_at(cfg, "datajoint.password_file", err, errlen,
                       "datajoint: set password or password_file, not both");
    int r = read_named_file(cfg, config_st, "datajoint.password_file", pf, "password file",
                            64 * 1024, &pw, err, errlen);
    if (r < 0 || !pw)
        return r;
    size_t n = strlen(pw);
    while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
        pw[--n] = '\0';
    cfg->datajoint.password = pw;
    return mct_config_set_origin(cfg, "datajoint.password", MCT_ORIGIN_CONFIG,
                                 mct_config_origin_of(cfg, "datajoint.password_file")->line, NULL);
}

static int read_dj_file(const struct mct_config *cfg, const struct stat *config_st,
                        struct mct_djconf *dj, char *err, size_t errlen)
{
    _cleanup_free_ char *text = NULL;
    const char *path = cfg->datajoint.config_file;

    *dj = (struct mct_djconf){.use_tls = -1};
    if (!path)
        return 0;
    int r = read_named_file(cfg, config_st, "datajoint.config_file", path, "DataJoint config file",
                            DJCONF_MAX_BYTES, &text, err, errlen);
    if (r < 0 || !text)
        return r;
    r = mct_djconf_parse(path, text, dj, err, errlen);
    explicit_bzero(text, strlen(text));
    return r;
}

/* Take a string setting from the environment or DataJoint's file. */
static int fill_string(struct mct_config *cfg, const char *key, char **field, const char *var,
                       char **dj_value, size_t dj_line)
{
    const char *v = mct_getenv(var);

    if (from_config(cfg, key) && *field)
        return 0;
    if (!v && !*dj_value)
        return 0;
    char *s = v ? strdup(v) : TAKE_PTR(*dj_value);
    if (!s)
        return -ENOMEM;
    if (*field)
        explicit_bzero(*field, strlen(*field));
    free(*field);
    *field = s;
    return mct_config_set_origin(cfg, key, v ? MCT_ORIGIN_ENV : MCT_ORIGIN_DJ_FILE, v ? 0 : dj_line,
                                 var);
}

static int fill_port(struct mct_config *cfg, const struct mct_djconf *dj, char *err, size_t errlen)
{
    const char *v = mct_getenv("DJ_PORT");

    if (from_config(cfg, "datajoint.port"))
        return 0;
    if (v) {
        char *end;
        errno = 0;
        unsigned long port = strtoul(v, &end, 10);
        if (v[0] < '0' || v[0] > '9' || *end || errno || port < 1 || port > 65535) {
            snprintf(err, errlen, "%s: environment DJ_PORT: expected a port 1..65535, got '%s'",
                     cfg->path, v);
            return -EINVAL;
        }
        cfg->datajoint.port = (unsigned)port;
        return mct_config_set_origin(cfg, "datajoint.port", MCT_ORIGIN_ENV, 0, "DJ_PORT");
    }
    if (!dj->port)
        return 0;
    cfg->datajoint.port = dj->port;
    return mct_config_set_origin(cfg, "datajoint.port", MCT_ORIGIN_DJ_FILE, dj->line_port, NULL);
}

/* DataJoint's use_tls: true asks for TLS without checking the server's
 * certificate, false for none, null (the default) for TLS when offered. */
static int fill_tls(struct mct_config *cfg, const struct mct_djconf *dj)
{
    if (from_config(cfg, "datajoint.tls") || dj->use_tls < 0)
        return 0;
    cfg->datajoint.tls = dj->use_tls ? MCT_DJ_TLS_REQUIRED : MCT_DJ_TLS_OFF;
    return mct_config_set_origin(cfg, "datajoint.tls", MCT_ORIGIN_DJ_FILE, dj->line_use_tls, NULL);
}

/* A CA that is not used would read as "verified" to whoever set it. */
static int check_tls_keys(const struct mct_config *cfg, char *err, size_t errlen)
{
    const char *tls = mct_dj_tls_names[cfg->datajoint.tls];

    if (cfg->datajoint.ca_file && cfg->datajoint.tls != MCT_DJ_TLS_VERIFY)
        return fail_at(cfg, "datajoint.ca_file", err, errlen,
                       "datajoint.ca_file: only used with tls: verify (tls is %s)", tls);
    if (!cfg->datajoint.cert_file != !cfg->datajoint.key_file)
        return fail_at(cfg, cfg->datajoint.cert_file ? "datajoint.cert_file" : "datajoint.key_file",
                       err, errlen, "datajoint: set both cert_file and key_file, or neither");
    if (cfg->datajoint.cert_file && cfg->datajoint.tls == MCT_DJ_TLS_OFF)
        return fail_at(cfg, "datajoint.cert_file", err, errlen,
                       "datajoint.cert_file: a client certificate needs TLS (tls is off)");
    return 0;
}

int mct_config_resolve_datajoint(struct mct_config *cfg, const struct stat *config_st, char *err,
                                 size_t errlen)
{
    struct mct_djconf dj;
    int r = read_password_file(cfg, config_st, err, errlen);
    if (r < 0)
        return r;
    r = read_dj_file(cfg, config_st, &dj, err, errlen);
    if (r < 0)
        return r;
    r = fill_string(cfg, "datajoint.host", &cfg->datajoint.host, "DJ_HOST", &dj.host, dj.line_host);
    if (r >= 0)
        r = fill_string(cfg, "datajoint.user", &cfg->datajoint.user, "DJ_USER", &dj.user,
                        dj.line_user);
    if (r >= 0)
        r = fill_string(cfg, "datajoint.password", &cfg->datajoint.password, "DJ_PASS",
                        &dj.password, dj.line_password);
    if (r >= 0)
        r = fill_port(cfg, &dj, err, errlen);
    if (r >= 0)
        r = fill_tls(cfg, &dj);
    mct_djconf_clear(&dj);
    if (r < 0)
        return r;
    return check_tls_keys(cfg, err, errlen);
}

/* A file holding the DataJoint password must not be readable by every
 * user of the rig. A warning, not a refusal: refusing would stop the
 * nightly backup over a file mode. */
static void warn_world_readable(const char *path, const char *what)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & S_IROTH))
        log_warning("%s holds the DataJoint password (%s) and is readable by every user "
                    "(mode %04o): run chmod o-r %s",
                    path, what, (unsigned)(st.st_mode & 07777), path);
}

void mct_config_warn_password_modes(const struct mct_config *cfg, const struct stat *config_st)
{
    const struct mct_config_origin *o = mct_config_origin_of(cfg, "datajoint.password");

    if (!o || !cfg->datajoint.password)
        return;
    if (o->kind == MCT_ORIGIN_DJ_FILE)
        warn_world_readable(cfg->datajoint.config_file, "database.password");
    else if (o->kind == MCT_ORIGIN_CONFIG && cfg->datajoint.password_file)
        warn_world_readable(cfg->datajoint.password_file, "datajoint.password_file");
    else if (o->kind == MCT_ORIGIN_CONFIG && (config_st->st_mode & S_IROTH))
        warn_world_readable(cfg->path, "datajoint.password");
}
