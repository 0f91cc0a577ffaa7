/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading and writing manifests in xxhsum's own format. A manifest is
 * evidence for a later audit, so it is written whole or not at all.
 */
#include "manifest.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "util.h"

#define MANIFEST_MAX_BYTES (64u << 20)

int mct_manifest_path(const struct mct_config *cfg, const struct mct_session_ref *ref, char **ret)
{
    _cleanup_free_ char *log = strdup(cfg->deletion_log_path ? cfg->deletion_log_path : "");
    if (!log)
        return -ENOMEM;
    *ret = mct_strdup_printf("%s/manifests/%s__%s.xxh128", dirname(log), ref->participant_id,
                             ref->session_date);
    return *ret ? 0 : -ENOMEM;
}

int mct_manifest_add(struct mct_manifest *m, const char *relpath, const struct mct_hash *h)
{
    struct mct_manifest_entry *e = realloc(m->entries, (m->n + 1) * sizeof(*e));
    if (!e)
        return -ENOMEM;
    m->entries = e;
    char *p = strdup(relpath);
    if (!p)
        return -ENOMEM;
    e[m->n++] = (struct mct_manifest_entry){.relpath = p, .hash = *h};
    return 0;
}

void mct_manifest_free(struct mct_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->entries[i].relpath);
    free(m->entries);
    *m = (struct mct_manifest){0};
}

static int render(const struct mct_manifest *m, struct mct_buf *b, char *why, size_t whylen)
{
    for (size_t i = 0; i < m->n; i++) {
        const char *rel = m->entries[i].relpath;
        /* xxhsum escapes such names in a way older versions cannot read. */
        if (strpbrk(rel, "\n\\")) {
            snprintf(why, whylen, "file name %s cannot be written in xxhsum's format", rel);
            return -EINVAL;
        }
        char hex[MCT_HASH_HEX_LEN + 1];
        mct_hash_hex(&m->entries[i].hash, hex);
        mct_buf_printf(b, "%s  %s\n", hex, rel);
    }
    return b->error;
}

static int write_fd(int fd, const char *data, size_t n)
{
    int r = mct_write_all(fd, data, n);
    if (r < 0)
        return r;
    return fsync(fd) < 0 ? -errno : 0;
}

int mct_manifest_write(const char *path, const struct mct_manifest *m, char *why, size_t whylen)
{
    _cleanup_buf_ struct mct_buf b = {0};
    int r = render(m, &b, why, whylen);
    if (r < 0)
        return r;
    _cleanup_free_ char *dir = strdup(path);
    _cleanup_free_ char *tmp = mct_strdup_printf("%s.%d.tmp", path, (int)getpid());
    if (!dir || !tmp)
        return -ENOMEM;
    /* File names of patient sessions: not for everyone to read. */
    r = mct_mkdir_p(dirname(dir), 0750);
    if (r < 0) {
        snprintf(why, whylen, "cannot create the folder of %s: %s", path, strerror(-r));
        return r;
    }
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
        r = -errno;
        snprintf(why, whylen, "cannot create %s: %s", tmp, strerror(-r));
        return r;
    }
    r = write_fd(fd, b.data ? b.data : "", b.len);
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        (void)unlink(tmp);
        snprintf(why, whylen, "cannot write %s: %s", path, strerror(-r));
    }
    return r;
}

static int parse_line(char *line, size_t lineno, const char *path, struct mct_manifest *m,
                      char *why, size_t whylen)
{
    struct mct_hash h;
    if (strlen(line) < MCT_HASH_HEX_LEN + 3 || line[MCT_HASH_HEX_LEN] != ' ' ||
        line[MCT_HASH_HEX_LEN + 1] != ' ' || mct_hash_parse(line, &h) < 0) {
        /* mct_hash_parse needs the 33rd character not to be a digit: ' '. */
        snprintf(why, whylen, "%s:%zu: not a \"HASH  FILE\" line of xxhsum -H2", path, lineno);
        return -EINVAL;
    }
    return mct_manifest_add(m, line + MCT_HASH_HEX_LEN + 2, &h);
}

int mct_manifest_read(const char *path, struct mct_manifest *m, char *why, size_t whylen)
{
    _cleanup_free_ char *text = NULL;
    *m = (struct mct_manifest){0};
    int r = mct_read_file(path, MANIFEST_MAX_BYTES, &text);
    if (r < 0) {
        snprintf(why, whylen, "cannot read manifest %s: %s", path, strerror(-r));
        return r;
    }
    size_t lineno = 0;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lineno++;
        r = parse_line(l, lineno, path, m, why, whylen);
        if (r < 0) {
            mct_manifest_free(m);
            return r;
        }
    }
    return 0;
}
