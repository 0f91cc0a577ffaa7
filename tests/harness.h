/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The integration tests' lab: a private MariaDB on a unix socket in a temp
 * dir with the DataJoint tables, a real SQLite recording database, a tmpfs
 * mounted as the network share, and a backup_config.yaml pointing at all of
 * it. Set up and changed through tests/lab/lab.sh (the shell is fine for
 * test fixtures; the product never uses one). Binaries come from the
 * environment meson sets: MCTCTL, MCTFS, LAB_SH.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct lab {
    char dir[256];       /* /tmp/mctfs-lab.XXXXXX */
    char config[320];    /* DIR/backup_config.yaml */
    char data[320];      /* DIR/data: source base, recordings.db inside */
    char share[320];     /* DIR/share: the tmpfs mount point */
    char dest_base[320]; /* DIR/share/mobile_system_data */
    char socket[320];    /* DIR/mysql.sock */
};

struct run_result {
    int status; /* exit code, or 128+signal */
    char *out;  /* stdout, NUL-terminated */
    char *err;  /* stderr */
};

/* `lab.sh up DIR`: start everything. Aborts the test program on failure. */
void lab_up(struct lab *lab);
/* `lab.sh up --tls`: the same, the server also on 127.0.0.1 with TLS only
 * (DIR/tls: ca.pem, wrong-ca.pem, port), the config verifying it. */
void lab_up_tls(struct lab *lab);
/* `lab.sh down DIR`: stop the server, unmount, remove the dir. */
void lab_down(struct lab *lab);

/* Run `$LAB_SH <formatted text>` through /bin/sh with LAB=lab->dir in the
 * environment; returns its exit status.
 * E.g. lab_sh(lab, "session p001 20250104 --imported --dj --copy"). */
int lab_sh(const struct lab *lab, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Run argv (argv[0] looked up in PATH unless it has a '/'), feeding stdin_text
 * (NULL = /dev/null), capturing stdout and stderr. Returns r->status. */
int run_argv(char *const argv[], const char *stdin_text, struct run_result *r);
/* mctctl -c LAB_CONFIG ARGS... (NULL-terminated varargs). */
int run_mctctl(const struct lab *lab, const char *stdin_text, struct run_result *r, ...)
        __attribute__((sentinel));
void run_result_free(struct run_result *r);

/* Path helpers: DIR/data/P/D and DIR/share/mobile_system_data/D/P. */
void lab_source_path(const struct lab *lab, const char *p, const char *d, char *out, size_t len);
void lab_dest_path(const struct lab *lab, const char *p, const char *d, char *out, size_t len);
