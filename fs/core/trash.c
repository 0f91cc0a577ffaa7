/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trash of the deletion protocol: opening it only when it is ours,
 * naming entries, moving a session in and out of it atomically, and the
 * journal state that lets the next run finish or undo what a crash
 * interrupted (trash_recover.c). Removing an entry is trash_remove.c.
 */
#include "trash.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>

#include "beneath.h"
#include "trash_journal.h"
#include "util.h"

void mct_test_crash_point(const char *point)
{
    const char *want = getenv("MCT_TEST_CRASH_AT");
    if (want && streq(want, point))
        _exit(99);
    want = getenv("MCT_TEST_STOP_AT");
    if (want && streq(want, point))
        raise(SIGSTOP);
}

void mct_trash_done(struct mct_trash *t)
{
    if (t->fd >= 0)
        close(t->fd);
    if (t->base_fd >= 0)
        close(t->base_fd);
    free(t->path);
    *t = (struct mct_trash){.fd = -1, .base_fd = -1};
}

static void say(char *why, size_t len, const char *fmt, ...) _printf_(3, 4);
static void say(char *why, size_t len, const char *fmt, ...)
{
    if (!why || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

/* Ours: a folder of the effective uid, 0700, on the source's filesystem.
 * Anything else may have been made (or moved in place) by whoever owns
 * the source base, and a journal in it would tell us what to do. */
static int trash_check(struct mct_trash *t, char *why, size_t len)
{
    if (fstat(t->fd, &t->st) < 0)
        return -errno;
    uid_t me = geteuid();
    mode_t mode = t->st.st_mode & 07777;
    if (t->st.st_uid == me && mode == 0700 && t->st.st_dev == t->base_st.st_dev)
        return 0;
    say(why, len,
        "deletion trash %s is not ours (owner uid %u, mode %04o%s): it must be a folder of uid "
        "%u, mode 0700, on the source's filesystem; chown/chmod it or move it aside",
        t->path, (unsigned)t->st.st_uid, (unsigned)mode,
        t->st.st_dev != t->base_st.st_dev ? ", on another filesystem" : "", (unsigned)me);
    return t->st.st_dev != t->base_st.st_dev ? -EXDEV : -EPERM;
}

int mct_trash_open(const struct mct_config *cfg, bool create, struct mct_trash *t, char *why,
                   size_t whylen)
{
    _cleanup_trash_ struct mct_trash n = {.fd = -1, .base_fd = -1, .cfg = cfg};
    *t = (struct mct_trash){.fd = -1, .base_fd = -1};
    say(why, whylen, "%s", "");
    n.path = mct_path_join(cfg->source_base_path, MCT_TRASH_NAME);
    if (!n.path)
        return -ENOMEM;
    /* The base itself may be a symlink (/data -> /srv/data). */
    n.base_fd = open(cfg->source_base_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (n.base_fd < 0 || fstat(n.base_fd, &n.base_st) < 0) {
        int r = -errno;
        say(why, whylen, "cannot open the source base %s: %s", cfg->source_base_path, strerror(-r));
        return r;
    }
    bool made = create && mkdirat(n.base_fd, MCT_TRASH_NAME, 0700) == 0;
    if (create && !made && errno != EEXIST) {
        int r = -errno;
        say(why, whylen, "cannot create the deletion trash %s: %s", n.path, strerror(-r));
        return r;
    }
    n.fd = openat(n.base_fd, MCT_TRASH_NAME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (n.fd < 0) {
        int r = errno == ENOTDIR ? -ELOOP : -errno;
        if (r == -ELOOP)
            say(why, whylen,
                "deletion trash %s is a symlink or not a folder: move it aside (it is never "
                "used)",
                n.path);
        else
            say(why, whylen, "cannot open the deletion trash %s: %s", n.path, strerror(-r));
        return r;
    }
    /* A umask may have taken bits off the folder we just made. */
    struct stat st;
    if (made && fstat(n.fd, &st) == 0 && st.st_uid == geteuid())
        (void)fchmod(n.fd, 0700);
    int r = trash_check(&n, why, whylen);
    if (r < 0)
        return r;
    *t = n;
    n = (struct mct_trash){.fd = -1, .base_fd = -1};
    return 0;
}

void mct_trash_entry_done(struct mct_trash_entry *e)
{
    free(e->name);
    free(e->rel);
    free(e->path);
    free(e->orig_path);
    *e = (struct mct_trash_entry){0};
}

static int entry_init(const struct mct_trash *t, const struct mct_session_ref *ref,
                      const char *name, struct mct_trash_entry *e)
{
    _cleanup_trash_entry_ struct mct_trash_entry n = {.trash = t, .ref = *ref};
    n.name = strdup(name);
    n.path = mct_path_join(t->path, name);
    if (!n.name || !n.path)
        return -ENOMEM;
    int r = mct_template_expand(t->cfg->source_path_structure, ref, &n.rel);
    if (r < 0)
        return r;
    n.orig_path = mct_path_join(t->cfg->source_base_path, n.rel);
    if (!n.orig_path)
        return -ENOMEM;
    *e = n;
    n = (struct mct_trash_entry){0};
    return 0;
}

int mct_trash_entry_new(const struct mct_trash *t, const struct mct_session_ref *ref,
                        struct mct_trash_entry *e)
{
    _cleanup_free_ char *name =
            mct_strdup_printf("%s__%s__%lld__%d", ref->participant_id, ref->session_date,
                              (long long)time(NULL), (int)getpid());
    return name ? entry_init(t, ref, name, e) : -ENOMEM;
}

/* Cut s at its last "__" and return what followed, if it is digits. */
static const char *cut_digits(char *s)
{
    char *at = NULL;
    for (char *p = strstr(s, "__"); p; p = strstr(p + 1, "__"))
        at = p;
    if (!at || at == s || !at[2])
        return NULL;
    *at = '\0';
    for (const char *p = at + 2; *p; p++)
        if (*p < '0' || *p > '9')
            return NULL;
    return at + 2;
}

int mct_trash_entry_parse(const struct mct_trash *t, const char *name, struct mct_trash_entry *e)
{
    _cleanup_free_ char *copy = strdup(name);
    if (!copy)
        return -ENOMEM;
    /* From the right: the participant id is what is left, "__" and all. */
    const char *pid = cut_digits(copy);
    const char *when = pid ? cut_digits(copy) : NULL;
    const char *date = when ? cut_digits(copy) : NULL;
    struct mct_session_ref ref;
    if (!date || mct_session_ref_init(&ref, copy, date, NULL, 0) < 0)
        return -EINVAL;
    return entry_init(t, &ref, name, e);
}

int mct_trash_session_parent(const struct mct_trash_entry *e, bool create, int *fd_out,
                             const char **last)
{
    const char *slash = strrchr(e->rel, '/');
    _cleanup_free_ char *dir = slash ? strndup(e->rel, (size_t)(slash - e->rel)) : strdup(".");
    if (!dir)
        return -ENOMEM;
    *last = slash ? slash + 1 : e->rel;
    int fd = create ? mct_mkdir_beneath(e->trash->base_fd, dir, 0755, 0)
                    : mct_opendir_beneath(e->trash->base_fd, dir, 0);
    if (fd < 0)
        return fd;
    /* The trash moved into the layout by whoever owns the base is no
     * session's folder. */
    struct stat st;
    if (fstat(fd, &st) < 0 ||
        (st.st_dev == e->trash->st.st_dev && st.st_ino == e->trash->st.st_ino)) {
        close(fd);
        return -ELOOP;
    }
    *fd_out = fd;
    return 0;
}

int mct_trash_rename_noreplace(int ofd, const char *old, int nfd, const char *new)
{
    if (renameat2(ofd, old, nfd, new, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    struct stat st;
    if (fstatat(nfd, new, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return -EEXIST;
    if (errno != ENOENT)
        return -errno;
    return renameat(ofd, old, nfd, new) < 0 ? -errno : 0;
}

int mct_trash_journal_set(const struct mct_trash_entry *e, const char *state)
{
    return mct_journal_write(e->trash->fd, e->name, &e->ref, state);
}

int mct_trash_move_in(const struct mct_trash_entry *e)
{
    _cleanup_close_ int pfd = -1;
    const char *last;
    int r = mct_trash_session_parent(e, false, &pfd, &last);
    if (r < 0)
        return r;
    /* The journal goes first: a crash right after the rename must find it. */
    r = mct_trash_journal_set(e, "moved");
    if (r < 0)
        return r;
    r = mct_trash_rename_noreplace(pfd, last, e->trash->fd, e->name);
    if (r < 0) {
        mct_journal_remove(e->trash->fd, e->name);
        return r;
    }
    (void)fsync(e->trash->fd);
    (void)fsync(pfd);
    return 0;
}

int mct_trash_move_back(const struct mct_trash_entry *e)
{
    _cleanup_close_ int pfd = -1;
    const char *last;
    /* Another deletion may have removed the emptied participant folder. */
    int r = mct_trash_session_parent(e, true, &pfd, &last);
    if (r < 0)
        return r;
    r = mct_trash_rename_noreplace(e->trash->fd, e->name, pfd, last);
    if (r < 0)
        return r;
    (void)fsync(pfd);
    return mct_trash_forget(e);
}

void mct_trash_drop_temporaries(const struct mct_trash_entry *e)
{
    static const char *const leftovers[] = {".json.tmp", ".snapshot.tmp"};
    for (size_t i = 0; i < ARRAY_SIZE(leftovers); i++) {
        _cleanup_free_ char *tmp = mct_strdup_printf("%s%s", e->name, leftovers[i]);
        if (tmp)
            (void)unlinkat(e->trash->fd, tmp, 0);
    }
}

int mct_trash_forget(const struct mct_trash_entry *e)
{
    mct_trash_drop_temporaries(e);
    int r = mct_tsnap_remove(e->trash->fd, e->name);
    int k = mct_journal_remove(e->trash->fd, e->name);
    return r < 0 ? r : k;
}

int mct_trash_rmdir_parent(const struct mct_trash_entry *e)
{
    const char *slash = strrchr(e->rel, '/');
    if (!slash)
        return 0; /* the parent is the source base */
    _cleanup_free_ char *parent = strndup(e->rel, (size_t)(slash - e->rel));
    if (!parent)
        return -ENOMEM;
    char *up = strrchr(parent, '/');
    const char *name = up ? up + 1 : parent;
    if (up)
        *up = '\0';
    _cleanup_close_ int fd = mct_opendir_beneath(e->trash->base_fd, up ? parent : ".", 0);
    if (fd < 0)
        return fd == -ENOENT ? 0 : fd;
    if (unlinkat(fd, name, AT_REMOVEDIR) == 0)
        return 1;
    return errno == ENOTEMPTY || errno == EEXIST || errno == ENOENT ? 0 : -errno;
}

int mct_trash_list_entries(const struct mct_trash *t, char ***names)
{
    int fd2 = fcntl(t->fd, F_DUPFD_CLOEXEC, 3);
    if (fd2 < 0)
        return -errno;
    DIR *d = fdopendir(fd2);
    if (!d) {
        close(fd2);
        return -errno;
    }
    static const char *const suffixes[] = {".json", ".snapshot", ".json.tmp", ".snapshot.tmp"};
    int r = 0;
    struct dirent *de;
    while (r >= 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(de->d_name);
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
            if (endswith(de->d_name, suffixes[i])) {
                len -= strlen(suffixes[i]);
                break;
            }
        _cleanup_free_ char *name = strndup(de->d_name, len);
        if (!name)
            r = -ENOMEM;
        else if (!mct_strv_contains(*names, name))
            r = mct_strv_push(names, TAKE_PTR(name));
    }
    closedir(d);
    return r;
}
