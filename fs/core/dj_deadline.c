/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "dj_deadline.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "health.h"
#include "util.h"

/* What the check thread and its caller share; the last one out frees it
 * (the caller may have given up and left). */
struct job {
    const struct mct_config *key; /* the caller's config: the health key only */
    struct mct_config cfg;        /* what the check reads, the thread's own copy: the
                                   * caller may free its config while the thread runs */
    struct mct_session_ref *refs;
    size_t n;
    enum mct_tristate (*res)[MCT_DJ_N_CHECKS];
    char err[320];
    int r;
    int sock; /* the connection's socket once it is up, else -1 */
    bool done;
    bool abandoned; /* the caller gave up: the thread says when it ends */
    int refs_held;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

/* The part of a config a DataJoint check reads, copied. -ENOMEM. */
static int config_copy(struct mct_config *to, const struct mct_config *from)
{
    *to = (struct mct_config){0};
    to->database_timeout_s = from->database_timeout_s;
    to->datajoint = from->datajoint;
    char **strings[] = {&to->datajoint.host,           &to->datajoint.user,
                        &to->datajoint.password,       &to->datajoint.password_file,
                        &to->datajoint.socket,         &to->datajoint.ca_file,
                        &to->datajoint.cert_file,      &to->datajoint.key_file,
                        &to->datajoint.config_file,    &to->datajoint.sessions_schema,
                        &to->datajoint.tracking_schema};
    int r = 0;
    for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
        if (*strings[i] && !(*strings[i] = strdup(*strings[i])))
            r = -ENOMEM;
    return r;
}

static void config_copy_free(struct mct_config *c)
{
    char *strings[] = {c->datajoint.host,           c->datajoint.user,
                       c->datajoint.password,       c->datajoint.password_file,
                       c->datajoint.socket,         c->datajoint.ca_file,
                       c->datajoint.cert_file,      c->datajoint.key_file,
                       c->datajoint.config_file,    c->datajoint.sessions_schema,
                       c->datajoint.tracking_schema};
    /* The password, gone from memory with the copy. */
    if (c->datajoint.password)
        explicit_bzero(c->datajoint.password, strlen(c->datajoint.password));
    for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
        free(strings[i]);
}

static void job_unref(struct job *j)
{
    pthread_mutex_lock(&j->lock);
    bool last = --j->refs_held == 0;
    pthread_mutex_unlock(&j->lock);
    if (!last)
        return;
    free(j->refs);
    free(j->res);
    config_copy_free(&j->cfg);
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

/* Check threads alive, given up on or not: the config they read must
 * outlive them. */
static int running;

bool mct_dj_checks_running(void)
{
    return __atomic_load_n(&running, __ATOMIC_ACQUIRE) > 0;
}

static void *run(void *arg)
{
    struct job *j = arg;
    int r = mct_dj_check_mysql(&j->cfg, j->refs, j->n, j->res, &j->sock, j->err, sizeof(j->err));
    pthread_mutex_lock(&j->lock);
    j->r = r;
    j->done = true;
    bool abandoned = j->abandoned;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
    if (abandoned)
        mct_health_db_lingering(j->key, -1);
    job_unref(j);
    __atomic_sub_fetch(&running, 1, __ATOMIC_ACQ_REL);
    return NULL;
}

static struct job *job_new(const struct mct_config *cfg, const struct mct_session_ref *refs,
                           size_t n)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->refs = malloc(n * sizeof(*refs));
    j->res = calloc(n, sizeof(*j->res));
    if (!j->refs || !j->res) {
        free(j->refs);
        free(j->res);
        free(j);
        return NULL;
    }
    memcpy(j->refs, refs, n * sizeof(*refs));
    j->key = cfg;
    if (config_copy(&j->cfg, cfg) < 0) {
        config_copy_free(&j->cfg);
        free(j->refs);
        free(j->res);
        free(j);
        return NULL;
    }
    j->n = n;
    j->sock = -1;
    j->refs_held = 2;
    pthread_mutex_init(&j->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cond, &ca);
    pthread_condattr_destroy(&ca);
    return j;
}

/* Wait for the job until the deadline; true when it ended. */
/* Wait for the job until the deadline; true when it ended, else it is
 * marked abandoned (and counted as lingering until it ends). */
static bool wait_done(struct job *j, unsigned seconds)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += seconds;
    pthread_mutex_lock(&j->lock);
    while (!j->done && pthread_cond_timedwait(&j->cond, &j->lock, &deadline) != ETIMEDOUT)
        ;
    bool done = j->done;
    if (!done) {
        j->abandoned = true;
        mct_health_db_lingering(j->key, +1);
    }
    pthread_mutex_unlock(&j->lock);
    return done;
}

static int bounded(const struct mct_config *cfg, const struct mct_session_ref *refs, size_t n,
                   enum mct_tristate (*res)[MCT_DJ_N_CHECKS], char *err, size_t errlen)
{
    unsigned seconds = cfg->database_timeout_s;
    struct job *j = job_new(cfg, refs, n);
    pthread_t t;
    __atomic_add_fetch(&running, 1, __ATOMIC_ACQ_REL);
    if (!j || pthread_create(&t, NULL, run, j) != 0) {
        __atomic_sub_fetch(&running, 1, __ATOMIC_ACQ_REL);
        if (j) {
            j->refs_held = 1;
            job_unref(j);
        }
        snprintf(err, errlen, "DataJoint check: cannot start it");
        return -ENOMEM;
    }
    int r;
    if (wait_done(j, seconds)) {
        /* Joined, not detached: the thread's own state (the client
         * library's and OpenSSL's thread-locals) is gone when we return,
         * so a program may end at once without leaving it half freed. */
        pthread_join(t, NULL);
        r = j->r;
        snprintf(err, errlen, "%s", j->err);
        if (r >= 0)
            memcpy(res, j->res, n * sizeof(*res));
    } else {
        pthread_detach(t);
        /* Cut it off: its reads end now, the thread cleans up after. */
        int sock = __atomic_load_n(&j->sock, __ATOMIC_ACQUIRE);
        if (sock >= 0)
            (void)shutdown(sock, SHUT_RDWR);
        r = -ETIMEDOUT;
        char where[256];
        const char *host = mct_dj_host(cfg);
        snprintf(where, sizeof(where), "%s%s%s", host, cfg->datajoint.socket ? " socket " : "",
                 cfg->datajoint.socket ? cfg->datajoint.socket : "");
        snprintf(err, errlen,
                 "DataJoint database %s: the check did not finish within %u s (a slow or stuck "
                 "server; timeouts.database_seconds)",
                 where, seconds);
    }
    job_unref(j);
    return r;
}

int mct_dj_check_mysql_bounded(const struct mct_config *cfg, const struct mct_session_ref *refs,
                               size_t n, enum mct_tristate (*res)[MCT_DJ_N_CHECKS], char *err,
                               size_t errlen)
{
    unsigned seconds = cfg->database_timeout_s;
    /* One attempt at a time; a server that timed out waits out its
     * backoff and is answered for meanwhile. */
    int r = mct_health_db_begin(cfg, (int)seconds * 1000 + 1000, err, errlen);
    if (r < 0)
        return r;
    int64_t t0 = mct_now_ms();
    r = bounded(cfg, refs, n, res, err, errlen);
    /* Every failure is the database's state (metrics, "since"); only a
     * timeout waits out a backoff (health.c). */
    mct_health_db_end(cfg, r < 0 ? r : 0, err, mct_now_ms() - t0);
    return r;
}
