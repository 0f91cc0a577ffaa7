/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Files for the tests: read, written, and what a tree holds. The digests
 * deliberately do not use the engine's scanner, so a bug there cannot
 * hide a lost file. Also the two things a deletion leaves beside the
 * session: the deletion log and the trash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kit.h"

bool kit_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

char *kit_slurp(const char *path, size_t *len)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    _cleanup_buf_ struct mct_buf b = {};
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        ck_assert_int_eq(mct_buf_append(&b, chunk, (size_t)n), 0);
    if (n < 0)
        return NULL;
    if (len)
        *len = b.len;
    if (!b.data)
        return strdup("");
    return mct_buf_steal(&b);
}

char *kit_slurp_ok(const char *path, size_t *len)
{
    char *s = kit_slurp(path, len);
    ck_assert_msg(s, "reading %s: %s", path, strerror(errno));
    return s;
}

void kit_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    ck_assert_msg(f, "cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

void kit_append_old(const char *dir, const char *name, const char *text)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    struct timespec ts[2] = {{.tv_sec = time(NULL) - 3 * 3600}, {.tv_sec = time(NULL) - 3 * 3600}};
    ck_assert_int_eq(futimens(fd, ts), 0);
}

/* ---- what a tree holds ---- */

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* One line for the entry root/rel/name, a folder's entries after it. */
static void digest_walk(const char *root, const char *rel, struct mct_buf *out);

static void digest_entry(const char *root, const char *dir, const char *rel, const char *name,
                         struct mct_buf *out)
{
    char sub[4096], path[8192];
    snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    if (S_ISDIR(st.st_mode)) {
        mct_buf_printf(out, "d %s\n", sub);
        digest_walk(root, sub, out);
        return;
    }
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t k = readlink(path, target, sizeof(target));
        ck_assert_int_ge(k, 0);
        mct_buf_printf(out, "l %s -> %.*s\n", sub, (int)k, target);
        return;
    }
    size_t len = 0;
    _cleanup_free_ char *data = kit_slurp(path, &len);
    ck_assert_msg(data, "read %s: %s", path, strerror(errno));
    uint64_t h = fnv(14695981039346656037ULL, data, len);
    mct_buf_printf(out, "f %s %zu %016llx\n", sub, len, (unsigned long long)h);
}

static void digest_walk(const char *root, const char *rel, struct mct_buf *out)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s%s%s", root, *rel ? "/" : "", rel);
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    ck_assert_msg(n >= 0, "scandir %s: %s", dir, strerror(errno));
    for (int i = 0; i < n; i++) {
        if (!streq(names[i]->d_name, ".") && !streq(names[i]->d_name, ".."))
            digest_entry(root, dir, rel, names[i]->d_name, out);
        free(names[i]);
    }
    free(names);
}

char *kit_tree_digest(const char *root)
{
    _cleanup_buf_ struct mct_buf b = {};
    if (kit_exists(root))
        digest_walk(root, "", &b);
    return b.data ? mct_buf_steal(&b) : strdup("");
}

char *kit_session_digest(const char *p, const char *d)
{
    char src[512];
    kit_source_path(p, d, src, sizeof(src));
    char *dg = kit_tree_digest(src);
    ck_assert_msg(*dg, "session %s is empty or gone", src);
    return dg;
}

size_t kit_count_entries(const char *dir, bool all)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    ck_assert_msg(d, "opendir %s: %s", dir, strerror(errno));
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && (all || de->d_name[0] != '.'))
            n++;
    return n;
}

bool kit_dir_lists(const char *dir, const char *name)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    ck_assert_msg(d, "opendir %s: %s", dir, strerror(errno));
    bool found = false;
    struct dirent *de;
    /* Read to the end: the listing is the whole of one readdir pass. */
    while ((de = readdir(d)))
        if (streq(de->d_name, name))
            found = true;
    return found;
}

/* ---- the deletion log ---- */

/* Lines about P/D with that result (NULL: any); the first one in *first. */
static size_t log_lines(const char *p, const char *d, const char *result, char **first)
{
    char path[512], who[300], res[100];
    snprintf(path, sizeof(path), "%s/deletions.log", lab.dir);
    snprintf(who, sizeof(who), "\"participant\":\"%s\",\"date\":\"%s\"", p, d);
    snprintf(res, sizeof(res), "\"result\":\"%s\"", result ? result : "");
    /* No log yet is no line. */
    _cleanup_free_ char *text = kit_slurp(path, NULL);
    size_t n = 0;
    char *save = NULL;
    for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        if (!strstr(l, who) || (result && !strstr(l, res)))
            continue;
        if (n++ == 0 && first)
            *first = strdup(l);
    }
    return n;
}

size_t kit_log_count(const char *p, const char *d, const char *result)
{
    return log_lines(p, d, result, NULL);
}

char *kit_log_line(const char *p, const char *d, const char *result)
{
    char *l = NULL;
    ck_assert_msg(log_lines(p, d, result, &l) > 0, "no %s line for %s/%s in the log", result, p, d);
    return l;
}

/* ---- the trash ---- */

const char *kit_trash_dir(void)
{
    static char path[400];
    snprintf(path, sizeof(path), "%s/.mctfs-trash", lab.data);
    return path;
}

bool kit_trash_empty(void)
{
    return !kit_exists(kit_trash_dir()) || kit_count_entries(kit_trash_dir(), true) == 0;
}

/* An entry of participant p: "P__..." (its folder has no '.' in its name;
 * its journal is the folder's name and ".json"). */
static bool entry_of(const char *name, const char *p)
{
    size_t n = strlen(p);
    return strncmp(name, p, n) == 0 && startswith(name + n, "__");
}

bool kit_trash_entry(const char *p, char *out, size_t len)
{
    _cleanup_closedir_ DIR *d = opendir(kit_trash_dir());
    for (struct dirent *de; d && (de = readdir(d));)
        if (entry_of(de->d_name, p) && !strchr(de->d_name, '.')) {
            snprintf(out, len, "%s/%s", kit_trash_dir(), de->d_name);
            return true;
        }
    return false;
}

char *kit_trash_state(const char *p)
{
    _cleanup_closedir_ DIR *d = opendir(kit_trash_dir());
    for (struct dirent *de; d && (de = readdir(d));) {
        if (!entry_of(de->d_name, p) || !endswith(de->d_name, ".json"))
            continue;
        char path[800];
        snprintf(path, sizeof(path), "%s/%s", kit_trash_dir(), de->d_name);
        _cleanup_free_ char *text = kit_slurp(path, NULL);
        const char *s = text ? strstr(text, "\"state\": \"") : NULL;
        if (s) {
            s += strlen("\"state\": \"");
            return strndup(s, strcspn(s, "\""));
        }
    }
    return NULL;
}
