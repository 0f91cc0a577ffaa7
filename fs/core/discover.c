/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Finding the sessions on local disk: a walk of source_base_path exactly as
 * deep as the path template, matching each folder's relative path against
 * it. Hidden entries (the trash, editors' files) and plain files such as
 * recordings.db are never sessions. Only directory entries are read (d_type),
 * so a thousand sessions cost a few hundred getdents calls, not a stat each.
 */
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"

struct discovery {
    const struct mct_config *cfg;
    const char *start, *end;
    size_t depth;
    struct mct_session_ref *refs;
    size_t n, cap;
    struct mct_discovery *seen; /* always set: a scratch one when nobody asked */
    char path[4096];
};

void mct_discovery_done(struct mct_discovery *d)
{
    mct_strv_free(d->rejected);
    *d = (struct mct_discovery){0};
}

static int add_session(struct discovery *d, const struct mct_session_ref *ref)
{
    d->seen->n_matched++;
    if (!mct_participant_selected(d->cfg, ref->participant_id)) {
        d->seen->n_unmanaged++;
        return 0;
    }
    if ((d->start && strcmp(ref->session_date, d->start) < 0) ||
        (d->end && strcmp(ref->session_date, d->end) > 0)) {
        d->seen->n_out_of_range++;
        return 0;
    }
    if (MCT_RESERVE(d->refs, d->cap, d->n, 64) < 0)
        return -ENOMEM;
    d->refs[d->n++] = *ref;
    return 0;
}

static bool entry_is_dir(int dfd, const struct dirent *de)
{
    if (de->d_type == DT_DIR)
        return true;
    if (de->d_type != DT_UNKNOWN)
        return false; /* symlinks included: a session is a real folder */
    struct stat st;
    return fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int discover_level(struct discovery *d, int dfd, size_t level);

static int discover_entry(struct discovery *d, int dfd, const char *name, size_t level)
{
    size_t base_len = strlen(d->path), nlen = strlen(name);
    if (base_len + nlen + 2 > sizeof(d->path))
        return 0; /* cannot be a valid session path anyway */
    if (base_len)
        d->path[base_len] = '/';
    memcpy(d->path + base_len + (base_len ? 1 : 0), name, nlen + 1);

    if (level < MCT_DISCOVER_DEPTHS) {
        d->seen->folders[level]++;
        d->seen->dates[level] += mct_session_date_valid(name);
    }
    int r = 0;
    if (level + 1 == d->depth) {
        struct mct_session_ref ref;
        char why[400];
        if (mct_template_match_why(d->cfg->source_path_structure, d->path, &ref, why,
                                   sizeof(why)) == 0)
            r = add_session(d, &ref);
        else if (why[0] &&
                 (!ref.participant_id[0] || mct_participant_selected(d->cfg, ref.participant_id)))
            r = mct_strv_pushf(&d->seen->rejected, "%s: %s", d->path, why);
    } else {
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            /* One unreadable folder must not hide every other session. */
            log_warning_errno(errno, "Cannot open %s/%s, skipping it", d->cfg->source_base_path,
                              d->path);
        else
            r = discover_level(d, fd, level + 1);
    }
    d->path[base_len] = '\0';
    return r;
}

/* Takes ownership of dfd. */
static int discover_level(struct discovery *d, int dfd, size_t level)
{
    DIR *dir = fdopendir(dfd);
    if (!dir) {
        int r = -errno;
        close(dfd);
        return r;
    }
    int r = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(dir);
        if (!de) {
            r = errno ? -errno : 0;
            break;
        }
        if (de->d_name[0] == '.' || !entry_is_dir(dirfd(dir), de))
            continue;
        r = discover_entry(d, dirfd(dir), de->d_name, level);
        if (r < 0)
            break;
    }
    closedir(dir);
    return r;
}

int mct_discover_sessions(const struct mct_config *cfg, const char *start_date,
                          const char *end_date, struct mct_session_ref **ret, size_t *n_ret)
{
    struct mct_discovery seen = {0};
    int r = mct_discover_sessions_seen(cfg, start_date, end_date, ret, n_ret, &seen);
    mct_discovery_done(&seen);
    return r;
}

int mct_discover_sessions_seen(const struct mct_config *cfg, const char *start_date,
                               const char *end_date, struct mct_session_ref **ret, size_t *n_ret,
                               struct mct_discovery *seen)
{
    *seen = (struct mct_discovery){.depth = mct_template_depth(cfg->source_path_structure)};
    if ((start_date && !mct_session_date_valid(start_date)) ||
        (end_date && !mct_session_date_valid(end_date)))
        return -EINVAL;
    if (strempty(cfg->source_base_path) ||
        mct_template_validate(cfg->source_path_structure, NULL, 0) < 0)
        return -EINVAL;

    int fd = open(cfg->source_base_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;

    struct discovery *d = calloc(1, sizeof(*d));
    if (!d) {
        close(fd);
        return -ENOMEM;
    }
    d->cfg = cfg;
    d->start = start_date;
    d->end = end_date;
    d->depth = seen->depth;
    d->seen = seen;
    int r = discover_level(d, fd, 0);
    if (r < 0) {
        free(d->refs);
        free(d);
        return r;
    }
    if (d->n > 1)
        qsort(d->refs, d->n, sizeof(*d->refs), mct_session_ref_cmp);
    *ret = d->refs;
    *n_ret = d->n;
    free(d);
    return 0;
}
