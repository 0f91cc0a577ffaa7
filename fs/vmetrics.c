/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmetrics.h"

#include <errno.h>
#include <pthread.h>

#include "inode.h"
#include "log.h"
#include "model.h"

struct vmetrics {
    pthread_mutex_t lock;
    char rig[256];
    bool have_sessions;
    struct mct_metrics_sessions sessions;
    time_t sessions_at;
    struct mct_forecast forecast;
    struct timespec changed; /* when the last sweep's tallies came */
    /* Read after each sweep, in the sweeper: local files, but files. */
    struct mct_dlog_tally dlog;
    bool have_dlog;
    struct mct_job_state jobs[_MCT_JOB_MAX];
    int write_error; /* the last textfile write's, logged when it changes */
};

/* With vm->lock held: the deletion log (from where the last read
 * stopped) and the job state. */
static void read_files(struct mctfs *fs, struct vmetrics *vm)
{
    int r = mct_dlog_tally_update(fs->cfg->deletion_log_path, &vm->dlog);
    vm->have_dlog = r >= 0 || r == -ENOENT;
    (void)mct_metrics_jobs_read(fs->cfg, vm->jobs);
    vm->jobs[MCT_JOB_DELETION] = vm->dlog.last;
}

int vmetrics_new(struct mctfs *fs, struct vmetrics **ret)
{
    struct vmetrics *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return -ENOMEM;
    pthread_mutex_init(&vm->lock, NULL);
    mct_metrics_rig(fs->cfg, vm->rig, sizeof(vm->rig));
    clock_gettime(CLOCK_REALTIME, &vm->changed);
    read_files(fs, vm);
    *ret = vm;
    return 0;
}

void vmetrics_free(struct vmetrics *vm)
{
    if (!vm)
        return;
    pthread_mutex_destroy(&vm->lock);
    free(vm);
}

void vmetrics_sessions(struct mctfs *fs, const struct mct_metrics_sessions *s,
                       const struct mct_forecast *f)
{
    struct vmetrics *vm = fs->metrics;
    if (!vm)
        return;
    pthread_mutex_lock(&vm->lock);
    vm->sessions = *s;
    vm->forecast = *f;
    vm->have_sessions = true;
    vm->sessions_at = time(NULL);
    clock_gettime(CLOCK_REALTIME, &vm->changed);
    pthread_mutex_unlock(&vm->lock);
}

int vmetrics_render(struct mctfs *fs, struct mct_buf *out, struct timespec *mtime)
{
    struct vmetrics *vm = fs->metrics;
    _cleanup_free_ struct mct_metrics_dest *dests =
            calloc(fs->cfg->n_destinations ? fs->cfg->n_destinations : 1, sizeof(*dests));
    if (!vm || !dests)
        return -ENOMEM;
    struct model_counters mc = {0};
    if (fs->model)
        model_counters(fs->model, &mc);
    struct mct_metrics_mount mount = {
            .sweeps = mc.sweeps,
            .source_walks = mc.source_walks,
            .lookups = mctfs_lookups(),
            .inodes = inode_count(),
            .last_sweep_seconds = (double)mc.last_sweep_ms / 1000.0,
            .last_sweep_at = mc.last_sweep_at,
    };
    struct mct_metrics m = {
            .rig = vm->rig,
            .now = time(NULL),
            .reclaim_enabled = fs->cfg->reclaim.enabled,
            .mount = &mount,
    };
    mct_metrics_health(fs->cfg, &m, dests);

    pthread_mutex_lock(&vm->lock);
    m.have_sessions = m.have_forecast = vm->have_sessions;
    m.sessions = vm->sessions;
    m.sessions_at = vm->sessions_at;
    m.forecast = vm->forecast;
    m.have_dlog = vm->have_dlog;
    m.dlog = vm->dlog;
    memcpy(m.jobs, vm->jobs, sizeof(m.jobs));
    if (mtime)
        *mtime = vm->changed;
    pthread_mutex_unlock(&vm->lock);
    return mct_metrics_render(&m, out);
}

void vmetrics_sweep_ended(struct mctfs *fs)
{
    struct vmetrics *vm = fs->metrics;
    if (!vm)
        return;
    pthread_mutex_lock(&vm->lock);
    read_files(fs, vm);
    pthread_mutex_unlock(&vm->lock);

    const char *dir = fs->cfg->metrics.textfile_dir;
    if (!dir)
        return;
    _cleanup_buf_ struct mct_buf b = {};
    int r = vmetrics_render(fs, &b, NULL);
    if (r >= 0)
        r = mct_metrics_write_textfile(dir, b.data, b.len);
    /* Once per change, not once per sweep. */
    if (r < 0 && r != vm->write_error)
        log_warning_errno(r, "cannot write %s/" MCT_METRICS_TEXTFILE, dir);
    else if (r >= 0 && vm->write_error < 0)
        log_notice("writing %s/" MCT_METRICS_TEXTFILE " again", dir);
    vm->write_error = r < 0 ? r : 0;
}
