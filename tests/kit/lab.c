/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The lab: tests/lab/lab.sh run for the tests (the shell is fine for test
 * fixtures; the product never uses one), the fixtures around it, sessions
 * made in it, and the lab's config changed or copied with changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kit.h"
#include "lock.h"
#include "operations.h"

struct kit_lab lab;

/* Runs `$LAB_SH <text>` through the shell, so callers can quote as in a terminal. */
static int lab_run(const struct kit_lab *l, const char *text, struct kit_result *r)
{
    _cleanup_free_ char *cmd =
            mct_strdup_printf("LAB='%s' exec '%s' %s", l->dir, kit_env("LAB_SH"), text);
    ck_assert_ptr_nonnull(cmd);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return kit_run(argv, NULL, r);
}

int kit_lab_sh(const struct kit_lab *l, const char *fmt, ...)
{
    _cleanup_free_ char *text = NULL;
    struct kit_result r;
    va_list ap;

    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&text, fmt, ap), 0);
    va_end(ap);
    int status = lab_run(l, text, &r);
    /* Shown only when it failed: the check log stays readable. */
    if (status != 0)
        fprintf(stderr, "lab.sh %s: exit %d\n%s%s", text, status, r.out, r.err);
    kit_result_free(&r);
    return status;
}

void kit_lab_ok(const char *fmt, ...)
{
    _cleanup_free_ char *text = NULL;
    va_list ap;

    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&text, fmt, ap), 0);
    va_end(ap);
    ck_assert_msg(kit_lab_sh(&lab, "%s", text) == 0, "lab.sh %s failed", text);
}

static void fill_paths(struct kit_lab *l)
{
    snprintf(l->config, sizeof(l->config), "%s/backup_config.yaml", l->dir);
    snprintf(l->data, sizeof(l->data), "%s/data", l->dir);
    snprintf(l->share, sizeof(l->share), "%s/share", l->dir);
    snprintf(l->dest_base, sizeof(l->dest_base), "%s/share/mobile_system_data", l->dir);
    snprintf(l->socket, sizeof(l->socket), "%s/mysql.sock", l->dir);
}

/* Not an assertion: a lab that does not come up ends the program, as no
 * test of it can run. */
static void lab_up_with(struct kit_lab *l, const char *up)
{
    struct kit_result r;

    memset(l, 0, sizeof(*l));
    snprintf(l->dir, sizeof(l->dir), "/tmp/mctfs-lab.XXXXXX");
    if (!mkdtemp(l->dir)) {
        fprintf(stderr, "kit: mkdtemp %s: %m\n", l->dir);
        abort();
    }
    fill_paths(l);
    if (lab_run(l, up, &r) != 0) {
        fprintf(stderr, "kit: lab.sh %s in %s failed (exit %d):\n%s%s", up, l->dir, r.status, r.out,
                r.err);
        kit_result_free(&r);
        kit_lab_down(l);
        abort();
    }
    kit_result_free(&r);
}

void kit_lab_up(struct kit_lab *l)
{
    lab_up_with(l, "up");
}

void kit_lab_up_tls(struct kit_lab *l)
{
    lab_up_with(l, "up --tls");
}

void kit_lab_down(struct kit_lab *l)
{
    if (!l->dir[0])
        return;
    if (kit_lab_sh(l, "down") != 0)
        fprintf(stderr, "kit: lab.sh down in %s failed\n", l->dir);
}

/* ---- fixtures ---- */

void kit_setup(void)
{
    kit_lab_up(&lab);
}

void kit_teardown(void)
{
    kit_kill_remembered();
    kit_lab_down(&lab);
}

void kit_setup_bare(void)
{
    memset(&lab, 0, sizeof(lab));
    snprintf(lab.dir, sizeof(lab.dir), "/tmp/mctfs-bare.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(lab.dir));
}

void kit_teardown_bare(void)
{
    if (!lab.dir[0])
        return;
    kit_kill_remembered();
    /* Detach what a failed test left mounted below the dir, deepest first
     * (mountinfo lists them in mount order), before removing it. */
    char mps[16][4096], line[8192], prefix[300];
    size_t n = 0;
    snprintf(prefix, sizeof(prefix), "%s/", lab.dir);
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    while (f && n < 16 && fgets(line, sizeof(line), f))
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mps[n]) == 1 && startswith(mps[n], prefix))
            n++;
    while (n--)
        kit_fusermount("-uz", mps[n]);
    char *argv[] = {"rm", "-rf", "--one-file-system", lab.dir, NULL};
    struct kit_result r = {};
    kit_run(argv, NULL, &r);
    kit_result_free(&r);
    lab.dir[0] = '\0';
}

/* ---- paths and sessions ---- */

void kit_source_path(const char *p, const char *d, char *out, size_t len)
{
    snprintf(out, len, "%s/%s/%s", lab.data, p, d);
}

void kit_dest_path(const char *p, const char *d, char *out, size_t len)
{
    snprintf(out, len, "%s/%s/%s", lab.dest_base, d, p);
}

bool kit_session_exists(const char *p, const char *d)
{
    char src[512];
    kit_source_path(p, d, src, sizeof(src));
    return kit_exists(src);
}

void kit_session(const char *fmt, ...)
{
    char args[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    kit_lab_ok("session %s", args);
}

/* Bytes that differ from file to file, so a digest tells them apart. */
static void write_random(const char *path, size_t size, time_t when)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
    char buf[4096];
    uint64_t x = (uint64_t)size * 2654435761u ^ (uint64_t)(uintptr_t)path ^ (uint64_t)when;
    for (size_t done = 0; done < size;) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (char)x;
        }
        size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);
        ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
        done += n;
    }
    struct timespec ts[2] = {{.tv_sec = when}, {.tv_sec = when}};
    ck_assert_int_eq(futimens(fd, ts), 0);
}

void kit_plain_session(const char *p, const char *d, int videos, size_t size)
{
    char dir[512], path[700];
    time_t when = time(NULL) - 3 * 3600;
    kit_source_path(p, d, dir, sizeof(dir));
    ck_assert_int_eq(mct_mkdir_p(dir, 0755), 0);
    for (int i = 1; i <= videos; i++) {
        snprintf(path, sizeof(path), "%s/trial_%s_093000.%d.mp4", dir, d, 22000 + i);
        write_random(path, size, when);
    }
    snprintf(path, sizeof(path), "%s/trial_%s_093000.json", dir, d);
    write_random(path, 100, when);
}

void kit_recdb_add(const char *const *pd, size_t n)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/recdb-add.sql", lab.dir);
    _cleanup_buf_ struct mct_buf b = {};
    mct_buf_puts(&b, "BEGIN;\n");
    for (size_t i = 0; i < n; i++) {
        char p[128], d[16], iso[16];
        ck_assert_int_eq(sscanf(pd[i], "%127[^:]:%15s", p, d), 2);
        snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2s", d, d + 4, d + 6);
        mct_buf_printf(&b,
                       "INSERT INTO participants (name) SELECT '%s' WHERE NOT EXISTS "
                       "(SELECT 1 FROM participants WHERE name = '%s');\n"
                       "INSERT INTO sessions (session_date, session_path, participant_id) "
                       "SELECT '%s', '%s/%s/%s', id FROM participants WHERE name = '%s';\n",
                       p, p, iso, lab.data, p, d, p);
    }
    mct_buf_puts(&b, "COMMIT;\n");
    kit_write_file(path, b.data);
    ck_assert_int_eq(kit_lab_sh(&lab, "sqlite '.read %s'", path), 0);
}

/* ---- the config ---- */

/* text with from replaced by to (every occurrence, or the first only). */
static char *replaced(const char *text, const char *from, const char *to, bool all)
{
    _cleanup_buf_ struct mct_buf b = {};
    const char *p = text, *hit;
    ck_assert_msg(strstr(p, from), "\"%s\" not in the lab's config", from);
    while ((hit = strstr(p, from))) {
        mct_buf_append(&b, p, (size_t)(hit - p));
        mct_buf_puts(&b, to);
        p = hit + strlen(from);
        if (!all)
            break;
    }
    mct_buf_puts(&b, p);
    return mct_buf_steal(&b);
}

const char *kit_config_variant(const char *name, const char *from, const char *to,
                               const char *extra)
{
    static char path[400];
    _cleanup_free_ char *text = kit_slurp_ok(lab.config, NULL);
    _cleanup_free_ char *changed = from ? replaced(text, from, to, true) : strdup(text);
    _cleanup_free_ char *out = mct_strdup_printf("%s%s", changed, extra ? extra : "");
    snprintf(path, sizeof(path), "%s/%s.yaml", lab.dir, name);
    kit_write_file(path, out);
    return path;
}

static const char *config_original(void)
{
    static char path[400];
    snprintf(path, sizeof(path), "%s/backup_config.orig", lab.dir);
    return path;
}

void kit_config_edit(const char *from, const char *to)
{
    _cleanup_free_ char *text = kit_slurp_ok(lab.config, NULL);
    if (!kit_exists(config_original()))
        kit_write_file(config_original(), text);
    _cleanup_free_ char *out = replaced(text, from, to, false);
    kit_write_file(lab.config, out);
}

void kit_config_restore(void)
{
    if (!kit_exists(config_original()))
        return;
    _cleanup_free_ char *text = kit_slurp_ok(config_original(), NULL);
    kit_write_file(lab.config, text);
}

struct mct_config *kit_load_config(void)
{
    struct mct_config *cfg = NULL;
    char err[512] = "";
    ck_assert_msg(mct_config_load(lab.config, &cfg, err, sizeof(err)) == 0, "%s", err);
    return cfg;
}

int kit_hold_session_lock(const char *p, const char *d)
{
    _cleanup_config_ struct mct_config *cfg = kit_load_config();
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, p, d, NULL, 0), 0);
    int fd = -1;
    ck_assert_int_eq(mct_session_lock_ref(cfg, &ref, &fd), 0);
    return fd;
}
