/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rig's recording database (SQLite, owned by the acquisition GUI).
 * mctfs only reads it: opened read-only so a missing file is an error rather
 * than a fresh empty database that would say "nothing imported", and with a
 * busy timeout because the GUI may be writing. participant_fin holds
 * identifying numbers and is never read.
 *
 * The file lives in /data, which the rig user owns: its content is theirs
 * to choose, and a schema can make a query run forever (a recursive view)
 * or a name can be a FIFO that blocks the open. So the file is checked on
 * an fd before SQLite sees it, every query has timeouts.database_seconds in
 * all (a progress handler ends it), the schema is untrusted and views,
 * triggers and virtual tables in place of the tables we read are refused.
 * Whatever fails is an unknown answer, and unknown is never safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "recdb.h"

static char *recdb_path(const struct mct_config *cfg)
{
    if (!strempty(cfg->recording_db_path))
        return strdup(cfg->recording_db_path);
    return mct_path_join(cfg->source_base_path, "recordings.db");
}

static int sqlite_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_INTERRUPT:
        return -ETIMEDOUT;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_CANTOPEN:
        return -ENOENT;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    default:
        return -EIO;
    }
}

/* One connection and the moment its work must be done by. */
struct recdb {
    sqlite3 *db;
    char *path;
    const char *name; /* the file's name, for reasons: "recordings.db" */
    int64_t deadline_ms;
    unsigned timeout_s;
};

static void recdb_close(struct recdb *r)
{
    if (r->db)
        sqlite3_close_v2(r->db);
    free(r->path);
}

#define _cleanup_recdb_ _cleanup_(recdb_close)

static void sqlite3_finalizep(sqlite3_stmt **st)
{
    if (*st)
        sqlite3_finalize(*st);
}

#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

/* Called every few virtual machine steps: non-zero interrupts. */
static int past_deadline(void *ud)
{
    const struct recdb *r = ud;
    return mct_now_ms() > r->deadline_ms;
}

static const char *file_kind(mode_t m)
{
    return S_ISDIR(m)                 ? "a directory"
           : S_ISFIFO(m)              ? "a FIFO"
           : S_ISSOCK(m)              ? "a socket"
           : S_ISCHR(m) || S_ISBLK(m) ? "a device"
                                      : "something else";
}

static int recdb_fail(const struct recdb *r, int rc, char *why, size_t whylen)
{
    if ((rc & 0xff) == SQLITE_INTERRUPT)
        snprintf(why, whylen, "%s: no answer within %us (timeouts.database_seconds)", r->name,
                 r->timeout_s);
    else
        snprintf(why, whylen, "recording database %s: %s", r->path, sqlite3_errmsg(r->db));
    return sqlite_errno(rc);
}

/* The tables we read must be plain tables: a view (which may recurse
 * forever) or a virtual table (which runs a module's code) in place of one
 * is the rig user's choice, not the GUI's. Missing ones are left to the
 * query, which names them. */
static int check_tables(struct recdb *r, char *why, size_t whylen)
{
    static const char sql[] = "SELECT name, type, sql FROM sqlite_master"
                              " WHERE lower(name) IN ('participants', 'sessions', 'imported',"
                              " 'recordings') AND type IN ('table', 'view')";
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK)
        return recdb_fail(r, rc, why, whylen);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        const char *text = (const char *)sqlite3_column_text(st, 2);
        if (type && streq(type, "view")) {
            snprintf(why, whylen, "%s: '%s' is a view, not a table", r->name, name ? name : "?");
            return -EINVAL;
        }
        if (text && strncasecmp(text, "CREATE VIRTUAL", strlen("CREATE VIRTUAL")) == 0) {
            snprintf(why, whylen, "%s: '%s' is a virtual table, not a plain table", r->name,
                     name ? name : "?");
            return -EINVAL;
        }
    }
    return rc == SQLITE_DONE ? 0 : recdb_fail(r, rc, why, whylen);
}

static int recdb_open(const struct mct_config *cfg, struct recdb *r, char *why, size_t whylen)
{
    _cleanup_close_ int fd = -1;
    struct stat st;
    char uri[64];
    int rc;

    r->timeout_s = cfg->database_timeout_s;
    r->deadline_ms = mct_now_ms() + (int64_t)r->timeout_s * 1000;
    r->path = recdb_path(cfg);
    if (!r->path)
        return -ENOMEM;
    r->name = strrchr(r->path, '/') ? strrchr(r->path, '/') + 1 : r->path;

    /* O_NONBLOCK: a FIFO opens at once (and is refused below) instead of
     * waiting for a writer. */
    fd = open(r->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        snprintf(why, whylen, "recording database %s: unable to open: %s", r->path, strerror(e));
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "recording database %s: %s, not a regular file", r->path,
                 file_kind(st.st_mode));
        return -EBADFD;
    }
    /* SQLite opens the file we checked through our fd. It resolves the
     * link to the name the file has now (its journal lives beside it), so
     * a file swapped away since the check is not opened at all; only a
     * swap in the instant between that lookup and SQLite's own open is
     * not covered. READONLY never creates the file; "immutable" would skip
     * locking and could read a half-written page while the GUI commits. */
    snprintf(uri, sizeof(uri), "file:/proc/self/fd/%d?mode=ro", fd);
    rc = sqlite3_open_v2(uri, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
                         NULL);
    if (rc != SQLITE_OK) {
        int e = r->db ? sqlite3_system_errno(r->db) : 0;
        snprintf(why, whylen, "recording database %s: unable to open: %s", r->path,
                 e       ? strerror(e)
                 : r->db ? sqlite3_errmsg(r->db)
                         : sqlite3_errstr(rc));
        return sqlite_errno(rc);
    }
    /* Every 32 virtual machine steps: one step may evaluate an expression
     * of the schema's that takes long (every 1000 let a crafted table run
     * 2 s over). A clock read per 32 steps costs nothing measurable here. */
    sqlite3_progress_handler(r->db, 32, past_deadline, r);
    sqlite3_busy_timeout(r->db, (int)r->timeout_s * 1000);
    /* Functions named in the schema (defaults, generated columns, CHECKs)
     * run only when harmless; no trigger or view runs at all. */
    sqlite3_db_config(r->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    sqlite3_db_config(r->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    sqlite3_db_config(r->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, (int *)NULL);
    sqlite3_db_config(r->db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, (int *)NULL);
    rc = sqlite3_exec(r->db, "PRAGMA trusted_schema=OFF; PRAGMA query_only=ON;", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return recdb_fail(r, rc, why, whylen);
    return check_tables(r, why, whylen);
}

/* SQLite has no date type: the GUI stores 'YYYY-MM-DD', older rows may
 * carry a time as well. Anything else is not a session date. */
static bool sqlite_date(const unsigned char *text, char out[MCT_DATE_LEN + 1])
{
    char iso[11];

    if (!text || strlen((const char *)text) < 10)
        return false;
    memcpy(iso, text, 10);
    iso[10] = '\0';
    return mct_date_from_iso(iso, out, MCT_DATE_LEN + 1) == 0 && mct_session_date_valid(out);
}

static int ref_cmp(const void *a, const void *b)
{
    const struct mct_session_ref *x = a, *y = b;
    int c = strcmp(x->session_date, y->session_date);

    return c ? c : strcmp(x->participant_id, y->participant_id);
}

struct ref_index {
    const struct mct_session_ref *ref;
    size_t i;
};

static int index_cmp(const void *a, const void *b)
{
    return ref_cmp(((const struct ref_index *)a)->ref, ((const struct ref_index *)b)->ref);
}

/* Mark every ref equal to key (refs may repeat) in the sorted index. */
static void mark_imported(const struct ref_index *idx, size_t n, const struct mct_session_ref *key,
                          enum mct_tristate *out)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ref_cmp(idx[mid].ref, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < n && ref_cmp(idx[lo].ref, key) == 0; lo++)
        out[idx[lo].i] = MCT_YES;
}

/* The whole date range in one query; the matching happens in C because a
 * read-only connection cannot create a temp table of the wanted keys. */
static int imported_query(struct recdb *db, const char *min_iso, const char *max_iso,
                          const struct ref_index *idx, size_t n, enum mct_tristate *out, char *why,
                          size_t whylen)
{
    static const char sql[] = "SELECT p.name, s.session_date FROM imported i"
                              " JOIN sessions s ON s.id = i.session_id"
                              " JOIN participants p ON p.id = s.participant_id"
                              " WHERE substr(s.session_date, 1, 10) BETWEEN ?1 AND ?2";
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int rc;

    rc = sqlite3_prepare_v2(db->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return recdb_fail(db, rc, why, whylen);
    sqlite3_bind_text(st, 1, min_iso, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, max_iso, -1, SQLITE_STATIC);

    for (size_t i = 0; i < n; i++)
        out[idx[i].i] = MCT_NO;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        struct mct_session_ref key = {};

        if (!name || strlen(name) > MCT_ID_MAX ||
            !sqlite_date(sqlite3_column_text(st, 1), key.session_date))
            continue;
        strcpy(key.participant_id, name);
        mark_imported(idx, n, &key, out);
    }
    if (rc != SQLITE_DONE)
        return recdb_fail(db, rc, why, whylen);
    return 0;
}

int mct_recdb_imported(const struct mct_config *cfg, const struct mct_session_ref *refs, size_t n,
                       enum mct_tristate *out, char *why, size_t whylen)
{
    _cleanup_recdb_ struct recdb db = {};
    _cleanup_free_ struct ref_index *idx = NULL;
    char min_iso[11], max_iso[11];
    int r;

    for (size_t i = 0; i < n; i++)
        out[i] = MCT_UNKNOWN;
    if (n == 0)
        return 0;

    idx = calloc(n, sizeof(*idx));
    if (!idx) {
        snprintf(why, whylen, "recording database: out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = (struct ref_index){.ref = &refs[i], .i = i};
    qsort(idx, n, sizeof(*idx), index_cmp);
    if (mct_date_to_iso(idx[0].ref->session_date, min_iso, sizeof(min_iso)) < 0 ||
        mct_date_to_iso(idx[n - 1].ref->session_date, max_iso, sizeof(max_iso)) < 0) {
        snprintf(why, whylen, "recording database: invalid session date");
        return -EINVAL;
    }

    r = recdb_open(cfg, &db, why, whylen);
    if (r < 0)
        return r;
    r = imported_query(&db, min_iso, max_iso, idx, n, out, why, whylen);
    if (r < 0)
        for (size_t i = 0; i < n; i++)
            out[i] = MCT_UNKNOWN;
    return r;
}

static int bind_date(sqlite3_stmt *st, int col, const char *yyyymmdd)
{
    char iso[11];

    if (!yyyymmdd)
        return sqlite3_bind_null(st, col) == SQLITE_OK ? 0 : -EIO;
    if (mct_date_to_iso(yyyymmdd, iso, sizeof(iso)) < 0)
        return -EINVAL;
    return sqlite3_bind_text(st, col, iso, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -EIO;
}

/* Sort and drop repeats (a session date stored with and without a time). */
static size_t sort_unique(struct mct_session_ref *v, size_t n)
{
    size_t k = 0;

    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), ref_cmp);
    for (size_t i = 1; i < n; i++)
        if (ref_cmp(&v[k], &v[i]) != 0)
            v[++k] = v[i];
    return k + 1;
}

static int collect_sessions(struct recdb *db, sqlite3_stmt *st, struct mct_session_ref **ret,
                            size_t *n_ret, char *why, size_t whylen)
{
    _cleanup_free_ struct mct_session_ref *v = NULL;
    size_t n = 0, cap = 0;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        char date[MCT_DATE_LEN + 1], err[128];

        if (!name || !sqlite_date(sqlite3_column_text(st, 1), date))
            continue;
        if (MCT_RESERVE(v, cap, n, 64) < 0)
            return -ENOMEM;
        /* A name that cannot be a folder name cannot be a local session. */
        if (mct_session_ref_init(&v[n], name, date, err, sizeof(err)) == 0)
            n++;
    }
    if (rc != SQLITE_DONE)
        return recdb_fail(db, rc, why, whylen);
    *n_ret = sort_unique(v, n);
    *ret = TAKE_PTR(v);
    return 0;
}

int mct_recdb_sessions_in_range(const struct mct_config *cfg, const char *start_date,
                                const char *end_date, struct mct_session_ref **ret, size_t *n_ret,
                                char *why, size_t whylen)
{
    static const char sql[] = "SELECT p.name, s.session_date FROM sessions s"
                              " JOIN participants p ON p.id = s.participant_id"
                              " WHERE (?1 IS NULL OR substr(s.session_date, 1, 10) >= ?1)"
                              " AND (?2 IS NULL OR substr(s.session_date, 1, 10) <= ?2)";
    _cleanup_recdb_ struct recdb db = {};
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r, rc;

    *ret = NULL;
    *n_ret = 0;
    r = recdb_open(cfg, &db, why, whylen);
    if (r < 0)
        return r;
    rc = sqlite3_prepare_v2(db.db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return recdb_fail(&db, rc, why, whylen);
    if (bind_date(st, 1, start_date) < 0 || bind_date(st, 2, end_date) < 0) {
        snprintf(why, whylen, "recording database: invalid date range %s..%s",
                 start_date ? start_date : "", end_date ? end_date : "");
        return -EINVAL;
    }
    return collect_sessions(&db, st, ret, n_ret, why, whylen);
}
