/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "trash_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "report.h"
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

static int journal_format(const struct mct_session_ref *ref, const char *state, struct mct_buf *b)
{
    int r = mct_buf_puts(b, "{\n\"participant\": ");
    if (r >= 0)
        r = mct_json_string(b, ref->participant_id);
    if (r >= 0)
        r = mct_buf_puts(b, ",\n\"date\": ");
    if (r >= 0)
        r = mct_json_string(b, ref->session_date);
    if (r >= 0)
        r = mct_buf_puts(b, ",\n\"state\": ");
    if (r >= 0)
        r = mct_json_string(b, state);
    if (r >= 0)
        r = mct_buf_printf(b, ",\n\"pid\": %d,\n\"time\": %lld", (int)getpid(),
                           (long long)time(NULL));
    return r < 0 ? r : mct_buf_puts(b, "\n}\n");
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

static void put_utf8(struct mct_buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    }
    mct_buf_append(b, u, n);
}

/* A JSON string literal starting at s (at the opening quote). */
static int json_unquote(const char *s, char **ret)
{
    if (*s++ != '"')
        return -EBADMSG;
    _cleanup_buf_ struct mct_buf b = {0};
    for (; *s && *s != '"'; s++) {
        if (*s != '\\') {
            mct_buf_append(&b, s, 1);
            continue;
        }
        s++;
        switch (*s) {
        case '"':
        case '\\':
        case '/':
            mct_buf_append(&b, s, 1);
            break;
        case 'b':
            mct_buf_puts(&b, "\b");
            break;
        case 'f':
            mct_buf_puts(&b, "\f");
            break;
        case 'n':
            mct_buf_puts(&b, "\n");
            break;
        case 'r':
            mct_buf_puts(&b, "\r");
            break;
        case 't':
            mct_buf_puts(&b, "\t");
            break;
        case 'u': {
            unsigned cp;
            if (sscanf(s + 1, "%4x", &cp) != 1 || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0)
                return -EBADMSG;
            put_utf8(&b, cp);
            s += 4;
            break;
        }
        default:
            return -EBADMSG;
        }
    }
    if (*s != '"')
        return -EBADMSG;
    *ret = mct_buf_steal(&b);
    return *ret ? 0 : -ENOMEM;
}

static int journal_line(char *line, struct mct_journal *j)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == ',' || line[n - 1] == ' ' || line[n - 1] == '\r'))
        line[--n] = '\0';
    static const char *const keys[] = {"\"participant\": ", "\"date\": ", "\"state\": "};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        if (!startswith(line, keys[i]))
            continue;
        _cleanup_free_ char *v = NULL;
        int r = json_unquote(line + strlen(keys[i]), &v);
        if (r < 0)
            return r;
        char *field = i == 0 ? j->ref.participant_id : i == 1 ? j->ref.session_date : j->state;
        size_t size = i == 0   ? sizeof(j->ref.participant_id)
                      : i == 1 ? sizeof(j->ref.session_date)
                               : sizeof(j->state);
        if (strlen(v) >= size)
            return -EBADMSG;
        strcpy(field, v);
        return 0;
    }
    return 0; /* pid, time, braces; what older versions wrote (path, record) is ignored */
}

int mct_journal_read(int trash_fd, const char *entry, struct mct_journal *j)
{
    _cleanup_free_ char *name = mct_strdup_printf("%s.json", entry);
    if (!name)
        return -ENOMEM;
    _cleanup_free_ char *text = NULL;
    int r = mct_trash_file_read(trash_fd, name, JOURNAL_MAX, &text, NULL);
    if (r == -EFBIG)
        return -EBADMSG;
    if (r < 0)
        return r;

    *j = (struct mct_journal){0};
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        r = journal_line(line, j);
        if (r < 0)
            return r;
    }
    bool known_state =
            streq(j->state, "moved") || streq(j->state, "verified") || streq(j->state, "logged");
    if (!known_state || !mct_participant_id_valid(j->ref.participant_id) ||
        !mct_session_date_valid(j->ref.session_date))
        return -EBADMSG;
    return 0;
}
