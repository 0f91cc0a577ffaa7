/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fake_status.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct mct_destination dest_a = {.name = "lab share", .enabled = true};
static struct mct_destination dest_b = {.name = "second", .enabled = true};

struct mct_session_status *fake_status(size_t n_dests)
{
    struct mct_session_status *st = calloc(1, sizeof(*st));
    strcpy(st->ref.participant_id, "p001");
    strcpy(st->ref.session_date, "20250104");
    st->source_path = strdup("/data/p001/20250104");
    st->source_exists = true;
    st->source.n_files = 5;
    st->source.bytes = 10000;
    st->source.videos = 4;
    st->dj.state = MCT_YES;
    for (int c = 0; c < MCT_DJ_N_CHECKS; c++)
        st->dj.checks[c] = MCT_YES;
    st->n_dests = n_dests;
    st->dests = calloc(n_dests ? n_dests : 1, sizeof(struct mct_dest_status));
    for (size_t i = 0; i < n_dests; i++) {
        st->dests[i].dest = i == 0 ? &dest_a : &dest_b;
        st->dests[i].path = strdup(i == 0 ? "/mnt/share/20250104/p001" : "/mnt/b/p001");
        st->dests[i].state = MCT_DEST_VERIFIED;
        st->dests[i].files = 5;
        st->dests[i].bytes = 10000;
    }
    ck_assert_int_eq(mct_status_decide(st), 0);
    return st;
}

char *fake_status_render(int (*fn)(const struct mct_session_status *, struct mct_buf *),
                         const struct mct_session_status *st)
{
    struct mct_buf b = {0};
    ck_assert_int_eq(fn(st, &b), 0);
    return mct_buf_steal(&b);
}
