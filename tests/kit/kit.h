/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The integration tests' kit: the lab (a private MariaDB on a unix socket
 * with the DataJoint tables, a real SQLite recording database, a tmpfs as
 * the network share and a backup_config.yaml pointing at all of it, set up
 * and changed through tests/lab/lab.sh), the programs under test run and
 * watched, mctfs mounts, and probes of what is on disk (digests, the
 * deletion log, the trash).
 *
 * Written for the tests only: helpers assert (ck_assert) instead of
 * returning errors, unless said otherwise. Binaries come from the
 * environment meson sets: MCTCTL, MCTFS, HANGFS, FOLDFS, LAB_SH.
 *
 *   lab.c    the lab: up and down, lab.sh, sessions, config variants
 *   run.c    programs run to their end, their output captured; mctctl
 *   procs.c  programs in the background, /proc probes
 *   files.c  files, digests, the deletion log and the trash
 *   mount.c  mctfs mounts, virtual files, .control; hangfs and foldfs
 *   users.c  users made for the run, and becoming one
 */
#pragma once

#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "util.h"

static inline void kit_closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(kit_closedirp)

/* ---- the lab (lab.c) ---- */

struct kit_lab {
    char dir[256];       /* /tmp/mctfs-lab.XXXXXX */
    char config[320];    /* DIR/backup_config.yaml */
    char data[320];      /* DIR/data: source base, recordings.db inside */
    char share[320];     /* DIR/share: the tmpfs mount point */
    char dest_base[320]; /* DIR/share/mobile_system_data */
    char socket[320];    /* DIR/mysql.sock */
};

/* The lab of the test program; every helper below that does not take a
 * lab works on this one. */
extern struct kit_lab lab;

/* `lab.sh up DIR`: start everything. Aborts the test program on failure. */
void kit_lab_up(struct kit_lab *l);
/* `lab.sh up --tls`: the same, the server also on 127.0.0.1 with TLS only
 * (DIR/tls: ca.pem, wrong-ca.pem, port), the config verifying it. */
void kit_lab_up_tls(struct kit_lab *l);
/* `lab.sh down DIR`: stop the server, unmount, remove the dir. */
void kit_lab_down(struct kit_lab *l);
/* Run `$LAB_SH <formatted text>` through /bin/sh with LAB=l->dir in the
 * environment; returns its exit status (the output shown when it failed).
 * E.g. kit_lab_sh(&lab, "session p001 20250104 --imported --dj --copy"). */
int kit_lab_sh(const struct kit_lab *l, const char *fmt, ...) _printf_(2, 3);
/* The same on the lab, asserting success. */
void kit_lab_ok(const char *fmt, ...) _printf_(1, 2);

/* Fixtures: lab up / kill what a test left running, lab down (which
 * unmounts everything under it). */
void kit_setup(void);
void kit_teardown(void);
/* Without the lab's services: lab.dir only, a fresh /tmp dir (no config,
 * database or share) / kill what a test left running, detach the mounts
 * below lab.dir, remove it. */
void kit_setup_bare(void);
void kit_teardown_bare(void);

/* DIR/data/P/D and DIR/share/mobile_system_data/D/P. */
void kit_source_path(const char *p, const char *d, char *out, size_t len);
void kit_dest_path(const char *p, const char *d, char *out, size_t len);
bool kit_session_exists(const char *p, const char *d);

/* `lab.sh session ARGS`, asserting success. */
void kit_session(const char *fmt, ...) _printf_(1, 2);
/* A session folder written directly (no database rows, no copy): n videos
 * of size bytes plus a .json, dated three hours back. Fast, for many. */
void kit_plain_session(const char *p, const char *d, int videos, size_t size);
/* Rows in recordings.db for the sessions (participants, sessions,
 * recordings), in one transaction; refs as "p:d" strings. */
void kit_recdb_add(const char *const *pd, size_t n);

/* A copy of the lab's config with every occurrence of from replaced by to
 * and extra appended (either may be NULL); path in a static buffer. */
const char *kit_config_variant(const char *name, const char *from, const char *to,
                               const char *extra);
/* The lab's config itself with the first occurrence of from replaced by
 * to, for tests whose commands all read lab.config; the first edit keeps
 * the original, which kit_config_restore puts back (a checked fixture). */
void kit_config_edit(const char *from, const char *to);
void kit_config_restore(void);
/* The lab's config, loaded by the engine. */
struct mct_config *kit_load_config(void);
/* The session lock of P/D, as a command holds it (also when the session
 * folder is gone, as for one in the trash); the fd holding it. */
int kit_hold_session_lock(const char *p, const char *d);

/* ---- programs run to their end (run.c) ---- */

struct kit_result {
    int status; /* exit code, or 128+signal */
    char *out;  /* stdout, NUL-terminated */
    char *err;  /* stderr */
};

/* $NAME, asserting it is set (the tests run through meson test). */
const char *kit_env(const char *name);
/* Run argv (argv[0] looked up in PATH unless it has a '/'), feeding stdin_text
 * (NULL = /dev/null), capturing stdout and stderr. Returns r->status. */
int kit_run(char *const argv[], const char *stdin_text, struct kit_result *r);
/* kit_run, asserting exit 0 (the output shown when not). */
void kit_run_ok(char *const argv[]);
void kit_result_free(struct kit_result *r);
/* mctctl -c CONFIG ARGS... (NULL-terminated), NULL config = the lab's. */
int kit_mctctl(const char *config, const char *stdin_text, struct kit_result *r, ...)
        __attribute__((sentinel));
/* mctctl --no-color ARGS (NULL-terminated) as kit_mctctl: its stdout and
 * stderr in one string; its exit status must be want (-1: any). */
char *kit_mctctl_out(int want, const char *config, const char *stdin_text, ...)
        __attribute__((sentinel));
/* `sh -c CMD`, returning its exit status (output shown when it failed). */
int kit_shell(const char *fmt, ...) _printf_(1, 2);

/* srunner boilerplate: runs the suite verbosely (each test's name and
 * time); EXIT_SUCCESS when every test passed. */
int kit_run_suite(Suite *s);

/* ---- programs in the background (procs.c) ---- */

void kit_sleep_ms(unsigned ms);
/* argv with stdin from stdin_path (NULL: /dev/null), stdout and stderr to
 * log; env entries "K=V" added (NULL-terminated, may be NULL). The pid is
 * remembered in the lab, so the teardown kills what a failed test left. */
pid_t kit_spawn(char *const argv[], const char *stdin_path, const char *log, char *const env_add[]);
/* `mctctl [-c config] delete P D` with DELETE typed, in the background
 * (env: "MCT_TEST_STOP_AT=..." or NULL); its output goes to the log named
 * in log (LAB/delete-P.log). */
pid_t kit_spawn_delete(const char *config, const char *p, const char *d, const char *env, char *log,
                       size_t len);
/* Exit status (128+signal when killed) within ms, or -1. */
int kit_wait_exit(pid_t pid, unsigned ms);
/* Until pid stopped itself (SIGSTOP at an MCT_TEST_STOP_AT point),
 * failing when it exits first or ms pass. */
void kit_wait_stopped(pid_t pid, unsigned ms);
/* The state letter of /proc/PID/stat ('R', 'S', 'T', ...), 0 if gone. */
char kit_proc_state(pid_t pid);
/* Every live process whose parent is ppid and whose comm is comm. */
size_t kit_children(pid_t ppid, const char *comm, pid_t *out, size_t max);
/* Is any process of process group pgid alive (zombies excluded)? */
bool kit_pgrp_alive(pid_t pgid);
/* VmHWM of pid in kB, -1 if unknown. */
long kit_vmhwm_kb(pid_t pid);
/* Kill every process kit_spawn remembered in lab.dir (the teardowns). */
void kit_kill_remembered(void);

/* ---- files (files.c) ---- */

bool kit_exists(const char *path);
char *kit_slurp(const char *path, size_t *len); /* NULL with errno on failure */
/* kit_slurp, asserting success. */
char *kit_slurp_ok(const char *path, size_t *len);
void kit_write_file(const char *path, const char *text);
/* Append to (or create) dir/name, then date it three hours back, so the
 * age rule does not hide what the test is about. */
void kit_append_old(const char *dir, const char *name, const char *text);

/* Every entry under root, recursively, never following a symlink: type,
 * relative path, size and an FNV-1a hash of the bytes (of the link text
 * for a symlink). "" when root does not exist. */
char *kit_tree_digest(const char *root);
/* The digest of P/D in the source, asserting it is there and not empty. */
char *kit_session_digest(const char *p, const char *d);
/* Entries directly in dir (names not starting with '.' unless all). */
size_t kit_count_entries(const char *dir, bool all);
/* Does readdir of dir return name? */
bool kit_dir_lists(const char *dir, const char *name);

/* Lines of the deletion log about P/D with that result (NULL: any). */
size_t kit_log_count(const char *p, const char *d, const char *result);
/* The first of them, asserting there is one. */
char *kit_log_line(const char *p, const char *d, const char *result);

/* The lab's trash: DATA/.mctfs-trash (in a static buffer). */
const char *kit_trash_dir(void);
bool kit_trash_empty(void);
/* The folder of the trash entry of participant p, false when none. */
bool kit_trash_entry(const char *p, char *out, size_t len);
/* The journal of the trash entry of participant p: its "state" value, or
 * NULL when there is none. */
char *kit_trash_state(const char *p);

/* ---- mctfs mounts (mount.c) ---- */

struct kit_mount {
    char dir[400];
    char log[420];
    pid_t pid;
};

bool kit_is_mounted(const char *path);
/* mctfs -c CONFIG DIR -f on a fresh DIR under the lab (NULL config: the
 * lab's; env: as kit_spawn). */
void kit_mount(struct kit_mount *m, const char *config, char *const env_add[]);
/* The same with mctfs's -o OPTIONS ("allow_other"; NULL: none). */
void kit_mount_with(struct kit_mount *m, const char *config, const char *options,
                    char *const env_add[]);
/* fusermount3 -u, expect mctfs to exit 0 (nothing when not mounted). */
void kit_unmount(struct kit_mount *m);
/* After an unmount or a SIGTERM: mctfs must exit 0 within 15 s. */
void kit_assert_clean_exit(struct kit_mount *m);
/* After mctfs died: detach the dead mount. */
void kit_unmount_dead(struct kit_mount *m);
/* fusermount3 FLAGS PATH; its exit status. */
int kit_fusermount(const char *flags, const char *path);
/* MOUNT/rel as a path. */
void kit_mpath(const struct kit_mount *m, char *out, size_t len, const char *fmt, ...)
        _printf_(4, 5);
/* A virtual file of P/D, read whole (asserts success). */
char *kit_vfile(const struct kit_mount *m, const char *p, const char *d, const char *name);
/* A value of the mount's .metrics: a metric with no label but rig. */
unsigned long kit_mount_metric(const struct kit_mount *m, const char *name);
/* Open P/D/.control O_WRONLY|O_TRUNC, as `echo TEXT > .control` does, and
 * write len bytes: the result, errno in *err (-1 with open's errno when
 * the open fails). */
ssize_t kit_control_write(const struct kit_mount *m, const char *p, const char *d, const void *text,
                          size_t len, int *err);

/* hangfs (a FUSE file system whose stat and readdir block forever) on a
 * fresh folder under the lab; its pid. */
pid_t kit_hangfs_start(char *dir, size_t len);
void kit_hangfs_stop(pid_t pid, const char *dir);
/* foldfs (a passthrough of backing that folds case like the SMB share) on
 * a fresh mount point folder under lab.dir, written to mountpoint; waits
 * until it is mounted, and the pid is remembered for the teardown. */
pid_t kit_foldfs_start(const char *backing, char *mountpoint, size_t len);
/* fusermount3 -u; asserts it worked and that foldfs exited 0 (else kills
 * it and detaches the mount first, so nothing is left behind). */
void kit_foldfs_stop(pid_t pid, const char *mountpoint);

/* ---- users made for the run (users.c) ---- */

/* A user without home or login shell (a leftover of a killed run is
 * deleted first); its uid and gid (either may be NULL). */
void kit_user_add(const char *name, uid_t *uid, gid_t *gid);
/* userdel; its exit status. */
int kit_user_del(const char *name);
/* In a child: become uid:gid with no supplementary groups; 0 or -errno. */
int kit_become(uid_t uid, gid_t gid);

/* ---- assertions on text ---- */

#define kit_assert_starts(s, prefix)                                                               \
    ck_assert_msg(startswith((s), (prefix)), "expected \"%s...\", got \"%s\"", (prefix), (s))
#define kit_assert_has(s, needle)                                                                  \
    ck_assert_msg(strstr((s), (needle)), "no \"%s\" in:\n%s", (needle), (s))
#define kit_assert_lacks(s, needle)                                                                \
    ck_assert_msg(!strstr((s), (needle)), "unexpected \"%s\" in:\n%s", (needle), (s))
