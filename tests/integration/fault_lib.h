/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the fault-injection, concurrency and bad-input tests
 * (test_faults_*.c, test_concurrency.c, test_bad_input.c): one lab per
 * program, digests that prove no file was lost, config variants, programs
 * in the background with their pids remembered (so a failed test's
 * leftovers are killed by the teardown), and mctfs mounts.
 */
#pragma once

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"
#include "util.h"

extern struct lab lab;

/* Fixtures: lab_up / kill what a test left running, unmount, lab_down. */
void fl_setup(void);
void fl_teardown(void);
/* Without the lab's services: lab.dir only, a fresh /tmp dir (no config,
 * database or share) / kill what a test left running, detach the mounts
 * below lab.dir, remove it. */
void fl_setup_bare(void);
void fl_teardown_bare(void);

void fl_sleep_ms(unsigned ms);

/* `lab.sh session ARGS`, asserting success. */
void fl_session(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A session folder written directly (no database rows, no copy): n videos
 * of size bytes plus a .json, dated three hours back. Fast, for many. */
void fl_plain_session(const char *p, const char *d, int videos, size_t size);
/* Rows in recordings.db for the sessions (participants, sessions,
 * recordings), in one transaction; refs as "p:d" strings. */
void fl_recdb_add(const char *const *pd, size_t n);
/* `sh -c CMD`, returning its exit status (output shown when it failed). */
int fl_shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool fl_exists(const char *path);
char *fl_slurp(const char *path, size_t *len); /* NULL with errno on failure */
void fl_write_file(const char *path, const char *text);

/* Every entry under root, recursively, never following a symlink: type,
 * relative path, size and an FNV-1a hash of the bytes (of the link text
 * for a symlink). "" when root does not exist. */
char *fl_tree_digest(const char *root);
char *fl_session_digest(const char *p, const char *d);
/* Entries directly in dir (names not starting with '.' unless all). */
size_t fl_count_entries(const char *dir, bool all);

/* Lines of the deletion log about P/D with that result (NULL: any). */
size_t fl_log_count(const char *p, const char *d, const char *result);
bool fl_trash_empty(void);
/* The journal of the trash entry of participant p: its "state" value, or
 * NULL when there is none. */
char *fl_trash_state(const char *p);

/* A copy of the lab's config with every occurrence of from replaced by to
 * and extra appended (either may be NULL); path in a static buffer. */
const char *fl_config_variant(const char *name, const char *from, const char *to,
                              const char *extra);

/* mctctl -c CONFIG ARGS... (NULL-terminated), NULL config = the lab's. */
int fl_mctctl(const char *config, const char *stdin_text, struct run_result *r, ...)
        __attribute__((sentinel));

/* Background processes: argv with stdin from stdin_path (NULL: /dev/null),
 * stdout and stderr to log; env entries "K=V" added (NULL-terminated, may
 * be NULL). The pid is remembered for the teardown. */
pid_t fl_spawn(char *const argv[], const char *stdin_path, const char *log, char *const env_add[]);
/* Exit status (128+signal when killed) within ms, or -1. */
int fl_wait_exit(pid_t pid, unsigned ms);
/* The state letter of /proc/PID/stat ('R', 'S', 'T', ...), 0 if gone. */
char fl_proc_state(pid_t pid);
/* Every live process whose parent is ppid and whose comm is comm. */
size_t fl_children(pid_t ppid, const char *comm, pid_t *out, size_t max);
/* Is any process of process group pgid alive (zombies excluded)? */
bool fl_pgrp_alive(pid_t pgid);
/* VmHWM of pid in kB, -1 if unknown. */
long fl_vmhwm_kb(pid_t pid);

/* ---- mctfs mounts ---- */

struct fl_mount {
    char dir[400];
    char log[420];
    pid_t pid;
};

bool fl_is_mounted(const char *path);
/* mctfs -c CONFIG DIR -f on a fresh DIR under the lab (env: as fl_spawn). */
void fl_mount(struct fl_mount *m, const char *config, char *const env_add[]);
/* The same with mctfs's -o OPTIONS ("allow_other"; NULL: none). */
void fl_mount_with(struct fl_mount *m, const char *config, const char *options,
                   char *const env_add[]);
/* fusermount3 -u, expect mctfs to exit 0. */
void fl_unmount(struct fl_mount *m);
/* After mctfs died: detach the dead mount. */
void fl_unmount_dead(struct fl_mount *m);
/* MOUNT/rel as a path. */
void fl_mpath(const struct fl_mount *m, char *out, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* A virtual file of P/D, read whole (asserts success). */
char *fl_vfile(const struct fl_mount *m, const char *p, const char *d, const char *name);
/* Open P/D/.control O_WRONLY|O_TRUNC and write len bytes: the result,
 * errno in *err. */
ssize_t fl_control_write(const struct fl_mount *m, const char *p, const char *d, const void *text,
                         size_t len, int *err);

/* hangfs (a FUSE file system whose stat and readdir block forever) on a
 * fresh folder under the lab; its pid. */
pid_t fl_hangfs_start(char *dir, size_t len);
void fl_hangfs_stop(pid_t pid, const char *dir);

/* foldfs (a passthrough of backing that folds case like the SMB share) on
 * a fresh mount point folder under lab.dir, written to mountpoint; waits
 * until it is mounted, and the pid is remembered for the teardown. */
pid_t fl_foldfs_start(const char *backing, char *mountpoint, size_t len);
/* fusermount3 -u; asserts it worked and that foldfs exited 0 (else kills
 * it and detaches the mount first, so nothing is left behind). */
void fl_foldfs_stop(pid_t pid, const char *mountpoint);

#define fl_assert_starts(s, prefix)                                                                \
    ck_assert_msg(startswith((s), (prefix)), "expected \"%s...\", got \"%s\"", (prefix), (s))
#define fl_assert_has(s, needle)                                                                   \
    ck_assert_msg(strstr((s), (needle)), "no \"%s\" in:\n%s", (needle), (s))
#define fl_assert_lacks(s, needle)                                                                 \
    ck_assert_msg(!strstr((s), (needle)), "unexpected \"%s\" in:\n%s", (needle), (s))

/* srunner boilerplate: runs the suite, prints each test's time. */
int fl_run_suite(Suite *s);
