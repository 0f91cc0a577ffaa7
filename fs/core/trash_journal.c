/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "trash_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "report.h"
#include "util.h"

#define JOURNAL_MAX (1024 * 1024)

void mct_journal_done(struct mct_journal *j)
{
    free(j->path);
    free(j->state);
    free(j->record);
    j->path = j->state = j->record = NULL;
}

static int journal_format(const struct mct_journal *j, struct mct_buf *b)
{
    int r = mct_buf_puts(b, "{\n\"participant\": ");
    if (r >= 0)
        r = mct_json_string(b, j->ref.participant_id);
    if (r >= 0)
        r = mct_buf_puts(b, ",\n\"date\": ");
    if (r >= 0)
        r = mct_json_string(b, j->ref.session_date);
    if (r >= 0)
        r = mct_buf_puts(b, ",\n\"path\": ");
    if (r >= 0)
        r = mct_json_string(b, j->path);
    if (r >= 0)
        r = mct_buf_puts(b, ",\n\"state\": ");
    if (r >= 0)
        r = mct_json_string(b, j->state);
    if (r >= 0)
        r = mct_buf_printf(b, ",\n\"pid\": %d,\n\"time\": %lld", (int)getpid(),
                           (long long)time(NULL));
    if (r >= 0 && j->record)
        r = mct_buf_printf(b, ",\n\"record\": %s", j->record);
    return r < 0 ? r : mct_buf_puts(b, "\n}\n");
}

int mct_journal_write(int trash_fd, const char *entry, const struct mct_journal *j)
{
    _cleanup_buf_ struct mct_buf b = {0};
    _cleanup_free_ char *name = mct_strdup_printf("%s.json", entry);
    _cleanup_free_ char *tmp = mct_strdup_printf("%s.json.tmp", entry);
    if (!name || !tmp)
        return -ENOMEM;
    int r = journal_format(j, &b);
    if (r < 0)
        return r;

    _cleanup_close_ int fd =
            openat(trash_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    r = mct_write_all(fd, b.data, b.len);
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

int mct_journal_remove(int trash_fd, const char *entry)
{
    _cleanup_free_ char *name = mct_strdup_printf("%s.json", entry);
    if (!name)
        return -ENOMEM;
    if (unlinkat(trash_fd, name, 0) < 0 && errno != ENOENT)
        return -errno;
    return fsync(trash_fd) < 0 ? -errno : 0;
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
    _cleanup_free_ char *v = NULL;
    if (startswith(line, "\"record\": ")) {
        const char *rec = line + strlen("\"record\": ");
        if (rec[0] != '{' || !endswith(rec, "}"))
            return -EBADMSG;
        free(j->record);
        j->record = strdup(rec);
        return j->record ? 0 : -ENOMEM;
    }
    static const char *const keys[] = {
            "\"participant\": ", "\"date\": ", "\"path\": ", "\"state\": "};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        if (!startswith(line, keys[i]))
            continue;
        int r = json_unquote(line + strlen(keys[i]), &v);
        if (r < 0)
            return r;
        if (i == 0 && strlen(v) < sizeof(j->ref.participant_id))
            strcpy(j->ref.participant_id, v);
        else if (i == 1 && strlen(v) < sizeof(j->ref.session_date))
            strcpy(j->ref.session_date, v);
        else if (i == 2)
            j->path = TAKE_PTR(v);
        else if (i == 3)
            j->state = TAKE_PTR(v);
        else
            return -EBADMSG;
        return 0;
    }
    return 0; /* pid, time, braces */
}

int mct_journal_read(int trash_fd, const char *entry, struct mct_journal *j)
{
    _cleanup_free_ char *name = mct_strdup_printf("%s.json", entry);
    if (!name)
        return -ENOMEM;
    _cleanup_close_ int fd = openat(trash_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    _cleanup_free_ char *text = malloc(JOURNAL_MAX + 1);
    if (!text)
        return -ENOMEM;
    size_t len = 0;
    for (;;) {
        ssize_t k = read(fd, text + len, JOURNAL_MAX - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0)
            break;
        len += (size_t)k;
        if (len == JOURNAL_MAX)
            return -EBADMSG;
    }
    text[len] = '\0';

    *j = (struct mct_journal){0};
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int r = journal_line(line, j);
        if (r < 0) {
            mct_journal_done(j);
            return r;
        }
    }
    bool known_state = j->state && (streq(j->state, "moved") || streq(j->state, "verified") ||
                                    streq(j->state, "logged"));
    if (!known_state || !j->path || j->path[0] != '/' ||
        !mct_participant_id_valid(j->ref.participant_id) ||
        !mct_session_date_valid(j->ref.session_date)) {
        mct_journal_done(j);
        return -EBADMSG;
    }
    return 0;
}
