/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The last sync, verify, batch and reclaim, across processes: mctctl's
 * runs, the nightly timer's and the mount's .control all record into one
 * small file, verification.cache_dir/metrics.state, that mctctl metrics
 * and the mount read. The cache folder is the service user's already
 * (both units create it, CacheDirectory=), and losing it loses only when
 * each job last ran, which the next run writes again; the alerts then see
 * "not run", which fails safe.
 *
 * One line per job: "NAME LAST_RUN LAST_OK LAST_SUCCESS". It is changed
 * under an flock of a lock file beside it and replaced by rename, so a
 * reader sees it whole and two writers never lose each other's line.
 */
#include "metrics.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define STATE_NAME "metrics.state"
#define LOCK_NAME  "metrics.lock"
#define STATE_MAX  4096

char *mct_metrics_state_path(const struct mct_config *cfg)
{
    return mct_path_join(cfg->cache_dir, STATE_NAME);
}

static void parse(const char *text, struct mct_job_state jobs[_MCT_JOB_MAX])
{
    _cleanup_free_ char *copy = strdup(text);
    char *save = NULL;
    for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char name[16];
        long long run, success;
        int ok;
        if (sscanf(line, "%15s %lld %d %lld", name, &run, &ok, &success) != 4)
            continue;
        int j = mct_metrics_job_from_name(name);
        if (j < 0 || j == MCT_JOB_DELETION || run < 0 || success < 0)
            continue;
        jobs[j] = (struct mct_job_state){
                .last_run = (time_t)run, .last_ok = ok == 1, .last_success = (time_t)success};
    }
}

int mct_metrics_jobs_read(const struct mct_config *cfg, struct mct_job_state jobs[_MCT_JOB_MAX])
{
    for (int j = 0; j < _MCT_JOB_MAX; j++)
        jobs[j] = (struct mct_job_state){0};
    _cleanup_free_ char *path = mct_metrics_state_path(cfg);
    if (!path)
        return -ENOMEM;
    _cleanup_free_ char *text = NULL;
    int r = mct_read_regular_file_stat(path, O_NOFOLLOW, STATE_MAX, &text, NULL);
    if (r < 0)
        return r == -ENOENT ? 0 : r;
    parse(text, jobs);
    return 0;
}

static int write_state(int dirfd, const struct mct_job_state jobs[_MCT_JOB_MAX])
{
    _cleanup_buf_ struct mct_buf b = {0};
    for (int j = 0; j < _MCT_JOB_MAX; j++)
        if (j != MCT_JOB_DELETION && jobs[j].last_run)
            mct_buf_printf(&b, "%s %lld %d %lld\n", mct_metrics_job_names[j],
                           (long long)jobs[j].last_run, jobs[j].last_ok,
                           (long long)jobs[j].last_success);
    if (b.error)
        return b.error;
    return mct_metrics_write_atomic(dirfd, STATE_NAME, b.data ? b.data : "", b.len, 0640);
}

int mct_metrics_job_record(const struct mct_config *cfg, enum mct_metrics_job job, bool ok)
{
    if (job < 0 || job >= _MCT_JOB_MAX || job == MCT_JOB_DELETION || strempty(cfg->cache_dir))
        return -EINVAL;
    int r = mct_mkdir_p(cfg->cache_dir, 0750);
    if (r < 0 && r != -EEXIST)
        return r;
    _cleanup_close_ int dirfd = open(cfg->cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return -errno;
    _cleanup_close_ int lock =
            openat(dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (lock < 0)
        return -errno;
    /* Held for a read and a small write: waiting is short. */
    if (flock(lock, LOCK_EX) < 0)
        return -errno;

    struct mct_job_state jobs[_MCT_JOB_MAX];
    (void)mct_metrics_jobs_read(cfg, jobs);
    time_t now = time(NULL);
    jobs[job].last_run = now;
    jobs[job].last_ok = ok;
    if (ok)
        jobs[job].last_success = now;
    r = write_state(dirfd, jobs);
    if (r < 0)
        log_debug("cannot record the %s run in %s/%s: %s", mct_metrics_job_names[job],
                  cfg->cache_dir, STATE_NAME, strerror(-r));
    return r;
}
