/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every renderer of the metrics shares (metrics.h), gathered without
 * waiting on a share or a database: their health is what health.h
 * remembers of the last probe and check, the jobs are a small local file,
 * the deletion log a local file read from where the last call stopped.
 */
#include "metrics.h"

#include "log.h"

void mct_metrics_health(const struct mct_config *cfg, struct mct_metrics *m,
                        struct mct_metrics_dest *dests)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_destinations; i++) {
        const struct mct_destination *d = &cfg->destinations[i];
        if (!d->enabled)
            continue;
        struct mct_metrics_dest *md = &dests[n++];
        md->name = d->name;
        mct_health_of_dest(d, &md->h);
        /* A destination stuck since a child hung is failing without an
         * ended probe. */
        md->known = md->h.last_at != 0 || md->h.failing;
    }
    m->dests = dests;
    m->n_dests = n;
    mct_health_of_db(cfg, &m->db);
    m->db_known = m->db.last_at != 0 || m->db.failing;
}

int mct_metrics_gather(const struct mct_config *cfg, char *rig, size_t rig_len,
                       struct mct_dlog_tally *dlog, struct mct_metrics *m,
                       struct mct_metrics_dest **dests)
{
    mct_metrics_rig(cfg, rig, rig_len);
    m->rig = rig;
    m->now = time(NULL);
    m->reclaim_enabled = cfg->reclaim.enabled;
    *dests = calloc(cfg->n_destinations ? cfg->n_destinations : 1, sizeof(**dests));
    if (!*dests)
        return -ENOMEM;
    mct_metrics_health(cfg, m, *dests);

    int r = mct_metrics_jobs_read(cfg, m->jobs);
    if (r < 0)
        log_debug("cannot read the metrics state in %s: %s", cfg->cache_dir, strerror(-r));
    r = mct_dlog_tally_update(cfg->deletion_log_path, dlog);
    if (r < 0 && r != -ENOENT)
        log_debug("cannot read the deletion log %s: %s", cfg->deletion_log_path, strerror(-r));
    m->have_dlog = r >= 0 || r == -ENOENT;
    m->dlog = *dlog;
    m->jobs[MCT_JOB_DELETION] = dlog->last;
    return 0;
}
