/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount's root .metrics and metrics.textfile_dir/mctfs.prom: the
 * engine's renderer (metrics.h) over what the model's last sweep counted,
 * the deletion log and job state read after that sweep, and the health
 * and counters as they are now. A read never waits: everything slow was
 * done by the sweep, so a hung share reads as reachable 0 (its health),
 * never as a stalled read. After every sweep the textfile is rewritten.
 */
#pragma once

#include <time.h>

#include "forecast.h"
#include "mctfs.h"
#include "metrics.h"

struct vmetrics;

int vmetrics_new(struct mctfs *fs, struct vmetrics **ret);
void vmetrics_free(struct vmetrics *vm);

/* The sweep's tallies of every session, and its forecast (its last chunk). */
void vmetrics_sessions(struct mctfs *fs, const struct mct_metrics_sessions *s,
                       const struct mct_forecast *f);
/* A sweep ended: read the deletion log and job state again, and rewrite
 * the textfile when metrics.textfile_dir is set. From the sweeper. */
void vmetrics_sweep_ended(struct mctfs *fs);

/* The text of .metrics now, and when what it counts was collected. */
int vmetrics_render(struct mctfs *fs, struct mct_buf *out, struct timespec *mtime);
