/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a status says when it could not be known in time: the bound a
 * reader waits for a collection, and the status it is answered past that.
 * Unknown is never safe.
 */
#include "status.h"

unsigned mct_status_deadline_seconds(const struct mct_config *cfg)
{
    return cfg->share_timeout_s + cfg->database_timeout_s + 1;
}

int mct_status_unknown(const struct mct_config *cfg, const struct mct_session_ref *ref,
                       const char *why, struct mct_session_status *st)
{
    *st = (struct mct_session_status){.ref = *ref, .source_exists = true};
    st->dj.state = MCT_UNKNOWN;
    for (unsigned i = 0; i < MCT_DJ_N_CHECKS; i++)
        st->dj.checks[i] = MCT_UNKNOWN;
    snprintf(st->dj.reason, sizeof(st->dj.reason), "%s", why);
    st->backup = MCT_UNKNOWN;
    st->verified = MCT_UNKNOWN;
    st->safe_to_delete = false;

    int r = mct_session_source_path(cfg, ref, &st->source_path);
    if (r < 0)
        return r;
    r = mct_strv_pushf(&st->reasons, "%s", why);
    if (r < 0)
        return r;

    st->dests = calloc(cfg->n_destinations ? cfg->n_destinations : 1, sizeof(*st->dests));
    if (!st->dests)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->n_destinations; i++) {
        const struct mct_destination *d = &cfg->destinations[i];
        if (!d->enabled)
            continue;
        struct mct_dest_status *ds = &st->dests[st->n_dests++];
        ds->dest = d;
        ds->state = MCT_DEST_UNREACHABLE;
        ds->verify.state = MCT_DEST_UNREACHABLE;
        ds->detail = strdup(why);
        if (!ds->detail)
            return -ENOMEM;
        r = mct_session_dest_path(d, ref, &ds->path);
        if (r < 0)
            return r;
    }
    return 0;
}
