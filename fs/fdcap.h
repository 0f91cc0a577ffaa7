/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How many real files the mount holds open, per user and in all. Every
 * open of a real file through the mount holds one descriptor of mctfs
 * until the caller closes it, so one viewer opening a video a thousand
 * times would leave the daemon none for its own work (statuses, DELETE,
 * share probes). Past a user's cap, or past the process limit less a
 * reserve, the opener gets EMFILE ("Too many open files"), as if it had
 * hit its own limit; the daemon keeps the reserve.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Real files one user may hold open through the mount at a time. */
#define FDCAP_PER_UID 256
/* Descriptors kept for the daemon itself: a status walk, rsync's pipes, the
 * database connections, share probes, the folders being listed. */
#define FDCAP_RESERVE 128

struct fdcap;

/* nofile: the process's descriptor limit (RLIMIT_NOFILE, soft). */
int fdcap_new(long nofile, unsigned per_uid, unsigned reserve, struct fdcap **ret);
void fdcap_free(struct fdcap *c);

/* Count one more open by uid: 0, or -EMFILE when uid is at its cap
 * (unless unlimited: root and the mount's owner) or everyone is at the
 * total. */
int fdcap_take(struct fdcap *c, uid_t uid, bool unlimited);
/* The open counted by fdcap_take() was closed. */
void fdcap_put(struct fdcap *c, uid_t uid);

/* The total cap, for the log. */
long fdcap_total(const struct fdcap *c);
