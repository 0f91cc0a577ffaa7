/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "trash_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "jsondoc.h"
#include "util.h"

#define JOURNAL_MAX (64 * 1024)

int mct_trash_file_write(int trash_fd, const char *name, const void *data, size_t len)
{
    _cleanup_free_ char *tmp = mct_strdup_printf("%s.tmp", name);
    if (!tmp)
        return -ENOMEM;
    /* O_EXCL: never open what someone put at the name (a FIFO would
     * block the open for good, a file of theirs would be ours to trust). */
    _cleanup_close_ int fd = openat(
            trash_fd, tmp,
            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int r = mct_write_all(fd, data, len);
    if (r >= 0 && fsync(fd) < 0)
        r = -errno;
    if (r >= 0 && renameat(trash_fd, tmp, trash_fd, name) < 0)
        r = -errno;
    if (r < 0) {
        (void)unlinkat(trash_fd, tmp, 0);
        return r;
    }
    return fsync(trash_fd) < 0 ? -errno : 0;
}

int mct_trash_file_read(int trash_fd, const char *name, size_t max, char **text, size_t *len)
{
    _cleanup_close_ int fd =
            openat(trash_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
        return -EPERM;
    if ((uint64_t)st.st_size > max)
        return -EFBIG;
    _cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return -ENOMEM;
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0)
            break;
        n += (size_t)k;
        if (n == (size_t)st.st_size)
            break;
    }
    buf[n] = '\0';
    *text = TAKE_PTR(buf);
    if (len)
        *len = n;
    return 0;
}

int mct_trash_file_remove(int trash_fd, const char *name)
{
    if (unlinkat(trash_fd, name, 0) < 0 && errno != ENOENT)
        return -errno;
    return fsync(trash_fd) < 0 ? -errno : 0;
}

/* One key per line, as every version wrote it. */
static int journal_format(const struct mct_session_ref *ref, const char *state, struct mct_buf *b)
{
    _cleanup_json_ struct json_object *o = mct_json_lines_object();
    if (mct_json_add_str(o, "participant", ref->participant_id) < 0 ||
        mct_json_add_str(o, "date", ref->session_date) < 0 ||
        mct_json_add_str(o, "state", state) < 0 || mct_json_add_i64(o, "pid", getpid()) < 0 ||
        mct_json_add_i64(o, "time", time(NULL)) < 0)
        return -ENOMEM;
    int r = mct_json_write(o, b);
    return r < 0 ? r : mct_buf_puts(b, "\n");
}

int mct_journal_write(int trash_fd, const char *entry, const struct mct_session_ref *ref,
                      const char *state)
{
    _cleanup_buf_ struct mct_buf b = {0};
    _cleanup_free_ char *name = mct_strdup_printf("%s.json", entry);
    if (!name)
        return -ENOMEM;
    int r = journal_format(ref, state, &b);
    if (r < 0)
        return r;
    return mct_trash_file_write(trash_fd, name, b.data, b.len);
}

int mct_journal_remove(int trash_fd, const char *entry)
{
    _cleanup_free_ char *name = mct_strdup_printf("%s.json", entry);
    if (!name)
        return -ENOMEM;
    return mct_trash_file_remove(trash_fd, name);
}

/* The string member key of the journal into field (size bytes). */
static int journal_field(struct json_object *o, const char *key, char *field, size_t size)
{
    const char *v = mct_json_get_str(o, key);
    if (!v || strlen(v) >= size)
        return -EBADMSG;
    strcpy(field, v);
    return 0;
}

int mct_journal_parse(const char *text, size_t len, struct mct_journal *j, char *why, size_t whylen)
{
    _cleanup_json_ struct json_object *o = NULL;
    int r = mct_json_parse(text, len, &o, why, whylen);
    if (r < 0)
        return r;
    /* pid and time are for a person reading it; what older versions
     * wrote besides (a path, a record) is ignored. */
    *j = (struct mct_journal){0};
    if (journal_field(o, "participant", j->ref.participant_id, sizeof(j->ref.participant_id)) < 0 ||
        journal_field(o, "date", j->ref.session_date, sizeof(j->ref.session_date)) < 0 ||
        journal_field(o, "state", j->state, sizeof(j->state)) < 0) {
        snprintf(why, whylen, "participant, date or state missing or not a short string");
        return -EBADMSG;
    }
    bool known_state =
            streq(j->state, "moved") || streq(j->state, "verified") || streq(j->state, "logged");
    if (!known_state || !mct_participant_id_valid(j->ref.participant_id) ||
        !mct_session_date_valid(j->ref.session_date)) {
        snprintf(why, whylen, "not a participant, date and state of a deletion");
        return -EBADMSG;
    }
    return 0;
}

int mct_journal_read(int trash_fd, const char *entry, struct mct_journal *j)
{
    _cleanup_free_ char *name = mct_strdup_printf("%s.json", entry);
    if (!name)
        return -ENOMEM;
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = mct_trash_file_read(trash_fd, name, JOURNAL_MAX, &text, &len);
    if (r == -EFBIG)
        return -EBADMSG;
    if (r < 0)
        return r;

    char why[128];
    return mct_journal_parse(text, len, j, why, sizeof(why));
}
