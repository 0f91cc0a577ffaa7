/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "trash_snapshot.h"

#include <inttypes.h>

#include "trash_journal.h"
#include "tree.h"
#include "util.h"

#define SNAP_HEADER "mctfs-trash-snapshot 1\n"
/* A session of a million files is some 100 MB of snapshot. */
#define SNAP_MAX (256ULL * 1024 * 1024)

void mct_tsnap_free(struct mct_tsnap *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->e[i].relpath);
    free(s->e);
    *s = (struct mct_tsnap){0};
}

char mct_tsnap_type(mode_t mode)
{
    return S_ISDIR(mode) ? 'd' : S_ISREG(mode) ? 'f' : S_ISLNK(mode) ? 'l' : 'o';
}

static int add(struct mct_tsnap *s, const struct mct_tsnap_entry *e, const char *relpath)
{
    if (MCT_RESERVE(s->e, s->cap, s->n, 64) < 0)
        return -ENOMEM;
    s->e[s->n] = *e;
    s->e[s->n].relpath = strdup(relpath);
    return s->e[s->n++].relpath ? 0 : -ENOMEM;
}

static int take_one(void *ud, const struct mct_tree_entry *e)
{
    if (e->after)
        return 0;
    struct mct_tsnap_entry x = {
            .type = mct_tsnap_type(e->st->st_mode),
            .ino = (uint64_t)e->st->st_ino,
            .size = (uint64_t)e->st->st_size,
            .mtime = e->st->st_mtim,
    };
    return add(ud, &x, e->relpath);
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mct_tsnap_entry *)a)->relpath,
                  ((const struct mct_tsnap_entry *)b)->relpath);
}

/* Sorted for lookups, or emptied on failure. */
static int finish(struct mct_tsnap *s, int r)
{
    if (r < 0) {
        mct_tsnap_free(s);
        return r;
    }
    if (s->n > 1)
        qsort(s->e, s->n, sizeof(*s->e), entry_cmp);
    return 0;
}

int mct_tsnap_take(int dir_fd, struct mct_tsnap *s)
{
    *s = (struct mct_tsnap){0};
    return finish(s, mct_tree_walk(dir_fd, take_one, s));
}

const struct mct_tsnap_entry *mct_tsnap_find(const struct mct_tsnap *s, const char *relpath)
{
    if (!s->n)
        return NULL;
    struct mct_tsnap_entry key = {.relpath = (char *)relpath};
    return bsearch(&key, s->e, s->n, sizeof(*s->e), entry_cmp);
}

bool mct_tsnap_matches(const struct mct_tsnap_entry *e, const struct stat *st)
{
    if (e->type != mct_tsnap_type(st->st_mode) || e->ino != (uint64_t)st->st_ino)
        return false;
    if (e->type == 'd' || e->type == 'o')
        return true;
    if (e->size != (uint64_t)st->st_size)
        return false;
    return e->type != 'f' ||
           (e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec);
}

void mct_tsnap_count(const struct mct_tsnap *s, size_t *files, uint64_t *bytes)
{
    *files = 0;
    *bytes = 0;
    for (size_t i = 0; i < s->n; i++) {
        *files += s->e[i].type == 'f' || s->e[i].type == 'l';
        if (s->e[i].type == 'f')
            *bytes += s->e[i].size;
    }
}

static char *snap_name(const char *entry)
{
    return mct_strdup_printf("%s.snapshot", entry);
}

int mct_tsnap_write(int trash_fd, const char *entry, const struct mct_tsnap *s)
{
    _cleanup_free_ char *name = snap_name(entry);
    if (!name)
        return -ENOMEM;
    _cleanup_buf_ struct mct_buf b = {0};
    mct_buf_puts(&b, SNAP_HEADER);
    for (size_t i = 0; i < s->n; i++) {
        const struct mct_tsnap_entry *e = &s->e[i];
        mct_buf_printf(&b, "%c %" PRIu64 " %" PRIu64 " %lld.%09ld ", e->type, e->ino, e->size,
                       (long long)e->mtime.tv_sec, (long)e->mtime.tv_nsec);
        for (const unsigned char *p = (const unsigned char *)e->relpath; *p; p++)
            mct_buf_printf(&b, "%02x", *p);
        mct_buf_puts(&b, "\n");
    }
    mct_buf_printf(&b, "end %zu\n", s->n);
    if (b.error)
        return b.error;
    return mct_trash_file_write(trash_fd, name, b.data, b.len);
}

static int unhex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One "<type> <ino> <size> <s>.<ns> <hex>" line into s. */
static int parse_line(const char *line, struct mct_tsnap *s)
{
    struct mct_tsnap_entry e = {0};
    long long sec;
    long nsec;
    int off = 0;
    if (sscanf(line, "%c %" SCNu64 " %" SCNu64 " %lld.%ld %n", &e.type, &e.ino, &e.size, &sec,
               &nsec, &off) != 5 ||
        off == 0 || !strchr("dflo", e.type) || nsec < 0 || nsec > 999999999)
        return -EBADMSG;
    e.mtime = (struct timespec){.tv_sec = (time_t)sec, .tv_nsec = nsec};
    const char *hex = line + off;
    size_t n = strlen(hex);
    if (n == 0 || n % 2)
        return -EBADMSG;
    _cleanup_free_ char *rel = malloc(n / 2 + 1);
    if (!rel)
        return -ENOMEM;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = unhex(hex[2 * i]), lo = unhex(hex[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return -EBADMSG;
        rel[i] = (char)(hi << 4 | lo);
    }
    rel[n / 2] = '\0';
    return add(s, &e, rel);
}

int mct_tsnap_read(int trash_fd, const char *entry, struct mct_tsnap *s)
{
    *s = (struct mct_tsnap){0};
    _cleanup_free_ char *name = snap_name(entry);
    _cleanup_free_ char *text = NULL;
    if (!name)
        return -ENOMEM;
    int r = mct_trash_file_read(trash_fd, name, SNAP_MAX, &text, NULL);
    if (r == -EFBIG)
        return -EBADMSG;
    if (r < 0)
        return r;
    if (!startswith(text, SNAP_HEADER))
        return -EBADMSG;
    bool ended = false;
    char *save = NULL;
    for (char *line = strtok_r(text + strlen(SNAP_HEADER), "\n", &save); line && r >= 0;
         line = strtok_r(NULL, "\n", &save)) {
        size_t count;
        char extra;
        if (ended)
            r = -EBADMSG;
        else if (sscanf(line, "end %zu%c", &count, &extra) == 1) {
            ended = true;
            r = count == s->n ? 0 : -EBADMSG;
        } else {
            r = parse_line(line, s);
        }
    }
    if (r >= 0 && !ended)
        r = -EBADMSG; /* cut short */
    return finish(s, r);
}

int mct_tsnap_remove(int trash_fd, const char *entry)
{
    _cleanup_free_ char *name = snap_name(entry);
    return name ? mct_trash_file_remove(trash_fd, name) : -ENOMEM;
}
