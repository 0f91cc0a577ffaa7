/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctctl config: the configuration as the programs see it after the
 * defaults, the DJ_* variables and DataJoint's own file, each value with
 * where it came from. The password is shown as ******** whatever its
 * source: this output goes into tickets and chat.
 */
#include "jsondoc.h"
#include "mctctl.h"
#include "report.h"

struct row {
    char *key, *value, *origin;
};

struct rows {
    struct row *v;
    size_t n;
    int error;
};

static void collect(void *ud, const char *key, const char *value, const char *origin)
{
    struct rows *rows = ud;
    struct row *v = rows->error ? NULL : reallocarray(rows->v, rows->n + 1, sizeof(*v));

    if (!v) {
        rows->error = -ENOMEM;
        return;
    }
    rows->v = v;
    v[rows->n] = (struct row){strdup(key), strdup(value), strdup(origin)};
    if (!v[rows->n].key || !v[rows->n].value || !v[rows->n].origin)
        rows->error = -ENOMEM;
    rows->n++;
}

static void rows_free(struct rows *rows)
{
    for (size_t i = 0; i < rows->n; i++) {
        free(rows->v[i].key);
        free(rows->v[i].value);
        free(rows->v[i].origin);
    }
    free(rows->v);
}

/* Columns are padded by bytes; values are mostly ASCII paths and names. */
static int pad(size_t have, size_t want)
{
    return have < want ? (int)(want - have) : 0;
}

/* One setting a line. */
static struct json_object *settings_json(const struct rows *rows)
{
    _cleanup_json_ struct json_object *a = mct_json_lines_array();
    for (size_t i = 0; i < rows->n; i++) {
        _cleanup_json_ struct json_object *row = json_object_new_object();
        if (mct_json_add_str(row, "key", rows->v[i].key) < 0 ||
            mct_json_add_str(row, "value", rows->v[i].value) < 0 ||
            mct_json_add_str(row, "origin", rows->v[i].origin) < 0 ||
            mct_json_push(a, TAKE_PTR(row)) < 0)
            return NULL;
    }
    return TAKE_PTR(a);
}

/* {"path": FILE, "settings": [{"key", "value", "origin"}, ...]} */
static int print_json(const struct mctctl_ctx *ctx, const struct rows *rows)
{
    _cleanup_json_ struct json_object *o = json_object_new_object();
    if (mct_json_add_str(o, "path", ctx->cfg->path ? ctx->cfg->path : "") < 0 ||
        mct_json_add(o, "settings", settings_json(rows)) < 0 || cli_json_print(o) < 0) {
        fprintf(stderr, "mctctl config: out of memory\n");
        return EXIT_FAILED;
    }
    return EXIT_OK;
}

int cmd_config(int argc, char **argv, struct mctctl_ctx *ctx)
{
    struct rows rows = {0};
    size_t wk = 0, wv = 0;

    if (argc > 1)
        return cli_usage_error("config", "takes no arguments");
    int r = mct_config_show(ctx->cfg, collect, &rows);
    if (r >= 0)
        r = rows.error;
    if (r < 0) {
        rows_free(&rows);
        fprintf(stderr, "mctctl config: %s\n", strerror(-r));
        return EXIT_FAILED;
    }
    if (ctx->json) {
        r = print_json(ctx, &rows);
        rows_free(&rows);
        return r;
    }
    for (size_t i = 0; i < rows.n; i++) {
        size_t k = strlen(rows.v[i].key), v = strlen(rows.v[i].value);
        wk = k > wk ? k : wk;
        /* A long list does not push every origin off the screen. */
        wv = v > wv && v <= 40 ? v : wv;
    }
    fputs("# ", stdout);
    cli_put(stdout, ctx->cfg->path);
    fputs("\n# precedence of datajoint host, port, user, password and tls: this file, then "
          "$DJ_HOST, $DJ_PORT, $DJ_USER, $DJ_PASS, then datajoint.config_file, then the "
          "default\n",
          stdout);
    for (size_t i = 0; i < rows.n; i++) {
        const struct row *w = &rows.v[i];
        printf("%s%s%*s  ", cli_bold(ctx), w->key, pad(strlen(w->key), wk), "");
        fputs(cli_reset(ctx), stdout);
        cli_put(stdout, w->value);
        printf("%*s  # ", pad(strlen(w->value), wv), "");
        cli_put(stdout, w->origin);
        fputc('\n', stdout);
    }
    rows_free(&rows);
    return EXIT_OK;
}
