/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What status says of the trash: is a deletion interrupted there (or is
 * the trash not ours, so nobody can tell)? A question only: nothing in
 * the trash is changed here (finishing or undoing is trash_recover.c).
 */
#include "trash_pending.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "trash.h"
#include "trash_journal.h"
#include "util.h"

int mct_trash_pending(const struct mct_config *cfg, const struct mct_session_ref *ref, char **why)
{
    *why = NULL;
    _cleanup_trash_ struct mct_trash t = {.fd = -1, .base_fd = -1};
    char text[1024];
    int r = mct_trash_open(cfg, false, &t, text, sizeof(text));
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        *why = strdup(text[0] ? text : strerror(-r));
        return *why ? 1 : -ENOMEM;
    }
    _cleanup_strv_ char **names = NULL;
    r = mct_trash_list_entries(&t, &names);
    for (size_t i = 0; r >= 0 && names && names[i]; i++) {
        _cleanup_trash_entry_ struct mct_trash_entry e = {0};
        struct stat st;
        if (mct_trash_entry_parse(&t, names[i], &e) < 0 || mct_session_ref_cmp(&e.ref, ref) != 0 ||
            fstatat(t.fd, e.name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        struct mct_journal j;
        bool known = mct_journal_read(t.fd, e.name, &j) == 0;
        *why = mct_strdup_printf("an interrupted deletion is in the trash: %s (journal: %s); "
                                 "the next mctctl delete or mctfs start finishes or restores it",
                                 e.path, known ? j.state : "none");
        return *why ? 1 : -ENOMEM;
    }
    return r < 0 ? r : 0;
}

int mct_trash_pending_list(const struct mct_config *cfg, const char *start, const char *end,
                           struct mct_session_ref **refs, size_t *n)
{
    *refs = NULL;
    *n = 0;
    _cleanup_trash_ struct mct_trash t = {.fd = -1, .base_fd = -1};
    int r = mct_trash_open(cfg, false, &t, NULL, 0);
    if (r < 0)
        return r == -ENOENT ? 0 : r;
    _cleanup_strv_ char **names = NULL;
    r = mct_trash_list_entries(&t, &names);
    for (size_t i = 0; r >= 0 && names && names[i]; i++) {
        _cleanup_trash_entry_ struct mct_trash_entry e = {0};
        struct stat st;
        if (mct_trash_entry_parse(&t, names[i], &e) < 0 ||
            fstatat(t.fd, e.name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            (start && strcmp(e.ref.session_date, start) < 0) ||
            (end && strcmp(e.ref.session_date, end) > 0))
            continue;
        struct mct_session_ref *grown = realloc(*refs, (*n + 1) * sizeof(**refs));
        if (!grown)
            return -ENOMEM;
        *refs = grown;
        (*refs)[(*n)++] = e.ref;
    }
    return r < 0 ? r : 0;
}
