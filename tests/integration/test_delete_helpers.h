/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The lab-side helpers of test_delete.c (included by it once, split off
 * for length): digests of session trees, the deletion log, config
 * variants, and engine calls from other processes.
 */
#pragma once

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <dirent.h>

#include "harness.h"
#include "lock.h"
#include "operations.h"
#include "scan.h"
#include "util.h"

static struct lab lab;

static void setup(void)
{
    lab_up(&lab);
}

static void teardown(void)
{
    lab_down(&lab);
}

static void session(const char *args)
{
    ck_assert_msg(lab_sh(&lab, "session %s", args) == 0, "lab.sh session %s failed", args);
}

static bool path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static bool session_exists(const char *p, const char *d)
{
    char src[512];
    lab_source_path(&lab, p, d, src, sizeof(src));
    return path_exists(src);
}

static char *read_text(const char *path)
{
    char *text = NULL;
    int r = mct_read_file(path, 64 << 20, &text);
    if (r == -ENOENT)
        return strdup("");
    ck_assert_msg(r == 0, "cannot read %s: %s", path, strerror(-r));
    return text;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f, "cannot write %s", path);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Every file under root with its size and an FNV-1a hash of its bytes. */
static char *tree_digest(const char *root)
{
    struct mct_scan scan = {0};
    ck_assert_msg(mct_scan_tree(root, NULL, &scan) == 0, "%s is gone", root);
    ck_assert_msg(scan.n_files > 0, "%s holds no files", root);
    struct mct_buf b = {0};
    for (size_t i = 0; i < scan.n_files; i++) {
        _cleanup_free_ char *path = mct_path_join(root, scan.files[i].relpath);
        _cleanup_free_ char *data = NULL;
        ck_assert_int_eq(mct_read_file(path, 64 << 20, &data), 0);
        uint64_t h = 14695981039346656037ULL;
        for (size_t k = 0; k < scan.files[i].size; k++)
            h = (h ^ (unsigned char)data[k]) * 1099511628211ULL;
        mct_buf_printf(&b, "%s %llu %016llx\n", scan.files[i].relpath,
                       (unsigned long long)scan.files[i].size, (unsigned long long)h);
    }
    mct_scan_free(&scan);
    return mct_buf_steal(&b);
}

static char *session_digest(const char *p, const char *d)
{
    char src[512];
    lab_source_path(&lab, p, d, src, sizeof(src));
    return tree_digest(src);
}

/* Append to (or create) dir/name, then date it three hours back, so the
 * age rule does not hide what the test is about. */
static void append_old(const char *dir, const char *name, const char *text)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    struct timespec ts[2] = {{.tv_sec = time(NULL) - 3 * 3600}, {.tv_sec = time(NULL) - 3 * 3600}};
    ck_assert_int_eq(futimens(fd, ts), 0);
    close(fd);
}

static bool trash_is_empty(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/.mctfs-trash", lab.data);
    DIR *d = opendir(path);
    if (!d)
        return true;
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += !streq(de->d_name, ".") && !streq(de->d_name, "..");
    closedir(d);
    return n == 0;
}

/* The trash folder of a deletion of participant p in progress. */
static bool trash_entry_of(const char *p, char *out, size_t len)
{
    char path[512], prefix[200];
    snprintf(path, sizeof(path), "%s/.mctfs-trash", lab.data);
    snprintf(prefix, sizeof(prefix), "%s__", p);
    DIR *d = opendir(path);
    bool found = false;
    for (struct dirent *de; d && !found && (de = readdir(d));)
        if (startswith(de->d_name, prefix) && !endswith(de->d_name, ".json")) {
            snprintf(out, len, "%s/%s", path, de->d_name);
            found = true;
        }
    if (d)
        closedir(d);
    return found;
}

/* Lines of the deletion log about P/D with that result (NULL: any). */
static size_t log_lines(const char *p, const char *d, const char *result, char **first)
{
    char path[512], who[300], res[100];
    snprintf(path, sizeof(path), "%s/deletions.log", lab.dir);
    snprintf(who, sizeof(who), "\"participant\":\"%s\",\"date\":\"%s\"", p, d);
    snprintf(res, sizeof(res), "\"result\":\"%s\"", result ? result : "");
    _cleanup_free_ char *text = read_text(path);
    size_t n = 0;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!strstr(l, who) || (result && !strstr(l, res)))
            continue;
        if (n++ == 0 && first)
            *first = strdup(l);
    }
    return n;
}

static size_t log_count(const char *p, const char *d, const char *result)
{
    return log_lines(p, d, result, NULL);
}

static char *log_line(const char *p, const char *d, const char *result)
{
    char *l = NULL;
    ck_assert_msg(log_lines(p, d, result, &l) > 0, "no %s line for %s/%s in the log", result, p, d);
    return l;
}

/* --- config variants: lab.config edited in place, restored before each test --- */

static void config_restore(void)
{
    char orig[512];
    snprintf(orig, sizeof(orig), "%s/backup_config.orig", lab.dir);
    if (path_exists(orig)) {
        _cleanup_free_ char *text = read_text(orig);
        write_file(lab.config, text);
    }
}

static void config_replace(const char *from, const char *to)
{
    char orig[512];
    snprintf(orig, sizeof(orig), "%s/backup_config.orig", lab.dir);
    _cleanup_free_ char *text = read_text(lab.config);
    if (!path_exists(orig))
        write_file(orig, text);
    char *at = strstr(text, from);
    ck_assert_msg(at, "\"%s\" not in %s", from, lab.config);
    *at = '\0';
    _cleanup_free_ char *out = mct_strdup_printf("%s%s%s", text, to, at + strlen(from));
    write_file(lab.config, out);
}

static struct mct_config *load_config(void)
{
    struct mct_config *cfg = NULL;
    char err[512] = "";
    ck_assert_msg(mct_config_load(lab.config, &cfg, err, sizeof(err)) == 0, "%s", err);
    return cfg;
}

static int hold_session_lock(const char *p, const char *d)
{
    _cleanup_config_ struct mct_config *cfg = load_config();
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, p, d, NULL, 0), 0);
    int fd = -1;
    ck_assert_int_eq(mct_session_lock(cfg, &ref, &fd), 0);
    return fd;
}

static char *engine_recover(void)
{
    _cleanup_config_ struct mct_config *cfg = load_config();
    struct mct_op_result res = {0};
    mct_trash_recover(cfg, false, &res);
    struct mct_buf b = {0};
    for (size_t i = 0; res.lines && res.lines[i]; i++)
        mct_buf_printf(&b, "%s\n", res.lines[i]);
    mct_op_result_free(&res);
    return mct_buf_steal(&b);
}

/* Two processes run the engine's deletion of one session at the same
 * moment (released together by closing a pipe). codes: 0 or -errno's
 * absolute value, per process. */
static void race_engine_deletions(const char *p, const char *d, int codes[2])
{
    int gate[2];
    ck_assert_int_eq(pipe(gate), 0);
    pid_t pids[2];
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] > 0)
            continue;
        close(gate[1]);
        struct mct_config *cfg = load_config();
        struct mct_delete_request req = {.who = "test", .via = "test_delete"};
        mct_session_ref_init(&req.ref, p, d, NULL, 0);
        char c;
        (void)!read(gate[0], &c, 1);
        struct mct_op_result res = {0};
        int r = mct_delete_session(cfg, &req, &res);
        _exit(r < 0 ? -r : 0);
    }
    close(gate[0]);
    close(gate[1]);
    for (int i = 0; i < 2; i++) {
        int status;
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        codes[i] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}

#define assert_has(s, needle)                                                                      \
    ck_assert_msg(strstr((s), (needle)), "no \"%s\" in:\n%s", (needle), (s))

/* `mctctl bulk-delete --json --start-date START --end-date END [EXTRA]`
 * with stdin in; its exit status. The report is one JSON object on stdout, ending in a
 * newline; the human text is on stderr only. */
static int bulk_json(struct run_result *r, const char *in, const char *extra, const char *start,
                     const char *end)
{
    int st = run_mctctl(&lab, in, r, "bulk-delete", "--json", "--start-date", start, "--end-date",
                        end, extra, NULL);
    ck_assert_msg(startswith(r->out, "{\"dry_run\":") && endswith(r->out, "}}\n"),
                  "not one JSON object:\n%s", r->out);
    ck_assert_msg(!strstr(r->out, "Safe to delete:") && strstr(r->err, "Safe to delete:"),
                  "stdout:\n%s\nstderr:\n%s", r->out, r->err);
    return st;
}

/* Assert that the report's object of participant p has "result":result
 * and each of the other needles (NULL-terminated). */
static void assert_bulk_entry(const char *json, const char *p, const char *result, ...)
{
    _cleanup_free_ char *key = mct_strdup_printf("{\"participant\":\"%s\"", p);
    const char *at = strstr(json, key);
    ck_assert_msg(at, "no %s in:\n%s", p, json);
    _cleanup_free_ char *obj = strndup(at, strcspn(at, "}") + 1);
    _cleanup_free_ char *want = mct_strdup_printf("\"result\":\"%s\"", result);
    ck_assert_msg(strstr(obj, want), "want %s in %s", want, obj);
    va_list ap;
    va_start(ap, result);
    for (const char *n; (n = va_arg(ap, const char *));)
        ck_assert_msg(strstr(obj, n), "want %s in %s", n, obj);
    va_end(ap);
}
