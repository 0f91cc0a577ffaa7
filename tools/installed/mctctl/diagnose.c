/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Saying what could not be done, so that "nothing to do" and "nothing
 * could be checked" never look alike: what could not be checked for the
 * sessions (a database, a share), once each on standard error, and what a
 * search of the source found when it found no session (and which folders
 * look like sessions but are none). Both decide the exit status
 * EXIT_INCOMPLETE; mctctl(1) has the table.
 */
#include "mctctl.h"
#include "policy.h"
#include "scan.h"

int cli_exit_worst(int a, int b)
{
    /* Usage beats everything, then work that failed, then a refusal,
     * then "incomplete". */
    static const int rank[] = {
            [EXIT_OK] = 0,     [EXIT_INCOMPLETE] = 1, [EXIT_REFUSED] = 2,
            [EXIT_FAILED] = 3, [EXIT_USAGE] = 4,
    };
    if (a < 0 || a >= (int)ARRAY_SIZE(rank))
        return a;
    if (b < 0 || b >= (int)ARRAY_SIZE(rank))
        return b;
    return rank[b] > rank[a] ? b : a;
}

struct unknown {
    char *key;  /* what could not be checked: a database's message, a destination */
    char *text; /* the first message of that kind */
    size_t n;   /* sessions it concerns */
};

/* "destination 'NAME' unreachable: why" is one problem whatever path the
 * why names; a database message is one problem per distinct message. */
static char *unknown_key(const char *text)
{
    const char *end = NULL;
    if (startswith(text, "destination '"))
        end = strstr(text, "' unreachable: ");
    else if (startswith(text, "source: "))
        end = text + strlen("source");
    return end ? strndup(text, (size_t)(end - text)) : strdup(text);
}

static int unknown_add(struct unknown **u, size_t *n, const char *text)
{
    _cleanup_free_ char *key = unknown_key(text);
    if (!key)
        return -ENOMEM;
    for (size_t i = 0; i < *n; i++)
        if (streq((*u)[i].key, key)) {
            (*u)[i].n++;
            return 0;
        }
    struct unknown *grown = realloc(*u, (*n + 1) * sizeof(**u));
    if (!grown)
        return -ENOMEM;
    *u = grown;
    (*u)[*n] = (struct unknown){.key = TAKE_PTR(key), .text = strdup(text), .n = 1};
    if (!(*u)[*n].text)
        return -ENOMEM;
    (*n)++;
    return 0;
}

int cli_report_unknowns(const char *cmd, const struct mct_session_status *st, size_t n)
{
    struct unknown *u = NULL;
    size_t n_u = 0;
    int r = 0;
    for (size_t i = 0; r >= 0 && i < n; i++) {
        _cleanup_strv_ char **lines = NULL;
        r = mct_policy_unknowns(&st[i], &lines);
        for (size_t k = 0; r >= 0 && lines && lines[k]; k++)
            r = unknown_add(&u, &n_u, lines[k]);
    }
    for (size_t i = 0; i < n_u; i++) {
        const char *text = u[i].text;
        if (startswith(text, "DataJoint: "))
            text += strlen("DataJoint: ");
        fprintf(stderr, "mctctl %s: could not check %zu of %zu session%s: ", cmd, u[i].n, n,
                n == 1 ? "" : "s");
        cli_put(stderr, text);
        if (u[i].n > 1 && streq(u[i].key, "source"))
            fprintf(stderr, " (and %zu more)", u[i].n - 1);
        fputc('\n', stderr);
        free(u[i].key);
        free(u[i].text);
    }
    free(u);
    if (r < 0) {
        fprintf(stderr, "mctctl %s: out of memory\n", cmd);
        return EXIT_FAILED;
    }
    return n_u ? EXIT_INCOMPLETE : EXIT_OK;
}

/* The depth (1-based) of {session_date} in the source template. */
static size_t date_depth(const char *tmpl)
{
    const char *p = strstr(tmpl, "{session_date}");
    size_t d = 1;
    for (const char *c = tmpl; p && c < p; c++)
        d += *c == '/';
    return p ? d : 0;
}

/* What was there, depth by depth: "12 folders at depth 1 (12 named like
 * dates), 30 at depth 2 (0 named like dates)". */
static void print_found(const struct mct_discovery *seen, size_t depths)
{
    for (size_t i = 0; i < depths; i++) {
        fprintf(stderr, "%s%zu", i ? ", " : "", seen->folders[i]);
        if (i == 0)
            fputs(seen->folders[i] == 1 ? " folder" : " folders", stderr);
        fprintf(stderr, " at depth %zu (%zu named like a date YYYYMMDD)", i + 1, seen->dates[i]);
    }
}

static int explain_nothing(const struct mctctl_ctx *ctx, const char *cmd,
                           const struct mct_discovery *seen)
{
    const char *tmpl = ctx->cfg->source_path_structure;
    size_t depths = seen->depth < MCT_DISCOVER_DEPTHS ? seen->depth : MCT_DISCOVER_DEPTHS;
    size_t any = 0;
    for (size_t i = 0; i < depths; i++)
        any += seen->folders[i];
    fprintf(stderr, "mctctl %s: no folder matched backup.source.path_structure '", cmd);
    cli_put(stderr, tmpl);
    fputs("' under ", stderr);
    cli_put(stderr, ctx->cfg->source_base_path);
    if (!any) {
        fputs(": it holds no folders\n", stderr);
        return EXIT_OK;
    }
    fputs("; found ", stderr);
    print_found(seen, depths);
    /* Dates where the template has none, and none where it has them. */
    size_t want = date_depth(tmpl);
    bool elsewhere = false;
    for (size_t i = 0; i < depths; i++)
        elsewhere |= i + 1 != want && seen->dates[i] > 0;
    bool inverted = want && want <= depths && seen->dates[want - 1] == 0 && elsewhere;
    if (inverted)
        fprintf(stderr, ": the template has the date at depth %zu; is path_structure inverted?",
                want);
    fputc('\n', stderr);
    /* Folders where sessions should be, none of them one: the config does
     * not describe this disk. Only empty participant folders (or symlinks,
     * never sessions) may just be an empty rig. */
    return inverted || (depths && seen->folders[depths - 1]) ? EXIT_INCOMPLETE : EXIT_OK;
}

int cli_report_discovery(const struct mctctl_ctx *ctx, const char *cmd,
                         const struct mct_discovery *seen, size_t n_found)
{
    enum { SHOWN = 20 };
    size_t n_rejected = mct_strv_length(seen->rejected);
    for (size_t i = 0; i < n_rejected && i < SHOWN; i++) {
        fprintf(stderr, "mctctl %s: not a session folder, left out: ", cmd);
        cli_put(stderr, ctx->cfg->source_base_path);
        fputc('/', stderr);
        cli_put(stderr, seen->rejected[i]);
        fputc('\n', stderr);
    }
    if (n_rejected > SHOWN)
        fprintf(stderr, "mctctl %s: ... and %zu more folders that are not session folders\n", cmd,
                n_rejected - SHOWN);
    int ex = n_rejected ? EXIT_INCOMPLETE : EXIT_OK;
    if (n_found > 0)
        return ex;
    if (seen->n_matched == 0 && !n_rejected)
        return explain_nothing(ctx, cmd, seen);
    if (seen->n_unmanaged)
        fprintf(stderr,
                "mctctl %s: %zu session%s of participants outside "
                "backup.filters.participant_prefixes (not managed) left out\n",
                cmd, seen->n_unmanaged, seen->n_unmanaged == 1 ? "" : "s");
    if (seen->n_out_of_range)
        fprintf(stderr, "mctctl %s: %zu session%s outside the dates asked for\n", cmd,
                seen->n_out_of_range, seen->n_out_of_range == 1 ? "" : "s");
    return ex;
}
