/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The effective configuration, key by key, with where each value came
 * from (mctctl config): the schema walked over the loaded config, so a key
 * added to the schema shows up here without more code. The DataJoint
 * password is the one value never shown.
 */
#include "config_yaml.h"
#include "util.h"

struct show {
    const struct mct_config *cfg;
    mct_config_show_fn fn;
    void *ud;
};

static void *field(const void *base, size_t off)
{
    return (char *)base + off;
}

static int put_quoted(struct mct_buf *b, const char *s)
{
    if (!s)
        return mct_buf_puts(b, "null");
    return mct_buf_printf(b, "\"%s\"", s);
}

static int render(struct mct_buf *b, const struct mct_key *k, const void *base)
{
    switch (k->kind) {
    case K_BOOL:
        return mct_buf_puts(b, *(bool *)field(base, k->off) ? "true" : "false");
    case K_UINT:
        return mct_buf_printf(b, "%u", *(unsigned *)field(base, k->off));
    case K_ENUM:
        return mct_buf_puts(b, k->names[*(int *)field(base, k->off)]);
    case K_STRV: {
        char **v = *(char ***)field(base, k->off);
        int r = mct_buf_puts(b, "[");
        for (size_t i = 0; r >= 0 && v && v[i]; i++) {
            r = mct_buf_puts(b, i ? ", " : "");
            if (r >= 0)
                r = put_quoted(b, v[i]);
        }
        return r < 0 ? r : mct_buf_puts(b, "]");
    }
    case K_IDS: {
        const uid_t *ids = *(uid_t **)field(base, k->off);
        size_t n = *(size_t *)field(base, k->aux);
        int r = mct_buf_puts(b, "[");
        for (size_t i = 0; r >= 0 && i < n; i++)
            r = mct_buf_printf(b, "%s%u", i ? ", " : "", (unsigned)ids[i]);
        return r < 0 ? r : mct_buf_puts(b, "]");
    }
    default:
        return put_quoted(b, *(char **)field(base, k->off));
    }
}

static int origin_text(const struct show *s, const char *key, struct mct_buf *b)
{
    const struct mct_config_origin *o = mct_config_origin_of(s->cfg, key);

    switch (o ? o->kind : MCT_ORIGIN_DEFAULT) {
    case MCT_ORIGIN_CONFIG:
        return mct_buf_printf(b, "%s:%zu", s->cfg->path, o->line);
    case MCT_ORIGIN_ENV:
        return mct_buf_printf(b, "$%s", o->var);
    case MCT_ORIGIN_DJ_FILE:
        return mct_buf_printf(b, "%s:%zu (datajoint.config_file)", s->cfg->datajoint.config_file,
                              o->line);
    default:
        return mct_buf_puts(b, "default");
    }
}

static int show_keys(const struct show *s, const struct mct_key *keys, const void *base,
                     const char *prefix);

static int show_key(const struct show *s, const struct mct_key *k, const void *base,
                    const char *key)
{
    _cleanup_buf_ struct mct_buf value = {0}, origin = {0};
    int r;

    if (k->kind == K_SECTION)
        return show_keys(s, k->sub, base, key);
    if (k->kind == K_DESTS) {
        for (size_t i = 0; i < s->cfg->n_destinations; i++) {
            char sub[256];
            if (snprintf(sub, sizeof(sub), "%s[%zu]", key, i) >= (int)sizeof(sub))
                return -ENAMETOOLONG;
            r = show_keys(s, k->sub, &s->cfg->destinations[i], sub);
            if (r < 0)
                return r;
        }
        return 0;
    }
    if (streq(key, "datajoint.password"))
        r = mct_buf_puts(&value, s->cfg->datajoint.password ? "********" : "null");
    else
        r = render(&value, k, base);
    if (r >= 0)
        r = origin_text(s, key, &origin);
    if (r < 0)
        return r;
    s->fn(s->ud, key, value.data, origin.data);
    return 0;
}

static int show_keys(const struct show *s, const struct mct_key *keys, const void *base,
                     const char *prefix)
{
    for (const struct mct_key *k = keys; k->name; k++) {
        char key[256];
        if (snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k->name) >=
            (int)sizeof(key))
            return -ENAMETOOLONG;
        int r = show_key(s, k, base, key);
        if (r < 0)
            return r;
    }
    return 0;
}

int mct_config_show(const struct mct_config *cfg, mct_config_show_fn fn, void *ud)
{
    struct show s = {.cfg = cfg, .fn = fn, .ud = ud};
    return show_keys(&s, mct_config_schema, cfg, "");
}
