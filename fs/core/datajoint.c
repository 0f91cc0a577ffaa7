/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * "Fully imported to DataJoint": check 1 from the recording database
 * (recdb.c), checks 2-6 from MySQL/MariaDB. Every query covers a batch of
 * sessions, so a status-range over hundreds of sessions costs a handful of
 * round trips. The engine only reads; it never writes to either database.
 */
#include <errmsg.h>
#include <errno.h>
#include <mysql.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "datajoint.h"
#include "dj_deadline.h"
#include "recdb.h"
#include "session.h"
#include "util.h"

const char *const mct_dj_check_names[MCT_DJ_N_CHECKS] = {
        [MCT_DJ_SQLITE_IMPORTED] = "sqlite_imported",
        [MCT_DJ_SUBJECT] = "subject",
        [MCT_DJ_SESSION] = "session",
        [MCT_DJ_RECORDING] = "recording",
        [MCT_DJ_MULTI_CAMERA_RECORDING] = "multi_camera_recording",
        [MCT_DJ_SINGLE_CAMERA_VIDEO] = "single_camera_video",
};

const char *const mct_dj_check_failures[MCT_DJ_N_CHECKS] = {
        [MCT_DJ_SQLITE_IMPORTED] = "SQLite imported flag not set",
        [MCT_DJ_SUBJECT] = "not in subject",
        [MCT_DJ_SESSION] = "no session row",
        [MCT_DJ_RECORDING] = "no recording rows",
        [MCT_DJ_MULTI_CAMERA_RECORDING] = "a recording has no multi_camera_recording row",
        [MCT_DJ_SINGLE_CAMERA_VIDEO] = "a recording has no single_camera_video rows",
};

/* Keeps each statement well under max_allowed_packet. */
#define DJ_BATCH 500

/* Sessions per query. MCT_DJ_BATCH_SIZE (1..DJ_BATCH) is a benchmark knob,
 * not a setting: tools/bench/run sets it to 1 to show what one query per
 * session would cost. */
static size_t dj_batch_size(void)
{
    const char *e = getenv("MCT_DJ_BATCH_SIZE");
    char *end;

    if (!e || !*e)
        return DJ_BATCH;
    unsigned long v = strtoul(e, &end, 10);
    return *end || v < 1 || v > DJ_BATCH ? DJ_BATCH : (size_t)v;
}

/* What one session is looked up as in MySQL. */
struct dj_key {
    char id[MCT_ID_MAX + 1]; /* normalised participant id */
    char iso[11];            /* YYYY-MM-DD */
    char date[MCT_DATE_LEN + 1];
};

struct dj_conn {
    MYSQL *mysql;
    const struct mct_config *cfg;
    char sessions[2 * 64 + 3]; /* `schema`, quoted */
    char tracking[2 * 64 + 3];
};

static pthread_once_t library_once = PTHREAD_ONCE_INIT;

/* mysql_library_init is not thread-safe; the mount calls us from workers. */
static void library_init(void)
{
    mysql_library_init(0, NULL, NULL);
}

static void mysql_closep(MYSQL **m)
{
    if (*m)
        mysql_close(*m);
}

static void mysql_free_resultp(MYSQL_RES **r)
{
    if (*r)
        mysql_free_result(*r);
}

const char *mct_dj_host(const struct mct_config *cfg)
{
    return strempty(cfg->datajoint.host) ? "localhost" : cfg->datajoint.host;
}

static void describe_server(const struct mct_config *cfg, char *out, size_t len)
{
    const char *host = mct_dj_host(cfg);

    if (!strempty(cfg->datajoint.socket))
        snprintf(out, len, "DataJoint database %s (socket %s)", host, cfg->datajoint.socket);
    else
        snprintf(out, len, "DataJoint database %s:%u", host, cfg->datajoint.port);
}

/* "DataJoint database HOST (socket S): MSG" into err. */
static void server_error(const struct mct_config *cfg, const char *msg, char *err, size_t errlen)
{
    size_t used;

    describe_server(cfg, err, errlen);
    used = strlen(err);
    if (used + 1 < errlen)
        snprintf(err + used, errlen - used, ": %s", msg);
}

/* Identifier quoting: backticks, a backtick inside doubled. */
static int quote_ident(const char *name, char *out, size_t len)
{
    size_t k = 0;

    if (strempty(name) || strlen(name) > 64)
        return -EINVAL;
    out[k++] = '`';
    for (const char *c = name; *c; c++) {
        if (*c == '`')
            out[k++] = '`';
        out[k++] = *c;
    }
    out[k++] = '`';
    out[k] = '\0';
    return k < len ? 0 : -EINVAL;
}

/*
 * datajoint.tls onto the client library. MariaDB Connector/C 3.3 uses TLS
 * only when asked (MYSQL_OPT_SSL_ENFORCE) and then, unless the certificate
 * is verified, quietly goes on in plain text with a server that offers no
 * TLS: that is "preferred". "required" is that plus tls_check() after the
 * connect. Every mode sets both switches, since newer libraries default
 * to TLS on.
 */
static int tls_options(MYSQL *m, const struct mct_config *cfg, enum mct_dj_tls tls)
{
    int r = 0;

#ifdef MARIADB_PACKAGE_VERSION
    my_bool use = tls != MCT_DJ_TLS_OFF, verify = tls == MCT_DJ_TLS_VERIFY;
    r |= mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &use);
    r |= mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
#else
    /* Oracle's libmysqlclient (>= 5.7.11) says the same with one option. */
    static const unsigned mode[] = {
            [MCT_DJ_TLS_OFF] = SSL_MODE_DISABLED,
            [MCT_DJ_TLS_PREFERRED] = SSL_MODE_PREFERRED,
            [MCT_DJ_TLS_REQUIRED] = SSL_MODE_REQUIRED,
            [MCT_DJ_TLS_VERIFY] = SSL_MODE_VERIFY_IDENTITY,
    };
    r |= mysql_options(m, MYSQL_OPT_SSL_MODE, &mode[tls]);
#endif
    if (tls == MCT_DJ_TLS_VERIFY && cfg->datajoint.ca_file)
        r |= mysql_options(m, MYSQL_OPT_SSL_CA, cfg->datajoint.ca_file);
    if (tls != MCT_DJ_TLS_OFF && cfg->datajoint.cert_file) {
        r |= mysql_options(m, MYSQL_OPT_SSL_CERT, cfg->datajoint.cert_file);
        r |= mysql_options(m, MYSQL_OPT_SSL_KEY, cfg->datajoint.key_file);
    }
    return r ? -EINVAL : 0;
}

/* After the connect: "required" and "verify" never go on in plain text.
 * (With "required" the server was not authenticated anyway, so learning
 * this only after the login exposes nothing an attacker in the middle
 * could not have had; "verify" fails in the handshake already.) */
static int tls_check(MYSQL *m, const struct mct_config *cfg, char *err, size_t errlen)
{
    if (cfg->datajoint.tls < MCT_DJ_TLS_REQUIRED || mysql_get_ssl_cipher(m))
        return 0;
    server_error(cfg,
                 "the connection is not encrypted (the server offers no TLS), and "
                 "datajoint.tls is required: not used",
                 err, errlen);
    return -EPROTO;
}

/* A failed connect says which TLS mode it tried: "Access denied" is how a
 * server that requires TLS turns a plain login away. */
static void connect_error(const struct mct_config *cfg, MYSQL *m, char *err, size_t errlen)
{
    char msg[512];
    const char *ca = cfg->datajoint.ca_file ? cfg->datajoint.ca_file : "the system's CAs";

    /* Below CR_MIN_ERROR (2000): the server answered and said no. */
    switch (cfg->datajoint.tls == MCT_DJ_TLS_OFF && mysql_errno(m) >= 2000 ? MCT_DJ_TLS_PREFERRED
                                                                           : cfg->datajoint.tls) {
    case MCT_DJ_TLS_OFF:
        snprintf(msg, sizeof(msg),
                 "%s (datajoint.tls is off: a server that requires TLS refuses plain "
                 "connections)",
                 mysql_error(m));
        break;
    case MCT_DJ_TLS_VERIFY:
        snprintf(msg, sizeof(msg), "%s (datajoint.tls is verify, against %s)", mysql_error(m), ca);
        break;
    default:
        snprintf(msg, sizeof(msg), "%s", mysql_error(m));
    }
    server_error(cfg, msg, err, errlen);
}

/* One attempt; on -EIO *ret is the handle that says why (mysql_error). */
static int connect_as(const struct mct_config *cfg, enum mct_dj_tls tls, MYSQL **ret)
{
    unsigned timeout = cfg->database_timeout_s;
    const char *host = mct_dj_host(cfg);
    const char *sock = strempty(cfg->datajoint.socket) ? NULL : cfg->datajoint.socket;
    MYSQL *m = *ret = mysql_init(NULL);

    if (!m)
        return -ENOMEM;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (sock) {
        unsigned proto = MYSQL_PROTOCOL_SOCKET;
        mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
    }
    if (tls_options(m, cfg, tls) < 0)
        return -EINVAL;
    if (!mysql_real_connect(m, host, cfg->datajoint.user, cfg->datajoint.password, NULL,
                            cfg->datajoint.port, sock, 0))
        return -EIO;
    return 0;
}

static int dj_connect(const struct mct_config *cfg, struct dj_conn *c, char *err, size_t errlen)
{
    _cleanup_(mysql_closep) MYSQL *m = NULL;
    const char *sessions = cfg->datajoint.sessions_schema;
    const char *tracking = cfg->datajoint.tracking_schema;
    if (quote_ident(sessions, c->sessions, sizeof(c->sessions)) < 0 ||
        quote_ident(tracking, c->tracking, sizeof(c->tracking)) < 0) {
        server_error(cfg, "invalid schema name", err, errlen);
        return -EINVAL;
    }

    int r = connect_as(cfg, cfg->datajoint.tls, &m);
    /* "preferred" as DataJoint has it: when the TLS handshake itself
     * fails, once more in plain text. */
    if (r == -EIO && cfg->datajoint.tls == MCT_DJ_TLS_PREFERRED &&
        mysql_errno(m) == CR_SSL_CONNECTION_ERROR) {
        mysql_closep(&m);
        m = NULL;
        r = connect_as(cfg, MCT_DJ_TLS_OFF, &m);
    }
    if (r == -ENOMEM)
        server_error(cfg, "out of memory", err, errlen);
    else if (r == -EINVAL)
        server_error(cfg, "the client library does not take the TLS options", err, errlen);
    else if (r < 0)
        connect_error(cfg, m, err, errlen);
    if (r < 0)
        return r;
    r = tls_check(m, cfg, err, errlen);
    if (r < 0)
        return r;
    c->mysql = TAKE_PTR(m);
    c->cfg = cfg;
    return 0;
}

static int append_escaped(struct mct_buf *b, MYSQL *m, const char *s)
{
    size_t len = strlen(s);
    _cleanup_free_ char *e = malloc(2 * len + 1);

    if (!e)
        return -ENOMEM;
    mysql_real_escape_string(m, e, s, len);
    return mct_buf_printf(b, "'%s'", e);
}

/* "('001','2025-01-04'),(...)" or, for subject, "'001','002'". */
static int append_keys(struct mct_buf *b, MYSQL *m, const struct dj_key *keys, size_t n,
                       bool with_date)
{
    for (size_t i = 0; i < n; i++) {
        int r = mct_buf_puts(b, i ? (with_date ? ",(" : ",") : (with_date ? "(" : ""));
        if (r >= 0)
            r = append_escaped(b, m, keys[i].id);
        if (r >= 0 && with_date)
            r = mct_buf_printf(b, ",'%s')", keys[i].iso);
        if (r < 0)
            return r;
    }
    return 0;
}

typedef void (*row_fn)(MYSQL_ROW row, const struct dj_key *keys, size_t n,
                       enum mct_tristate (*res)[MCT_DJ_N_CHECKS]);

/* MySQL compares participant ids with the column's collation (case-blind by
 * default), and that is what DataJoint itself would match; do the same. */
static bool key_matches(const struct dj_key *k, const char *id, const char *date)
{
    return id && strcasecmp(k->id, id) == 0 && (!date || streq(k->date, date));
}

static void subject_row(MYSQL_ROW row, const struct dj_key *keys, size_t n,
                        enum mct_tristate (*res)[MCT_DJ_N_CHECKS])
{
    for (size_t i = 0; i < n; i++)
        if (key_matches(&keys[i], row[0], NULL))
            res[i][MCT_DJ_SUBJECT] = MCT_YES;
}

static void session_row(MYSQL_ROW row, const struct dj_key *keys, size_t n,
                        enum mct_tristate (*res)[MCT_DJ_N_CHECKS])
{
    for (size_t i = 0; i < n; i++)
        if (key_matches(&keys[i], row[0], row[1]))
            res[i][MCT_DJ_SESSION] = MCT_YES;
}

/* row: participant, date, recordings, recordings without mcr, without scv. */
static void recording_row(MYSQL_ROW row, const struct dj_key *keys, size_t n,
                          enum mct_tristate (*res)[MCT_DJ_N_CHECKS])
{
    long n_rec = row[2] ? atol(row[2]) : 0;
    long no_mcr = row[3] ? atol(row[3]) : 1;
    long no_scv = row[4] ? atol(row[4]) : 1;

    for (size_t i = 0; i < n; i++) {
        if (!key_matches(&keys[i], row[0], row[1]))
            continue;
        res[i][MCT_DJ_RECORDING] = n_rec > 0 ? MCT_YES : MCT_NO;
        res[i][MCT_DJ_MULTI_CAMERA_RECORDING] = no_mcr == 0 ? MCT_YES : MCT_NO;
        res[i][MCT_DJ_SINGLE_CAMERA_VIDEO] = no_scv == 0 ? MCT_YES : MCT_NO;
    }
}

/* Format one statement, run it, feed every row to fn. */
static int dj_query(struct dj_conn *c, row_fn fn, const struct dj_key *keys, size_t n,
                    enum mct_tristate (*res)[MCT_DJ_N_CHECKS], char *err, size_t errlen,
                    const char *fmt, ...) _printf_(8, 9);
static int dj_query(struct dj_conn *c, row_fn fn, const struct dj_key *keys, size_t n,
                    enum mct_tristate (*res)[MCT_DJ_N_CHECKS], char *err, size_t errlen,
                    const char *fmt, ...)
{
    _cleanup_(mysql_free_resultp) MYSQL_RES *result = NULL;
    _cleanup_buf_ struct mct_buf sql = {};
    MYSQL_ROW row;
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = mct_buf_vprintf(&sql, fmt, ap);
    va_end(ap);
    if (r < 0)
        return r;
    if (mysql_query(c->mysql, sql.data) != 0 || !(result = mysql_store_result(c->mysql))) {
        server_error(c->cfg, mysql_error(c->mysql), err, errlen);
        return -EIO;
    }
    while ((row = mysql_fetch_row(result)))
        fn(row, keys, n, res);
    return 0;
}

/*
 * Checks 2-6 for one batch: three statements. Rows that match set YES (or,
 * for recordings, the counts); what no row mentions keeps its NO, except
 * checks 5/6 which hold for every recording of a session without any
 * (check 4 already says NO then).
 */
static int check_batch(struct dj_conn *c, const struct dj_key *keys, size_t n,
                       enum mct_tristate (*res)[MCT_DJ_N_CHECKS], char *err, size_t errlen)
{
    _cleanup_buf_ struct mct_buf pairs = {}, ids = {};
    int r;

    for (size_t i = 0; i < n; i++) {
        res[i][MCT_DJ_SUBJECT] = res[i][MCT_DJ_SESSION] = res[i][MCT_DJ_RECORDING] = MCT_NO;
        res[i][MCT_DJ_MULTI_CAMERA_RECORDING] = res[i][MCT_DJ_SINGLE_CAMERA_VIDEO] = MCT_YES;
    }
    r = append_keys(&pairs, c->mysql, keys, n, true);
    if (r >= 0)
        r = append_keys(&ids, c->mysql, keys, n, false);
    if (r >= 0)
        r = dj_query(c, subject_row, keys, n, res, err, errlen,
                     "SELECT participant_id FROM %s.subject WHERE participant_id IN (%s)",
                     c->sessions, ids.data);
    if (r >= 0)
        r = dj_query(c, session_row, keys, n, res, err, errlen,
                     "SELECT participant_id, DATE_FORMAT(session_date, '%%Y%%m%%d')"
                     " FROM %s.session WHERE (participant_id, session_date) IN (%s)",
                     c->sessions, pairs.data);
    if (r >= 0)
        r = dj_query(c, recording_row, keys, n, res, err, errlen,
                     "SELECT r.participant_id, DATE_FORMAT(r.session_date, '%%Y%%m%%d'),"
                     " COUNT(*), SUM(m.recording_timestamps IS NULL),"
                     " SUM(NOT EXISTS (SELECT 1 FROM %s.single_camera_video v"
                     "   WHERE v.recording_timestamps = r.recording_timestamps"
                     "   AND v.camera_config_hash = r.camera_config_hash))"
                     " FROM %s.recording r LEFT JOIN %s.multi_camera_recording m"
                     "   ON m.recording_timestamps = r.recording_timestamps"
                     "   AND m.camera_config_hash = r.camera_config_hash"
                     " WHERE (r.participant_id, r.session_date) IN (%s)"
                     " GROUP BY r.participant_id, r.session_date",
                     c->tracking, c->sessions, c->tracking, pairs.data);
    return r;
}

static void make_key(const struct mct_config *cfg, const struct mct_session_ref *ref,
                     struct dj_key *k)
{
    if (cfg->datajoint.normalize_participant_ids)
        mct_normalize_participant_id(ref->participant_id, k->id, sizeof(k->id));
    else
        snprintf(k->id, sizeof(k->id), "%s", ref->participant_id);
    snprintf(k->date, sizeof(k->date), "%s", ref->session_date);
    if (mct_date_to_iso(ref->session_date, k->iso, sizeof(k->iso)) < 0)
        snprintf(k->iso, sizeof(k->iso), "0000-00-00");
}

/* Checks 2-6 of every ref; on -errno err says why and res means nothing.
 * *sock (when not NULL) gets the connection's socket once connected, so
 * the deadline (dj_deadline.c) can cut a trickling server off. */
int mct_dj_check_mysql(const struct mct_config *cfg, const struct mct_session_ref *refs, size_t n,
                       enum mct_tristate (*res)[MCT_DJ_N_CHECKS], int *sock, char *err,
                       size_t errlen)
{
    _cleanup_free_ struct dj_key *keys = calloc(n, sizeof(struct dj_key));
    struct dj_conn c = {};
    int r;

    if (!keys) {
        snprintf(err, errlen, "DataJoint check: out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        make_key(cfg, &refs[i], &keys[i]);

    size_t batch = dj_batch_size();
    pthread_once(&library_once, library_init);
    mysql_thread_init();
    r = dj_connect(cfg, &c, err, errlen);
    if (r >= 0 && sock)
        __atomic_store_n(sock, (int)mysql_get_socket(c.mysql), __ATOMIC_RELEASE);
    for (size_t i = 0; r >= 0 && i < n; i += batch) {
        size_t k = n - i < batch ? n - i : batch;
        r = check_batch(&c, keys + i, k, res + i, err, errlen);
        if (r == -ENOMEM)
            snprintf(err, errlen, "DataJoint check: out of memory");
    }
    if (sock)
        __atomic_store_n(sock, -1, __ATOMIC_RELEASE);
    mysql_closep(&c.mysql);
    mysql_thread_end();
    return r;
}

static void reason_add(char *reason, size_t len, const char *text)
{
    size_t used = strlen(reason);

    if (used + 1 < len)
        snprintf(reason + used, len - used, "%s%s", used ? "; " : "", text);
}

static void finish_status(const struct dj_key *k, const char *sqlite_why, const char *mysql_err,
                          struct mct_dj_status *st)
{
    bool unknown = false, no = false;

    /* "Every recording has its rows" holds vacuously when there is no
     * recording: that is nothing checked, not a pass, so it is not shown
     * as one (the session is NO through the recording check anyway). */
    if (st->checks[MCT_DJ_RECORDING] == MCT_NO) {
        st->checks[MCT_DJ_MULTI_CAMERA_RECORDING] = MCT_UNKNOWN;
        st->checks[MCT_DJ_SINGLE_CAMERA_VIDEO] = MCT_UNKNOWN;
    }
    st->reason[0] = '\0';
    for (int c = 0; c < MCT_DJ_N_CHECKS; c++) {
        if (st->checks[c] == MCT_UNKNOWN) {
            unknown = true;
        } else if (st->checks[c] == MCT_NO) {
            char text[256];
            no = true;
            if (c == MCT_DJ_SUBJECT || c == MCT_DJ_SESSION)
                snprintf(text, sizeof(text), "%s (participant_id '%s')", mct_dj_check_failures[c],
                         k->id);
            else
                snprintf(text, sizeof(text), "%s", mct_dj_check_failures[c]);
            reason_add(st->reason, sizeof(st->reason), text);
        }
    }
    st->error[0] = '\0';
    if (st->checks[MCT_DJ_SQLITE_IMPORTED] == MCT_UNKNOWN && sqlite_why[0]) {
        reason_add(st->reason, sizeof(st->reason), sqlite_why);
        reason_add(st->error, sizeof(st->error), sqlite_why);
    }
    if (st->checks[MCT_DJ_SUBJECT] == MCT_UNKNOWN && mysql_err[0]) {
        reason_add(st->reason, sizeof(st->reason), mysql_err);
        reason_add(st->error, sizeof(st->error), mysql_err);
    }
    st->state = no ? MCT_NO : unknown ? MCT_UNKNOWN : MCT_YES;
}

int mct_dj_check_sessions(const struct mct_config *cfg, const struct mct_session_ref *refs,
                          size_t n, struct mct_dj_status *out)
{
    _cleanup_free_ enum mct_tristate *imported = calloc(n ? n : 1, sizeof(*imported));
    _cleanup_free_ enum mct_tristate(*res)[MCT_DJ_N_CHECKS] = calloc(n ? n : 1, sizeof(*res));
    char sqlite_why[256] = "", mysql_err[320] = "";
    int64_t start = mct_now_ms();
    int r_sqlite = 0, r_mysql = -ENOMEM;

    if (imported && res) {
        r_sqlite = mct_recdb_imported(cfg, refs, n, imported, sqlite_why, sizeof(sqlite_why));
        r_mysql =
                n ? mct_dj_check_mysql_bounded(cfg, refs, n, res, mysql_err, sizeof(mysql_err)) : 0;
    } else {
        snprintf(mysql_err, sizeof(mysql_err), "DataJoint check: out of memory");
        r_sqlite = -ENOMEM;
    }

    for (size_t i = 0; i < n; i++) {
        struct mct_dj_status *st = &out[i];
        for (int c = 0; c < MCT_DJ_N_CHECKS; c++)
            st->checks[c] = r_mysql < 0 || !res ? MCT_UNKNOWN : res[i][c];
        st->checks[MCT_DJ_SQLITE_IMPORTED] = imported ? imported[i] : MCT_UNKNOWN;
        struct dj_key k = {};
        make_key(cfg, &refs[i], &k);
        finish_status(&k, sqlite_why, mysql_err, st);
    }

    if (r_sqlite >= 0 && r_mysql >= 0)
        return 0;
    unsigned timeout = cfg->database_timeout_s;
    return mct_now_ms() - start >= (int64_t)timeout * 1000 ? -ETIMEDOUT : -EIO;
}
