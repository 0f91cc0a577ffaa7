/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "caller.h"

#include "mctfs.h"
#include "util.h"

static void load_caller_groups(struct access_cred *c)
{
    struct caller *who = c->userdata;
    int n = mctfs_caller_groups((int)ARRAY_SIZE(who->groups), who->groups);
    /* Unknown (the caller is gone, or in another pid namespace): only the
     * primary group counts, which can only refuse more. */
    c->groups = who->groups;
    c->n_groups = n < 0                              ? 0
                  : n > (int)ARRAY_SIZE(who->groups) ? ARRAY_SIZE(who->groups)
                                                     : (size_t)n;
}

struct access_cred *caller_cred(struct caller *who)
{
    const struct fuse_ctx *ctx = mctfs_caller();
    who->cred = (struct access_cred){
            .uid = ctx->uid,
            .gid = ctx->gid,
            .load_groups = load_caller_groups,
            .userdata = who,
    };
    return &who->cred;
}
