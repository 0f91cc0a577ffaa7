/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "health.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The first retry after a failure comes after BACKOFF_FIRST_MS, each
 * further one after twice as long, up to BACKOFF_MAX_MS: a share that
 * comes back is seen within half a minute, one that stays away costs a
 * probe every half minute. */
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS   30000

struct subject {
    const void *key; /* a destination or a config: stable for the process */
    struct mct_health h;
    bool in_flight;
    int64_t next_ms; /* no new attempt before (monotonic) */
    pid_t stuck;     /* a child that did not die, 0 none */
    struct subject *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t answered = PTHREAD_COND_INITIALIZER;
static struct subject *subjects;

/* With the lock held. NULL only on ENOMEM. */
static struct subject *subject_of(const void *key)
{
    for (struct subject *s = subjects; s; s = s->next)
        if (s->key == key)
            return s;
    struct subject *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->key = key;
    s->next = subjects;
    subjects = s;
    return s;
}

/* Is the stuck child still there? (It is reaped by share.c's reaper
 * thread when the kernel lets it go.) */
static bool still_stuck(struct subject *s)
{
    if (s->stuck > 0 && kill(s->stuck, 0) < 0 && errno == ESRCH)
        s->stuck = 0;
    return s->stuck > 0;
}

static void remembered(const struct subject *s, char *why, size_t whylen)
{
    char when[16] = "?";
    struct tm tm;
    if (localtime_r(&s->h.since, &tm))
        strftime(when, sizeof(when), "%H:%M:%S", &tm);
    snprintf(why, whylen, "%s (since %s)", s->h.why, when);
}

static void timed_wait(int64_t until_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t left = until_ms - mct_now_ms();
    if (left <= 0)
        return;
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&answered, &lock, &ts);
}

static int begin(const void *key, int wait_ms, char *why, size_t whylen)
{
    int64_t until = mct_now_ms() + wait_ms;
    pthread_mutex_lock(&lock);
    struct subject *s = subject_of(key);
    int r = 0;
    while (s && s->in_flight && mct_now_ms() < until)
        timed_wait(until);
    if (!s) {
        r = -ENOMEM;
    } else if (s->in_flight) {
        /* Still waiting for the other attempt: say what is known. */
        r = s->h.failing ? s->h.err : -ETIMEDOUT;
        if (s->h.failing)
            remembered(s, why, whylen);
        else
            snprintf(why, whylen, "no answer yet (a check of it is still running)");
    } else if (s->h.failing && (still_stuck(s) || mct_now_ms() < s->next_ms)) {
        r = s->h.err;
        remembered(s, why, whylen);
    } else {
        s->in_flight = true;
    }
    pthread_mutex_unlock(&lock);
    return r;
}

static void end(const void *key, int r, const char *why, int64_t elapsed_ms)
{
    pthread_mutex_lock(&lock);
    struct subject *s = subject_of(key);
    if (s) {
        s->in_flight = false;
        s->h.checks++;
        s->h.last_ms = elapsed_ms;
        s->h.last_at = time(NULL);
        if (r < 0) {
            if (!s->h.failing)
                s->h.since = s->h.last_at;
            s->h.failing = true;
            s->h.err = r;
            s->h.failures++;
            s->h.fails_in_a_row++;
            snprintf(s->h.why, sizeof(s->h.why), "%s", why ? why : strerror(-r));
            /* Only what costs a timeout waits: "not mounted" or "refused"
             * answer at once, so they are asked again at once. */
            int64_t backoff = r == -ETIMEDOUT ? BACKOFF_FIRST_MS : 0;
            for (unsigned i = 1; backoff && i < s->h.fails_in_a_row && backoff < BACKOFF_MAX_MS;
                 i++)
                backoff *= 2;
            s->next_ms = mct_now_ms() + (backoff < BACKOFF_MAX_MS ? backoff : BACKOFF_MAX_MS);
        } else {
            s->h.failing = false;
            s->h.fails_in_a_row = 0;
            s->h.err = 0;
            s->h.why[0] = '\0';
        }
    }
    pthread_cond_broadcast(&answered);
    pthread_mutex_unlock(&lock);
}

int mct_health_probe_begin(const struct mct_destination *dest, int wait_ms, char *why,
                           size_t whylen)
{
    return begin(dest, wait_ms, why, whylen);
}

void mct_health_probe_end(const struct mct_destination *dest, int r, const char *why,
                          int64_t elapsed_ms)
{
    end(dest, r, why, elapsed_ms);
}

void mct_health_probe_why(const struct mct_destination *dest, char *why, size_t whylen)
{
    pthread_mutex_lock(&lock);
    struct subject *s = subject_of(dest);
    if (s && s->h.failing)
        remembered(s, why, whylen);
    pthread_mutex_unlock(&lock);
}

int mct_health_db_begin(const struct mct_config *cfg, int wait_ms, char *why, size_t whylen)
{
    return begin(cfg, wait_ms, why, whylen);
}

void mct_health_db_end(const struct mct_config *cfg, int r, const char *why, int64_t elapsed_ms)
{
    end(cfg, r, why, elapsed_ms);
}

int mct_health_child_allowed(const struct mct_destination *dest, char *why, size_t whylen)
{
    int r = 0;
    pthread_mutex_lock(&lock);
    struct subject *s = subject_of(dest);
    if (s && still_stuck(s)) {
        r = -ETIMEDOUT;
        if (s->h.failing)
            remembered(s, why, whylen);
        else
            snprintf(why, whylen, "an earlier access is still stuck on the share");
    }
    pthread_mutex_unlock(&lock);
    return r;
}

void mct_health_child_stuck(const struct mct_destination *dest, pid_t pid)
{
    pthread_mutex_lock(&lock);
    struct subject *s = subject_of(dest);
    if (s) {
        s->stuck = pid;
        if (!s->h.failing) {
            s->h.failing = true;
            s->h.since = time(NULL);
            s->h.err = -ETIMEDOUT;
            s->h.fails_in_a_row = 1;
            snprintf(s->h.why, sizeof(s->h.why), "destination '%s' stopped answering", dest->name);
        }
    }
    pthread_mutex_unlock(&lock);
}

static void health_of(const void *key, struct mct_health *out)
{
    *out = (struct mct_health){0};
    pthread_mutex_lock(&lock);
    for (struct subject *s = subjects; s; s = s->next)
        if (s->key == key)
            *out = s->h;
    pthread_mutex_unlock(&lock);
}

void mct_health_of_dest(const struct mct_destination *dest, struct mct_health *out)
{
    health_of(dest, out);
}

void mct_health_of_db(const struct mct_config *cfg, struct mct_health *out)
{
    health_of(cfg, out);
}

void mct_health_reset(void)
{
    pthread_mutex_lock(&lock);
    while (subjects) {
        struct subject *s = subjects;
        subjects = s->next;
        free(s);
    }
    pthread_mutex_unlock(&lock);
}
